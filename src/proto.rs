//! Code generated from `proto/` by `build.rs`, and the conversions that both
//! wire formats share: timestamps, and seats (the API's `cinema.v1.Seat` is
//! also what `cinema.events.v1.SeatsChanged` carries).
#![allow(clippy::all, clippy::pedantic)]

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use crate::domain;

pub mod cinema {
    pub mod v1 {
        tonic::include_proto!("cinema.v1");
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("cinema.events.v1");
        }
    }
}

pub use cinema::v1;

/// The event payloads of `proto/cinema/events/v1/`, with the seat they carry.
pub mod events {
    pub use super::cinema::events::v1::*;
    pub use super::cinema::v1::{ReservedSeat, Seat, SeatKind, SeatStatus, TicketType};
}

/// Every message and service of `proto/` with its imports, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/cinema_descriptor.bin"));

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

impl From<domain::SeatStatus> for v1::SeatStatus {
    fn from(status: domain::SeatStatus) -> Self {
        match status {
            domain::SeatStatus::Available => Self::Available,
            domain::SeatStatus::Held => Self::Held,
            domain::SeatStatus::Sold => Self::Sold,
            domain::SeatStatus::Blocked => Self::Blocked,
        }
    }
}

impl From<domain::SeatKind> for v1::SeatKind {
    fn from(kind: domain::SeatKind) -> Self {
        match kind {
            domain::SeatKind::Standard => Self::Standard,
            domain::SeatKind::Premium => Self::Premium,
            domain::SeatKind::Wheelchair => Self::Wheelchair,
            domain::SeatKind::Companion => Self::Companion,
            domain::SeatKind::Couple => Self::Couple,
        }
    }
}

/// The seat kind of a wire value, `None` for UNSPECIFIED or an unknown number.
pub fn seat_kind(value: i32) -> Option<domain::SeatKind> {
    match v1::SeatKind::try_from(value).ok()? {
        v1::SeatKind::Standard => Some(domain::SeatKind::Standard),
        v1::SeatKind::Premium => Some(domain::SeatKind::Premium),
        v1::SeatKind::Wheelchair => Some(domain::SeatKind::Wheelchair),
        v1::SeatKind::Companion => Some(domain::SeatKind::Companion),
        v1::SeatKind::Couple => Some(domain::SeatKind::Couple),
        v1::SeatKind::Unspecified => None,
    }
}

impl From<domain::TicketType> for v1::TicketType {
    fn from(ticket_type: domain::TicketType) -> Self {
        match ticket_type {
            domain::TicketType::Full => Self::Full,
            domain::TicketType::Half => Self::Half,
        }
    }
}

/// The ticket type of a wire value: UNSPECIFIED is FULL, an unknown number
/// is `None`.
pub fn ticket_type(value: i32) -> Option<domain::TicketType> {
    match v1::TicketType::try_from(value).ok()? {
        v1::TicketType::Unspecified | v1::TicketType::Full => Some(domain::TicketType::Full),
        v1::TicketType::Half => Some(domain::TicketType::Half),
    }
}

impl From<&domain::ReservedSeat> for v1::ReservedSeat {
    fn from(seat: &domain::ReservedSeat) -> Self {
        Self {
            label: seat.label.clone(),
            kind: v1::SeatKind::from(seat.kind).into(),
            ticket_type: v1::TicketType::from(seat.ticket_type).into(),
            price_cents: seat.price_cents,
        }
    }
}

impl v1::ReservedSeat {
    /// The domain seat, or `None` for a kind this version does not know.
    pub fn to_domain(&self) -> Option<domain::ReservedSeat> {
        Some(domain::ReservedSeat {
            label: self.label.clone(),
            kind: seat_kind(self.kind)?,
            ticket_type: ticket_type(self.ticket_type)?,
            price_cents: self.price_cents,
        })
    }
}

impl From<domain::Seat> for v1::Seat {
    fn from(seat: domain::Seat) -> Self {
        Self {
            status: v1::SeatStatus::from(seat.status).into(),
            label: seat.label,
            row: seat.row,
            number: seat.number,
            version: seat.version,
            kind: v1::SeatKind::from(seat.kind).into(),
            price_cents: seat.price_cents,
            x: seat.x,
            y: seat.y,
            pair_label: seat.pair_label.unwrap_or_default(),
            block_reason: seat.block_reason.unwrap_or_default(),
            hold_expire_time: seat.hold_expire_time.map(timestamp),
        }
    }
}

impl From<&domain::ChangedSeat> for v1::Seat {
    /// What a seat change says on the wire: label, status, version, hold end
    /// (and the row and number the label names); place, kind and price are
    /// in the map.
    fn from(seat: &domain::ChangedSeat) -> Self {
        let place = seat.label.parse::<domain::SeatLabel>().ok();
        Self {
            label: seat.label.clone(),
            row: place.map(|p| p.row().to_string()).unwrap_or_default(),
            number: place.map_or(0, |p| p.number()),
            status: v1::SeatStatus::from(seat.status).into(),
            version: seat.version,
            block_reason: seat.block_reason.clone().unwrap_or_default(),
            hold_expire_time: seat.held_until.map(timestamp),
            ..Self::default()
        }
    }
}

impl v1::Seat {
    /// The change this seat says, or `None` for a status this version does
    /// not know.
    pub fn to_change(&self) -> Option<domain::seat::SeatChange> {
        let status = match self.status() {
            v1::SeatStatus::Available => domain::SeatStatus::Available,
            v1::SeatStatus::Held => domain::SeatStatus::Held,
            v1::SeatStatus::Sold => domain::SeatStatus::Sold,
            v1::SeatStatus::Blocked => domain::SeatStatus::Blocked,
            v1::SeatStatus::Unspecified => return None,
        };
        Some(domain::seat::SeatChange {
            label: self.label.clone(),
            status,
            version: self.version,
            block_reason: Some(self.block_reason.clone()).filter(|r| !r.is_empty()),
            held_until: datetime(self.hold_expire_time),
        })
    }
}
