//! The programme: publishing sessions, reading and listing them, their seat
//! maps as every read sees them, and their sales figures.

use chrono::Utc;
use uuid::Uuid;

use crate::{
    domain::{
        Error, NewSession, Result, SeatMap, Session, SessionSales,
        session::{self, SessionCursor},
    },
    store::{self, Db},
};

/// Checks a new session against every rule (reporting every problem at
/// once), then publishes it with all its seats.
pub async fn create_session(db: &Db, new: NewSession) -> Result<Session> {
    let new = session::validate(new, Utc::now())?;
    let starts_at = new
        .starts_at
        .ok_or_else(|| Error::Internal("validated without starts_at".into()))?;
    let session_id = Uuid::now_v7();
    store::sessions::insert(db, session_id, new, starts_at).await?;
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
