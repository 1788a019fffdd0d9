//! The sales-figures consumer, `GetSessionSales`, and the `worker` and
//! `events tail` commands, against the real NATS and PostgreSQL. Each test
//! has its own database and NATS prefix, and removes both at the end, also
//! when it fails.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use async_nats::{HeaderMap, jetstream};
use chrono::Utc;
use prost::Message as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use uuid::Uuid;

use crate::support::{
    EventType, PATIENCE, TestApp, Topology,
    app::init_test_logs,
    ev, eventually, fresh_prefix,
    internals::{
        CONSUMER, CONTENT_TYPE, Caller, DLQ_REASON_HEADER, DLQ_SUBJECT_HEADER, EVENT_TYPE_HEADER,
        NewSession, SalesFigures, Session, SessionSales, StreamLimits, catalog, consumer, events,
        store,
    },
    nats::PrivateNats,
    process::KillOnDrop,
    resources::{Streams, TestDatabase},
    service_url, session_request, violated_fields,
};

const LIMITS: StreamLimits = StreamLimits {
    max_age: Duration::from_secs(3600),
    max_bytes: 64 << 20,
    duplicate_window: Duration::from_secs(120),
};

/// A database with one session, and event streams of their own; both are
/// removed when the world is dropped, also when the test fails.
struct World {
    db: DatabaseConnection,
    js: jetstream::Context,
    nats: async_nats::Client,
    prefix: String,
    topology: Topology,
    session: Session,
    // Dropped last (fields drop in order): the streams, then the database,
    // whatever connections to it are still open.
    _streams: Streams,
    database: TestDatabase,
}

impl World {
    /// A world on the shared NATS.
    async fn new() -> Self {
        Self::on(&service_url("NATS_URL")).await
    }

    /// A world on the NATS server at `nats_url`.
    async fn on(nats_url: &str) -> Self {
        init_test_logs();
        let database = TestDatabase::create().await;
        let prefix = fresh_prefix();
        let streams = Streams::new(nats_url, &prefix);
        let db = sea_orm::Database::connect(database.url())
            .await
            .expect("connect to the test database");
        migration::migrate(&db).await.expect("apply migrations");
        let session = catalog::create_session(
            &db,
            &Caller::operator("test"),
            new_session(),
            std::time::Duration::ZERO,
        )
        .await
        .expect("create a session");
        let nats = events::connect(nats_url, None)
            .await
            .expect("connect to NATS");
        let js = jetstream::new(nats.clone());
        let topology = Topology::new(&prefix);
        Self {
            db,
            js,
            nats,
            prefix,
            topology,
            session,
            _streams: streams,
            database,
        }
    }

    async fn create_streams(&self) {
        events::stream::ensure(&self.js, &self.topology, &LIMITS)
            .await
            .expect("create the streams");
    }

    /// A consumer instance, as `serve` or `worker` runs it.
    fn start_consumer(&self) -> JoinHandle<()> {
        tokio::spawn(consumer::run(
            self.js.clone(),
            self.topology.clone(),
            SalesFigures::new(self.db.clone()),
        ))
    }

    async fn publish(&self, event_type: &str, msg_id: Uuid, payload: Vec<u8>) -> u64 {
        publish(&self.js, &self.topology, event_type, msg_id, payload).await
    }

    async fn sales(&self) -> SessionSales {
        catalog::session_sales(&self.db, self.session.session_id)
            .await
            .expect("read the figures")
    }

    /// Waits until the session's figures are (tickets, revenue, expired holds).
    async fn wait_for_figures(&self, expected: (i64, i64, i64)) -> SessionSales {
        eventually(PATIENCE, || async {
            let sales = self.sales().await;
            let figures = (sales.tickets_sold, sales.revenue_cents, sales.holds_expired);
            (figures == expected)
                .then_some(sales)
                .ok_or_else(|| format!("figures {figures:?}, expected {expected:?}"))
        })
        .await
    }

    /// Waits until the consumer has acked everything up to stream sequence `last`.
    async fn wait_until_consumed(&self, last: u64) {
        eventually(PATIENCE, || async {
            let stream = self
                .js
                .get_stream(&self.topology.stream)
                .await
                .map_err(|e| e.to_string())?;
            let info = stream
                .consumer_info(CONSUMER)
                .await
                .map_err(|e| e.to_string())?;
            let done = info.ack_floor.stream_sequence >= last && info.num_ack_pending == 0;
            done.then_some(()).ok_or(format!(
                "the consumer to ack every event: ack floor {}",
                info.ack_floor.stream_sequence
            ))
        })
        .await
    }

    /// How many times `event_id` is recorded as processed.
    async fn times_processed(&self, event_id: Uuid) -> i64 {
        #[derive(FromQueryResult)]
        struct Count {
            n: i64,
        }
        Count::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM processed_events WHERE consumer = $1 AND event_id = $2",
            [CONSUMER.into(), event_id.into()],
        ))
        .one(&self.db)
        .await
        .expect("count processed events")
        .expect("a count")
        .n
    }
}

/// Publishes `payload` as the relay does, and waits for JetStream to store it.
async fn publish(
    js: &jetstream::Context,
    topology: &Topology,
    event_type: &str,
    msg_id: Uuid,
    payload: Vec<u8>,
) -> u64 {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", msg_id.to_string());
    headers.insert("Content-Type", CONTENT_TYPE);
    headers.insert(EVENT_TYPE_HEADER, message_name(event_type));
    let ack = js
        .publish_with_headers(topology.subject(event_type), headers, payload.into())
        .await
        .expect("publish")
        .await
        .expect("JetStream stores the event");
    assert!(
        !ack.duplicate,
        "{event_type} {msg_id} was taken for a duplicate"
    );
    ack.sequence
}

/// The `Cinema-Event-Type` of an event type (made up for unknown ones).
fn message_name(event_type: &str) -> String {
    EventType::from_name(event_type).map_or_else(
        || format!("cinema.events.v1.{event_type}"),
        |known| known.message_name().to_owned(),
    )
}

fn new_session() -> NewSession {
    NewSession {
        movie_title: "Filme X".into(),
        room: "Sala 1".into(),
        starts_at: Some(Utc::now() + chrono::Duration::hours(24)),
        price_cents: 2500,
        currency: "BRL".into(),
        rows: 4,
        seats_per_row: 4,
        room_id: None,
        prices: Vec::new(),
        allow_single_seat_gaps: false,
        movie_id: None,
    }
}

fn payment(event_id: Uuid, session_id: Uuid, seats: &[&str], amount_cents: i64) -> Vec<u8> {
    ev::PaymentConfirmed {
        event_id: event_id.to_string(),
        occur_time: Some(prost_types::Timestamp {
            seconds: Utc::now().timestamp(),
            nanos: 0,
        }),
        sale_id: Uuid::new_v4().to_string(),
        reservation_id: Uuid::new_v4().to_string(),
        session_id: session_id.to_string(),
        user_id: "alice".into(),
        seat_labels: seats.iter().map(ToString::to_string).collect(),
        amount_cents,
        currency: "BRL".into(),
        payment_reference: "pix-1".into(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn expiry(event_id: Uuid, session_id: Uuid) -> Vec<u8> {
    ev::ReservationExpired {
        event_id: event_id.to_string(),
        reservation_id: Uuid::new_v4().to_string(),
        session_id: session_id.to_string(),
        user_id: "bob".into(),
        seat_labels: vec!["C1".into()],
        ..Default::default()
    }
    .encode_to_vec()
}

fn creation(event_id: Uuid, session_id: Uuid) -> Vec<u8> {
    ev::ReservationCreated {
        event_id: event_id.to_string(),
        session_id: session_id.to_string(),
        seat_labels: vec!["D1".into()],
        total_price_cents: 2500,
        ..Default::default()
    }
    .encode_to_vec()
}

#[derive(Debug, serde::Deserialize)]
struct Terminated {
    stream_seq: u64,
    deliveries: i64,
}

#[tokio::test]
async fn a_poison_event_ends_in_the_dead_letter_stream_and_the_events_behind_it_count() {
    let world = World::new().await;
    world.create_streams().await;
    let advisories = format!(
        "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{}.{}",
        world.topology.stream, CONSUMER
    );
    let mut terminated = world
        .nats
        .subscribe(advisories)
        .await
        .expect("subscribe to advisories");
    let worker = world.start_consumer();
    let session = world.session.session_id;

    let poison_id = Uuid::new_v4();
    let poison_seq = world
        .publish(
            EventType::PaymentConfirmed.name(),
            poison_id,
            b"\xff\x00garbage".to_vec(),
        )
        .await;
    let (paid, expired) = (Uuid::new_v4(), Uuid::new_v4());
    world
        .publish(
            EventType::PaymentConfirmed.name(),
            paid,
            payment(paid, session, &["A1", "B2"], 5000),
        )
        .await;
    world
        .publish(
            EventType::ReservationExpired.name(),
            expired,
            expiry(expired, session),
        )
        .await;
    world
        .publish(
            EventType::ReservationCreated.name(),
            Uuid::new_v4(),
            creation(Uuid::new_v4(), session),
        )
        .await;

    let counted = world.wait_for_figures((2, 5000, 1)).await;
    assert_eq!(counted.currency, "BRL");
    assert!(counted.update_time > world.session.create_time);

    let mut dlq = world
        .js
        .get_stream(&world.topology.dlq_stream)
        .await
        .expect("the DLQ stream");
    let letter = eventually(PATIENCE, || async {
        dlq.get_raw_message(1).await.map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(
        letter.subject.as_str(),
        format!("{}.payment.confirmed", world.topology.dlq_root)
    );
    assert_eq!(&letter.payload[..], b"\xff\x00garbage");
    let header = |name: &str| letter.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header("Nats-Msg-Id"), Some(poison_id.to_string()));
    assert_eq!(
        header(EVENT_TYPE_HEADER).as_deref(),
        Some("cinema.events.v1.PaymentConfirmed")
    );
    assert_eq!(
        header(DLQ_SUBJECT_HEADER),
        Some(world.topology.subject(EventType::PaymentConfirmed.name()))
    );
    let reason = header(DLQ_REASON_HEADER).expect("a reason");
    assert!(
        reason.starts_with("decoding a PaymentConfirmed"),
        "{reason}"
    );

    // Dead-lettered on its 5th delivery, not before...
    let advisory = tokio::time::timeout(PATIENCE, terminated.next())
        .await
        .expect("a MSG_TERMINATED advisory")
        .expect("the subscription is open");
    let advisory: Terminated = serde_json::from_slice(&advisory.payload).expect("an advisory");
    assert_eq!((advisory.stream_seq, advisory.deliveries), (poison_seq, 5));
    // ...while the events behind it were counted first, not held up by it.
    let dead_lettered = letter.time.unix_timestamp_nanos() / 1_000_000;
    assert!(
        counted.update_time.timestamp_millis() < dead_lettered as i64,
        "the poison event held up the others"
    );
    // Nothing was counted again meanwhile, and nothing is left.
    assert_eq!(world.sales().await, counted);
    world.wait_until_consumed(poison_seq + 3).await;
    assert_eq!(dlq.info().await.expect("DLQ info").state.messages, 1);
    worker.abort();
}

#[tokio::test]
async fn an_event_published_twice_counts_once_across_two_instances() {
    let world = World::new().await;
    world.create_streams().await;
    let instances = [world.start_consumer(), world.start_consumer()];
    let session = world.session.session_id;

    let paid = Uuid::new_v4();
    let payload = payment(paid, session, &["A1", "A2", "A3"], 7500);
    // Different message ids, so JetStream keeps both copies.
    let first = world
        .publish(
            EventType::PaymentConfirmed.name(),
            Uuid::new_v4(),
            payload.clone(),
        )
        .await;
    let second = world
        .publish(EventType::PaymentConfirmed.name(), Uuid::new_v4(), payload)
        .await;
    assert_eq!(second, first + 1);
    let expired = Uuid::new_v4();
    let last = world
        .publish(
            EventType::ReservationExpired.name(),
            expired,
            expiry(expired, session),
        )
        .await;
    world
        .publish(
            EventType::ReservationExpired.name(),
            Uuid::new_v4(),
            expiry(expired, session),
        )
        .await;

    world.wait_until_consumed(last + 1).await;
    let sales = world.sales().await;
    assert_eq!(
        (sales.tickets_sold, sales.revenue_cents, sales.holds_expired),
        (3, 7500, 1)
    );
    assert_eq!(world.times_processed(paid).await, 1);
    assert_eq!(world.times_processed(expired).await, 1);
    for instance in instances {
        instance.abort();
    }
}

#[tokio::test]
async fn ids_of_events_older_than_the_stream_keeps_are_forgotten_and_no_others() {
    let world = World::new().await;
    let (old, recent) = (Uuid::new_v4(), Uuid::new_v4());
    world
        .db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO processed_events (consumer, event_id, process_time)
             VALUES ($1, $2, now() - interval '7 days 1 minute'), ($1, $3, now() - interval '6 days')",
            [CONSUMER.into(), old.into(), recent.into()],
        ))
        .await
        .expect("insert processed events");
    let db = store::connect(world.database.url(), 1)
        .await
        .expect("a pool");
    let seven_days = Duration::from_secs(7 * 24 * 3600);
    let deleted = store::figures::prune_processed(&db, seven_days)
        .await
        .expect("prune");
    assert_eq!(deleted, 1);
    assert_eq!(
        (
            world.times_processed(old).await,
            world.times_processed(recent).await
        ),
        (0, 1)
    );
}

#[tokio::test]
async fn the_consumer_waits_for_its_stream_and_rides_out_a_nats_restart() {
    let mut nats = PrivateNats::start();
    // Declared after the server: removed (streams deleted) while it still runs.
    let world = World::on(&nats.url()).await;
    let worker = world.start_consumer();
    let session = world.session.session_id;
    // The stream appears after the consumer started, as when a worker
    // starts before any server has.
    eventually(PATIENCE, || async {
        let stream_info = format!("$JS.API.STREAM.INFO.{}", world.topology.stream);
        let mut probe = world
            .nats
            .subscribe(stream_info)
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(2), probe.next())
            .await
            .map_err(|_| "the consumer to look for its stream".to_owned())
    })
    .await;
    world.create_streams().await;
    let paid = Uuid::new_v4();
    world
        .publish(
            EventType::PaymentConfirmed.name(),
            paid,
            payment(paid, session, &["A1"], 2500),
        )
        .await;
    world.wait_for_figures((1, 2500, 0)).await;

    nats.kill();
    nats.start_again();
    // A request sent just as the client notices the restart is lost with
    // the old connection; asking (safely, again) until one is answered
    // makes sure the event below reaches the new server.
    eventually(PATIENCE, || async {
        let stream = world.js.get_stream(&world.topology.stream);
        let answer = tokio::time::timeout(Duration::from_millis(500), stream).await;
        answer
            .map_err(|_| "NATS to answer again".to_owned())?
            .map_err(|e| e.to_string())
    })
    .await;
    let again = Uuid::new_v4();
    world
        .publish(
            EventType::PaymentConfirmed.name(),
            again,
            payment(again, session, &["A2"], 2500),
        )
        .await;
    world.wait_for_figures((2, 5000, 0)).await;
    worker.abort();
}

/// Sells and lets expire through the real server, and reads the figures that
/// its own events consumer keeps.
#[tokio::test]
async fn admins_read_the_figures_that_sales_and_expiries_add_up_to() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(1)).await;
    let (admin, alice, bob) = (app.admin(), app.user("alice"), app.user("bob"));
    let sold = admin
        .create_session(session_request("Filme X", 24, 4, 4))
        .await
        .expect("create a session");
    let quiet = admin
        .create_session(session_request("Filme Y", 24, 4, 4))
        .await
        .expect("create a session");

    // No event yet: zeros, as of the session's creation.
    let none = admin
        .session_sales(&quiet.session_id)
        .await
        .expect("figures");
    assert_eq!(
        (none.tickets_sold, none.revenue_cents, none.holds_expired),
        (0, 0, 0)
    );
    assert_eq!(none.session_id, quiet.session_id);
    assert_eq!(none.currency, "BRL");
    assert_eq!(none.update_time, quiet.create_time);

    let paid = alice
        .reserve(&sold.session_id, &["A1", "A2"])
        .await
        .expect("reserve seats");
    alice
        .confirm_with(&paid.reservation_id, "pix-1", "")
        .await
        .expect("alice pays");
    // Bob's hold ends unpaid after a second.
    bob.reserve(&sold.session_id, &["B1"])
        .await
        .expect("reserve seats");

    let figures = eventually(PATIENCE, || async {
        let sales = admin
            .session_sales(&sold.session_id)
            .await
            .map_err(|s| s.to_string())?;
        let figures = (sales.tickets_sold, sales.revenue_cents, sales.holds_expired);
        (figures == (2, 5000, 1))
            .then_some(sales)
            .ok_or_else(|| format!("the sale and the expiry to be counted: {figures:?}"))
    })
    .await;
    assert_eq!(figures.currency, "BRL");
    let as_pair = |ts: Option<prost_types::Timestamp>| ts.map(|ts| (ts.seconds, ts.nanos));
    assert!(as_pair(figures.update_time) > as_pair(sold.create_time));

    let denied = alice.session_sales(&sold.session_id).await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    let unknown = admin
        .session_sales(&Uuid::new_v4().to_string())
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    let malformed = admin.session_sales("not-a-uuid").await.unwrap_err();
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert_eq!(violated_fields(&malformed), ["session_id"]);
    app.stop().await;
}

/// Lines a child process writes to stdout, read on a thread of their own.
fn stdout_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("a piped stdout");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn cinema(args: &[&str], world: &World) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cinema"));
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(|v| v.starts_with("CINEMA_")) {
            command.env_remove(var);
        }
    }
    command
        .args(args)
        .env("DATABASE_URL", world.database.url())
        .env("NATS_URL", service_url("NATS_URL"))
        .env("CINEMA_NATS_PREFIX", &world.prefix)
        .env("CINEMA_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn interrupt(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn events_tail_prints_one_line_per_event_until_ctrl_c() {
    let world = World::new().await;
    let missing = cinema(&["events", "tail"], &world)
        .output()
        .expect("run cinema");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains(&format!("stream {} does not exist", world.topology.stream)),
        "{stderr}"
    );

    world.create_streams().await;
    let session = world.session.session_id;
    let paid = Uuid::new_v4();
    world
        .publish(
            EventType::PaymentConfirmed.name(),
            paid,
            payment(paid, session, &["A1", "B2"], 5000),
        )
        .await;
    world
        .publish(
            EventType::PaymentConfirmed.name(),
            Uuid::new_v4(),
            b"\xff\xff".to_vec(),
        )
        .await;
    world
        .publish("popcorn.sold", Uuid::new_v4(), b"\x08\x01".to_vec())
        .await;

    let mut tail = KillOnDrop(
        cinema(&["events", "tail", "--from-start"], &world)
            .spawn()
            .expect("start tail"),
    );
    let lines = stdout_lines(&mut tail.0);
    let deadline = Instant::now() + PATIENCE;
    let seen: Vec<String> = (0..3)
        .map(|_| {
            lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("a line")
        })
        .collect();
    interrupt(&tail.0, "-INT");
    let exit = tail.0.wait().expect("tail exits");
    assert!(exit.success(), "{exit:?}");

    let words: Vec<&str> = seen[0].split(' ').collect();
    assert!(
        chrono::DateTime::parse_from_rfc3339(words[0]).is_ok(),
        "{}",
        seen[0]
    );
    assert_eq!(words[1], EventType::PaymentConfirmed.name());
    assert!(
        words[2].starts_with("sale=") && words[3].starts_with("reservation="),
        "{}",
        seen[0]
    );
    let session = format!("session={session}");
    let event = format!("{paid})");
    let rest = [
        &session,
        "user=alice",
        "seats=A1,B2",
        "amount=50.00",
        "BRL",
        "ref=pix-1",
        "(event",
        &event,
    ];
    assert_eq!(words[4..], rest);
    assert!(
        seen[1].contains(" payment.confirmed undecodable payload (2 bytes): "),
        "{}",
        seen[1]
    );
    assert!(
        seen[2].contains(" popcorn.sold unknown event type (2 bytes, "),
        "{}",
        seen[2]
    );
}

#[tokio::test]
async fn the_worker_command_counts_events_until_sigterm() {
    let world = World::new().await;
    world.create_streams().await;
    let mut worker = KillOnDrop(
        cinema(&["worker"], &world)
            .spawn()
            .expect("start the worker"),
    );
    let session = world.session.session_id;
    let expired = Uuid::new_v4();
    world
        .publish(
            EventType::ReservationExpired.name(),
            expired,
            expiry(expired, session),
        )
        .await;
    world.wait_for_figures((0, 0, 1)).await;

    interrupt(&worker.0, "-TERM");
    let exit = worker.0.wait().expect("the worker exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut worker.0.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(exit.success(), "{exit:?}: {stderr}");
    assert!(stderr.contains("\"stopped\""), "{stderr}");
}

#[test]
fn worker_and_tail_name_a_missing_or_malformed_setting() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cinema"))
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .expect("run cinema");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let database = ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
    let (code, stderr) = run(&["worker"], &[database]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "configuration error: NATS_URL: expected a NATS URL (nats://host:port), got nothing"
        ),
        "{stderr}"
    );
    let nats = ("NATS_URL", "nats://127.0.0.1:1");
    let (code, stderr) = run(&["events", "tail"], &[nats, ("CINEMA_NATS_PREFIX", "a.b")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(r#"CINEMA_NATS_PREFIX: expected a subject prefix, got "a.b""#),
        "{stderr}"
    );
}
