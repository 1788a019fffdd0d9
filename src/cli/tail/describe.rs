//! An event as `cinema events tail` shows it: its type and its fields as
//! `key=value` words, each value kept on one line.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    events::{Event, EventType},
    proto::{datetime, events as pb},
};

/// An event as a line shows it.
#[derive(Debug, PartialEq, Eq)]
pub struct Described {
    pub occur_time: Option<DateTime<Utc>>,
    pub event_id: String,
    /// `key=value` pairs, space-separated.
    pub fields: String,
}

/// The event of a payload, or `None` for a type this version does not know.
pub fn describe(event_type: &str, payload: &[u8]) -> Result<Option<Described>, prost::DecodeError> {
    let Some(known) = EventType::from_name(kind(event_type)) else {
        return Ok(None);
    };
    let event = known.decode(payload)?;
    let fields = match &event {
        Event::ReservationCreated(e) => format!(
            "reservation={} session={} user={} seats={} total={} expires={}",
            text(&e.reservation_id),
            text(&e.session_id),
            text(&e.user_id),
            priced(&e.seats, &e.seat_labels),
            money(e.total_price_cents, &e.currency),
            time(datetime(e.expire_time)),
        ),
        Event::ReservationExpired(e) => {
            reservation_fields(&e.reservation_id, &e.session_id, &e.user_id, &e.seat_labels)
        }
        Event::ReservationExtended(e) => format!(
            "{} expires={} extensions_left={}",
            reservation_fields(&e.reservation_id, &e.session_id, &e.user_id, &e.seat_labels),
            time(datetime(e.expire_time)),
            e.extensions_left
        ),
        Event::ReservationCancelled(e) => {
            reservation_fields(&e.reservation_id, &e.session_id, &e.user_id, &e.seat_labels)
        }
        Event::PaymentConfirmed(e) => format!(
            "sale={} reservation={} session={} user={} seats={} amount={} ref={}",
            text(&e.sale_id),
            text(&e.reservation_id),
            text(&e.session_id),
            text(&e.user_id),
            priced(&e.seats, &e.seat_labels),
            money(e.amount_cents, &e.currency),
            text(&e.payment_reference),
        ),
        Event::SaleRefunded(e) => {
            let admitted = if e.admitted_labels.is_empty() {
                String::new()
            } else {
                format!(" admitted={}", seats(&e.admitted_labels))
            };
            format!(
                "refund={} sale={} session={} user={} seats={} amount={} reason={} by={}{admitted}",
                text(&e.refund_id),
                text(&e.sale_id),
                text(&e.session_id),
                text(&e.user_id),
                seats(&e.seat_labels),
                money(e.amount_cents, &e.currency),
                text(&e.reason),
                text(&e.actor)
            )
        }
        Event::SessionCancelled(e) => format!(
            "session={} reason={} by={} reservations_cancelled={} sales_refunded={} refunded_cents={}",
            text(&e.session_id),
            text(&e.reason),
            text(&e.actor),
            e.reservations_cancelled,
            e.sales_refunded,
            e.refunded_cents
        ),
        Event::TicketAdmitted(e) => format!(
            "ticket={} sale={} session={} seat={} gate={}",
            text(&e.ticket_id),
            text(&e.sale_id),
            text(&e.session_id),
            text(&e.seat_label),
            text(&e.gate)
        ),
        Event::SeatReleased(e) => {
            let reason = match e.reason() {
                pb::ReleaseReason::Expired => "expired",
                pb::ReleaseReason::Cancelled => "cancelled",
                pb::ReleaseReason::Refunded => "refunded",
                pb::ReleaseReason::Unspecified => "unspecified",
            };
            format!(
                "session={} seat={} reservation={} reason={reason}",
                text(&e.session_id),
                text(&e.seat_label),
                text(&e.reservation_id),
            )
        }
        Event::SeatsChanged(e) => {
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
            let last = if e.session_cancelled {
                " (session cancelled: last change)"
            } else {
                ""
            };
            format!(
                "session={} seats={}{last}",
                text(&e.session_id),
                or_none(changed.join(","))
            )
        }
    };
    Ok(Some(Described {
        occur_time: datetime(event.occur_time()),
        event_id: event.event_id().to_owned(),
        fields,
    }))
}

/// The event type without a per-session suffix: `seats.changed.<session_id>`
/// is a `seats.changed`.
pub fn kind(event_type: &str) -> &str {
    let changed = EventType::SeatsChanged.name();
    match event_type.strip_prefix(changed) {
        Some(suffix) if suffix.starts_with('.') => changed,
        _ => event_type,
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

fn seat_status(status: pb::SeatStatus) -> &'static str {
    match status {
        pb::SeatStatus::Available => "available",
        pb::SeatStatus::Held => "held",
        pb::SeatStatus::Sold => "sold",
        pb::SeatStatus::Blocked => "blocked",
        pb::SeatStatus::Unspecified => "unspecified",
    }
}

/// Each seat as `label:kind:ticket:cents` (`A3:standard:half:1251`); just
/// the labels for an event written before seats had kinds and prices.
fn priced(seats: &[pb::ReservedSeat], labels: &[String]) -> String {
    if seats.is_empty() {
        return self::seats(labels);
    }
    let described: Vec<String> = seats
        .iter()
        .map(|seat| {
            let kind = seat.kind().as_str_name().trim_start_matches("SEAT_KIND_");
            let ticket = seat
                .ticket_type()
                .as_str_name()
                .trim_start_matches("TICKET_TYPE_");
            format!(
                "{}:{}:{}:{}",
                text(&seat.label),
                kind.to_lowercase(),
                ticket.to_lowercase(),
                seat.price_cents
            )
        })
        .collect();
    described.join(",")
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
pub fn text(value: &str) -> String {
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

pub fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |at| at.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    use crate::proto::events::{Seat, SeatStatus};

    fn at(seconds: i64, millis: i32) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp {
            seconds,
            nanos: millis * 1_000_000,
        })
    }

    #[test]
    fn a_payment_shows_who_paid_what_for_which_seats() {
        let payload = pb::PaymentConfirmed {
            event_id: "e1".into(),
            occur_time: at(1_795_346_048, 745),
            sale_id: "s1".into(),
            reservation_id: "r1".into(),
            session_id: "x1".into(),
            user_id: "alice".into(),
            seat_labels: vec!["A1".into(), "B2".into()],
            amount_cents: 3750,
            currency: "BRL".into(),
            payment_reference: "pix-1".into(),
            seats: vec![
                pb::ReservedSeat {
                    label: "A1".into(),
                    kind: pb::SeatKind::Premium.into(),
                    ticket_type: pb::TicketType::Full.into(),
                    price_cents: 2500,
                },
                pb::ReservedSeat {
                    label: "B2".into(),
                    kind: pb::SeatKind::Standard.into(),
                    ticket_type: pb::TicketType::Half.into(),
                    price_cents: 1250,
                },
            ],
        }
        .encode_to_vec();
        let event = describe(EventType::PaymentConfirmed.name(), &payload)
            .unwrap()
            .unwrap();
        assert_eq!(time(event.occur_time), "2026-11-22T11:14:08.745Z");
        assert_eq!(
            event.fields,
            "sale=s1 reservation=r1 session=x1 user=alice \
             seats=A1:premium:full:2500,B2:standard:half:1250 amount=37.50 BRL ref=pix-1"
        );
        assert_eq!(event.event_id, "e1");
    }

    #[test]
    fn a_seat_change_names_each_seat_with_status_and_version() {
        let payload = pb::SeatsChanged {
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
    fn a_cancellation_tells_why_who_and_what_it_undid() {
        let payload = pb::SessionCancelled {
            event_id: "e3".into(),
            session_id: "x1".into(),
            reason: "projector broken".into(),
            actor: "admin".into(),
            reservations_cancelled: 1,
            sales_refunded: 2,
            refunded_cents: 5000,
            ..Default::default()
        }
        .encode_to_vec();
        let event = describe("session.cancelled", &payload).unwrap().unwrap();
        assert_eq!(
            event.fields,
            r#"session=x1 reason="projector broken" by=admin reservations_cancelled=1 sales_refunded=2 refunded_cents=5000"#
        );
    }

    #[test]
    fn unknown_types_and_garbage_are_told_apart() {
        assert_eq!(describe("popcorn.sold", b"\x08\x01").unwrap(), None);
        assert!(describe(EventType::ReservationCreated.name(), b"\xff\xff\xff").is_err());
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
