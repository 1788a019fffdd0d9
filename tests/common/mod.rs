//! The black-box test harness: a real server on an ephemeral port, with its own
//! fresh database, Redis key prefix and NATS prefix, reached through the
//! generated client. Tests run in parallel; each one is alone in its world.

#![allow(dead_code)]

pub mod crowd;
pub mod invariants;
pub mod nats;
pub mod postgres;
pub mod process;
pub mod redis;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use cinema::{
    auth::Authenticator,
    config::{LogFormat, Secret, Settings},
    live::Hub,
    proto::v1::{
        booking_service_client::BookingServiceClient, session_service_client::SessionServiceClient,
    },
};
use sea_orm::{ConnectionTrait, Database};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Request, transport::Channel};
use uuid::Uuid;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub settings: Settings,
    pub database: String,
    /// The server's live seat map hub, to see how many watchers it serves.
    pub hub: Arc<Hub>,
    auth: Authenticator,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The URL of a shared service, set by `scripts/test`.
pub fn service_url(var: &str) -> String {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run the tests with scripts/test"))
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("://") && !s.ends_with('/'))
        .unwrap_or((base, ""));
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Creates an empty database of its own for one test.
pub async fn fresh_database() -> String {
    let name = format!("cinema_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(with_database(&service_url("DATABASE_URL"), "postgres"))
        .await
        .expect("connect to PostgreSQL as admin");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    admin.close().await.expect("close the admin connection");
    name
}

pub async fn drop_database(name: &str) {
    if let Ok(admin) =
        Database::connect(with_database(&service_url("DATABASE_URL"), "postgres")).await
    {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
    }
}

/// Deletes the JetStream streams a test server created (best effort).
pub async fn delete_streams(settings: &Settings) {
    let Ok(client) = async_nats::connect(&settings.nats_url).await else {
        return;
    };
    let js = async_nats::jetstream::new(client);
    let topology = cinema::events::Topology::new(&settings.nats_prefix);
    let _ = js.delete_stream(&topology.stream).await;
    let _ = js.delete_stream(&topology.dlq_stream).await;
}

/// Settings for a server with its own database and prefixes.
pub fn test_settings(database: &str) -> Settings {
    let prefix = format!("t{}", &Uuid::new_v4().simple().to_string()[..12]);
    Settings {
        database_url: with_database(&service_url("DATABASE_URL"), database),
        redis_url: service_url("REDIS_URL"),
        nats_url: service_url("NATS_URL"),
        grpc_addr: "127.0.0.1:0".parse().expect("an address"),
        metrics_addr: None,
        jwt_secret: Secret::new(SECRET),
        hold_duration: Duration::from_secs(30),
        max_seats_per_reservation: 10,
        auto_migrate: true,
        redis_prefix: prefix.clone(),
        nats_prefix: prefix,
        log_format: LogFormat::Pretty,
        stream_limits: cinema::config::StreamLimits {
            max_age: Duration::from_secs(3600),
            max_bytes: 64 << 20,
            duplicate_window: Duration::from_secs(120),
        },
        outbox_retention: Duration::from_secs(3600),
        run_worker: true,
        max_watchers: 10_000,
        database_pool_size: 16,
        // Tests call far faster than any person; tests/operations.rs turns it on.
        rate_limits: None,
        server_limits: cinema::config::ServerLimits::default(),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose settings `adjust` may change first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        init_test_logs();
        let database = fresh_database().await;
        let mut settings = test_settings(&database);
        adjust(&mut settings);
        let listener = TcpListener::bind(settings.grpc_addr)
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("the bound address");
        let (shutdown, signal) = oneshot::channel();
        let hub = Hub::new(settings.max_watchers);
        let task = tokio::spawn(cinema::server::run_with_hub(
            settings.clone(),
            listener,
            async {
                let _ = signal.await;
            },
            hub.clone(),
        ));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("a valid URI")
            .connect()
            .await
            .expect("connect to the test server");
        let app = Self {
            addr,
            channel,
            auth: Authenticator::new(&settings.jwt_secret),
            settings,
            database,
            hub,
            shutdown: Some(shutdown),
            task: Some(task),
        };
        app.wait_until_serving().await;
        app
    }

    /// Waits (generously) for health to report SERVING.
    pub async fn wait_until_serving(&self) {
        assert!(
            serving_within(&self.channel, Duration::from_secs(5)).await,
            "the test server never reported SERVING"
        );
    }

    pub fn token(&self, user: &str) -> String {
        self.auth
            .mint(user, false, Duration::from_secs(600))
            .expect("mint a token")
    }

    pub fn admin_token(&self) -> String {
        self.auth
            .mint("admin", true, Duration::from_secs(600))
            .expect("mint a token")
    }

    pub fn sessions(&self) -> SessionServiceClient<Channel> {
        SessionServiceClient::new(self.channel.clone())
    }

    pub fn booking(&self) -> BookingServiceClient<Channel> {
        BookingServiceClient::new(self.channel.clone())
    }

    /// Stops the server, waits for it to finish, and drops its database.
    pub async fn stop(self) {
        let (settings, database) = self.stop_keeping_data().await;
        drop_database(&database).await;
        delete_streams(&settings).await;
    }

    /// Stops the server and waits for it to finish, leaving its database and
    /// streams for the test to look at (and drop).
    pub async fn stop_keeping_data(mut self) -> (Settings, String) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("the server task panicked")
                .expect("the server failed");
        }
        (self.settings.clone(), self.database.clone())
    }
}

/// Server logs go through the test writer, so they show only for failing tests.
fn init_test_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A time `hours` from now, whole seconds.
pub fn in_hours(hours: i64) -> Option<prost_types::Timestamp> {
    let at = chrono::Utc::now() + chrono::Duration::hours(hours);
    Some(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

/// Publishes "Filme X" tomorrow, R$ 25,00 a seat, in a room of this size.
pub async fn create_session(
    app: &TestApp,
    rows: u32,
    seats_per_row: u32,
) -> cinema::proto::v1::Session {
    let request = cinema::proto::v1::CreateSessionRequest {
        movie_title: "Filme X".into(),
        room: "Sala 1".into(),
        starts_at: in_hours(24),
        price_cents: 2500,
        currency: "BRL".into(),
        rows,
        seats_per_row,
    };
    app.sessions()
        .create_session(authed(request, &app.admin_token()))
        .await
        .expect("create a session")
        .into_inner()
}

/// Whether the server behind `channel` reports SERVING within `limit`.
pub async fn serving_within(channel: &Channel, limit: Duration) -> bool {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let mut health = HealthClient::new(channel.clone());
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let response = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await;
        if response.is_ok_and(|r| r.get_ref().status == ServingStatus::Serving as i32) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A ReserveSeats request for `seats`, without a request id.
pub fn reserve_request(
    session_id: &str,
    seats: &[&str],
    token: &str,
) -> Request<cinema::proto::v1::ReserveSeatsRequest> {
    authed(
        cinema::proto::v1::ReserveSeatsRequest {
            session_id: session_id.into(),
            seat_labels: seats.iter().map(|s| (*s).to_owned()).collect(),
            request_id: String::new(),
        },
        token,
    )
}

/// Asks `channel` to hold `seats` for the holder of `token`.
pub async fn try_reserve_on(
    channel: &Channel,
    token: &str,
    session_id: &str,
    seats: &[&str],
) -> Result<cinema::proto::v1::Reservation, tonic::Status> {
    BookingServiceClient::new(channel.clone())
        .reserve_seats(reserve_request(session_id, seats, token))
        .await
        .map(tonic::Response::into_inner)
}

/// Holds `seats` for `user` through `channel`; panics if refused.
pub async fn reserve_on(
    channel: &Channel,
    app: &TestApp,
    user: &str,
    session_id: &str,
    seats: &[&str],
) -> String {
    try_reserve_on(channel, &app.token(user), session_id, seats)
        .await
        .unwrap_or_else(|e| panic!("{user} reserving {seats:?}: {e}"))
        .reservation_id
}

/// Opens a WatchSeatMap stream on `channel` for the holder of `token`.
pub async fn watch_on(
    channel: &Channel,
    token: &str,
    session_id: &str,
) -> tonic::Streaming<cinema::proto::v1::SeatMapEvent> {
    SessionServiceClient::new(channel.clone())
        .watch_seat_map(authed(
            cinema::proto::v1::WatchSeatMapRequest {
                session_id: session_id.into(),
            },
            token,
        ))
        .await
        .expect("watch")
        .into_inner()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("the bound address")
        .port()
}

/// (status, version) of one seat of `map`.
pub fn seat(map: &cinema::proto::v1::SeatMap, label: &str) -> (cinema::proto::v1::SeatStatus, i64) {
    let seat = map
        .seats
        .iter()
        .find(|s| s.label == label)
        .unwrap_or_else(|| panic!("no seat {label} in the map"));
    (seat.status(), seat.version)
}

/// The (type, subject) of each PreconditionFailure violation, sorted: the
/// contract does not order them.
pub fn precondition_violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    let mut violations: Vec<(String, String)> = status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .map(|v| (v.r#type, v.subject))
                .collect()
        })
        .unwrap_or_default();
    violations.sort();
    violations
}

/// A wire timestamp as a chrono time.
pub fn to_chrono(at: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    let at = at.expect("a timestamp");
    chrono::DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).expect("valid nanos"))
        .expect("a representable timestamp")
}

/// `message` sent with `token` in its authorization metadata.
pub fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("an ASCII header"),
    );
    request
}

/// The fields named by a status's BadRequest details, in order.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
