//! Every kind of event: its name (the end of its subject, and its type in
//! the outbox), the protobuf message of its payload, and how to decode it.
//! No event name is written anywhere else.

use prost::Message;
use prost_types::Timestamp;

use crate::proto::events as pb;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ReservationCreated,
    ReservationExpired,
    ReservationExtended,
    ReservationCancelled,
    PaymentConfirmed,
    SaleRefunded,
    TicketAdmitted,
    SessionCancelled,
    SeatReleased,
    SeatsChanged,
}

impl EventType {
    pub const ALL: [Self; 10] = [
        Self::ReservationCreated,
        Self::ReservationExpired,
        Self::ReservationExtended,
        Self::ReservationCancelled,
        Self::PaymentConfirmed,
        Self::SaleRefunded,
        Self::TicketAdmitted,
        Self::SessionCancelled,
        Self::SeatReleased,
        Self::SeatsChanged,
    ];

    /// Its name: the end of its subject (`<prefix>.events.<name>`), such as
    /// `payment.confirmed`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReservationCreated => "reservation.created",
            Self::ReservationExpired => "reservation.expired",
            Self::ReservationExtended => "reservation.extended",
            Self::ReservationCancelled => "reservation.cancelled",
            Self::PaymentConfirmed => "payment.confirmed",
            Self::SaleRefunded => "sale.refunded",
            Self::TicketAdmitted => "ticket.admitted",
            Self::SessionCancelled => "session.cancelled",
            Self::SeatReleased => "seat.released",
            Self::SeatsChanged => "seats.changed",
        }
    }

    /// The full name of its payload's protobuf message, sent in the
    /// `Cinema-Event-Type` header.
    pub fn message_name(self) -> &'static str {
        match self {
            Self::ReservationCreated => "cinema.events.v1.ReservationCreated",
            Self::ReservationExpired => "cinema.events.v1.ReservationExpired",
            Self::ReservationExtended => "cinema.events.v1.ReservationExtended",
            Self::ReservationCancelled => "cinema.events.v1.ReservationCancelled",
            Self::PaymentConfirmed => "cinema.events.v1.PaymentConfirmed",
            Self::SaleRefunded => "cinema.events.v1.SaleRefunded",
            Self::TicketAdmitted => "cinema.events.v1.TicketAdmitted",
            Self::SessionCancelled => "cinema.events.v1.SessionCancelled",
            Self::SeatReleased => "cinema.events.v1.SeatReleased",
            Self::SeatsChanged => "cinema.events.v1.SeatsChanged",
        }
    }

    /// The event type named `name`, if this version knows it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Decodes a payload of this type.
    pub fn decode(self, payload: &[u8]) -> Result<Event, prost::DecodeError> {
        Ok(match self {
            Self::ReservationCreated => Event::ReservationCreated(Message::decode(payload)?),
            Self::ReservationExpired => Event::ReservationExpired(Message::decode(payload)?),
            Self::ReservationExtended => Event::ReservationExtended(Message::decode(payload)?),
            Self::ReservationCancelled => Event::ReservationCancelled(Message::decode(payload)?),
            Self::PaymentConfirmed => Event::PaymentConfirmed(Message::decode(payload)?),
            Self::SaleRefunded => Event::SaleRefunded(Message::decode(payload)?),
            Self::TicketAdmitted => Event::TicketAdmitted(Message::decode(payload)?),
            Self::SessionCancelled => Event::SessionCancelled(Message::decode(payload)?),
            Self::SeatReleased => Event::SeatReleased(Message::decode(payload)?),
            Self::SeatsChanged => Event::SeatsChanged(Message::decode(payload)?),
        })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ReservationCreated(pb::ReservationCreated),
    ReservationExpired(pb::ReservationExpired),
    ReservationExtended(pb::ReservationExtended),
    ReservationCancelled(pb::ReservationCancelled),
    PaymentConfirmed(pb::PaymentConfirmed),
    SaleRefunded(pb::SaleRefunded),
    TicketAdmitted(pb::TicketAdmitted),
    SessionCancelled(pb::SessionCancelled),
    SeatReleased(pb::SeatReleased),
    SeatsChanged(pb::SeatsChanged),
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::ReservationCreated(_) => EventType::ReservationCreated,
            Self::ReservationExpired(_) => EventType::ReservationExpired,
            Self::ReservationExtended(_) => EventType::ReservationExtended,
            Self::ReservationCancelled(_) => EventType::ReservationCancelled,
            Self::PaymentConfirmed(_) => EventType::PaymentConfirmed,
            Self::SaleRefunded(_) => EventType::SaleRefunded,
            Self::TicketAdmitted(_) => EventType::TicketAdmitted,
            Self::SessionCancelled(_) => EventType::SessionCancelled,
            Self::SeatReleased(_) => EventType::SeatReleased,
            Self::SeatsChanged(_) => EventType::SeatsChanged,
        }
    }

    /// The id every event carries (field 1), by which consumers deduplicate.
    pub fn event_id(&self) -> &str {
        match self {
            Self::ReservationCreated(e) => &e.event_id,
            Self::ReservationExpired(e) => &e.event_id,
            Self::ReservationExtended(e) => &e.event_id,
            Self::ReservationCancelled(e) => &e.event_id,
            Self::PaymentConfirmed(e) => &e.event_id,
            Self::SaleRefunded(e) => &e.event_id,
            Self::TicketAdmitted(e) => &e.event_id,
            Self::SessionCancelled(e) => &e.event_id,
            Self::SeatReleased(e) => &e.event_id,
            Self::SeatsChanged(e) => &e.event_id,
        }
    }

    /// When it happened (field 2).
    pub fn occur_time(&self) -> Option<Timestamp> {
        match self {
            Self::ReservationCreated(e) => e.occur_time,
            Self::ReservationExpired(e) => e.occur_time,
            Self::ReservationExtended(e) => e.occur_time,
            Self::ReservationCancelled(e) => e.occur_time,
            Self::PaymentConfirmed(e) => e.occur_time,
            Self::SaleRefunded(e) => e.occur_time,
            Self::TicketAdmitted(e) => e.occur_time,
            Self::SessionCancelled(e) => e.occur_time,
            Self::SeatReleased(e) => e.occur_time,
            Self::SeatsChanged(e) => e.occur_time,
        }
    }

    /// The payload, as published.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::ReservationCreated(e) => e.encode_to_vec(),
            Self::ReservationExpired(e) => e.encode_to_vec(),
            Self::ReservationExtended(e) => e.encode_to_vec(),
            Self::ReservationCancelled(e) => e.encode_to_vec(),
            Self::PaymentConfirmed(e) => e.encode_to_vec(),
            Self::SaleRefunded(e) => e.encode_to_vec(),
            Self::TicketAdmitted(e) => e.encode_to_vec(),
            Self::SessionCancelled(e) => e.encode_to_vec(),
            Self::SeatReleased(e) => e.encode_to_vec(),
            Self::SeatsChanged(e) => e.encode_to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_found_by_its_name_and_decodes_its_own_payload() {
        for event_type in EventType::ALL {
            assert_eq!(EventType::from_name(event_type.name()), Some(event_type));
            let event = event_type.decode(&[]).expect("an empty payload decodes");
            assert_eq!(event.event_type(), event_type);
            assert!(
                event_type
                    .message_name()
                    .ends_with(&format!("{:?}", event_type)),
                "{event_type:?}"
            );
        }
        assert_eq!(EventType::from_name("popcorn.sold"), None);
    }
}
