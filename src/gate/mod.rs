//! Redis, the fast gate in front of PostgreSQL: seat locks and hold markers
//! ([`seats`]) and per-caller call budgets ([`rate`]), each one Lua script
//! per decision (the `.lua` files beside this one), over one connection.
//!
//! Redis only ever speeds things up or protects the service; PostgreSQL holds
//! the truth. So every Redis call is short (a slow answer counts as no
//! answer), a down Redis is reconnected in the background, and whoever uses
//! it goes on without it, logging one warning per outage, not per call.

pub mod rate;
pub mod seats;

pub use rate::RateLimiter;
pub use seats::{Gate, SeatGate};

use std::{
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use fred::{
    error::ErrorKind,
    prelude::{Client, ClientLike, Config, EventInterface, ReconnectPolicy},
    types::{Builder, config::TlsConfig},
};

use crate::{metrics, tls};

/// A Redis call slower than this counts as Redis being down.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// How long start-up waits for Redis before going on without it, so that
/// the seat gate and rate limits are up from the first request.
const FIRST_CONNECTION_WAIT: Duration = Duration::from_secs(2);
/// How often a lost connection is retried.
const RECONNECT_DELAY_MS: u32 = 500;

/// A client that keeps connecting in the background: a Redis that is down at
/// start only means its users begin without it. Start-up waits a moment for
/// the first connection, so the first calls do not go without it needlessly,
/// and says why if it fails (a certificate refused reads differently from a
/// Redis that is down). `rediss://` turns TLS on; a CA file (`ca`) is then
/// the only root trusted, and turns TLS on by itself.
pub async fn connect(url: &str, ca: Option<&Path>) -> Result<Client, fred::error::Error> {
    let mut config = Config::from_url(url)?;
    config.fail_fast = false;
    if let Some(ca) = ca {
        let trusted = tls::trusting(ca)
            .map_err(|e| fred::error::Error::new(ErrorKind::Tls, e.to_string()))?;
        config.tls = Some(TlsConfig::from(trusted));
    }
    let client = Builder::from_config(config)
        .with_performance_config(|perf| perf.default_command_timeout = COMMAND_TIMEOUT)
        .with_connection_config(|conn| {
            conn.connection_timeout = COMMAND_TIMEOUT * 2;
            conn.internal_command_timeout = COMMAND_TIMEOUT * 2;
            conn.max_command_attempts = 1;
        })
        .set_policy(ReconnectPolicy::new_constant(0, RECONNECT_DELAY_MS))
        .build()?;
    // Failed attempts are told as errors, not as connection results.
    let mut errors = client.error_rx();
    client.connect();
    let first_attempt = async {
        tokio::select! {
            connected = client.wait_for_connect() => connected,
            Ok((err, _)) = errors.recv() => Err(err),
        }
    };
    if let Ok(Err(err)) = tokio::time::timeout(FIRST_CONNECTION_WAIT, first_attempt).await {
        tracing::warn!(error = %err, "Redis refused the first connection; going on without it and retrying");
    }
    Ok(client)
}

/// Closes the connection and stops reconnecting.
pub async fn close(client: &Client) {
    let _ = client.quit().await;
}

/// Remembers whether Redis is down for one of its users, so an outage is
/// logged once when it starts and once when it ends, and counted per call.
struct Outage {
    /// Which use of Redis this is, as the metrics label it.
    used_for: &'static str,
    /// What happens meanwhile, and what resumes afterwards, for the logs.
    meanwhile: &'static str,
    resumes: &'static str,
    down: AtomicBool,
}

impl Outage {
    const fn new(used_for: &'static str, meanwhile: &'static str, resumes: &'static str) -> Self {
        Self {
            used_for,
            meanwhile,
            resumes,
            down: AtomicBool::new(false),
        }
    }

    /// A call went on without Redis.
    fn went_without(&self, why: &str) {
        metrics::redis_fallback(self.used_for);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(reason = why, "Redis is unreachable: {}", self.meanwhile);
        }
    }

    /// Redis answered.
    fn answered(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis is back: {} resume", self.resumes);
        }
    }
}
