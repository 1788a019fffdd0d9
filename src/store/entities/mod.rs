//! A SeaORM entity for every table and view of the schema
//! (`migrations/src/sql/`), and the typed statuses their text columns hold.

pub mod audit_records;
pub mod idempotency_keys;
pub mod movies;
pub mod outbox;
pub mod processed_events;
pub mod refunds;
pub mod reservation_seats;
pub mod reservation_states;
pub mod reservations;
pub mod room_rows;
pub mod rooms;
pub mod sale_details;
pub mod sale_seats;
pub mod sales;
pub mod seat_states;
pub mod seats;
pub mod session_prices;
pub mod session_sales;
pub mod session_sales_by_kind;
pub mod session_states;
pub mod sessions;
pub mod tickets;

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
    #[sea_orm(string_value = "blocked")]
    Blocked,
}

/// `seats.kind` (and wherever a seat kind is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SeatKind {
    #[sea_orm(string_value = "standard")]
    Standard,
    #[sea_orm(string_value = "premium")]
    Premium,
    #[sea_orm(string_value = "wheelchair")]
    Wheelchair,
    #[sea_orm(string_value = "companion")]
    Companion,
    #[sea_orm(string_value = "couple")]
    Couple,
}

/// `tickets.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum TicketStatus {
    #[sea_orm(string_value = "valid")]
    Valid,
    #[sea_orm(string_value = "admitted")]
    Admitted,
    #[sea_orm(string_value = "refunded")]
    Refunded,
}

impl From<TicketStatus> for domain::TicketStatus {
    fn from(status: TicketStatus) -> Self {
        match status {
            TicketStatus::Valid => Self::Valid,
            TicketStatus::Admitted => Self::Admitted,
            TicketStatus::Refunded => Self::Refunded,
        }
    }
}

/// `movies.rating`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AgeRating {
    #[sea_orm(string_value = "L")]
    L,
    #[sea_orm(string_value = "10")]
    Ten,
    #[sea_orm(string_value = "12")]
    Twelve,
    #[sea_orm(string_value = "14")]
    Fourteen,
    #[sea_orm(string_value = "16")]
    Sixteen,
    #[sea_orm(string_value = "18")]
    Eighteen,
}

/// `sessions.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SessionState {
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// `reservation_seats.ticket_type` (and `tickets.ticket_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum TicketType {
    #[sea_orm(string_value = "full")]
    Full,
    #[sea_orm(string_value = "half")]
    Half,
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
            SeatStatus::Blocked => Self::Blocked,
        }
    }
}

impl From<SeatKind> for domain::SeatKind {
    fn from(kind: SeatKind) -> Self {
        match kind {
            SeatKind::Standard => Self::Standard,
            SeatKind::Premium => Self::Premium,
            SeatKind::Wheelchair => Self::Wheelchair,
            SeatKind::Companion => Self::Companion,
            SeatKind::Couple => Self::Couple,
        }
    }
}

impl From<domain::SeatKind> for SeatKind {
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

impl From<TicketType> for domain::TicketType {
    fn from(ticket_type: TicketType) -> Self {
        match ticket_type {
            TicketType::Full => Self::Full,
            TicketType::Half => Self::Half,
        }
    }
}

impl From<domain::TicketType> for TicketType {
    fn from(ticket_type: domain::TicketType) -> Self {
        match ticket_type {
            domain::TicketType::Full => Self::Full,
            domain::TicketType::Half => Self::Half,
        }
    }
}

/// Seats kept as parallel arrays (label, kind, ticket type, price), by row
/// then number; an element the arrays do not agree on is dropped.
pub fn reserved_seats(
    labels: Vec<String>,
    kinds: &[String],
    ticket_types: &[String],
    prices: &[i64],
) -> Vec<domain::ReservedSeat> {
    let mut seats: Vec<domain::ReservedSeat> = labels
        .into_iter()
        .zip(kinds.iter().zip(ticket_types.iter().zip(prices)))
        .filter_map(|(label, (kind, (ticket_type, price_cents)))| {
            Some(domain::ReservedSeat {
                label,
                kind: SeatKind::try_from_value(kind).ok()?.into(),
                ticket_type: TicketType::try_from_value(ticket_type).ok()?.into(),
                price_cents: *price_cents,
            })
        })
        .collect();
    domain::reservation::sort_seats(&mut seats);
    seats
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

impl From<AgeRating> for domain::AgeRating {
    fn from(rating: AgeRating) -> Self {
        match rating {
            AgeRating::L => Self::L,
            AgeRating::Ten => Self::Ten,
            AgeRating::Twelve => Self::Twelve,
            AgeRating::Fourteen => Self::Fourteen,
            AgeRating::Sixteen => Self::Sixteen,
            AgeRating::Eighteen => Self::Eighteen,
        }
    }
}

impl From<domain::AgeRating> for AgeRating {
    fn from(rating: domain::AgeRating) -> Self {
        match rating {
            domain::AgeRating::L => Self::L,
            domain::AgeRating::Ten => Self::Ten,
            domain::AgeRating::Twelve => Self::Twelve,
            domain::AgeRating::Fourteen => Self::Fourteen,
            domain::AgeRating::Sixteen => Self::Sixteen,
            domain::AgeRating::Eighteen => Self::Eighteen,
        }
    }
}

impl From<SessionState> for domain::SessionState {
    fn from(state: SessionState) -> Self {
        match state {
            SessionState::Scheduled => Self::Scheduled,
            SessionState::Cancelled => Self::Cancelled,
        }
    }
}
