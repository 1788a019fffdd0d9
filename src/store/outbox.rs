//! The `outbox` table: events inserted by the transaction that caused them,
//! claimed by a relay with `SKIP LOCKED` (so relays on several instances
//! share the work), marked once JetStream has them, pruned later.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
    sqlx::postgres::PgListener,
};
use uuid::Uuid;

use super::{Db, Tx, entities::outbox};
use crate::domain::{Error, Result};

/// The PostgreSQL channel the outbox trigger notifies on every insert.
const CHANNEL: &str = "cinema_outbox";

/// An event to insert: its id, type (such as `payment.confirmed`) and payload.
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: &'static str,
    pub payload: Vec<u8>,
}

/// An event waiting to be published.
pub struct Pending {
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: Vec<u8>,
}

/// Inserts the events of one transaction, in order, in one statement.
pub async fn insert(tx: &Tx, events: Vec<NewEvent>) -> Result<()> {
    let rows = events.into_iter().map(|event| outbox::ActiveModel {
        event_id: Set(event.event_id),
        subject: Set(event.event_type.to_owned()),
        payload: Set(event.payload),
        ..Default::default()
    });
    outbox::Entity::insert_many(rows)
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// Locks the oldest `limit` unpublished events that no other relay holds.
pub async fn claim(tx: &Tx, limit: u64) -> Result<Vec<Pending>> {
    use outbox::Column;
    let rows = outbox::Entity::find()
        .filter(Column::PublishedTime.is_null())
        .order_by_asc(Column::Seq)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Pending {
            seq: row.seq,
            event_id: row.event_id,
            event_type: row.subject,
            payload: row.payload,
        })
        .collect())
}

/// Marks claimed events as published.
pub async fn mark_published(tx: &Tx, seqs: &[i64]) -> Result<()> {
    use outbox::Column;
    outbox::Entity::update_many()
        .col_expr(Column::PublishedTime, Expr::current_timestamp())
        .filter(Column::Seq.is_in(seqs.iter().copied()))
        .exec(tx)
        .await?;
    Ok(())
}

/// Deletes events published more than `retention` ago; returns how many.
pub async fn prune(db: &Db, retention: Duration) -> Result<u64> {
    let retention = chrono::Duration::from_std(retention)
        .map_err(|err| Error::Internal(format!("outbox retention: {err}")))?;
    let deleted = outbox::Entity::delete_many()
        .filter(outbox::Column::PublishedTime.lt(Utc::now() - retention))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// How many events wait to be published, and how long the oldest has waited.
pub async fn backlog(db: &Db) -> Result<(u64, Duration)> {
    use outbox::Column;
    #[derive(FromQueryResult)]
    struct Backlog {
        events: i64,
        oldest: Option<DateTime<Utc>>,
    }
    let backlog = outbox::Entity::find()
        .select_only()
        .expr_as(Expr::col(Column::Seq).count(), "events")
        .expr_as(Expr::col(Column::OccurTime).min(), "oldest")
        .filter(Column::PublishedTime.is_null())
        .into_model::<Backlog>()
        .one(db)
        .await?
        .ok_or_else(|| Error::Internal("an aggregate returned no row".into()))?;
    let age = backlog
        .oldest
        .and_then(|oldest| (Utc::now() - oldest).to_std().ok())
        .unwrap_or_default();
    Ok((u64::try_from(backlog.events).unwrap_or(0), age))
}

/// Calls `on_commit` on every NOTIFY of the outbox trigger (commits of any
/// instance), forever; reconnects by itself after PostgreSQL restarts.
pub async fn listen(db: Db, on_commit: impl Fn()) {
    loop {
        let listened: std::result::Result<std::convert::Infallible, sea_orm::sqlx::Error> = async {
            let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
            listener.listen(CHANNEL).await?;
            loop {
                listener.recv().await?;
                on_commit();
            }
        }
        .await;
        let Err(err) = listened;
        tracing::debug!(error = %err, "outbox listener lost its connection; reconnecting");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
