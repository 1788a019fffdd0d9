//! Conversions between wire messages and domain values.

use uuid::Uuid;

use super::layers::telemetry;
pub use crate::proto::{datetime, timestamp};
use crate::{
    domain::{
        AgeRating, Error, KindPrice, Movie, Reservation, ReservationStatus, ReservedSeat, Room,
        RowLayout, Sale, SeatMap, SeatStatus, Session, SessionSales, SessionState, Ticket,
        TicketStatus, TicketType,
        seat::{SeatMapEvent, SeatMapUpdate},
        ticket::Admission,
    },
    proto::{self, v1 as pb},
};

/// Parses an id field, naming the field when it is not a UUID.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid, Error> {
    let id = Uuid::try_parse(value.trim()).map_err(|_| Error::invalid(field, "must be a UUID"))?;
    // The span of a call names what it is about, so all its log lines do.
    if matches!(
        field,
        "session_id" | "reservation_id" | "room_id" | "ticket_id" | "movie_id"
    ) {
        telemetry::record(field, id);
    }
    Ok(id)
}

pub fn session(s: Session) -> pb::Session {
    pb::Session {
        total_seats: s.total_seats,
        available_seats: s.available_seats,
        session_id: s.session_id.to_string(),
        movie_title: s.movie_title,
        room: s.room,
        starts_at: Some(timestamp(s.starts_at)),
        price_cents: s.price_cents,
        currency: s.currency,
        create_time: Some(timestamp(s.create_time)),
        rows: s.rows,
        seats_per_row: s.seats_per_row,
        room_id: s.room_id.map(|id| id.to_string()).unwrap_or_default(),
        allow_single_seat_gaps: s.allow_single_seat_gaps,
        movie_id: s.movie_id.map(|id| id.to_string()).unwrap_or_default(),
        ends_at: s.ends_at.map(timestamp),
        rating: s
            .rating
            .map_or(pb::AgeRating::Unspecified, pb::AgeRating::from)
            .into(),
        state: match s.state {
            SessionState::Scheduled => pb::SessionState::Scheduled,
            SessionState::Cancelled => pb::SessionState::Cancelled,
        }
        .into(),
        cancel_reason: s.cancel_reason.unwrap_or_default(),
        prices: s
            .prices
            .iter()
            .map(|(kind, price_cents)| pb::KindPrice {
                kind: pb::SeatKind::from(kind).into(),
                price_cents,
            })
            .collect(),
    }
}

/// A price as the client sent it; an unknown kind stays unnamed.
pub fn kind_price(price: pb::KindPrice) -> KindPrice {
    KindPrice {
        kind: proto::seat_kind(price.kind),
        price_cents: price.price_cents,
    }
}

/// The ticket types as the client sent them; a value that is not a ticket
/// type is `None`.
pub fn ticket_types(
    types: std::collections::HashMap<String, i32>,
) -> Vec<(String, Option<TicketType>)> {
    types
        .into_iter()
        .map(|(label, value)| (label, proto::ticket_type(value)))
        .collect()
}

pub fn row_layout(row: pb::RowLayout) -> RowLayout {
    RowLayout {
        label: row.label,
        seats: row.seats,
    }
}

pub fn room(r: Room) -> pb::Room {
    pb::Room {
        room_id: r.room_id.to_string(),
        name: r.name,
        rows: r
            .rows
            .into_iter()
            .map(|row| pb::RowLayout {
                label: row.label,
                seats: row.seats,
            })
            .collect(),
        seat_count: r.seat_count,
        create_time: Some(timestamp(r.create_time)),
    }
}

pub fn movie(m: Movie) -> pb::Movie {
    pb::Movie {
        movie_id: m.movie_id.to_string(),
        title: m.title,
        duration: Some(prost_types::Duration {
            seconds: i64::try_from(m.duration.as_secs()).unwrap_or(i64::MAX),
            nanos: 0,
        }),
        rating: pb::AgeRating::from(m.rating).into(),
        synopsis: m.synopsis,
        create_time: Some(timestamp(m.create_time)),
    }
}

/// A duration as the client sent it; `None` when missing, negative or not a
/// google.protobuf.Duration at all (`nanos` of a second or more, which
/// `Duration::new` would carry into `seconds`).
pub fn duration(d: Option<prost_types::Duration>) -> Option<std::time::Duration> {
    let d = d?;
    let nanos = u32::try_from(d.nanos).ok().filter(|&n| n < 1_000_000_000)?;
    Some(std::time::Duration::new(
        u64::try_from(d.seconds).ok()?,
        nanos,
    ))
}

/// The age rating of a wire value, `None` for UNSPECIFIED or an unknown number.
pub fn age_rating(value: i32) -> Option<AgeRating> {
    match pb::AgeRating::try_from(value).ok()? {
        pb::AgeRating::L => Some(AgeRating::L),
        pb::AgeRating::AgeRating10 => Some(AgeRating::Ten),
        pb::AgeRating::AgeRating12 => Some(AgeRating::Twelve),
        pb::AgeRating::AgeRating14 => Some(AgeRating::Fourteen),
        pb::AgeRating::AgeRating16 => Some(AgeRating::Sixteen),
        pb::AgeRating::AgeRating18 => Some(AgeRating::Eighteen),
        pb::AgeRating::Unspecified => None,
    }
}

impl From<AgeRating> for pb::AgeRating {
    fn from(rating: AgeRating) -> Self {
        match rating {
            AgeRating::L => Self::L,
            AgeRating::Ten => Self::AgeRating10,
            AgeRating::Twelve => Self::AgeRating12,
            AgeRating::Fourteen => Self::AgeRating14,
            AgeRating::Sixteen => Self::AgeRating16,
            AgeRating::Eighteen => Self::AgeRating18,
        }
    }
}

pub fn ticket(t: Ticket) -> pb::Ticket {
    let status = match t.status {
        TicketStatus::Valid => pb::TicketStatus::Valid,
        TicketStatus::Admitted => pb::TicketStatus::Admitted,
        TicketStatus::Refunded => pb::TicketStatus::Refunded,
    };
    pb::Ticket {
        ticket_id: t.ticket_id.to_string(),
        sale_id: t.sale_id.to_string(),
        session_id: t.session_id.to_string(),
        seat_label: t.seat_label,
        ticket_type: pb::TicketType::from(t.ticket_type).into(),
        status: status.into(),
        code: t.code,
    }
}

pub fn admission(admission: Admission) -> pb::Admission {
    use pb::AdmissionResult as R;
    let (result, ticket, first) = match admission {
        Admission::Admitted(ticket, first) => (R::Admitted, Some(ticket), Some(first)),
        Admission::AlreadyAdmitted(ticket, first) => {
            (R::AlreadyAdmitted, Some(ticket), Some(first))
        }
        Admission::Refunded(ticket) => (R::Refunded, Some(ticket), None),
        Admission::NotYetOpen(ticket) => (R::NotYetOpen, Some(ticket), None),
        Admission::Invalid => (R::Invalid, None, None),
    };
    pb::Admission {
        result: result.into(),
        ticket: ticket.map(self::ticket),
        first_admit_time: first.as_ref().map(|f| timestamp(f.time)),
        first_gate: first.map(|f| f.gate).unwrap_or_default(),
    }
}

fn reserved_seats(seats: &[ReservedSeat]) -> Vec<pb::ReservedSeat> {
    seats.iter().map(pb::ReservedSeat::from).collect()
}

pub fn session_sales(s: SessionSales) -> pb::SessionSales {
    pb::SessionSales {
        session_id: s.session_id.to_string(),
        tickets_sold: s.tickets_sold,
        revenue_cents: s.revenue_cents,
        currency: s.currency,
        holds_expired: s.holds_expired,
        tickets_admitted: s.tickets_admitted,
        tickets_refunded: s.tickets_refunded,
        refunded_cents: s.refunded_cents,
        net_revenue_cents: s.revenue_cents - s.refunded_cents,
        update_time: Some(timestamp(s.update_time)),
        by_kind: s
            .by_kind
            .into_iter()
            .map(|k| pb::KindSales {
                kind: pb::SeatKind::from(k.kind).into(),
                ticket_type: pb::TicketType::from(k.ticket_type).into(),
                tickets_sold: k.tickets_sold,
                revenue_cents: k.revenue_cents,
            })
            .collect(),
    }
}

pub fn seat_map(map: SeatMap) -> pb::SeatMap {
    pb::SeatMap {
        session_id: map.session_id.to_string(),
        available_count: map.count(SeatStatus::Available),
        held_count: map.count(SeatStatus::Held),
        sold_count: map.count(SeatStatus::Sold),
        blocked_count: map.count(SeatStatus::Blocked),
        seats: map.seats.into_iter().map(pb::Seat::from).collect(),
    }
}

/// An optional id: empty means "not given".
pub fn parse_optional_id(field: &str, value: &str) -> Result<Option<Uuid>, Error> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        parse_id(field, value).map(Some)
    }
}

pub fn reservation(r: Reservation) -> pb::Reservation {
    let (seat_labels, seats) = (r.seat_labels(), reserved_seats(&r.seats));
    let status = match r.status {
        ReservationStatus::Pending => pb::ReservationStatus::Pending,
        ReservationStatus::Confirmed => pb::ReservationStatus::Confirmed,
        ReservationStatus::Expired => pb::ReservationStatus::Expired,
        ReservationStatus::Cancelled => pb::ReservationStatus::Cancelled,
    };
    pb::Reservation {
        reservation_id: r.reservation_id.to_string(),
        session_id: r.session_id.to_string(),
        user_id: r.user_id,
        seat_labels,
        seats,

        status: status.into(),
        expire_time: Some(timestamp(r.expires_at)),
        create_time: Some(timestamp(r.create_time)),
        total_price_cents: r.total_price_cents,
        currency: r.currency,
        extensions_left: r.extensions_left,
    }
}

pub fn sale(s: Sale) -> pb::Sale {
    let (seat_labels, seats) = (s.seat_labels(), reserved_seats(&s.seats));
    pb::Sale {
        sale_id: s.sale_id.to_string(),
        reservation_id: s.reservation_id.to_string(),
        session_id: s.session_id.to_string(),
        user_id: s.user_id,
        seat_labels,
        seats,

        amount_cents: s.amount_cents,
        currency: s.currency,
        payment_reference: s.payment_reference,
        paid_time: Some(timestamp(s.paid_time)),
        movie_title: s.movie_title,
        starts_at: Some(timestamp(s.starts_at)),
        tickets: s.tickets.into_iter().map(ticket).collect(),
        refunded_cents: s.refunded_cents,
    }
}

pub fn seat_map_update(update: SeatMapUpdate) -> pb::SeatMapUpdate {
    pb::SeatMapUpdate {
        session_id: update.session_id.to_string(),
        seats: update.seats.into_iter().map(pb::Seat::from).collect(),
        available_count: update.available,
        held_count: update.held,
        sold_count: update.sold,
        blocked_count: update.blocked,
    }
}

pub fn seat_map_event(event: SeatMapEvent) -> pb::SeatMapEvent {
    use pb::seat_map_event::Event;
    let event = match event {
        SeatMapEvent::Snapshot(map) => Event::Snapshot(seat_map(map)),
        SeatMapEvent::Update(update) => Event::Update(seat_map_update(update)),
    };
    pb::SeatMapEvent { event: Some(event) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn ids_are_uuids_or_invalid(text in arbitrary::id_text()) {
            let valid = Uuid::try_parse(text.trim()).is_ok();
            match parse_id("session_id", &text) {
                Ok(_) => prop_assert!(valid),
                Err(err) => prop_assert!(!valid && matches!(err, Error::InvalidArgument(_))),
            }
            let optional = parse_optional_id("request_id", &text);
            prop_assert_eq!(optional.is_ok(), valid || text.trim().is_empty());
        }

        #[test]
        fn any_timestamp_converts_or_is_missing(seconds in any::<i64>(), nanos in any::<i32>()) {
            let converted = datetime(Some(prost_types::Timestamp { seconds, nanos }));
            if let Some(at) = converted {
                prop_assert_eq!(at.timestamp(), seconds);
            }
        }
    }
}
