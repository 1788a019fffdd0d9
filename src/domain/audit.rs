//! The audit trail: what an admin or staff member did, to what, and in which
//! call. An entry is written by the transaction of the action it describes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Caller;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    RoomCreated,
    MovieCreated,
    SessionCreated,
    SessionCancelled,
    SeatsBlocked,
    SeatsUnblocked,
    /// By an admin; a buyer's own refund is not audited.
    SaleRefunded,
    TicketAdmitted,
}

/// One action to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The user id of whoever acted.
    pub actor: String,
    /// The `x-request-id` of the call that acted.
    pub request_id: String,
    pub action: AuditAction,
    /// The id of the room, movie, session, sale or ticket acted on.
    pub target: String,
    /// The session the action concerns, if any.
    pub session_id: Option<Uuid>,
    /// A short description for people.
    pub detail: String,
}

impl AuditEntry {
    /// `caller` did `action` to `target`.
    pub fn new(caller: &Caller, action: AuditAction, target: impl ToString) -> Self {
        Self {
            actor: caller.user_id.clone(),
            request_id: caller.request_id.clone(),
            action,
            target: target.to_string(),
            session_id: None,
            detail: String::new(),
        }
    }

    /// The same entry, about `session_id`.
    pub fn in_session(self, session_id: Uuid) -> Self {
        Self {
            session_id: Some(session_id),
            ..self
        }
    }

    /// The same entry, described by `detail`.
    pub fn detail(self, detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            ..self
        }
    }
}

/// An entry as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub audit_record_id: Uuid,
    pub create_time: DateTime<Utc>,
    pub entry: AuditEntry,
}

/// Where a page of records ends: the id of its last record (ids are
/// UUIDv7, so they sort by time).
pub type AuditCursor = Uuid;
