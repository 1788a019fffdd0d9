//! The audit trail: an entry inserted by the transaction of the action it
//! records, and the records read back in id (so time) order.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{Db, Tx, entities::audit_records};
use crate::domain::{AuditEntry, AuditRecord, Result, audit::AuditCursor};

/// Records `entry` in `tx`, the transaction of the action itself: it is kept
/// exactly when the action commits.
pub async fn record(tx: &Tx, entry: &AuditEntry) -> Result<()> {
    Ok(insert(tx, entry).await?)
}

/// [`record`], for a caller that reads the database's own error.
pub(super) async fn insert(tx: &Tx, entry: &AuditEntry) -> Result<(), DbErr> {
    let row = audit_records::ActiveModel {
        audit_record_id: Set(Uuid::now_v7()),
        // The database clock, as every other time of the action.
        create_time: NotSet,
        actor: Set(entry.actor.clone()),
        request_id: Set(entry.request_id.clone()),
        action: Set(entry.action.into()),
        target: Set(entry.target.clone()),
        session_id: Set(entry.session_id),
        detail: Set(entry.detail.clone()),
    };
    audit_records::Entity::insert(row)
        .exec_without_returning(tx)
        .await
        .map(drop)
}

/// Up to `limit` records after `cursor`, oldest first, only those of
/// `session_id` if given.
pub async fn list(
    db: &Db,
    session_id: Option<Uuid>,
    cursor: Option<AuditCursor>,
    limit: u64,
) -> Result<Vec<AuditRecord>> {
    use audit_records::Column;
    let mut query = audit_records::Entity::find()
        .order_by_asc(Column::AuditRecordId)
        .limit(limit);
    if let Some(session_id) = session_id {
        query = query.filter(Column::SessionId.eq(session_id));
    }
    if let Some(after) = cursor {
        query = query.filter(Column::AuditRecordId.gt(after));
    }
    let rows = query.all(db).await?;
    Ok(rows.into_iter().map(AuditRecord::from).collect())
}

impl From<audit_records::Model> for AuditRecord {
    fn from(row: audit_records::Model) -> Self {
        Self {
            audit_record_id: row.audit_record_id,
            create_time: row.create_time,
            entry: AuditEntry {
                actor: row.actor,
                request_id: row.request_id,
                action: row.action.into(),
                target: row.target,
                session_id: row.session_id,
                detail: row.detail,
            },
        }
    }
}
