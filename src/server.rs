//! `cinema serve`: one tonic server with health, reflection, the JWT
//! interceptor on every cinema service, a span and a log line per RPC, and
//! graceful shutdown.

use std::{future::Future, sync::Arc, task::Poll, time::Duration};

use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{codegen::http, service::interceptor::InterceptedService, transport::Server};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    api::{BookingApi, SessionApi},
    auth::Authenticator,
    booking::{self, Booking},
    config::Settings,
    events::{self, Topology, outbox::Signal, relay::Relay},
    live::Hub,
    locks::SeatLocks,
    paging::PageTokens,
    proto::{
        self,
        v1::{
            booking_service_server::BookingServiceServer,
            session_service_server::SessionServiceServer,
        },
    },
    store,
};

/// How often health asks PostgreSQL whether it answers.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How long start-up waits for PostgreSQL to apply migrations.
const DATABASE_WAIT: Duration = Duration::from_secs(60);
/// How long in-flight calls may run on after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings keep idle watch streams alive through proxies and find dead peers.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long start-up waits for Redis before serving without the gate.
const REDIS_START_WAIT: Duration = Duration::from_secs(2);
/// Connections in the PostgreSQL pool.
const DATABASE_POOL_SIZE: u32 = 16;

/// Serves on `listener` until `shutdown` completes, then drains in-flight calls.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let hub = Hub::new(settings.max_watchers);
    run_with_hub(settings, listener, shutdown, hub).await
}

/// [`run`] with a live seat map hub the caller can observe.
pub async fn run_with_hub(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    hub: Arc<Hub>,
) -> anyhow::Result<()> {
    let db = store::connect(&settings.database_url, DATABASE_POOL_SIZE)
        .await
        .context("opening the PostgreSQL pool")?;
    if settings.auto_migrate {
        migrate_when_ready(&db).await?;
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::NotServing).await;
    let mut background = Background::default();
    background.spawn(probe_database(db.clone(), health.clone()));

    let js = async_nats::jetstream::new(
        events::connect(&settings.nats_url)
            .await
            .context("configuring NATS")?,
    );
    let topology = Topology::new(&settings.nats_prefix);
    let signal = Signal::default();
    background.spawn(
        Relay {
            db: db.clone(),
            js: js.clone(),
            topology: topology.clone(),
            limits: settings.stream_limits,
            retention: settings.outbox_retention,
            signal: signal.clone(),
        }
        .run(),
    );
    if settings.run_worker {
        background.spawn(events::consumer::run(
            db.clone(),
            js.clone(),
            topology.clone(),
        ));
    }
    background.spawn(
        hub.clone()
            .run(settings.nats_url.clone(), topology.subject("seats.changed")),
    );
    let (expiry, sweeper) = booking::expiry::sweeper(db.clone(), signal.clone());
    background.spawn(sweeper);

    let locks = Arc::new(
        SeatLocks::connect(&settings.redis_url, &settings.redis_prefix)
            .context("configuring Redis")?,
    );
    if !locks.wait_connected(REDIS_START_WAIT).await {
        tracing::warn!(wait = ?REDIS_START_WAIT, "Redis is not answering yet: booking starts on PostgreSQL alone");
    }
    let booking = Arc::new(Booking::new(
        db.clone(),
        locks.clone(),
        settings.hold_duration,
        settings.max_seats_per_reservation,
        expiry,
        signal,
    ));
    let auth = Authenticator::new(&settings.jwt_secret);
    let page_tokens = PageTokens::new(&settings.jwt_secret);
    let (reflection_v1, reflection_v1alpha) = reflection()?;

    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    tracing::info!(%addr, "serving gRPC");
    let (draining, drain_started) = tokio::sync::oneshot::channel();
    let drain = {
        let health = health.clone();
        let hub = hub.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: refusing new calls, finishing in-flight ones");
            background.stop();
            // Load balancers stop routing here before the listener closes.
            set_health(&health, ServingStatus::NotServing).await;
            // Watch streams end with UNAVAILABLE so their clients reconnect elsewhere.
            hub.close();
            let _ = draining.send(());
        }
    };
    let serve = Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .tcp_keepalive(Some(KEEPALIVE_INTERVAL))
        .trace_fn(|request| tracing::info_span!("rpc", method = %request.uri().path(), user = tracing::field::Empty))
        .layer(tower::layer::layer_fn(RpcLog))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(InterceptedService::new(
            SessionServiceServer::new(SessionApi::new(db.clone(), page_tokens.clone(), hub)),
            auth.clone(),
        ))
        .add_service(InterceptedService::new(
            BookingServiceServer::new(BookingApi::new(booking, page_tokens)),
            auth,
        ))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), drain);
    // A client that never closes its connection must not hold shutdown forever.
    let drain_deadline = async {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(DRAIN_TIMEOUT).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serve => served.context("serving gRPC")?,
        () = drain_deadline => tracing::warn!(timeout = ?DRAIN_TIMEOUT, "drain timed out; closing the remaining connections"),
    }
    locks.close().await;
    db.close().await.context("closing the PostgreSQL pool")?;
    tracing::info!("stopped");
    Ok(())
}

/// The tasks that run beside the RPCs (health probe, relay, consumer, live
/// seat maps, sweeper), stopped together when draining begins. Stopping any
/// of them mid-way is safe: each step they take is one transaction.
#[derive(Default)]
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.push(tokio::spawn(task));
    }

    fn stop(self) {
        for task in self.0 {
            task.abort();
        }
    }
}

/// Reflection v1 and v1alpha (grpcurl 1.8 speaks only v1alpha), knowing our
/// services, health, and the google.rpc error details grpcurl should decode.
fn reflection() -> anyhow::Result<(
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
)> {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    Ok((
        builder().build_v1().context("building reflection v1")?,
        builder()
            .build_v1alpha()
            .context("building reflection v1alpha")?,
    ))
}

/// Applies migrations, waiting for PostgreSQL to come up for a while first.
async fn migrate_when_ready(db: &DatabaseConnection) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + DATABASE_WAIT;
    loop {
        match migration::migrate(db).await {
            Ok(()) => return Ok(()),
            Err(err)
                if store::is_connection_error(&err) && tokio::time::Instant::now() < deadline =>
            {
                tracing::warn!(error = %err, "PostgreSQL is not answering yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err).context("applying migrations"),
        }
    }
}

/// Keeps health in step with PostgreSQL: SERVING while it answers.
async fn probe_database(db: DatabaseConnection, health: HealthReporter) {
    let mut current = None;
    let mut ticks = tokio::time::interval(HEALTH_PROBE_INTERVAL);
    loop {
        ticks.tick().await;
        let status = match db.execute_unprepared("SELECT 1").await {
            Ok(_) => ServingStatus::Serving,
            Err(_) => ServingStatus::NotServing,
        };
        if current != Some(status) {
            match status {
                ServingStatus::Serving => tracing::info!("PostgreSQL answers: SERVING"),
                _ => tracing::warn!("PostgreSQL does not answer: NOT_SERVING"),
            }
            set_health(&health, status).await;
            current = Some(status);
        }
    }
}

async fn set_health(health: &HealthReporter, status: ServingStatus) {
    for service in ["", "cinema.v1.SessionService", "cinema.v1.BookingService"] {
        health.set_service_status(service, status).await;
    }
}

/// Logs one line per RPC, inside its span: the gRPC code and how long it took.
#[derive(Clone)]
struct RpcLog<S>(S);

impl<S, B, R> tower::Service<http::Request<B>> for RpcLog<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = std::time::Instant::now();
        let response = self.0.call(request);
        Box::pin(async move {
            let response = response.await;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            if let Ok(response) = &response {
                // Errors travel in the headers of a trailers-only response;
                // a success's status comes later, in the trailers.
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from);
                tracing::info!(code = ?code, elapsed_ms, "rpc finished");
            }
            response
        })
    }
}
