//! The sales-figures consumer, `GetSessionSales`, and the `worker` and
//! `events tail` commands, against the real NATS and PostgreSQL. Each test
//! has its own database and NATS prefix, and removes both at the end, also
//! when it fails.

mod common;

use std::{
    future::Future,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use async_nats::{HeaderMap, jetstream};
use chrono::Utc;
use cinema::{
    catalog::{self, NewSession, Session, SessionSales},
    events::{
        self, EVENT_TYPE_HEADER, Topology,
        consumer::{self, DLQ_REASON_HEADER, DLQ_SUBJECT_HEADER},
        stream::StreamLimits,
    },
    proto::{
        events as ev,
        v1::{
            ConfirmPaymentRequest, CreateSessionRequest, GetSessionSalesRequest,
            ReserveSeatsRequest, booking_service_client::BookingServiceClient,
            session_service_client::SessionServiceClient,
        },
    },
};
use common::{TestApp, authed, nats::PrivateNats};
use prost::Message as _;
use sea_orm::{DatabaseConnection, DbBackend, FromQueryResult, Statement};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use uuid::Uuid;

/// How long a test waits for something that should happen within a second or two.
const DEADLINE: Duration = Duration::from_secs(20);

const LIMITS: StreamLimits = StreamLimits {
    max_age: Duration::from_secs(3600),
    max_bytes: 64 << 20,
    duplicate_window: Duration::from_secs(120),
};

/// A database with one session, and event streams of their own.
#[derive(Clone)]
struct World {
    database: String,
    db: DatabaseConnection,
    js: jetstream::Context,
    nats: async_nats::Client,
    prefix: String,
    topology: Topology,
    session: Session,
}

impl World {
    async fn new(nats_url: &str) -> Self {
        init_logs();
        let database = common::fresh_database().await;
        let url = common::with_database(&common::service_url("DATABASE_URL"), &database);
        let db = sea_orm::Database::connect(url)
            .await
            .expect("connect to the test database");
        migration::migrate(&db).await.expect("apply migrations");
        let session = catalog::create_session(&db, new_session())
            .await
            .expect("create a session");
        let nats = events::connect(nats_url).await.expect("connect to NATS");
        let js = jetstream::new(nats.clone());
        let prefix = format!("t{}", &Uuid::new_v4().simple().to_string()[..12]);
        let topology = Topology::new(&prefix);
        Self {
            database,
            db,
            js,
            nats,
            prefix,
            topology,
            session,
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
            self.db.clone(),
            self.js.clone(),
            self.topology.clone(),
        ))
    }

    async fn clean_up(&self) {
        for stream in [&self.topology.stream, &self.topology.dlq_stream] {
            let _ = self.js.delete_stream(stream).await;
        }
        common::drop_database(&self.database).await;
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
        eventually("the expected figures", || async {
            let sales = self.sales().await;
            let figures = (sales.tickets_sold, sales.revenue_cents, sales.holds_expired);
            (figures == expected).then_some(sales).ok_or(figures)
        })
        .await
    }

    /// Waits until the consumer has acked everything up to stream sequence `last`.
    async fn wait_until_consumed(&self, last: u64) {
        eventually("the consumer to ack every event", || async {
            let stream = self
                .js
                .get_stream(&self.topology.stream)
                .await
                .map_err(|e| e.to_string())?;
            let info = stream
                .consumer_info(consumer::CONSUMER)
                .await
                .map_err(|e| e.to_string())?;
            let done = info.ack_floor.stream_sequence >= last && info.num_ack_pending == 0;
            done.then_some(())
                .ok_or(format!("ack floor {}", info.ack_floor.stream_sequence))
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
            [consumer::CONSUMER.into(), event_id.into()],
        ))
        .one(&self.db)
        .await
        .expect("count processed events")
        .expect("a count")
        .n
    }
}

/// Logs go through the test writer, so they show only for failing tests.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Runs `test` in a world on the shared NATS, then removes the world, whether
/// or not the test passed.
async fn in_world<F, Fut>(test: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    in_world_on(&common::service_url("NATS_URL"), test).await;
}

async fn in_world_on<F, Fut>(nats_url: &str, test: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let world = World::new(nats_url).await;
    let outcome = tokio::spawn(test(world.clone())).await;
    world.clean_up().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
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
    headers.insert("Content-Type", events::CONTENT_TYPE);
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

/// The `Cinema-Event-Type` of an event type.
fn message_name(event_type: &str) -> String {
    let name = match event_type {
        "reservation.created" => "ReservationCreated",
        "reservation.expired" => "ReservationExpired",
        "payment.confirmed" => "PaymentConfirmed",
        other => other,
    };
    format!("cinema.events.v1.{name}")
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

/// Polls `check` until it gives `Ok`, or fails the test at the deadline with
/// the last thing it saw.
async fn eventually<T, E: std::fmt::Debug, Fut>(what: &str, mut check: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("waited {DEADLINE:?} for {what}; last saw {last:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct Terminated {
    stream_seq: u64,
    deliveries: i64,
}

#[tokio::test]
async fn a_poison_event_ends_in_the_dead_letter_stream_and_the_events_behind_it_count() {
    in_world(|world| async move {
        world.create_streams().await;
        let advisories = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{}.{}",
            world.topology.stream,
            consumer::CONSUMER
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
            .publish("payment.confirmed", poison_id, b"\xff\x00garbage".to_vec())
            .await;
        let (paid, expired) = (Uuid::new_v4(), Uuid::new_v4());
        world
            .publish(
                "payment.confirmed",
                paid,
                payment(paid, session, &["A1", "B2"], 5000),
            )
            .await;
        world
            .publish("reservation.expired", expired, expiry(expired, session))
            .await;
        world
            .publish(
                "reservation.created",
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
        let letter = eventually("a dead letter", || async {
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
            Some(world.topology.subject("payment.confirmed"))
        );
        let reason = header(DLQ_REASON_HEADER).expect("a reason");
        assert!(
            reason.starts_with("decoding a PaymentConfirmed"),
            "{reason}"
        );

        // Dead-lettered on its 5th delivery, not before...
        let advisory = tokio::time::timeout(DEADLINE, terminated.next())
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
    })
    .await;
}

#[tokio::test]
async fn an_event_published_twice_counts_once_across_two_instances() {
    in_world(|world| async move {
        world.create_streams().await;
        let instances = [world.start_consumer(), world.start_consumer()];
        let session = world.session.session_id;

        let paid = Uuid::new_v4();
        let payload = payment(paid, session, &["A1", "A2", "A3"], 7500);
        // Different message ids, so JetStream keeps both copies.
        let first = world
            .publish("payment.confirmed", Uuid::new_v4(), payload.clone())
            .await;
        let second = world
            .publish("payment.confirmed", Uuid::new_v4(), payload)
            .await;
        assert_eq!(second, first + 1);
        let expired = Uuid::new_v4();
        let last = world
            .publish("reservation.expired", expired, expiry(expired, session))
            .await;
        world
            .publish(
                "reservation.expired",
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
    })
    .await;
}

#[tokio::test]
async fn the_consumer_waits_for_its_stream_and_rides_out_a_nats_restart() {
    let private = Arc::new(Mutex::new(PrivateNats::start()));
    let url = private.lock().expect("the NATS handle").url();
    let nats = private.clone();
    in_world_on(&url, move |world| async move {
        let worker = world.start_consumer();
        let session = world.session.session_id;
        // The stream appears after the consumer started, as when a worker
        // starts before any server has.
        eventually("the consumer to look for its stream", || async {
            let stream_info = format!("$JS.API.STREAM.INFO.{}", world.topology.stream);
            let mut probe = world
                .nats
                .subscribe(stream_info)
                .await
                .map_err(|e| e.to_string())?;
            tokio::time::timeout(Duration::from_secs(2), probe.next())
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        world.create_streams().await;
        let paid = Uuid::new_v4();
        world
            .publish(
                "payment.confirmed",
                paid,
                payment(paid, session, &["A1"], 2500),
            )
            .await;
        world.wait_for_figures((1, 2500, 0)).await;

        {
            let mut nats = nats.lock().expect("the NATS handle");
            nats.kill();
            nats.start_again();
        }
        // A request sent just as the client notices the restart is lost with
        // the old connection; asking (safely, again) until one is answered
        // makes sure the event below reaches the new server.
        eventually("NATS to answer again", || async {
            let stream = world.js.get_stream(&world.topology.stream);
            let answer = tokio::time::timeout(Duration::from_millis(500), stream).await;
            answer
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
        .await;
        let again = Uuid::new_v4();
        world
            .publish(
                "payment.confirmed",
                again,
                payment(again, session, &["A2"], 2500),
            )
            .await;
        world.wait_for_figures((2, 5000, 0)).await;
        worker.abort();
    })
    .await;
    // The server outlives the clean-up, which deletes its streams.
    drop(private);
}

#[tokio::test]
async fn admins_read_the_figures_that_sales_and_expiries_add_up_to() {
    let app = TestApp::spawn_with(|s| s.hold_duration = Duration::from_secs(1)).await;
    let topology = Topology::new(&app.settings.nats_prefix);
    let users = Users {
        admin: app.admin_token(),
        alice: app.token("alice"),
        bob: app.token("bob"),
    };
    let outcome = tokio::spawn(read_figures(app.channel.clone(), users)).await;
    app.stop().await;
    let nats = events::connect(&common::service_url("NATS_URL")).await;
    let js = jetstream::new(nats.expect("connect to NATS"));
    for stream in [&topology.stream, &topology.dlq_stream] {
        let _ = js.delete_stream(stream).await;
    }
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

struct Users {
    admin: String,
    alice: String,
    bob: String,
}

/// Sells and lets expire through the real server, and reads the figures that
/// its own events consumer keeps.
async fn read_figures(channel: Channel, users: Users) {
    let mut sessions = SessionServiceClient::new(channel.clone());
    let mut booking = BookingServiceClient::new(channel);
    let sold = create_session(&mut sessions, &users.admin, "Filme X").await;
    let quiet = create_session(&mut sessions, &users.admin, "Filme Y").await;
    let ask = |session_id: &str, token: &str| {
        let request = GetSessionSalesRequest {
            session_id: session_id.into(),
        };
        authed(request, token)
    };

    // No event yet: zeros, as of the session's creation.
    let none = sessions
        .get_session_sales(ask(&quiet.session_id, &users.admin))
        .await
        .expect("figures")
        .into_inner();
    assert_eq!(
        (none.tickets_sold, none.revenue_cents, none.holds_expired),
        (0, 0, 0)
    );
    assert_eq!(none.session_id, quiet.session_id);
    assert_eq!(none.currency, "BRL");
    assert_eq!(none.update_time, quiet.create_time);

    let paid = reserve(&mut booking, &users.alice, &sold.session_id, &["A1", "A2"]).await;
    let request = ConfirmPaymentRequest {
        reservation_id: paid,
        payment_reference: "pix-1".into(),
        request_id: String::new(),
    };
    booking
        .confirm_payment(authed(request, &users.alice))
        .await
        .expect("alice pays");
    // Bob's hold ends unpaid after a second.
    reserve(&mut booking, &users.bob, &sold.session_id, &["B1"]).await;

    let figures = eventually("the sale and the expiry to be counted", || {
        let mut sessions = sessions.clone();
        let request = ask(&sold.session_id, &users.admin);
        async move {
            let sales = sessions.get_session_sales(request).await;
            let sales = sales.map_err(|s| s.to_string())?.into_inner();
            let figures = (sales.tickets_sold, sales.revenue_cents, sales.holds_expired);
            (figures == (2, 5000, 1))
                .then_some(sales)
                .ok_or(figures)
                .map_err(|figures| format!("{figures:?}"))
        }
    })
    .await;
    assert_eq!(figures.currency, "BRL");
    let as_pair = |ts: Option<prost_types::Timestamp>| ts.map(|ts| (ts.seconds, ts.nanos));
    assert!(as_pair(figures.update_time) > as_pair(sold.create_time));

    let denied = sessions
        .get_session_sales(ask(&sold.session_id, &users.alice))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    let unknown = sessions
        .get_session_sales(ask(&Uuid::new_v4().to_string(), &users.admin))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    let malformed = sessions
        .get_session_sales(ask("not-a-uuid", &users.admin))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert_eq!(common::violated_fields(&malformed), ["session_id"]);
}

async fn create_session(
    sessions: &mut SessionServiceClient<Channel>,
    admin: &str,
    title: &str,
) -> cinema::proto::v1::Session {
    let starts_at = prost_types::Timestamp {
        seconds: Utc::now().timestamp() + 86_400,
        nanos: 0,
    };
    let request = CreateSessionRequest {
        movie_title: title.into(),
        room: "Sala 1".into(),
        starts_at: Some(starts_at),
        price_cents: 2500,
        currency: "BRL".into(),
        rows: 4,
        seats_per_row: 4,
    };
    sessions
        .create_session(authed(request, admin))
        .await
        .expect("create a session")
        .into_inner()
}

async fn reserve(
    booking: &mut BookingServiceClient<Channel>,
    token: &str,
    session_id: &str,
    seats: &[&str],
) -> String {
    let request = ReserveSeatsRequest {
        session_id: session_id.into(),
        seat_labels: seats.iter().map(ToString::to_string).collect(),
        request_id: String::new(),
    };
    booking
        .reserve_seats(authed(request, token))
        .await
        .expect("reserve seats")
        .into_inner()
        .reservation_id
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
    let url = common::with_database(&common::service_url("DATABASE_URL"), &world.database);
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("NATS_URL", common::service_url("NATS_URL"))
        .env("CINEMA_NATS_PREFIX", &world.prefix)
        .env("CINEMA_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A child process, killed if the test fails while it runs.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    in_world(|world| async move {
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
                "payment.confirmed",
                paid,
                payment(paid, session, &["A1", "B2"], 5000),
            )
            .await;
        world
            .publish("payment.confirmed", Uuid::new_v4(), b"\xff\xff".to_vec())
            .await;
        world
            .publish("popcorn.sold", Uuid::new_v4(), b"\x08\x01".to_vec())
            .await;

        let mut tail = Running(
            cinema(&["events", "tail", "--from-start"], &world)
                .spawn()
                .expect("start tail"),
        );
        let lines = stdout_lines(&mut tail.0);
        let deadline = Instant::now() + DEADLINE;
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
        assert_eq!(words[1], "payment.confirmed");
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
    })
    .await;
}

#[tokio::test]
async fn the_worker_command_counts_events_until_sigterm() {
    in_world(|world| async move {
        world.create_streams().await;
        let mut worker = Running(
            cinema(&["worker"], &world)
                .spawn()
                .expect("start the worker"),
        );
        let session = world.session.session_id;
        let expired = Uuid::new_v4();
        world
            .publish("reservation.expired", expired, expiry(expired, session))
            .await;
        world.wait_for_figures((0, 0, 1)).await;

        interrupt(&worker.0, "-TERM");
        let exit = worker.0.wait().expect("the worker exits");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut worker.0.stderr.take().expect("stderr"), &mut stderr)
            .expect("read stderr");
        assert!(exit.success(), "{exit:?}: {stderr}");
        assert!(stderr.contains("\"stopped\""), "{stderr}");
    })
    .await;
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
