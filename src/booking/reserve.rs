//! ReserveSeats: every requested seat held for the caller, or none.

use std::{collections::HashMap, time::Instant};

use uuid::Uuid;

use super::{
    Booking,
    idempotency::{Operation, Request},
};
use crate::{
    domain::{
        Caller, Error, Reservation, ReservationStatus, ReservedSeat, Result, SeatLabel, TicketType,
        price,
    },
    events::Outbox,
    gate::Gate,
    store::{
        self, Tx,
        seats::{NewHold, Taken},
    },
};

/// A request to hold seats, its fields checked one by one.
pub struct ReserveSeats {
    pub session_id: Uuid,
    /// The labels as the client sent them, to name a bad one by its index.
    pub requested: Vec<String>,
    /// The same labels parsed, sorted by row then number.
    pub seats: Vec<SeatLabel>,
    /// The ticket type of each seat that is not FULL.
    pub ticket_types: HashMap<SeatLabel, TicketType>,
    pub request_id: Option<Uuid>,
}

impl ReserveSeats {
    /// What makes two requests the same request: session, seats, ticket types.
    fn fingerprint(&self) -> String {
        let seats: Vec<String> = self
            .seats
            .iter()
            .map(|seat| match self.ticket_types.get(seat) {
                Some(TicketType::Half) => format!("{seat}=half"),
                _ => seat.to_string(),
            })
            .collect();
        format!("{}:{}", self.session_id, seats.join(","))
    }
}

enum Held {
    New(Reservation),
    /// A concurrent retry with the same request_id won: this reservation.
    Replayed(Uuid),
}

impl Booking {
    /// Holds every requested seat for the caller, or none.
    pub async fn reserve(&self, caller: &Caller, request: ReserveSeats) -> Result<Reservation> {
        let fingerprint = request.fingerprint();
        let retry = request.request_id.map(|request_id| Request {
            caller,
            request_id,
            operation: Operation::Reserve,
            fingerprint: &fingerprint,
        });
        if let Some(retry) = &retry
            && let Some(earlier) = retry.replay(&self.db).await?
        {
            return self.get_reservation(caller, earlier).await;
        }
        let terms = self.terms.get(&self.db, request.session_id).await?;
        let seats = terms
            .price(&request.requested, &request.seats, &request.ticket_types)
            .map_err(Error::InvalidArgument)?;

        let guard = match self.gate.acquire(request.session_id, &request.seats).await {
            Gate::Contended => return Err(Error::Contended),
            Gate::Held(labels) => return Err(Error::SeatsUnavailable(labels)),
            Gate::Locked(guard) => Some(guard),
            Gate::Open => None,
        };
        // The hold starts at the transaction's now(), after this instant: a
        // marker timed from here never outlives the hold.
        let begun = Instant::now();
        let held = self
            .hold_seats(caller, &request, &seats, &terms.currency, retry.as_ref())
            .await;
        if let Some(guard) = guard {
            match &held {
                Ok(Held::New(reservation)) => {
                    let left = self.hold.saturating_sub(begun.elapsed());
                    let id = reservation.reservation_id;
                    self.gate.release_as_held(guard, id, left).await;
                }
                _ => self.gate.release(guard).await,
            }
        }
        match held? {
            Held::New(reservation) => {
                self.expiry.wake_at(reservation.expires_at);
                Ok(reservation)
            }
            Held::Replayed(earlier) => self.get_reservation(caller, earlier).await,
        }
    }

    async fn hold_seats(
        &self,
        caller: &Caller,
        request: &ReserveSeats,
        seats: &[ReservedSeat],
        currency: &str,
        retry: Option<&Request<'_>>,
    ) -> Result<Held> {
        let tx = store::begin(&self.db).await?;
        let reservation_id = Uuid::now_v7();
        if let Some(retry) = retry
            && !retry.remember(&tx, reservation_id).await?
        {
            tx.rollback().await?;
            return Ok(Held::Replayed(retry.twin(&self.db).await?));
        }
        let hold = NewHold {
            reservation_id,
            session_id: request.session_id,
            user_id: &caller.user_id,
            seats,
            hold: self.hold,
            currency,
        };
        let reservation = match hold_in(&tx, &hold).await {
            Ok(reservation) => reservation,
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        };
        tx.commit().await?;
        self.events.notify();
        Ok(Held::New(reservation))
    }
}

/// The statements of one ReserveSeats, inside `tx` and without the service
/// around it (so `cinema-bench` can drive the very same statements straight
/// at PostgreSQL): locks the seats in label order, refuses with
/// [`Error::SeatsUnavailable`] naming every seat held or sold, else records
/// the reservation, takes the seats and writes the events. The caller
/// commits, or rolls back on an error.
pub async fn hold_in(tx: &Tx, new: &NewHold<'_>) -> Result<Reservation> {
    let unavailable = store::seats::lock_unavailable(tx, new.session_id, &new.labels()).await?;
    if !unavailable.is_empty() {
        return Err(Error::SeatsUnavailable(unavailable));
    }
    let Some(Taken {
        seats,
        expires_at,
        create_time,
    }) = store::seats::hold(tx, new).await?
    else {
        return Err(Error::Contended);
    };
    if seats.len() != new.seats.len() {
        return Err(Error::Contended);
    }
    let reservation = Reservation {
        reservation_id: new.reservation_id,
        session_id: new.session_id,
        user_id: new.user_id.to_owned(),
        seats: new.seats.to_vec(),
        status: ReservationStatus::Pending,
        expires_at,
        create_time,
        total_price_cents: price::total(new.seats),
        currency: new.currency.to_owned(),
    };
    let mut outbox = Outbox::default();
    outbox.reservation_created(&reservation);
    outbox.seats_changed(new.session_id, &seats);
    outbox.write(tx).await?;
    Ok(reservation)
}
