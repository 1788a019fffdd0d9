//! The long-running commands: `serve`, `worker`, and `migrate`.

use anyhow::Context;

use super::shutdown_signal;
use crate::{
    config::{DatabaseSettings, LogSettings, NatsSettings, Settings},
    events::{self, Topology},
    figures::SalesFigures,
    metrics, server, store, telemetry,
};

/// Connections the worker's pool keeps: it handles one event at a time.
const WORKER_POOL_SIZE: u32 = 2;

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(settings.logs.format);
    if let Some(addr) = settings.metrics_addr {
        metrics::serve_on(addr)?;
    }
    let listener = tokio::net::TcpListener::bind(settings.grpc_addr)
        .await
        .with_context(|| format!("listening on {}", settings.grpc_addr))?;
    server::run(settings, listener, shutdown_signal()).await
}

pub async fn migrate(database: &DatabaseSettings, logs: LogSettings) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(logs.format);
    let db = store::connect(&database.url, 1).await?;
    store::migrate(&db, store::MIGRATION_WAIT)
        .await
        .context("applying migrations")?;
    tracing::info!("migrations applied");
    Ok(())
}

/// The events consumer alone, for deployments that keep it out of `serve`.
pub async fn worker(
    database: &DatabaseSettings,
    nats: &NatsSettings,
    logs: LogSettings,
) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(logs.format);
    let topology = Topology::new(&nats.prefix);
    let db = store::connect(&database.url, WORKER_POOL_SIZE).await?;
    let js = jetstream(nats).await?;
    tracing::info!(stream = %topology.stream, "worker started");
    tokio::select! {
        () = events::consumer::run(js, topology, SalesFigures::new(db.clone())) => {}
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    db.close().await.context("closing the PostgreSQL pool")?;
    tracing::info!("stopped");
    Ok(())
}

/// JetStream on `NATS_URL`; connects in the background if NATS is down.
pub async fn jetstream(nats: &NatsSettings) -> anyhow::Result<async_nats::jetstream::Context> {
    let client = events::connect(&nats.url, nats.ca.as_deref())
        .await
        .with_context(|| format!("connecting to NATS at {}", nats.url))?;
    Ok(async_nats::jetstream::new(client))
}
