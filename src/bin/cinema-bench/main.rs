//! `cinema-bench`: load scenarios against a running `cinema serve`, through
//! the generated Rust client.
//!
//! - `throughput`: many clients reserving distinct seats (and paying for a
//!   share of them), beside a same-run baseline of the same SQL driven
//!   straight at PostgreSQL;
//! - `stampede`: many callers released at once on one seat, and on the last
//!   two seats of a session;
//! - `flow`: reserve, pay and read the purchase history at a steady rate;
//! - `expiry`: how late after its end a hold shows as AVAILABLE on the seat
//!   map and on a watch stream;
//! - `watch`: fan-out latency of live seat maps;
//! - `best`: ReserveBestAvailable under load: a stampede on one session,
//!   and clients filling sessions block by block.
//!
//! Each prints its figures and correctness checks to stdout (progress to
//! stderr), can write them as JSON (`--json`), and exits non-zero when a
//! check fails. Tokens are minted with `CINEMA_JWT_SECRET`, the server's own
//! secret. Run the server with `CINEMA_RATE_LIMIT=off`: the bench's users
//! call far more often than any person.

// What the scenarios share.
mod baseline;
mod client;
mod cpu;
mod database;
mod memory;
mod progress;
mod report;
mod seat_supply;
mod stats;

// The scenarios, one module each.
mod best;
mod expiry;
mod flow;
mod stampede;
mod throughput;
mod watch;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cinema-bench", version, about = "Load scenarios for cinema")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Clients reserving distinct seats as fast as they can, against a
    /// same-run baseline of the bare SQL.
    Throughput(throughput::ThroughputArgs),
    /// Callers released at once on one seat, and on a session's last two seats.
    Stampede(stampede::StampedeArgs),
    /// Reserve, pay, read the history: whole purchases at a steady rate.
    Flow(flow::FlowArgs),
    /// How late after its end a hold shows as AVAILABLE (map and stream).
    Expiry(expiry::ExpiryArgs),
    /// Fan-out latency of live seat maps: many watchers, one change at a time.
    Watch(watch::WatchArgs),
    /// ReserveBestAvailable: a stampede on one session, then clients
    /// filling sessions block by block.
    Best(best::BestArgs),
}

/// Where the server is and where the figures go; every scenario takes these.
#[derive(Args, Clone)]
pub struct Target {
    #[command(flatten)]
    pub server: cinema::config::ServerAddress,
    /// The server's PostgreSQL database: correctness checks, transaction
    /// counts and the baseline need it.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Also write the figures and checks to this file as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The server's process id: report its peak memory (VmRSS).
    #[arg(long)]
    pub server_pid: Option<u32>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => return fail(anyhow::Error::new(err).context("starting the async runtime")),
    };
    let outcome = runtime.block_on(async {
        match cli.scenario {
            Scenario::Throughput(args) => throughput::run(args).await,
            Scenario::Stampede(args) => stampede::run(args).await,
            Scenario::Flow(args) => flow::run(args).await,
            Scenario::Expiry(args) => expiry::run(args).await,
            Scenario::Watch(args) => watch::run(args).await,
            Scenario::Best(args) => best::run(args).await,
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("cinema-bench: a correctness check failed (see checks)");
            ExitCode::FAILURE
        }
        Err(err) => fail(err),
    }
}

fn fail(err: anyhow::Error) -> ExitCode {
    eprintln!("cinema-bench: {err:#}");
    ExitCode::FAILURE
}
