//! `throughput`: `--clients` clients, each its own user, reserve one distinct
//! seat after another across `--sessions` sessions for `--duration`, and pay
//! for `--confirm-percent` of their holds. Before that, the same number of
//! clients run the same reservation SQL straight at PostgreSQL for the same
//! time (the baseline), so the report gives service / bare database.

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
    common::{
        Check, CpuSample, CpuUsage, Minter, Progress, RssPeak, code_of, confirm, connect,
        connections_for, create_session, finish, reserve,
    },
    database::{BaselinePlan, SeatSupply, ServerDatabase, baseline},
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
    /// How long each run (service, baseline) lasts.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Sessions the seats are spread over (26 x 50 seats each).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
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
    duration_seconds: f64,
    sessions: u32,
    confirm_percent: u32,
    reserve: CallFigures,
    confirm: CallFigures,
    /// The bare SQL of ReserveSeats at the same concurrency.
    baseline_reserve: Option<CallFigures>,
    /// Successful reserves per second, service / baseline.
    service_to_baseline: Option<f64>,
    seats_used: usize,
    ran_out_of_seats: bool,
    server_peak_rss_kib: Option<u64>,
    cpu: CpuUsage,
}

pub async fn run(args: ThroughputArgs) -> anyhow::Result<bool> {
    let database = match &args.target.database_url {
        Some(url) => Some(ServerDatabase::connect(url).await?),
        None => None,
    };
    let baseline = match (&args.target.database_url, args.no_baseline) {
        (Some(url), false) => {
            eprintln!(
                "baseline: {} connections straight to PostgreSQL for {:?}",
                args.clients, args.duration
            );
            let plan = BaselinePlan {
                clients: args.clients,
                duration: args.duration,
                sessions: args.sessions,
                rows: ROWS,
                seats_per_row: SEATS_PER_ROW,
                hold: args.baseline_hold,
            };
            let (calls, seconds) = baseline(url, &plan).await?;
            Some(calls.figures(seconds))
        }
        _ => None,
    };

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

    eprintln!("service: {} clients for {:?}", args.clients, args.duration);
    let rss = RssPeak::watch(args.target.server_pid);
    let cpu_before = CpuSample::take(args.target.server_pid)?;
    let (reserves, confirms, seconds) =
        drive(&args, &minter, &connections, Arc::clone(&seats)).await?;
    let cpu = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
    let reserve = reserves.figures(seconds);
    let figures = Figures {
        clients: args.clients,
        connections: args.connections,
        duration_seconds: seconds,
        sessions: args.sessions,
        confirm_percent: args.confirm_percent,
        service_to_baseline: baseline
            .as_ref()
            .filter(|b| b.ok_per_second > 0.0)
            .map(|b| (reserve.ok_per_second / b.ok_per_second * 100.0).round() / 100.0),
        reserve,
        confirm: confirms.figures(seconds),
        baseline_reserve: baseline,
        seats_used: seats.used(),
        ran_out_of_seats: seats.exhausted(),
        server_peak_rss_kib: rss.stop(),
        cpu,
    };
    let checks = checks(&figures, &confirms, database.as_ref(), &sessions).await?;
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

/// Runs the clients until the time is up; returns reserves, confirms and
/// the seconds they ran.
async fn drive(
    args: &ThroughputArgs,
    minter: &Minter,
    connections: &[Channel],
    seats: Arc<SeatSupply<String>>,
) -> anyhow::Result<(Calls, Calls, f64)> {
    let progress = Arc::new(Progress::default());
    let ticker = progress.tick("service");
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
    progress.stop();
    ticker.abort();
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
        "throughput: {} clients over {} connections, {:.1} s, {} sessions, {}% paid\n",
        f.clients, f.connections, f.duration_seconds, f.sessions, f.confirm_percent
    );
    text.push_str(&f.reserve.line("reserve"));
    text.push_str(&f.confirm.line("confirm"));
    if let Some(baseline) = &f.baseline_reserve {
        text.push_str(&baseline.line("baseline SQL"));
    }
    if let Some(ratio) = f.service_to_baseline {
        text.push_str(&format!("service / bare database: {ratio:.2}\n"));
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
