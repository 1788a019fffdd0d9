//! Typed settings, read once at start. Every setting is an environment
//! variable (and the command-line flag beside it), declared here and nowhere
//! else, with its default and its rule; each subcommand flattens the groups
//! it needs, so `cinema <command> --help` lists exactly what it reads. A
//! missing or malformed setting stops the program (exit code 2) with a
//! message naming the variable and what it expects.

mod parse;
mod tls;

pub use parse::CONFIGURATION_ERROR;
pub use tls::{ServerAddress, TlsSettings};

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{ArgAction, Args};

use parse::{
    budget, claim_path, duration, duration_or_zero, in_range, log_format, origins, prefix, seconds,
    secret, setting, socket_addr, switch, ticket_seed, true_or_false, url,
};

/// Where a listener listens, or nowhere (`off`).
pub type Listen = Option<SocketAddr>;

/// `DATABASE_URL`: what every command that touches PostgreSQL reads.
#[derive(Args, Debug, Clone)]
pub struct DatabaseSettings {
    /// The PostgreSQL database, the only source of truth, e.g. postgres://postgres@127.0.0.1:5432/cinema.
    #[arg(long = "database-url", id = "database_url", value_name = "URL", env = "DATABASE_URL", default_value = "", hide_default_value = true, hide_env_values = true,
          value_parser = setting("a PostgreSQL URL (postgres://...)", url(&["postgres", "postgresql"])))]
    pub url: String,
}

/// NATS: where events go, and the names of this deployment's streams.
#[derive(Args, Debug, Clone)]
pub struct NatsSettings {
    /// NATS with JetStream, carrying events, e.g. nats://127.0.0.1:4222.
    #[arg(long = "nats-url", id = "nats_url", value_name = "URL", env = "NATS_URL", default_value = "", hide_default_value = true, hide_env_values = true,
          value_parser = setting("a NATS URL (nats://host:port)", url(&["nats", "tls"])))]
    pub url: String,
    /// Prefix of NATS subjects and streams.
    #[arg(long = "nats-prefix", id = "nats_prefix", value_name = "PREFIX", env = "CINEMA_NATS_PREFIX", default_value = "cinema",
          value_parser = setting("a subject prefix", prefix))]
    pub prefix: String,
    /// CA certificate (PEM file) that NATS's certificate must chain to, trusted instead of the system's roots; requires TLS.
    #[arg(long = "nats-ca", id = "nats_ca", value_name = "FILE", env = "CINEMA_NATS_CA",
          value_parser = setting("a readable PEM file of CA certificates", ca_file))]
    pub ca: Option<PathBuf>,
}

/// A CA file that TLS can trust: checked at start, so that a wrong path
/// stops the program naming its setting.
fn ca_file(value: &str) -> Option<PathBuf> {
    let path = PathBuf::from(value);
    crate::tls::trusting(&path).is_ok().then_some(path)
}

/// How log lines are written.
#[derive(Args, Debug, Clone, Copy)]
pub struct LogSettings {
    /// `pretty` or `json` (one object per line).
    #[arg(long = "log-format", id = "log_format", value_name = "FORMAT", env = "CINEMA_LOG_FORMAT", default_value = "pretty",
          value_parser = setting("pretty or json", log_format))]
    pub format: LogFormat,
}

/// The secret that signs and checks tokens (and page tokens).
#[derive(Args, Debug, Clone)]
pub struct JwtSettings {
    /// HS256 secret of at least 32 characters.
    #[arg(long = "jwt-secret", id = "jwt_secret", value_name = "SECRET", env = "CINEMA_JWT_SECRET", default_value = "", hide_default_value = true, hide_env_values = true,
          value_parser = setting("a secret of at least 32 characters", secret).hiding_value("a shorter one"))]
    pub secret: Secret,
}

/// The same secret, for commands that need it only sometimes.
#[derive(Args, Debug, Clone)]
pub struct OptionalJwtSettings {
    /// HS256 secret of at least 32 characters.
    #[arg(long = "jwt-secret", id = "jwt_secret", value_name = "SECRET", env = "CINEMA_JWT_SECRET", hide_env_values = true,
          value_parser = setting("a secret of at least 32 characters", secret).hiding_value("a shorter one"))]
    pub secret: Option<Secret>,
}

/// Tokens from an identity provider (RS256, ES256, EdDSA, checked with its
/// JWKS), and the claims every token must carry.
#[derive(Args, Debug, Clone)]
pub struct IdentitySettings {
    /// Where the identity provider publishes its keys (JWKS), http(s)://...; unset: no JWKS.
    #[arg(long = "jwks-url", value_name = "URL", env = "CINEMA_JWKS_URL", conflicts_with = "jwks_file",
          value_parser = setting("an http:// or https:// URL", url(&["http", "https"])))]
    pub jwks_url: Option<String>,
    /// A JWKS file to read the keys from instead of a URL.
    #[arg(
        long = "jwks-file",
        id = "jwks_file",
        value_name = "FILE",
        env = "CINEMA_JWKS_FILE"
    )]
    pub jwks_file: Option<std::path::PathBuf>,
    /// The JWKS is fetched again at most this often (on a token with an unknown `kid`).
    #[arg(long = "jwks-min-refresh", value_name = "DURATION", env = "CINEMA_JWKS_MIN_REFRESH", default_value = "30s",
          value_parser = setting("a duration such as 30s", duration))]
    pub jwks_min_refresh: Duration,
    /// The `iss` every token must carry; unset: not checked.
    #[arg(long = "jwt-issuer", value_name = "ISSUER", env = "CINEMA_JWT_ISSUER")]
    pub issuer: Option<String>,
    /// The `aud` every token must carry; unset: not checked.
    #[arg(
        long = "jwt-audience",
        value_name = "AUDIENCE",
        env = "CINEMA_JWT_AUDIENCE"
    )]
    pub audience: Option<String>,
    /// Where in the claims the roles array is, a dot path such as realm_access.roles.
    #[arg(long = "jwt-roles-claim", value_name = "PATH", env = "CINEMA_JWT_ROLES_CLAIM", default_value = "roles",
          value_parser = setting("a dot path such as roles or realm_access.roles", claim_path))]
    pub roles_claim: String,
}

/// The key that signs ticket codes, and when the doors open.
#[derive(Args, Debug, Clone)]
pub struct TicketSettings {
    /// Ed25519 seed of the key that signs ticket codes: 32 bytes, base64url
    /// (`cinema ticket-key --new` prints one). Unset: derived from
    /// CINEMA_JWT_SECRET, so every instance sharing the secret signs alike.
    #[arg(long = "ticket-key", value_name = "SEED", env = "CINEMA_TICKET_KEY", hide_env_values = true,
          value_parser = setting("32 bytes in base64url, as `cinema ticket-key --new` prints", ticket_seed).hiding_value("another value"))]
    pub key: Option<TicketSeed>,
    /// How long before a session starts its tickets admit, e.g. 1h, 90m.
    #[arg(long = "admission-opens", value_name = "DURATION", env = "CINEMA_ADMISSION_OPENS", default_value = "1h",
          value_parser = setting("a duration such as 1h or 90m", duration))]
    pub admission_opens: Duration,
    /// Until how long before a session starts its buyers may refund (admins: until the start).
    #[arg(long = "refund-cutoff", value_name = "DURATION", env = "CINEMA_REFUND_CUTOFF", default_value = "2h",
          value_parser = setting("a duration such as 2h or 30m, or 0s", duration_or_zero))]
    pub refund_cutoff: Duration,
}

/// How shows are laid out in a room's time: what `serve` judges a new
/// session by, and what `demo` spaces its shows with.
#[derive(Args, Debug, Clone, Copy)]
pub struct ScheduleSettings {
    /// How long a room needs between two shows (cleaning, seating the next
    /// audience): a session of a movie takes its room until the movie ends
    /// plus this.
    #[arg(long = "turnaround", value_name = "DURATION", env = "CINEMA_TURNAROUND", default_value = "15m",
          value_parser = setting("a duration such as 15m, or 0s", duration_or_zero))]
    pub turnaround: Duration,
}

/// A ticket key's seed, kept out of logs.
#[derive(Clone)]
pub struct TicketSeed(pub [u8; 32]);

impl std::fmt::Debug for TicketSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketSeed(..)")
    }
}

/// Everything `cinema serve` needs.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub nats: NatsSettings,
    #[command(flatten)]
    pub logs: LogSettings,
    #[command(flatten)]
    pub jwt: JwtSettings,
    #[command(flatten)]
    pub identity: IdentitySettings,
    #[command(flatten)]
    pub tickets: TicketSettings,
    /// Redis for seat locks and rate limits, e.g. redis://127.0.0.1:6379.
    #[arg(long = "redis-url", value_name = "URL", env = "REDIS_URL", default_value = "", hide_default_value = true, hide_env_values = true,
          value_parser = setting("a Redis URL (redis://...)", url(&["redis", "rediss"])))]
    pub redis_url: String,
    /// CA certificate (PEM file) that Redis's certificate must chain to, trusted instead of the system's roots; turns TLS on.
    #[arg(long = "redis-ca", value_name = "FILE", env = "CINEMA_REDIS_CA",
          value_parser = setting("a readable PEM file of CA certificates", ca_file))]
    pub redis_ca: Option<PathBuf>,
    /// Where gRPC is served.
    #[arg(long = "grpc-addr", env = "CINEMA_GRPC_ADDR", default_value = "127.0.0.1:50051",
          value_parser = setting("a socket address such as 127.0.0.1:50051", socket_addr))]
    pub grpc_addr: SocketAddr,
    /// Where Prometheus metrics are served (/metrics); `off` disables.
    #[arg(long = "metrics-addr", env = "CINEMA_METRICS_ADDR", default_value = "127.0.0.1:9464",
          value_parser = setting("a socket address such as 127.0.0.1:9464, or off", |v: &str| if v == "off" { Some(None) } else { socket_addr(v).map(Some) }))]
    pub metrics_addr: Listen,
    /// How long a reservation holds its seats, in seconds.
    #[arg(long = "hold-seconds", value_name = "SECONDS", env = "CINEMA_HOLD_SECONDS", default_value = "30",
          value_parser = setting("a whole number of seconds from 1 to 3600", seconds(1, 3600)))]
    pub hold_duration: Duration,
    /// How many seats one reservation may hold.
    #[arg(long = "max-seats-per-reservation", env = "CINEMA_MAX_SEATS_PER_RESERVATION", default_value = "10",
          value_parser = setting("a whole number from 1 to 100", in_range(1usize, 100)))]
    pub max_seats_per_reservation: usize,
    /// How many times the owner may extend one reservation's hold.
    #[arg(long = "max-hold-extensions", env = "CINEMA_MAX_HOLD_EXTENSIONS", default_value = "2",
          value_parser = setting("a whole number from 0 to 10", in_range(0u32, 10)))]
    pub max_hold_extensions: u32,
    #[command(flatten)]
    pub schedule: ScheduleSettings,
    /// Apply pending migrations at start.
    #[arg(long = "auto-migrate", action = ArgAction::Set, env = "CINEMA_AUTO_MIGRATE", default_value = "true",
          value_parser = setting("true or false", true_or_false))]
    pub auto_migrate: bool,
    /// PostgreSQL connections one instance opens at most.
    #[arg(long = "database-pool-size", env = "CINEMA_DATABASE_POOL_SIZE", default_value = "16",
          value_parser = setting("a whole number from 1 to 1000", in_range(1u32, 1000)))]
    pub database_pool_size: u32,
    /// Prefix of every Redis key, so deployments (or tests) can share a Redis.
    #[arg(long = "redis-prefix", env = "CINEMA_REDIS_PREFIX", default_value = "cinema",
          value_parser = setting("a key prefix", prefix))]
    pub redis_prefix: String,
    #[command(flatten)]
    pub stream_limits: StreamLimits,
    /// How long published events stay in the outbox table.
    #[arg(long = "outbox-retention", env = "CINEMA_OUTBOX_RETENTION", default_value = "1d",
          value_parser = setting("a duration such as 1d", duration))]
    pub outbox_retention: Duration,
    /// Run the sales-figures consumer inside `serve` (`off`: run `cinema worker` instead).
    #[arg(long = "worker", action = ArgAction::Set, env = "CINEMA_WORKER", default_value = "on",
          value_parser = setting("on or off", switch))]
    pub run_worker: bool,
    /// WatchSeatMap streams one instance serves at most.
    #[arg(long = "max-watchers", env = "CINEMA_MAX_WATCHERS", default_value = "10000",
          value_parser = setting("a whole number from 1 to 1000000", in_range(1usize, 1_000_000)))]
    pub max_watchers: usize,
    #[command(flatten)]
    pub rate_limits: RateLimits,
    #[command(flatten)]
    pub server_limits: ServerLimits,
    #[command(flatten)]
    pub web: WebSettings,
    #[command(flatten)]
    pub tls: TlsSettings,
}

/// The browser's way in: the web app's files, and which other origins may
/// call the API from a page (gRPC-Web).
#[derive(Args, Debug, Clone, Default)]
pub struct WebSettings {
    /// The built web app (`web/dist`), served on the gRPC port at `/`; unset: none.
    #[arg(long = "web-dir", value_name = "DIR", env = "CINEMA_WEB_DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// Origins whose pages may call the API (CORS), comma-separated, e.g.
    /// http://localhost:5173; unset: none (the app served at `/` needs none).
    #[arg(long = "web-origins", value_name = "ORIGINS", env = "CINEMA_WEB_ORIGINS",
          value_parser = setting("origins such as https://tickets.example.com, comma-separated", origins))]
    pub origins: Option<Origins>,
}

/// Web origins (`scheme://host[:port]`), as CORS compares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

/// Retention of the event stream.
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Events older than this leave the stream.
    #[arg(long = "events-max-age", env = "CINEMA_EVENTS_MAX_AGE", default_value = "7d",
          value_parser = setting("a duration such as 7d or 12h", duration))]
    pub max_age: Duration,
    /// The stream keeps at most this many bytes, dropping the oldest.
    #[arg(long = "events-max-bytes", env = "CINEMA_EVENTS_MAX_BYTES", default_value = "1073741824",
          value_parser = setting("a number of bytes from 1048576 up", in_range(1i64 << 20, i64::MAX)))]
    pub max_bytes: i64,
    /// JetStream drops re-sends of an event id within this window.
    #[arg(long = "events-duplicate-window", env = "CINEMA_EVENTS_DUPLICATE_WINDOW", default_value = "2m",
          value_parser = setting("a duration such as 2m", duration))]
    pub duplicate_window: Duration,
}

/// Per-caller budgets shared by every instance; booking and reads apart, so
/// heavy reading never blocks booking.
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per-caller rate limits; `off` for benchmarks.
    #[arg(long = "rate-limit", action = ArgAction::Set, env = "CINEMA_RATE_LIMIT", default_value = "on",
          value_parser = setting("on or off", switch))]
    pub enabled: bool,
    /// Calls per window each caller may make to ReserveSeats, ConfirmPayment and CancelReservation.
    #[arg(long = "rate-limit-booking", value_name = "BUDGET", env = "CINEMA_RATE_LIMIT_BOOKING", default_value = "20/1s",
          value_parser = setting("calls per window such as 20/1s", budget))]
    pub booking: Budget,
    /// The same for every other cinema call (reads, watches, admin).
    #[arg(long = "rate-limit-reads", value_name = "BUDGET", env = "CINEMA_RATE_LIMIT_READS", default_value = "100/1s",
          value_parser = setting("calls per window such as 20/1s", budget))]
    pub reads: Budget,
}

/// How many calls one caller may make per window, on every instance together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub calls: u32,
    pub window: Duration,
}

/// What one instance accepts from its clients.
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// The largest request message decoded (larger: OUT_OF_RANGE). The largest real request is under 2 KiB.
    #[arg(long = "max-message-bytes", env = "CINEMA_MAX_MESSAGE_BYTES", default_value = "1048576",
          value_parser = setting("a number of bytes from 1024 to 67108864", in_range(1024usize, 64 << 20)))]
    pub max_message_bytes: usize,
    /// Calls one HTTP/2 connection runs at once; more wait their turn.
    #[arg(long = "max-calls-per-connection", env = "CINEMA_MAX_CALLS_PER_CONNECTION", default_value = "256",
          value_parser = setting("a whole number from 1 to 100000", in_range(1usize, 100_000)))]
    pub max_calls_per_connection: usize,
    /// The longest a call may take to answer; a shorter client deadline wins.
    #[arg(long = "rpc-timeout", env = "CINEMA_RPC_TIMEOUT", default_value = "30s",
          value_parser = setting("a duration such as 30s", duration))]
    pub rpc_timeout: Duration,
    /// HTTP/2 and TCP keepalive pings on idle connections.
    #[arg(long = "keepalive-interval", env = "CINEMA_KEEPALIVE_INTERVAL", default_value = "30s",
          value_parser = setting("a duration such as 30s", duration))]
    pub keepalive_interval: Duration,
    /// An unanswered ping closes the connection after this.
    #[arg(long = "keepalive-timeout", env = "CINEMA_KEEPALIVE_TIMEOUT", default_value = "10s",
          value_parser = setting("a duration such as 30s", duration))]
    pub keepalive_timeout: Duration,
    /// Streams a client may reset before the server catches up (HTTP/2 rapid-reset protection).
    #[arg(long = "max-pending-resets", env = "CINEMA_MAX_PENDING_RESETS", default_value = "20",
          value_parser = setting("a whole number from 1 to 10000", in_range(1usize, 10_000)))]
    pub max_pending_resets: usize,
    /// How long in-flight calls may run on once shutdown begins.
    #[arg(long = "drain-timeout", env = "CINEMA_DRAIN_TIMEOUT", default_value = "10s",
          value_parser = setting("a duration such as 30s", duration))]
    pub drain_timeout: Duration,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
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
