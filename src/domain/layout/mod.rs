//! Rooms and their layouts: rows of seats of different kinds with aisles
//! between them, written as one pattern per row (`"WC_SSSS_CW"`); the rules
//! a layout must meet; and where each seat of a valid layout sits.

use std::{collections::HashSet, fmt};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Error, FieldViolation, Result,
    labels::{MAX_POSITIONS, MAX_ROWS, MIN_SEATS, RowLabel, SeatLabel},
};

const MAX_NAME_CHARS: usize = 100;

/// What kind of seat a position holds; the kind sets the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeatKind {
    Standard,
    Premium,
    Wheelchair,
    Companion,
    /// One half of a couple seat, sold only with its other half.
    Couple,
}

impl SeatKind {
    pub const ALL: [SeatKind; 5] = [
        SeatKind::Standard,
        SeatKind::Premium,
        SeatKind::Wheelchair,
        SeatKind::Companion,
        SeatKind::Couple,
    ];

    /// The kind of a pattern character, `None` for a gap or an unknown one.
    fn of(position: char) -> Option<Self> {
        match position {
            'S' => Some(Self::Standard),
            'P' => Some(Self::Premium),
            'W' => Some(Self::Wheelchair),
            'C' => Some(Self::Companion),
            'L' | 'R' => Some(Self::Couple),
            _ => None,
        }
    }
}

impl fmt::Display for SeatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Standard => "STANDARD",
            Self::Premium => "PREMIUM",
            Self::Wheelchair => "WHEELCHAIR",
            Self::Companion => "COMPANION",
            Self::Couple => "COUPLE",
        };
        f.write_str(name)
    }
}

/// One row of a room: its label and its pattern, left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowLayout {
    pub label: String,
    pub seats: String,
}

/// A request to create a room, as the client sent it.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub name: String,
    /// Nearest the screen first.
    pub rows: Vec<RowLayout>,
}

/// A room: immutable once created, so a session's map never changes under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub room_id: Uuid,
    pub name: String,
    pub rows: Vec<RowLayout>,
    pub seat_count: u32,
    pub create_time: DateTime<Utc>,
}

/// Where a page of rooms starts: after this (create_time, room_id).
pub type RoomCursor = (DateTime<Utc>, Uuid);

/// A seat of a layout and where it sits: `x` counts positions (gaps too)
/// from 0 at the left, `y` rows from 0 at the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedSeat {
    pub label: SeatLabel,
    pub kind: SeatKind,
    pub x: u32,
    pub y: u32,
    /// The other half of a couple seat.
    pub pair: Option<SeatLabel>,
}

/// Checks a new room against every rule, reporting every problem at once,
/// each naming its row (`rows[3].seats`).
pub fn validate_room(new: NewRoom) -> Result<NewRoom> {
    let mut problems = Vec::new();
    if !super::text::is_name(&new.name, MAX_NAME_CHARS) {
        problems.push(FieldViolation::new(
            "name",
            "must be 1 to 100 characters, not blank, with no NUL character",
        ));
    }
    if new.rows.is_empty() || new.rows.len() > MAX_ROWS as usize {
        problems.push(FieldViolation::new(
            "rows",
            format!("must have 1 to {MAX_ROWS} rows, got {}", new.rows.len()),
        ));
        // Too many rows is refused as a whole: no list of every problem of
        // thousands of rows.
        return Err(Error::InvalidArgument(problems));
    }
    let mut seen = HashSet::new();
    let mut seats = 0;
    for (i, row) in new.rows.iter().enumerate() {
        match row.label.parse::<RowLabel>() {
            Err(_) => problems.push(FieldViolation::new(
                format!("rows[{i}].label"),
                "must be 1 or 2 upper-case letters, such as B or AA",
            )),
            Ok(label) if !seen.insert(label) => problems.push(FieldViolation::new(
                format!("rows[{i}].label"),
                format!("repeats row {label}"),
            )),
            Ok(_) => {}
        }
        let pattern = pattern_problems(&row.seats);
        if pattern.is_empty() {
            seats += seat_count(&row.seats);
        }
        problems.extend(
            pattern
                .into_iter()
                .map(|problem| FieldViolation::new(format!("rows[{i}].seats"), problem)),
        );
    }
    if problems.is_empty() && seats < MIN_SEATS {
        problems.push(FieldViolation::new(
            "rows",
            format!("the room has {seats} seats; it needs at least {MIN_SEATS}"),
        ));
    }
    if problems.is_empty() {
        Ok(new)
    } else {
        Err(Error::InvalidArgument(problems))
    }
}

/// What is wrong with one row's pattern, one sentence per problem.
fn pattern_problems(pattern: &str) -> Vec<String> {
    let positions: Vec<char> = pattern.chars().collect();
    let mut problems = Vec::new();
    if positions.len() > MAX_POSITIONS as usize {
        // Named alone: the characters of a row this long are not read.
        return vec![format!(
            "has {} positions; at most {MAX_POSITIONS}",
            positions.len()
        )];
    }
    let unknown: Vec<String> = positions
        .iter()
        .enumerate()
        .filter(|(_, c)| !"SPWCLR_".contains(**c))
        .map(|(x, c)| format!("{c:?} at position {}", x + 1))
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "unknown {} (use S P W C LR or _)",
            first_few(unknown)
        ));
    }
    let mut unpaired = Vec::new();
    let mut x = 0;
    while x < positions.len() {
        match (positions[x], positions.get(x + 1)) {
            ('L', Some('R')) => x += 1,
            ('L', _) => unpaired.push(format!("'L' at position {} has no 'R' after it", x + 1)),
            ('R', _) => unpaired.push(format!("'R' at position {} has no 'L' before it", x + 1)),
            _ => {}
        }
        x += 1;
    }
    if !unpaired.is_empty() {
        problems.push(format!(
            "a couple seat is always LR: {}",
            first_few(unpaired)
        ));
    }
    if seat_count(pattern) == 0 {
        problems.push("has no seat".to_owned());
    }
    problems
}

/// The first three of `items` and how many more: a row's problems stay
/// short enough for a status to carry.
fn first_few(items: Vec<String>) -> String {
    const SHOWN: usize = 3;
    let more = items.len().saturating_sub(SHOWN);
    let shown = items.into_iter().take(SHOWN).collect::<Vec<_>>().join("; ");
    if more == 0 {
        shown
    } else {
        format!("{shown}; and {more} more")
    }
}

fn seat_count(pattern: &str) -> u32 {
    pattern
        .chars()
        .filter(|c| SeatKind::of(*c).is_some())
        .count() as u32
}

/// The number of seats of a valid layout.
pub fn room_seat_count(rows: &[RowLayout]) -> u32 {
    rows.iter().map(|row| seat_count(&row.seats)).sum()
}

/// Every seat of a valid layout, row by row, left to right; rows or
/// positions that are not valid are skipped.
pub fn place(rows: &[RowLayout]) -> Vec<PlacedSeat> {
    let mut seats = Vec::new();
    for (y, row) in rows.iter().enumerate() {
        let Ok(row_label) = row.label.parse::<RowLabel>() else {
            continue;
        };
        let mut number = 0;
        for (x, position) in row.seats.chars().enumerate() {
            let Some(kind) = SeatKind::of(position) else {
                continue;
            };
            number += 1;
            let pair = match position {
                'L' => Some(SeatLabel::new(row_label, number + 1)),
                'R' => Some(SeatLabel::new(row_label, number - 1)),
                _ => None,
            };
            seats.push(PlacedSeat {
                label: SeatLabel::new(row_label, number),
                kind,
                x: x as u32,
                y: y as u32,
                pair,
            });
        }
    }
    seats
}

/// The layout of a rectangle of `rows` x `seats_per_row` standard seats,
/// rows lettered from A (at most 26 rows of 60).
pub fn rectangle(rows: u32, seats_per_row: u32) -> Vec<RowLayout> {
    (0..rows.min(MAX_ROWS))
        .filter_map(RowLabel::nth)
        .map(|label| RowLayout {
            label: label.to_string(),
            seats: "S".repeat(seats_per_row.min(MAX_POSITIONS) as usize),
        })
        .collect()
}

#[cfg(test)]
mod tests;
