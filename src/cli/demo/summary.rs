//! What `cinema demo` prints: the evening's programme, the movies, the
//! rooms with their rows and prices, the ids (as `NAME=value` lines to
//! paste into a shell) and the tokens.

use std::{fmt::Write as _, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};

use super::{Demo, programme::sao_paulo};
use crate::domain::{AgeRating, Movie, Room, SeatKind, Session, SessionState};

/// The whole summary.
pub fn summary(demo: &Demo) -> String {
    let mut text = programme(demo.evening, demo.turnaround, &demo.shows, &demo.movies);
    text.push_str("Movies:\n");
    for (i, movie) in demo.movies.iter().enumerate() {
        let _ = writeln!(
            text,
            "  {}, {}, rated {}: {}",
            movie.title,
            running_time(movie.duration),
            rating(movie.rating),
            movie.synopsis,
        );
        let _ = writeln!(text, "  {}={}", numbered("MOVIE_ID", i), movie.movie_id);
    }
    text.push_str("Rooms:\n");
    for (i, room) in demo.rooms.iter().enumerate() {
        text.push_str(&layout(room));
        let shown = demo.shows.iter().find(|s| s.room_id == Some(room.room_id));
        if let Some(session) = shown {
            let _ = writeln!(text, "  prices ({}): {}", session.currency, prices(session));
        }
        let _ = writeln!(text, "  {}={}", numbered("ROOM_ID", i), room.room_id);
    }
    text.push_str("Tokens (valid for a day):\n");
    for (name, token) in &demo.tokens {
        let _ = writeln!(text, "  {name}_TOKEN={token}");
    }
    text
}

/// "What's on": a line per show (start, title, rating, room, when the
/// movie ends and when the room is free again), then the shows' ids.
fn programme(
    evening: NaiveDate,
    turnaround: Duration,
    shows: &[Session],
    movies: &[Movie],
) -> String {
    let mut text = format!(
        "What's on, the evening of {} (São Paulo time; a room is free {} after its movie ends):\n",
        evening.format("%a %Y-%m-%d"),
        humantime::format_duration(turnaround),
    );
    for show in shows {
        let movie = movies.iter().find(|m| Some(m.movie_id) == show.movie_id);
        let rated = show.rating.map_or("-", rating);
        let _ = write!(
            text,
            "  {}  {:<8} {:<3} {}",
            clock(show.starts_at),
            show.movie_title,
            rated,
            show.room
        );
        if let Some(movie) = movie {
            let _ = write!(text, "  ends {}", clock(show.starts_at + movie.duration));
        }
        if let Some(free) = show.ends_at {
            let _ = write!(text, ", room free {}", clock(free));
        }
        let _ = write!(text, "  ({} seats)", show.total_seats);
        if show.state == SessionState::Cancelled {
            let reason = show.cancel_reason.as_deref().unwrap_or_default();
            let _ = write!(text, "  CANCELLED: {reason}");
        }
        text.push('\n');
    }
    for (i, show) in shows.iter().enumerate() {
        let _ = writeln!(text, "  {}={}", numbered("SESSION_ID", i), show.session_id);
    }
    text
}

/// `SESSION_ID` for the first, `SESSION_ID_2` for the second, and so on.
fn numbered(name: &str, index: usize) -> String {
    match index {
        0 => name.to_owned(),
        _ => format!("{name}_{}", index + 1),
    }
}

/// `19:30`, São Paulo time.
fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&sao_paulo()).format("%H:%M").to_string()
}

/// `1h50`.
fn running_time(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    format!("{}h{:02}", minutes / 60, minutes % 60)
}

/// The classificação indicativa as a cinema shows it: `L`, `12`, ...
fn rating(rating: AgeRating) -> &'static str {
    match rating {
        AgeRating::L => "L",
        AgeRating::Ten => "10",
        AgeRating::Twelve => "12",
        AgeRating::Fourteen => "14",
        AgeRating::Sixteen => "16",
        AgeRating::Eighteen => "18",
    }
}

/// `STANDARD 25.00, ..., COUPLE 30.00 a half`.
fn prices(session: &Session) -> String {
    let prices: Vec<String> = session
        .prices
        .iter()
        .map(|(kind, cents)| {
            let per = if kind == SeatKind::Couple {
                " a half"
            } else {
                ""
            };
            format!("{kind} {}{per}", money(cents))
        })
        .collect();
    prices.join(", ")
}

/// `25.00` for 2500 cents: money stays in integers.
fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// The room's rows as their patterns, from the screen back.
fn layout(room: &Room) -> String {
    let mut text = format!(
        "  {}, {} seats, from the screen back (S standard, P premium, W wheelchair space, \
         C companion, LR couple seat, _ aisle):\n",
        room.name, room.seat_count,
    );
    for row in &room.rows {
        let _ = writeln!(text, "    {:<2} {}", row.label, row.seats);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_printed_from_whole_cents() {
        assert_eq!(
            [money(2500), money(3005), money(7)],
            ["25.00", "30.05", "0.07"]
        );
    }

    #[test]
    fn times_are_sao_paulos_and_running_times_hours_and_minutes() {
        let at = "2026-11-23T00:30:00Z".parse().unwrap();
        assert_eq!(clock(at), "21:30");
        assert_eq!(running_time(Duration::from_secs(95 * 60)), "1h35");
        assert_eq!(
            [numbered("ROOM_ID", 0), numbered("ROOM_ID", 1)],
            ["ROOM_ID", "ROOM_ID_2"]
        );
    }
}
