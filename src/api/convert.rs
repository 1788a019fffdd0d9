//! Conversions between wire messages and domain values.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::{
    catalog::{Seat, SeatMap, SeatStatus, Session},
    error::Error,
    proto::v1 as pb,
};

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// `None` for a missing or unrepresentable timestamp.
pub fn datetime(ts: Option<Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

/// Parses an id field, naming the field when it is not a UUID.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid, Error> {
    Uuid::try_parse(value.trim()).map_err(|_| Error::invalid(field, "must be a UUID"))
}

pub fn session(s: Session) -> pb::Session {
    pb::Session {
        total_seats: s.total_seats(),
        available_seats: u32::try_from(s.available_seats).unwrap_or(0),
        session_id: s.session_id.to_string(),
        movie_title: s.movie_title,
        room: s.room,
        starts_at: Some(timestamp(s.starts_at)),
        price_cents: s.price_cents,
        currency: s.currency,
        create_time: Some(timestamp(s.create_time)),
        rows: s.seat_rows.unsigned_abs(),
        seats_per_row: s.seats_per_row.unsigned_abs(),
    }
}

pub fn seat_status(status: SeatStatus) -> pb::SeatStatus {
    match status {
        SeatStatus::Available => pb::SeatStatus::Available,
        SeatStatus::Held => pb::SeatStatus::Held,
        SeatStatus::Sold => pb::SeatStatus::Sold,
    }
}

pub fn seat(s: Seat) -> pb::Seat {
    pb::Seat {
        label: s.label,
        row: s.row,
        number: s.number,
        status: seat_status(s.status).into(),
        version: s.version,
    }
}

pub fn seat_map(map: SeatMap) -> pb::SeatMap {
    pb::SeatMap {
        session_id: map.session_id.to_string(),
        available_count: map.count(SeatStatus::Available),
        held_count: map.count(SeatStatus::Held),
        sold_count: map.count(SeatStatus::Sold),
        seats: map.seats.into_iter().map(seat).collect(),
    }
}
