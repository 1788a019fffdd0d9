//! Sales figures per session, kept by the sales-figures consumer: each event
//! is counted in one transaction with the record of its id, so a redelivery
//! changes nothing.

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, QuerySelect, TransactionTrait, TryInsertResult,
};
use uuid::Uuid;

use super::{
    Db,
    entities::{processed_events, session_sales},
    sql,
};
use crate::domain::Result;

/// One event's change to the figures of its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub event_id: Uuid,
    pub session_id: Uuid,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
    pub holds_expired: i64,
}

/// What became of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Added to the figures.
    Counted,
    /// Its event id was counted before: nothing changed.
    Duplicate,
    /// The session does not exist: nothing changed.
    UnknownSession,
}

/// Fails unless the figures' tables exist (migration 0002): without them
/// every event would fail and end as a dead letter.
pub async fn check_tables(db: &Db) -> Result<()> {
    session_sales::Entity::find().limit(0).all(db).await?;
    processed_events::Entity::find().limit(0).all(db).await?;
    Ok(())
}

/// Adds `change` to its session's figures, once per event id for `consumer`.
pub async fn record(db: &Db, consumer: &str, change: &Change) -> Result<Recorded> {
    let txn = db.begin().await?;
    let processed = processed_events::ActiveModel {
        consumer: Set(consumer.to_owned()),
        event_id: Set(change.event_id),
        ..Default::default()
    };
    let first_time = processed_events::Entity::insert(processed)
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await?;
    if !matches!(first_time, TryInsertResult::Inserted(1)) {
        txn.rollback().await?;
        return Ok(Recorded::Duplicate);
    }
    // Raw: an upsert that adds to the running totals. Selecting from
    // sessions turns an unknown session into "no row" rather than an error.
    let counted = txn
        .execute_raw(sql(
            "INSERT INTO session_sales (session_id, tickets_sold, revenue_cents, holds_expired)
             SELECT session_id, $2, $3, $4 FROM sessions WHERE session_id = $1
             ON CONFLICT (session_id) DO UPDATE SET
                 tickets_sold  = session_sales.tickets_sold + EXCLUDED.tickets_sold,
                 revenue_cents = session_sales.revenue_cents + EXCLUDED.revenue_cents,
                 holds_expired = session_sales.holds_expired + EXCLUDED.holds_expired,
                 update_time   = now()",
            [
                change.session_id.into(),
                change.tickets_sold.into(),
                change.revenue_cents.into(),
                change.holds_expired.into(),
            ],
        ))
        .await?
        .rows_affected();
    if counted == 0 {
        txn.rollback().await?;
        return Ok(Recorded::UnknownSession);
    }
    txn.commit().await?;
    Ok(Recorded::Counted)
}
