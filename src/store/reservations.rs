//! Reservations: locking one to pay for it or cancel it, reading one as
//! every read sees it, recording how it ended, and finding due holds.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use uuid::Uuid;

use super::{
    Tx,
    entities::{
        ReservationStatus, reservation_seats, reservation_states, reservations, reserved_seats,
    },
    sql,
};
use crate::domain::{self, Reservation, Result, reservation::LockedReservation};

/// A reservation that ended unpaid (expired, or cancelled with its session).
pub struct Ended {
    pub reservation_id: Uuid,
    pub session_id: Uuid,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
}

/// A pending reservation ended by its session's cancellation: cancelled,
/// or expired if its hold had passed already; with its seats.
pub struct EndedHold {
    pub ended: Ended,
    pub expired: bool,
    /// By row then number.
    pub seat_labels: Vec<String>,
}

/// Ends every pending reservation of a session being cancelled: those whose
/// hold has passed as expired, the others as cancelled. With `skip_locked`,
/// passes over reservations another transaction has locked (one that will
/// find their seats out of sale).
pub async fn end_pending(tx: &Tx, session_id: Uuid, skip_locked: bool) -> Result<Vec<EndedHold>> {
    #[derive(FromQueryResult)]
    struct Row {
        reservation_id: Uuid,
        user_id: String,
        expires_at: DateTime<Utc>,
        expired: bool,
        seat_labels: Vec<String>,
    }
    let skip = if skip_locked { " SKIP LOCKED" } else { "" };
    // Raw: the status each row gets depends on the row, by the database clock.
    let rows = Row::find_by_statement(sql(
        &format!(
            "UPDATE reservations r
                SET status = CASE WHEN r.expires_at <= now() THEN 'expired' ELSE 'cancelled' END,
                    finish_time = now()
               FROM (SELECT reservation_id FROM reservations
                      WHERE session_id = $1 AND status = 'pending'
                      ORDER BY reservation_id FOR UPDATE{skip}) locked
              WHERE r.reservation_id = locked.reservation_id AND r.status = 'pending'
              RETURNING r.reservation_id, r.user_id, r.expires_at, r.status = 'expired' AS expired,
                        ARRAY(SELECT rs.label FROM reservation_seats rs
                               WHERE rs.reservation_id = r.reservation_id ORDER BY rs.label) AS seat_labels"
        ),
        [session_id.into()],
    ))
    .all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| EndedHold {
            ended: Ended {
                reservation_id: row.reservation_id,
                session_id,
                user_id: row.user_id,
                expires_at: row.expires_at,
            },
            expired: row.expired,
            seat_labels: crate::domain::labels::sorted(&row.seat_labels),
        })
        .collect())
}

/// A pending reservation whose hold has passed, found by [`lock_due`].
pub struct Due {
    pub reservation_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Locks a reservation row for the rest of the transaction (`None`: no such
/// reservation). Transactions that also change seats lock the reservation
/// first, then its seats.
pub async fn lock(tx: &Tx, reservation_id: Uuid) -> Result<Option<LockedReservation>> {
    use reservations::Column;
    #[derive(FromQueryResult)]
    struct Row {
        session_id: Uuid,
        user_id: String,
        status: ReservationStatus,
        lapsed: bool,
        total_price_cents: i64,
        currency: String,
        extensions_left: i32,
    }
    let row = reservations::Entity::find_by_id(reservation_id)
        .select_only()
        .columns([
            Column::SessionId,
            Column::UserId,
            Column::Status,
            Column::TotalPriceCents,
            Column::Currency,
            Column::ExtensionsLeft,
        ])
        // Lapsed by the database clock, like every other decision.
        .expr_as(
            Expr::col(Column::ExpiresAt).lte(Expr::current_timestamp()),
            "lapsed",
        )
        .lock_exclusive()
        .into_model::<Row>()
        .one(tx)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let seats = reservation_seats::Entity::find()
        .filter(reservation_seats::Column::ReservationId.eq(reservation_id))
        .all(tx)
        .await?;
    let mut seats: Vec<domain::ReservedSeat> = seats
        .into_iter()
        .map(|seat| domain::ReservedSeat {
            label: seat.label,
            kind: seat.kind.into(),
            ticket_type: seat.ticket_type.into(),
            price_cents: seat.price_cents,
        })
        .collect();
    domain::reservation::sort_seats(&mut seats);
    Ok(Some(LockedReservation {
        reservation_id,
        session_id: row.session_id,
        user_id: row.user_id,
        status: row.status.into(),
        lapsed: row.lapsed,
        total_price_cents: row.total_price_cents,
        currency: row.currency,
        extensions_left: row.extensions_left.unsigned_abs(),
        seats,
    }))
}

/// The new end of an extended hold, and how many extensions are left.
pub struct Extended {
    pub expires_at: DateTime<Utc>,
    pub extensions_left: u32,
}

/// Extends a pending, unlapsed reservation that has extensions left: its
/// hold ends `hold` from now, never earlier than it did. `None` when it
/// cannot be extended. The reservation must be locked ([`lock`]); raw SQL
/// because the builder cannot say GREATEST over an interval.
pub async fn extend(tx: &Tx, reservation_id: Uuid, hold: Duration) -> Result<Option<Extended>> {
    #[derive(FromQueryResult)]
    struct Row {
        expires_at: DateTime<Utc>,
        extensions_left: i32,
    }
    let row = Row::find_by_statement(sql(
        "UPDATE reservations
            SET expires_at = GREATEST(expires_at, now() + $2 * interval '1 millisecond'),
                extensions_left = extensions_left - 1
          WHERE reservation_id = $1 AND status = 'pending' AND expires_at > now()
            AND extensions_left > 0
          RETURNING expires_at, extensions_left",
        [reservation_id.into(), (hold.as_millis() as i64).into()],
    ))
    .one(tx)
    .await?;
    Ok(row.map(|row| Extended {
        expires_at: row.expires_at,
        extensions_left: row.extensions_left.unsigned_abs(),
    }))
}

/// A reservation as every read sees it.
pub async fn read(db: &impl ConnectionTrait, reservation_id: Uuid) -> Result<Option<Reservation>> {
    let found = reservation_states::Entity::find_by_id(reservation_id)
        .one(db)
        .await?;
    Ok(found.map(|r| Reservation {
        reservation_id: r.reservation_id,
        session_id: r.session_id,
        user_id: r.user_id,
        seats: reserved_seats(
            r.seat_labels,
            &r.seat_kinds,
            &r.ticket_types,
            &r.seat_prices,
        ),
        extensions_left: r.extensions_left.unsigned_abs(),
        status: r.status.into(),
        expires_at: r.expires_at,
        create_time: r.create_time,
        total_price_cents: r.total_price_cents,
        currency: r.currency,
    }))
}

/// Records that a pending reservation was paid or cancelled.
pub async fn finish(
    tx: &Tx,
    reservation_id: Uuid,
    status: domain::ReservationStatus,
) -> Result<()> {
    use reservations::Column;
    reservations::Entity::update_many()
        .col_expr(Column::Status, Expr::value(ReservationStatus::from(status)))
        .col_expr(Column::FinishTime, Expr::current_timestamp())
        .filter(Column::ReservationId.eq(reservation_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// Records as expired those of these reservations that are still pending
/// and whose hold has passed.
pub async fn expire(tx: &Tx, reservation_ids: &[Uuid]) -> Result<Vec<Ended>> {
    use reservations::Column;
    if reservation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let expired = reservations::Entity::update_many()
        .col_expr(Column::Status, Expr::value(ReservationStatus::Expired))
        .col_expr(Column::FinishTime, Expr::current_timestamp())
        .filter(Column::ReservationId.is_in(reservation_ids.iter().copied()))
        .filter(Column::Status.eq(ReservationStatus::Pending))
        .filter(Expr::col(Column::ExpiresAt).lte(Expr::current_timestamp()))
        .exec_with_returning(tx)
        .await?;
    Ok(expired
        .into_iter()
        .map(|r| Ended {
            reservation_id: r.reservation_id,
            session_id: r.session_id,
            user_id: r.user_id,
            expires_at: r.expires_at,
        })
        .collect())
}

/// Locks up to `limit` pending reservations whose hold has passed, oldest
/// first, skipping those another instance's sweeper has locked.
pub async fn lock_due(tx: &Tx, limit: u64) -> Result<Vec<Due>> {
    use reservations::Column;
    let due = reservations::Entity::find()
        .filter(Column::Status.eq(ReservationStatus::Pending))
        .filter(Expr::col(Column::ExpiresAt).lte(Expr::current_timestamp()))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(tx)
        .await?;
    Ok(due
        .into_iter()
        .map(|r| Due {
            reservation_id: r.reservation_id,
            expires_at: r.expires_at,
        })
        .collect())
}

/// Locks those of these reservations that are pending and whose hold has
/// passed, in id order, and returns their ids: a hold that found them still
/// holding its seats expires them first. The lock is the one their update
/// takes anyway (`FOR NO KEY UPDATE`).
pub async fn lock_lapsed(tx: &Tx, reservation_ids: &[Uuid]) -> Result<Vec<Uuid>> {
    use reservations::Column;
    Ok(reservations::Entity::find()
        .select_only()
        .column(Column::ReservationId)
        .filter(Column::ReservationId.is_in(reservation_ids.iter().copied()))
        .filter(Column::Status.eq(ReservationStatus::Pending))
        .filter(Expr::col(Column::ExpiresAt).lte(Expr::current_timestamp()))
        .order_by_asc(Column::ReservationId)
        .lock(LockType::NoKeyUpdate)
        .into_tuple::<Uuid>()
        .all(tx)
        .await?)
}
