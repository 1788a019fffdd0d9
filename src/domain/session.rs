//! Sessions: a movie in a room at a time, with a price per seat kind; the
//! rules a new one must meet; and the figures the events consumer keeps for it.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Error, FieldViolation, Result,
    labels::{MAX_ROWS, MAX_SEATS_PER_ROW, MIN_SEATS},
    layout::{self, Room, RowLayout, SeatKind},
    price::{self, KindPrice, PriceList},
};

const MAX_TITLE_CHARS: usize = 200;
const MAX_ROOM_CHARS: usize = 100;
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
    /// The room whose layout the seat map follows; `None` for a rectangle.
    pub room_id: Option<Uuid>,
    pub prices: Vec<KindPrice>,
    pub allow_single_seat_gaps: bool,
}

/// A session that meets every rule, with its layout and prices resolved.
#[derive(Debug, Clone)]
pub struct ValidSession {
    pub movie_title: String,
    /// The room's name.
    pub room: String,
    pub room_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub currency: String,
    /// Rows nearest the screen first.
    pub layout: Vec<RowLayout>,
    /// 0 for a room, whose rows differ.
    pub seats_per_row: u32,
    pub prices: PriceList,
    pub allow_single_seat_gaps: bool,
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
    pub total_seats: u32,
    pub available_seats: u32,
    pub room_id: Option<Uuid>,
    pub prices: PriceList,
    pub allow_single_seat_gaps: bool,
}

/// Where a page of sessions starts: after this (starts_at, session_id).
pub type SessionCursor = (DateTime<Utc>, Uuid);

/// Checks a new session against every rule, reporting every problem at once,
/// and fills in defaults. `room` is the room `new.room_id` names (read by
/// the caller); `now` is the moment the request is judged at.
pub fn validate(
    mut new: NewSession,
    room: Option<&Room>,
    now: DateTime<Utc>,
) -> Result<ValidSession> {
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
    match room {
        Some(room) => check(
            new.room.is_empty() || new.room == room.name,
            "room",
            "must be empty or the room's name when room_id is given",
        ),
        None => {
            let room_len = new.room.chars().count();
            check(
                !new.room.trim().is_empty()
                    && room_len <= MAX_ROOM_CHARS
                    && !new.room.contains('\0'),
                "room",
                "must be 1 to 100 characters, not blank, with no NUL character",
            );
        }
    }
    match new.starts_at {
        None => check(false, "starts_at", "is required"),
        Some(at) => check(at > now, "starts_at", "must be in the future"),
    }
    // Prices are named before the currency and the shape, as they always were.
    let (layout, shape_problems) = shape(&new, room);
    let kinds: BTreeSet<SeatKind> = layout::place(&layout).iter().map(|s| s.kind).collect();
    let prices = price::price_list(&kinds, &new.prices, new.price_cents)
        .map_err(|more| problems.extend(more))
        .ok();
    if new.currency.is_empty() {
        new.currency = DEFAULT_CURRENCY.to_owned();
    }
    new.currency = new.currency.to_ascii_uppercase();
    if !(new.currency.len() == 3 && new.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        problems.push(FieldViolation::new(
            "currency",
            "must be an ISO 4217 code of three letters, such as BRL",
        ));
    }
    problems.extend(shape_problems);
    match (problems.is_empty(), new.starts_at, prices) {
        (true, Some(starts_at), Some(prices)) => Ok(ValidSession {
            movie_title: new.movie_title,
            room: room.map_or(new.room, |room| room.name.clone()),
            room_id: room.map(|room| room.room_id),
            starts_at,
            currency: new.currency,
            seats_per_row: if room.is_some() { 0 } else { new.seats_per_row },
            layout,
            prices,
            allow_single_seat_gaps: new.allow_single_seat_gaps,
        }),
        _ => Err(Error::InvalidArgument(problems)),
    }
}

/// The layout of the session: its room's, or a rectangle of `rows` x
/// `seats_per_row` (empty when those are out of bounds), and what is wrong
/// with the shape the request gave.
fn shape(new: &NewSession, room: Option<&Room>) -> (Vec<RowLayout>, Vec<FieldViolation>) {
    let mut problems = Vec::new();
    let mut check = |ok: bool, field: &str, description: &str| {
        if !ok {
            problems.push(FieldViolation::new(field, description));
        }
    };
    let layout = match room {
        Some(room) => {
            check(new.rows == 0, "rows", "must be unset when room_id is given");
            check(
                new.seats_per_row == 0,
                "seats_per_row",
                "must be unset when room_id is given",
            );
            room.rows.clone()
        }
        None => {
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
                layout::rectangle(new.rows, new.seats_per_row)
            } else {
                Vec::new()
            }
        }
    };
    (layout, problems)
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
            room_id: None,
            prices: vec![],
            allow_single_seat_gaps: false,
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
        let valid = validate(request(), None, Utc::now()).unwrap();
        assert_eq!(valid.currency, "BRL");
        let usd = validate(
            NewSession {
                currency: "usd".into(),
                ..request()
            },
            None,
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
            room_id: None,
            prices: vec![],
            allow_single_seat_gaps: false,
        };
        assert_eq!(
            fields(validate(bad, None, Utc::now()).unwrap_err()),
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
            fields(validate(small, None, Utc::now()).unwrap_err()),
            ["seats_per_row"]
        );
        let past = NewSession {
            starts_at: Some(Utc::now() - Duration::minutes(1)),
            ..request()
        };
        assert_eq!(
            fields(validate(past, None, Utc::now()).unwrap_err()),
            ["starts_at"]
        );
        let largest = NewSession {
            rows: 26,
            seats_per_row: 50,
            ..request()
        };
        assert!(validate(largest, None, Utc::now()).is_ok());
    }

    fn room() -> Room {
        Room {
            room_id: Uuid::nil(),
            name: "Sala VIP".into(),
            rows: vec![
                RowLayout {
                    label: "A".into(),
                    seats: "WC_SSSSSS_CW".into(),
                },
                RowLayout {
                    label: "B".into(),
                    seats: "PPPP_LRLR".into(),
                },
            ],
            seat_count: 18,
            create_time: Utc::now(),
        }
    }

    #[test]
    fn a_session_in_a_room_takes_its_name_and_layout() {
        let new = NewSession {
            room: String::new(),
            rows: 0,
            seats_per_row: 0,
            room_id: Some(Uuid::nil()),
            prices: vec![
                KindPrice {
                    kind: Some(SeatKind::Premium),
                    price_cents: 4000,
                },
                KindPrice {
                    kind: Some(SeatKind::Couple),
                    price_cents: 3000,
                },
            ],
            ..request()
        };
        let valid = validate(new.clone(), Some(&room()), Utc::now()).unwrap();
        assert_eq!(valid.room, "Sala VIP");
        assert_eq!((valid.layout.len(), valid.seats_per_row), (2, 0));
        assert_eq!(valid.prices.get(SeatKind::Wheelchair), Some(2500));
        let shaped = NewSession {
            rows: 4,
            seats_per_row: 4,
            room: "Sala 2".into(),
            ..new
        };
        assert_eq!(
            fields(validate(shaped, Some(&room()), Utc::now()).unwrap_err()),
            ["room", "rows", "seats_per_row"]
        );
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
                price_cents, currency, rows, seats_per_row, room_id: None, prices: vec![], allow_single_seat_gaps: false,
            };
            match validate(new, None, Utc::now()) {
                Ok(valid) => {
                    prop_assert!((1..=26).contains(&valid.layout.len()) && (1..=50).contains(&valid.seats_per_row));
                    prop_assert!(valid.layout.len() as u32 * valid.seats_per_row >= 16);
                    prop_assert!(valid.prices.get(SeatKind::Standard).is_some_and(|p| p > 0));
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
