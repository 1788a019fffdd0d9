//! The web app (`web/`): the server hands out its files and answers
//! gRPC-Web and CORS preflights on the gRPC port, and two customers use the
//! built app in a real browser, on two instances. `scripts/web` builds
//! `web/dist` and installs chromium; without them the browser test is
//! skipped, unless CINEMA_REQUIRE_BROWSER is set (scripts/test sets it).

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{
    TestApp, fresh_prefix,
    pb::{AdmissionResult, AgeRating, SeatKind},
    process::ServerProcess,
    programme::{movie_request, movie_session_request},
};

const CHROMIUM: &str = "/usr/bin/chromium";

fn web() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Whether the browser test can run: `web/dist`, playwright-core and
/// chromium are there. Missing ones skip the test with a message, or fail
/// it when CINEMA_REQUIRE_BROWSER is set.
fn browser_ready() -> bool {
    let needed = [
        web().join("dist/index.html"),
        web().join("node_modules/playwright-core"),
        PathBuf::from(CHROMIUM),
    ];
    let missing: Vec<_> = needed.iter().filter(|path| !path.exists()).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CINEMA_REQUIRE_BROWSER").is_none(),
        "CINEMA_REQUIRE_BROWSER is set but {missing:?} is missing: run scripts/web"
    );
    eprintln!(
        "SKIPPED: {missing:?} missing; run scripts/web to build the app and install chromium"
    );
    false
}

/// Room "Sala Web", from the screen back: wheelchair spaces and companion
/// seats, standard rows, a premium row, couple seats; the browser script
/// counts on this layout.
const ROOM: [(&str, &str); 5] = [
    ("A", "WC_SSSSSS_CW"),
    ("B", "SSS_SSSSSS_SSS"),
    ("C", "SSS_SSSSSS_SSS"),
    ("D", "PPP_PPPPPP_PPP"),
    ("E", "_LR_LRLRLR_LR_"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_customers_book_in_a_real_browser_on_two_instances() {
    if !browser_ready() {
        return;
    }
    let dist = web().join("dist");
    let app = TestApp::spawn_with(|s| {
        s.web.dir = Some(dist.clone());
        // Admission at the door right after the purchase; holds long
        // enough for a slow machine.
        s.tickets.admission_opens = Duration::from_secs(24 * 3600);
        s.hold_duration = Duration::from_secs(60);
    })
    .await;
    let origin_a = format!("http://{}", app.addr);
    let second = ServerProcess::spawn_with_env(
        &app,
        &[
            ("CINEMA_WEB_DIR", dist.to_str().expect("a UTF-8 path")),
            // B's page comes from instance 1 and calls instance 2 (?api=).
            ("CINEMA_WEB_ORIGINS", &origin_a),
        ],
    )
    .await;

    let admin = app.admin();
    let room = admin.create_room("Sala Web", &ROOM).await.expect("a room");
    let prices = [(SeatKind::Premium, 4000), (SeatKind::Couple, 3000)];
    let mut sessions = Vec::new();
    for (title, rating, hours) in [
        ("O Auto da Compadecida", AgeRating::AgeRating12, 3),
        ("Central do Brasil", AgeRating::AgeRating14, 6),
    ] {
        let movie = admin
            .create_movie(movie_request(title, 104, rating))
            .await
            .expect("a movie");
        let starts = chrono::Utc::now() + chrono::Duration::hours(hours);
        let request = movie_session_request(&movie.movie_id, &room.room_id, starts, &prices);
        let session = admin.create_session(request).await.expect("a session");
        sessions.push(session.session_id);
    }
    admin
        .block(&sessions[0], &["B12"], "Broken seat")
        .await
        .expect("block B12");

    // Screenshots land in web/e2e/screenshots; with CINEMA_DOCS_SCREENSHOT
    // set (to docs/web-seat-map.png), the script also renews the README's.
    let screenshots = web().join("e2e/screenshots");
    let mut command = Command::new("node");
    command
        .arg("e2e/two-customers.mjs")
        .current_dir(web())
        .env("CINEMA_WEB_A", &origin_a)
        .env("CINEMA_WEB_B", format!("http://{}", second.addr))
        .env("CINEMA_TOKEN_A", app.token("ana"))
        .env("CINEMA_TOKEN_B", app.token("bruno"))
        .env("CINEMA_ADMIN_TOKEN", app.admin_token())
        .env("CINEMA_SESSION_ID", &sessions[0])
        .env("CINEMA_CANCEL_SESSION_ID", &sessions[1])
        .env("CINEMA_SCREENSHOTS", &screenshots)
        .env("CHROMIUM", CHROMIUM);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().expect("run node"))
        .await
        .expect("the browser script's thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser script failed after {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}\ninstance 2's last log lines:\n{}",
        started.elapsed(),
        second.recent_logs().join("\n")
    );
    println!("{stdout}");

    // The codes read from A's QR codes admit at the door, once each.
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .map(|json| serde_json::from_str(json).expect("the script's RESULT line"))
        .expect("a RESULT line");
    let tickets = result["tickets"].as_array().expect("tickets");
    let seats: Vec<&str> = tickets.iter().filter_map(|t| t["seat"].as_str()).collect();
    assert_eq!(seats, ["C5", "C6", "E3", "E4"]);
    let usher = app.staff("usher");
    for ticket in tickets {
        let code = ticket["code"].as_str().expect("a code");
        let admission = usher.admit(code, "web-test").await.expect("admit");
        assert_eq!(
            admission.result(),
            AdmissionResult::Admitted,
            "{ticket}: {admission:?}"
        );
        assert_eq!(
            admission.ticket.map(|t| t.seat_label).as_deref(),
            ticket["seat"].as_str()
        );
    }
    drop(second);
    app.stop().await;
}

/// A raw HTTP/1.1 exchange, as a browser makes it: the status, the headers
/// (names lower-case) and the body, de-chunked.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write the body");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..line_end])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .expect("a hex chunk size");
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// The grpc-status of a gRPC-Web answer: in its headers (a trailers-only
/// answer) or in the trailer frame at the end of its body.
fn grpc_status(answer: &Answer) -> Option<String> {
    if let Some(status) = answer.header("grpc-status") {
        return Some(status.to_owned());
    }
    let mut body = answer.body.as_slice();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let (flag, frame) = (body[0], &body[5..5 + len]);
        if flag & 0x80 != 0 {
            return String::from_utf8_lossy(frame)
                .split("\r\n")
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("grpc-status"))
                .map(|(_, value)| value.trim().to_owned());
        }
        body = &body[5 + len..];
    }
    None
}

fn grpc_web_call(path: &str, token: Option<&str>) -> String {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1"
    );
    if let Some(token) = token {
        head.push_str(&format!("\r\nAuthorization: Bearer {token}"));
    }
    head
}

fn preflight(origin: &str) -> String {
    format!(
        "OPTIONS /cinema.v1.SessionService/ListSessions HTTP/1.1\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: authorization,content-type,x-grpc-web,x-user-agent"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_the_app_grpc_web_and_cors_for_configured_origins() {
    let dir = std::env::temp_dir().join(format!("cinema-web-{}", fresh_prefix()));
    std::fs::create_dir_all(dir.join("assets")).expect("a web dir");
    let index = "<!doctype html><title>cinema test app</title>";
    std::fs::write(dir.join("index.html"), index).expect("index.html");
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").expect("app.js");
    let app = TestApp::spawn_with(|s| {
        s.web.dir = Some(dir.clone());
        s.web.origins = Some(cinema::config::Origins(vec![
            "http://localhost:5173".into(),
        ]));
    })
    .await;

    // The app at `/`, its assets, and index.html for any other page.
    for path in ["/", "/sessions/123"] {
        let answer = http(app.addr, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(answer.status, 200, "GET {path}");
        assert_eq!(String::from_utf8_lossy(&answer.body), index, "GET {path}");
        assert!(
            answer
                .header("content-type")
                .unwrap_or("")
                .starts_with("text/html")
        );
    }
    let script = http(app.addr, "GET /assets/app.js HTTP/1.1", b"").await;
    assert_eq!(
        (script.status, script.header("content-type")),
        (200, Some("text/javascript"))
    );

    // gRPC-Web over HTTP/1.1: one empty ListSessionsRequest frame.
    let empty_frame = [0u8; 5];
    let path = "/cinema.v1.SessionService/ListSessions";
    let token = app.token("web");
    let answer = http(app.addr, &grpc_web_call(path, Some(&token)), &empty_frame).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/grpc-web")),
        "{:?}",
        answer.headers
    );
    assert_eq!(grpc_status(&answer).as_deref(), Some("0"));
    let anonymous = http(app.addr, &grpc_web_call(path, None), &empty_frame).await;
    assert_eq!(
        grpc_status(&anonymous).as_deref(),
        Some("16"),
        "UNAUTHENTICATED"
    );

    // CORS: a preflight from the configured origin is allowed with the
    // headers a gRPC-Web page sends; one from any other origin is not.
    let allowed = http(app.addr, &preflight("http://localhost:5173"), b"").await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let allowed_headers = allowed
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for header in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-user-agent",
    ] {
        assert!(allowed_headers.contains(header), "{allowed_headers}");
    }
    let refused = http(app.addr, &preflight("http://evil.example"), b"").await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
    // A real call from the allowed origin may read grpc-status.
    let call = http(
        app.addr,
        &format!(
            "{}\r\nOrigin: http://localhost:5173",
            grpc_web_call(path, Some(&token))
        ),
        &empty_frame,
    )
    .await;
    assert!(
        call.header("access-control-expose-headers")
            .is_some_and(|h| h.contains("grpc-status")),
        "{:?}",
        call.headers
    );

    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
