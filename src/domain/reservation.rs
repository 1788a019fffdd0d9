//! Reservations (seats held for a while, then paid, cancelled or expired)
//! and the sales that paid ones become.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ClosedReason, Error, ReservedSeat, Result, SeatLabel};

/// Where a reservation stands, as every read sees it: a pending one whose
/// hold has ended reads as expired, whether or not the sweeper recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Pending,
    Confirmed,
    Expired,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    /// Priced at hold time, by row then number.
    pub seats: Vec<ReservedSeat>,
    pub status: ReservationStatus,
    pub expires_at: DateTime<Utc>,
    pub create_time: DateTime<Utc>,
    pub total_price_cents: i64,
    pub currency: String,
    /// How many more times the hold may be extended.
    pub extensions_left: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub sale_id: Uuid,
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    /// Priced at hold time, by row then number.
    pub seats: Vec<ReservedSeat>,
    pub amount_cents: i64,
    /// How much of `amount_cents` was refunded.
    pub refunded_cents: i64,
    pub currency: String,
    pub payment_reference: String,
    pub paid_time: DateTime<Utc>,
    pub movie_title: String,
    pub starts_at: DateTime<Utc>,
    /// One per seat, by row then number.
    pub tickets: Vec<super::Ticket>,
}

impl Reservation {
    pub fn seat_labels(&self) -> Vec<String> {
        labels_of(&self.seats)
    }
}

impl Sale {
    pub fn seat_labels(&self) -> Vec<String> {
        labels_of(&self.seats)
    }
}

/// The labels of `seats`, in their order.
pub fn labels_of(seats: &[ReservedSeat]) -> Vec<String> {
    seats.iter().map(|seat| seat.label.clone()).collect()
}

/// Sorts seats by row, then number.
pub fn sort_seats(seats: &mut [ReservedSeat]) {
    seats.sort_by_cached_key(|seat| seat.label.parse::<SeatLabel>().ok());
}

/// Where a page of purchases starts: after this (paid_time, sale_id), going back in time.
pub type PurchaseCursor = (DateTime<Utc>, Uuid);

/// A reservation locked by a transaction that will pay for it or cancel it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedReservation {
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    /// As recorded: `Pending` even when its hold has passed.
    pub status: ReservationStatus,
    /// Its hold has passed, by the database clock.
    pub lapsed: bool,
    pub total_price_cents: i64,
    pub currency: String,
    pub extensions_left: u32,
    /// Priced at hold time, by row then number.
    pub seats: Vec<ReservedSeat>,
}

/// What a locked reservation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Its seats are held and it can be paid or cancelled.
    Pending,
    /// Still pending in the table, but its hold has passed: expire it first.
    Lapsed,
    Confirmed,
    Closed(ClosedReason),
}

impl LockedReservation {
    pub fn seat_labels(&self) -> Vec<String> {
        labels_of(&self.seats)
    }

    pub fn standing(&self) -> Standing {
        match self.status {
            ReservationStatus::Pending if self.lapsed => Standing::Lapsed,
            ReservationStatus::Pending => Standing::Pending,
            ReservationStatus::Confirmed => Standing::Confirmed,
            ReservationStatus::Cancelled => Standing::Closed(ClosedReason::Cancelled),
            ReservationStatus::Expired => Standing::Closed(ClosedReason::Expired),
        }
    }
}

const MAX_PAYMENT_REFERENCE_CHARS: usize = 200;

/// A payment reference: 1 to 200 characters, stored trimmed.
pub fn parse_payment_reference(reference: &str) -> Result<String> {
    let reference = reference.trim();
    if !super::text::is_name(reference, MAX_PAYMENT_REFERENCE_CHARS) {
        return Err(Error::invalid(
            "payment_reference",
            "must be 1 to 200 characters, with no NUL character",
        ));
    }
    Ok(reference.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn payment_references_are_trimmed_and_bounded(reference in arbitrary::text()) {
            match parse_payment_reference(&reference) {
                Ok(kept) => prop_assert!(kept == reference.trim() && !kept.is_empty()),
                Err(err) => prop_assert!(matches!(err, Error::InvalidArgument(_))),
            }
        }
    }
}
