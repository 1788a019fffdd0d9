//! The `sales-figures` consumer: counts tickets sold, revenue and expired
//! holds per session (`session_sales`) from the event stream.
//!
//! Every instance runs one; they share a durable pull consumer, so each event
//! goes to one of them. Delivery is at least once, so an event is applied in
//! one PostgreSQL transaction with a `processed_events` row keyed by its event
//! id: a second delivery of the same event changes nothing.
//!
//! What fails, and what happens then:
//! - NATS down, the stream missing, the tables not migrated yet: logged, and
//!   the consumer starts over after a capped exponential backoff.
//! - PostgreSQL unreachable: the message at hand is retried in place (its ack
//!   deadline kept alive) until PostgreSQL answers; an outage is no reason to
//!   give up on an event.
//! - Something wrong with the message itself (undecodable payload, a bad id,
//!   an unknown session, a database error other than an outage): NAK'd with a
//!   growing delay, and on its last delivery moved to the dead-letter stream.
//!   The messages behind it go on meanwhile.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use async_nats::{
    HeaderMap,
    jetstream::{
        self, AckKind,
        consumer::{AckPolicy, PullConsumer, pull},
    },
};
use prost::Message as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use tokio_stream::StreamExt;
use uuid::Uuid;

use super::Topology;
use crate::{
    proto::events as ev,
    store::{self, sql},
};

/// The durable consumer's name, shared by every instance, and its name in
/// `processed_events`.
pub const CONSUMER: &str = "sales-figures";
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
/// How often the server tells an idle consumer it is still there.
const HEARTBEAT: Duration = Duration::from_secs(5);
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
pub async fn run(db: DatabaseConnection, js: jetstream::Context, topology: Topology) {
    let worker = Worker { db, js, topology };
    let mut restart = Backoff::new(RESTART_DELAYS);
    loop {
        match worker.consume(&mut restart).await {
            Ok(()) => tracing::warn!(
                consumer = CONSUMER,
                "the message stream ended; starting over"
            ),
            Err(err) => tracing::warn!(
                consumer = CONSUMER,
                error = format!("{err:#}"),
                "events consumer failed; starting over"
            ),
        }
        tokio::time::sleep(restart.next_delay()).await;
    }
}

struct Worker {
    db: DatabaseConnection,
    js: jetstream::Context,
    topology: Topology,
}

/// What became of a message that was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Its figures were added.
    Counted,
    /// Its event id was counted before.
    Duplicate,
    /// An event type that does not change the figures.
    Ignored,
}

/// Why a message could not be handled.
#[derive(Debug)]
enum Failure {
    /// PostgreSQL cannot be reached: every message would fail alike.
    Outage(anyhow::Error),
    /// This message cannot be handled: redeliver it, then dead-letter it.
    Rejected(anyhow::Error),
}

/// One event's change to the figures of its session.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    event_id: Uuid,
    session_id: Uuid,
    tickets_sold: i64,
    revenue_cents: i64,
    holds_expired: i64,
}

impl Worker {
    /// Sets up the durable consumer and handles messages until the stream fails.
    async fn consume(&self, restart: &mut Backoff) -> anyhow::Result<()> {
        check_tables(&self.db).await?;
        let consumer = self.durable_consumer().await?;
        // Follow the server's setting: a consumer made by an older version may differ.
        let max_deliver = match consumer.cached_info().config.max_deliver {
            n if n > 0 => n,
            _ => MAX_DELIVER,
        };
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(IN_FLIGHT)
            .heartbeat(HEARTBEAT)
            .messages()
            .await
            .context("starting to pull messages")?;
        tracing::info!(
            consumer = CONSUMER,
            stream = %self.topology.stream,
            "consuming events"
        );
        while let Some(message) = messages.next().await {
            let message = message.context("pulling messages")?;
            restart.reset();
            self.handle(message, max_deliver).await;
        }
        Ok(())
    }

    /// The durable consumer, created by whichever instance gets there first.
    async fn durable_consumer(&self) -> anyhow::Result<PullConsumer> {
        let name = &self.topology.stream;
        let stream =
            self.js.get_stream(name).await.with_context(|| {
                format!("opening stream {name} (it is created by `cinema serve`)")
            })?;
        let config = pull::Config {
            durable_name: Some(CONSUMER.into()),
            description: Some("counts sales figures per session".into()),
            filter_subject: format!("{}.>", self.topology.events_root),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: MAX_DELIVER,
            ..Default::default()
        };
        stream
            .get_or_create_consumer(CONSUMER, config)
            .await
            .with_context(|| format!("creating consumer {CONSUMER} on stream {name}"))
    }

    /// Handles one message to the end: acked, NAK'd or dead-lettered.
    async fn handle(&self, message: jetstream::Message, max_deliver: i64) {
        let mut outage = Backoff::new(OUTAGE_DELAYS);
        let outcome = loop {
            match self.apply(&message).await {
                Err(Failure::Outage(err)) => {
                    tracing::warn!(
                        subject = %message.subject,
                        error = format!("{err:#}"),
                        "PostgreSQL is down; retrying the event"
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

    /// Applies a message's change to the figures, once per event id.
    async fn apply(&self, message: &jetstream::Message) -> Result<Outcome, Failure> {
        let event_type = self.topology.event_type(&message.subject).ok_or_else(|| {
            Failure::Rejected(anyhow!("{} is not an event subject", message.subject))
        })?;
        match change_of(event_type, &message.payload).map_err(Failure::Rejected)? {
            Some(change) => record(&self.db, &change).await,
            None => Ok(Outcome::Ignored),
        }
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
        let headers = dead_letter_headers(message, err);
        let mut outage = Backoff::new(OUTAGE_DELAYS);
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

/// Fails unless the tables of migration 0002 exist: without them every event
/// would fail and end as a dead letter.
async fn check_tables(db: &DatabaseConnection) -> anyhow::Result<()> {
    db.execute_unprepared("SELECT 1 FROM session_sales, processed_events LIMIT 0")
        .await
        .context("reading session_sales and processed_events (are migrations applied?)")?;
    Ok(())
}

/// What an event changes in the figures; `None` for types that change nothing.
fn change_of(event_type: &str, payload: &[u8]) -> anyhow::Result<Option<Change>> {
    match event_type {
        "payment.confirmed" => {
            let event =
                ev::PaymentConfirmed::decode(payload).context("decoding a PaymentConfirmed")?;
            if event.amount_cents < 0 {
                bail!("amount_cents is negative: {}", event.amount_cents);
            }
            Ok(Some(Change {
                event_id: parse_uuid("event_id", &event.event_id)?,
                session_id: parse_uuid("session_id", &event.session_id)?,
                tickets_sold: event.seat_labels.len() as i64,
                revenue_cents: event.amount_cents,
                holds_expired: 0,
            }))
        }
        "reservation.expired" => {
            let event =
                ev::ReservationExpired::decode(payload).context("decoding a ReservationExpired")?;
            Ok(Some(Change {
                event_id: parse_uuid("event_id", &event.event_id)?,
                session_id: parse_uuid("session_id", &event.session_id)?,
                tickets_sold: 0,
                revenue_cents: 0,
                holds_expired: 1,
            }))
        }
        _ => Ok(None),
    }
}

fn parse_uuid(field: &str, value: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(value).with_context(|| format!("{field} {value:?} is not a UUID"))
}

/// Adds a change to its session's figures, in one transaction with the record
/// of its event id, unless that event id was counted before.
async fn record(db: &DatabaseConnection, change: &Change) -> Result<Outcome, Failure> {
    let txn = db
        .begin()
        .await
        .map_err(db_failure("starting a transaction"))?;
    let first_time = txn
        .execute_raw(sql(
            "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            vec![CONSUMER.into(), change.event_id.into()],
        ))
        .await
        .map_err(db_failure("recording the event id"))?
        .rows_affected()
        == 1;
    if !first_time {
        txn.rollback().await.map_err(db_failure("rolling back"))?;
        return Ok(Outcome::Duplicate);
    }
    // Selecting from sessions turns an unknown session into "no row".
    let counted = txn
        .execute_raw(sql(
            "INSERT INTO session_sales (session_id, tickets_sold, revenue_cents, holds_expired)
             SELECT session_id, $2, $3, $4 FROM sessions WHERE session_id = $1
             ON CONFLICT (session_id) DO UPDATE SET
                 tickets_sold  = session_sales.tickets_sold + EXCLUDED.tickets_sold,
                 revenue_cents = session_sales.revenue_cents + EXCLUDED.revenue_cents,
                 holds_expired = session_sales.holds_expired + EXCLUDED.holds_expired,
                 update_time   = now()",
            vec![
                change.session_id.into(),
                change.tickets_sold.into(),
                change.revenue_cents.into(),
                change.holds_expired.into(),
            ],
        ))
        .await
        .map_err(db_failure("updating session_sales"))?
        .rows_affected();
    if counted == 0 {
        txn.rollback().await.map_err(db_failure("rolling back"))?;
        return Err(Failure::Rejected(anyhow!(
            "session {} does not exist",
            change.session_id
        )));
    }
    txn.commit().await.map_err(db_failure("committing"))?;
    Ok(Outcome::Counted)
}

/// An outage when PostgreSQL cannot be reached, else a problem of this message.
fn db_failure(doing: &'static str) -> impl Fn(DbErr) -> Failure {
    move |err| {
        let outage = store::is_connection_error(&err);
        let err = anyhow::Error::new(err).context(doing);
        if outage {
            Failure::Outage(err)
        } else {
            Failure::Rejected(err)
        }
    }
}

/// The wait before the next delivery of a message delivered `delivered` times.
fn redelivery_delay(delivered: i64) -> Duration {
    let index = usize::try_from(delivered.saturating_sub(1)).unwrap_or(0);
    REDELIVERY_DELAYS[index.min(REDELIVERY_DELAYS.len() - 1)]
}

/// The original headers, plus why and from where the message was dead-lettered.
fn dead_letter_headers(message: &jetstream::Message, err: &anyhow::Error) -> HeaderMap {
    let mut headers = message.headers.clone().unwrap_or_default();
    headers.insert(DLQ_REASON_HEADER, header_text(&format!("{err:#}")));
    headers.insert(DLQ_SUBJECT_HEADER, message.subject.to_string());
    headers.insert(DLQ_CONSUMER_HEADER, CONSUMER);
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

/// Capped exponential backoff.
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new((first, max): (Duration, Duration)) -> Self {
        Self {
            first,
            max,
            next: first,
        }
    }

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(self.max);
        delay
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(event_id: &str, session_id: &str, seats: &[&str], amount_cents: i64) -> Vec<u8> {
        ev::PaymentConfirmed {
            event_id: event_id.into(),
            session_id: session_id.into(),
            seat_labels: seats.iter().map(ToString::to_string).collect(),
            amount_cents,
            currency: "BRL".into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn a_payment_counts_its_seats_and_amount() {
        let (event, session) = (Uuid::new_v4(), Uuid::new_v4());
        let payload = payment(
            &event.to_string(),
            &session.to_string(),
            &["A1", "B2"],
            5000,
        );
        let change = change_of("payment.confirmed", &payload).unwrap().unwrap();
        assert_eq!(
            change,
            Change {
                event_id: event,
                session_id: session,
                tickets_sold: 2,
                revenue_cents: 5000,
                holds_expired: 0
            }
        );
    }

    #[test]
    fn an_expiry_counts_one_expired_hold() {
        let (event, session) = (Uuid::new_v4(), Uuid::new_v4());
        let payload = ev::ReservationExpired {
            event_id: event.to_string(),
            session_id: session.to_string(),
            seat_labels: vec!["A1".into(), "A2".into()],
            ..Default::default()
        }
        .encode_to_vec();
        let change = change_of("reservation.expired", &payload).unwrap().unwrap();
        assert_eq!(
            (
                change.tickets_sold,
                change.revenue_cents,
                change.holds_expired
            ),
            (0, 0, 1)
        );
    }

    #[test]
    fn other_types_change_nothing_whatever_their_payload() {
        assert_eq!(change_of("reservation.created", b"\xff\xff").unwrap(), None);
        assert_eq!(change_of("seats.changed.x", b"").unwrap(), None);
    }

    #[test]
    fn bad_payloads_and_ids_are_rejected_with_the_reason() {
        let garbage = change_of("payment.confirmed", b"\xff\xff\xff").unwrap_err();
        assert!(
            format!("{garbage:#}").contains("decoding a PaymentConfirmed"),
            "{garbage:#}"
        );
        let no_id = change_of(
            "payment.confirmed",
            &payment("", &Uuid::new_v4().to_string(), &["A1"], 1),
        )
        .unwrap_err();
        assert_eq!(
            format!("{no_id:#}").split(':').next(),
            Some(r#"event_id "" is not a UUID"#)
        );
        let negative = payment(
            &Uuid::new_v4().to_string(),
            &Uuid::new_v4().to_string(),
            &["A1"],
            -1,
        );
        assert!(change_of("payment.confirmed", &negative).is_err());
    }

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

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut backoff = Backoff::new((Duration::from_millis(100), Duration::from_millis(300)));
        let delays: Vec<_> = (0..4).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 300, 300]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }
}
