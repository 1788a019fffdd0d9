//! Booking: hold seats (chosen, or the best available), extend a hold, pay,
//! cancel, expire, refund, cancel a whole session, and the caller's purchases.
//!
//! Each use case here is one short PostgreSQL transaction over the store's
//! statements (`store::seats` re-checks every seat's state and locks seat
//! rows in one global order), with its events written to the outbox in the
//! same transaction. The Redis gate ([`crate::gate`]) only keeps a stampede
//! away from PostgreSQL; PostgreSQL decides.

mod best;
mod cancel;
mod cancel_session;
mod confirm;
pub mod expiry;
mod extend;
mod idempotency;
mod refund;
mod reserve;
mod terms;

use std::{sync::Arc, time::Duration};

use uuid::Uuid;

pub use best::BestAvailable;
pub use cancel_session::CancelSession;
pub use refund::RefundSale;
pub use reserve::{Gaps, Hold, ReserveSeats, hold_in};

use crate::{
    domain::{
        Caller, Error, Reservation, Result, Sale, SeatLabel, labels, reservation::PurchaseCursor,
    },
    events::Signal,
    gate::SeatGate,
    store::{self, Db},
    tickets::code::TicketSigner,
};

/// The configured limits of booking.
pub struct Limits {
    /// How long a hold lasts (and an extension adds).
    pub hold: Duration,
    pub max_seats: usize,
    pub max_extensions: u32,
    /// How long before the start a buyer may still refund.
    pub refund_cutoff: Duration,
}

/// The booking rules, shared by every RPC of BookingService.
pub struct Booking {
    db: Db,
    gate: Arc<SeatGate>,
    hold: Duration,
    max_seats: usize,
    /// How many times a new hold may be extended.
    max_extensions: u32,
    /// How long before the start a buyer may still refund.
    refund_cutoff: Duration,
    expiry: expiry::Waker,
    events: Signal,
    terms: terms::TermsCache,
    /// Signs the codes of the tickets a sale issues.
    signer: TicketSigner,
}

impl Booking {
    pub fn new(
        db: Db,
        gate: Arc<SeatGate>,
        limits: Limits,
        expiry: expiry::Waker,
        events: Signal,
        signer: TicketSigner,
    ) -> Self {
        Self {
            db,
            gate,
            hold: limits.hold,
            max_seats: limits.max_seats,
            max_extensions: limits.max_extensions,
            refund_cutoff: limits.refund_cutoff,
            expiry,
            events,
            terms: terms::TermsCache::default(),
            signer,
        }
    }

    /// Parses the labels of a ReserveSeats request against the seat limit.
    pub fn parse_labels(&self, requested: &[String]) -> Result<Vec<SeatLabel>> {
        labels::parse_labels(requested, self.max_seats).map_err(Error::InvalidArgument)
    }

    /// One of the caller's reservations.
    pub async fn get_reservation(
        &self,
        caller: &Caller,
        reservation_id: Uuid,
    ) -> Result<Reservation> {
        let reservation = self.read_reservation(reservation_id).await?;
        caller.require_owner(&reservation.user_id)?;
        Ok(reservation)
    }

    /// The caller's sales, newest first.
    pub async fn purchases(
        &self,
        caller: &Caller,
        after: Option<PurchaseCursor>,
        limit: u64,
    ) -> Result<Vec<Sale>> {
        store::sales::of_user(&self.db, &caller.user_id, after, limit).await
    }

    async fn read_reservation(&self, reservation_id: Uuid) -> Result<Reservation> {
        store::reservations::read(&self.db, reservation_id)
            .await?
            .ok_or_else(|| Error::not_found("reservation", reservation_id))
    }

    /// The sale with this id, which must exist (it was just found or made).
    async fn read_sale(&self, sale_id: Uuid) -> Result<Sale> {
        store::sales::by_id(&self.db, sale_id)
            .await?
            .ok_or_else(|| Error::Internal(format!("no sale with sale_id {sale_id}")))
    }
}
