//! Durable JetStream consumers that do real work with events, such as the
//! sales figures: delivery, acks, retries and dead
//! letters, for any [`Handler`].
//!
//! Every instance runs each consumer; they share one durable pull consumer,
//! so each event goes to one of them. Delivery is at least once, so a
//! handler applies an event together with a record of its event id and
//! reports a second delivery as [`Handled::Duplicate`].
//!
//! What fails, and what happens then:
//! - NATS down, the stream missing, the handler not ready (tables not
//!   migrated yet): logged, and the consumer starts over after a capped
//!   exponential backoff.
//! - A dependency of the handler unreachable ([`Failure::Outage`]): the
//!   message at hand is retried in place (its ack deadline kept alive) until
//!   the dependency answers; an outage is no reason to give up on an event.
//! - Something wrong with the message itself ([`Failure::Rejected`]): NAK'd
//!   with a growing delay, and on its last delivery moved to the dead-letter
//!   stream. The messages behind it go on meanwhile.

use std::{convert::Infallible, future::Future, time::Duration};

use anyhow::{Context, anyhow};
use async_nats::{
    HeaderMap,
    jetstream::{
        self, AckKind,
        consumer::{AckPolicy, PullConsumer, pull},
    },
};
use tokio_stream::StreamExt;

use super::{Topology, backoff::Backoff};

/// What a durable consumer does with each event.
pub trait Handler: Send + Sync + 'static {
    /// The durable consumer's name, shared by every instance.
    fn name(&self) -> &'static str;

    /// What it is for, as the consumer's description on the server.
    fn description(&self) -> &'static str;

    /// Fails while events cannot be handled at all (its tables are missing,
    /// say): the consumer starts over later instead of dead-lettering them.
    fn ready(&self) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Applies one event, whose type is named by its subject (it may be one
    /// this version does not know).
    fn handle(
        &self,
        event_type: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<Handled, Failure>> + Send;
}

/// What became of an event that was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// It changed what the handler keeps.
    Applied,
    /// Its event id was handled before.
    Duplicate,
    /// A type this handler does not care about.
    Ignored,
}

/// Why an event could not be handled.
#[derive(Debug)]
pub enum Failure {
    /// A dependency cannot be reached: every message would fail alike.
    Outage(anyhow::Error),
    /// This message cannot be handled: redeliver it, then dead-letter it.
    Rejected(anyhow::Error),
}

/// The header of a dead letter that says why it could not be processed.
pub const DLQ_REASON_HEADER: &str = "Cinema-Dlq-Reason";
/// The header of a dead letter that names the subject it was published on.
pub const DLQ_SUBJECT_HEADER: &str = "Cinema-Dlq-Subject";
/// The header of a dead letter that names the consumer that gave up on it.
pub const DLQ_CONSUMER_HEADER: &str = "Cinema-Dlq-Consumer";

/// Deliveries of a message before it goes to the dead-letter stream.
const MAX_DELIVER: i64 = 5;
/// How long after each failed delivery (the 1st, 2nd, ...) a message comes back.
///
/// The delays travel with each NAK rather than as the consumer's `backoff`:
/// nats-server 2.9 applies `backoff` only to ack timeouts (it replaces
/// `ack_wait` with `backoff[0]`) and redelivers a plain NAK at once.
const REDELIVERY_DELAYS: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
];
/// How long the server waits for an ack before redelivering, e.g. after this
/// instance died mid-message.
const ACK_WAIT: Duration = Duration::from_secs(10);
/// Messages in this instance's hands at once. Just one: a message held while
/// PostgreSQL is down is kept alive, while others buffered behind it would
/// time out and use up their deliveries.
const IN_FLIGHT: usize = 1;
/// How long one pull request waits on the server for a message; then the
/// server ends it and the next one is sent.
const PULL_WAIT: Duration = Duration::from_secs(5);
/// Bounds of the wait before starting over after NATS or setup errors.
const RESTART_DELAYS: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(30));
/// Bounds of the wait between tries of one message while a dependency is down.
/// The longest stays well under [`ACK_WAIT`], which is renewed before every wait.
const OUTAGE_DELAYS: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(3));
/// Dead-letter reasons are cut to this many characters.
const MAX_REASON_CHARS: usize = 1000;

// Every delivery but the last is NAK'd with a delay of its own, and a message
// held through an outage is renewed before its ack deadline passes.
const _: () = assert!(REDELIVERY_DELAYS.len() as i64 == MAX_DELIVER - 1);
const _: () = assert!(OUTAGE_DELAYS.1.as_millis() * 2 < ACK_WAIT.as_millis());

/// Consumes events forever: never returns on its own (the caller aborts the task).
pub async fn run<H: Handler>(js: jetstream::Context, topology: Topology, handler: H) {
    let worker = Worker {
        js,
        topology,
        handler,
    };
    let consumer = worker.handler.name();
    let mut restart = Backoff::new(RESTART_DELAYS.0, RESTART_DELAYS.1);
    loop {
        let Err(err) = worker.consume(&mut restart).await;
        tracing::warn!(
            consumer,
            error = format!("{err:#}"),
            "events consumer failed; starting over"
        );
        tokio::time::sleep(restart.next_delay()).await;
    }
}

struct Worker<H> {
    js: jetstream::Context,
    topology: Topology,
    handler: H,
}

impl<H: Handler> Worker<H> {
    /// Sets up the durable consumer and handles messages until pulling fails.
    async fn consume(&self, restart: &mut Backoff) -> anyhow::Result<Infallible> {
        self.handler.ready().await?;
        let consumer = self.durable_consumer().await?;
        // Follow the server's setting: a consumer made by an older version may differ.
        let max_deliver = match consumer.cached_info().config.max_deliver {
            n if n > 0 => n,
            _ => MAX_DELIVER,
        };
        tracing::info!(
            consumer = self.handler.name(),
            stream = %self.topology.stream,
            "consuming events"
        );
        // One pull request at a time, each its own batch, rather than
        // async-nats's continuous `messages()` stream: that stream counts
        // the messages it is owed, and with batches of one it loses count
        // when a message overtakes its request's bookkeeping (a busy
        // machine), then waits for a message or heartbeat that never comes
        // and fails with "missed idle heartbeat".
        loop {
            let mut batch = consumer
                .batch()
                .max_messages(IN_FLIGHT)
                .expires(PULL_WAIT)
                .messages()
                .await
                .context("pulling messages")?;
            while let Some(message) = batch.next().await {
                let message = message
                    .map_err(|err| anyhow!(err))
                    .context("pulling messages")?;
                restart.reset();
                self.handle(message, max_deliver).await;
            }
        }
    }

    /// The durable consumer, created by whichever instance gets there first.
    async fn durable_consumer(&self) -> anyhow::Result<PullConsumer> {
        let name = &self.topology.stream;
        let stream =
            self.js.get_stream(name).await.with_context(|| {
                format!("opening stream {name} (it is created by `cinema serve`)")
            })?;
        let consumer = self.handler.name();
        let config = pull::Config {
            durable_name: Some(consumer.into()),
            description: Some(self.handler.description().into()),
            filter_subject: format!("{}.>", self.topology.events_root),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: MAX_DELIVER,
            ..Default::default()
        };
        stream
            .get_or_create_consumer(consumer, config)
            .await
            .with_context(|| format!("creating consumer {consumer} on stream {name}"))
    }

    /// Handles one message to the end: acked, NAK'd or dead-lettered.
    async fn handle(&self, message: jetstream::Message, max_deliver: i64) {
        let mut outage = Backoff::new(OUTAGE_DELAYS.0, OUTAGE_DELAYS.1);
        let outcome = loop {
            match self.apply(&message).await {
                Err(Failure::Outage(err)) => {
                    tracing::warn!(
                        subject = %message.subject,
                        error = format!("{err:#}"),
                        "a dependency is down; retrying the event"
                    );
                    keep_alive(&message).await;
                    tokio::time::sleep(outage.next_delay()).await;
                }
                Ok(outcome) => break Ok(outcome),
                Err(Failure::Rejected(err)) => break Err(err),
            }
        };
        match outcome {
            Ok(outcome) => {
                tracing::debug!(subject = %message.subject, ?outcome, "event handled");
                if let Err(err) = message.ack().await {
                    // It comes back after ACK_WAIT and is found to be a duplicate.
                    tracing::warn!(
                        subject = %message.subject,
                        error = %err,
                        "cannot ack an event"
                    );
                }
            }
            Err(err) => self.reject(&message, &err, max_deliver).await,
        }
    }

    /// Hands a message to the handler.
    async fn apply(&self, message: &jetstream::Message) -> Result<Handled, Failure> {
        let event_type = self.topology.event_type(&message.subject).ok_or_else(|| {
            Failure::Rejected(anyhow!("{} is not an event subject", message.subject))
        })?;
        self.handler.handle(event_type, &message.payload).await
    }

    /// NAKs a failed message so it comes back later, or dead-letters it on its
    /// last delivery.
    async fn reject(&self, message: &jetstream::Message, err: &anyhow::Error, max_deliver: i64) {
        // A message whose delivery count cannot be read is not retried blindly:
        // the server would drop it silently after its last delivery.
        let delivered = message.info().map_or(max_deliver, |info| info.delivered);
        if delivered < max_deliver {
            let delay = redelivery_delay(delivered);
            tracing::warn!(
                subject = %message.subject,
                delivered,
                ?delay,
                error = format!("{err:#}"),
                "cannot handle an event; it will be redelivered"
            );
            if let Err(nak) = message.ack_with(AckKind::Nak(Some(delay))).await {
                tracing::warn!(
                    subject = %message.subject,
                    error = %nak,
                    "cannot NAK an event"
                );
            }
            return;
        }
        self.dead_letter(message, err).await;
    }

    /// Publishes the message to the dead-letter stream, then stops its
    /// redelivery. Retries in place until JetStream stores it: on its last
    /// delivery the server will not send it again.
    async fn dead_letter(&self, message: &jetstream::Message, err: &anyhow::Error) {
        let event_type = self
            .topology
            .event_type(&message.subject)
            .unwrap_or("unknown");
        let subject = format!("{}.{event_type}", self.topology.dlq_root);
        let headers = dead_letter_headers(message, err, self.handler.name());
        let mut outage = Backoff::new(OUTAGE_DELAYS.0, OUTAGE_DELAYS.1);
        loop {
            match self.publish(&subject, headers.clone(), message).await {
                Ok(()) => break,
                Err(publish) => {
                    tracing::error!(
                        subject = %message.subject,
                        dlq_subject = %subject,
                        error = format!("{publish:#}"),
                        "cannot dead-letter an event; retrying"
                    );
                    keep_alive(message).await;
                    tokio::time::sleep(outage.next_delay()).await;
                }
            }
        }
        tracing::info!(
            subject = %message.subject,
            dlq_subject = %subject,
            reason = format!("{err:#}"),
            "event moved to the dead-letter stream"
        );
        if let Err(term) = message.ack_with(AckKind::Term).await {
            // Its deliveries are used up: the server will not send it again anyway.
            tracing::warn!(
                subject = %message.subject,
                error = %term,
                "cannot terminate a dead-lettered event"
            );
        }
    }

    /// Publishes and waits for JetStream to store the message.
    async fn publish(
        &self,
        subject: &str,
        headers: HeaderMap,
        message: &jetstream::Message,
    ) -> anyhow::Result<()> {
        self.js
            .publish_with_headers(subject.to_owned(), headers, message.payload.clone())
            .await
            .with_context(|| format!("publishing to {subject}"))?
            .await
            .with_context(|| format!("storing in the stream of {subject}"))?;
        Ok(())
    }
}

/// The wait before the next delivery of a message delivered `delivered` times.
fn redelivery_delay(delivered: i64) -> Duration {
    let index = usize::try_from(delivered.saturating_sub(1)).unwrap_or(0);
    REDELIVERY_DELAYS[index.min(REDELIVERY_DELAYS.len() - 1)]
}

/// The original headers, plus why and from where the message was dead-lettered.
fn dead_letter_headers(
    message: &jetstream::Message,
    err: &anyhow::Error,
    consumer: &'static str,
) -> HeaderMap {
    let mut headers = message.headers.clone().unwrap_or_default();
    headers.insert(DLQ_REASON_HEADER, header_text(&format!("{err:#}")));
    headers.insert(DLQ_SUBJECT_HEADER, message.subject.to_string());
    headers.insert(DLQ_CONSUMER_HEADER, consumer);
    headers
}

/// `text` as a header value: one line (a line break would end the header) of
/// bounded length.
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON_CHARS)
        .collect()
}

/// Asks the server to wait another ACK_WAIT before redelivering the message.
async fn keep_alive(message: &jetstream::Message) {
    if let Err(err) = message.ack_with(AckKind::Progress).await {
        tracing::warn!(
            subject = %message.subject,
            error = %err,
            "cannot extend an event's ack deadline"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_waits_longer_each_time_up_to_the_last_delay() {
        let delays: Vec<_> = (0..=6).map(redelivery_delay).collect();
        assert_eq!(
            delays[..3],
            [
                REDELIVERY_DELAYS[0],
                REDELIVERY_DELAYS[0],
                REDELIVERY_DELAYS[1]
            ]
        );
        assert_eq!(delays[6], REDELIVERY_DELAYS[3]);
    }

    #[test]
    fn a_reason_fits_in_one_header_line() {
        assert_eq!(header_text("bad\r\nthing"), "bad  thing");
        assert_eq!(header_text(&"x".repeat(5000)).len(), MAX_REASON_CHARS);
    }
}
