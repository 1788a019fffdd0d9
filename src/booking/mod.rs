//! Reserve, confirm, cancel and expire: the transactions and their rules.
//!
//! The rule "a seat is sold at most once" lives here and in the schema:
//! every state change is one short PostgreSQL transaction whose `WHERE`
//! clause re-checks the state it expects, taking seat row locks in one global
//! order, (session_id, label), so no two transactions can deadlock; the
//! schema's keys refuse a double sale even if this code were wrong. Redis
//! ([`crate::locks`]) only keeps a stampede away from PostgreSQL.

pub mod expiry;
pub mod labels;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, FromQueryResult, TransactionTrait,
};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    api::convert::timestamp,
    auth::Caller,
    catalog::layout::SeatLabel,
    error::{ClosedReason, Error, Result},
    events::outbox::{Outbox, SeatChange, Signal},
    locks::{Gate, SeatLocks},
    proto::{events as pb, v1::SeatStatus},
    store::sql,
};
pub use labels::parse_labels;

/// Where a reservation stands, as every read sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Pending,
    Confirmed,
    Expired,
    Cancelled,
}

impl ReservationStatus {
    fn from_db(status: &str) -> Result<Self> {
        match status {
            "pending" => Ok(Self::Pending),
            "confirmed" => Ok(Self::Confirmed),
            "expired" => Ok(Self::Expired),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(Error::Internal(format!(
                "unknown reservation status {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    pub seat_labels: Vec<String>,
    pub status: ReservationStatus,
    pub expires_at: DateTime<Utc>,
    pub create_time: DateTime<Utc>,
    pub total_price_cents: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub sale_id: Uuid,
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    pub seat_labels: Vec<String>,
    pub amount_cents: i64,
    pub currency: String,
    pub payment_reference: String,
    pub paid_time: DateTime<Utc>,
    pub movie_title: String,
    pub starts_at: DateTime<Utc>,
}

/// Where a page of purchases starts: after this (paid_time, sale_id), going back in time.
pub type PurchaseCursor = (DateTime<Utc>, Uuid);

/// A request to hold seats, its fields checked one by one.
pub struct ReserveSeats {
    pub session_id: Uuid,
    /// The labels as the client sent them, to name a bad one by its index.
    pub requested: Vec<String>,
    /// The same labels parsed, sorted by row then number.
    pub seats: Vec<SeatLabel>,
    pub request_id: Option<Uuid>,
}

/// Idempotency keys name the RPC they belong to.
const RESERVE: &str = "reserve_seats";
const CONFIRM: &str = "confirm_payment";
const MAX_PAYMENT_REFERENCE_CHARS: usize = 200;

/// The booking rules, shared by every RPC of BookingService.
pub struct Booking {
    db: DatabaseConnection,
    locks: Arc<SeatLocks>,
    hold: Duration,
    max_seats: usize,
    expiry: expiry::Waker,
    events: Signal,
    terms: TermsCache,
}

impl Booking {
    pub fn new(
        db: DatabaseConnection,
        locks: Arc<SeatLocks>,
        hold: Duration,
        max_seats: usize,
        expiry: expiry::Waker,
        events: Signal,
    ) -> Self {
        Self {
            db,
            locks,
            hold,
            max_seats,
            expiry,
            events,
            terms: TermsCache::default(),
        }
    }

    /// Parses the labels of a ReserveSeats request against the seat limit.
    pub fn parse_labels(&self, requested: &[String]) -> Result<Vec<SeatLabel>> {
        parse_labels(requested, self.max_seats).map_err(Error::InvalidArgument)
    }

    /// Holds every requested seat for the caller, or none.
    pub async fn reserve(&self, caller: &Caller, request: ReserveSeats) -> Result<Reservation> {
        let labels = &request.seats;
        let fingerprint = format!("{}:{}", request.session_id, join(labels));
        if let Some(request_id) = request.request_id
            && let Some(earlier) = self
                .replay(caller, request_id, RESERVE, &fingerprint)
                .await?
        {
            return self.get_reservation(caller, earlier).await;
        }
        let session = self.session_terms(request.session_id).await?;
        labels::check_in_room(&request.requested, session.seat_rows, session.seats_per_row)
            .map_err(Error::InvalidArgument)?;

        let guard = match self.locks.acquire(request.session_id, labels).await {
            Gate::Contended => return Err(Error::Contended),
            Gate::Held(labels) => return Err(Error::SeatsUnavailable(labels)),
            Gate::Locked(guard) => Some(guard),
            Gate::Open => None,
        };
        // The hold starts at the transaction's now(), after this instant: a
        // marker timed from here never outlives the hold.
        let begun = Instant::now();
        let held = self
            .hold_seats(caller, &request, labels, &session, &fingerprint)
            .await;
        if let Some(guard) = guard {
            match &held {
                Ok(Held::New(reservation)) => {
                    let left = self.hold.saturating_sub(begun.elapsed());
                    let id = reservation.reservation_id;
                    self.locks.release_as_held(guard, id, left).await;
                }
                _ => self.locks.release(guard).await,
            }
        }
        match held? {
            Held::New(reservation) => {
                self.expiry.wake_at(reservation.expires_at);
                Ok(reservation)
            }
            // A concurrent retry with the same request_id won: answer as it did.
            Held::Replayed(earlier) => self.get_reservation(caller, earlier).await,
        }
    }

    async fn hold_seats(
        &self,
        caller: &Caller,
        request: &ReserveSeats,
        labels: &[SeatLabel],
        session: &SessionTerms,
        fingerprint: &str,
    ) -> Result<Held> {
        let txn = self.db.begin().await?;
        let reservation_id = Uuid::now_v7();
        if let Some(request_id) = request.request_id
            && !remember(
                &txn,
                caller,
                request_id,
                RESERVE,
                fingerprint,
                reservation_id,
            )
            .await?
        {
            txn.rollback().await?;
            return self
                .replay(caller, request_id, RESERVE, fingerprint)
                .await?
                .map(Held::Replayed)
                .ok_or_else(|| Error::Internal("an idempotency key vanished".into()));
        }
        let hold = NewHold {
            reservation_id,
            session_id: request.session_id,
            user_id: &caller.user_id,
            labels,
            hold: self.hold,
            price_cents: session.price_cents,
            currency: &session.currency,
        };
        let reservation = match hold_in(&txn, &hold).await {
            Ok(reservation) => reservation,
            Err(err) => {
                txn.rollback().await?;
                return Err(err);
            }
        };
        txn.commit().await?;
        self.events.notify();
        Ok(Held::New(reservation))
    }

    /// One of the caller's reservations.
    pub async fn get_reservation(
        &self,
        caller: &Caller,
        reservation_id: Uuid,
    ) -> Result<Reservation> {
        let reservation = read_reservation(&self.db, reservation_id).await?;
        owned_by(caller, &reservation.user_id)?;
        Ok(reservation)
    }

    /// Pays for a pending reservation: its seats become SOLD and a sale is
    /// recorded, in one transaction. Paying again returns the same sale.
    pub async fn confirm(
        &self,
        caller: &Caller,
        reservation_id: Uuid,
        payment_reference: &str,
        request_id: Option<Uuid>,
    ) -> Result<Sale> {
        let fingerprint = reservation_id.to_string();
        if let Some(request_id) = request_id
            && let Some(sale_id) = self
                .replay(caller, request_id, CONFIRM, &fingerprint)
                .await?
        {
            return read_sale(&self.db, "sale_id", sale_id).await;
        }
        let txn = self.db.begin().await?;
        let locked = lock_reservation(&txn, caller, reservation_id).await?;
        match locked.state() {
            State::Confirmed => {
                txn.rollback().await?;
                return read_sale(&self.db, "reservation_id", reservation_id).await;
            }
            State::Closed(reason) => {
                txn.rollback().await?;
                return Err(Error::ReservationClosed {
                    reason,
                    reservation_id,
                });
            }
            State::Lapsed => {
                expire(&txn, &[reservation_id]).await?;
                txn.commit().await?;
                self.events.notify();
                return Err(Error::ReservationClosed {
                    reason: ClosedReason::Expired,
                    reservation_id,
                });
            }
            State::Pending => {}
        }
        let sale_id = Uuid::now_v7();
        if let Some(request_id) = request_id
            && !remember(&txn, caller, request_id, CONFIRM, &fingerprint, sale_id).await?
        {
            txn.rollback().await?;
            let sale_id = self
                .replay(caller, request_id, CONFIRM, &fingerprint)
                .await?;
            let sale_id =
                sale_id.ok_or_else(|| Error::Internal("an idempotency key vanished".into()))?;
            return read_sale(&self.db, "sale_id", sale_id).await;
        }
        let seat_list = locked.seat_labels.clone();
        let sold = ChangedSeat::find_by_statement(sql(
            "UPDATE seats s SET status = 'sold', held_until = NULL, version = s.version + 1
               FROM (SELECT session_id, label FROM seats
                      WHERE session_id = $1 AND label = ANY(string_to_array($2, ','))
                      ORDER BY label FOR UPDATE) locked
              WHERE s.session_id = locked.session_id AND s.label = locked.label
                AND s.reservation_id = $3 AND s.status = 'held' AND s.held_until > now()
              RETURNING s.session_id, s.label, s.version, s.reservation_id",
            [
                locked.session_id.into(),
                seat_list.clone().into(),
                reservation_id.into(),
            ],
        ))
        .all(&txn)
        .await?;
        if sold.len() as u64 != seat_count(&seat_list) {
            // The hold ended while this transaction began: the clock decides.
            txn.rollback().await?;
            return Err(Error::ReservationClosed {
                reason: ClosedReason::Expired,
                reservation_id,
            });
        }
        txn.execute_raw(sql(
            "INSERT INTO sales (sale_id, reservation_id, session_id, user_id, amount_cents, currency, payment_reference)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                sale_id.into(),
                reservation_id.into(),
                locked.session_id.into(),
                caller.user_id.clone().into(),
                locked.total_price_cents.into(),
                locked.currency.clone().into(),
                payment_reference.to_owned().into(),
            ],
        ))
        .await?;
        txn.execute_raw(sql(
            "INSERT INTO sale_seats (session_id, label, sale_id)
             SELECT $1, unnest(string_to_array($2, ',')), $3",
            [locked.session_id.into(), seat_list.into(), sale_id.into()],
        ))
        .await?;
        txn.execute_raw(sql(
            "UPDATE reservations SET status = 'confirmed', finish_time = now() WHERE reservation_id = $1",
            [reservation_id.into()],
        ))
        .await?;
        let mut outbox = Outbox::default();
        outbox.push("payment.confirmed", |event_id, occur_time| {
            pb::PaymentConfirmed {
                event_id,
                occur_time: Some(occur_time),
                sale_id: sale_id.to_string(),
                reservation_id: reservation_id.to_string(),
                session_id: locked.session_id.to_string(),
                user_id: caller.user_id.clone(),
                seat_labels: sorted_labels(Some(&locked.seat_labels)),
                amount_cents: locked.total_price_cents,
                currency: locked.currency.clone(),
                payment_reference: payment_reference.to_owned(),
            }
        });
        outbox.seats_changed(locked.session_id, &seat_changes(&sold, SeatStatus::Sold));
        outbox.write(&txn).await?;
        txn.commit().await?;
        self.events.notify();
        read_sale(&self.db, "sale_id", sale_id).await
    }

    /// Cancels a pending reservation and frees its seats at once. A cancelled
    /// or expired reservation is returned as it is.
    pub async fn cancel(&self, caller: &Caller, reservation_id: Uuid) -> Result<Reservation> {
        let txn = self.db.begin().await?;
        let locked = lock_reservation(&txn, caller, reservation_id).await?;
        match locked.state() {
            State::Confirmed => {
                txn.rollback().await?;
                return Err(Error::ReservationClosed {
                    reason: ClosedReason::Confirmed,
                    reservation_id,
                });
            }
            State::Closed(_) => txn.rollback().await?,
            State::Lapsed => {
                expire(&txn, &[reservation_id]).await?;
                txn.commit().await?;
                self.events.notify();
            }
            State::Pending => {
                txn.execute_raw(sql(
                    "UPDATE reservations SET status = 'cancelled', finish_time = now() WHERE reservation_id = $1",
                    [reservation_id.into()],
                ))
                .await?;
                let freed = free_seats(&txn, &[reservation_id]).await?;
                let mut outbox = Outbox::default();
                outbox.push("reservation.cancelled", |event_id, occur_time| {
                    pb::ReservationCancelled {
                        event_id,
                        occur_time: Some(occur_time),
                        reservation_id: reservation_id.to_string(),
                        session_id: locked.session_id.to_string(),
                        user_id: locked.user_id.clone(),
                        seat_labels: labels_of(&freed),
                    }
                });
                released(&mut outbox, &freed, pb::ReleaseReason::Cancelled);
                outbox.write(&txn).await?;
                txn.commit().await?;
                self.events.notify();
                let labels: Vec<SeatLabel> = freed
                    .iter()
                    .filter_map(|seat| seat.label.parse().ok())
                    .collect();
                self.locks
                    .unmark(locked.session_id, &labels, reservation_id)
                    .await;
            }
        }
        read_reservation(&self.db, reservation_id).await
    }

    /// The caller's sales, newest first.
    pub async fn purchases(
        &self,
        caller: &Caller,
        after: Option<PurchaseCursor>,
        limit: u64,
    ) -> Result<Vec<Sale>> {
        let (after_time, after_id) = after.unzip();
        let rows = SaleRow::find_by_statement(sql(
            "SELECT * FROM sale_details
              WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (paid_time, sale_id) < ($2, $3))
              ORDER BY paid_time DESC, sale_id DESC
              LIMIT $4",
            [
                caller.user_id.clone().into(),
                after_time.into(),
                after_id.into(),
                (limit as i64).into(),
            ],
        ))
        .all(&self.db)
        .await?;
        Ok(rows.into_iter().map(Sale::from).collect())
    }

    /// The resource an earlier request with this `request_id` produced, if any.
    async fn replay(
        &self,
        caller: &Caller,
        request_id: Uuid,
        operation: &str,
        fingerprint: &str,
    ) -> Result<Option<Uuid>> {
        #[derive(FromQueryResult)]
        struct Key {
            operation: String,
            fingerprint: String,
            resource_id: Uuid,
        }
        let key = Key::find_by_statement(sql(
            "SELECT operation, fingerprint, resource_id FROM idempotency_keys WHERE user_id = $1 AND request_id = $2",
            [caller.user_id.clone().into(), request_id.into()],
        ))
        .one(&self.db)
        .await?;
        match key {
            None => Ok(None),
            Some(key) if key.operation == operation && key.fingerprint == fingerprint => {
                Ok(Some(key.resource_id))
            }
            Some(_) => Err(Error::invalid(
                "request_id",
                "was already used for a different request",
            )),
        }
    }

    /// The terms of a session, read once per instance: a published session
    /// never changes.
    async fn session_terms(&self, session_id: Uuid) -> Result<SessionTerms> {
        let cell = self.terms.cell(session_id);
        let terms = cell
            .get_or_try_init(|| async {
                SessionTerms::find_by_statement(sql(
                    "SELECT price_cents, currency, seat_rows, seats_per_row FROM sessions WHERE session_id = $1",
                    [session_id.into()],
                ))
                .one(&self.db)
                .await?
                .ok_or_else(|| Error::not_found("session", session_id))
            })
            .await?;
        Ok(terms.clone())
    }
}

/// One hold to write: the reservation, its seats and its terms.
pub struct NewHold<'a> {
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: &'a str,
    /// Sorted by row then number, without duplicates.
    pub labels: &'a [SeatLabel],
    pub hold: Duration,
    pub price_cents: i64,
    pub currency: &'a str,
}

/// The SQL of one ReserveSeats, inside `txn` and without the service around
/// it (so `cinema-bench` can drive the very same statements straight at
/// PostgreSQL): locks the seats in label order, refuses with
/// [`Error::SeatsUnavailable`] naming every seat held or sold, else records
/// the reservation, takes the seats and writes the events. The caller
/// commits, or rolls back on an error.
pub async fn hold_in(txn: &DatabaseTransaction, new: &NewHold<'_>) -> Result<Reservation> {
    let seat_list = join(new.labels);
    let unavailable = unavailable_seats(txn, new.session_id, &seat_list).await?;
    if !unavailable.is_empty() {
        return Err(Error::SeatsUnavailable(unavailable));
    }
    let total = new.price_cents * new.labels.len() as i64;
    // One round trip records the reservation and its seats and takes the
    // seats. The rows are locked and were free; the WHERE clause says so
    // again. Foreign keys are checked at the end of the statement, when the
    // reservation row exists.
    #[derive(FromQueryResult)]
    struct Taken {
        session_id: Uuid,
        label: String,
        version: i64,
        reservation_id: Option<Uuid>,
        expires_at: DateTime<Utc>,
        create_time: DateTime<Utc>,
    }
    let taken = Taken::find_by_statement(sql(
        "WITH reservation AS (
             INSERT INTO reservations (reservation_id, session_id, user_id, expires_at, total_price_cents, currency)
             VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond', $5, $6)
             RETURNING expires_at, create_time
         ), requested AS (
             INSERT INTO reservation_seats (reservation_id, session_id, label)
             SELECT $1, $2, unnest(string_to_array($7, ','))
         ), taken AS (
             UPDATE seats SET status = 'held', reservation_id = $1,
                    held_until = (SELECT expires_at FROM reservation), version = version + 1
              WHERE session_id = $2 AND label = ANY(string_to_array($7, ','))
                AND (status = 'available' OR (status = 'held' AND held_until <= now()))
              RETURNING session_id, label, version, reservation_id
         )
         SELECT t.session_id, t.label, t.version, t.reservation_id, r.expires_at, r.create_time
           FROM taken t CROSS JOIN reservation r",
        [
            new.reservation_id.into(),
            new.session_id.into(),
            new.user_id.to_owned().into(),
            (new.hold.as_millis() as i64).into(),
            total.into(),
            new.currency.to_owned().into(),
            seat_list.into(),
        ],
    ))
    .all(txn)
    .await?;
    let Some(created) = taken.first() else {
        return Err(Error::Contended);
    };
    let (expires_at, create_time) = (created.expires_at, created.create_time);
    let taken: Vec<ChangedSeat> = taken
        .into_iter()
        .map(|seat| ChangedSeat {
            session_id: seat.session_id,
            label: seat.label,
            version: seat.version,
            reservation_id: seat.reservation_id,
        })
        .collect();
    if taken.len() != new.labels.len() {
        return Err(Error::Contended);
    }
    let reservation = Reservation {
        reservation_id: new.reservation_id,
        session_id: new.session_id,
        user_id: new.user_id.to_owned(),
        seat_labels: new.labels.iter().map(ToString::to_string).collect(),
        status: ReservationStatus::Pending,
        expires_at,
        create_time,
        total_price_cents: total,
        currency: new.currency.to_owned(),
    };
    let mut outbox = Outbox::default();
    outbox.push("reservation.created", |event_id, occur_time| {
        pb::ReservationCreated {
            event_id,
            occur_time: Some(occur_time),
            reservation_id: reservation.reservation_id.to_string(),
            session_id: reservation.session_id.to_string(),
            user_id: reservation.user_id.clone(),
            seat_labels: reservation.seat_labels.clone(),
            expire_time: Some(timestamp(reservation.expires_at)),
            total_price_cents: total,
            currency: reservation.currency.clone(),
        }
    });
    outbox.seats_changed(new.session_id, &seat_changes(&taken, SeatStatus::Held));
    outbox.write(txn).await?;
    Ok(reservation)
}

/// A payment reference: 1 to 200 characters, stored trimmed.
pub fn parse_payment_reference(reference: &str) -> Result<String> {
    let reference = reference.trim();
    // PostgreSQL text cannot hold a NUL character.
    if reference.is_empty()
        || reference.chars().count() > MAX_PAYMENT_REFERENCE_CHARS
        || reference.contains('\0')
    {
        return Err(Error::invalid(
            "payment_reference",
            "must be 1 to 200 characters, with no NUL character",
        ));
    }
    Ok(reference.to_owned())
}

enum Held {
    New(Reservation),
    Replayed(Uuid),
}

/// Sessions' terms by id. Callers asking at once for a session not read yet
/// share one query (a stampede does not become a burst of reads); the map is
/// emptied when it grows past its bound, which only costs re-reads.
#[derive(Default)]
struct TermsCache(Mutex<HashMap<Uuid, Arc<OnceCell<SessionTerms>>>>);

const TERMS_CACHE_ENTRIES: usize = 10_000;

impl TermsCache {
    fn cell(&self, session_id: Uuid) -> Arc<OnceCell<SessionTerms>> {
        let mut cells = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cells.len() >= TERMS_CACHE_ENTRIES && !cells.contains_key(&session_id) {
            cells.clear();
        }
        Arc::clone(cells.entry(session_id).or_default())
    }
}

#[derive(Clone, FromQueryResult)]
struct SessionTerms {
    price_cents: i64,
    currency: String,
    seat_rows: i32,
    seats_per_row: i32,
}

/// Marks reservations whose hold has passed as expired, frees their seats and
/// writes the events, all in `txn`. Returns how many it expired.
pub(crate) async fn expire(txn: &DatabaseTransaction, reservation_ids: &[Uuid]) -> Result<usize> {
    #[derive(FromQueryResult)]
    struct Expired {
        reservation_id: Uuid,
        session_id: Uuid,
        user_id: String,
        expires_at: DateTime<Utc>,
    }
    let expired = Expired::find_by_statement(sql(
        "UPDATE reservations SET status = 'expired', finish_time = now()
          WHERE reservation_id = ANY(string_to_array($1, ',')::uuid[]) AND status = 'pending' AND expires_at <= now()
          RETURNING reservation_id, session_id, user_id, expires_at",
        [join(reservation_ids).into()],
    ))
    .all(txn)
    .await?;
    let ids: Vec<Uuid> = expired.iter().map(|e| e.reservation_id).collect();
    let freed = free_seats(txn, &ids).await?;
    let mut outbox = Outbox::default();
    for reservation in &expired {
        let seats: Vec<&ChangedSeat> = freed
            .iter()
            .filter(|seat| seat.reservation_id == Some(reservation.reservation_id))
            .collect();
        outbox.push("reservation.expired", |event_id, occur_time| {
            pb::ReservationExpired {
                event_id,
                occur_time: Some(occur_time),
                reservation_id: reservation.reservation_id.to_string(),
                session_id: reservation.session_id.to_string(),
                user_id: reservation.user_id.clone(),
                seat_labels: seats.iter().map(|seat| seat.label.clone()).collect(),
                expire_time: Some(timestamp(reservation.expires_at)),
            }
        });
    }
    released(&mut outbox, &freed, pb::ReleaseReason::Expired);
    outbox.write(txn).await?;
    Ok(expired.len())
}

/// A seat a statement changed, with the reservation it named before.
#[derive(Debug, FromQueryResult)]
struct ChangedSeat {
    session_id: Uuid,
    label: String,
    version: i64,
    reservation_id: Option<Uuid>,
}

/// Frees the seats these reservations still hold, locking them in
/// (session_id, label) order like every other seat change.
async fn free_seats(
    txn: &DatabaseTransaction,
    reservation_ids: &[Uuid],
) -> Result<Vec<ChangedSeat>> {
    if reservation_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ChangedSeat::find_by_statement(sql(
        "UPDATE seats s SET status = 'available', reservation_id = NULL, held_until = NULL, version = s.version + 1
           FROM (SELECT session_id, label, reservation_id FROM seats
                  WHERE reservation_id = ANY(string_to_array($1, ',')::uuid[]) AND status = 'held'
                  ORDER BY session_id, label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
            AND s.reservation_id = ANY(string_to_array($1, ',')::uuid[]) AND s.status = 'held'
          RETURNING s.session_id, s.label, s.version, locked.reservation_id",
        [join(reservation_ids).into()],
    ))
    .all(txn)
    .await?)
}

/// `seat.released` for each freed seat, and `seats.changed` per session.
fn released(outbox: &mut Outbox, freed: &[ChangedSeat], reason: pb::ReleaseReason) {
    for seat in freed {
        outbox.push("seat.released", |event_id, occur_time| pb::SeatReleased {
            event_id,
            occur_time: Some(occur_time),
            session_id: seat.session_id.to_string(),
            seat_label: seat.label.clone(),
            reservation_id: seat
                .reservation_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            reason: reason.into(),
        });
    }
    let mut sessions: Vec<Uuid> = freed.iter().map(|seat| seat.session_id).collect();
    sessions.sort();
    sessions.dedup();
    for session_id in sessions {
        let seats = freed.iter().filter(|seat| seat.session_id == session_id);
        outbox.seats_changed(session_id, &seat_changes(seats, SeatStatus::Available));
    }
}

fn seat_changes<'a>(
    seats: impl IntoIterator<Item = &'a ChangedSeat>,
    status: SeatStatus,
) -> Vec<SeatChange> {
    seats
        .into_iter()
        .map(|seat| SeatChange {
            label: seat.label.clone(),
            status,
            version: seat.version,
        })
        .collect()
}

/// The labels of these seats, by row then number.
fn labels_of(seats: &[ChangedSeat]) -> Vec<String> {
    let mut labels: Vec<SeatLabel> = seats
        .iter()
        .filter_map(|seat| seat.label.parse().ok())
        .collect();
    labels.sort();
    labels.iter().map(ToString::to_string).collect()
}

/// Locks the requested seats in label order and returns those that are held
/// (until later than now) or sold.
async fn unavailable_seats(
    txn: &DatabaseTransaction,
    session_id: Uuid,
    seat_list: &str,
) -> Result<Vec<String>> {
    #[derive(FromQueryResult)]
    struct SeatLock {
        label: String,
        free: bool,
    }
    let seats = SeatLock::find_by_statement(sql(
        "SELECT label, (status = 'available' OR (status = 'held' AND held_until <= now())) AS free
           FROM seats WHERE session_id = $1 AND label = ANY(string_to_array($2, ','))
          ORDER BY label FOR UPDATE",
        [session_id.into(), seat_list.to_owned().into()],
    ))
    .all(txn)
    .await?;
    let mut unavailable: Vec<SeatLabel> = seats
        .iter()
        .filter(|s| !s.free)
        .filter_map(|s| s.label.parse().ok())
        .collect();
    unavailable.sort();
    Ok(unavailable.iter().map(ToString::to_string).collect())
}

/// Records `request_id` in the transaction; false when it is already taken
/// (a concurrent twin committed first, and its answer is the one to give).
async fn remember(
    txn: &DatabaseTransaction,
    caller: &Caller,
    request_id: Uuid,
    operation: &str,
    fingerprint: &str,
    resource_id: Uuid,
) -> Result<bool> {
    let inserted = txn
        .execute_raw(sql(
            "INSERT INTO idempotency_keys (user_id, request_id, operation, fingerprint, resource_id)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [
                caller.user_id.clone().into(),
                request_id.into(),
                operation.into(),
                fingerprint.into(),
                resource_id.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

#[derive(FromQueryResult)]
struct LockedReservation {
    session_id: Uuid,
    user_id: String,
    status: String,
    lapsed: bool,
    total_price_cents: i64,
    currency: String,
    seat_labels: String,
}

enum State {
    Pending,
    /// Still pending in the table, but its hold has passed.
    Lapsed,
    Confirmed,
    Closed(ClosedReason),
}

impl LockedReservation {
    fn state(&self) -> State {
        match self.status.as_str() {
            "pending" if self.lapsed => State::Lapsed,
            "pending" => State::Pending,
            "confirmed" => State::Confirmed,
            "cancelled" => State::Closed(ClosedReason::Cancelled),
            _ => State::Closed(ClosedReason::Expired),
        }
    }
}

/// Locks the caller's reservation row for the rest of the transaction.
async fn lock_reservation(
    txn: &DatabaseTransaction,
    caller: &Caller,
    reservation_id: Uuid,
) -> Result<LockedReservation> {
    let locked = LockedReservation::find_by_statement(sql(
        "SELECT r.session_id, r.user_id, r.status, r.expires_at <= now() AS lapsed, r.total_price_cents, r.currency,
                (SELECT string_agg(label, ',' ORDER BY label) FROM reservation_seats rs
                  WHERE rs.reservation_id = r.reservation_id) AS seat_labels
           FROM reservations r WHERE r.reservation_id = $1 FOR UPDATE",
        [reservation_id.into()],
    ))
    .one(txn)
    .await?
    .ok_or_else(|| Error::not_found("reservation", reservation_id))?;
    owned_by(caller, &locked.user_id)?;
    Ok(locked)
}

fn owned_by(caller: &Caller, user_id: &str) -> Result<()> {
    if caller.user_id == user_id {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "this reservation belongs to another user",
        ))
    }
}

#[derive(FromQueryResult)]
struct ReservationRow {
    reservation_id: Uuid,
    session_id: Uuid,
    user_id: String,
    status: String,
    expires_at: DateTime<Utc>,
    create_time: DateTime<Utc>,
    total_price_cents: i64,
    currency: String,
    seat_labels: Option<String>,
}

async fn read_reservation(db: &impl ConnectionTrait, reservation_id: Uuid) -> Result<Reservation> {
    let row = ReservationRow::find_by_statement(sql(
        "SELECT * FROM reservation_states WHERE reservation_id = $1",
        [reservation_id.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| Error::not_found("reservation", reservation_id))?;
    Ok(Reservation {
        status: ReservationStatus::from_db(&row.status)?,
        seat_labels: sorted_labels(row.seat_labels.as_deref()),
        reservation_id: row.reservation_id,
        session_id: row.session_id,
        user_id: row.user_id,
        expires_at: row.expires_at,
        create_time: row.create_time,
        total_price_cents: row.total_price_cents,
        currency: row.currency,
    })
}

#[derive(FromQueryResult)]
struct SaleRow {
    sale_id: Uuid,
    reservation_id: Uuid,
    session_id: Uuid,
    user_id: String,
    amount_cents: i64,
    currency: String,
    payment_reference: String,
    paid_time: DateTime<Utc>,
    movie_title: String,
    starts_at: DateTime<Utc>,
    seat_labels: Option<String>,
}

impl From<SaleRow> for Sale {
    fn from(row: SaleRow) -> Self {
        Self {
            seat_labels: sorted_labels(row.seat_labels.as_deref()),
            sale_id: row.sale_id,
            reservation_id: row.reservation_id,
            session_id: row.session_id,
            user_id: row.user_id,
            amount_cents: row.amount_cents,
            currency: row.currency,
            payment_reference: row.payment_reference,
            paid_time: row.paid_time,
            movie_title: row.movie_title,
            starts_at: row.starts_at,
        }
    }
}

/// The sale whose `column` (sale_id or reservation_id) is `id`.
async fn read_sale(db: &impl ConnectionTrait, column: &'static str, id: Uuid) -> Result<Sale> {
    SaleRow::find_by_statement(sql(
        format!("SELECT * FROM sale_details WHERE {column} = $1"),
        [id.into()],
    ))
    .one(db)
    .await?
    .map(Sale::from)
    .ok_or_else(|| Error::Internal(format!("no sale with {column} {id}")))
}

/// Labels from a comma-separated list, by row then number.
fn sorted_labels(list: Option<&str>) -> Vec<String> {
    let mut labels: Vec<SeatLabel> = list
        .unwrap_or_default()
        .split(',')
        .filter_map(|label| label.parse().ok())
        .collect();
    labels.sort();
    labels.iter().map(ToString::to_string).collect()
}

fn seat_count(list: &str) -> u64 {
    list.split(',').filter(|l| !l.is_empty()).count() as u64
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
