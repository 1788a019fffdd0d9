//! TLS on the gRPC port: the real binary with certificates made here. The
//! port speaks TLS only; native gRPC, gRPC-Web, health and reflection work
//! over it; client certificates are required when a client CA is set; and a
//! replaced certificate serves new connections (after polling or SIGHUP)
//! while open watch streams go on.

use std::{process::Command, time::Duration};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::support::{
    Client, PATIENCE, TestApp, eventually,
    pb::SeatStatus,
    process::ServerProcess,
    session_request,
    tls::{Ca, TlsFiles, connect, raw_tls, spawn_tls_server, tls_endpoint},
    watch::{until_seat, watch_from_snapshot},
};

/// Health's answer on `channel`: its status, or the call's code.
async fn health(channel: Channel) -> Result<ServingStatus, Code> {
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        HealthClient::new(channel).check(HealthCheckRequest::default()),
    )
    .await
    .expect("an answer within 10 s");
    answer
        .map(|response| response.into_inner().status())
        .map_err(|status| status.code())
}

/// Health asked over a new connection that trusts only `ca`.
async fn health_trusting(server: &ServerProcess, ca: &Ca) -> Result<ServingStatus, String> {
    let channel = connect(server.addr, ca, None).await?;
    health(channel).await.map_err(|code| format!("{code:?}"))
}

/// Why the server ended a TLS connection it refused: the error of the
/// first read.
async fn refusal(mut stream: tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    let mut byte = [0u8; 1];
    tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
        .await
        .expect("an answer within 10 s")
        .expect_err("the connection is refused")
        .to_string()
}

/// A channel that has not connected yet: its first call connects.
fn lazy(url: String) -> Channel {
    Channel::from_shared(url)
        .expect("a valid URI")
        .connect_lazy()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_port_refuses_plaintext_and_serves_calls_health_and_reflection_over_tls() {
    let app = TestApp::spawn().await;
    let ca = Ca::new("cinema test CA");
    let files = TlsFiles::new(&ca.server());
    let server = spawn_tls_server(&app, &files, &[], &ca, None).await;

    // A plaintext call fails (how depends on timing: the alert below read
    // as an HTTP/2 frame, or the connection closing under the call)...
    let plaintext = health(lazy(format!("http://{}", server.addr))).await;
    assert!(plaintext.is_err(), "{plaintext:?}");
    // ...because the server answers the HTTP/2 preface with one fatal TLS
    // alert record (content type 21, 2 bytes: level fatal, description)
    // and closes the connection.
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("closed within 10 s")
        .expect("read");
    assert_eq!(
        (answer.len(), answer[0], &answer[3..6]),
        (7, 21, &[0, 2, 2][..]),
        "{answer:?}"
    );
    assert_eq!(
        health(server.channel.clone()).await,
        Ok(ServingStatus::Serving)
    );

    let admin = Client::new(&server.channel, app.admin_token());
    let session = admin
        .create_session(session_request("Filme TLS", 24, 2, 8))
        .await
        .expect("create a session over TLS");
    let map = admin.seat_map(&session.session_id).await.expect("seat map");
    assert_eq!(map.available_count, 16);

    use tonic_reflection::pb::v1;
    let list = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut reflection =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel.clone());
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([list]))
        .await
        .expect("reflection over TLS")
        .into_inner();
    let answer = answers.next().await.expect("an answer").expect("no error");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("not a service list: {answer:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "cinema.v1.SessionService"),
        "{list:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_over_tls_speaks_http1_and_native_grpc_gets_h2() {
    let app = TestApp::spawn().await;
    let ca = Ca::new("cinema test CA");
    let files = TlsFiles::new(&ca.server());
    let server = spawn_tls_server(&app, &files, &[], &ca, None).await;

    let native = raw_tls(server.addr, &ca, &[b"h2", b"http/1.1"], None).await;
    assert_eq!(native.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let mut web = raw_tls(server.addr, &ca, &[b"http/1.1"], None).await;
    assert_eq!(web.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    // A gRPC-Web health check: one empty HealthCheckRequest frame.
    let body = [0u8, 0, 0, 0, 0];
    let request = format!(
        "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    web.write_all(request.as_bytes()).await.expect("write");
    web.write_all(&body).await.expect("write the body");
    let mut raw = Vec::new();
    // A peer that closes without close_notify still gave its whole answer.
    let _ = tokio::time::timeout(Duration::from_secs(10), web.read_to_end(&mut raw))
        .await
        .expect("an answer within 10 s");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/grpc-web+proto"),
        "{text}"
    );
    // The answer's message frame: HealthCheckResponse{status: SERVING}.
    let serving = [0u8, 0, 0, 0, 2, 0x08, 0x01];
    assert!(raw.windows(serving.len()).any(|w| w == serving), "{text}");
    assert!(text.contains("grpc-status:0"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_client_ca_only_clients_with_its_certificates_get_in() {
    let app = TestApp::spawn().await;
    let ca = Ca::new("cinema test CA");
    let clients = Ca::new("cinema test client CA");
    let files = TlsFiles::new(&ca.server());
    files.replace("clients.pem", &clients.pem());
    let client_ca = files.path("clients.pem").display().to_string();
    let service = clients.client("box-office-reports");
    let server = spawn_tls_server(
        &app,
        &files,
        &[("CINEMA_TLS_CLIENT_CA", &client_ca)],
        &ca,
        Some(&service),
    )
    .await;

    assert_eq!(
        health(server.channel.clone()).await,
        Ok(ServingStatus::Serving)
    );
    let anonymous = tls_endpoint(server.addr, &ca.pem(), None);
    let refused = health(anonymous.connect_lazy()).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        refusal(raw_tls(server.addr, &ca, &[b"h2"], None).await).await,
        "received fatal alert: CertificateRequired"
    );
    // A certificate, but from a CA the server does not trust for clients.
    let stranger = ca.client("stranger");
    assert_eq!(
        refusal(raw_tls(server.addr, &ca, &[b"h2"], Some(&stranger)).await).await,
        "received fatal alert: UnknownCA"
    );
    let accepted = raw_tls(server.addr, &ca, &[b"h2"], Some(&service)).await;
    assert_eq!(accepted.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_certificate_serves_new_connections_while_open_watches_go_on() {
    let app = TestApp::spawn().await;
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("new CA"));
    let files = TlsFiles::new(&old_ca.server());
    let server = spawn_tls_server(
        &app,
        &files,
        &[("CINEMA_TLS_RELOAD_INTERVAL", "200ms")],
        &old_ca,
        None,
    )
    .await;
    let admin = Client::new(&server.channel, app.admin_token());
    let session_id = admin
        .create_session(session_request("Filme TLS", 24, 2, 8))
        .await
        .expect("create a session")
        .session_id;
    let alice = Client::new(&server.channel, app.token("alice"));
    let (mut stream, _) = watch_from_snapshot(&alice, &session_id).await;

    // A broken file is logged and changes nothing.
    files.replace("cert.pem", "not a certificate");
    eventually(PATIENCE, || async {
        server
            .recent_logs()
            .iter()
            .any(|line| line.contains("the TLS files do not load"))
            .then_some(())
    })
    .await;
    assert_eq!(
        health_trusting(&server, &old_ca).await,
        Ok(ServingStatus::Serving)
    );

    files.install(&new_ca.server());
    eventually(PATIENCE, || health_trusting(&server, &new_ca)).await;
    let refused = health_trusting(&server, &old_ca).await;
    assert!(refused.is_err(), "{refused:?}");

    // The watch's connection began with the old certificate and goes on.
    alice
        .reserve(&session_id, &["A1"])
        .await
        .expect("hold over the old connection");
    until_seat(&mut stream, "A1", SeatStatus::Held).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate() {
    let app = TestApp::spawn().await;
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("new CA"));
    let files = TlsFiles::new(&old_ca.server());
    let server = spawn_tls_server(
        &app,
        &files,
        &[("CINEMA_TLS_RELOAD_INTERVAL", "0s")],
        &old_ca,
        None,
    )
    .await;

    files.install(&new_ca.server());
    // No polling: the files are read again only when asked.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        health_trusting(&server, &old_ca).await,
        Ok(ServingStatus::Serving)
    );

    let hangup = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(hangup.success());
    eventually(PATIENCE, || health_trusting(&server, &new_ca)).await;
    let refused = health_trusting(&server, &old_ca).await;
    assert!(refused.is_err(), "{refused:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_token_over_tls_are_limited_by_their_own_address() {
    use fred::prelude::{Builder, ClientLike, Config, KeysInterface};
    let app = TestApp::spawn().await;
    let ca = Ca::new("cinema test CA");
    let files = TlsFiles::new(&ca.server());
    let limited = [
        ("CINEMA_RATE_LIMIT", "on"),
        ("CINEMA_RATE_LIMIT_READS", "2/60s"),
    ];
    let server = spawn_tls_server(&app, &files, &limited, &ca, None).await;
    let anonymous = || {
        let request = crate::support::pb::GetSessionRequest {
            session_id: uuid::Uuid::new_v4().to_string(),
        };
        let mut sessions = crate::support::pb::session_service_client::SessionServiceClient::new(
            server.channel.clone(),
        );
        async move {
            sessions
                .get_session(request)
                .await
                .map(drop)
                .unwrap_err()
                .code()
        }
    };
    assert_eq!(
        [anonymous().await, anonymous().await, anonymous().await],
        [
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::ResourceExhausted
        ]
    );

    // Counted under the caller's address, not one bucket for everyone.
    let redis = Builder::from_config(Config::from_url(&app.settings.redis_url).expect("a URL"))
        .build()
        .expect("a Redis client");
    redis.init().await.expect("connect to Redis");
    let key = format!("{}:rate2:reads:peer:127.0.0.1", app.settings.redis_prefix);
    let counted: bool = redis.exists(&key).await.expect("EXISTS");
    assert!(counted, "no {key}");
    app.stop().await;
}
