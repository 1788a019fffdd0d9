//! The `cinema` command line: `serve`, `worker`, `migrate`, `token`, `demo`,
//! `events tail`, `watch`, `health`. Each subcommand flattens the settings
//! groups it reads (`crate::config`), so its `--help` lists them.

pub mod connect;
mod demo;
mod health;
mod serve;
mod tail;
mod ticket;
mod watch;

use std::{future::Future, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};

use crate::{
    auth::{ADMIN_ROLE, Authenticator, STAFF_ROLE},
    config::{
        CONFIGURATION_ERROR, DatabaseSettings, JwtSettings, LogSettings, NatsSettings,
        OptionalJwtSettings, ScheduleSettings, ServerAddress, Settings, TicketSettings,
    },
};

#[derive(Parser)]
#[command(name = "cinema", version, about = "A cinema box office over gRPC")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server (applies migrations first unless CINEMA_AUTO_MIGRATE=false).
    Serve(Box<Settings>),
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(flatten)]
        logs: LogSettings,
    },
    /// Print a development token signed with CINEMA_JWT_SECRET.
    Token {
        /// The user id (the token's `sub`).
        #[arg(long)]
        user: String,
        /// Grant the admin role.
        #[arg(long)]
        admin: bool,
        /// Grant the staff role (admits tickets at the door).
        #[arg(long)]
        staff: bool,
        /// How long the token is valid, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        #[command(flatten)]
        jwt: JwtSettings,
    },
    /// Print the public key that checks ticket codes (CINEMA_TICKET_KEY's,
    /// or the one derived from CINEMA_JWT_SECRET), or a new private key.
    TicketKey {
        /// Print a new private key (a seed for CINEMA_TICKET_KEY) and its public key instead.
        #[arg(long)]
        new: bool,
        #[command(flatten)]
        jwt: OptionalJwtSettings,
        #[command(flatten)]
        tickets: TicketSettings,
    },
    /// Work with ticket codes offline.
    Ticket {
        #[command(subcommand)]
        command: TicketCommand,
    },
    /// Publish a small programme (two movies, two rooms, three shows tonight in
    /// São Paulo) and print it with tokens to try it.
    Demo {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(flatten)]
        jwt: JwtSettings,
        #[command(flatten)]
        schedule: ScheduleSettings,
    },
    /// Run only the events consumer that keeps the sales figures, until Ctrl-C or SIGTERM.
    Worker {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(flatten)]
        nats: NatsSettings,
        #[command(flatten)]
        logs: LogSettings,
    },
    /// Look at the event stream.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Draw a session's live seat map, redrawn on every change, until Ctrl-C.
    Watch(watch::WatchArgs),
    /// Exit 0 if the server reports SERVING, 1 otherwise (for container health checks).
    Health {
        #[command(flatten)]
        server: ServerAddress,
    },
}

#[derive(Subcommand)]
enum TicketCommand {
    /// Check a ticket code with the public key alone; exit 0 and print the
    /// ticket id if it is genuine, exit 1 if not.
    Verify {
        /// The code, as the QR code carries it.
        code: String,
        /// The public key (`cinema ticket-key` prints it).
        #[arg(long, env = "CINEMA_TICKET_PUBLIC_KEY")]
        public_key: String,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print every event as it arrives, one line each, until Ctrl-C.
    Tail {
        /// Start from the oldest event the stream keeps instead of from now.
        #[arg(long)]
        from_start: bool,
        #[command(flatten)]
        nats: NatsSettings,
    },
}

/// A command line that cannot run. A refused setting is a configuration
/// error, printed as such (exit code 2); anything else gets clap's own
/// answer (usage errors exit 2, `--help` and `--version` print and exit 0).
pub fn refuse(refused: &clap::Error) -> ExitCode {
    let text = refused.to_string();
    match text.strip_prefix("error: ") {
        Some(message) if message.starts_with(CONFIGURATION_ERROR) => {
            eprint!("cinema: {message}");
            ExitCode::from(2)
        }
        _ => refused.exit(),
    }
}

/// Runs the command; a failure is printed, and is exit code 1.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => return fail(anyhow::Error::new(err).context("starting the async runtime")),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(err),
    }
}

fn fail(err: anyhow::Error) -> ExitCode {
    eprintln!("cinema: {err:#}");
    ExitCode::FAILURE
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(settings) => serve::serve(*settings).await,
        Command::Migrate { database, logs } => serve::migrate(&database, logs).await,
        Command::Worker {
            database,
            nats,
            logs,
        } => serve::worker(&database, &nats, logs).await,
        Command::Token {
            user,
            admin,
            staff,
            ttl,
            jwt,
        } => {
            let roles: Vec<&str> = [(admin, ADMIN_ROLE), (staff, STAFF_ROLE)]
                .into_iter()
                .filter_map(|(granted, role)| granted.then_some(role))
                .collect();
            let token = Authenticator::new(&jwt.secret).mint_with_roles(&user, &roles, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::TicketKey { new, jwt, tickets } => ticket::key(new, &jwt, &tickets),
        Command::Ticket {
            command: TicketCommand::Verify { code, public_key },
        } => ticket::verify(&code, &public_key),
        Command::Demo {
            database,
            jwt,
            schedule,
        } => demo::run(&database, &jwt, &schedule).await,
        Command::Events {
            command: EventsCommand::Tail { from_start, nats },
        } => until_stopped(tail::tail(&nats, from_start)).await,
        Command::Watch(args) => until_stopped(watch::watch(args)).await,
        Command::Health { server } => health::check(&server).await,
    }
}

/// Runs `work` until it ends or Ctrl-C / SIGTERM arrives (a clean stop).
async fn until_stopped(work: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::select! {
        done = work => done,
        () = shutdown_signal() => Ok(()),
    }
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
