//! Sales figures per session, kept by the sales-figures consumer: each event
//! is counted in one transaction with the record of its id, so a redelivery
//! changes nothing.

use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait, TryInsertResult,
};
use uuid::Uuid;

use super::{
    Db,
    entities::{self, processed_events, session_sales},
    sql,
};
use crate::domain::{Result, figures::KindSales};

/// One event's change to the figures of its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub event_id: Uuid,
    pub session_id: Uuid,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
    pub holds_expired: i64,
    pub tickets_admitted: i64,
    pub tickets_refunded: i64,
    pub refunded_cents: i64,
    /// The tickets and revenue split by seat kind and ticket type.
    pub by_kind: Vec<KindSales>,
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

/// Forgets the ids of events processed longer than `max_age` ago: the
/// stream keeps no event that long, so none of them can come again.
pub async fn prune_processed(db: &Db, max_age: std::time::Duration) -> Result<u64> {
    let max_age = chrono::Duration::from_std(max_age)
        .map_err(|err| crate::domain::Error::Internal(format!("events max age: {err}")))?;
    let deleted = processed_events::Entity::delete_many()
        .filter(processed_events::Column::ProcessTime.lt(chrono::Utc::now() - max_age))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
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
            "INSERT INTO session_sales (session_id, tickets_sold, revenue_cents, holds_expired,
                                        tickets_admitted, tickets_refunded, refunded_cents)
             SELECT session_id, $2, $3, $4, $5, $6, $7 FROM sessions WHERE session_id = $1
             ON CONFLICT (session_id) DO UPDATE SET
                 tickets_sold     = session_sales.tickets_sold + EXCLUDED.tickets_sold,
                 revenue_cents    = session_sales.revenue_cents + EXCLUDED.revenue_cents,
                 holds_expired    = session_sales.holds_expired + EXCLUDED.holds_expired,
                 tickets_admitted = session_sales.tickets_admitted + EXCLUDED.tickets_admitted,
                 tickets_refunded = session_sales.tickets_refunded + EXCLUDED.tickets_refunded,
                 refunded_cents   = session_sales.refunded_cents + EXCLUDED.refunded_cents,
                 update_time      = now()",
            [
                change.session_id.into(),
                change.tickets_sold.into(),
                change.revenue_cents.into(),
                change.holds_expired.into(),
                change.tickets_admitted.into(),
                change.tickets_refunded.into(),
                change.refunded_cents.into(),
            ],
        ))
        .await?
        .rows_affected();
    if counted == 0 {
        txn.rollback().await?;
        return Ok(Recorded::UnknownSession);
    }
    if !change.by_kind.is_empty() {
        txn.execute_raw(by_kind_upsert(change)).await?;
    }
    txn.commit().await?;
    Ok(Recorded::Counted)
}

/// Adds the change's split by kind and ticket type to the running totals,
/// in one statement.
fn by_kind_upsert(change: &Change) -> sea_orm::Statement {
    let column = |field: fn(&KindSales) -> String| -> sea_orm::Value {
        change.by_kind.iter().map(field).collect::<Vec<_>>().into()
    };
    let numbers = |field: fn(&KindSales) -> i64| -> sea_orm::Value {
        change.by_kind.iter().map(field).collect::<Vec<_>>().into()
    };
    sql(
        "INSERT INTO session_sales_by_kind (session_id, kind, ticket_type, tickets_sold, revenue_cents)
         SELECT $1, kind, ticket_type, tickets, revenue
           FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[])
                AS k (kind, ticket_type, tickets, revenue)
         ON CONFLICT (session_id, kind, ticket_type) DO UPDATE SET
             tickets_sold  = session_sales_by_kind.tickets_sold + EXCLUDED.tickets_sold,
             revenue_cents = session_sales_by_kind.revenue_cents + EXCLUDED.revenue_cents",
        [
            change.session_id.into(),
            column(|k| entities::SeatKind::from(k.kind).to_value()),
            column(|k| entities::TicketType::from(k.ticket_type).to_value()),
            numbers(|k| k.tickets_sold),
            numbers(|k| k.revenue_cents),
        ],
    )
}
