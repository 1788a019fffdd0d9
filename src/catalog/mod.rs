//! Sessions and their seat maps: publishing a session, reading it, listing
//! sessions, and the seat map as every read sees it (`seat_states`, where a
//! hold counts only until it ends).

pub mod layout;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    TransactionTrait,
};
use uuid::Uuid;

use crate::{
    error::{Error, FieldViolation, Result},
    store::{
        self,
        entities::{seats, sessions},
    },
};
use layout::{MAX_ROWS, MAX_SEATS_PER_ROW, MIN_SEATS};

const MAX_TITLE_CHARS: usize = 200;
const MAX_ROOM_CHARS: usize = 100;
const MAX_PRICE_CENTS: i64 = 100_000_000;
const DEFAULT_CURRENCY: &str = "BRL";

/// A request to publish a session, as the client sent it.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub movie_title: String,
    pub room: String,
    /// `None` when the client sent no (or an unrepresentable) time.
    pub starts_at: Option<DateTime<Utc>>,
    pub price_cents: i64,
    pub currency: String,
    pub rows: u32,
    pub seats_per_row: u32,
}

/// A published session with its current number of available seats.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Session {
    pub session_id: Uuid,
    pub movie_title: String,
    pub room: String,
    pub starts_at: DateTime<Utc>,
    pub price_cents: i64,
    pub currency: String,
    pub seat_rows: i32,
    pub seats_per_row: i32,
    pub create_time: DateTime<Utc>,
    pub available_seats: i64,
}

impl Session {
    pub fn total_seats(&self) -> u32 {
        (self.seat_rows * self.seats_per_row).unsigned_abs()
    }
}

/// What a seat is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatStatus {
    Available,
    Held,
    Sold,
}

impl SeatStatus {
    fn from_db(status: &str) -> Result<Self> {
        match status {
            "available" => Ok(Self::Available),
            "held" => Ok(Self::Held),
            "sold" => Ok(Self::Sold),
            other => Err(Error::Internal(format!(
                "unknown seat status {other:?} in the database"
            ))),
        }
    }
}

/// One seat as every read sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub label: String,
    pub row: String,
    pub number: u32,
    pub status: SeatStatus,
    pub version: i64,
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

/// Where a page of sessions starts: after this (starts_at, session_id).
pub type SessionCursor = (DateTime<Utc>, Uuid);

/// Checks a new session against every rule, reporting every problem at once,
/// and fills in defaults. `now` is the moment the request is judged at.
pub fn validate(mut new: NewSession, now: DateTime<Utc>) -> Result<NewSession> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, field: &str, description: &str| {
        if !ok {
            problems.push(FieldViolation::new(field, description));
        }
    };
    let title_len = new.movie_title.chars().count();
    // PostgreSQL text cannot hold a NUL character.
    check(
        !new.movie_title.trim().is_empty()
            && title_len <= MAX_TITLE_CHARS
            && !new.movie_title.contains('\0'),
        "movie_title",
        "must be 1 to 200 characters, not blank, with no NUL character",
    );
    let room_len = new.room.chars().count();
    check(
        !new.room.trim().is_empty() && room_len <= MAX_ROOM_CHARS && !new.room.contains('\0'),
        "room",
        "must be 1 to 100 characters, not blank, with no NUL character",
    );
    match new.starts_at {
        None => check(false, "starts_at", "is required"),
        Some(at) => check(at > now, "starts_at", "must be in the future"),
    }
    check(
        (1..=MAX_PRICE_CENTS).contains(&new.price_cents),
        "price_cents",
        "must be greater than 0 and at most 100000000",
    );
    if new.currency.is_empty() {
        new.currency = DEFAULT_CURRENCY.to_owned();
    }
    new.currency = new.currency.to_ascii_uppercase();
    check(
        new.currency.len() == 3 && new.currency.bytes().all(|b| b.is_ascii_uppercase()),
        "currency",
        "must be an ISO 4217 code of three letters, such as BRL",
    );
    let rows_ok = (1..=MAX_ROWS).contains(&new.rows);
    check(rows_ok, "rows", "must be from 1 to 26");
    let per_row_ok = (1..=MAX_SEATS_PER_ROW).contains(&new.seats_per_row);
    check(per_row_ok, "seats_per_row", "must be from 1 to 50");
    if rows_ok && per_row_ok {
        check(
            new.rows * new.seats_per_row >= MIN_SEATS,
            "seats_per_row",
            "rows x seats_per_row must be at least 16 seats",
        );
    }
    if problems.is_empty() {
        Ok(new)
    } else {
        Err(Error::InvalidArgument(problems))
    }
}

/// Publishes a validated session and all its seats, in one transaction.
pub async fn create_session(db: &DatabaseConnection, new: NewSession) -> Result<Session> {
    let new = validate(new, Utc::now())?;
    let starts_at = new
        .starts_at
        .ok_or_else(|| Error::Internal("validated without starts_at".into()))?;
    let session_id = Uuid::now_v7();
    let session = sessions::ActiveModel {
        session_id: Set(session_id),
        movie_title: Set(new.movie_title),
        room: Set(new.room),
        starts_at: Set(starts_at),
        price_cents: Set(new.price_cents),
        currency: Set(new.currency),
        seat_rows: Set(new.rows as i32),
        seats_per_row: Set(new.seats_per_row as i32),
        create_time: Set(Utc::now()),
    };
    let seats = layout::seat_labels(new.rows, new.seats_per_row).map(|label| seats::ActiveModel {
        session_id: Set(session_id),
        label: Set(label.to_string()),
        row_letter: Set(label.row().to_string()),
        seat_number: Set(label.number() as i32),
        ..Default::default()
    });
    let txn = db.begin().await?;
    sessions::Entity::insert(session).exec(&txn).await?;
    seats::Entity::insert_many(seats).exec(&txn).await?;
    txn.commit().await?;
    get_session(db, session_id).await
}

const SESSION_COLUMNS: &str = "s.session_id, s.movie_title, s.room, s.starts_at, s.price_cents,
    s.currency, s.seat_rows, s.seats_per_row, s.create_time,
    (SELECT count(*) FROM seat_states v
      WHERE v.session_id = s.session_id AND v.status = 'available') AS available_seats";

/// One session, or NOT_FOUND.
pub async fn get_session(db: &impl ConnectionTrait, session_id: Uuid) -> Result<Session> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.session_id = $1");
    Session::find_by_statement(store::sql(sql, [session_id.into()]))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))
}

/// Up to `limit` sessions after `cursor`, by start time then id.
pub async fn list_sessions(
    db: &DatabaseConnection,
    cursor: Option<SessionCursor>,
    limit: u64,
) -> Result<Vec<Session>> {
    let (after_time, after_id) = cursor.unzip();
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s
          WHERE $1::timestamptz IS NULL OR (s.starts_at, s.session_id) > ($1, $2)
          ORDER BY s.starts_at, s.session_id
          LIMIT $3"
    );
    let values = [after_time.into(), after_id.into(), (limit as i64).into()];
    Ok(Session::find_by_statement(store::sql(sql, values))
        .all(db)
        .await?)
}

/// The sales figures of a session, as the events consumer has counted them.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct SessionSales {
    pub session_id: Uuid,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
    pub currency: String,
    pub holds_expired: i64,
    /// When an event last changed the figures, or the session's creation.
    pub update_time: DateTime<Utc>,
}

/// The sales figures of a session, or NOT_FOUND. A session whose first event
/// has not arrived yet has no `session_sales` row: its figures are zero.
pub async fn session_sales(db: &impl ConnectionTrait, session_id: Uuid) -> Result<SessionSales> {
    let sql = "SELECT s.session_id, s.currency,
                      COALESCE(f.tickets_sold, 0) AS tickets_sold,
                      COALESCE(f.revenue_cents, 0) AS revenue_cents,
                      COALESCE(f.holds_expired, 0) AS holds_expired,
                      COALESCE(f.update_time, s.create_time) AS update_time
                 FROM sessions s
                 LEFT JOIN session_sales f ON f.session_id = s.session_id
                WHERE s.session_id = $1";
    SessionSales::find_by_statement(store::sql(sql, [session_id.into()]))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("session", session_id))
}

#[derive(FromQueryResult)]
struct SeatRow {
    label: String,
    row_letter: String,
    seat_number: i32,
    status: String,
    version: i64,
}

/// Every seat of a session as it is now, or NOT_FOUND.
pub async fn seat_map(db: &impl ConnectionTrait, session_id: Uuid) -> Result<SeatMap> {
    let sql = "SELECT label, row_letter, seat_number, status, version FROM seat_states
                WHERE session_id = $1 ORDER BY row_letter, seat_number";
    let rows = SeatRow::find_by_statement(store::sql(sql, [session_id.into()]))
        .all(db)
        .await?;
    if rows.is_empty() {
        // Every session has at least 16 seats: no seats means no session.
        return Err(Error::not_found("session", session_id));
    }
    let seats = rows
        .into_iter()
        .map(|row| {
            Ok(Seat {
                status: SeatStatus::from_db(&row.status)?,
                label: row.label,
                row: row.row_letter,
                number: row.seat_number.unsigned_abs(),
                version: row.version,
            })
        })
        .collect::<Result<_>>()?;
    Ok(SeatMap { session_id, seats })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn request() -> NewSession {
        NewSession {
            movie_title: "Filme X".into(),
            room: "Sala 1".into(),
            starts_at: Some(Utc::now() + Duration::hours(2)),
            price_cents: 2500,
            currency: String::new(),
            rows: 4,
            seats_per_row: 4,
        }
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_defaults_to_brl() {
        let valid = validate(request(), Utc::now()).unwrap();
        assert_eq!(valid.currency, "BRL");
        let usd = validate(
            NewSession {
                currency: "usd".into(),
                ..request()
            },
            Utc::now(),
        )
        .unwrap();
        assert_eq!(usd.currency, "USD");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let bad = NewSession {
            movie_title: "  ".into(),
            room: String::new(),
            starts_at: None,
            price_cents: 0,
            currency: "R$".into(),
            rows: 27,
            seats_per_row: 0,
        };
        assert_eq!(
            fields(validate(bad, Utc::now()).unwrap_err()),
            [
                "movie_title",
                "room",
                "starts_at",
                "price_cents",
                "currency",
                "rows",
                "seats_per_row"
            ]
        );
    }

    #[test]
    fn a_room_needs_sixteen_seats_and_a_future_start() {
        let small = NewSession {
            rows: 3,
            seats_per_row: 5,
            ..request()
        };
        assert_eq!(
            fields(validate(small, Utc::now()).unwrap_err()),
            ["seats_per_row"]
        );
        let past = NewSession {
            starts_at: Some(Utc::now() - Duration::minutes(1)),
            ..request()
        };
        assert_eq!(
            fields(validate(past, Utc::now()).unwrap_err()),
            ["starts_at"]
        );
        let largest = NewSession {
            rows: 26,
            seats_per_row: 50,
            ..request()
        };
        assert!(validate(largest, Utc::now()).is_ok());
    }
}
