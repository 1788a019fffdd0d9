//! `cinema events tail`: prints every event as it arrives, decoded, one line
//! each, for a human watching the system:
//!
//! ```text
//! 2026-11-22T11:14:08.745Z payment.confirmed sale=… reservation=… session=… user=alice seats=A1,B2 amount=50.00 BRL ref=pix-1 (event …)
//! ```
//!
//! It reads through an ephemeral ordered consumer, so it changes nothing on
//! the server and leaves nothing behind.

use std::io::Write;

use anyhow::Context;
use async_nats::jetstream::{
    self, ErrorCode,
    consumer::{DeliverPolicy, pull::OrderedConfig},
    context::GetStreamErrorKind,
};
use chrono::{DateTime, SecondsFormat, Utc};
use prost::Message as _;
use tokio_stream::StreamExt;

use super::{EVENT_TYPE_HEADER, Topology};
use crate::proto::{events as ev, v1::SeatStatus};

/// Prints the events of `topology` to stdout, from now on or, with
/// `from_start`, from the oldest the stream keeps. Runs until the caller stops
/// it (`cinema events tail` does on Ctrl-C), or fails when the stream does not
/// exist or stdout is closed.
pub async fn tail(
    js: &jetstream::Context,
    topology: &Topology,
    from_start: bool,
) -> anyhow::Result<()> {
    let stream = open_stream(js, topology).await?;
    let deliver_policy = if from_start {
        DeliverPolicy::All
    } else {
        DeliverPolicy::New
    };
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: format!("{}.>", topology.events_root),
            deliver_policy,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating a consumer on stream {}", topology.stream))?;
    let mut messages = consumer
        .messages()
        .await
        .context("starting to read events")?;
    let mut stdout = std::io::stdout();
    while let Some(message) = messages.next().await {
        match message {
            Ok(message) => {
                writeln!(stdout, "{}", line(topology, &message)).context("writing to stdout")?;
            }
            // The ordered consumer recreates itself; the next message may well come.
            Err(err) => tracing::warn!(error = %err, "reading events"),
        }
    }
    anyhow::bail!("the event stream {} ended", topology.stream)
}

/// The stream, or an error that says plainly that it does not exist.
async fn open_stream(
    js: &jetstream::Context,
    topology: &Topology,
) -> anyhow::Result<jetstream::stream::Stream> {
    let name = &topology.stream;
    match js.get_stream(name).await {
        Ok(stream) => Ok(stream),
        Err(err) if is_not_found(err.kind()) => anyhow::bail!(
            "stream {name} does not exist: `cinema serve` with this CINEMA_NATS_PREFIX creates it"
        ),
        Err(err) => Err(err).with_context(|| format!("opening stream {name}")),
    }
}

fn is_not_found(kind: GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// One line describing a message of the event stream; never fails.
fn line(topology: &Topology, message: &jetstream::Message) -> String {
    let published = published_time(message);
    let Some(event_type) = topology.event_type(&message.subject) else {
        return format!(
            "{} {} (not an event subject)",
            time(published),
            message.subject
        );
    };
    match describe(event_type, &message.payload) {
        Ok(Some(event)) => {
            let at = event.occur_time.or(published);
            format!(
                "{} {} {} (event {})",
                time(at),
                kind(event_type),
                event.fields,
                text(&event.event_id)
            )
        }
        Ok(None) => {
            let declared = message
                .headers
                .as_ref()
                .and_then(|h| h.get(EVENT_TYPE_HEADER))
                .map_or("none".to_owned(), |v| text(v.as_str()));
            format!(
                "{} {event_type} unknown event type ({} bytes, {EVENT_TYPE_HEADER}: {declared})",
                time(published),
                message.payload.len()
            )
        }
        Err(err) => format!(
            "{} {event_type} undecodable payload ({} bytes): {err}",
            time(published),
            message.payload.len()
        ),
    }
}

/// When JetStream stored the message.
fn published_time(message: &jetstream::Message) -> Option<DateTime<Utc>> {
    let nanos = message.info().ok()?.published.unix_timestamp_nanos();
    Some(DateTime::from_timestamp_nanos(i64::try_from(nanos).ok()?))
}

/// An event as a line shows it.
#[derive(Debug, PartialEq, Eq)]
struct Described {
    occur_time: Option<DateTime<Utc>>,
    event_id: String,
    /// `key=value` pairs, space-separated.
    fields: String,
}

/// The event of a payload, or `None` for a type this version does not know.
fn describe(event_type: &str, payload: &[u8]) -> Result<Option<Described>, prost::DecodeError> {
    let described = match kind(event_type) {
        "reservation.created" => {
            let e = ev::ReservationCreated::decode(payload)?;
            let fields = format!(
                "reservation={} session={} user={} seats={} total={} expires={}",
                text(&e.reservation_id),
                text(&e.session_id),
                text(&e.user_id),
                seats(&e.seat_labels),
                money(e.total_price_cents, &e.currency),
                time(timestamp(e.expire_time)),
            );
            Described {
                occur_time: timestamp(e.occur_time),
                event_id: e.event_id,
                fields,
            }
        }
        "reservation.expired" => {
            let e = ev::ReservationExpired::decode(payload)?;
            let fields =
                reservation_fields(&e.reservation_id, &e.session_id, &e.user_id, &e.seat_labels);
            Described {
                occur_time: timestamp(e.occur_time),
                event_id: e.event_id,
                fields,
            }
        }
        "reservation.cancelled" => {
            let e = ev::ReservationCancelled::decode(payload)?;
            let fields =
                reservation_fields(&e.reservation_id, &e.session_id, &e.user_id, &e.seat_labels);
            Described {
                occur_time: timestamp(e.occur_time),
                event_id: e.event_id,
                fields,
            }
        }
        "payment.confirmed" => {
            let e = ev::PaymentConfirmed::decode(payload)?;
            let fields = format!(
                "sale={} reservation={} session={} user={} seats={} amount={} ref={}",
                text(&e.sale_id),
                text(&e.reservation_id),
                text(&e.session_id),
                text(&e.user_id),
                seats(&e.seat_labels),
                money(e.amount_cents, &e.currency),
                text(&e.payment_reference),
            );
            Described {
                occur_time: timestamp(e.occur_time),
                event_id: e.event_id,
                fields,
            }
        }
        "seat.released" => {
            let e = ev::SeatReleased::decode(payload)?;
            let reason = match e.reason() {
                ev::ReleaseReason::Expired => "expired",
                ev::ReleaseReason::Cancelled => "cancelled",
                ev::ReleaseReason::Unspecified => "unspecified",
            };
            let fields = format!(
                "session={} seat={} reservation={} reason={reason}",
                text(&e.session_id),
                text(&e.seat_label),
                text(&e.reservation_id),
            );
            Described {
                occur_time: timestamp(e.occur_time),
                event_id: e.event_id,
                fields,
            }
        }
        "seats.changed" => {
            let e = ev::SeatsChanged::decode(payload)?;
            let changed: Vec<String> = e
                .seats
                .iter()
                .map(|seat| {
                    format!(
                        "{}:{}@{}",
                        text(&seat.label),
                        seat_status(seat.status()),
                        seat.version
                    )
                })
                .collect();
            let fields = format!(
                "session={} seats={}",
                text(&e.session_id),
                or_none(changed.join(","))
            );
            Described {
                occur_time: timestamp(e.occur_time),
                event_id: e.event_id,
                fields,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(described))
}

/// The event type without a per-session suffix: `seats.changed.<session_id>`
/// is a `seats.changed`.
fn kind(event_type: &str) -> &str {
    match event_type.strip_prefix("seats.changed.") {
        Some(_) => "seats.changed",
        None => event_type,
    }
}

fn reservation_fields(
    reservation_id: &str,
    session_id: &str,
    user_id: &str,
    labels: &[String],
) -> String {
    format!(
        "reservation={} session={} user={} seats={}",
        text(reservation_id),
        text(session_id),
        text(user_id),
        seats(labels)
    )
}

fn seat_status(status: SeatStatus) -> &'static str {
    match status {
        SeatStatus::Available => "available",
        SeatStatus::Held => "held",
        SeatStatus::Sold => "sold",
        SeatStatus::Unspecified => "unspecified",
    }
}

fn seats(labels: &[String]) -> String {
    or_none(labels.iter().map(|l| text(l)).collect::<Vec<_>>().join(","))
}

/// An amount in the smallest unit, shown in whole units with two decimals.
fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{sign}{}.{:02} {}",
        cents / 100,
        cents % 100,
        text(currency)
    )
}

/// A value as one word: quoted (with escapes) when it is empty or has spaces
/// or control characters, so one event always stays on one line.
fn text(value: &str) -> String {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        format!("{value:?}")
    } else {
        value.to_owned()
    }
}

fn or_none(joined: String) -> String {
    if joined.is_empty() {
        "none".to_owned()
    } else {
        joined
    }
}

fn timestamp(ts: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |at| at.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::Seat;

    fn at(seconds: i64, millis: i32) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp {
            seconds,
            nanos: millis * 1_000_000,
        })
    }

    #[test]
    fn a_payment_shows_who_paid_what_for_which_seats() {
        let payload = ev::PaymentConfirmed {
            event_id: "e1".into(),
            occur_time: at(1_795_346_048, 745),
            sale_id: "s1".into(),
            reservation_id: "r1".into(),
            session_id: "x1".into(),
            user_id: "alice".into(),
            seat_labels: vec!["A1".into(), "B2".into()],
            amount_cents: 5000,
            currency: "BRL".into(),
            payment_reference: "pix-1".into(),
        }
        .encode_to_vec();
        let event = describe("payment.confirmed", &payload).unwrap().unwrap();
        assert_eq!(time(event.occur_time), "2026-11-22T11:14:08.745Z");
        assert_eq!(
            event.fields,
            "sale=s1 reservation=r1 session=x1 user=alice seats=A1,B2 amount=50.00 BRL ref=pix-1"
        );
        assert_eq!(event.event_id, "e1");
    }

    #[test]
    fn a_seat_change_names_each_seat_with_status_and_version() {
        let payload = ev::SeatsChanged {
            event_id: "e2".into(),
            session_id: "x1".into(),
            seats: vec![Seat {
                label: "A1".into(),
                status: SeatStatus::Sold.into(),
                version: 3,
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_vec();
        let event = describe("seats.changed.x1", &payload).unwrap().unwrap();
        assert_eq!(event.fields, "session=x1 seats=A1:sold@3");
        assert_eq!(event.occur_time, None);
    }

    #[test]
    fn unknown_types_and_garbage_are_told_apart() {
        assert_eq!(describe("popcorn.sold", b"\x08\x01").unwrap(), None);
        assert!(describe("reservation.created", b"\xff\xff\xff").is_err());
    }

    #[test]
    fn values_stay_on_one_line() {
        assert_eq!(text("bob"), "bob");
        assert_eq!(text("bob\nsmith"), r#""bob\nsmith""#);
        assert_eq!(text(""), r#""""#);
        assert_eq!(money(-1999, "USD"), "-19.99 USD");
        assert_eq!(money(5, "BRL"), "0.05 BRL");
    }
}
