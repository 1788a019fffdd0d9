//! Wiring for `cinema serve`: builds the pool, the Redis gate, the event
//! relay, consumer and live hub, the booking rules and the gRPC services,
//! serves them behind one layer stack (CORS, gRPC-Web, telemetry, auth,
//! rate limits, deadline) with health, reflection and the web app, in
//! plaintext or over TLS ([`tls`]), and shuts down in order.

mod tls;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::{
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tonic_web::GrpcWebLayer;

use crate::{
    auth::{self, Authenticator, Policy},
    booking::{self, Booking},
    config::Settings,
    events::{self, EventType, Signal, Topology, relay::Relay},
    figures::SalesFigures,
    gate::{self, RateLimiter, SeatGate},
    grpc::{
        BookingApi, MovieApi, SessionApi, TicketApi, VenueApi,
        layers::{
            auth::{AuthLayer, RequireCallerLayer},
            deadline::DeadlineLayer,
            rate_limit::{Budgets, RateLimitLayer},
            telemetry::{self, RpcTelemetryLayer},
        },
        paging::PageTokens,
        web::{self, AppLayer},
    },
    live::Hub,
    metrics,
    proto::{
        self,
        v1::{
            booking_service_server::BookingServiceServer, movie_service_server::MovieServiceServer,
            session_service_server::SessionServiceServer,
            ticket_service_server::TicketServiceServer, venue_service_server::VenueServiceServer,
        },
    },
    store::{self, Db},
    tickets::{self, Door},
};
use tls::Tls;

/// How often health asks PostgreSQL whether it answers.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How often the gauges (outbox backlog, watchers, pool) are refreshed.
const GAUGE_INTERVAL: Duration = Duration::from_secs(5);
/// How long background tasks get to finish their step once calls have drained.
const BACKGROUND_STOP_TIMEOUT: Duration = Duration::from_secs(5);

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
///
/// Shutdown, in order: health turns NOT_SERVING and watch streams end with
/// UNAVAILABLE (their clients reconnect elsewhere); the listener closes and
/// connections get GOAWAY, so new calls go elsewhere; in-flight calls finish,
/// for at most the drain timeout; the relay publishes what they committed;
/// then Redis and PostgreSQL connections close.
pub async fn run_with_hub(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    hub: Arc<Hub>,
) -> anyhow::Result<()> {
    let tls = Tls::from_settings(&settings.tls).context("loading the TLS certificate")?;
    let db = store::connect(&settings.database.url, settings.database_pool_size)
        .await
        .context("opening the PostgreSQL pool")?;
    if settings.auto_migrate {
        store::migrate(&db, store::MIGRATION_WAIT)
            .await
            .context("applying migrations")?;
    }

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::NotServing).await;
    let mut background = Background::default();
    if let Some(tls) = &tls {
        background.spawn(
            tls.clone()
                .reloader(settings.tls.reload_interval)
                .context("watching the TLS files")?,
        );
    }
    background.spawn(probe_database(db.clone(), health.clone()));
    background.spawn(refresh_gauges(db.clone(), hub.clone()));

    let js = async_nats::jetstream::new(
        events::connect(&settings.nats.url, settings.nats.ca.as_deref())
            .await
            .context("configuring NATS")?,
    );
    let topology = Topology::new(&settings.nats.prefix);
    let signal = Signal::default();
    let relay = Relay {
        db: db.clone(),
        js: js.clone(),
        topology: topology.clone(),
        limits: settings.stream_limits,
        retention: settings.outbox_retention,
        signal: signal.clone(),
    };
    background.spawn_graceful(|stopping| relay.run(stopping));
    if settings.run_worker {
        background.spawn(events::consumer::run(
            js.clone(),
            topology.clone(),
            SalesFigures::new(db.clone()),
        ));
    }
    background.spawn(hub.clone().run(
        events::options(settings.nats.ca.as_deref()).context("configuring NATS")?,
        settings.nats.url.clone(),
        topology.subject(EventType::SeatsChanged),
    ));
    let (expiry, sweeper) = booking::expiry::sweeper(db.clone(), signal.clone());
    background.spawn(sweeper);

    let redis = gate::connect(&settings.redis_url, settings.redis_ca.as_deref())
        .await
        .context("configuring Redis")?;
    let seat_gate = Arc::new(SeatGate::new(redis.clone(), &settings.redis_prefix));
    let ticket_signer = tickets::signer(&settings.tickets, settings.jwt.secret.expose());
    let booking = Arc::new(Booking::new(
        db.clone(),
        seat_gate,
        booking::Limits {
            hold: settings.hold_duration,
            max_seats: settings.max_seats_per_reservation,
            max_extensions: settings.max_hold_extensions,
            refund_cutoff: settings.tickets.refund_cutoff,
        },
        expiry,
        signal.clone(),
        ticket_signer.clone(),
    ));
    let door = Arc::new(Door::new(
        db.clone(),
        ticket_signer.verifier(),
        settings.tickets.admission_opens,
        signal.clone(),
    ));
    let jwks = auth::key_store(&settings.identity);
    if let Some(store) = &jwks {
        // Never blocks the start: until keys arrive, JWKS tokens are refused.
        background.spawn(store.clone().run());
    }
    let auth = Authenticator::with_policy(
        &settings.jwt.secret,
        Policy::from_settings(&settings.identity),
        jwks,
    );
    let budgets = settings.rate_limits.enabled.then(|| Budgets {
        limiter: Arc::new(RateLimiter::new(redis.clone(), &settings.redis_prefix)),
        limits: settings.rate_limits,
    });
    let page_tokens = PageTokens::new(&settings.jwt.secret);
    let (reflection_v1, reflection_v1alpha) = reflection()?;
    let limits = settings.server_limits;

    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let (tls_only, client_certificates) =
        tls.as_ref().map_or((false, false), |t| (true, t.mutual()));
    tracing::info!(%addr, tls_only, client_certificates, "serving gRPC");
    let (draining, drain_started) = tokio::sync::oneshot::channel();
    let drain = {
        let health = health.clone();
        let hub = hub.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: refusing new calls, finishing in-flight ones");
            // Load balancers stop routing here before the listener closes.
            set_health(&health, ServingStatus::NotServing).await;
            hub.close();
            let _ = draining.send(());
        }
    };
    let sessions = SessionServiceServer::new(SessionApi::new(
        db.clone(),
        page_tokens.clone(),
        hub,
        signal.clone(),
        booking.clone(),
        settings.schedule.turnaround,
    ))
    .max_decoding_message_size(limits.max_message_bytes);
    let movies = MovieServiceServer::new(MovieApi::new(db.clone(), page_tokens.clone()))
        .max_decoding_message_size(limits.max_message_bytes);
    let venues = VenueServiceServer::new(VenueApi::new(db.clone(), page_tokens.clone()))
        .max_decoding_message_size(limits.max_message_bytes);
    let tickets = TicketServiceServer::new(TicketApi::new(door))
        .max_decoding_message_size(limits.max_message_bytes);
    let bookings = BookingServiceServer::new(BookingApi::new(booking, page_tokens))
        .max_decoding_message_size(limits.max_message_bytes);
    let routes = Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(sessions)
        .add_service(bookings)
        .add_service(venues)
        .add_service(movies)
        .add_service(tickets)
        .add_service(
            crate::grpc::AuditApi::new(db.clone(), PageTokens::new(&settings.jwt.secret))
                .server(limits.max_message_bytes),
        );
    let router = Server::builder()
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .http2_max_pending_accept_reset_streams(Some(limits.max_pending_resets))
        .concurrency_limit_per_connection(limits.max_calls_per_connection)
        .trace_fn(telemetry::rpc_span)
        // Browsers speak HTTP/1.1 and gRPC-Web; native clients, HTTP/2 gRPC.
        .accept_http1(true)
        .layer(web::cors(&settings.web))
        .layer(AppLayer::new(&settings.web))
        .layer(GrpcWebLayer::new())
        .layer(RpcTelemetryLayer)
        .layer(AuthLayer(auth))
        .layer(RateLimitLayer(budgets))
        .layer(RequireCallerLayer)
        .layer(DeadlineLayer(limits.rpc_timeout))
        .add_routes(routes);
    // The builder's TCP options apply only to the listeners it binds itself.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(limits.keepalive_interval));
    let serve = async move {
        match tls {
            Some(tls) => {
                router
                    .serve_with_incoming_shutdown(tls.incoming(incoming), drain)
                    .await
            }
            None => router.serve_with_incoming_shutdown(incoming, drain).await,
        }
    };
    // A client that never closes its connection must not hold shutdown forever.
    let drain_deadline = async {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(limits.drain_timeout).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serve => served.context("serving gRPC")?,
        () = drain_deadline => tracing::warn!(timeout = ?limits.drain_timeout, "drain timed out; closing the remaining connections"),
    }
    background.stop(BACKGROUND_STOP_TIMEOUT).await;
    gate::close(&redis).await;
    db.close().await.context("closing the PostgreSQL pool")?;
    tracing::info!("stopped");
    Ok(())
}

/// The tasks that run beside the RPCs (health probe, gauges, relay, consumer,
/// live seat maps, sweeper). Most are simply aborted at shutdown: each step
/// they take is one transaction, so stopping mid-way is safe. Graceful ones
/// are told to stop and given a moment to finish what they were doing.
#[derive(Default)]
struct Background {
    aborted: Vec<JoinHandle<()>>,
    graceful: Vec<JoinHandle<()>>,
    stopping: Option<watch::Sender<bool>>,
}

impl Background {
    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.aborted.push(tokio::spawn(task));
    }

    fn spawn_graceful<F>(&mut self, task: impl FnOnce(watch::Receiver<bool>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stopping = self
            .stopping
            .get_or_insert_with(|| watch::channel(false).0)
            .subscribe();
        self.graceful.push(tokio::spawn(task(stopping)));
    }

    async fn stop(self, timeout: Duration) {
        for task in self.aborted {
            task.abort();
        }
        if let Some(stopping) = &self.stopping {
            stopping.send_replace(true);
        }
        for mut task in self.graceful {
            if tokio::time::timeout(timeout, &mut task).await.is_err() {
                tracing::warn!(
                    ?timeout,
                    "a background task did not stop in time; aborting it"
                );
                task.abort();
            }
        }
    }
}

/// Keeps the gauges that nothing else updates in step: outbox backlog and
/// age, watchers, database pool. Failures only leave the last values.
async fn refresh_gauges(db: Db, hub: Arc<Hub>) {
    let mut ticks = tokio::time::interval(GAUGE_INTERVAL);
    loop {
        ticks.tick().await;
        metrics::watchers(hub.watchers());
        let (in_use, open) = store::pool_usage(&db);
        metrics::database_pool(in_use, open);
        match store::outbox::backlog(&db).await {
            Ok((events, oldest_age)) => metrics::outbox(events, oldest_age),
            Err(err) => tracing::debug!(error = %err, "reading the outbox backlog failed"),
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

/// Keeps health in step with PostgreSQL: SERVING while it answers.
async fn probe_database(db: Db, health: HealthReporter) {
    let mut current = None;
    let mut ticks = tokio::time::interval(HEALTH_PROBE_INTERVAL);
    loop {
        ticks.tick().await;
        let status = if store::ping(&db).await {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
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
    for service in [
        "",
        "cinema.v1.SessionService",
        "cinema.v1.BookingService",
        "cinema.v1.VenueService",
        "cinema.v1.MovieService",
        "cinema.v1.TicketService",
        "cinema.v1.AuditService",
    ] {
        health.set_service_status(service, status).await;
    }
}
