//! The relay: publishes committed outbox rows to JetStream, on every instance.
//!
//! It claims a batch with `FOR UPDATE SKIP LOCKED` (so relays on several
//! instances share the work and never publish the same row at once),
//! publishes each event with `Nats-Msg-Id` = event id, waits for JetStream's
//! acks, and only then marks the rows published. A crash between the ack and
//! the mark re-publishes the batch later; JetStream's duplicate window drops
//! the copies. While NATS is down it retries with exponential backoff and
//! jitter; booking never waits for it. When the server stops, the relay
//! publishes what the last calls committed before it returns.

use std::time::Duration;

use anyhow::Context;
use async_nats::{HeaderMap, jetstream};
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait};
use tokio::sync::watch;
use uuid::Uuid;

use super::{CONTENT_TYPE, EVENT_TYPE_HEADER, Topology, outbox::Signal, stream};
use crate::store::sql;

/// Events published per transaction.
const BATCH: i64 = 256;
/// Without a wake-up, the outbox is checked this often anyway.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait between attempts while NATS or PostgreSQL is down.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often published rows past their retention are deleted.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// The PostgreSQL channel the outbox trigger notifies.
const CHANNEL: &str = "cinema_outbox";

pub struct Relay {
    pub db: DatabaseConnection,
    pub js: jetstream::Context,
    pub topology: Topology,
    pub limits: stream::StreamLimits,
    pub retention: Duration,
    pub signal: Signal,
}

impl Relay {
    /// Runs until `stopping` turns true (or its sender is gone), then
    /// publishes one last batch and returns.
    pub async fn run(self, mut stopping: watch::Receiver<bool>) {
        let listener = tokio::spawn(listen(self.db.clone(), self.signal.clone()));
        let mut failures = 0u32;
        let mut streams_ready = false;
        let mut last_prune = tokio::time::Instant::now();
        loop {
            if *stopping.borrow() {
                if streams_ready && let Err(err) = self.publish_batch().await {
                    tracing::warn!(
                        error = format!("{err:#}"),
                        "the last events were left for another instance"
                    );
                }
                break;
            }
            if !streams_ready {
                match stream::ensure(&self.js, &self.topology, &self.limits).await {
                    Ok(()) => streams_ready = true,
                    Err(err) => {
                        failures = self.failed(failures, &err).await;
                        continue;
                    }
                }
            }
            match self.publish_batch().await {
                Ok(published) => {
                    if failures > 0 {
                        tracing::info!("events flow again");
                        failures = 0;
                    }
                    if published as i64 == BATCH {
                        continue;
                    }
                }
                Err(err) => {
                    failures = self.failed(failures, &err).await;
                    continue;
                }
            }
            if last_prune.elapsed() >= PRUNE_INTERVAL {
                last_prune = tokio::time::Instant::now();
                if let Err(err) = self.prune().await {
                    tracing::warn!(error = %err, "pruning the outbox failed");
                }
            }
            tokio::select! {
                () = self.signal.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                changed = stopping.changed() => if changed.is_err() { break },
            }
        }
        listener.abort();
    }

    /// Publishes the oldest unpublished events; returns how many.
    async fn publish_batch(&self) -> anyhow::Result<usize> {
        #[derive(FromQueryResult)]
        struct Pending {
            seq: i64,
            event_id: Uuid,
            subject: String,
            payload: Vec<u8>,
        }
        let txn = self
            .db
            .begin()
            .await
            .context("beginning a relay transaction")?;
        let batch = Pending::find_by_statement(sql(
            "SELECT seq, event_id, subject, payload FROM outbox
              WHERE published_time IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
            [BATCH.into()],
        ))
        .all(&txn)
        .await
        .context("claiming outbox rows")?;
        if batch.is_empty() {
            return Ok(0);
        }
        let mut acks = Vec::with_capacity(batch.len());
        for event in &batch {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.event_id.to_string().as_str());
            headers.insert("Content-Type", CONTENT_TYPE);
            headers.insert(EVENT_TYPE_HEADER, message_name(&event.subject));
            let ack = self
                .js
                .publish_with_headers(
                    self.topology.subject(&event.subject),
                    headers,
                    event.payload.clone().into(),
                )
                .await
                .context("publishing an event")?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.context("waiting for JetStream's ack")?;
        }
        let seqs: Vec<String> = batch.iter().map(|event| event.seq.to_string()).collect();
        sea_orm::ConnectionTrait::execute_raw(
            &txn,
            sql(
                "UPDATE outbox SET published_time = now() WHERE seq = ANY(string_to_array($1, ',')::bigint[])",
                [seqs.join(",").into()],
            ),
        )
        .await
        .context("marking events published")?;
        txn.commit()
            .await
            .context("committing the relay transaction")?;
        tracing::debug!(published = batch.len(), "events published");
        Ok(batch.len())
    }

    async fn prune(&self) -> anyhow::Result<()> {
        let deleted = sea_orm::ConnectionTrait::execute_raw(
            &self.db,
            sql(
                "DELETE FROM outbox WHERE published_time < now() - $1 * interval '1 second'",
                [(self.retention.as_secs() as i64).into()],
            ),
        )
        .await?
        .rows_affected();
        if deleted > 0 {
            tracing::debug!(deleted, "published events pruned from the outbox");
        }
        Ok(())
    }

    /// Logs the first failure of a run of them, then sleeps with backoff and jitter.
    async fn failed(&self, failures: u32, err: &anyhow::Error) -> u32 {
        if failures == 0 {
            tracing::warn!(
                error = format!("{err:#}"),
                "events cannot be published yet; retrying with backoff"
            );
        }
        tokio::time::sleep(backoff(failures)).await;
        failures.saturating_add(1)
    }
}

/// 100 ms doubling up to [`MAX_BACKOFF`], with up to 50% jitter so that
/// relays on many instances do not retry in step.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(100)
        .saturating_mul(1 << failures.min(10))
        .min(MAX_BACKOFF);
    let jitter = f64::from(Uuid::new_v4().as_u128() as u16) / f64::from(u16::MAX) * 0.5;
    base.mul_f64(1.0 + jitter)
}

/// Wakes the relay on every NOTIFY from the outbox trigger (other instances'
/// commits); reconnects by itself after PostgreSQL restarts.
async fn listen(db: DatabaseConnection, signal: Signal) {
    loop {
        let listener = async {
            let mut listener = sqlx_listener(&db).await?;
            listener.listen(CHANNEL).await?;
            loop {
                listener.recv().await?;
                signal.notify();
            }
            #[allow(unreachable_code)]
            Ok::<(), sea_orm::sqlx::Error>(())
        };
        if let Err(err) = listener.await {
            tracing::debug!(error = %err, "outbox listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn sqlx_listener(
    db: &DatabaseConnection,
) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    sea_orm::sqlx::postgres::PgListener::connect_with(db.get_postgres_connection_pool()).await
}

/// The protobuf message carried by an event type.
pub fn message_name(event_type: &str) -> &'static str {
    match event_type {
        "reservation.created" => "cinema.events.v1.ReservationCreated",
        "reservation.expired" => "cinema.events.v1.ReservationExpired",
        "reservation.cancelled" => "cinema.events.v1.ReservationCancelled",
        "payment.confirmed" => "cinema.events.v1.PaymentConfirmed",
        "seat.released" => "cinema.events.v1.SeatReleased",
        "seats.changed" => "cinema.events.v1.SeatsChanged",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_with_bounded_jitter() {
        assert!((100..=150).contains(&backoff(0).as_millis()));
        assert!((800..=1200).contains(&backoff(3).as_millis()));
        assert!(backoff(30) <= MAX_BACKOFF.mul_f64(1.5));
    }
}
