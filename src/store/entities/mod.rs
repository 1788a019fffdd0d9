//! A SeaORM entity for every table and view of the schema
//! (`migrations/src/sql/`), and the typed statuses their text columns hold.

pub mod idempotency_keys;
pub mod outbox;
pub mod processed_events;
pub mod reservation_seats;
pub mod reservation_states;
pub mod reservations;
pub mod sale_details;
pub mod sale_seats;
pub mod sales;
pub mod seat_states;
pub mod seats;
pub mod session_sales;
pub mod session_states;
pub mod sessions;

use sea_orm::entity::prelude::*;

use crate::domain;

/// `seats.status` (and `seat_states.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SeatStatus {
    #[sea_orm(string_value = "available")]
    Available,
    #[sea_orm(string_value = "held")]
    Held,
    #[sea_orm(string_value = "sold")]
    Sold,
}

/// `reservations.status` (and `reservation_states.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ReservationStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl From<SeatStatus> for domain::SeatStatus {
    fn from(status: SeatStatus) -> Self {
        match status {
            SeatStatus::Available => Self::Available,
            SeatStatus::Held => Self::Held,
            SeatStatus::Sold => Self::Sold,
        }
    }
}

impl From<domain::ReservationStatus> for ReservationStatus {
    fn from(status: domain::ReservationStatus) -> Self {
        match status {
            domain::ReservationStatus::Pending => Self::Pending,
            domain::ReservationStatus::Confirmed => Self::Confirmed,
            domain::ReservationStatus::Expired => Self::Expired,
            domain::ReservationStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<ReservationStatus> for domain::ReservationStatus {
    fn from(status: ReservationStatus) -> Self {
        match status {
            ReservationStatus::Pending => Self::Pending,
            ReservationStatus::Confirmed => Self::Confirmed,
            ReservationStatus::Expired => Self::Expired,
            ReservationStatus::Cancelled => Self::Cancelled,
        }
    }
}
