//! TLS from cinema to each of its dependencies: a private PostgreSQL, Redis
//! or NATS that speaks TLS alone, with certificates made by the test, and the
//! real `cinema serve` pointed at it through its URL and CA settings. It
//! works end to end under the right CA, and a server whose certificate
//! chains to another CA (or names another host) is refused, saying why.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use fred::prelude::{Client as RedisClient, KeysInterface};
use prost::Message;

use crate::support::{
    Authenticator, Client, EventType, PATIENCE, Settings, Topology,
    certs::TestCa,
    db, ev, eventually, fresh_prefix, heavy,
    internals::{events, gate},
    nats::PrivateNats,
    postgres::PrivatePostgres,
    process::{KillOnDrop, ServerProcess},
    redis::PrivateRedis,
    resources::{RedisKeys, Streams, TestDatabase},
    service_url, session_request, test_settings,
};

/// How long a refused `cinema serve` may take to give up.
const REFUSAL_LIMIT: Duration = Duration::from_secs(30);

/// A test's database, Redis prefix and NATS prefix on the shared services
/// (removed on drop), and the settings of a server on them, which a test
/// points at a private TLS service. No server runs in the test itself: its
/// relay would publish the events meant for the private NATS.
struct World {
    settings: Settings,
    auth: Authenticator,
    _database: TestDatabase,
    _keys: RedisKeys,
    _streams: Streams,
}

impl World {
    async fn new() -> Self {
        let database = TestDatabase::create().await;
        let (redis, nats) = (service_url("REDIS_URL"), service_url("NATS_URL"));
        let settings = test_settings(database.url(), &redis, &nats, &fresh_prefix());
        Self {
            auth: Authenticator::new(&settings.jwt.secret),
            _keys: RedisKeys::new(&redis, &settings.redis_prefix),
            _streams: Streams::new(&nats, &settings.nats.prefix),
            _database: database,
            settings,
        }
    }

    /// `user` (an admin if `admin`) calling `server`.
    fn client(&self, server: &ServerProcess, user: &str, admin: bool) -> Client {
        let token = self
            .auth
            .mint(user, admin, Duration::from_secs(600))
            .expect("mint a token");
        Client::new(&server.channel, token)
    }

    /// Publishes a session on `server` and holds A1 and A2 for alice; the
    /// session and reservation ids.
    async fn hold(&self, server: &ServerProcess) -> (String, String) {
        let session = self
            .client(server, "admin", true)
            .create_session(session_request("Filme X", 24, 2, 8))
            .await
            .expect("create a session")
            .session_id;
        let held = self
            .client(server, "alice", false)
            .reserve(&session, &["A1", "A2"])
            .await
            .expect("hold two seats");
        (session, held.reservation_id)
    }
}

/// The private PostgreSQL's URL, verifying its certificate against `ca`.
fn verify_full(postgres: &PrivatePostgres, ca: &Path) -> String {
    format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        postgres.url(),
        ca.display()
    )
}

/// The one log line of `server` whose message is `message`.
fn log_line(server: &ServerProcess, message: &str) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = server
        .recent_logs()
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|log: &serde_json::Value| log["message"] == message)
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "lines {message:?} in {:#?}",
        server.recent_logs()
    );
    lines.into_iter().next().expect("one line")
}

/// Runs `cinema serve` with `settings`, expecting it to stop by itself with
/// exit status `code`; its stderr.
fn serve_refused(settings: &Settings, code: i32) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema"));
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(|v| v.starts_with("CINEMA_")) {
            command.env_remove(var);
        }
    }
    let child = command
        .arg("serve")
        .env("DATABASE_URL", &settings.database.url)
        .env("REDIS_URL", &settings.redis_url)
        .env("NATS_URL", &settings.nats.url)
        .envs(settings.redis_ca.iter().map(|ca| ("CINEMA_REDIS_CA", ca)))
        .envs(settings.nats.ca.iter().map(|ca| ("CINEMA_NATS_CA", ca)))
        .env("CINEMA_JWT_SECRET", settings.jwt.secret.expose())
        .env("CINEMA_GRPC_ADDR", "127.0.0.1:0")
        .env("CINEMA_METRICS_ADDR", "off")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the cinema binary");
    let mut child = KillOnDrop(child);
    let started = std::time::Instant::now();
    let status = loop {
        match child.0.try_wait().expect("poll the child") {
            Some(status) => break Some(status),
            None if started.elapsed() > REFUSAL_LIMIT => break None,
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    if status.is_none() {
        let _ = child.0.kill();
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        child.0.stderr.as_mut().expect("a piped stderr"),
        &mut stderr,
    )
    .expect("read stderr");
    let status =
        status.unwrap_or_else(|| panic!("serve still runs after {REFUSAL_LIMIT:?}:\n{stderr}"));
    assert_eq!(
        status.code(),
        Some(code),
        "serve's exit status; stderr:\n{stderr}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_under_verify_full_holds_and_sells_over_tls_only() {
    // initdb and a PostgreSQL of its own: heavy on a small machine.
    let _heavy = heavy().await;
    let ca = TestCa::new();
    let postgres = PrivatePostgres::start_with_tls(&ca.server_cert());
    let url = verify_full(&postgres, &ca.cert_file());
    let mut world = World::new().await;
    world.settings.database.url = url.clone();
    let server = ServerProcess::spawn_with(&world.settings).await;

    let (_, reservation) = world.hold(&server).await;
    let sale = world
        .client(&server, "alice", false)
        .confirm(&reservation)
        .await
        .expect("pay");
    assert_eq!(sale.seat_labels, ["A1", "A2"]);
    assert_eq!(sale.amount_cents, 5000);

    // The sale is in the private database, and every client connection to
    // it (the server's pool and this one) is encrypted.
    let peek = db::connect(&url).await;
    let sales = db::count(&peek, "SELECT count(*) FROM sales").await;
    let connections = "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
                       WHERE backend_type = 'client backend'";
    let plain = db::count(&peek, &format!("{connections} AND NOT ssl")).await;
    let encrypted = db::count(&peek, &format!("{connections} AND ssl")).await;
    peek.close().await.expect("close");
    assert_eq!((sales, plain), (1, 0));
    assert!(encrypted >= 2, "{encrypted} encrypted connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_refuses_another_ca_and_another_host() {
    // initdb and a PostgreSQL of its own: heavy on a small machine.
    let _heavy = heavy().await;
    let (ca, other_ca) = (TestCa::new(), TestCa::new());
    let postgres = PrivatePostgres::start_with_tls(&ca.server_cert());
    let elsewhere = PrivatePostgres::start_with_tls(&ca.cert_for("elsewhere", &["db.example.com"]));
    let mut world = World::new().await;

    world.settings.database.url = verify_full(&postgres, &other_ca.cert_file());
    let stderr = serve_refused(&world.settings, 1);
    assert!(
        stderr.contains("applying migrations")
            && stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{stderr}"
    );
    world.settings.database.url = verify_full(&elsewhere, &ca.cert_file());
    let stderr = serve_refused(&world.settings, 1);
    assert!(
        stderr.contains("applying migrations")
            && stderr.contains("certificate not valid for name \"127.0.0.1\""),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_setting_without_a_certificate_stops_serve_naming_it() {
    let ca = TestCa::new();
    let key_only = ca.server_cert().key;
    let mut world = World::new().await;
    world.settings.redis_ca = Some("/nonexistent/ca.pem".into());
    assert_eq!(
        serve_refused(&world.settings, 2),
        "cinema: configuration error: CINEMA_REDIS_CA: expected a readable PEM file of CA \
         certificates, got \"/nonexistent/ca.pem\"\n"
    );
    world.settings.redis_ca = None;
    world.settings.nats.ca = Some(key_only.clone());
    assert_eq!(
        serve_refused(&world.settings, 2),
        format!(
            "cinema: configuration error: CINEMA_NATS_CA: expected a readable PEM file of CA \
             certificates, got {:?}\n",
            key_only.display().to_string()
        )
    );
}

/// A Redis client on `redis` trusting `ca`, as cinema connects.
async fn redis_client(redis: &PrivateRedis, ca: &Path) -> RedisClient {
    gate::connect(&redis.url(), Some(ca))
        .await
        .expect("connect to Redis over TLS")
}

/// The hold marker of `label` in `redis`, if any.
async fn marker(world: &World, redis: &RedisClient, session: &str, label: &str) -> Option<String> {
    let prefix = &world.settings.redis_prefix;
    redis
        .get(format!("{prefix}:held:{{{session}}}:{label}"))
        .await
        .expect("GET a hold marker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_tls_carries_the_hold_markers() {
    let ca = TestCa::new();
    let redis = PrivateRedis::start_with_tls(ca.server_cert(), ca.cert_file());
    let mut world = World::new().await;
    world.settings.redis_url = redis.url();
    world.settings.redis_ca = Some(ca.cert_file());
    let server = ServerProcess::spawn_with(&world.settings).await;

    let (session, reservation) = world.hold(&server).await;
    // The gate marked both seats held by this reservation, in the TLS Redis.
    let peek = redis_client(&redis, &ca.cert_file()).await;
    for label in ["A1", "A2"] {
        let held_by = marker(&world, &peek, &session, label).await;
        assert_eq!(held_by.as_deref(), Some(reservation.as_str()), "{label}");
    }
    gate::close(&peek).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_under_another_ca_is_refused_and_booking_goes_on_without_it() {
    let (ca, other_ca) = (TestCa::new(), TestCa::new());
    let redis = PrivateRedis::start_with_tls(ca.server_cert(), ca.cert_file());
    let mut world = World::new().await;
    world.settings.redis_url = redis.url();
    world.settings.redis_ca = Some(other_ca.cert_file());
    let server = ServerProcess::spawn_with(&world.settings).await;

    let refused = log_line(
        &server,
        "Redis refused the first connection; going on without it and retrying",
    );
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("UnknownIssuer"), "{refused}");
    // Booking goes on with PostgreSQL alone; Redis saw nothing of it.
    let (session, _) = world.hold(&server).await;
    let peek = redis_client(&redis, &ca.cert_file()).await;
    assert_eq!(marker(&world, &peek, &session, "A1").await, None);
    gate::close(&peek).await;
}

/// A JetStream context on `nats`, trusting `ca`, as cinema connects.
async fn jetstream(nats: &PrivateNats, ca: &Path) -> async_nats::jetstream::Context {
    let client = events::connect(&nats.url(), Some(ca))
        .await
        .expect("connect to NATS over TLS");
    async_nats::jetstream::new(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_over_tls_carries_the_events() {
    let ca = TestCa::new();
    let nats = PrivateNats::start_with_tls(ca.server_cert());
    let mut world = World::new().await;
    world.settings.nats.url = nats.url();
    world.settings.nats.ca = Some(ca.cert_file());
    let server = ServerProcess::spawn_with(&world.settings).await;

    let (_, reservation) = world.hold(&server).await;
    let js = jetstream(&nats, &ca.cert_file()).await;
    let topology = Topology::new(&world.settings.nats.prefix);
    let mut stream = eventually(PATIENCE, || {
        let (js, name) = (js.clone(), topology.stream.clone());
        async move {
            let mut stream = js.get_stream(&name).await.ok()?;
            let stored = stream.info().await.ok()?.state.messages;
            (stored == 2).then_some(stream)
        }
    })
    .await;
    let mut types = Vec::new();
    let mut payloads = Vec::new();
    for sequence in 1..=stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence
    {
        let message = stream.get_raw_message(sequence).await.expect("a message");
        types.push(
            topology
                .event_type(&message.subject)
                .expect("an event")
                .to_owned(),
        );
        payloads.push(message.payload);
    }
    assert_eq!(
        types,
        [
            EventType::ReservationCreated.to_string(),
            EventType::SeatsChanged.to_string()
        ]
    );
    let created = ev::ReservationCreated::decode(payloads[0].clone()).expect("a payload");
    assert_eq!(created.reservation_id, reservation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_under_another_ca_is_refused_and_events_wait_in_the_outbox() {
    let (ca, other_ca) = (TestCa::new(), TestCa::new());
    let nats = PrivateNats::start_with_tls(ca.server_cert());
    let mut world = World::new().await;
    world.settings.nats.url = nats.url();
    world.settings.nats.ca = Some(other_ca.cert_file());
    let server = ServerProcess::spawn_with(&world.settings).await;

    let refused = log_line(
        &server,
        "NATS refused the first connection; retrying in the background",
    );
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("UnknownIssuer"), "{refused}");
    // The hold commits; its events stay in the outbox, none reaches NATS.
    world.hold(&server).await;
    let js = jetstream(&nats, &ca.cert_file()).await;
    let stream = Topology::new(&world.settings.nats.prefix).stream;
    assert!(js.get_stream(&stream).await.is_err(), "{stream} exists");
    let peek = db::connect(&world.settings.database.url).await;
    let waiting = db::count(
        &peek,
        "SELECT count(*) FROM outbox WHERE published_time IS NULL",
    )
    .await;
    peek.close().await.expect("close");
    assert_eq!(waiting, 2);
}
