//! The programme: movies (MovieService), added by admins and read by anyone;
//! sessions of a movie, which take its title and rating and hold their room
//! from the start until the movie ends plus the turnaround, never two at
//! once in a room, not even when twenty admins on two instances ask for the
//! same slot together; lists of sessions filtered by movie, room, time
//! window and seats left, page by page; and no booking once a show has
//! started. Cancelling a session has tests of its own.

mod listing;
mod movies;
mod schedule;
mod started;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::support::pb::Session;

/// A small room: two rows of eight standard seats, 16 in all.
pub const SMALL_ROOM: [(&str, &str); 2] = [("A", "SSSSSSSS"), ("B", "SSSSSSSS")];

/// A whole hour two days from now: far enough ahead that every show a test
/// puts around it is in the future, and whole, so times read well.
pub fn day_after_tomorrow() -> DateTime<Utc> {
    (Utc::now() + TimeDelta::days(2))
        .duration_trunc(TimeDelta::hours(1))
        .expect("a representable hour")
}

pub fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// The ids of `sessions`, in order.
pub fn ids(sessions: &[Session]) -> Vec<String> {
    sessions.iter().map(|s| s.session_id.clone()).collect()
}
