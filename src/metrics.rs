//! Prometheus metrics: every series the service records is named here.
//!
//! The recorder is process-wide and installed only by `cinema serve`
//! ([`serve_on`]); without it every function below is a no-op, so tests that
//! run many servers in one process pay nothing.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

const RPC_REQUESTS: &str = "cinema_rpc_requests_total";
const RPC_DURATION: &str = "cinema_rpc_duration_seconds";
const RESERVATIONS: &str = "cinema_reservations_total";
const SEAT_LOCKS: &str = "cinema_seat_lock_attempts_total";
const REDIS_FALLBACKS: &str = "cinema_redis_fallbacks_total";
const RATE_LIMITED: &str = "cinema_rate_limited_total";
const OUTBOX_BACKLOG: &str = "cinema_outbox_backlog";
const OUTBOX_OLDEST_AGE: &str = "cinema_outbox_oldest_age_seconds";
const WATCHERS: &str = "cinema_watchers_active";
const EXPIRY_LAG: &str = "cinema_expiry_lag_seconds";
const POOL_IN_USE: &str = "cinema_db_pool_connections_in_use";
const POOL_SIZE: &str = "cinema_db_pool_connections";

/// The outcomes of ReserveSeats and ReserveBestAvailable that
/// [`reservation`] counts.
pub const RESERVATION_OUTCOMES: &[&str] = &[
    "held",
    "unavailable",
    "refused",
    "contended",
    "invalid",
    "not_found",
    "failed",
];

/// Latency buckets (seconds) for RPCs: from sub-millisecond reads to timeouts.
const RPC_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Expiry lag buckets (seconds): the sweeper aims at well under a second.
const LAG_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Serves `/metrics` on `addr` and describes every series.
pub fn serve_on(addr: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Full(RPC_DURATION.into()), RPC_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(EXPIRY_LAG.into()), LAG_BUCKETS))
        .context("configuring metric buckets")?
        .install()
        .with_context(|| format!("serving metrics on {addr}"))?;
    describe();
    start_counters_at_zero();
    Ok(())
}

/// Counters with a fixed set of labels are shown from the start, so a
/// dashboard or alert sees 0 rather than no data before the first event.
fn start_counters_at_zero() {
    for outcome in RESERVATION_OUTCOMES {
        counter!(RESERVATIONS, "outcome" => *outcome).absolute(0);
    }
    for result in ["locked", "contended", "redis_down"] {
        counter!(SEAT_LOCKS, "result" => result).absolute(0);
    }
    for used_for in ["seat_locks", "rate_limits"] {
        counter!(REDIS_FALLBACKS, "use" => used_for).absolute(0);
    }
    for budget in ["booking", "reads"] {
        counter!(RATE_LIMITED, "budget" => budget).absolute(0);
    }
}

fn describe() {
    describe_counter!(RPC_REQUESTS, "RPCs answered, by method and gRPC code");
    describe_histogram!(
        RPC_DURATION,
        metrics::Unit::Seconds,
        "Time to answer an RPC (to the first response for streams), by method"
    );
    describe_counter!(
        RESERVATIONS,
        "ReserveSeats outcomes: held, unavailable, contended, invalid, not_found, failed"
    );
    describe_counter!(
        SEAT_LOCKS,
        "Redis seat gate answers: locked, contended (refused by a lock or a hold marker), redis_down"
    );
    describe_counter!(
        REDIS_FALLBACKS,
        "Calls that went on without Redis because it did not answer, by use"
    );
    describe_counter!(RATE_LIMITED, "Calls refused by a rate limit, by budget");
    describe_gauge!(OUTBOX_BACKLOG, "Events committed but not yet published");
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest unpublished event (0 when none)"
    );
    describe_gauge!(WATCHERS, "WatchSeatMap streams open on this instance");
    describe_histogram!(
        EXPIRY_LAG,
        metrics::Unit::Seconds,
        "Time from a hold's expire_time to the sweep that released it"
    );
    describe_gauge!(POOL_IN_USE, "PostgreSQL connections busy with a query");
    describe_gauge!(POOL_SIZE, "PostgreSQL connections open");
}

/// A call to `method` answered with the gRPC code named `code` (`NOT_FOUND`).
pub fn rpc_finished(method: &str, code: &'static str, elapsed: Duration) {
    let method = method.to_owned();
    counter!(RPC_REQUESTS, "method" => method.clone(), "code" => code).increment(1);
    histogram!(RPC_DURATION, "method" => method).record(elapsed.as_secs_f64());
}

pub fn reservation(outcome: &'static str) {
    counter!(RESERVATIONS, "outcome" => outcome).increment(1);
}

pub fn seat_lock(result: &'static str) {
    counter!(SEAT_LOCKS, "result" => result).increment(1);
}

pub fn redis_fallback(used_for: &'static str) {
    counter!(REDIS_FALLBACKS, "use" => used_for).increment(1);
}

pub fn rate_limited(budget: &'static str) {
    counter!(RATE_LIMITED, "budget" => budget).increment(1);
}

pub fn outbox(backlog: u64, oldest_age: Duration) {
    gauge!(OUTBOX_BACKLOG).set(backlog as f64);
    gauge!(OUTBOX_OLDEST_AGE).set(oldest_age.as_secs_f64());
}

pub fn watchers(active: usize) {
    gauge!(WATCHERS).set(active as f64);
}

pub fn expiry_lag(lag: Duration) {
    histogram!(EXPIRY_LAG).record(lag.as_secs_f64());
}

pub fn database_pool(in_use: u32, open: u32) {
    gauge!(POOL_IN_USE).set(f64::from(in_use));
    gauge!(POOL_SIZE).set(f64::from(open));
}
