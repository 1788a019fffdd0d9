//! The watchers: many WatchSeatMap streams, each read in its own task,
//! stamping every update seat the moment it arrives.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cinema::proto::v1::{
    SeatMapEvent, WatchSeatMapRequest, seat_map_event::Event,
    session_service_client::SessionServiceClient,
};
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::JoinSet,
};
use tonic::{
    Request, Streaming,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use super::WatchArgs;
use crate::client::{authed, status_error};

/// One update seat as a watcher received it.
pub(super) struct Receipt {
    pub(super) label: String,
    pub(super) version: i64,
    pub(super) at: Instant,
}

/// What one watcher saw after its first snapshot.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) receipts: Vec<Receipt>,
    /// Fresh snapshots: the server resynchronised this watcher.
    pub(super) resyncs: usize,
}

/// Every watcher, each reading its stream in its own task.
pub(super) struct Fleet {
    tasks: JoinSet<anyhow::Result<Seen>>,
    /// Update seats received by all watchers so far.
    delivered: Arc<AtomicUsize>,
    pub(super) watchers: usize,
    stop: watch::Sender<bool>,
}

/// What the watchers saw, once stopped.
pub(super) struct Outcome {
    pub(super) seen: Vec<Seen>,
    /// Watchers whose stream failed after its snapshot, with the first error.
    pub(super) failed: usize,
    pub(super) first_error: Option<String>,
}

impl Fleet {
    /// Opens every watcher, spread round-robin over `connections`, and
    /// returns once each has its snapshot.
    pub(super) async fn open(
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

    pub(super) fn delivered(&self) -> usize {
        self.delivered.load(Ordering::Acquire)
    }

    /// Waits until `expected` update seats were delivered in all; false on timeout.
    pub(super) async fn wait_delivered(&self, expected: usize, timeout: Duration) -> bool {
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
    pub(super) async fn stop(mut self) -> Outcome {
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
