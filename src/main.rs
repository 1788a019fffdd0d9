//! The `cinema` command line: `serve`, `migrate`, `token`, `demo`.

use std::{process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};

use cinema::{
    auth::Authenticator,
    config::{self, Settings},
    demo, server, store, telemetry,
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
}

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
            telemetry::init(config::log_format_from_env()?);
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
    telemetry::init(settings.log_format);
    if let Some(addr) = settings.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("serving metrics on {addr}"))?;
    }
    let listener = tokio::net::TcpListener::bind(settings.grpc_addr)
        .await
        .with_context(|| format!("listening on {}", settings.grpc_addr))?;
    server::run(settings, listener, shutdown_signal()).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
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
