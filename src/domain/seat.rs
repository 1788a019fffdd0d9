//! Seats and seat maps, as every read sees them: a hold counts only until
//! it ends, and every change bumps a seat's version so that watchers can
//! order changes that reach them out of order.

use uuid::Uuid;

use super::SeatLabel;

/// What a seat is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
}

/// One seat with its status and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub label: String,
    pub row: String,
    pub number: u32,
    pub status: SeatStatus,
    pub version: i64,
}

impl Seat {
    /// The seat of `label` with its new status and version; row and number
    /// come from the label (empty and 0 if it is not one).
    pub fn changed(label: &str, status: SeatStatus, version: i64) -> Self {
        let place = label.parse::<SeatLabel>().ok();
        Self {
            label: label.to_owned(),
            row: place.map(|p| p.row().to_string()).unwrap_or_default(),
            number: place.map_or(0, |p| p.number()),
            status,
            version,
        }
    }
}

/// Every seat of a session, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMap {
    pub session_id: Uuid,
    pub seats: Vec<Seat>,
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
}

/// Seats of one session that changed, as the live seat maps receive them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatsChanged {
    pub session_id: Uuid,
    pub seats: Vec<Seat>,
}

/// The seats of a watched map that changed, with the counts after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMapUpdate {
    pub session_id: Uuid,
    pub seats: Vec<Seat>,
    pub available: u32,
    pub held: u32,
    pub sold: u32,
}

/// What a watcher of a seat map is sent: a whole map first (and again
/// whenever it may have missed changes), then the changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatMapEvent {
    Snapshot(SeatMap),
    Update(SeatMapUpdate),
}
