//! The `cinema` binary as a person runs it.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use sea_orm::ConnectionTrait;

use crate::support::{
    Authenticator, SECRET, Secret, TestApp, db, free_port, fresh_prefix,
    process::KillOnDrop,
    resources::{RedisKeys, Streams, TestDatabase},
    service_url,
};

fn cinema() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema"));
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "NATS_URL",
        "CINEMA_JWT_SECRET",
        "CINEMA_GRPC_ADDR",
        "CINEMA_HOLD_SECONDS",
    ] {
        command.env_remove(var);
    }
    command.env("CINEMA_METRICS_ADDR", "off");
    command
}

fn with_services(command: &mut Command) -> &mut Command {
    command
        .env("DATABASE_URL", service_url("DATABASE_URL"))
        .env("REDIS_URL", service_url("REDIS_URL"))
        .env("NATS_URL", service_url("NATS_URL"))
        .env("CINEMA_JWT_SECRET", SECRET)
}

#[test]
fn a_missing_or_invalid_setting_stops_serve_naming_the_variable() {
    let output = cinema().arg("serve").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL: expected a PostgreSQL URL"),
        "{stderr}"
    );

    let output = with_services(&mut cinema())
        .env("CINEMA_HOLD_SECONDS", "soon")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            r#"CINEMA_HOLD_SECONDS: expected a whole number of seconds from 1 to 3600, got "soon""#
        ),
        "{stderr}"
    );

    let output = with_services(&mut cinema())
        .env("CINEMA_JWT_SECRET", "tiny-secret-value")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CINEMA_JWT_SECRET: expected a secret of at least 32 characters"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("tiny-secret-value"),
        "the secret was echoed: {stderr}"
    );
}

#[test]
fn token_prints_a_token_the_server_accepts() {
    let output = cinema()
        .env("CINEMA_JWT_SECRET", SECRET)
        .args(["token", "--user", "alice", "--admin", "--ttl", "2h"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    let caller = Authenticator::new(&Secret::new(SECRET))
        .verify(Some(&format!("Bearer {}", token.trim())))
        .unwrap();
    assert_eq!((caller.user_id.as_str(), caller.is_admin), ("alice", true));
}

/// `cinema demo` on `database_url`: what it printed.
fn demo(database_url: &str) -> String {
    let output = cinema()
        .env("DATABASE_URL", database_url)
        .env("CINEMA_JWT_SECRET", SECRET)
        .arg("demo")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The `SESSION_ID=` and `ROOM_ID=` lines of a demo's summary.
fn demo_ids(summary: &str) -> Vec<&str> {
    summary
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("SESSION_ID=") || line.starts_with("ROOM_ID="))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_publishes_its_room_and_session_once() {
    let database = TestDatabase::create().await;
    let url = database.url().to_owned();
    let rerun = url.clone();
    let [first, second] = tokio::task::spawn_blocking(move || [demo(&rerun), demo(&rerun)])
        .await
        .unwrap();
    assert!(
        first.starts_with("Demo session: Filme X in Sala 1 at "),
        "{first}"
    );
    assert!(first.contains(" (104 seats)\n"), "{first}");
    assert!(
        first.contains(
            "  prices (BRL): STANDARD 25.00, PREMIUM 35.00, WHEELCHAIR 25.00, \
             COMPANION 25.00, COUPLE 30.00 a half\n"
        ),
        "{first}"
    );
    assert!(first.contains("    H  _LR_LRLRLR_LR_\n"), "{first}");
    assert_eq!(demo_ids(&first).len(), 2, "{first}");
    assert_eq!(demo_ids(&first), demo_ids(&second));

    // The next day's run publishes a new session in the same room.
    let conn = db::connect(&url).await;
    conn.execute_unprepared("UPDATE sessions SET movie_title = 'Filme X, yesterday'")
        .await
        .unwrap();
    let next_day = tokio::task::spawn_blocking(move || demo(&url))
        .await
        .unwrap();
    let (ids, next_ids) = (demo_ids(&first), demo_ids(&next_day));
    assert_ne!(ids[0], next_ids[0], "{next_day}");
    assert_eq!(ids[1], next_ids[1], "{next_day}");
    assert_eq!(db::count(&conn, "SELECT count(*) FROM rooms").await, 1);
    assert_eq!(db::count(&conn, "SELECT count(*) FROM sessions").await, 2);
    conn.close().await.unwrap();
    database.remove().await;
}

// Multi-threaded: the blocking reads below must not starve the client's
// connection task, which has to answer the server's GOAWAY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_cleanly_on_sigterm() {
    let database = TestDatabase::create().await;
    // Keys and streams of its own, not those of the default prefix.
    let prefix = fresh_prefix();
    let _keys = RedisKeys::new(&service_url("REDIS_URL"), &prefix);
    let _streams = Streams::new(&service_url("NATS_URL"), &prefix);
    let mut child = KillOnDrop(
        with_services(&mut cinema())
            .env("DATABASE_URL", database.url())
            .env("CINEMA_REDIS_PREFIX", &prefix)
            .env("CINEMA_NATS_PREFIX", &prefix)
            .env("CINEMA_GRPC_ADDR", "127.0.0.1:0")
            .env("CINEMA_LOG_FORMAT", "json")
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve exited before listening")
            .unwrap();
        let log: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if log["message"] == "serving gRPC" {
            break log["addr"].as_str().unwrap().to_owned();
        }
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health answers");

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
    assert!(
        !rest.iter().any(|l| l.contains("drain timed out")),
        "{rest:?}"
    );
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_exits_zero_only_for_a_serving_server() {
    let app = TestApp::spawn().await;
    let serving = tokio::task::spawn_blocking({
        let addr = format!("http://{}", app.addr);
        move || cinema().args(["health", "--addr", &addr]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(serving.status.success(), "{serving:?}");
    assert_eq!(
        String::from_utf8_lossy(&serving.stdout).trim(),
        format!("http://{} is SERVING", app.addr)
    );
    app.stop().await;

    let nobody = free_port();
    let absent = cinema()
        .args(["health", "--addr", &format!("http://127.0.0.1:{nobody}")])
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(1), "{absent:?}");
    assert!(
        String::from_utf8_lossy(&absent.stderr).contains("connecting to"),
        "{absent:?}"
    );
}
