//! What an operator relies on: metrics, request ids in logs, exported spans,
//! rate limits shared by instances, and a shutdown that lets in-flight calls
//! finish.

use std::{net::SocketAddr, time::Duration};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    trace::v1::Span,
};
use sea_orm::{ConnectionTrait, TransactionTrait};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::support::{
    Budget, RateLimits, TestApp,
    client::authed,
    db, eventually, eventually_every, free_port,
    pb::{GetSessionRequest, session_service_client::SessionServiceClient},
    process::ServerProcess,
};

/// The body of `GET /metrics`.
async fn scrape(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the metrics endpoint");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: cinema\r\nConnection: close\r\n\r\n")
        .await
        .expect("send the scrape");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the scrape");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

/// A transaction holding the row lock of one seat, so that a ReserveSeats
/// of that seat waits inside its own transaction until this one ends.
async fn lock_seat(
    db: &sea_orm::DatabaseConnection,
    session_id: &str,
    label: &str,
) -> sea_orm::DatabaseTransaction {
    let blocker = db.begin().await.expect("begin");
    blocker
        .execute_unprepared(&format!(
            "SELECT 1 FROM seats WHERE session_id = '{session_id}' AND label = '{label}' FOR UPDATE"
        ))
        .await
        .expect("lock the seat");
    blocker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_every_series_after_a_booking_flow() {
    let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let app = TestApp::spawn_with(|s| {
        s.metrics_addr = Some(metrics_addr);
        s.hold_duration = Duration::from_secs(2);
    })
    .await;
    let server = ServerProcess::spawn(&app).await;
    let session = app.create_session(2, 8).await.session_id;
    let mut watching = app
        .user("watcher")
        .on(&server.channel)
        .watch(&session)
        .await
        .expect("watch");
    watching.message().await.expect("a snapshot");

    let alice = app.user("alice").on(&server.channel);
    let paid = alice.reserve(&session, &["A1"]).await.expect("reserve");
    alice
        .confirm_with(&paid.reservation_id, "pix-1", "")
        .await
        .expect("pay");
    let bob = app.user("bob").on(&server.channel);
    bob.reserve(&session, &["A2"]).await.expect("reserve");
    let refused = app
        .user("carol")
        .on(&server.channel)
        .reserve(&session, &["A2"])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);

    // Bob's hold lapses after 2 s; the gauges refresh every 5 s.
    let scrapes = Duration::from_millis(200);
    let metrics = eventually_every(Duration::from_secs(20), scrapes, || async {
        let metrics = scrape(metrics_addr).await;
        let swept = sample(&metrics, "cinema_expiry_lag_seconds_count") == Some(1.0);
        let watched = sample(&metrics, "cinema_watchers_active") == Some(1.0);
        (swept && watched)
            .then_some(metrics)
            .ok_or("no expiry or watcher seen")
    })
    .await;

    let reserve = r#"method="/cinema.v1.BookingService/ReserveSeats""#;
    for (series, expected) in [
        (
            format!("cinema_rpc_requests_total{{{reserve},code=\"OK\"}}"),
            2.0,
        ),
        (
            format!("cinema_rpc_requests_total{{{reserve},code=\"FAILED_PRECONDITION\"}}"),
            1.0,
        ),
        (
            format!("cinema_rpc_duration_seconds_count{{{reserve}}}"),
            3.0,
        ),
        (r#"cinema_reservations_total{outcome="held"}"#.into(), 2.0),
        (
            r#"cinema_reservations_total{outcome="unavailable"}"#.into(),
            1.0,
        ),
        (
            r#"cinema_redis_fallbacks_total{use="seat_locks"}"#.into(),
            0.0,
        ),
        (r#"cinema_rate_limited_total{budget="booking"}"#.into(), 0.0),
        ("cinema_watchers_active".into(), 1.0),
        (
            r#"cinema_seat_lock_attempts_total{result="locked"}"#.into(),
            2.0,
        ),
        // Carol's A2 is refused by Bob's hold marker in Redis (A1's marker
        // lasts only as long as Alice's hold would have).
        (
            r#"cinema_seat_lock_attempts_total{result="contended"}"#.into(),
            1.0,
        ),
        (
            r#"cinema_seat_lock_attempts_total{result="redis_down"}"#.into(),
            0.0,
        ),
    ] {
        assert_eq!(
            sample(&metrics, &series),
            Some(expected),
            "{series} in\n{metrics}"
        );
    }
    for name in [
        "cinema_outbox_backlog",
        "cinema_outbox_oldest_age_seconds",
        "cinema_db_pool_connections_in_use",
        "cinema_db_pool_connections",
        "cinema_expiry_lag_seconds_bucket{le=\"+Inf\"}",
    ] {
        assert!(
            sample(&metrics, name).is_some(),
            "{name} missing from\n{metrics}"
        );
    }
    drop(server);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_round_trip_and_appear_in_the_logs() {
    let app = TestApp::spawn().await;
    let server = ServerProcess::spawn(&app).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let mut request = app.user("alice").request(GetSessionRequest {
        session_id: unknown.clone(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "trace-me-42".parse().expect("ASCII"));
    let status = server.sessions().get_session(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(request_id(status.metadata()), Some("trace-me-42"));

    // Without one, the server makes one up and says which.
    let session = app.create_session(2, 8).await.session_id;
    let answer = server
        .sessions()
        .get_session(app.user("bob").request(GetSessionRequest {
            session_id: session,
        }))
        .await
        .expect("get the session");
    let generated = request_id(answer.metadata()).expect("a generated request id");
    assert!(uuid::Uuid::try_parse(generated).is_ok(), "{generated}");

    let log = eventually(Duration::from_secs(5), || async {
        let logs = server.recent_logs();
        let finished = logs.iter().find_map(|line| {
            let log: serde_json::Value = serde_json::from_str(line).ok()?;
            (log["message"] == "rpc finished" && log["span"]["request_id"] == "trace-me-42")
                .then_some(log)
        });
        finished.ok_or_else(|| format!("no log line with the request id:\n{}", logs.join("\n")))
    })
    .await;
    let span = &log["span"];
    assert_eq!(span["code"], "NOT_FOUND", "{log}");
    assert_eq!(span["user"], "alice", "{log}");
    assert_eq!(span["session_id"], unknown, "{log}");
    assert_eq!(span["method"], "/cinema.v1.SessionService/GetSession");
    drop(server);
    app.stop().await;
}

fn request_id(metadata: &tonic::metadata::MetadataMap) -> Option<&str> {
    metadata.get("x-request-id").and_then(|v| v.to_str().ok())
}

/// The reads budget of the rate limit tests: 6 calls per 5 s window.
const READS: Budget = Budget {
    calls: 6,
    window: Duration::from_secs(5),
};

async fn read_session(
    channel: &Channel,
    token: Option<&str>,
    session_id: &str,
) -> Result<(), Status> {
    let message = GetSessionRequest {
        session_id: session_id.into(),
    };
    let request = match token {
        Some(token) => authed(message, token),
        None => Request::new(message),
    };
    SessionServiceClient::new(channel.clone())
        .get_session(request)
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_instances_and_recover() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limits = RateLimits {
            enabled: true,
            booking: Budget {
                calls: 100,
                window: Duration::from_secs(5),
            },
            reads: READS,
        };
    })
    .await;
    let other = ServerProcess::spawn(&app).await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.token("alice");

    // Six reads, alternating between the instances, spend Alice's budget.
    for call in 0..READS.calls {
        let channel = if call % 2 == 0 {
            &app.channel
        } else {
            &other.channel
        };
        read_session(channel, Some(&alice), &session)
            .await
            .unwrap_or_else(|e| panic!("read {call} refused: {e}"));
    }
    let refused = read_session(&other.channel, Some(&alice), &session)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let retry_after = refused
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(
        retry_after > Duration::ZERO && retry_after <= READS.window,
        "{retry_after:?}"
    );
    assert_eq!(
        read_session(&app.channel, Some(&alice), &session)
            .await
            .unwrap_err()
            .code(),
        Code::ResourceExhausted
    );

    // Booking has a budget of its own, and Bob one of his.
    app.user("alice")
        .on(&other.channel)
        .reserve(&session, &["A1"])
        .await
        .expect("a reserve with the booking budget");
    read_session(&app.channel, Some(&app.token("bob")), &session)
        .await
        .expect("Bob's read");

    // Waiting out the window is the scenario: the budget comes back by itself.
    tokio::time::sleep(retry_after + Duration::from_millis(100)).await;
    read_session(&other.channel, Some(&alice), &session)
        .await
        .expect("a read once the window has passed");
    drop(other);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_caller_gets_more_than_its_budget_in_any_window_even_across_an_edge() {
    const BUDGET: Budget = Budget {
        calls: 10,
        window: Duration::from_secs(2),
    };
    let app = TestApp::spawn_with(|s| {
        s.rate_limits = RateLimits {
            enabled: true,
            booking: BUDGET,
            reads: BUDGET,
        };
    })
    .await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.token("alice");
    let admitted = |results: &[Result<(), Status>]| results.iter().filter(|r| r.is_ok()).count();
    let mut reads = Vec::new();

    // One call opens what a fixed window would count from; nine more late
    // in it spend the budget.
    let start = tokio::time::Instant::now();
    read_session(&app.channel, Some(&alice), &session)
        .await
        .expect("the first read");
    tokio::time::sleep_until(start + Duration::from_millis(1000)).await;
    for _ in 0..9 {
        reads.push(read_session(&app.channel, Some(&alice), &session).await);
    }
    assert_eq!(admitted(&reads), 9);

    // Past the first call's window (a fixed window would start over with
    // ten more), only the first call has left the last two seconds: one
    // more call fits, the other nine wait for the nine above to age out.
    tokio::time::sleep_until(start + Duration::from_millis(2300)).await;
    let mut late = Vec::new();
    for _ in 0..10 {
        late.push(read_session(&app.channel, Some(&alice), &session).await);
    }
    assert!(
        start.elapsed() < Duration::from_millis(2900),
        "too slow to show the edge"
    );
    assert_eq!(admitted(&late), 1);
    let refused = late
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("a refusal");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    let retry_after = refused
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo with a delay");
    // The nine late calls of the first second leave the window at about 3 s.
    assert!(
        retry_after > Duration::from_millis(50) && retry_after <= Duration::from_millis(800),
        "{retry_after:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn calls_without_a_token_are_limited_by_peer_address() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limits = RateLimits {
            enabled: true,
            booking: READS,
            reads: READS,
        };
    })
    .await;
    let session = uuid::Uuid::new_v4().to_string();
    for _ in 0..READS.calls {
        let status = read_session(&app.channel, None, &session)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let status = read_session(&app.channel, None, &session)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    app.stop().await;
}

#[tokio::test]
async fn rate_limits_let_calls_through_while_redis_is_down() {
    // Nothing listens on this port: Redis is "down" for the whole test.
    let nowhere = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let app = TestApp::spawn_with(|s| {
        s.redis_url = format!("redis://{nowhere}");
        s.rate_limits = RateLimits {
            enabled: true,
            booking: Budget {
                calls: 1,
                window: Duration::from_secs(60),
            },
            reads: Budget {
                calls: 1,
                window: Duration::from_secs(60),
            },
        };
    })
    .await;
    let session = app.create_session(2, 8).await.session_id;
    for _ in 0..3 {
        read_session(&app.channel, Some(&app.token("alice")), &session)
            .await
            .expect("a read while Redis is down");
    }
    app.user("alice")
        .reserve(&session, &["A1"])
        .await
        .expect("a reserve while Redis is down");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_an_in_flight_reserve_finish_and_ends_watches() {
    let app = TestApp::spawn().await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.user("alice");
    let mut watching = app.user("watcher").watch(&session).await.expect("watch");
    watching.message().await.expect("a snapshot");

    // Holding A1's row lock keeps Alice's ReserveSeats waiting inside its transaction.
    let db = app.db().await;
    let blocker = lock_seat(&db, &session, "A1").await;
    let reserving = tokio::spawn({
        let (alice, session) = (alice.clone(), session.clone());
        async move { alice.reserve(&session, &["A1"]).await }
    });
    wait_for_lock_waiters(&db, 1).await;

    let channel = app.channel.clone();
    let stopping = tokio::spawn(app.stop_keeping_data());
    let ended = tokio::time::timeout(Duration::from_secs(10), watching.message())
        .await
        .expect("the watch did not end");
    assert_eq!(ended.unwrap_err().code(), Code::Unavailable);
    // Neither may finish while A1 stays locked: a moment in which they would
    // (wrongly) do so is all there is to wait for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!reserving.is_finished(), "the reserve did not wait for A1");
    assert!(
        !stopping.is_finished(),
        "shutdown did not wait for the reserve"
    );

    blocker.commit().await.expect("release A1");
    let reservation = reserving
        .await
        .expect("the reserving task")
        .expect("the in-flight reserve succeeds");
    assert_eq!(reservation.seat_labels, ["A1"]);
    let leftovers = tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown finishes once the reserve has")
        .expect("the stopping task");
    let refused = read_session(&channel, Some(alice.token()), &session).await;
    assert!(refused.is_err(), "a call after shutdown was answered");

    // The relay published what the last call committed before it stopped.
    let unpublished = db::count(
        &db,
        "SELECT count(*) AS events FROM outbox WHERE published_time IS NULL",
    )
    .await;
    assert_eq!(unpublished, 0);
    db.close().await.expect("close");
    leftovers.remove().await;
}

/// Waits until `count` backends wait for a row lock in this database.
async fn wait_for_lock_waiters(db: &sea_orm::DatabaseConnection, count: i64) {
    eventually(Duration::from_secs(10), || async {
        let waiting = db::count(
            db,
            "SELECT count(*) AS waiting FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await;
        (waiting >= count)
            .then_some(())
            .ok_or_else(|| format!("{waiting} calls wait for the lock, not {count}"))
    })
    .await;
}

/// A stand-in OTLP collector: hands every exported span to the test.
struct Collector(tokio::sync::mpsc::UnboundedSender<Span>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        for span in spans {
            let _ = self.0.send(span);
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The string value of a span attribute.
fn attribute<'s>(span: &'s Span, key: &str) -> Option<&'s str> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(value) => Some(value.as_str()),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_when_a_collector_is_configured() {
    let (spans, mut exported) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(spans)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let app = TestApp::spawn().await;
    let endpoint = format!("http://{collector}");
    let server = ServerProcess::spawn_with_env(
        &app,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            // Export every 100 ms rather than every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let mut request = app.user("alice").request(GetSessionRequest {
        session_id: uuid::Uuid::new_v4().to_string(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "exported-7".parse().expect("ASCII"));
    let status = server.sessions().get_session(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let span = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let span = exported.recv().await.expect("the collector runs");
            if attribute(&span, "request_id") == Some("exported-7") {
                return span;
            }
        }
    })
    .await
    .expect("the RPC's span reached the collector");
    assert_eq!(span.name, "rpc");
    assert_eq!(attribute(&span, "code"), Some("NOT_FOUND"));
    assert_eq!(attribute(&span, "user"), Some("alice"));
    assert_eq!(
        attribute(&span, "method"),
        Some("/cinema.v1.SessionService/GetSession")
    );
    drop(server);
    app.stop().await;
}

#[tokio::test]
async fn messages_over_the_size_limit_are_refused() {
    let app = TestApp::spawn_with(|s| s.server_limits.max_message_bytes = 64 << 10).await;
    let session = app.create_session(2, 8).await.session_id;
    let alice = app.user("alice");
    let labels = |n: usize| vec!["A1".repeat(8); n];
    // About 100 KiB: refused before it is decoded.
    let refused = alice.reserve(&session, &labels(10_000)).await.unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    // About 1 KiB: decoded, then refused by validation.
    let invalid = alice.reserve(&session, &labels(100)).await.unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument, "{invalid:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_the_server_deadline_is_cut_and_leaves_nothing_behind() {
    let app = TestApp::spawn_with(|s| s.server_limits.rpc_timeout = Duration::from_secs(1)).await;
    let session = app.create_session(2, 8).await.session_id;
    let db = app.db().await;
    let blocker = lock_seat(&db, &session, "A1").await;
    let alice = app.user("alice");
    let started = std::time::Instant::now();
    let cut = alice.reserve(&session, &["A1"]).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(cut.code(), Code::DeadlineExceeded, "{cut:?}");
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    blocker.rollback().await.expect("release A1");

    // The cut call's transaction rolled back: no reservation, A1 free.
    let row = db::row(
        &db,
        &format!(
            "SELECT (SELECT count(*) FROM reservations) AS reservations,
                    (SELECT status FROM seats WHERE session_id = '{session}' AND label = 'A1') AS a1"
        ),
    )
    .await;
    assert_eq!(row.try_get::<i64>("", "reservations").unwrap(), 0);
    assert_eq!(row.try_get::<String>("", "a1").unwrap(), "available");
    // Its Redis lock went with it: A1 can be held at once, not 5 s later.
    app.user("bob")
        .reserve(&session, &["A1"])
        .await
        .expect("A1 is free at once");
    db.close().await.expect("close");
    app.stop().await;
}
