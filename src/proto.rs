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
    pub use super::cinema::v1::{Seat, SeatStatus};
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
        }
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
        }
    }
}

impl v1::Seat {
    /// The domain seat, or `None` for a status this version does not know.
    pub fn to_domain(&self) -> Option<domain::Seat> {
        let status = match self.status() {
            v1::SeatStatus::Available => domain::SeatStatus::Available,
            v1::SeatStatus::Held => domain::SeatStatus::Held,
            v1::SeatStatus::Sold => domain::SeatStatus::Sold,
            v1::SeatStatus::Unspecified => return None,
        };
        Some(domain::Seat {
            label: self.label.clone(),
            row: self.row.clone(),
            number: self.number,
            status,
            version: self.version,
        })
    }
}
