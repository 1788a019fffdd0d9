//! The `cinema` binary as a person runs it.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::support::{
    Authenticator, SECRET, Secret, TestApp, TicketSigner, db, free_port, fresh_prefix,
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
        "CINEMA_TICKET_KEY",
        "CINEMA_TICKET_PUBLIC_KEY",
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

#[test]
fn token_grants_the_staff_role() {
    let output = cinema()
        .env("CINEMA_JWT_SECRET", SECRET)
        .args(["token", "--user", "usher", "--staff"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    let caller = Authenticator::new(&Secret::new(SECRET))
        .verify(Some(&format!("Bearer {}", token.trim())))
        .unwrap();
    assert_eq!(
        (caller.user_id.as_str(), caller.is_staff, caller.is_admin),
        ("usher", true, false)
    );
}

/// What a successful run of `command` printed, trimmed.
fn stdout_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The value of the `NAME=` line of `text`.
fn setting<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= line in:\n{text}"))
}

/// `cinema ticket verify code`, with the public key as a flag.
fn verify(code: &str, public_key: &str) -> std::process::Output {
    cinema()
        .args(["ticket", "verify", code, "--public-key", public_key])
        .output()
        .unwrap()
}

#[test]
fn ticket_key_new_prints_a_key_pair_that_signs_and_checks_codes() {
    let pair = stdout_of(cinema().args(["ticket-key", "--new"]));
    assert_eq!(pair.lines().count(), 2, "{pair}");
    let (seed, public_key) = (
        setting(&pair, "CINEMA_TICKET_KEY"),
        setting(&pair, "CINEMA_TICKET_PUBLIC_KEY"),
    );
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(seed)
        .expect("base64url")
        .try_into()
        .expect("32 bytes");
    let signer = TicketSigner::from_seed(seed);
    assert_eq!(public_key, signer.verifier().public_key());

    // The server's setting takes the seed as printed: `cinema ticket-key`
    // with it prints the same public key.
    let public = stdout_of(
        cinema()
            .env("CINEMA_TICKET_KEY", setting(&pair, "CINEMA_TICKET_KEY"))
            .arg("ticket-key"),
    );
    assert_eq!(public, public_key);

    // Its codes check with the public key alone.
    let ticket_id = Uuid::now_v7();
    let checked = verify(&signer.code(ticket_id), public_key);
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    assert_eq!(
        String::from_utf8_lossy(&checked.stdout).trim(),
        format!("genuine: ticket {ticket_id}")
    );

    // Every run makes a new pair.
    let other = stdout_of(cinema().args(["ticket-key", "--new"]));
    assert_ne!(
        setting(&other, "CINEMA_TICKET_KEY"),
        setting(&pair, "CINEMA_TICKET_KEY")
    );
}

#[test]
fn ticket_key_prints_the_public_key_derived_from_the_token_secret() {
    let derived = TicketSigner::derived_from(SECRET).verifier().public_key();
    let public = stdout_of(cinema().env("CINEMA_JWT_SECRET", SECRET).arg("ticket-key"));
    assert_eq!(public, derived);

    // A ticket key of its own wins over the derived one.
    let own = stdout_of(cinema().args(["ticket-key", "--new"]));
    let public = stdout_of(
        cinema()
            .env("CINEMA_JWT_SECRET", SECRET)
            .env("CINEMA_TICKET_KEY", setting(&own, "CINEMA_TICKET_KEY"))
            .arg("ticket-key"),
    );
    assert_eq!(public, setting(&own, "CINEMA_TICKET_PUBLIC_KEY"));

    // Neither: nothing to derive from.
    let neither = cinema().arg("ticket-key").output().unwrap();
    assert_eq!(neither.status.code(), Some(1), "{neither:?}");
    let stderr = String::from_utf8_lossy(&neither.stderr);
    assert!(
        stderr.contains("set CINEMA_TICKET_KEY (or CINEMA_JWT_SECRET"),
        "{stderr}"
    );
}

#[test]
fn ticket_verify_accepts_a_genuine_code_and_refuses_an_edited_one() {
    let signer = TicketSigner::derived_from(SECRET);
    let public_key = signer.verifier().public_key();
    let ticket_id = Uuid::now_v7();
    let code = signer.code(ticket_id);

    let genuine = verify(&code, &public_key);
    assert_eq!(genuine.status.code(), Some(0), "{genuine:?}");
    assert_eq!(
        String::from_utf8_lossy(&genuine.stdout).trim(),
        format!("genuine: ticket {ticket_id}")
    );
    // The key may come from the environment instead.
    let from_env = cinema()
        .env("CINEMA_TICKET_PUBLIC_KEY", &public_key)
        .args(["ticket", "verify", &code])
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(0), "{from_env:?}");

    // One byte of the ticket id changed, the signature kept: refused.
    let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
    bytes[15] ^= 1;
    let edited = URL_SAFE_NO_PAD.encode(&bytes);
    // So is a genuine code of another box office's key.
    let foreign = TicketSigner::from_seed([7; 32]).code(ticket_id);
    for refused in [&edited, &foreign, &code[..100]] {
        let output = verify(refused, &public_key);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr).trim(),
            "cinema: not a ticket of this key: edited, forged or signed by another box office"
        );
    }

    // A public key that is not one says so.
    let output = verify(&code, "not-a-key");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the public key is not an Ed25519 key in base64url"),
        "{stderr}"
    );
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
    // A token per role: an admin, an usher with the staff role, two users.
    let auth = Authenticator::new(&Secret::new(SECRET));
    let roles: Vec<(String, bool, bool)> = ["ADMIN", "USHER", "ALICE", "BOB"]
        .into_iter()
        .map(|who| {
            let token = setting(&first, &format!("  {who}_TOKEN"));
            let caller = auth.verify(Some(&format!("Bearer {token}"))).unwrap();
            (caller.user_id, caller.is_admin, caller.is_staff)
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("admin".to_owned(), true, false),
            ("usher".to_owned(), false, true),
            ("alice".to_owned(), false, false),
            ("bob".to_owned(), false, false),
        ]
    );

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
