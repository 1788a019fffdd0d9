//! `watch` measures the fan-out of live seat maps: it opens many WatchSeatMap
//! streams over a few HTTP/2 connections, then changes seats one at a time
//! and times, for every watcher, how long each change took to reach it,
//! counted from the moment the ReserveSeats or CancelReservation call
//! returned (the change was committed by then).

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cinema::proto::v1::{
    CancelReservationRequest, GetSeatMapRequest, ReserveSeatsRequest, SeatMapEvent,
    WatchSeatMapRequest, booking_service_client::BookingServiceClient, seat_map_event::Event,
    session_service_client::SessionServiceClient,
};
use clap::Args;
use serde::Serialize;
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::JoinSet,
};
use tonic::{
    Request, Streaming,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use crate::{
    client::{Minter, authed, connect, create_session, open_connections, status_error},
    cpu::{CpuSample, CpuUsage},
    memory::server_rss_kib,
    report::{Check, finish},
    stats::{Latencies, Summary, millis, summary_text},
};

#[derive(Args)]
pub struct WatchArgs {
    /// The server's gRPC address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
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

// ---------------------------------------------------------------------------
// The scenario

pub async fn run(args: WatchArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let tokens = Tokens::mint()?;
    let control = connect(&args.addr).await?;
    let session_id = create_session(&control, &tokens.admin, args.rows, args.seats_per_row).await?;
    let seats = seat_versions(&control, &tokens.watcher, &session_id).await?;
    eprintln!("session {session_id}: {} seats", seats.len());

    let connections = open_connections(&args.addr, args.connections).await?;
    let rss_before = args.server_pid.map(server_rss_kib).transpose()?;
    let opening = Instant::now();
    let fleet = Fleet::open(&connections, &session_id, &tokens.watcher, &args).await?;
    let open_time = opening.elapsed();
    let rss_after = args.server_pid.map(server_rss_kib).transpose()?;
    eprintln!(
        "all {} snapshots in {:.1} s",
        args.watchers,
        open_time.as_secs_f64()
    );

    let changing = Instant::now();
    let cpu_before = CpuSample::take(args.server_pid)?;
    let changes = make_changes(&control, &tokens.booker, &session_id, seats, &fleet, &args).await?;
    let change_time = changing.elapsed();
    let cpu = CpuSample::take(args.server_pid)?.since(&cpu_before);
    let outcome = fleet.stop().await;

    let memory = rss_before.zip(rss_after).map(|(before, after)| Memory {
        before_kib: before,
        after_kib: after,
        per_watcher_bytes: (after.saturating_sub(before) * 1024) / u64::from(args.watchers),
    });
    let report = Report::new(
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
        report.deliveries_expected,
        report.deliveries_received,
    )];
    finish(
        "watch",
        &report.text(),
        &report,
        &checks,
        args.json.as_deref(),
    )
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

// ---------------------------------------------------------------------------
// The watchers

/// One update seat as a watcher received it.
struct Receipt {
    label: String,
    version: i64,
    at: Instant,
}

/// What one watcher saw after its first snapshot.
#[derive(Default)]
struct Seen {
    receipts: Vec<Receipt>,
    /// Fresh snapshots: the server resynchronised this watcher.
    resyncs: usize,
}

/// Every watcher, each reading its stream in its own task.
struct Fleet {
    tasks: JoinSet<anyhow::Result<Seen>>,
    /// Update seats received by all watchers so far.
    delivered: Arc<AtomicUsize>,
    watchers: usize,
    stop: watch::Sender<bool>,
}

/// What the watchers saw, once stopped.
struct Outcome {
    seen: Vec<Seen>,
    /// Watchers whose stream failed after its snapshot, with the first error.
    failed: usize,
    first_error: Option<String>,
}

impl Fleet {
    /// Opens every watcher, spread round-robin over `connections`, and
    /// returns once each has its snapshot.
    async fn open(
        connections: &[Channel],
        session_id: &str,
        bearer: &MetadataValue<Ascii>,
        args: &WatchArgs,
    ) -> anyhow::Result<Self> {
        let watchers = args.watchers as usize;
        let (stop, stopped) = watch::channel(false);
        let delivered = Arc::new(AtomicUsize::new(0));
        let permits = Arc::new(Semaphore::new(args.open_concurrency as usize));
        let (opened_tx, mut opened) = mpsc::channel(watchers);
        let mut tasks = JoinSet::new();
        for i in 0..watchers {
            let request = authed(
                WatchSeatMapRequest {
                    session_id: session_id.to_owned(),
                },
                bearer,
            );
            tasks.spawn(run_watcher(
                SessionServiceClient::new(connections[i % connections.len()].clone()),
                request,
                permits.clone(),
                opened_tx.clone(),
                delivered.clone(),
                stopped.clone(),
            ));
        }
        let fleet = Self {
            tasks,
            delivered,
            watchers,
            stop,
        };
        tokio::time::timeout(args.open_timeout, wait_opened(&mut opened, watchers))
            .await
            .with_context(|| {
                format!(
                    "not every watcher had its snapshot within {:?}",
                    args.open_timeout
                )
            })??;
        Ok(fleet)
    }

    fn delivered(&self) -> usize {
        self.delivered.load(Ordering::Acquire)
    }

    /// Waits until `expected` update seats were delivered in all; false on timeout.
    async fn wait_delivered(&self, expected: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.delivered() < expected {
            if Instant::now() >= deadline {
                return false;
            }
            // Receipts carry their own times: polling adds no error to them.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// Ends every stream and collects what each watcher saw.
    async fn stop(mut self) -> Outcome {
        self.stop.send_replace(true);
        let mut outcome = Outcome {
            seen: Vec::with_capacity(self.watchers),
            failed: 0,
            first_error: None,
        };
        while let Some(joined) = self.tasks.join_next().await {
            match joined.map_err(anyhow::Error::new).and_then(|seen| seen) {
                Ok(seen) => outcome.seen.push(seen),
                Err(err) => {
                    outcome.failed += 1;
                    outcome.first_error.get_or_insert(format!("{err:#}"));
                }
            }
        }
        outcome
    }
}

/// Counts watchers reporting their snapshot, printing progress; the first
/// watcher that cannot open fails the bench.
async fn wait_opened(
    opened: &mut mpsc::Receiver<anyhow::Result<()>>,
    watchers: usize,
) -> anyhow::Result<()> {
    let step = (watchers / 10).max(1);
    for count in 1..=watchers {
        match opened.recv().await {
            Some(Ok(())) => {}
            Some(Err(err)) => return Err(err.context(format!("opening watcher {count}"))),
            None => bail!("the watchers stopped before all had opened"),
        }
        if count % step == 0 || count == watchers {
            eprintln!("opened {count}/{watchers} watchers");
        }
    }
    Ok(())
}

/// One watcher: opens its stream (within the opening limit), reports its
/// snapshot, then records every update seat until told to stop.
async fn run_watcher(
    mut client: SessionServiceClient<Channel>,
    request: Request<WatchSeatMapRequest>,
    permits: Arc<Semaphore>,
    opened: mpsc::Sender<anyhow::Result<()>>,
    delivered: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Seen> {
    let stream = {
        let _permit = permits
            .acquire()
            .await
            .context("the opening limit closed")?;
        open_watch(&mut client, request).await
    };
    let mut stream = match stream {
        Ok(stream) => stream,
        Err(err) => {
            let _ = opened.send(Err(err)).await;
            return Ok(Seen::default());
        }
    };
    let _ = opened.send(Ok(())).await;
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            message = stream.message() => {
                let event = message.map_err(status_error)?.context("the stream ended")?;
                seen.record(event, &delivered);
            }
            _ = stop.changed() => return Ok(seen),
        }
    }
}

/// Calls WatchSeatMap and reads the snapshot that must come first.
async fn open_watch(
    client: &mut SessionServiceClient<Channel>,
    request: Request<WatchSeatMapRequest>,
) -> anyhow::Result<Streaming<SeatMapEvent>> {
    let mut stream = client
        .watch_seat_map(request)
        .await
        .map_err(status_error)?
        .into_inner();
    let first = stream.message().await.map_err(status_error)?;
    match first.and_then(|message| message.event) {
        Some(Event::Snapshot(_)) => Ok(stream),
        Some(Event::Update(_)) => bail!("the first message was an update, not a snapshot"),
        None => bail!("the stream ended before its snapshot"),
    }
}

impl Seen {
    fn record(&mut self, event: SeatMapEvent, delivered: &AtomicUsize) {
        // The time comes first: nothing below should count as latency.
        let at = Instant::now();
        match event.event {
            Some(Event::Update(update)) => {
                delivered.fetch_add(update.seats.len(), Ordering::AcqRel);
                self.receipts
                    .extend(update.seats.into_iter().map(|seat| Receipt {
                        label: seat.label,
                        version: seat.version,
                        at,
                    }));
            }
            Some(Event::Snapshot(_)) => self.resyncs += 1,
            None => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The changes

/// One committed seat change.
struct Change {
    label: String,
    version: i64,
    /// When the call that made it was sent.
    started: Instant,
    /// When that call returned: the change was committed by then.
    committed: Instant,
}

/// Reserves a seat, cancels it, moves to the next seat, and so on; after
/// each change, waits for every watcher to have it before the next.
async fn make_changes(
    channel: &Channel,
    booker: &MetadataValue<Ascii>,
    session_id: &str,
    seats: Vec<(String, i64)>,
    fleet: &Fleet,
    args: &WatchArgs,
) -> anyhow::Result<Vec<Change>> {
    if seats.is_empty() {
        bail!("the session has no seats");
    }
    let total = args.changes as usize;
    let step = (total / 10).max(1);
    let mut versions: HashMap<String, i64> = seats.iter().cloned().collect();
    let mut booking = BookingServiceClient::new(channel.clone());
    let mut reservation = None;
    let mut changes = Vec::with_capacity(total);
    for n in 0..total {
        let label = seats[(n / 2) % seats.len()].0.clone();
        let started = Instant::now();
        reservation = match reservation.take() {
            None => Some(reserve(&mut booking, booker, session_id, &label).await?),
            Some(reservation_id) => {
                cancel(&mut booking, booker, reservation_id).await?;
                None
            }
        };
        let committed = Instant::now();
        let version = versions.entry(label.clone()).or_default();
        *version += 1;
        changes.push(Change {
            label,
            version: *version,
            started,
            committed,
        });
        let everyone = fleet.watchers * (n + 1);
        if !fleet.wait_delivered(everyone, args.change_timeout).await {
            eprintln!(
                "change {}: only {}/{everyone} deliveries so far after {:?}; going on",
                n + 1,
                fleet.delivered(),
                args.change_timeout
            );
        }
        if (n + 1) % step == 0 || n + 1 == total {
            eprintln!("change {}/{total}", n + 1);
        }
    }
    Ok(changes)
}

async fn reserve(
    booking: &mut BookingServiceClient<Channel>,
    booker: &MetadataValue<Ascii>,
    session_id: &str,
    label: &str,
) -> anyhow::Result<String> {
    let request = ReserveSeatsRequest {
        session_id: session_id.to_owned(),
        seat_labels: vec![label.to_owned()],
        request_id: String::new(),
    };
    let reservation = booking
        .reserve_seats(authed(request, booker))
        .await
        .map_err(status_error)
        .with_context(|| format!("reserving {label}"))?;
    Ok(reservation.into_inner().reservation_id)
}

async fn cancel(
    booking: &mut BookingServiceClient<Channel>,
    booker: &MetadataValue<Ascii>,
    reservation_id: String,
) -> anyhow::Result<()> {
    let request = CancelReservationRequest { reservation_id };
    booking
        .cancel_reservation(authed(request, booker))
        .await
        .map_err(status_error)
        .context("cancelling a reservation")?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct Memory {
    before_kib: u64,
    after_kib: u64,
    per_watcher_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Timings {
    /// Opening every watcher until the last snapshot arrived.
    open_seconds: f64,
    /// From the first change until the last one reached every watcher.
    changes_seconds: f64,
    /// The whole run.
    wall_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    watchers: usize,
    connections: u32,
    changes: usize,
    deliveries_expected: usize,
    deliveries_received: usize,
    /// Deliveries that arrived before the call that made them had returned
    /// (counted as 0 ms).
    deliveries_before_commit_returned: usize,
    /// Fresh snapshots sent to watchers that fell behind.
    resyncs: usize,
    watchers_failed: usize,
    first_error: Option<String>,
    /// Commit returned -> update received, over every delivery.
    latency_ms: Option<Summary>,
    /// Call sent -> update received: the commit happened in between, so the
    /// true commit-to-delivery time lies between this and `latency_ms`.
    latency_from_call_start_ms: Option<Summary>,
    /// Per change, the fastest watcher: the path without the fan-out.
    first_delivery_ms: Option<Summary>,
    /// Per change, the slowest watcher: when the fan-out was complete.
    last_delivery_ms: Option<Summary>,
    /// How long the ReserveSeats / CancelReservation calls took.
    change_call_ms: Option<Summary>,
    memory: Option<Memory>,
    timings: Timings,
    /// Where the CPU went while the changes were made and delivered.
    cpu_during_changes: CpuUsage,
    /// Each change in order, to see warm-up and outliers (JSON only).
    #[serde(rename = "per_change")]
    each_change: Vec<ChangeFigures>,
}

/// One change's figures; times in milliseconds.
#[derive(Debug, Serialize)]
struct ChangeFigures {
    seat: String,
    version: i64,
    call_ms: f64,
    received: usize,
    first_ms: Option<f64>,
    last_ms: Option<f64>,
}

impl Report {
    fn new(
        args: &WatchArgs,
        changes: &[Change],
        outcome: &Outcome,
        memory: Option<Memory>,
        cpu: CpuUsage,
        timings: Timings,
    ) -> Self {
        let matched = match_deliveries(changes, &outcome.seen);
        let all = Latencies::new(matched.per_change.iter().flatten().copied().collect());
        let first = Latencies::new(
            matched
                .per_change
                .iter()
                .filter_map(|l| l.iter().min().copied())
                .collect(),
        );
        let last = Latencies::new(
            matched
                .per_change
                .iter()
                .filter_map(|l| l.iter().max().copied())
                .collect(),
        );
        let from_start = Latencies::new(matched.from_call_start);
        let calls = Latencies::new(changes.iter().map(|c| c.committed - c.started).collect());
        Self {
            watchers: args.watchers as usize,
            connections: args.connections,
            changes: changes.len(),
            deliveries_expected: args.watchers as usize * changes.len(),
            deliveries_received: all.len(),
            deliveries_before_commit_returned: matched.early,
            resyncs: outcome.seen.iter().map(|s| s.resyncs).sum(),
            watchers_failed: outcome.failed,
            first_error: outcome.first_error.clone(),
            latency_ms: all.summary(),
            latency_from_call_start_ms: from_start.summary(),
            first_delivery_ms: first.summary(),
            last_delivery_ms: last.summary(),
            change_call_ms: calls.summary(),
            memory,
            timings,
            cpu_during_changes: cpu,
            each_change: changes
                .iter()
                .zip(&matched.per_change)
                .map(|(change, latencies)| ChangeFigures {
                    seat: change.label.clone(),
                    version: change.version,
                    call_ms: millis(change.committed - change.started),
                    received: latencies.len(),
                    first_ms: latencies.iter().min().copied().map(millis),
                    last_ms: latencies.iter().max().copied().map(millis),
                })
                .collect(),
        }
    }

    fn text(&self) -> String {
        let summary = |s: &Option<Summary>| summary_text(s.as_ref());
        let mut text = format!(
            "watchers {} over {} connections, {} changes\n\
             deliveries {}/{} (early {}, resyncs {}, failed watchers {})\n\
             latency          {}\n\
             from call start  {}\n\
             first delivery   {}\n\
             last delivery    {}\n\
             change call      {}\n",
            self.watchers,
            self.connections,
            self.changes,
            self.deliveries_received,
            self.deliveries_expected,
            self.deliveries_before_commit_returned,
            self.resyncs,
            self.watchers_failed,
            summary(&self.latency_ms),
            summary(&self.latency_from_call_start_ms),
            summary(&self.first_delivery_ms),
            summary(&self.last_delivery_ms),
            summary(&self.change_call_ms),
        );
        if let Some(error) = &self.first_error {
            text.push_str(&format!("first watcher error: {error}\n"));
        }
        if let Some(memory) = &self.memory {
            text.push_str(&format!(
                "server RSS {} KiB -> {} KiB: {} bytes per watcher\n",
                memory.before_kib, memory.after_kib, memory.per_watcher_bytes
            ));
        }
        let cpu = &self.cpu_during_changes;
        text.push_str(&format!(
            "CPU while changing: server {}, bench {:.2} s, machine {:.0}% busy\n",
            cpu.server_seconds
                .map_or("unknown".to_owned(), |s| format!("{s:.2} s")),
            cpu.bench_seconds,
            cpu.machine_busy_percent,
        ));
        text.push_str(&format!(
            "open {:.1} s, changes {:.1} s, wall {:.1} s\n",
            self.timings.open_seconds, self.timings.changes_seconds, self.timings.wall_seconds
        ));
        text
    }
}

/// Deliveries matched to their change by seat label and version.
struct Matched {
    /// For each change, the latency of each watcher that received it.
    per_change: Vec<Vec<Duration>>,
    /// Every delivery's time from when its change's call was sent.
    from_call_start: Vec<Duration>,
    /// Deliveries stamped before their change's call had returned.
    early: usize,
}

fn match_deliveries(changes: &[Change], seen: &[Seen]) -> Matched {
    let index: HashMap<(&str, i64), usize> = changes
        .iter()
        .enumerate()
        .map(|(i, change)| ((change.label.as_str(), change.version), i))
        .collect();
    let mut matched = Matched {
        per_change: vec![Vec::new(); changes.len()],
        from_call_start: Vec::new(),
        early: 0,
    };
    for watcher in seen {
        // A change counts once per watcher, however often it arrived.
        let mut counted = HashSet::new();
        for receipt in &watcher.receipts {
            let Some(&i) = index.get(&(receipt.label.as_str(), receipt.version)) else {
                continue;
            };
            if !counted.insert(i) {
                continue;
            }
            let change = &changes[i];
            if receipt.at < change.committed {
                matched.early += 1;
            }
            matched.per_change[i].push(receipt.at.saturating_duration_since(change.committed));
            matched
                .from_call_start
                .push(receipt.at.saturating_duration_since(change.started));
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn deliveries_match_on_label_and_version_once_per_watcher() {
        let t0 = Instant::now();
        let changes = vec![
            Change {
                label: "A1".into(),
                version: 1,
                started: t0,
                committed: t0,
            },
            Change {
                label: "A1".into(),
                version: 2,
                started: t0 + ms(80),
                committed: t0 + ms(100),
            },
        ];
        let receipt = |label: &str, version, at| Receipt {
            label: label.into(),
            version,
            at,
        };
        let seen = vec![Seen {
            receipts: vec![
                receipt("A1", 1, t0 + ms(5)),
                receipt("A1", 1, t0 + ms(6)),  // repeated: not counted
                receipt("B1", 1, t0 + ms(7)),  // no such change
                receipt("A1", 2, t0 + ms(90)), // before the call returned
            ],
            resyncs: 0,
        }];
        let matched = match_deliveries(&changes, &seen);
        assert_eq!(matched.per_change, vec![vec![ms(5)], vec![Duration::ZERO]]);
        assert_eq!(matched.from_call_start, vec![ms(5), ms(10)]);
        assert_eq!(matched.early, 1);
    }
}
