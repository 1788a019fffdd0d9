//! The programme: rooms and their layouts, movies, publishing sessions
//! (never two at once in a room), reading and listing them, their seat maps
//! as every read sees them, blocked seats, and their sales figures.

mod blocks;
mod movies;
mod rooms;

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

pub use blocks::{SeatSelection, block_seats, unblock_seats};
pub use movies::{create_movie, get_movie, list_movies};
pub use rooms::{create_room, get_room, list_rooms};

use crate::{
    domain::{
        AuditAction, AuditEntry, Caller, Error, NewSession, Result, SeatMap, Session,
        SessionFilter, SessionSales, SessionState,
        session::{self, Context, SessionCursor},
    },
    store::{self, Db},
};

/// Checks a new session against every rule (reporting every problem at
/// once), its room's layout and its movie, then publishes it with all its
/// seats, audited. `turnaround` is how long its room needs after the movie.
pub async fn create_session(
    db: &Db,
    caller: &Caller,
    new: NewSession,
    turnaround: Duration,
) -> Result<Session> {
    let room = match new.room_id {
        Some(room_id) => Some(get_room(db, room_id).await?),
        None => None,
    };
    let movie = match new.movie_id {
        Some(movie_id) => Some(get_movie(db, movie_id).await?),
        None => None,
    };
    let context = Context {
        room: room.as_ref(),
        movie: movie.as_ref(),
        turnaround,
        now: Utc::now(),
    };
    let valid = session::validate(new, context)?;
    let session_id = Uuid::now_v7();
    let audit = AuditEntry::new(caller, AuditAction::SessionCreated, session_id)
        .in_session(session_id)
        .detail(format!(
            "{} in {} at {}",
            valid.movie_title,
            valid.room,
            valid.starts_at.to_rfc3339()
        ));
    store::sessions::insert(db, session_id, &valid, &audit).await?;
    get_session(db, session_id).await
}

/// One session, or NOT_FOUND.
pub async fn get_session(db: &Db, session_id: Uuid) -> Result<Session> {
    store::sessions::get(db, session_id)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))
}

/// Up to `limit` sessions that pass `filter` after `cursor`, by start time
/// then id.
pub async fn list_sessions(
    db: &Db,
    filter: &SessionFilter,
    cursor: Option<SessionCursor>,
    limit: u64,
) -> Result<Vec<Session>> {
    store::sessions::list(db, filter, cursor, limit).await
}

/// Every seat of a session as it is now, or NOT_FOUND.
pub async fn seat_map(db: &Db, session_id: Uuid) -> Result<SeatMap> {
    let state = store::sessions::state(db, session_id)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))?;
    let seats = store::seats::map(db, session_id).await?;
    Ok(SeatMap {
        session_id,
        seats,
        cancelled: state == SessionState::Cancelled,
    })
}

/// The sales figures of a session, as the events consumer has counted them,
/// or NOT_FOUND.
pub async fn session_sales(db: &Db, session_id: Uuid) -> Result<SessionSales> {
    store::sessions::sales(db, session_id)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))
}
