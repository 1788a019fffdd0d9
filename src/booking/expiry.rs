//! Expiry: a hold stops counting the instant it ends (every query asks the
//! clock); the sweeper then records it. Every instance sweeps every second
//! (`FOR UPDATE SKIP LOCKED`, so instances share the work), and each also
//! wakes exactly when a hold it created ends.

use std::{cmp::Reverse, collections::BinaryHeap, time::Duration};

use chrono::{DateTime, Utc};
use tokio::{sync::mpsc, time::Instant};
use uuid::Uuid;

use crate::{
    domain::Result,
    events::{Outbox, Release, Signal, labels_of},
    metrics,
    store::{self, Db, Tx},
};

/// How often the sweeper looks for due holds without being woken.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Reservations expired per transaction.
const BATCH: u64 = 200;

/// Asks this instance's sweeper to run when a hold ends.
#[derive(Clone)]
pub struct Waker(mpsc::UnboundedSender<DateTime<Utc>>);

impl Waker {
    pub fn wake_at(&self, at: DateTime<Utc>) {
        // A stopped sweeper means shutdown: another instance will sweep.
        let _ = self.0.send(at);
    }
}

/// A waker and the sweeper it wakes; run the sweeper on its own task.
pub fn sweeper(db: Db, events: Signal) -> (Waker, impl Future<Output = ()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Waker(tx), run(db, events, rx))
}

async fn run(db: Db, events: Signal, mut wake_ups: mpsc::UnboundedReceiver<DateTime<Utc>>) {
    let mut due: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
    loop {
        let next = due
            .peek()
            .map_or(Instant::now() + SWEEP_INTERVAL, |Reverse(at)| *at);
        tokio::select! {
            () = tokio::time::sleep_until(next.min(Instant::now() + SWEEP_INTERVAL)) => {
                let now = Instant::now();
                while due.peek().is_some_and(|Reverse(at)| *at <= now) {
                    due.pop();
                }
                if let Err(err) = sweep(&db, &events).await {
                    tracing::warn!(error = %err, "expiry sweep failed; retrying");
                }
            }
            wake_up = wake_ups.recv() => match wake_up {
                Some(at) => due.push(Reverse(instant_of(at))),
                None => return,
            },
        }
    }
}

/// Expires every due hold, a batch per transaction.
pub async fn sweep(db: &Db, events: &Signal) -> Result<usize> {
    let mut total = 0;
    loop {
        let tx = store::begin(db).await?;
        let due = store::reservations::lock_due(&tx, BATCH).await?;
        let ids: Vec<Uuid> = due.iter().map(|d| d.reservation_id).collect();
        let expired = expire(&tx, &ids).await?;
        tx.commit().await?;
        let now = Utc::now();
        for hold in &due {
            metrics::expiry_lag((now - hold.expires_at).to_std().unwrap_or_default());
        }
        if expired > 0 {
            events.notify();
        }
        total += expired;
        if (due.len() as u64) < BATCH {
            if total > 0 {
                tracing::debug!(expired = total, "holds expired");
            }
            return Ok(total);
        }
    }
}

/// Expires these lapsed holds now, as the sweeper would, in a transaction
/// of their own: a hold that found them still on its seats calls this, then
/// tries again. Returns how many it expired (another transaction may have
/// recorded some already).
pub(super) async fn expire_lapsed(
    db: &Db,
    events: &Signal,
    reservation_ids: &[Uuid],
) -> Result<usize> {
    let tx = store::begin(db).await?;
    let lapsed = store::reservations::lock_lapsed(&tx, reservation_ids).await?;
    let expired = expire(&tx, &lapsed).await?;
    tx.commit().await?;
    if expired > 0 {
        events.notify();
    }
    Ok(expired)
}

/// Records as expired those of these reservations whose hold has passed,
/// frees their seats and writes the events, all in `tx`. Returns how many.
pub(super) async fn expire(tx: &Tx, reservation_ids: &[Uuid]) -> Result<usize> {
    let expired = store::reservations::expire(tx, reservation_ids).await?;
    let ids: Vec<Uuid> = expired.iter().map(|r| r.reservation_id).collect();
    let freed = store::seats::free(tx, &ids).await?;
    let mut outbox = Outbox::default();
    for reservation in &expired {
        let seats = labels_of(&freed, reservation.reservation_id);
        outbox.reservation_expired(reservation, seats);
    }
    outbox.seats_released(&freed, Release::Expired);
    outbox.write(tx).await?;
    Ok(expired.len())
}

/// The tokio instant of a wall-clock time, a millisecond late so the
/// database clock has surely passed it.
fn instant_of(at: DateTime<Utc>) -> Instant {
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    Instant::now() + wait + Duration::from_millis(1)
}
