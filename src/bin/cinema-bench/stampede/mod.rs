//! `stampede`: `--callers` callers, each its own user, wait at a barrier and
//! are then released at once on the same seats.
//!
//! - `one-seat`: everyone wants A1 of a fresh session: exactly one wins.
//! - `last-two`: 14 of a 16-seat session are held first; then a third of
//!   the callers want D3, a third D4 and a third both: no seat goes to two
//!   winners.
//!
//! Every refusal must be one the contract allows (ABORTED, or
//! FAILED_PRECONDITION naming requested seats as SEAT_UNAVAILABLE). With a
//! database URL, the report also counts the transactions PostgreSQL ran
//! during the race, next to an idle window of the same length just before
//! (the server's sweeper and health probe run a few every second).

mod callers;
mod checks;
mod figures;
mod transactions;

use std::time::Duration;

use clap::{Args, ValueEnum};
use tonic::transport::Channel;

use self::{
    callers::{Answer, fill, pay_winners, release},
    checks::{database_checks, race_checks},
    figures::{Figures, RaceFigures, figures, text},
    transactions::{count_race, idle_window},
};
use crate::{
    Target,
    client::{Minter, connect, connections_for, create_session, room_labels},
    database::ServerDatabase,
    report::{Check, finish},
};

#[derive(Args)]
pub struct StampedeArgs {
    #[command(flatten)]
    target: Target,
    /// Callers released at once.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    callers: u32,
    /// HTTP/2 connections the callers share.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Which race to run.
    #[arg(long, value_enum, default_value_t = Race::Both)]
    race: Race,
    /// How long to wait for PostgreSQL to publish its transaction counts
    /// (backends publish them at most 10 s after going idle); also the
    /// length of the idle window measured before the race.
    #[arg(long, default_value = "11s", value_parser = humantime::parse_duration)]
    stats_wait: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Race {
    OneSeat,
    LastTwo,
    Both,
}

impl Race {
    /// The race's name in the report (only the two real races are run).
    fn name(self) -> &'static str {
        match self {
            Race::LastTwo => "last-two",
            _ => "one-seat",
        }
    }
}

const ROWS: u32 = 4;
const SEATS_PER_ROW: u32 = 4;

pub async fn run(args: StampedeArgs) -> anyhow::Result<bool> {
    let database = ServerDatabase::connect_if_given(args.target.database_url.as_deref()).await?;
    let minter = Minter::from_env()?;
    let connections = connections_for(&args.target.server, args.connections).await?;
    let mut races = Vec::new();
    let mut checks = Vec::new();
    let kinds: &[Race] = match args.race {
        Race::Both => &[Race::OneSeat, Race::LastTwo],
        Race::OneSeat => &[Race::OneSeat],
        Race::LastTwo => &[Race::LastTwo],
    };
    for &kind in kinds {
        let (figures, race_checks) =
            race(kind, &args, &minter, &connections, database.as_ref()).await?;
        races.push(figures);
        checks.extend(race_checks);
    }
    if let Some(database) = database {
        database.close().await;
    }
    let figures = Figures {
        callers: args.callers,
        connections: args.connections,
        races,
    };
    let text: String = figures.races.iter().map(text).collect();
    finish(
        "stampede",
        &text,
        &figures,
        &checks,
        args.target.json.as_deref(),
    )
}

/// One race on a fresh session: set up, idle window, release, count, pay,
/// check.
async fn race(
    kind: Race,
    args: &StampedeArgs,
    minter: &Minter,
    connections: &[Channel],
    database: Option<&ServerDatabase>,
) -> anyhow::Result<(RaceFigures, Vec<Check>)> {
    let name = kind.name();
    let control = connect(&args.target.server).await?;
    let session_id = create_session(&control, &minter.admin()?, ROWS, SEATS_PER_ROW).await?;
    let labels = room_labels(ROWS, SEATS_PER_ROW);
    let wanted = wanted_seats(kind, &control, minter, &session_id, &labels, args, database).await?;
    let before = match database {
        Some(database) => Some(idle_window(database, args.stats_wait).await?),
        None => None,
    };

    eprintln!("{name}: {} callers on {wanted:?}", args.callers);
    let (answers, wall, cpu) = release(args, minter, connections, &session_id, &wanted).await?;
    eprintln!(
        "{name}: every caller answered in {:.1} ms",
        wall.as_secs_f64() * 1000.0
    );

    let postgres = match (database, before) {
        (Some(database), Some(before)) => {
            Some(count_race(database, before, args.stats_wait).await?)
        }
        _ => None,
    };
    let winners: Vec<&Answer> = answers.iter().filter(|a| a.answer.is_ok()).collect();
    let sales = pay_winners(&control, minter, &winners).await?;
    let figures = figures(name, wanted, &answers, (wall, cpu), postgres);
    let mut checks = race_checks(kind, name, &answers, &winners);
    checks.push(Check::equal(
        &format!("{name}: winners paid"),
        winners.len(),
        sales,
    ));
    if let Some(database) = database {
        let fillers = match kind {
            Race::LastTwo => labels.len() - 2,
            _ => 0,
        };
        let stored = database_checks(name, database, &session_id, winners.len(), fillers);
        checks.extend(stored.await?);
    }
    Ok((figures, checks))
}

/// The seats each share of callers asks for. For `last-two`, every other
/// seat is held first.
async fn wanted_seats(
    kind: Race,
    control: &Channel,
    minter: &Minter,
    session_id: &str,
    labels: &[String],
    args: &StampedeArgs,
    database: Option<&ServerDatabase>,
) -> anyhow::Result<Vec<Vec<String>>> {
    match kind {
        Race::LastTwo => {
            let (first, last) = labels.split_at(labels.len() - 2);
            fill(control, minter, session_id, first).await?;
            if database.is_some() {
                // The fill's own transactions (and its events relayed and
                // consumed) are counted before the idle window starts.
                tokio::time::sleep(args.stats_wait).await;
            }
            Ok(vec![
                vec![last[0].clone()],
                vec![last[1].clone()],
                last.to_vec(),
            ])
        }
        _ => Ok(vec![vec![labels[0].clone()]]),
    }
}
