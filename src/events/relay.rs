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
use tokio::sync::watch;

use super::{CONTENT_TYPE, EVENT_TYPE_HEADER, EventType, Topology, backoff::Backoff, stream};
use crate::{
    config::StreamLimits,
    events::outbox::Signal,
    store::{self, Db},
};

/// Events published per transaction.
const BATCH: u64 = 256;
/// Without a wake-up, the outbox is checked this often anyway.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often published rows past their retention, and the ids of events
/// older than the stream keeps, are deleted.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

pub struct Relay {
    pub db: Db,
    pub js: jetstream::Context,
    pub topology: Topology,
    pub limits: StreamLimits,
    pub retention: Duration,
    pub signal: Signal,
}

impl Relay {
    /// Runs until `stopping` turns true (or its sender is gone), then
    /// publishes one last batch and returns.
    pub async fn run(self, mut stopping: watch::Receiver<bool>) {
        let listener = tokio::spawn(store::outbox::listen(self.db.clone(), {
            let signal = self.signal.clone();
            move || signal.notify()
        }));
        let mut retry =
            Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).with_jitter();
        let mut failing = false;
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
            let published = match self.ensure_streams(&mut streams_ready).await {
                Ok(()) => self.publish_batch().await,
                Err(err) => Err(err),
            };
            match published {
                Ok(count) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("events flow again");
                        retry.reset();
                    }
                    if count as u64 == BATCH {
                        continue;
                    }
                }
                Err(err) => {
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(
                            error = format!("{err:#}"),
                            "events cannot be published yet; retrying with backoff"
                        );
                    }
                    tokio::time::sleep(retry.next_delay()).await;
                    continue;
                }
            }
            if last_prune.elapsed() >= PRUNE_INTERVAL {
                last_prune = tokio::time::Instant::now();
                self.prune().await;
            }
            tokio::select! {
                () = self.signal.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                changed = stopping.changed() => if changed.is_err() { break },
            }
        }
        listener.abort();
    }

    async fn ensure_streams(&self, ready: &mut bool) -> anyhow::Result<()> {
        if !*ready {
            stream::ensure(&self.js, &self.topology, &self.limits).await?;
            *ready = true;
        }
        Ok(())
    }

    /// Publishes the oldest unpublished events; returns how many.
    async fn publish_batch(&self) -> anyhow::Result<usize> {
        let tx = store::begin(&self.db)
            .await
            .context("beginning a relay transaction")?;
        let batch = store::outbox::claim(&tx, BATCH)
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
            let message_name =
                EventType::from_name(&event.event_type).map_or("", |t| t.message_name());
            headers.insert(EVENT_TYPE_HEADER, message_name);
            let subject = self.topology.subject(&event.event_type);
            let ack = self
                .js
                .publish_with_headers(subject, headers, event.payload.clone().into())
                .await
                .context("publishing an event")?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.context("waiting for JetStream's ack")?;
        }
        let seqs: Vec<i64> = batch.iter().map(|event| event.seq).collect();
        store::outbox::mark_published(&tx, &seqs)
            .await
            .context("marking events published")?;
        tx.commit()
            .await
            .context("committing the relay transaction")?;
        tracing::debug!(published = batch.len(), "events published");
        Ok(batch.len())
    }

    async fn prune(&self) {
        match store::outbox::prune(&self.db, self.retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "published events pruned from the outbox"),
            Err(err) => tracing::warn!(error = %err, "pruning the outbox failed"),
        }
        // A consumer's record of an event outlives the event in the stream
        // by nothing: the stream can no longer redeliver it.
        match store::figures::prune_processed(&self.db, self.limits.max_age).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "processed event ids pruned"),
            Err(err) => tracing::warn!(error = %err, "pruning processed event ids failed"),
        }
    }
}
