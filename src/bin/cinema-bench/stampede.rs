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

use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;
use tokio::{sync::Barrier, task::JoinSet};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::{
    Target,
    client::{
        Minter, code_of, confirm, connect, connections_for, create_session, reserve, room_labels,
    },
    cpu::{CpuSample, CpuUsage},
    database::ServerDatabase,
    report::{Check, finish},
    stats::{CallFigures, Calls, Latencies, Summary, millis, summary_text},
};
use cinema::proto::v1::{Reservation, booking_service_client::BookingServiceClient};

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

const ROWS: u32 = 4;
const SEATS_PER_ROW: u32 = 4;

#[derive(Serialize)]
struct Figures {
    callers: u32,
    connections: u32,
    races: Vec<RaceFigures>,
}

#[derive(Serialize)]
struct RaceFigures {
    race: &'static str,
    /// The seats each caller asked for, by share of callers.
    wanted: Vec<Vec<String>>,
    winners: usize,
    /// Every answer: rate over the race's wall time, percentiles, codes.
    answers: CallFigures,
    losers_latency_ms: Option<Summary>,
    winners_latency_ms: Option<Summary>,
    /// First call sent to last answer received.
    wall_ms: f64,
    /// Refusals that named a seat as SEAT_UNAVAILABLE.
    seat_unavailable: usize,
    /// From the release to the last answer.
    cpu: CpuUsage,
    postgres: Option<Transactions>,
}

/// Transactions PostgreSQL counted in the server's database.
#[derive(Serialize)]
struct Transactions {
    /// From just before the race until its counts were published.
    during_race: i64,
    /// An idle window of the same length just before.
    idle_window: i64,
    /// during_race - idle_window: what the race itself caused, roughly.
    attributable: i64,
}

pub async fn run(args: StampedeArgs) -> anyhow::Result<bool> {
    let database = match &args.target.database_url {
        Some(url) => Some(ServerDatabase::connect(url).await?),
        None => None,
    };
    let minter = Minter::from_env()?;
    let connections = connections_for(&args.target.addr, args.connections).await?;
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

/// One caller's outcome.
struct Answer {
    wanted: Vec<String>,
    took: Duration,
    answer: Result<Reservation, Status>,
}

async fn race(
    kind: Race,
    args: &StampedeArgs,
    minter: &Minter,
    connections: &[Channel],
    database: Option<&ServerDatabase>,
) -> anyhow::Result<(RaceFigures, Vec<Check>)> {
    let name = match kind {
        Race::LastTwo => "last-two",
        _ => "one-seat",
    };
    let control = connect(&args.target.addr).await?;
    let session_id = create_session(&control, &minter.admin()?, ROWS, SEATS_PER_ROW).await?;
    let labels = room_labels(ROWS, SEATS_PER_ROW);
    let wanted: Vec<Vec<String>> = match kind {
        Race::LastTwo => {
            let (first, last) = labels.split_at(labels.len() - 2);
            fill(&control, minter, &session_id, first).await?;
            if database.is_some() {
                // The fill's own transactions (and its events relayed and
                // consumed) are counted before the idle window starts.
                tokio::time::sleep(args.stats_wait).await;
            }
            vec![vec![last[0].clone()], vec![last[1].clone()], last.to_vec()]
        }
        _ => vec![vec![labels[0].clone()]],
    };
    let before = match database {
        Some(database) => Some(idle_window(database, args.stats_wait).await?),
        None => None,
    };

    eprintln!("{name}: {} callers on {wanted:?}", args.callers);
    let barrier = Arc::new(Barrier::new(args.callers as usize + 1));
    let mut callers = JoinSet::new();
    for i in 0..args.callers as usize {
        let bearer = minter.bearer(&format!("bench-stampede-{i}"), false)?;
        let mut booking = BookingServiceClient::new(connections[i % connections.len()].clone());
        let (barrier, session_id) = (Arc::clone(&barrier), session_id.clone());
        let seats = wanted[i % wanted.len()].clone();
        callers.spawn(async move {
            barrier.wait().await;
            let started = Instant::now();
            let answer = reserve(&mut booking, &bearer, &session_id, &seats).await;
            Answer {
                wanted: seats,
                took: started.elapsed(),
                answer,
            }
        });
    }
    let cpu_before = CpuSample::take(args.target.server_pid)?;
    barrier.wait().await;
    let released = Instant::now();
    let mut answers = Vec::with_capacity(args.callers as usize);
    while let Some(answer) = callers.join_next().await {
        answers.push(answer.context("a caller task failed")?);
    }
    let wall = released.elapsed();
    let cpu = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
    eprintln!(
        "{name}: every caller answered in {:.1} ms",
        wall.as_secs_f64() * 1000.0
    );

    let postgres = match (database, before) {
        (Some(database), Some((idle_window, started_at))) => {
            tokio::time::sleep(args.stats_wait).await;
            let during_race = database.transactions().await? - started_at;
            Some(Transactions {
                during_race,
                idle_window,
                attributable: during_race - idle_window,
            })
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
            Race::LastTwo => (labels.len() - 2) as i64,
            _ => 0,
        };
        checks.push(Check::equal(
            &format!("{name}: reservations stored = winners"),
            winners.len() as i64,
            database.reservations(&session_id).await? - fillers,
        ));
        checks.push(Check::equal(
            &format!("{name}: seats sold twice"),
            0,
            database
                .seats_sold_twice(std::slice::from_ref(&session_id))
                .await?,
        ));
    }
    Ok((figures, checks))
}

/// Holds `labels` one by one for a user of its own.
async fn fill(
    channel: &Channel,
    minter: &Minter,
    session_id: &str,
    labels: &[String],
) -> anyhow::Result<()> {
    let bearer = minter.bearer("bench-filler", false)?;
    let mut booking = BookingServiceClient::new(channel.clone());
    for label in labels {
        reserve(
            &mut booking,
            &bearer,
            session_id,
            std::slice::from_ref(label),
        )
        .await
        .map_err(|status| anyhow::anyhow!("holding {label} before the race: {status:?}"))?;
    }
    Ok(())
}

/// Counts transactions over an idle window of `length`; returns the count
/// and the counter at its end.
async fn idle_window(database: &ServerDatabase, length: Duration) -> anyhow::Result<(i64, i64)> {
    if !length.is_zero() {
        eprintln!("counting PostgreSQL transactions over {length:?} of idle time first");
    }
    let start = database.transactions().await?;
    tokio::time::sleep(length).await;
    let end = database.transactions().await?;
    Ok((end - start, end))
}

/// Winners pay, so that "sold twice" is checked on sales, not only holds.
async fn pay_winners(
    channel: &Channel,
    minter: &Minter,
    winners: &[&Answer],
) -> anyhow::Result<usize> {
    let mut booking = BookingServiceClient::new(channel.clone());
    let mut paid = 0;
    for winner in winners {
        let Ok(reservation) = &winner.answer else {
            continue;
        };
        let bearer = minter.bearer(&reservation.user_id, false)?;
        if confirm(&mut booking, &bearer, &reservation.reservation_id)
            .await
            .is_ok()
        {
            paid += 1;
        }
    }
    Ok(paid)
}

fn figures(
    name: &'static str,
    wanted: Vec<Vec<String>>,
    answers: &[Answer],
    (wall, cpu): (Duration, CpuUsage),
    postgres: Option<Transactions>,
) -> RaceFigures {
    let mut all = Calls::default();
    for answer in answers {
        all.record_took(answer.took, code_of(&answer.answer));
    }
    let latencies = |won: bool| {
        Latencies::new(
            answers
                .iter()
                .filter(|a| a.answer.is_ok() == won)
                .map(|a| a.took)
                .collect(),
        )
        .summary()
    };
    RaceFigures {
        race: name,
        wanted,
        winners: answers.iter().filter(|a| a.answer.is_ok()).count(),
        answers: all.figures(wall.as_secs_f64()),
        losers_latency_ms: latencies(false),
        winners_latency_ms: latencies(true),
        wall_ms: millis(wall),
        seat_unavailable: answers
            .iter()
            .filter(|a| {
                a.answer
                    .as_ref()
                    .is_err_and(|s| !unavailable_seats(s).is_empty())
            })
            .count(),
        cpu,
        postgres,
    }
}

fn race_checks(kind: Race, name: &str, answers: &[Answer], winners: &[&Answer]) -> Vec<Check> {
    let mut checks = Vec::new();
    if kind == Race::OneSeat {
        checks.push(Check::equal(&format!("{name}: winners"), 1, winners.len()));
    } else {
        let mut taken = BTreeSet::new();
        let twice = winners
            .iter()
            .flat_map(|w| &w.wanted)
            .filter(|label| !taken.insert(label.as_str()))
            .count();
        checks.push(Check::equal(
            &format!("{name}: seats won by two callers"),
            0,
            twice,
        ));
        checks.push(Check::holds(
            &format!("{name}: winners"),
            "1 or 2",
            winners.len(),
            (1..=2).contains(&winners.len()),
        ));
    }
    let outside = answers
        .iter()
        .filter(|a| match &a.answer {
            Ok(_) => false,
            Err(status) => !refusal_allowed(status, &a.wanted),
        })
        .count();
    checks.push(Check::equal(
        &format!("{name}: refusals outside the contract"),
        0,
        outside,
    ));
    checks
}

/// ABORTED, or FAILED_PRECONDITION naming only requested seats.
fn refusal_allowed(status: &Status, wanted: &[String]) -> bool {
    match status.code() {
        Code::Aborted => true,
        Code::FailedPrecondition => {
            let named = unavailable_seats(status);
            !named.is_empty() && named.iter().all(|label| wanted.contains(label))
        }
        _ => false,
    }
}

/// The seats a refusal names as SEAT_UNAVAILABLE.
fn unavailable_seats(status: &Status) -> Vec<String> {
    status
        .get_details_precondition_failure()
        .map(|failure| {
            failure
                .violations
                .into_iter()
                .filter(|v| v.r#type == "SEAT_UNAVAILABLE")
                .map(|v| v.subject)
                .collect()
        })
        .unwrap_or_default()
}

fn text(race: &RaceFigures) -> String {
    let mut text = format!(
        "stampede {}: {} winners of {} callers on {:?}, all answered in {:.1} ms\n",
        race.race, race.winners, race.answers.calls, race.wanted, race.wall_ms
    );
    text.push_str(&race.answers.line("answers"));
    text.push_str(&format!(
        "losers         {}\nwinners        {}\nSEAT_UNAVAILABLE refusals: {}\n",
        summary_text(race.losers_latency_ms.as_ref()),
        summary_text(race.winners_latency_ms.as_ref()),
        race.seat_unavailable
    ));
    text.push_str(&format!(
        "CPU during the race: server {}, bench {:.2} s, machine {:.0}% busy\n",
        race.cpu
            .server_seconds
            .map_or("unknown".to_owned(), |s| format!("{s:.2} s")),
        race.cpu.bench_seconds,
        race.cpu.machine_busy_percent
    ));
    if let Some(pg) = &race.postgres {
        text.push_str(&format!(
            "PostgreSQL transactions: {} during the race, {} in an idle window as long, {} caused by the race\n",
            pg.during_race, pg.idle_window, pg.attributable
        ));
    }
    text
}
