//! Sessions: a movie in a room at a time, with a price per seat; the rules a
//! new one must meet; and the figures the events consumer keeps for it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Error, FieldViolation, Result,
    labels::{MAX_ROWS, MAX_SEATS_PER_ROW, MIN_SEATS},
};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub session_id: Uuid,
    pub movie_title: String,
    pub room: String,
    pub starts_at: DateTime<Utc>,
    pub price_cents: i64,
    pub currency: String,
    pub rows: u32,
    pub seats_per_row: u32,
    pub create_time: DateTime<Utc>,
    pub available_seats: u32,
}

impl Session {
    pub fn total_seats(&self) -> u32 {
        self.rows * self.seats_per_row
    }
}

/// What a hold needs to know of its session: the price and the room's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTerms {
    pub price_cents: i64,
    pub currency: String,
    pub rows: u32,
    pub seats_per_row: u32,
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

/// The sales figures of a session, as the events consumer has counted them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSales {
    pub session_id: Uuid,
    pub tickets_sold: i64,
    pub revenue_cents: i64,
    pub currency: String,
    pub holds_expired: i64,
    /// When an event last changed the figures, or the session's creation.
    pub update_time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;
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

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn a_new_session_is_valid_or_each_problem_is_named(
            movie_title in arbitrary::text(), room in arbitrary::text(), seconds in any::<i64>(),
            price_cents in any::<i64>(), currency in arbitrary::text(), rows in any::<u32>(),
            seats_per_row in any::<u32>(),
        ) {
            let new = NewSession {
                movie_title, room, starts_at: DateTime::from_timestamp(seconds, 0),
                price_cents, currency, rows, seats_per_row,
            };
            match validate(new, Utc::now()) {
                Ok(valid) => {
                    prop_assert!((1..=26).contains(&valid.rows) && (1..=50).contains(&valid.seats_per_row));
                    prop_assert!(valid.rows * valid.seats_per_row >= 16 && valid.price_cents > 0);
                    prop_assert!(valid.currency.len() == 3);
                }
                Err(Error::InvalidArgument(problems)) => {
                    const FIELDS: [&str; 7] = ["movie_title", "room", "starts_at", "price_cents", "currency", "rows", "seats_per_row"];
                    prop_assert!(!problems.is_empty());
                    prop_assert!(problems.iter().all(|p| FIELDS.contains(&p.field.as_str())));
                }
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
