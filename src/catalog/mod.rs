//! The programme: rooms and their layouts, publishing sessions, reading
//! and listing them, their seat maps as every read sees them, blocked
//! seats, and their sales figures.

mod blocks;
mod rooms;

use chrono::Utc;
use uuid::Uuid;

pub use blocks::{SeatSelection, block_seats, unblock_seats};
pub use rooms::{create_room, get_room, list_rooms};

use crate::{
    domain::{
        Error, NewSession, Result, SeatMap, Session, SessionSales,
        session::{self, SessionCursor},
    },
    store::{self, Db},
};

/// Checks a new session against every rule (reporting every problem at
/// once) and its room's layout, then publishes it with all its seats.
pub async fn create_session(db: &Db, new: NewSession) -> Result<Session> {
    let room = match new.room_id {
        Some(room_id) => Some(get_room(db, room_id).await?),
        None => None,
    };
    let valid = session::validate(new, room.as_ref(), Utc::now())?;
    let session_id = Uuid::now_v7();
    store::sessions::insert(db, session_id, valid).await?;
    get_session(db, session_id).await
}

/// One session, or NOT_FOUND.
pub async fn get_session(db: &Db, session_id: Uuid) -> Result<Session> {
    store::sessions::get(db, session_id)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))
}

/// Up to `limit` sessions after `cursor`, by start time then id.
pub async fn list_sessions(
    db: &Db,
    cursor: Option<SessionCursor>,
    limit: u64,
) -> Result<Vec<Session>> {
    store::sessions::list(db, cursor, limit).await
}

/// Every seat of a session as it is now, or NOT_FOUND.
pub async fn seat_map(db: &Db, session_id: Uuid) -> Result<SeatMap> {
    let seats = store::seats::map(db, session_id).await?;
    if seats.is_empty() {
        // Every session has at least 16 seats: no seats means no session.
        return Err(Error::not_found("session", session_id));
    }
    Ok(SeatMap { session_id, seats })
}

/// The sales figures of a session, as the events consumer has counted them,
/// or NOT_FOUND.
pub async fn session_sales(db: &Db, session_id: Uuid) -> Result<SessionSales> {
    store::sessions::sales(db, session_id)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))
}
