//! Seats and seat maps, as every read sees them: a hold counts only until
//! it ends, and every change bumps a seat's version so that watchers can
//! order changes that reach them out of order.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SeatKind;

/// What a seat is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
    /// Out of sale until an admin unblocks it.
    Blocked,
}

/// One seat with its place, kind, price, status and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub label: String,
    pub row: String,
    pub number: u32,
    pub status: SeatStatus,
    pub version: i64,
    pub kind: SeatKind,
    /// FULL price.
    pub price_cents: i64,
    /// Column counting gaps, from 0 at the left.
    pub x: u32,
    /// Row from 0 at the screen.
    pub y: u32,
    /// The other half of a couple seat.
    pub pair_label: Option<String>,
    /// Why it is blocked, while it is.
    pub block_reason: Option<String>,
    /// When its hold ends, while it is held.
    pub hold_expire_time: Option<DateTime<Utc>>,
}

impl Seat {
    /// This seat after `change`.
    pub fn with(&self, change: &SeatChange) -> Self {
        Self {
            status: change.status,
            version: change.version,
            block_reason: change.block_reason.clone(),
            hold_expire_time: change.held_until,
            ..self.clone()
        }
    }
}

/// What a change of one seat says: its new status and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatChange {
    pub label: String,
    pub status: SeatStatus,
    pub version: i64,
    pub block_reason: Option<String>,
    pub held_until: Option<DateTime<Utc>>,
}

/// Every seat of a session, row by row from the screen, left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMap {
    pub session_id: Uuid,
    pub seats: Vec<Seat>,
    /// The session was cancelled: this map is its last.
    pub cancelled: bool,
}

impl SeatMap {
    pub fn count(&self, status: SeatStatus) -> u32 {
        self.seats.iter().filter(|s| s.status == status).count() as u32
    }
}

/// A seat that a transaction changed, with the reservation it named before
/// the change (the one that held it, for a freed seat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedSeat {
    pub session_id: Uuid,
    pub label: String,
    pub status: SeatStatus,
    pub version: i64,
    pub reservation_id: Option<Uuid>,
    pub block_reason: Option<String>,
    /// When the hold ends, for a seat now held.
    pub held_until: Option<DateTime<Utc>>,
}

/// Seats of one session that changed, as the live seat maps receive them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatsChanged {
    pub session_id: Uuid,
    pub seats: Vec<SeatChange>,
    /// The last change of a cancelled session.
    pub session_cancelled: bool,
}

/// The seats of a watched map that changed, with the counts after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMapUpdate {
    pub session_id: Uuid,
    pub seats: Vec<Seat>,
    pub available: u32,
    pub held: u32,
    pub sold: u32,
    pub blocked: u32,
}

/// What a watcher of a seat map is sent: a whole map first (and again
/// whenever it may have missed changes), then the changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatMapEvent {
    Snapshot(SeatMap),
    Update(SeatMapUpdate),
}

const MAX_BLOCK_REASON_CHARS: usize = 200;

/// Why seats are blocked or unblocked, or a sale refunded: up to 200
/// characters, stored trimmed.
pub fn parse_reason(reason: &str) -> super::Result<String> {
    let reason = reason.trim();
    if !super::text::fits(reason, MAX_BLOCK_REASON_CHARS) {
        return Err(super::Error::invalid(
            "reason",
            "must be at most 200 characters, with no NUL character",
        ));
    }
    Ok(reason.to_owned())
}
