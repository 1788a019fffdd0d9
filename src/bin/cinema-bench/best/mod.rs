//! `best`: ReserveBestAvailable under load, on sessions that refuse a hold
//! leaving a single seat stranded (`allow_single_seat_gaps` false), in two
//! parts:
//!
//! - `stampede`: `--callers` callers, each its own user, released at once
//!   on one fresh session with room for all of them, each asking for
//!   `--quantity` adjacent seats. Every caller must get a block: disjoint,
//!   side by side in one row, none told ABORTED, no seat left stranded.
//! - `throughput`: `--clients` clients ask for `--quantity` seats again
//!   and again over `--sessions` fresh sessions until each answers
//!   NOT_ENOUGH_ADJACENT_SEATS. No seat given twice, every block side by
//!   side, no INTERNAL, and no ABORTED or NOT_ENOUGH_ADJACENT_SEATS while
//!   a block was certainly left.
//!
//! The stampede runs first, on a server not yet busy with the events of
//! the throughput part. With a database URL both parts also read the
//! server's tables to check what the answers said.

mod audit;
mod calls;
mod judge;
mod stampede;
mod throughput;
mod throughput_report;

use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use self::{stampede::StampedeFigures, throughput::ThroughputFigures};
use crate::{
    Target,
    client::{Minter, connections_for},
    database::ServerDatabase,
    report::{Check, finish},
};

#[derive(Args)]
pub struct BestArgs {
    #[command(flatten)]
    target: Target,
    /// Which part to run.
    #[arg(long, value_enum, default_value_t = Part::Both)]
    part: Part,
    /// Adjacent seats each call asks for.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    quantity: u32,
    /// Rows of every session (a rectangle of standard seats).
    #[arg(long, default_value_t = 26, value_parser = clap::value_parser!(u32).range(1..=26))]
    rows: u32,
    /// Seats in each row.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=50))]
    seats_per_row: u32,
    /// Stampede: callers released at once on one session.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    callers: u32,
    /// Throughput: concurrent clients.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    clients: u32,
    /// Throughput: sessions to fill.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    sessions: u32,
    /// HTTP/2 connections the callers (or clients) share.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Throughput: stop calling after this long, full or not (a check fails
    /// if a session was not filled).
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    Stampede,
    Throughput,
    Both,
}

#[derive(Serialize)]
struct Figures {
    quantity: u32,
    rows: u32,
    seats_per_row: u32,
    stampede: Option<StampedeFigures>,
    throughput: Option<ThroughputFigures>,
}

pub async fn run(args: BestArgs) -> anyhow::Result<bool> {
    let database = ServerDatabase::connect_if_given(args.target.database_url.as_deref()).await?;
    let measured = measure(&args, database.as_ref()).await;
    if let Some(database) = database {
        database.close().await;
    }
    let (figures, checks) = measured?;
    let mut text = String::new();
    if let Some(stampede) = &figures.stampede {
        text.push_str(&stampede::text(stampede));
    }
    if let Some(throughput) = &figures.throughput {
        text.push_str(&throughput_report::text(throughput));
    }
    finish(
        "best",
        &text,
        &figures,
        &checks,
        args.target.json.as_deref(),
    )
}

/// Runs the parts asked for, the stampede first.
async fn measure(
    args: &BestArgs,
    database: Option<&ServerDatabase>,
) -> anyhow::Result<(Figures, Vec<Check>)> {
    let minter = Minter::from_env()?;
    let connections = connections_for(&args.target.server, args.connections).await?;
    let mut checks = Vec::new();
    let mut figures = Figures {
        quantity: args.quantity,
        rows: args.rows,
        seats_per_row: args.seats_per_row,
        stampede: None,
        throughput: None,
    };
    if args.part != Part::Throughput {
        let (stampede, stampede_checks) =
            stampede::run(args, &minter, &connections, database).await?;
        figures.stampede = Some(stampede);
        checks.extend(stampede_checks);
    }
    if args.part != Part::Stampede {
        let (throughput, calls) = throughput::run(args, &minter, &connections, database).await?;
        let quantity = args.quantity as usize;
        checks.extend(throughput_report::checks(&throughput, &calls, quantity));
        figures.throughput = Some(throughput);
    }
    Ok((figures, checks))
}
