//! Writing events: the transaction that changes state also inserts its
//! events into the `outbox` table, so an event exists if and only if its
//! change was committed. The relay publishes them afterwards.

use std::sync::Arc;

use chrono::Utc;
use prost::Message;
use tokio::sync::Notify;
use uuid::Uuid;

use super::EventType;
use crate::{
    domain::{
        ChangedSeat, Reservation, Result, Sale, SeatLabel, Ticket, labels,
        reservation::LockedReservation,
    },
    proto::{self, events as pb},
    store::{self, Tx, reservations::Ended},
};

/// Tells this instance's relay that events were committed (other instances
/// learn it from PostgreSQL's NOTIFY).
#[derive(Clone, Default)]
pub struct Signal(Arc<Notify>);

impl Signal {
    pub fn notify(&self) {
        self.0.notify_one();
    }

    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// Why seats were freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Expired,
    Cancelled,
    Refunded,
}

/// A refund, as its event tells it.
pub struct Refunded<'a> {
    pub refund_id: Uuid,
    pub sale: &'a Sale,
    pub labels: &'a [String],
    pub amount_cents: i64,
    pub reason: &'a str,
    pub actor: &'a str,
    /// Refunded seats whose ticket had admitted someone.
    pub admitted: &'a [String],
}

/// A cancelled session, as its event tells it.
pub struct SessionCancelled<'a> {
    pub session_id: Uuid,
    pub reason: &'a str,
    pub actor: &'a str,
    pub reservations_cancelled: u32,
    pub sales_refunded: u32,
    pub refunded_cents: i64,
}

/// The events of one transaction, in the order they happened.
#[derive(Default)]
pub struct Outbox {
    events: Vec<store::outbox::NewEvent>,
}

impl Outbox {
    /// A hold was recorded.
    pub fn reservation_created(&mut self, reservation: &Reservation) {
        self.push(EventType::ReservationCreated, |event_id, occur_time| {
            pb::ReservationCreated {
                event_id,
                occur_time,
                reservation_id: reservation.reservation_id.to_string(),
                session_id: reservation.session_id.to_string(),
                user_id: reservation.user_id.clone(),
                seat_labels: reservation.seat_labels(),
                expire_time: Some(proto::timestamp(reservation.expires_at)),
                total_price_cents: reservation.total_price_cents,
                currency: reservation.currency.clone(),
                seats: reservation.seats.iter().map(Into::into).collect(),
            }
        });
    }

    /// A reservation was paid: sale `sale_id`.
    pub fn payment_confirmed(
        &mut self,
        paid: &LockedReservation,
        sale_id: Uuid,
        payment_reference: &str,
    ) {
        self.push(EventType::PaymentConfirmed, |event_id, occur_time| {
            pb::PaymentConfirmed {
                event_id,
                occur_time,
                sale_id: sale_id.to_string(),
                reservation_id: paid.reservation_id.to_string(),
                session_id: paid.session_id.to_string(),
                user_id: paid.user_id.clone(),
                seat_labels: paid.seat_labels(),
                amount_cents: paid.total_price_cents,
                currency: paid.currency.clone(),
                payment_reference: payment_reference.to_owned(),
                seats: paid.seats.iter().map(Into::into).collect(),
            }
        });
    }

    /// A pending reservation's hold was extended.
    pub fn reservation_extended(&mut self, extended: &Reservation) {
        self.push(EventType::ReservationExtended, |event_id, occur_time| {
            pb::ReservationExtended {
                event_id,
                occur_time,
                reservation_id: extended.reservation_id.to_string(),
                session_id: extended.session_id.to_string(),
                user_id: extended.user_id.clone(),
                seat_labels: extended.seat_labels(),
                expire_time: Some(proto::timestamp(extended.expires_at)),
                extensions_left: extended.extensions_left,
            }
        });
    }

    /// Seats of a sale were refunded.
    pub fn sale_refunded(&mut self, refunded: &Refunded<'_>) {
        self.push(EventType::SaleRefunded, |event_id, occur_time| {
            pb::SaleRefunded {
                event_id,
                occur_time,
                refund_id: refunded.refund_id.to_string(),
                sale_id: refunded.sale.sale_id.to_string(),
                session_id: refunded.sale.session_id.to_string(),
                user_id: refunded.sale.user_id.clone(),
                seat_labels: refunded.labels.to_vec(),
                amount_cents: refunded.amount_cents,
                currency: refunded.sale.currency.clone(),
                reason: refunded.reason.to_owned(),
                actor: refunded.actor.to_owned(),
                admitted_labels: refunded.admitted.to_vec(),
            }
        });
    }

    /// A ticket admitted its holder at `gate`.
    pub fn ticket_admitted(&mut self, ticket: &Ticket, gate: &str) {
        self.push(EventType::TicketAdmitted, |event_id, occur_time| {
            pb::TicketAdmitted {
                event_id,
                occur_time,
                ticket_id: ticket.ticket_id.to_string(),
                sale_id: ticket.sale_id.to_string(),
                session_id: ticket.session_id.to_string(),
                seat_label: ticket.seat_label.clone(),
                gate: gate.to_owned(),
            }
        });
    }

    /// A pending reservation was cancelled and gave up these seats (freed,
    /// or out of sale when its session was cancelled).
    pub fn reservation_cancelled(
        &mut self,
        reservation_id: Uuid,
        session_id: Uuid,
        user_id: &str,
        seat_labels: Vec<String>,
    ) {
        self.push(EventType::ReservationCancelled, |event_id, occur_time| {
            pb::ReservationCancelled {
                event_id,
                occur_time,
                reservation_id: reservation_id.to_string(),
                session_id: session_id.to_string(),
                user_id: user_id.to_owned(),
                seat_labels,
            }
        });
    }

    /// A hold ended unpaid and gave up these seats.
    pub fn reservation_expired(&mut self, expired: &Ended, seat_labels: Vec<String>) {
        self.push(EventType::ReservationExpired, |event_id, occur_time| {
            pb::ReservationExpired {
                event_id,
                occur_time,
                reservation_id: expired.reservation_id.to_string(),
                session_id: expired.session_id.to_string(),
                user_id: expired.user_id.clone(),
                seat_labels,
                expire_time: Some(proto::timestamp(expired.expires_at)),
            }
        });
    }

    /// `seat.released` for each freed seat, and `seats.changed` per session.
    pub fn seats_released(&mut self, freed: &[ChangedSeat], why: Release) {
        let reason = match why {
            Release::Expired => pb::ReleaseReason::Expired,
            Release::Cancelled => pb::ReleaseReason::Cancelled,
            Release::Refunded => pb::ReleaseReason::Refunded,
        };
        for seat in freed {
            self.push(EventType::SeatReleased, |event_id, occur_time| {
                pb::SeatReleased {
                    event_id,
                    occur_time,
                    session_id: seat.session_id.to_string(),
                    seat_label: seat.label.clone(),
                    reservation_id: seat
                        .reservation_id
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    reason: reason.into(),
                }
            });
        }
        let mut sessions: Vec<Uuid> = freed.iter().map(|seat| seat.session_id).collect();
        sessions.sort();
        sessions.dedup();
        for session_id in sessions {
            let seats: Vec<ChangedSeat> = freed
                .iter()
                .filter(|seat| seat.session_id == session_id)
                .cloned()
                .collect();
            self.seats_changed(session_id, &seats);
        }
    }

    /// `seats.changed` for the seats of one session that changed.
    /// The seats are listed by row then number, whatever order the
    /// statement that changed them returned.
    pub fn seats_changed(&mut self, session_id: Uuid, seats: &[ChangedSeat]) {
        if !seats.is_empty() {
            self.push_seats_changed(session_id, seats, false);
        }
    }

    /// A session was cancelled: the last `seats.changed` of its live maps
    /// (sent even if no seat changed, as it ends them), then
    /// `session.cancelled`.
    pub fn session_cancelled(&mut self, cancelled: &SessionCancelled<'_>, seats: &[ChangedSeat]) {
        self.push_seats_changed(cancelled.session_id, seats, true);
        self.push(EventType::SessionCancelled, |event_id, occur_time| {
            pb::SessionCancelled {
                event_id,
                occur_time,
                session_id: cancelled.session_id.to_string(),
                reason: cancelled.reason.to_owned(),
                actor: cancelled.actor.to_owned(),
                reservations_cancelled: cancelled.reservations_cancelled,
                sales_refunded: cancelled.sales_refunded,
                refunded_cents: cancelled.refunded_cents,
            }
        });
    }

    fn push_seats_changed(&mut self, session_id: Uuid, seats: &[ChangedSeat], last: bool) {
        let mut seats: Vec<&ChangedSeat> = seats.iter().collect();
        seats.sort_by_cached_key(|seat| seat.label.parse::<SeatLabel>().ok());
        self.push(EventType::SeatsChanged, |event_id, occur_time| {
            pb::SeatsChanged {
                event_id,
                occur_time,
                session_id: session_id.to_string(),
                seats: seats.iter().map(|seat| pb::Seat::from(*seat)).collect(),
                session_cancelled: last,
            }
        });
    }

    /// Inserts every event in one statement, inside `tx`.
    pub async fn write(self, tx: &Tx) -> Result<()> {
        if self.events.is_empty() {
            return Ok(());
        }
        store::outbox::insert(tx, self.events).await
    }

    /// Adds an event; `build` gets its id and time and returns the payload.
    fn push<M: Message>(
        &mut self,
        event_type: EventType,
        build: impl FnOnce(String, Option<prost_types::Timestamp>) -> M,
    ) {
        let event_id = Uuid::now_v7();
        let occur_time = Some(proto::timestamp(Utc::now()));
        let payload = build(event_id.to_string(), occur_time).encode_to_vec();
        self.events.push(store::outbox::NewEvent {
            event_id,
            event_type: event_type.name(),
            payload,
        });
    }
}

/// The labels of the seats that were `reservation_id`'s, by row then number.
pub fn labels_of(seats: &[ChangedSeat], reservation_id: Uuid) -> Vec<String> {
    let labels: Vec<&str> = seats
        .iter()
        .filter(|seat| seat.reservation_id == Some(reservation_id))
        .map(|seat| seat.label.as_str())
        .collect();
    labels::sorted(&labels)
}
