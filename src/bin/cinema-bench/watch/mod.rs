//! `watch` measures the fan-out of live seat maps: it opens many WatchSeatMap
//! streams over a few HTTP/2 connections, then changes seats one at a time
//! and times, for every watcher, how long each change took to reach it,
//! counted from the moment the ReserveSeats or CancelReservation call
//! returned (the change was committed by then).

mod changes;
mod figures;
mod fleet;
mod matching;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use cinema::proto::v1::{GetSeatMapRequest, session_service_client::SessionServiceClient};
use clap::Args;
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use self::{
    changes::make_changes,
    figures::{Figures, Memory, Timings},
    fleet::Fleet,
};
use crate::{
    client::{Minter, authed, connect, create_session, open_connections, status_error},
    cpu::CpuSample,
    memory::server_rss_kib,
    report::{Check, finish},
};

#[derive(Args)]
pub struct WatchArgs {
    #[command(flatten)]
    server: cinema::config::ServerAddress,
    /// WatchSeatMap streams to open.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    watchers: u32,
    /// Seat changes to make, one at a time (reserve, cancel, next seat, ...).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    changes: u32,
    /// HTTP/2 connections the watchers are spread over.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Also write the figures to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The server's process id: report its memory (VmRSS) per watcher.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Rows of the session the bench creates.
    #[arg(long, default_value_t = 10)]
    rows: u32,
    /// Seats per row of the session the bench creates.
    #[arg(long, default_value_t = 20)]
    seats_per_row: u32,
    /// WatchSeatMap calls in flight at once while opening.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    open_concurrency: u32,
    /// How long one change may take to reach every watcher before the next.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    change_timeout: Duration,
    /// How long opening every watcher (and its snapshot) may take.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    open_timeout: Duration,
}

/// The bearer tokens of the three parts the bench plays.
struct Tokens {
    admin: MetadataValue<Ascii>,
    watcher: MetadataValue<Ascii>,
    booker: MetadataValue<Ascii>,
}

impl Tokens {
    fn mint() -> anyhow::Result<Self> {
        let minter = Minter::from_env()?;
        Ok(Self {
            admin: minter.admin()?,
            watcher: minter.bearer("bench-watcher", false)?,
            booker: minter.bearer("bench-booker", false)?,
        })
    }
}

pub async fn run(args: WatchArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let tokens = Tokens::mint()?;
    let control = connect(&args.server).await?;
    let session_id = create_session(&control, &tokens.admin, args.rows, args.seats_per_row).await?;
    let seats = seat_versions(&control, &tokens.watcher, &session_id).await?;
    eprintln!("session {session_id}: {} seats", seats.len());

    let connections = open_connections(&args.server, args.connections).await?;
    let (fleet, memory, open_time) =
        open_fleet(&connections, &session_id, &tokens.watcher, &args).await?;

    let changing = Instant::now();
    let cpu_before = CpuSample::take(args.server_pid)?;
    let changes = make_changes(&control, &tokens.booker, &session_id, seats, &fleet, &args).await?;
    let change_time = changing.elapsed();
    let cpu = CpuSample::take(args.server_pid)?.since(&cpu_before);
    let outcome = fleet.stop().await;

    let figures = Figures::new(
        &args,
        &changes,
        &outcome,
        memory,
        cpu,
        Timings {
            open_seconds: open_time.as_secs_f64(),
            changes_seconds: change_time.as_secs_f64(),
            wall_seconds: started.elapsed().as_secs_f64(),
        },
    );
    let checks = [Check::equal(
        "deliveries (every watcher got every change)",
        figures.deliveries_expected,
        figures.deliveries_received,
    )];
    finish(
        "watch",
        &figures.text(),
        &figures,
        &checks,
        args.json.as_deref(),
    )
}

/// Opens every watcher; returns them, the server's memory before and
/// after (with its pid) and how long opening took.
async fn open_fleet(
    connections: &[Channel],
    session_id: &str,
    bearer: &MetadataValue<Ascii>,
    args: &WatchArgs,
) -> anyhow::Result<(Fleet, Option<Memory>, Duration)> {
    let rss_before = args.server_pid.map(server_rss_kib).transpose()?;
    let opening = Instant::now();
    let fleet = Fleet::open(connections, session_id, bearer, args).await?;
    let open_time = opening.elapsed();
    let rss_after = args.server_pid.map(server_rss_kib).transpose()?;
    eprintln!(
        "all {} snapshots in {:.1} s",
        args.watchers,
        open_time.as_secs_f64()
    );
    let memory = rss_before.zip(rss_after).map(|(before, after)| Memory {
        before_kib: before,
        after_kib: after,
        per_watcher_bytes: (after.saturating_sub(before) * 1024) / u64::from(args.watchers),
    });
    Ok((fleet, memory, open_time))
}

/// Every seat's label and current version, in seat-map order.
async fn seat_versions(
    channel: &Channel,
    bearer: &MetadataValue<Ascii>,
    session_id: &str,
) -> anyhow::Result<Vec<(String, i64)>> {
    let request = GetSeatMapRequest {
        session_id: session_id.to_owned(),
    };
    let map = SessionServiceClient::new(channel.clone())
        .get_seat_map(authed(request, bearer))
        .await
        .map_err(status_error)
        .context("reading the seat map")?;
    Ok(map
        .into_inner()
        .seats
        .into_iter()
        .map(|seat| (seat.label, seat.version))
        .collect())
}
