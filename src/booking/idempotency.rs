//! Safe retries: a request's `request_id` is kept in the same transaction as
//! the reservation or sale it produced, with the RPC and a fingerprint of
//! its arguments. A retry, even one racing the original, gets the first
//! answer back; the same `request_id` for a different request is refused.

use uuid::Uuid;

use crate::{
    domain::{Caller, Error, Result},
    store::{self, Db, Tx, idempotency::Key},
};

/// Which RPC a request id was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Reserve,
    ReserveBest,
    Extend,
    Confirm,
    Refund,
    CancelSession,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Reserve => "reserve_seats",
            Self::ReserveBest => "reserve_best_available",
            Self::Extend => "extend_reservation",
            Self::Refund => "refund_sale",
            Self::Confirm => "confirm_payment",
            Self::CancelSession => "cancel_session",
        }
    }
}

/// One request as its idempotency key sees it.
pub struct Request<'a> {
    pub caller: &'a Caller,
    pub request_id: Uuid,
    pub operation: Operation,
    /// The arguments that must match for a retry to be the same request.
    pub fingerprint: &'a str,
}

impl Request<'_> {
    /// The reservation or sale an earlier request with this id produced, if
    /// any; INVALID_ARGUMENT if that request was a different one.
    pub async fn replay(&self, db: &Db) -> Result<Option<Uuid>> {
        let key = self.key();
        match store::idempotency::recall(db, key.user_id, key.request_id).await? {
            None => Ok(None),
            Some(earlier)
                if earlier.operation == key.operation && earlier.fingerprint == key.fingerprint =>
            {
                Ok(Some(earlier.resource_id))
            }
            Some(_) => Err(Error::invalid(
                "request_id",
                "was already used for a different request",
            )),
        }
    }

    /// Records this request as having produced `resource_id`, in `tx`; false
    /// when a concurrent twin committed first (its answer is the one to give).
    pub async fn remember(&self, tx: &Tx, resource_id: Uuid) -> Result<bool> {
        store::idempotency::remember(tx, &self.key(), resource_id).await
    }

    /// The earlier answer after [`Self::remember`] lost the race to a twin.
    pub async fn twin(&self, db: &Db) -> Result<Uuid> {
        self.replay(db)
            .await?
            .ok_or_else(|| Error::Internal("an idempotency key vanished".into()))
    }

    fn key(&self) -> Key<'_> {
        Key {
            user_id: &self.caller.user_id,
            request_id: self.request_id,
            operation: self.operation.name(),
            fingerprint: self.fingerprint,
        }
    }
}
