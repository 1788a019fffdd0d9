//! Typed settings, read once from the environment at start.
//!
//! Every variable is parsed here and nowhere else; a missing or malformed one
//! stops the program with a message naming the variable and what it expects.

use std::{env, fmt::Display, net::SocketAddr, str::FromStr, time::Duration};

pub use crate::events::stream::StreamLimits;

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{var}: expected {expected}, got {got}")]
pub struct ConfigError {
    pub var: &'static str,
    pub expected: &'static str,
    pub got: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything `cinema serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`: the PostgreSQL database, the only source of truth.
    pub database_url: String,
    /// `REDIS_URL`: the Redis server holding seat locks.
    pub redis_url: String,
    /// `NATS_URL`: the NATS server with JetStream carrying events.
    pub nats_url: String,
    /// `CINEMA_GRPC_ADDR`: where the gRPC server listens.
    pub grpc_addr: SocketAddr,
    /// `CINEMA_METRICS_ADDR`: where Prometheus metrics are served (`off`: nowhere).
    pub metrics_addr: Option<SocketAddr>,
    /// `CINEMA_JWT_SECRET`: the HS256 secret that signs and checks tokens.
    pub jwt_secret: Secret,
    /// `CINEMA_HOLD_SECONDS`: how long a reservation holds its seats.
    pub hold_duration: Duration,
    /// `CINEMA_MAX_SEATS_PER_RESERVATION`: how many seats one reservation may hold.
    pub max_seats_per_reservation: usize,
    /// `CINEMA_AUTO_MIGRATE`: apply pending migrations at start.
    pub auto_migrate: bool,
    /// `CINEMA_REDIS_PREFIX`: prefix of every Redis key, so deployments can share a Redis.
    pub redis_prefix: String,
    /// `CINEMA_NATS_PREFIX`: prefix of every NATS subject and stream name.
    pub nats_prefix: String,
    /// `CINEMA_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `CINEMA_EVENTS_MAX_AGE`, `CINEMA_EVENTS_MAX_BYTES`, `CINEMA_EVENTS_DUPLICATE_WINDOW`.
    pub stream_limits: StreamLimits,
    /// `CINEMA_OUTBOX_RETENTION`: how long published outbox rows are kept.
    pub outbox_retention: Duration,
    /// `CINEMA_WORKER`: run the sales-figures consumer inside `serve`.
    pub run_worker: bool,
    /// `CINEMA_MAX_WATCHERS`: WatchSeatMap streams one instance serves at most.
    pub max_watchers: usize,
    /// `CINEMA_DATABASE_POOL_SIZE`: PostgreSQL connections one instance opens at most.
    pub database_pool_size: u32,
    /// `CINEMA_RATE_LIMIT*`: per-caller budgets shared by every instance (`None`: off).
    pub rate_limits: Option<RateLimits>,
    /// `CINEMA_MAX_MESSAGE_BYTES` and the other limits of the gRPC server.
    pub server_limits: ServerLimits,
}

/// How many calls one caller may make per window, on every instance together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub calls: u32,
    pub window: Duration,
}

/// Separate budgets, so heavy reading never blocks booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `CINEMA_RATE_LIMIT_BOOKING`: ReserveSeats, ConfirmPayment, CancelReservation.
    pub booking: Budget,
    /// `CINEMA_RATE_LIMIT_READS`: every other cinema call.
    pub reads: Budget,
}

/// What one instance accepts from its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// `CINEMA_MAX_MESSAGE_BYTES`: the largest request message decoded.
    pub max_message_bytes: usize,
    /// `CINEMA_MAX_CALLS_PER_CONNECTION`: calls one connection runs at once (more wait).
    pub max_calls_per_connection: usize,
    /// `CINEMA_RPC_TIMEOUT`: the longest a unary call may run; a shorter client deadline wins.
    pub rpc_timeout: Duration,
    /// `CINEMA_KEEPALIVE_INTERVAL`: how often idle connections are pinged.
    pub keepalive_interval: Duration,
    /// `CINEMA_KEEPALIVE_TIMEOUT`: how long a ping may go unanswered before the connection is closed.
    pub keepalive_timeout: Duration,
    /// `CINEMA_MAX_PENDING_RESETS`: streams a client may reset before being answered (rapid-reset guard).
    pub max_pending_resets: usize,
    /// `CINEMA_DRAIN_TIMEOUT`: how long in-flight calls may run on after shutdown begins.
    pub drain_timeout: Duration,
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        let second = Duration::from_secs(1);
        Self {
            booking: Budget {
                calls: 20,
                window: second,
            },
            reads: Budget {
                calls: 100,
                window: second,
            },
        }
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            // The largest real request (100 seat labels) is under 2 KiB.
            max_message_bytes: 1 << 20,
            max_calls_per_connection: 256,
            rpc_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_pending_resets: 20,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

const SECRET_MIN_LEN: usize = 32;

impl Settings {
    /// Reads every setting `serve` needs from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: database_url_from_env()?,
            redis_url: required("REDIS_URL", "a Redis URL (redis://...)", |v| {
                parse_url(v, &["redis", "rediss"])
            })?,
            nats_url: required("NATS_URL", "a NATS URL (nats://host:port)", |v| {
                parse_url(v, &["nats", "tls"])
            })?,
            grpc_addr: optional(
                "CINEMA_GRPC_ADDR",
                "a socket address such as 127.0.0.1:50051",
                "127.0.0.1:50051",
                parse_from_str,
            )?,
            metrics_addr: optional(
                "CINEMA_METRICS_ADDR",
                "a socket address such as 127.0.0.1:9464, or off",
                "127.0.0.1:9464",
                |v| {
                    if v == "off" {
                        Ok(None)
                    } else {
                        parse_from_str(v).map(Some)
                    }
                },
            )?,
            jwt_secret: jwt_secret_from_env()?,
            hold_duration: optional(
                "CINEMA_HOLD_SECONDS",
                "a whole number of seconds from 1 to 3600",
                "30",
                |v| parse_in_range(v, 1, 3600).map(Duration::from_secs),
            )?,
            max_seats_per_reservation: optional(
                "CINEMA_MAX_SEATS_PER_RESERVATION",
                "a whole number from 1 to 100",
                "10",
                |v| parse_in_range(v, 1, 100),
            )?,
            auto_migrate: optional(
                "CINEMA_AUTO_MIGRATE",
                "true or false",
                "true",
                parse_from_str,
            )?,
            redis_prefix: optional(
                "CINEMA_REDIS_PREFIX",
                "a key prefix",
                "cinema",
                parse_prefix,
            )?,
            nats_prefix: optional(
                "CINEMA_NATS_PREFIX",
                "a subject prefix",
                "cinema",
                parse_prefix,
            )?,
            log_format: log_format_from_env()?,
            stream_limits: StreamLimits {
                max_age: optional(
                    "CINEMA_EVENTS_MAX_AGE",
                    "a duration such as 7d or 12h",
                    "7d",
                    parse_duration,
                )?,
                max_bytes: optional(
                    "CINEMA_EVENTS_MAX_BYTES",
                    "a number of bytes from 1048576 up",
                    "1073741824",
                    |v| parse_in_range(v, 1 << 20, i64::MAX),
                )?,
                duplicate_window: optional(
                    "CINEMA_EVENTS_DUPLICATE_WINDOW",
                    "a duration such as 2m",
                    "2m",
                    parse_duration,
                )?,
            },
            outbox_retention: optional(
                "CINEMA_OUTBOX_RETENTION",
                "a duration such as 1d",
                "1d",
                parse_duration,
            )?,
            run_worker: optional("CINEMA_WORKER", "on or off", "on", parse_switch)?,
            max_watchers: optional(
                "CINEMA_MAX_WATCHERS",
                "a whole number from 1 to 1000000",
                "10000",
                |v| parse_in_range(v, 1, 1_000_000),
            )?,
            database_pool_size: optional(
                "CINEMA_DATABASE_POOL_SIZE",
                "a whole number from 1 to 1000",
                "16",
                |v| parse_in_range(v, 1, 1000),
            )?,
            rate_limits: rate_limits_from_env()?,
            server_limits: server_limits_from_env()?,
        })
    }
}

fn rate_limits_from_env() -> Result<Option<RateLimits>, ConfigError> {
    let on = optional("CINEMA_RATE_LIMIT", "on or off", "on", parse_switch)?;
    let defaults = RateLimits::default();
    let budget =
        |var, default| optional_or(var, "calls per window such as 20/1s", default, parse_budget);
    let limits = RateLimits {
        booking: budget("CINEMA_RATE_LIMIT_BOOKING", defaults.booking)?,
        reads: budget("CINEMA_RATE_LIMIT_READS", defaults.reads)?,
    };
    Ok(on.then_some(limits))
}

fn server_limits_from_env() -> Result<ServerLimits, ConfigError> {
    let defaults = ServerLimits::default();
    let duration =
        |var, default| optional_or(var, "a duration such as 30s", default, parse_duration);
    Ok(ServerLimits {
        max_message_bytes: optional_or(
            "CINEMA_MAX_MESSAGE_BYTES",
            "a number of bytes from 1024 to 67108864",
            defaults.max_message_bytes,
            |v| parse_in_range(v, 1024, 64 << 20),
        )?,
        max_calls_per_connection: optional_or(
            "CINEMA_MAX_CALLS_PER_CONNECTION",
            "a whole number from 1 to 100000",
            defaults.max_calls_per_connection,
            |v| parse_in_range(v, 1, 100_000),
        )?,
        rpc_timeout: duration("CINEMA_RPC_TIMEOUT", defaults.rpc_timeout)?,
        keepalive_interval: duration("CINEMA_KEEPALIVE_INTERVAL", defaults.keepalive_interval)?,
        keepalive_timeout: duration("CINEMA_KEEPALIVE_TIMEOUT", defaults.keepalive_timeout)?,
        max_pending_resets: optional_or(
            "CINEMA_MAX_PENDING_RESETS",
            "a whole number from 1 to 10000",
            defaults.max_pending_resets,
            |v| parse_in_range(v, 1, 10_000),
        )?,
        drain_timeout: duration("CINEMA_DRAIN_TIMEOUT", defaults.drain_timeout)?,
    })
}

/// `DATABASE_URL`, also needed by `cinema migrate`.
pub fn database_url_from_env() -> Result<String, ConfigError> {
    required("DATABASE_URL", "a PostgreSQL URL (postgres://...)", |v| {
        parse_url(v, &["postgres", "postgresql"])
    })
}

/// `CINEMA_JWT_SECRET`, also needed by `cinema token`.
pub fn jwt_secret_from_env() -> Result<Secret, ConfigError> {
    required(
        "CINEMA_JWT_SECRET",
        "a secret of at least 32 characters",
        |v| {
            (v.chars().count() >= SECRET_MIN_LEN)
                .then(|| Secret::new(v))
                .ok_or(())
        },
    )
    .map_err(|mut e| {
        // Never echo a secret, not even a wrong one.
        if e.got != "nothing" {
            e.got = "a shorter one".into();
        }
        e
    })
}

/// `CINEMA_LOG_FORMAT`, needed before anything else to start logging.
pub fn log_format_from_env() -> Result<LogFormat, ConfigError> {
    optional(
        "CINEMA_LOG_FORMAT",
        "pretty or json",
        "pretty",
        |v| match v {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(()),
        },
    )
}

fn required<T>(
    var: &'static str,
    expected: &'static str,
    parse: impl FnOnce(&str) -> Result<T, ()>,
) -> Result<T, ConfigError> {
    match env::var(var) {
        Ok(value) if !value.trim().is_empty() => parse_value(var, expected, &value, parse),
        _ => Err(ConfigError {
            var,
            expected,
            got: "nothing".into(),
        }),
    }
}

fn optional<T>(
    var: &'static str,
    expected: &'static str,
    default: &str,
    parse: impl FnOnce(&str) -> Result<T, ()>,
) -> Result<T, ConfigError> {
    let value = env::var(var).ok().filter(|v| !v.trim().is_empty());
    parse_value(var, expected, value.as_deref().unwrap_or(default), parse)
}

/// Like [`optional`], for settings whose default is a typed value.
fn optional_or<T>(
    var: &'static str,
    expected: &'static str,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, ()>,
) -> Result<T, ConfigError> {
    match env::var(var).ok().filter(|v| !v.trim().is_empty()) {
        Some(value) => parse_value(var, expected, &value, parse),
        None => Ok(default),
    }
}

fn parse_value<T>(
    var: &'static str,
    expected: &'static str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, ()>,
) -> Result<T, ConfigError> {
    parse(value.trim()).map_err(|()| ConfigError {
        var,
        expected,
        got: format!("{value:?}"),
    })
}

fn parse_from_str<T: FromStr>(value: &str) -> Result<T, ()> {
    value.parse().map_err(drop)
}

fn parse_in_range<T: FromStr + PartialOrd + Display>(value: &str, min: T, max: T) -> Result<T, ()> {
    let n: T = parse_from_str(value)?;
    (min..=max).contains(&n).then_some(n).ok_or(())
}

fn parse_duration(value: &str) -> Result<Duration, ()> {
    humantime::parse_duration(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or(())
}

fn parse_switch(value: &str) -> Result<bool, ()> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(()),
    }
}

/// `calls/window`, such as `20/1s` or `600/1m`.
fn parse_budget(value: &str) -> Result<Budget, ()> {
    let (calls, window) = value.split_once('/').ok_or(())?;
    let calls = parse_in_range(calls.trim(), 1, 1_000_000)?;
    let window = parse_duration(window.trim())?;
    (window >= Duration::from_millis(100))
        .then_some(Budget { calls, window })
        .ok_or(())
}

fn parse_url(value: &str, schemes: &[&str]) -> Result<String, ()> {
    let (scheme, rest) = value.split_once("://").ok_or(())?;
    (schemes.contains(&scheme) && !rest.is_empty())
        .then(|| value.to_owned())
        .ok_or(())
}

fn parse_prefix(value: &str) -> Result<String, ()> {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| value.to_owned()).ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_known_scheme_and_a_host() {
        assert!(parse_url("postgres://localhost/db", &["postgres"]).is_ok());
        assert!(parse_url("mysql://localhost/db", &["postgres"]).is_err());
        assert!(parse_url("postgres://", &["postgres"]).is_err());
        assert!(parse_url("localhost", &["postgres"]).is_err());
    }

    #[test]
    fn ranges_are_inclusive_and_reject_garbage() {
        assert_eq!(parse_in_range("1", 1u64, 3600), Ok(1));
        assert_eq!(parse_in_range("3600", 1u64, 3600), Ok(3600));
        assert_eq!(parse_in_range("0", 1u64, 3600), Err(()));
        assert_eq!(parse_in_range("thirty", 1u64, 3600), Err(()));
    }

    #[test]
    fn budgets_are_calls_per_window() {
        assert_eq!(
            parse_budget("20/1s"),
            Ok(Budget {
                calls: 20,
                window: Duration::from_secs(1)
            })
        );
        assert_eq!(
            parse_budget(" 600 / 1m "),
            Ok(Budget {
                calls: 600,
                window: Duration::from_secs(60)
            })
        );
        for bad in ["20", "0/1s", "20/0s", "20/10ms", "x/1s", "20/soon"] {
            assert_eq!(parse_budget(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn a_config_error_names_the_variable_and_what_it_expects() {
        let err = parse_value(
            "CINEMA_HOLD_SECONDS",
            "a number",
            "x",
            |_| Err::<u8, ()>(()),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            r#"CINEMA_HOLD_SECONDS: expected a number, got "x""#
        );
    }
}
