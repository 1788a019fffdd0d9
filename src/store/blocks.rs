//! Blocked seats: taken out of sale and put back, each statement locking
//! its seats in label order like every other (see [`super::seats`]).

use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{
    Tx,
    entities::{SessionState, sessions},
    seats::{Changed, lock},
    sql,
};
use crate::domain::{ChangedSeat, Error, Result, Rule, SeatStatus, labels};

/// Blocks the named seats, all or none: locks them in label order and, if
/// every one is available or blocked already, blocks the available ones.
/// `Err` names the seats held or sold, by row then number.
pub async fn block(
    tx: &Tx,
    session_id: Uuid,
    seat_labels: &[String],
    reason: &str,
) -> Result<std::result::Result<Vec<ChangedSeat>, Vec<String>>> {
    let locked = lock(tx, session_id, seat_labels).await?;
    let taken: Vec<String> = locked
        .seats
        .iter()
        .filter(|s| matches!(s.status, SeatStatus::Held | SeatStatus::Sold))
        .map(|s| s.label.clone())
        .collect();
    if !taken.is_empty() {
        return Ok(Err(labels::sorted(&taken)));
    }
    let blocked = Changed::find_by_statement(sql(
        "UPDATE seats SET status = 'blocked', block_reason = $3, reservation_id = NULL,
                held_until = NULL, version = version + 1
          WHERE session_id = $1 AND label = ANY($2)
            AND (status = 'available' OR (status = 'held' AND held_until <= now()))
          RETURNING session_id, label, version, reservation_id, block_reason",
        [
            session_id.into(),
            seat_labels.to_vec().into(),
            reason.into(),
        ],
    ))
    .all(tx)
    .await?;
    Ok(Ok(blocked
        .into_iter()
        .map(|seat| seat.to(SeatStatus::Blocked))
        .collect()))
}

/// Puts the named seats that are blocked back on sale, locking them in
/// label order first; refused (SESSION_CANCELLED) in a cancelled session,
/// whose seats stay out of sale. The session row is share-locked first, so
/// a cancellation in flight is waited for.
pub async fn unblock(
    tx: &Tx,
    session_id: Uuid,
    seat_labels: &[String],
) -> Result<Vec<ChangedSeat>> {
    let cancelled = sessions::Entity::find_by_id(session_id)
        .filter(sessions::Column::State.eq(SessionState::Cancelled))
        .lock_shared()
        .one(tx)
        .await?;
    if cancelled.is_some() {
        return Err(Error::refused(Rule::SessionCancelled, session_id));
    }
    let unblocked = Changed::find_by_statement(sql(
        "UPDATE seats s SET status = 'available', block_reason = NULL, version = s.version + 1
           FROM (SELECT session_id, label FROM seats
                  WHERE session_id = $1 AND label = ANY($2)
                  ORDER BY label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
            AND s.status = 'blocked'
          RETURNING s.session_id, s.label, s.version, s.reservation_id, s.block_reason",
        [session_id.into(), seat_labels.to_vec().into()],
    ))
    .all(tx)
    .await?;
    Ok(unblocked
        .into_iter()
        .map(|seat| seat.to(SeatStatus::Available))
        .collect())
}

/// Takes every seat of a cancelled session out of sale, whatever its
/// status, locking them in label order; each changed seat names the
/// reservation that held or bought it. Seats blocked already keep their
/// reason.
pub async fn block_all(tx: &Tx, session_id: Uuid, reason: &str) -> Result<Vec<ChangedSeat>> {
    let blocked = Changed::find_by_statement(sql(
        "UPDATE seats s SET status = 'blocked', block_reason = $2, reservation_id = NULL,
                held_until = NULL, version = s.version + 1
           FROM (SELECT session_id, label, reservation_id FROM seats
                  WHERE session_id = $1
                  ORDER BY label FOR UPDATE) locked
          WHERE s.session_id = locked.session_id AND s.label = locked.label
            AND s.status <> 'blocked'
          RETURNING s.session_id, s.label, s.version, locked.reservation_id, s.block_reason",
        [session_id.into(), reason.into()],
    ))
    .all(tx)
    .await?;
    Ok(blocked
        .into_iter()
        .map(|seat| seat.to(SeatStatus::Blocked))
        .collect())
}
