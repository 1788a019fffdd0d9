//! The `cinema` command line: `serve`, `worker`, `migrate`, `token`, `demo`,
//! `events tail`, `watch`, `health`.

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
    time::Duration,
};

use anyhow::Context;
use clap::{Parser, Subcommand};

use cinema::{
    auth::Authenticator,
    config::{self, Settings},
    demo,
    events::{self, Topology},
    proto::v1::{WatchSeatMapRequest, session_service_client::SessionServiceClient},
    server, store, telemetry,
    watch_view::{self, Output},
};

#[derive(Parser)]
#[command(name = "cinema", version, about = "A cinema box office over gRPC")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server (applies migrations first unless CINEMA_AUTO_MIGRATE=false).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a development token signed with CINEMA_JWT_SECRET.
    Token {
        /// The user id (the token's `sub`).
        #[arg(long)]
        user: String,
        /// Grant the admin role.
        #[arg(long)]
        admin: bool,
        /// How long the token is valid, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Publish the demo session ("Filme X" at 19:00) and print tokens to try it.
    Demo,
    /// Run only the events consumer that keeps the sales figures, until Ctrl-C or SIGTERM.
    Worker,
    /// Look at the event stream.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Draw a session's live seat map, redrawn on every change, until Ctrl-C.
    Watch {
        /// The session to watch (a UUID).
        session_id: String,
        /// The server's gRPC address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token; without one, a token for user "watcher" is minted
        /// with CINEMA_JWT_SECRET.
        #[arg(long, env = "CINEMA_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Exit 0 if the server reports SERVING, 1 otherwise (for container health checks).
    Health {
        /// The server's gRPC address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        addr: String,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print every event as it arrives, one line each, until Ctrl-C.
    Tail {
        /// Start from the oldest event the stream keeps instead of from now.
        #[arg(long)]
        from_start: bool,
    },
}

/// Connections the worker's pool keeps: it handles one event at a time.
const WORKER_POOL_SIZE: u32 = 2;

/// How long `health` waits for the whole check.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// How long `watch` waits for the server to accept its connection.
const WATCH_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A minted watcher token is checked once, when the watch starts.
const WATCHER_TOKEN_TTL: Duration = Duration::from_secs(3600);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => return fail(anyhow::Error::new(err).context("starting the async runtime")),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(err),
    }
}

fn fail(err: anyhow::Error) -> ExitCode {
    if let Some(config) = err.downcast_ref::<config::ConfigError>() {
        eprintln!("cinema: configuration error: {config}");
        return ExitCode::from(2);
    }
    eprintln!("cinema: {err:#}");
    ExitCode::FAILURE
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve().await,
        Command::Migrate => {
            let _telemetry = telemetry::init(config::log_format_from_env()?);
            let db = store::connect(&config::database_url_from_env()?, 1).await?;
            migration::migrate(&db)
                .await
                .context("applying migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Token { user, admin, ttl } => {
            let auth = Authenticator::new(&config::jwt_secret_from_env()?);
            println!("{}", auth.mint(&user, admin, ttl)?);
            Ok(())
        }
        Command::Worker => worker().await,
        Command::Events {
            command: EventsCommand::Tail { from_start },
        } => {
            let topology = topology_from_env()?;
            let js = jetstream_from_env().await?;
            tokio::select! {
                tailed = events::tail::tail(&js, &topology, from_start) => tailed,
                () = shutdown_signal() => Ok(()),
            }
        }
        Command::Watch {
            session_id,
            addr,
            token,
        } => {
            tokio::select! {
                watched = watch(&session_id, &addr, token) => {
                    watched.with_context(|| format!("watching session {session_id}"))
                }
                () = shutdown_signal() => Ok(()),
            }
        }
        Command::Health { addr } => health(&addr).await,
        Command::Demo => {
            let auth = Authenticator::new(&config::jwt_secret_from_env()?);
            let db = store::connect(&config::database_url_from_env()?, 2).await?;
            migration::migrate(&db)
                .await
                .context("applying migrations")?;
            print_demo(&demo::seed(&db, &auth).await?);
            Ok(())
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let _telemetry = telemetry::init(settings.log_format);
    if let Some(addr) = settings.metrics_addr {
        cinema::metrics::serve_on(addr)?;
    }
    let listener = tokio::net::TcpListener::bind(settings.grpc_addr)
        .await
        .with_context(|| format!("listening on {}", settings.grpc_addr))?;
    server::run(settings, listener, shutdown_signal()).await
}

/// The events consumer alone, for deployments that keep it out of `serve`.
async fn worker() -> anyhow::Result<()> {
    let _telemetry = telemetry::init(config::log_format_from_env()?);
    let topology = topology_from_env()?;
    let db = store::connect(&config::database_url_from_env()?, WORKER_POOL_SIZE).await?;
    let js = jetstream_from_env().await?;
    tracing::info!(stream = %topology.stream, "worker started");
    tokio::select! {
        () = events::consumer::run(db.clone(), js, topology) => {}
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    db.close().await.context("closing the PostgreSQL pool")?;
    tracing::info!("stopped");
    Ok(())
}

/// Draws the seat map of `session_id` on stdout until the stream fails.
async fn watch(session_id: &str, addr: &str, token: Option<String>) -> anyhow::Result<()> {
    let token = match token {
        Some(token) => token,
        None => Authenticator::new(&config::jwt_secret_from_env()?)
            .mint("watcher", false, WATCHER_TOKEN_TTL)
            .context("minting a watcher token")?,
    };
    let channel = tonic::transport::Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("{addr:?} is not a server address"))?
        .connect_timeout(WATCH_CONNECT_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let mut request = tonic::Request::new(WatchSeatMapRequest {
        session_id: session_id.to_owned(),
    });
    let bearer = format!("Bearer {token}")
        .parse()
        .context("the token cannot be sent as gRPC metadata")?;
    request.metadata_mut().insert("authorization", bearer);
    let mut stream = SessionServiceClient::new(channel)
        .watch_seat_map(request)
        .await
        .map_err(status_error)?
        .into_inner();
    let output = if std::io::stdout().is_terminal() {
        Output::Terminal
    } else {
        Output::Piped
    };
    let mut view = None;
    while let Some(event) = stream.message().await.map_err(status_error)? {
        let (folded_view, folded) =
            watch_view::fold(view.take(), event, chrono::Local::now().time())?;
        print_flushed(&watch_view::draw(&folded_view, &folded, output))?;
        view = Some(folded_view);
    }
    anyhow::bail!("the server ended the watch")
}

/// A gRPC failure as `NOT_FOUND: session ... not found`.
fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: {}",
        watch_view::code_name(status.code()),
        status.message()
    )
}

/// Writes `text` now: a piped reader should see each update as it happens.
fn print_flushed(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
}

/// JetStream on `NATS_URL`; connects in the background if NATS is down.
async fn jetstream_from_env() -> anyhow::Result<async_nats::jetstream::Context> {
    let url = setting("NATS_URL", "a NATS URL (nats://host:port)", |url| {
        url.split_once("://")
            .is_some_and(|(scheme, rest)| matches!(scheme, "nats" | "tls") && !rest.is_empty())
    })?;
    let client = events::connect(&url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    Ok(async_nats::jetstream::new(client))
}

/// The stream and subject names from `CINEMA_NATS_PREFIX` (default `cinema`).
fn topology_from_env() -> Result<Topology, config::ConfigError> {
    const VAR: &str = "CINEMA_NATS_PREFIX";
    if std::env::var(VAR).unwrap_or_default().trim().is_empty() {
        return Ok(Topology::new("cinema"));
    }
    let prefix = setting(VAR, "a subject prefix", |prefix| {
        prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })?;
    Ok(Topology::new(&prefix))
}

/// An environment variable that `valid` accepts, or the error `serve` would give.
fn setting(
    var: &'static str,
    expected: &'static str,
    valid: impl FnOnce(&str) -> bool,
) -> Result<String, config::ConfigError> {
    let value = std::env::var(var).unwrap_or_default();
    let value = value.trim();
    if !value.is_empty() && valid(value) {
        return Ok(value.to_owned());
    }
    let got = if value.is_empty() {
        "nothing".to_owned()
    } else {
        format!("{value:?}")
    };
    Err(config::ConfigError { var, expected, got })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn health(addr: &str) -> anyhow::Result<()> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(addr.to_owned())
            .with_context(|| format!("{addr} is not a valid address"))?
            .connect()
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .context("asking for health")?
            .into_inner()
            .status();
        anyhow::ensure!(
            status == ServingStatus::Serving,
            "{addr} is {}",
            status.as_str_name()
        );
        println!("{addr} is SERVING");
        Ok(())
    };
    tokio::time::timeout(HEALTH_TIMEOUT, check)
        .await
        .with_context(|| format!("{addr} did not answer within {HEALTH_TIMEOUT:?}"))?
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
}

fn print_demo(demo: &demo::Demo) {
    let s = &demo.session;
    println!(
        "Demo session: {} in {} at {} ({} seats at {} {:.2})",
        s.movie_title,
        s.room,
        s.starts_at.to_rfc3339(),
        s.total_seats(),
        s.currency,
        s.price_cents as f64 / 100.0
    );
    println!("  SESSION_ID={}", s.session_id);
    println!("  ADMIN_TOKEN={}", demo.admin_token);
    for (user, token) in &demo.user_tokens {
        println!("  {}_TOKEN={token}", user.to_uppercase());
    }
}
