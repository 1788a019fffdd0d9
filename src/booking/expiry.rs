//! Expiry: a hold stops counting the instant it ends (every query asks the
//! clock); the sweeper then records it. Every instance sweeps every second
//! (`FOR UPDATE SKIP LOCKED`, so instances share the work), and each also
//! wakes exactly when a hold it created ends.

use std::{cmp::Reverse, collections::BinaryHeap, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait};
use tokio::{sync::mpsc, time::Instant};
use uuid::Uuid;

use crate::{error::Result, events::outbox::Signal, metrics, store::sql};

/// How often the sweeper looks for due holds without being woken.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Reservations expired per transaction.
const BATCH: i64 = 200;

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
pub fn sweeper(db: DatabaseConnection, events: Signal) -> (Waker, impl Future<Output = ()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Waker(tx), run(db, events, rx))
}

async fn run(
    db: DatabaseConnection,
    events: Signal,
    mut wake_ups: mpsc::UnboundedReceiver<DateTime<Utc>>,
) {
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
pub async fn sweep(db: &DatabaseConnection, events: &Signal) -> Result<usize> {
    let mut total = 0;
    loop {
        let txn = db.begin().await?;
        #[derive(FromQueryResult)]
        struct Due {
            reservation_id: Uuid,
            lag_seconds: f64,
        }
        let due = Due::find_by_statement(sql(
            "SELECT reservation_id, extract(epoch FROM now() - expires_at)::float8 AS lag_seconds
               FROM reservations
              WHERE status = 'pending' AND expires_at <= now()
              ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
            [BATCH.into()],
        ))
        .all(&txn)
        .await?;
        let ids: Vec<Uuid> = due.iter().map(|d| d.reservation_id).collect();
        let expired = super::expire(&txn, &ids).await?;
        txn.commit().await?;
        for hold in &due {
            metrics::expiry_lag(Duration::from_secs_f64(hold.lag_seconds.max(0.0)));
        }
        if expired > 0 {
            events.notify();
        }
        total += expired;
        if (due.len() as i64) < BATCH {
            if total > 0 {
                tracing::debug!(expired = total, "holds expired");
            }
            return Ok(total);
        }
    }
}

/// The tokio instant of a wall-clock time, a millisecond late so the
/// database clock has surely passed it.
fn instant_of(at: DateTime<Utc>) -> Instant {
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    Instant::now() + wait + Duration::from_millis(1)
}
