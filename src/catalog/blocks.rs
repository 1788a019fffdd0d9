//! Blocked seats: an admin takes seats out of sale (a broken seat, a camera
//! position) and puts them back. Each change is one transaction that locks
//! the seats in label order like every other, writes `seats.changed` so
//! watchers see it, and records who did it in the audit trail.

use uuid::Uuid;

use super::seat_map;
use crate::{
    domain::{AuditAction, AuditEntry, Caller, Error, Result, SeatLabel, SeatMap},
    events::{Outbox, Signal},
    store::{self, Db},
};

/// Seats one BlockSeats or UnblockSeats names, checked one by one.
pub struct SeatSelection {
    pub session_id: Uuid,
    /// As the client sent them, to name a bad one by its index.
    pub requested: Vec<String>,
    /// Parsed, sorted by row then number.
    pub seats: Vec<SeatLabel>,
    pub reason: String,
}

impl SeatSelection {
    fn labels(&self) -> Vec<String> {
        self.seats.iter().map(ToString::to_string).collect()
    }

    /// The audit entry of `caller` doing `action` to these seats.
    fn audit(&self, caller: &Caller, action: AuditAction) -> AuditEntry {
        let mut detail = format!("seats {}", self.labels().join(" "));
        if !self.reason.is_empty() {
            detail = format!("{detail}; reason: {}", self.reason);
        }
        AuditEntry::new(caller, action, self.session_id)
            .in_session(self.session_id)
            .detail(detail)
    }
}

/// Blocks every named seat, or none when one is held or sold
/// (SEAT_UNAVAILABLE naming each); returns the seat map after.
pub async fn block_seats(
    db: &Db,
    events: &Signal,
    caller: &Caller,
    selection: SeatSelection,
) -> Result<SeatMap> {
    check_seats(db, &selection).await?;
    let session_id = selection.session_id;
    let tx = store::begin(db).await?;
    let blocked = match store::blocks::block(
        &tx,
        session_id,
        &selection.labels(),
        &selection.reason,
    )
    .await?
    {
        Ok(blocked) => blocked,
        Err(taken) => {
            tx.rollback().await?;
            return Err(Error::SeatsUnavailable(taken));
        }
    };
    let mut outbox = Outbox::default();
    outbox.seats_changed(session_id, &blocked);
    outbox.write(&tx).await?;
    let audit = selection.audit(caller, AuditAction::SeatsBlocked);
    store::audit::record(&tx, &audit).await?;
    tx.commit().await?;
    events.notify();
    tracing::info!(blocked = blocked.len(), reason = %selection.reason, "seats blocked");
    seat_map(db, session_id).await
}

/// Puts every named seat that is blocked back on sale; returns the seat map after.
pub async fn unblock_seats(
    db: &Db,
    events: &Signal,
    caller: &Caller,
    selection: SeatSelection,
) -> Result<SeatMap> {
    check_seats(db, &selection).await?;
    let session_id = selection.session_id;
    let tx = store::begin(db).await?;
    let unblocked = store::blocks::unblock(&tx, session_id, &selection.labels()).await?;
    let mut outbox = Outbox::default();
    outbox.seats_changed(session_id, &unblocked);
    outbox.write(&tx).await?;
    let audit = selection.audit(caller, AuditAction::SeatsUnblocked);
    store::audit::record(&tx, &audit).await?;
    tx.commit().await?;
    events.notify();
    tracing::info!(unblocked = unblocked.len(), reason = %selection.reason, "seats unblocked");
    seat_map(db, session_id).await
}

/// NOT_FOUND for an unknown session; INVALID_ARGUMENT naming every seat it
/// does not have.
async fn check_seats(db: &Db, selection: &SeatSelection) -> Result<()> {
    let terms = store::sessions::terms(db, selection.session_id)
        .await?
        .ok_or_else(|| Error::not_found("session", selection.session_id))?;
    terms
        .check_seats(&selection.requested)
        .map_err(Error::InvalidArgument)
}
