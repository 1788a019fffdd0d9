//! The black-box test harness: a real server on an ephemeral port, with its own
//! fresh database, Redis key prefix and NATS prefix, reached through the
//! generated client. Tests run in parallel; each one is alone in its world,
//! and its world is removed when its [`TestApp`] is dropped.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use cinema::live::Hub;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

use super::{
    Authenticator, Client, Settings, fresh_prefix,
    pb::{
        SeatMap, Session, booking_service_client::BookingServiceClient,
        session_service_client::SessionServiceClient,
    },
    resources::{RedisKeys, Streams, TestDatabase},
    session_request,
    wait::poll,
};

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

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

/// Settings for a server on these services, under `prefix` in Redis and NATS:
/// the defaults of `cinema serve`, read as it reads them, but for what a test
/// needs otherwise.
pub fn test_settings(
    database_url: &str,
    redis_url: &str,
    nats_url: &str,
    prefix: &str,
) -> Settings {
    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        settings: Settings,
    }
    let args = [
        "cinema",
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
        "--nats-url",
        nats_url,
        "--jwt-secret",
        SECRET,
        "--grpc-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "off",
        "--redis-prefix",
        prefix,
        "--nats-prefix",
        prefix,
        "--events-max-age",
        "1h",
        "--events-max-bytes",
        "67108864",
        "--outbox-retention",
        "1h",
        // Tests call far faster than any person; operations.rs turns it on.
        "--rate-limit",
        "off",
    ];
    <Serve as clap::Parser>::try_parse_from(args)
        .expect("valid test settings")
        .settings
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub settings: Settings,
    /// The server's live seat map hub, to see how many watchers it serves.
    pub hub: Arc<Hub>,
    auth: Authenticator,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Taken by [`TestApp::stop_keeping_data`]; otherwise dropped with the app.
    resources: Option<Resources>,
}

/// What a test server leaves on the shared services: its database, its
/// Redis keys and its JetStream streams. Each part is removed when dropped.
pub struct Resources {
    pub database: TestDatabase,
    pub redis_keys: RedisKeys,
    pub streams: Streams,
}

impl Resources {
    /// Removes everything now (dropping does the same, on a thread of its own).
    pub async fn remove(self) {
        self.streams.remove().await;
        self.redis_keys.remove().await;
        self.database.remove().await;
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose settings `adjust` may change first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        init_test_logs();
        let database = TestDatabase::create().await;
        let mut settings = test_settings(
            database.url(),
            &service_url("REDIS_URL"),
            &service_url("NATS_URL"),
            &fresh_prefix(),
        );
        adjust(&mut settings);
        // Owned from here on: whatever happens next, they are removed.
        let resources = Resources {
            database,
            redis_keys: RedisKeys::new(&settings.redis_url, &settings.redis_prefix),
            streams: Streams::new(&settings.nats.url, &settings.nats.prefix),
        };
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
            auth: Authenticator::new(&settings.jwt.secret),
            settings,
            hub,
            shutdown: Some(shutdown),
            task: Some(task),
            resources: Some(resources),
        };
        if let Err(last) = serving_within(&app.channel, Duration::from_secs(10)).await {
            panic!("the test server never reported SERVING: {last}");
        }
        app
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

    /// `user`, calling this server.
    pub fn user(&self, user: &str) -> Client {
        Client::new(&self.channel, self.token(user))
    }

    /// `user` with the staff role (an usher), calling this server.
    pub fn staff(&self, user: &str) -> Client {
        let token = self
            .auth
            .mint_with_roles(user, &["staff"], Duration::from_secs(600))
            .expect("mint a token");
        Client::new(&self.channel, token)
    }

    /// An admin, calling this server.
    pub fn admin(&self) -> Client {
        Client::new(&self.channel, self.admin_token())
    }

    /// Publishes "Filme X" tomorrow, R$ 25,00 a seat, in a room of this size.
    pub async fn create_session(&self, rows: u32, seats_per_row: u32) -> Session {
        self.admin()
            .create_session(session_request("Filme X", 24, rows, seats_per_row))
            .await
            .expect("create a session")
    }

    /// Publishes "Filme X" starting `from_now`, two rows of eight, gaps
    /// allowed; its id.
    pub async fn session_starting_in(&self, from_now: chrono::Duration) -> String {
        let mut request = session_request("Filme X", 0, 2, 8);
        let starts = chrono::Utc::now() + from_now;
        request.starts_at = Some(prost_types::Timestamp {
            seconds: starts.timestamp(),
            nanos: 0,
        });
        self.admin()
            .create_session(request)
            .await
            .expect("create a session")
            .session_id
    }

    /// The seat map of a session, as any user reads it.
    pub async fn seat_map(&self, session_id: &str) -> SeatMap {
        self.user("reader")
            .seat_map(session_id)
            .await
            .expect("seat map")
    }

    pub fn sessions(&self) -> SessionServiceClient<Channel> {
        SessionServiceClient::new(self.channel.clone())
    }

    pub fn booking(&self) -> BookingServiceClient<Channel> {
        BookingServiceClient::new(self.channel.clone())
    }

    /// Stops the server, waits for it to finish, and removes its database,
    /// Redis keys and streams.
    pub async fn stop(self) {
        self.stop_keeping_data().await.remove().await;
    }

    /// Stops the server and waits for it to finish, handing over its
    /// database, keys and streams for the test to look at (they are removed
    /// when the returned value is dropped).
    pub async fn stop_keeping_data(mut self) -> Resources {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("the server task panicked")
                .expect("the server failed");
        }
        self.resources
            .take()
            .expect("the resources of a running server")
    }
}

impl Drop for TestApp {
    /// A test that panicked (or never stopped its server): the server is told
    /// to stop and its task aborted, then the fields' own guards remove the
    /// database, keys and streams.
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Server logs go through the test writer, so they show only for failing tests.
pub fn init_test_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Waits until the server behind `channel` reports SERVING; the last answer
/// if it does not within `limit`.
pub async fn serving_within(channel: &Channel, limit: Duration) -> Result<(), String> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let health = HealthClient::new(channel.clone());
    poll(limit, Duration::from_millis(50), || {
        let mut health = health.clone();
        async move {
            let response = health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map_err(|status| status.to_string())?;
            let status = response.get_ref().status;
            (status == ServingStatus::Serving as i32)
                .then_some(())
                .ok_or_else(|| format!("health status {status}"))
        }
    })
    .await
}
