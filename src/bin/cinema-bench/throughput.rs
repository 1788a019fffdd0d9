//! `throughput`: `--clients` clients, each its own user, reserve one distinct
//! seat after another across `--sessions` sessions for `--duration`, and pay
//! for `--confirm-percent` of their holds. Before each such run, the same
//! number of clients run the same reservation SQL straight at PostgreSQL for
//! the same time (the baseline). Baseline and service alternate for
//! `--rounds` rounds, so both see the same drift of a shared machine, and
//! the report gives service / bare database per round and overall.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tokio::task::JoinSet;
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use crate::{
    Target,
    baseline::{Baseline, BaselinePlan},
    client::{Minter, code_of, confirm, connect, connections_for, create_session, reserve},
    cpu::{CpuSample, CpuUsage},
    database::ServerDatabase,
    memory::RssPeak,
    progress::Progress,
    report::{Check, finish},
    seat_supply::SeatSupply,
    stats::{CallFigures, Calls},
};
use cinema::proto::v1::booking_service_client::BookingServiceClient;

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

#[derive(Serialize)]
struct Figures {
    clients: u32,
    connections: u32,
    rounds: u32,
    /// Seconds the service ran, over every round.
    duration_seconds: f64,
    sessions: u32,
    confirm_percent: u32,
    reserve: CallFigures,
    confirm: CallFigures,
    /// The bare SQL of ReserveSeats at the same concurrency.
    baseline_reserve: Option<CallFigures>,
    /// Successful reserves per second, service / baseline, over every round.
    service_to_baseline: Option<f64>,
    /// Each round's successful reserves per second.
    each_round: Vec<Round>,
    seats_used: usize,
    ran_out_of_seats: bool,
    server_peak_rss_kib: Option<u64>,
    /// Over the service runs; machine busy is their mean.
    cpu: CpuUsage,
}

#[derive(Serialize)]
struct Round {
    baseline_ok_per_second: Option<f64>,
    service_ok_per_second: f64,
    service_to_baseline: Option<f64>,
}

/// `service / baseline`, two decimals; None without a baseline.
fn ratio(service: f64, baseline: Option<f64>) -> Option<f64> {
    baseline
        .filter(|b| *b > 0.0)
        .map(|b| (service / b * 100.0).round() / 100.0)
}

pub async fn run(args: ThroughputArgs) -> anyhow::Result<bool> {
    let database = match &args.target.database_url {
        Some(url) => Some(ServerDatabase::connect(url).await?),
        None => None,
    };
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
    let control = connect(&args.target.addr).await?;
    let admin = minter.admin()?;
    let mut sessions = Vec::new();
    for _ in 0..args.sessions {
        sessions.push(create_session(&control, &admin, ROWS, SEATS_PER_ROW).await?);
    }
    eprintln!(
        "{} sessions of {} seats",
        sessions.len(),
        ROWS * SEATS_PER_ROW
    );
    let connections = connections_for(&args.target.addr, args.connections).await?;
    let seats = Arc::new(SeatSupply::new(sessions.clone(), ROWS, SEATS_PER_ROW)?);

    let rss = RssPeak::watch(args.target.server_pid);
    let (mut reserves, mut confirms, mut seconds) = (Calls::default(), Calls::default(), 0.0);
    let (mut baseline_calls, mut baseline_seconds) = (Calls::default(), 0.0);
    let mut rounds = Vec::new();
    let mut cpu: Option<CpuUsage> = None;
    for round in 1..=args.rounds {
        let mut baseline_rate = None;
        if let Some(baseline) = baseline {
            eprintln!(
                "round {round}: baseline, {} connections straight to PostgreSQL",
                args.clients
            );
            let (calls, took) = baseline.run(args.duration).await?;
            baseline_rate = Some(calls.figures(took).ok_per_second);
            baseline_calls.merge(calls);
            baseline_seconds += took;
        }
        eprintln!("round {round}: service, {} clients", args.clients);
        let cpu_before = CpuSample::take(args.target.server_pid)?;
        let (r, c, took) = drive(args, &minter, &connections, Arc::clone(&seats)).await?;
        let used = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
        cpu = Some(cpu.map_or(used, |sum| sum.plus(used, round)));
        let service_rate = r.figures(took).ok_per_second;
        rounds.push(Round {
            baseline_ok_per_second: baseline_rate,
            service_ok_per_second: service_rate,
            service_to_baseline: ratio(service_rate, baseline_rate),
        });
        reserves.merge(r);
        confirms.merge(c);
        seconds += took;
    }
    let reserve = reserves.figures(seconds);
    let baseline_reserve = baseline.map(|_| baseline_calls.figures(baseline_seconds));
    let figures = Figures {
        clients: args.clients,
        connections: args.connections,
        rounds: args.rounds,
        duration_seconds: seconds,
        sessions: args.sessions,
        confirm_percent: args.confirm_percent,
        service_to_baseline: ratio(
            reserve.ok_per_second,
            baseline_reserve.as_ref().map(|b| b.ok_per_second),
        ),
        each_round: rounds,
        reserve,
        confirm: confirms.figures(seconds),
        baseline_reserve,
        seats_used: seats.used(),
        ran_out_of_seats: seats.exhausted(),
        server_peak_rss_kib: rss.stop(),
        cpu: cpu.context("no round ran")?,
    };
    Ok((figures, confirms, sessions))
}

/// Runs the clients until the time is up; returns reserves, confirms and
/// the seconds they ran.
async fn drive(
    args: &ThroughputArgs,
    minter: &Minter,
    connections: &[Channel],
    seats: Arc<SeatSupply<String>>,
) -> anyhow::Result<(Calls, Calls, f64)> {
    let progress = Arc::new(Progress::default());
    let ticker = progress.tick("service ");
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut clients = JoinSet::new();
    for client in 0..args.clients {
        let bearer = minter.bearer(&format!("bench-client-{client}"), false)?;
        let booking =
            BookingServiceClient::new(connections[client as usize % connections.len()].clone());
        clients.spawn(client_loop(
            booking,
            bearer,
            Arc::clone(&seats),
            Arc::clone(&progress),
            deadline,
            args.confirm_percent,
        ));
    }
    let (mut reserves, mut confirms) = (Calls::default(), Calls::default());
    while let Some(client) = clients.join_next().await {
        let (r, c) = client.context("a client task failed")?;
        reserves.merge(r);
        confirms.merge(c);
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.stop(ticker);
    Ok((reserves, confirms, seconds))
}

async fn client_loop(
    mut booking: BookingServiceClient<Channel>,
    bearer: MetadataValue<Ascii>,
    seats: Arc<SeatSupply<String>>,
    progress: Arc<Progress>,
    deadline: Instant,
    confirm_percent: u32,
) -> (Calls, Calls) {
    let (mut reserves, mut confirms) = (Calls::default(), Calls::default());
    let mut held = 0u32;
    while Instant::now() < deadline {
        let Some((session_id, label)) = seats.next() else {
            break;
        };
        let started = Instant::now();
        let answer = reserve(&mut booking, &bearer, &session_id, &[label.to_string()]).await;
        reserves.record(started, code_of(&answer));
        progress.call(answer.is_ok());
        let Ok(reservation) = answer else { continue };
        // Pays for confirm_percent of every 100 holds, spread evenly.
        held += 1;
        if (held * confirm_percent) / 100 != ((held - 1) * confirm_percent) / 100 {
            let started = Instant::now();
            let answer = confirm(&mut booking, &bearer, &reservation.reservation_id).await;
            confirms.record(started, code_of(&answer));
        }
    }
    (reserves, confirms)
}

async fn checks(
    figures: &Figures,
    confirms: &Calls,
    database: Option<&ServerDatabase>,
    sessions: &[String],
) -> anyhow::Result<Vec<Check>> {
    let internal = |f: &CallFigures| f.codes.get("INTERNAL").copied().unwrap_or_default();
    let mut checks = vec![Check::equal(
        "INTERNAL answers",
        0,
        internal(&figures.reserve) + internal(&figures.confirm),
    )];
    if let Some(database) = database {
        checks.push(Check::equal(
            "seats sold twice",
            0,
            database.seats_sold_twice(sessions).await?,
        ));
        checks.push(Check::equal(
            "sales stored = payments confirmed",
            confirms.ok(),
            database.sales(sessions).await?,
        ));
    }
    Ok(checks)
}

fn text(f: &Figures) -> String {
    let mut text = format!(
        "throughput: {} clients over {} connections, {} rounds, service {:.1} s, {} sessions, {}% paid\n",
        f.clients, f.connections, f.rounds, f.duration_seconds, f.sessions, f.confirm_percent
    );
    text.push_str(&f.reserve.line("reserve"));
    text.push_str(&f.confirm.line("confirm"));
    if let Some(baseline) = &f.baseline_reserve {
        text.push_str(&baseline.line("baseline SQL"));
    }
    if let Some(ratio) = f.service_to_baseline {
        let each: Vec<String> = f
            .each_round
            .iter()
            .filter_map(|round| round.service_to_baseline)
            .map(|r| format!("{r:.2}"))
            .collect();
        text.push_str(&format!(
            "service / bare database: {ratio:.2} (rounds: {})\n",
            each.join(", ")
        ));
    }
    if let Some(rss) = f.server_peak_rss_kib {
        text.push_str(&format!("server peak RSS: {:.1} MB\n", rss as f64 / 1024.0));
    }
    text.push_str(&format!(
        "CPU: server {}, bench {:.2} s, machine {:.0}% busy\n",
        f.cpu
            .server_seconds
            .map_or("unknown".to_owned(), |s| format!("{s:.2} s")),
        f.cpu.bench_seconds,
        f.cpu.machine_busy_percent
    ));
    text.push_str(&format!(
        "seats used {}{}\n",
        f.seats_used,
        if f.ran_out_of_seats {
            " (ran out: add --sessions)"
        } else {
            ""
        }
    ));
    text
}
