//! `throughput`: `--clients` clients, each its own user, reserve one distinct
//! seat after another across `--sessions` sessions for `--duration`, and pay
//! for `--confirm-percent` of their holds. Before each such run, the same
//! number of clients run the same reservation SQL straight at PostgreSQL for
//! the same time (the baseline). Baseline and service alternate for
//! `--rounds` rounds, so both see the same drift of a shared machine, and
//! the report gives service / bare database per round and overall.

mod clients;
mod figures;

use std::{sync::Arc, time::Duration};

use clap::Args;

use self::{
    clients::drive,
    figures::{Figures, RoundCalls, Totals, checks, text},
};
use crate::{
    Target,
    baseline::{Baseline, BaselinePlan},
    client::{Minter, connect, connections_for, create_sessions},
    cpu::CpuSample,
    database::ServerDatabase,
    memory::RssPeak,
    report::{Check, finish},
    seat_supply::SeatSupply,
    stats::Calls,
};

#[derive(Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    target: Target,
    /// Concurrent clients (and baseline connections).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    clients: u32,
    /// How long each run (service, baseline) of a round lasts.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Rounds of baseline-then-service.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Sessions the seats are spread over (26 x 50 seats each), for the
    /// service and again for the baseline.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    sessions: u32,
    /// Share of successful holds that are paid for, in percent.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    confirm_percent: u32,
    /// HTTP/2 connections the clients share.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Skip the bare-database baseline.
    #[arg(long)]
    no_baseline: bool,
    /// The hold the baseline writes (the server uses its own setting).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    baseline_hold: Duration,
}

const ROWS: u32 = 26;
const SEATS_PER_ROW: u32 = 50;

pub async fn run(args: ThroughputArgs) -> anyhow::Result<bool> {
    let database = ServerDatabase::connect_if_given(args.target.database_url.as_deref()).await?;
    let baseline = match (&args.target.database_url, args.no_baseline) {
        (Some(url), false) => {
            let plan = BaselinePlan {
                clients: args.clients,
                sessions: args.sessions,
                rows: ROWS,
                seats_per_row: SEATS_PER_ROW,
                hold: args.baseline_hold,
            };
            Some(Baseline::prepare(url, &plan).await?)
        }
        _ => None,
    };
    let measured = measure(&args, baseline.as_ref()).await;
    let baseline_ran_out = baseline.as_ref().is_some_and(Baseline::exhausted);
    if let Some(baseline) = baseline {
        baseline.drop_database().await;
    }
    let (figures, confirms, sessions) = measured?;
    let mut checks = checks(&figures, &confirms, database.as_ref(), &sessions).await?;
    checks.push(Check::equal(
        "ran out of seats (add --sessions)",
        false,
        figures.ran_out_of_seats || baseline_ran_out,
    ));
    if let Some(database) = database {
        database.close().await;
    }
    finish(
        "throughput",
        &text(&figures),
        &figures,
        &checks,
        args.target.json.as_deref(),
    )
}

/// Alternates baseline and service runs; returns the figures, the confirm
/// calls and the service's sessions.
async fn measure(
    args: &ThroughputArgs,
    baseline: Option<&Baseline>,
) -> anyhow::Result<(Figures, Calls, Vec<String>)> {
    let minter = Minter::from_env()?;
    let control = connect(&args.target.server).await?;
    let admin = minter.admin()?;
    let sessions = create_sessions(&control, &admin, args.sessions, ROWS, SEATS_PER_ROW).await?;
    eprintln!(
        "{} sessions of {} seats",
        sessions.len(),
        ROWS * SEATS_PER_ROW
    );
    let connections = connections_for(&args.target.server, args.connections).await?;
    let seats = Arc::new(SeatSupply::new(sessions.clone(), ROWS, SEATS_PER_ROW)?);

    let rss = RssPeak::watch(args.target.server_pid);
    let mut totals = Totals::default();
    for round in 1..=args.rounds {
        let baseline = match baseline {
            Some(baseline) => Some(run_baseline(baseline, args, round).await?),
            None => None,
        };
        eprintln!("round {round}: service, {} clients", args.clients);
        let cpu_before = CpuSample::take(args.target.server_pid)?;
        let (reserves, confirms, seconds) =
            drive(args, &minter, &connections, Arc::clone(&seats)).await?;
        let cpu = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
        let calls = RoundCalls {
            baseline,
            reserves,
            confirms,
            seconds,
            cpu,
        };
        totals.add(round, calls);
    }
    let with_baseline = baseline.is_some();
    let (figures, confirms) = totals.into_figures(args, with_baseline, &seats, rss.stop())?;
    Ok((figures, confirms, sessions))
}

/// One round's baseline run: its calls and the seconds they ran.
async fn run_baseline(
    baseline: &Baseline,
    args: &ThroughputArgs,
    round: u32,
) -> anyhow::Result<(Calls, f64)> {
    eprintln!(
        "round {round}: baseline, {} connections straight to PostgreSQL",
        args.clients
    );
    baseline.run(args.duration).await
}
