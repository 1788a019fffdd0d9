//! Seat changes, where "a seat is sold at most once" is decided: every
//! statement locks its seat rows in one global order, `(session_id, label)`,
//! so no two transactions deadlock, and its `WHERE` clause re-checks the
//! state it expects, so a decision made on stale data cannot commit. The
//! schema's keys refuse a double sale even if this code were wrong.
//!
//! These statements are raw SQL because the builder cannot say them: a lock
//! taken in label order inside an `UPDATE`, and a hold recorded in one round
//! trip (reservation, its seats and the seats taken).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Value,
};
use uuid::Uuid;

use super::{
    Db, Tx,
    entities::{self, seat_states},
    sql,
};
use crate::domain::{ChangedSeat, ReservedSeat, Result, Seat, SeatStatus, price};

/// One hold to write: the reservation, its seats priced, and its terms.
pub struct NewHold<'a> {
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: &'a str,
    /// Sorted by row then number, without duplicates.
    pub seats: &'a [ReservedSeat],
    pub hold: Duration,
    pub currency: &'a str,
    /// How many times the hold may be extended.
    pub extensions: u32,
}

impl NewHold<'_> {
    pub fn labels(&self) -> Vec<String> {
        self.seats.iter().map(|seat| seat.label.clone()).collect()
    }
}

/// What a hold wrote: the seats it took, and its times by the database clock.
pub struct Taken {
    pub seats: Vec<ChangedSeat>,
    pub expires_at: DateTime<Utc>,
    pub create_time: DateTime<Utc>,
}

/// A seat locked by [`lock`], with its status as reads see it.
pub struct Locked {
    pub label: String,
    pub status: SeatStatus,
    /// The reservation whose hold of this seat has passed but is not yet
    /// recorded as expired: the seat reads as available, yet is not free
    /// to take until that hold is expired.
    pub lapsed_hold: Option<Uuid>,
}

/// The seats [`lock`] locked, and whether their session is still on sale.
pub struct LockedSeats {
    pub seats: Vec<Locked>,
    pub cancelled: bool,
    /// Started by the database clock.
    pub started: bool,
}

/// Locks seats in label order and reads their status (a lapsed hold reads
/// as available, and names its reservation), and their session's state in
/// the same round trip. A
/// cancellation blocks every seat, so a hold that waited for it finds them
/// taken even where the state it read is the one from before.
pub async fn lock(tx: &Tx, session_id: Uuid, seat_labels: &[String]) -> Result<LockedSeats> {
    #[derive(FromQueryResult)]
    struct Row {
        label: String,
        status: entities::SeatStatus,
        lapsed_hold: Option<Uuid>,
        cancelled: bool,
        started: bool,
    }
    let rows = Row::find_by_statement(sql(
        "SELECT s.label,
                CASE WHEN s.status = 'held' AND s.held_until <= now() THEN 'available' ELSE s.status END AS status,
                CASE WHEN s.status = 'held' AND s.held_until <= now() THEN s.reservation_id END AS lapsed_hold,
                se.state = 'cancelled' AS cancelled, se.starts_at <= now() AS started
           FROM seats s JOIN sessions se ON se.session_id = s.session_id
          WHERE s.session_id = $1 AND s.label = ANY($2)
          ORDER BY s.label FOR UPDATE OF s",
        [session_id.into(), seat_labels.to_vec().into()],
    ))
    .all(tx)
    .await?;
    Ok(LockedSeats {
        cancelled: rows.iter().any(|row| row.cancelled),
        started: rows.iter().any(|row| row.started),
        seats: rows
            .into_iter()
            .map(|row| Locked {
                label: row.label,
                status: row.status.into(),
                lapsed_hold: row.lapsed_hold,
            })
            .collect(),
    })
}

/// Records the reservation and its seats and takes the seats, in one round
/// trip. The seats must be locked and available, with no lapsed hold on
/// them ([`lock`]); the `WHERE` clause says so again. Foreign keys are checked at the end of the
/// statement, when the reservation row exists. Fewer seats than asked means
/// the hold must be rolled back.
pub async fn hold(tx: &Tx, new: &NewHold<'_>) -> Result<Option<Taken>> {
    #[derive(FromQueryResult)]
    struct Row {
        session_id: Uuid,
        label: String,
        version: i64,
        reservation_id: Option<Uuid>,
        expires_at: DateTime<Utc>,
        create_time: DateTime<Utc>,
    }
    let rows = Row::find_by_statement(sql(
        "WITH reservation AS (
             INSERT INTO reservations (reservation_id, session_id, user_id, expires_at, total_price_cents, currency, extensions_left)
             VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond', $5, $6, $11)
             RETURNING expires_at, create_time
         ), requested AS (
             INSERT INTO reservation_seats (reservation_id, session_id, label, kind, ticket_type, price_cents)
             SELECT $1, $2, label, kind, ticket_type, price_cents
               FROM unnest($7::text[], $8::text[], $9::text[], $10::bigint[])
                    AS seat (label, kind, ticket_type, price_cents)
         ), taken AS (
             UPDATE seats SET status = 'held', reservation_id = $1,
                    held_until = (SELECT expires_at FROM reservation), version = version + 1
              WHERE session_id = $2 AND label = ANY($7) AND status = 'available'
              RETURNING session_id, label, version, reservation_id
         )
         SELECT t.session_id, t.label, t.version, t.reservation_id, r.expires_at, r.create_time
           FROM taken t CROSS JOIN reservation r",
        [
            new.reservation_id.into(),
            new.session_id.into(),
            new.user_id.into(),
            (new.hold.as_millis() as i64).into(),
            price::total(new.seats).into(),
            new.currency.into(),
            new.labels().into(),
            column(new.seats, |seat| entities::SeatKind::from(seat.kind).to_value()),
            column(new.seats, |seat| {
                entities::TicketType::from(seat.ticket_type).to_value()
            }),
            new.seats
                .iter()
                .map(|seat| seat.price_cents)
                .collect::<Vec<_>>()
                .into(),
            i32::try_from(new.extensions).unwrap_or(i32::MAX).into(),
        ],
    ))
    .all(tx)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (expires_at, create_time) = (first.expires_at, first.create_time);
    let seats = rows
        .into_iter()
        .map(|row| ChangedSeat {
            session_id: row.session_id,
            label: row.label,
            status: SeatStatus::Held,
            version: row.version,
            reservation_id: row.reservation_id,
            block_reason: None,
            held_until: Some(row.expires_at),
        })
        .collect();
    Ok(Some(Taken {
        seats,
        expires_at,
        create_time,
    }))
}

/// Sells the seats that `reservation_id` still holds, and only while its
/// hold lasts; locks them in label order first.
pub async fn sell(
    tx: &Tx,
    session_id: Uuid,
    seat_labels: &[String],
    reservation_id: Uuid,
) -> Result<Vec<ChangedSeat>> {
    let sold = Changed::find_by_statement(sql(
        "UPDATE seats s SET status = 'sold', held_until = NULL, version = s.version + 1
           FROM (SELECT session_id, label FROM seats
                  WHERE session_id = $1 AND label = ANY($2)
                  ORDER BY label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
            AND s.reservation_id = $3 AND s.status = 'held' AND s.held_until > now()
          RETURNING s.session_id, s.label, s.version, s.reservation_id, s.block_reason",
        [
            session_id.into(),
            seat_labels.to_vec().into(),
            reservation_id.into(),
        ],
    ))
    .all(tx)
    .await?;
    Ok(sold
        .into_iter()
        .map(|seat| seat.to(SeatStatus::Sold))
        .collect())
}

/// Moves the end of the hold of the seats `reservation_id` holds to
/// `until`, locking them in label order first; each changed seat's version
/// is bumped, so live maps show the new end.
pub async fn extend_hold(
    tx: &Tx,
    session_id: Uuid,
    reservation_id: Uuid,
    until: DateTime<Utc>,
) -> Result<Vec<ChangedSeat>> {
    let extended = Changed::find_by_statement(sql(
        "UPDATE seats s SET held_until = $3, version = s.version + 1
           FROM (SELECT session_id, label FROM seats
                  WHERE session_id = $1 AND reservation_id = $2 AND status = 'held'
                  ORDER BY label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
          RETURNING s.session_id, s.label, s.version, s.reservation_id, s.block_reason",
        [session_id.into(), reservation_id.into(), until.into()],
    ))
    .all(tx)
    .await?;
    Ok(extended
        .into_iter()
        .map(|seat| ChangedSeat {
            held_until: Some(until),
            ..seat.to(SeatStatus::Held)
        })
        .collect())
}

/// Frees the seats these reservations still hold, locking them in
/// (session_id, label) order; each freed seat names the reservation it left.
pub async fn free(tx: &Tx, reservation_ids: &[Uuid]) -> Result<Vec<ChangedSeat>> {
    if reservation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let freed = Changed::find_by_statement(sql(
        "UPDATE seats s SET status = 'available', reservation_id = NULL, held_until = NULL, version = s.version + 1
           FROM (SELECT session_id, label, reservation_id FROM seats
                  WHERE reservation_id = ANY($1) AND status = 'held'
                  ORDER BY session_id, label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
            AND s.reservation_id = ANY($1) AND s.status = 'held'
          RETURNING s.session_id, s.label, s.version, locked.reservation_id, s.block_reason",
        [reservation_ids.to_vec().into()],
    ))
    .all(tx)
    .await?;
    Ok(freed
        .into_iter()
        .map(|seat| seat.to(SeatStatus::Available))
        .collect())
}

/// Puts seats whose sale was just refunded back on sale, locking them in
/// label order first. The schema lets a sold seat change only once its
/// sale of it is marked refunded ([`super::sales::refund`]).
pub async fn release_refunded(
    tx: &Tx,
    session_id: Uuid,
    seat_labels: &[String],
) -> Result<Vec<ChangedSeat>> {
    let freed = Changed::find_by_statement(sql(
        "UPDATE seats s SET status = 'available', reservation_id = NULL, version = s.version + 1
           FROM (SELECT session_id, label, reservation_id FROM seats
                  WHERE session_id = $1 AND label = ANY($2)
                  ORDER BY label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
            AND s.status = 'sold'
          RETURNING s.session_id, s.label, s.version, locked.reservation_id, s.block_reason",
        [session_id.into(), seat_labels.to_vec().into()],
    ))
    .all(tx)
    .await?;
    Ok(freed
        .into_iter()
        .map(|seat| seat.to(SeatStatus::Available))
        .collect())
}

/// The labels of a session's AVAILABLE seats now.
pub async fn available(db: &Db, session_id: Uuid) -> Result<Vec<String>> {
    use seat_states::Column;
    let rows = seat_states::Entity::find()
        .select_only()
        .column(Column::Label)
        .filter(Column::SessionId.eq(session_id))
        .filter(Column::Status.eq(entities::SeatStatus::Available))
        .into_tuple::<String>()
        .all(db)
        .await?;
    Ok(rows)
}

/// Every seat of a session as it is now, row by row from the screen, left
/// to right (none: no such session).
pub async fn map(db: &Db, session_id: Uuid) -> Result<Vec<Seat>> {
    use seat_states::Column;
    let rows = seat_states::Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .order_by_asc(Column::Y)
        .order_by_asc(Column::X)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Seat {
            label: row.label,
            row: row.row_letter,
            number: row.seat_number.unsigned_abs(),
            status: row.status.into(),
            version: row.version,
            kind: row.kind.into(),
            price_cents: row.price_cents,
            x: row.x.unsigned_abs(),
            y: row.y.unsigned_abs(),
            pair_label: row.pair_label,
            block_reason: row.block_reason,
            hold_expire_time: row.hold_expire_time,
        })
        .collect())
}

/// A seat row a statement changed.
#[derive(FromQueryResult)]
pub(super) struct Changed {
    session_id: Uuid,
    label: String,
    version: i64,
    reservation_id: Option<Uuid>,
    block_reason: Option<String>,
}

impl Changed {
    pub(super) fn to(self, status: SeatStatus) -> ChangedSeat {
        ChangedSeat {
            session_id: self.session_id,
            label: self.label,
            status,
            version: self.version,
            reservation_id: self.reservation_id,
            block_reason: self.block_reason,
            held_until: None,
        }
    }
}

/// One field of every seat as a PostgreSQL `text[]`.
fn column(seats: &[ReservedSeat], field: impl Fn(&ReservedSeat) -> String) -> Value {
    seats.iter().map(field).collect::<Vec<_>>().into()
}
