//! Idempotency keys: a client's `request_id`, kept in the transaction that
//! produced its answer, so that a retry (even one racing the first call)
//! gets that answer back.

use sea_orm::{ActiveValue::Set, EntityTrait, TryInsertResult};
use uuid::Uuid;

use super::{Db, Tx, entities::idempotency_keys};
use crate::domain::Result;

/// A request remembered by its user and request id.
pub struct Key<'a> {
    pub user_id: &'a str,
    pub request_id: Uuid,
    /// Which RPC it was, and a fingerprint of its arguments.
    pub operation: &'a str,
    pub fingerprint: &'a str,
}

/// What an earlier request with the same key did.
pub struct Remembered {
    pub operation: String,
    pub fingerprint: String,
    /// The reservation or sale it produced.
    pub resource_id: Uuid,
}

/// Records `key` in the transaction; false when it is already taken (a
/// concurrent twin committed first, and its answer is the one to give).
pub async fn remember(tx: &Tx, key: &Key<'_>, resource_id: Uuid) -> Result<bool> {
    let row = idempotency_keys::ActiveModel {
        user_id: Set(key.user_id.to_owned()),
        request_id: Set(key.request_id),
        operation: Set(key.operation.to_owned()),
        fingerprint: Set(key.fingerprint.to_owned()),
        resource_id: Set(resource_id),
        ..Default::default()
    };
    let inserted = idempotency_keys::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(tx)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// What the request with this user and request id did, if it committed.
pub async fn recall(db: &Db, user_id: &str, request_id: Uuid) -> Result<Option<Remembered>> {
    let found = idempotency_keys::Entity::find_by_id((user_id.to_owned(), request_id))
        .one(db)
        .await?;
    Ok(found.map(|key| Remembered {
        operation: key.operation,
        fingerprint: key.fingerprint,
        resource_id: key.resource_id,
    }))
}
