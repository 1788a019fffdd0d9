//! The sales figures: tickets sold, revenue and expired holds per session
//! (`session_sales`), counted from the event stream by the durable consumer
//! `sales-figures` that every instance runs (or `cinema worker` alone), and
//! read by admins with GetSessionSales. They trail the sales by the time an
//! event takes to arrive; booking never waits on them.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use uuid::Uuid;

use crate::{
    domain::{Error, figures::KindSales},
    events::{
        Event, EventType,
        consumer::{Failure, Handled, Handler},
    },
    store::{
        Db,
        figures::{self, Change, Recorded},
    },
};

/// The durable consumer's name, shared by every instance, and its name in
/// `processed_events`.
pub const CONSUMER: &str = "sales-figures";

/// Counts each payment and expired hold into its session's figures.
pub struct SalesFigures {
    db: Db,
}

impl SalesFigures {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl Handler for SalesFigures {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn description(&self) -> &'static str {
        "counts sales figures per session"
    }

    async fn ready(&self) -> anyhow::Result<()> {
        figures::check_tables(&self.db)
            .await
            .context("reading session_sales and processed_events (are migrations applied?)")
    }

    async fn handle(&self, event_type: &str, payload: &[u8]) -> Result<Handled, Failure> {
        let Some(change) = change_of(event_type, payload).map_err(Failure::Rejected)? else {
            return Ok(Handled::Ignored);
        };
        match figures::record(&self.db, CONSUMER, &change).await {
            Ok(Recorded::Counted) => Ok(Handled::Applied),
            Ok(Recorded::Duplicate) => Ok(Handled::Duplicate),
            Ok(Recorded::UnknownSession) => Err(Failure::Rejected(anyhow!(
                "session {} does not exist",
                change.session_id
            ))),
            Err(err @ Error::Unavailable(_)) => Err(Failure::Outage(err.into())),
            Err(err) => Err(Failure::Rejected(
                anyhow::Error::new(err).context("updating the sales figures"),
            )),
        }
    }
}

/// What an event changes in the figures; `None` for types that change nothing.
fn change_of(event_type: &str, payload: &[u8]) -> anyhow::Result<Option<Change>> {
    let counted = match EventType::from_name(event_type) {
        Some(
            t @ (EventType::PaymentConfirmed
            | EventType::ReservationExpired
            | EventType::TicketAdmitted
            | EventType::SaleRefunded),
        ) => t,
        _ => return Ok(None),
    };
    let event = counted
        .decode(payload)
        .with_context(|| format!("decoding a {counted:?}"))?;
    let change = match event {
        Event::PaymentConfirmed(paid) => {
            if paid.amount_cents < 0 {
                bail!("amount_cents is negative: {}", paid.amount_cents);
            }
            Change {
                tickets_sold: paid.seat_labels.len() as i64,
                revenue_cents: paid.amount_cents,
                by_kind: by_kind(&paid.seats)?,
                ..zero(&paid.event_id, &paid.session_id)?
            }
        }
        Event::ReservationExpired(expired) => Change {
            holds_expired: 1,
            ..zero(&expired.event_id, &expired.session_id)?
        },
        Event::TicketAdmitted(admitted) => Change {
            tickets_admitted: 1,
            ..zero(&admitted.event_id, &admitted.session_id)?
        },
        Event::SaleRefunded(refunded) => {
            if refunded.amount_cents < 0 {
                bail!("amount_cents is negative: {}", refunded.amount_cents);
            }
            Change {
                tickets_refunded: refunded.seat_labels.len() as i64,
                refunded_cents: refunded.amount_cents,
                ..zero(&refunded.event_id, &refunded.session_id)?
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(change))
}

/// The seats of a payment counted by kind and ticket type.
fn by_kind(seats: &[crate::proto::events::ReservedSeat]) -> anyhow::Result<Vec<KindSales>> {
    let mut counted: BTreeMap<_, KindSales> = BTreeMap::new();
    for seat in seats {
        let seat = seat
            .to_domain()
            .with_context(|| format!("seat {:?} has an unknown kind or ticket type", seat.label))?;
        let sales = counted
            .entry((seat.kind, seat.ticket_type))
            .or_insert(KindSales {
                kind: seat.kind,
                ticket_type: seat.ticket_type,
                tickets_sold: 0,
                revenue_cents: 0,
            });
        sales.tickets_sold += 1;
        sales.revenue_cents += seat.price_cents;
    }
    Ok(counted.into_values().collect())
}

/// A change of nothing yet, for this event of this session.
fn zero(event_id: &str, session_id: &str) -> anyhow::Result<Change> {
    Ok(Change {
        event_id: parse_uuid("event_id", event_id)?,
        session_id: parse_uuid("session_id", session_id)?,
        tickets_sold: 0,
        revenue_cents: 0,
        holds_expired: 0,
        tickets_admitted: 0,
        tickets_refunded: 0,
        refunded_cents: 0,
        by_kind: Vec::new(),
    })
}

fn parse_uuid(field: &str, value: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(value).with_context(|| format!("{field} {value:?} is not a UUID"))
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::proto::events as pb;

    fn payment(event_id: &str, session_id: &str, seats: &[&str], amount_cents: i64) -> Vec<u8> {
        pb::PaymentConfirmed {
            event_id: event_id.into(),
            session_id: session_id.into(),
            seat_labels: seats.iter().map(ToString::to_string).collect(),
            seats: seats
                .iter()
                .enumerate()
                .map(|(i, label)| pb::ReservedSeat {
                    label: label.to_string(),
                    kind: pb::SeatKind::Premium.into(),
                    ticket_type: if i == 0 {
                        pb::TicketType::Half
                    } else {
                        pb::TicketType::Full
                    }
                    .into(),
                    price_cents: amount_cents / seats.len() as i64,
                })
                .collect(),
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
        let change = change_of(EventType::PaymentConfirmed.name(), &payload)
            .unwrap()
            .unwrap();
        assert_eq!(
            change,
            Change {
                event_id: event,
                session_id: session,
                tickets_sold: 2,
                revenue_cents: 5000,
                holds_expired: 0,
                tickets_admitted: 0,
                tickets_refunded: 0,
                refunded_cents: 0,
                by_kind: vec![
                    KindSales {
                        kind: crate::domain::SeatKind::Premium,
                        ticket_type: crate::domain::TicketType::Full,
                        tickets_sold: 1,
                        revenue_cents: 2500,
                    },
                    KindSales {
                        kind: crate::domain::SeatKind::Premium,
                        ticket_type: crate::domain::TicketType::Half,
                        tickets_sold: 1,
                        revenue_cents: 2500,
                    }
                ]
            }
        );
    }

    #[test]
    fn an_expiry_counts_one_expired_hold() {
        let (event, session) = (Uuid::new_v4(), Uuid::new_v4());
        let payload = pb::ReservationExpired {
            event_id: event.to_string(),
            session_id: session.to_string(),
            seat_labels: vec!["A1".into(), "A2".into()],
            ..Default::default()
        }
        .encode_to_vec();
        let change = change_of(EventType::ReservationExpired.name(), &payload)
            .unwrap()
            .unwrap();
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
        assert_eq!(
            change_of(EventType::ReservationCreated.name(), b"\xff\xff").unwrap(),
            None
        );
        assert_eq!(change_of("seats.changed.x", b"").unwrap(), None);
    }

    #[test]
    fn bad_payloads_and_ids_are_rejected_with_the_reason() {
        let garbage = change_of(EventType::PaymentConfirmed.name(), b"\xff\xff\xff").unwrap_err();
        assert!(
            format!("{garbage:#}").contains("decoding a PaymentConfirmed"),
            "{garbage:#}"
        );
        let no_id = change_of(
            EventType::PaymentConfirmed.name(),
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
        assert!(change_of(EventType::PaymentConfirmed.name(), &negative).is_err());
    }
}
