//! Sessions: a movie in a room at a time, with a price per seat kind; the
//! rules a new one must meet; its state; and how lists of them are filtered.

use std::{collections::BTreeSet, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{
    Error, FieldViolation, Result,
    labels::{MAX_ROWS, MAX_SEATS_PER_ROW, MIN_SEATS},
    layout::{self, Room, RowLayout, SeatKind},
    movie::{AgeRating, Movie},
    price::{self, KindPrice, PriceList},
    text::is_name,
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
    /// The movie shown; `None` for a session known by its title alone.
    pub movie_id: Option<Uuid>,
}

/// What a new session is checked against, read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The room `room_id` names.
    pub room: Option<&'a Room>,
    /// The movie `movie_id` names.
    pub movie: Option<&'a Movie>,
    /// How long a room needs between two shows.
    pub turnaround: Duration,
    /// The moment the request is judged at.
    pub now: DateTime<Utc>,
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
    pub movie_id: Option<Uuid>,
    /// When the room is free again; `None` without a movie.
    pub ends_at: Option<DateTime<Utc>>,
}

/// Whether a session is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Scheduled,
    Cancelled,
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
    pub movie_id: Option<Uuid>,
    pub ends_at: Option<DateTime<Utc>>,
    pub rating: Option<AgeRating>,
    pub state: SessionState,
    /// Why it was cancelled; `None` while scheduled.
    pub cancel_reason: Option<String>,
}

/// Where a page of sessions starts: after this (starts_at, session_id).
pub type SessionCursor = (DateTime<Utc>, Uuid);

/// Which sessions a list shows; every condition set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub movie_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    /// Starting at or after.
    pub starts_after: Option<DateTime<Utc>>,
    /// Starting before.
    pub starts_before: Option<DateTime<Utc>>,
    /// With at least one AVAILABLE seat now.
    pub only_with_seats: bool,
}

impl SessionFilter {
    /// The filter, or INVALID_ARGUMENT when its window is empty.
    pub fn checked(self) -> Result<Self> {
        match (self.starts_after, self.starts_before) {
            (Some(after), Some(before)) if after >= before => Err(Error::invalid(
                "starts_before",
                "must be later than starts_after",
            )),
            _ => Ok(self),
        }
    }

    /// A canonical text of the filter: a page token made for one filter is
    /// refused with another.
    pub fn key(&self) -> String {
        let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        let time = |at: Option<DateTime<Utc>>| at.map(|at| at.to_rfc3339()).unwrap_or_default();
        format!(
            "movie={}&room={}&after={}&before={}&seats={}",
            id(self.movie_id),
            id(self.room_id),
            time(self.starts_after),
            time(self.starts_before),
            self.only_with_seats
        )
    }
}

/// Checks a new session against every rule, reporting every problem at once,
/// and fills in defaults.
pub fn validate(mut new: NewSession, context: Context<'_>) -> Result<ValidSession> {
    let Context {
        room, movie, now, ..
    } = context;
    let mut problems = Vec::new();
    let mut check = |ok: bool, field: &str, description: &str| {
        if !ok {
            problems.push(FieldViolation::new(field, description));
        }
    };
    match movie {
        Some(movie) => check(
            new.movie_title.is_empty() || new.movie_title == movie.title,
            "movie_title",
            "must be empty or the movie's title when movie_id is given",
        ),
        None => check(
            is_name(&new.movie_title, MAX_TITLE_CHARS),
            "movie_title",
            "must be 1 to 200 characters, not blank, with no NUL character",
        ),
    }
    match room {
        Some(room) => check(
            new.room.is_empty() || new.room == room.name,
            "room",
            "must be empty or the room's name when room_id is given",
        ),
        None => check(
            is_name(&new.room, MAX_ROOM_CHARS),
            "room",
            "must be 1 to 100 characters, not blank, with no NUL character",
        ),
    }
    match new.starts_at {
        None => check(false, "starts_at", "is required"),
        Some(at) => check(at > now, "starts_at", "must be in the future"),
    }
    let ends_at = match (movie, new.starts_at) {
        (Some(movie), Some(at)) => {
            let ends_at = ends_at(at, movie.duration + context.turnaround);
            check(ends_at.is_some(), "starts_at", "is too far in the future");
            ends_at
        }
        _ => None,
    };
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
            movie_title: movie.map_or(new.movie_title, |movie| movie.title.clone()),
            movie_id: movie.map(|movie| movie.movie_id),
            ends_at,
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

/// When a show starting at `starts_at` frees its room, if representable.
fn ends_at(starts_at: DateTime<Utc>, takes: Duration) -> Option<DateTime<Utc>> {
    starts_at.checked_add_signed(TimeDelta::from_std(takes).ok()?)
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
mod tests;
