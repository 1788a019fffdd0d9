//! ReserveSeats: every requested seat held for the caller, or none; and the
//! hold itself, shared with best available.

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use uuid::Uuid;

use super::{
    Booking, expiry,
    idempotency::{Operation, Request},
};
use crate::{
    domain::{
        Caller, Error, Reservation, ReservationStatus, ReservedSeat, Result, Rule, SeatLabel,
        SeatStatus, SessionTerms, TicketType, labels, price,
    },
    events::Outbox,
    gate::Gate,
    store::{
        self, Tx,
        seats::{LockedSeats, NewHold, Taken},
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

/// Whether a hold may leave a single seat stranded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gaps {
    /// Refused (SINGLE_SEAT_GAP), unless the session allows gaps.
    Refuse,
    /// Allowed: best available found no block that strands none.
    Allow,
}

pub(super) enum Held {
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
        let held = self
            .hold(
                caller,
                request.session_id,
                &seats,
                &terms,
                Gaps::Refuse,
                retry.as_ref(),
            )
            .await?;
        self.finish_hold(caller, held).await
    }

    /// Holds `seats` (priced, sorted) through the gate and one transaction.
    pub(super) async fn hold(
        &self,
        caller: &Caller,
        session_id: Uuid,
        seats: &[ReservedSeat],
        terms: &SessionTerms,
        gaps: Gaps,
        retry: Option<&Request<'_>>,
    ) -> Result<Held> {
        // A session's start never moves: no need to ask anyone once it passed.
        if terms.starts_at <= chrono::Utc::now() {
            return Err(Error::refused(Rule::SessionStarted, session_id));
        }
        let labels: Vec<SeatLabel> = seats.iter().filter_map(|s| s.label.parse().ok()).collect();
        let guard = match self.gate.acquire(session_id, &labels).await {
            Gate::Contended => return Err(Error::Contended),
            Gate::Held(labels) => return Err(Error::SeatsUnavailable(labels)),
            Gate::Locked(guard) => Some(guard),
            Gate::Open => None,
        };
        // The hold starts at the transaction's now(), after this instant: a
        // marker timed from here never outlives the hold.
        let begun = Instant::now();
        let new = NewHold {
            reservation_id: Uuid::now_v7(),
            session_id,
            user_id: &caller.user_id,
            seats,
            hold: self.hold,
            currency: &terms.currency,
            extensions: self.max_extensions,
        };
        let held = self.hold_in_transaction(&new, terms, gaps, retry).await;
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
        held
    }

    /// The reservation a hold made or replayed.
    pub(super) async fn finish_hold(&self, caller: &Caller, held: Held) -> Result<Reservation> {
        match held {
            Held::New(reservation) => {
                self.expiry.wake_at(reservation.expires_at);
                Ok(reservation)
            }
            Held::Replayed(earlier) => self.get_reservation(caller, earlier).await,
        }
    }

    /// Holds in one transaction. Seats still recorded as held by a hold
    /// that has passed are freed first, by expiring that hold exactly as the
    /// sweeper would (events and all), in a transaction of its own: it locks
    /// reservations before seats, the order every transaction keeps.
    async fn hold_in_transaction(
        &self,
        new: &NewHold<'_>,
        terms: &SessionTerms,
        gaps: Gaps,
        retry: Option<&Request<'_>>,
    ) -> Result<Held> {
        // Twice is enough unless yet another hold on these seats lapsed in
        // between: then the caller is told to retry.
        for _ in 0..2 {
            match self.try_hold(new, terms, gaps, retry).await? {
                Ok(held) => return Ok(held),
                Err(lapsed) => {
                    expiry::expire_lapsed(&self.db, &self.events, &lapsed).await?;
                }
            }
        }
        Err(Error::Contended)
    }

    /// One try at the hold's transaction; `Err` names lapsed holds found on
    /// its seats, and nothing was written.
    async fn try_hold(
        &self,
        new: &NewHold<'_>,
        terms: &SessionTerms,
        gaps: Gaps,
        retry: Option<&Request<'_>>,
    ) -> Result<std::result::Result<Held, Vec<Uuid>>> {
        let tx = store::begin(&self.db).await?;
        if let Some(retry) = retry
            && !retry.remember(&tx, new.reservation_id).await?
        {
            tx.rollback().await?;
            return Ok(Ok(Held::Replayed(retry.twin(&self.db).await?)));
        }
        let reservation = match hold_in(&tx, new, terms, gaps).await {
            Ok(Hold::Made(reservation)) => reservation,
            Ok(Hold::Lapsed(lapsed)) => {
                tx.rollback().await?;
                return Ok(Err(lapsed));
            }
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        };
        tx.commit().await?;
        self.events.notify();
        Ok(Ok(Held::New(reservation)))
    }
}

/// What [`hold_in`] did.
pub enum Hold {
    /// The seats are held by this new reservation.
    Made(Reservation),
    /// Some of the seats are still recorded as held by these reservations,
    /// whose holds have passed: roll back, expire them, and try again.
    Lapsed(Vec<Uuid>),
}

/// The statements of one hold, inside `tx` and without the service around
/// it (so `cinema-bench` can drive the very same statements straight at
/// PostgreSQL): locks the seats (and, to judge stranding, their neighbours)
/// in label order; refuses a cancelled or started session; refuses with
/// [`Error::SeatsUnavailable`] naming every seat held, sold or blocked, and
/// with SINGLE_SEAT_GAP naming every seat the hold would strand (unless the
/// session or `gaps` allows it); names the lapsed holds still recorded on
/// the seats it would take ([`Hold::Lapsed`]); else records the reservation,
/// takes the seats and writes the events. The caller commits a
/// [`Hold::Made`], and rolls back otherwise.
pub async fn hold_in(tx: &Tx, new: &NewHold<'_>, terms: &SessionTerms, gaps: Gaps) -> Result<Hold> {
    let taking: Vec<SeatLabel> = new
        .seats
        .iter()
        .filter_map(|s| s.label.parse().ok())
        .collect();
    // Judging stranding needs each seat's neighbours locked too, which
    // serialises the holds that could strand a seat together, on every
    // instance; where gaps are allowed, the seats alone are locked.
    let judge_gaps = gaps == Gaps::Refuse && !terms.allow_gaps;
    let locking = if judge_gaps {
        terms.runs.around(&taking)
    } else {
        taking.clone()
    };
    let around: Vec<String> = locking.iter().map(ToString::to_string).collect();
    let locked = store::seats::lock(tx, new.session_id, &around).await?;
    if locked.cancelled {
        return Err(Error::refused(Rule::SessionCancelled, new.session_id));
    }
    if locked.started {
        return Err(Error::refused(Rule::SessionStarted, new.session_id));
    }
    let free: HashSet<SeatLabel> = locked
        .seats
        .iter()
        .filter(|seat| seat.status == SeatStatus::Available)
        .filter_map(|seat| seat.label.parse().ok())
        .collect();
    let unavailable: Vec<&SeatLabel> = taking.iter().filter(|s| !free.contains(s)).collect();
    if !unavailable.is_empty() {
        return Err(Error::SeatsUnavailable(labels::sorted(
            &unavailable
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )));
    }
    if judge_gaps {
        let stranded = terms.runs.newly_stranded(&free, &taking);
        if !stranded.is_empty() {
            return Err(Error::Refused {
                rule: Rule::SingleSeatGap,
                subjects: stranded.iter().map(ToString::to_string).collect(),
            });
        }
    }
    let lapsed = lapsed_holds(&locked, &taking);
    if !lapsed.is_empty() {
        return Ok(Hold::Lapsed(lapsed));
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
        extensions_left: new.extensions,
    };
    let mut outbox = Outbox::default();
    outbox.reservation_created(&reservation);
    outbox.seats_changed(new.session_id, &seats);
    outbox.write(tx).await?;
    Ok(Hold::Made(reservation))
}

/// The reservations whose passed holds are still recorded on seats being
/// taken, in id order.
fn lapsed_holds(locked: &LockedSeats, taking: &[SeatLabel]) -> Vec<Uuid> {
    let mut lapsed: Vec<Uuid> = locked
        .seats
        .iter()
        .filter(|seat| {
            seat.label
                .parse::<SeatLabel>()
                .is_ok_and(|label| taking.contains(&label))
        })
        .filter_map(|seat| seat.lapsed_hold)
        .collect();
    lapsed.sort();
    lapsed.dedup();
    lapsed
}
