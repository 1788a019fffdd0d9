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
    let name_len = new.name.chars().count();
    if new.name.trim().is_empty() || name_len > MAX_NAME_CHARS || new.name.contains('\0') {
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
        problems.push(format!(
            "has {} positions; at most {MAX_POSITIONS}",
            positions.len()
        ));
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
            unknown.join(", ")
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
            unpaired.join("; ")
        ));
    }
    if seat_count(pattern) == 0 {
        problems.push("has no seat".to_owned());
    }
    problems
}

fn seat_count(pattern: &str) -> u32 {
    pattern.chars().filter(|c| SeatKind::of(*c).is_some()).count() as u32
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
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    fn row(label: &str, seats: &str) -> RowLayout {
        RowLayout {
            label: label.into(),
            seats: seats.into(),
        }
    }

    fn room(rows: Vec<RowLayout>) -> NewRoom {
        NewRoom {
            name: "Sala 1".into(),
            rows,
        }
    }

    fn problems(err: Error) -> Vec<(String, String)> {
        match err {
            Error::InvalidArgument(v) => v.into_iter().map(|v| (v.field, v.description)).collect(),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn the_example_row_numbers_seats_and_skips_gaps() {
        let seats = place(&[row("A", "SSSSSSSS"), row("B", "WC_SSSS_CW")]);
        let b: Vec<(String, SeatKind, u32, u32)> = seats
            .iter()
            .filter(|s| s.y == 1)
            .map(|s| (s.label.to_string(), s.kind, s.x, s.y))
            .collect();
        use SeatKind::*;
        assert_eq!(
            b,
            [
                ("B1".into(), Wheelchair, 0, 1),
                ("B2".into(), Companion, 1, 1),
                ("B3".into(), Standard, 3, 1),
                ("B4".into(), Standard, 4, 1),
                ("B5".into(), Standard, 5, 1),
                ("B6".into(), Standard, 6, 1),
                ("B7".into(), Companion, 8, 1),
                ("B8".into(), Wheelchair, 9, 1),
            ]
        );
    }

    #[test]
    fn couple_halves_name_each_other() {
        let seats = place(&[row("F", "S_LRLR")]);
        let pairs: Vec<(String, String)> = seats
            .iter()
            .filter_map(|s| Some((s.label.to_string(), s.pair?.to_string())))
            .collect();
        assert_eq!(
            pairs,
            [
                ("F2".into(), "F3".into()),
                ("F3".into(), "F2".into()),
                ("F4".into(), "F5".into()),
                ("F5".into(), "F4".into())
            ]
        );
    }

    #[test]
    fn a_good_room_passes_and_counts_its_seats() {
        let rows = vec![row("A", "SSSS_SSSS"), row("B", "WC_SSSS_CW"), row("AA", "LR")];
        assert!(validate_room(room(rows.clone())).is_ok());
        assert_eq!(room_seat_count(&rows), 18);
    }

    #[test]
    fn every_layout_problem_is_named_by_its_row() {
        let bad = NewRoom {
            name: "  ".into(),
            rows: vec![
                row("A", "SSSSSSSSSS"),
                row("a", "SSXS"),
                row("A", "SLSR"),
                row("D", "___"),
                row("ABC", &"S".repeat(61)),
            ],
        };
        assert_eq!(
            problems(validate_room(bad).unwrap_err()),
            [
                (
                    "name".into(),
                    "must be 1 to 100 characters, not blank, with no NUL character".into()
                ),
                (
                    "rows[1].label".into(),
                    "must be 1 or 2 upper-case letters, such as B or AA".into()
                ),
                (
                    "rows[1].seats".into(),
                    "unknown 'X' at position 3 (use S P W C LR or _)".into()
                ),
                ("rows[2].label".into(), "repeats row A".into()),
                (
                    "rows[2].seats".into(),
                    "a couple seat is always LR: 'L' at position 2 has no 'R' after it; \
                     'R' at position 4 has no 'L' before it"
                        .into()
                ),
                ("rows[3].seats".into(), "has no seat".into()),
                (
                    "rows[4].label".into(),
                    "must be 1 or 2 upper-case letters, such as B or AA".into()
                ),
                (
                    "rows[4].seats".into(),
                    "has 61 positions; at most 60".into()
                ),
            ]
        );
    }

    #[test]
    fn a_room_needs_rows_and_sixteen_seats() {
        assert_eq!(
            problems(validate_room(room(vec![])).unwrap_err())[0].0,
            "rows"
        );
        let small = room(vec![row("A", "SSSS_SSSS"), row("B", "SSSS_SSS")]);
        assert_eq!(
            problems(validate_room(small).unwrap_err()),
            [(
                "rows".into(),
                "the room has 15 seats; it needs at least 16".into()
            )]
        );
        let rows: Vec<RowLayout> = (0..27).map(|_| row("A", "S")).collect();
        assert!(
            problems(validate_room(room(rows)).unwrap_err()).contains(&(
                "rows".into(),
                "must have 1 to 26 rows, got 27".into()
            ))
        );
    }

    #[test]
    fn a_rectangle_is_rows_of_standard_seats() {
        let seats = place(&rectangle(2, 3));
        let labels: Vec<String> = seats.iter().map(|s| s.label.to_string()).collect();
        assert_eq!(labels, ["A1", "A2", "A3", "B1", "B2", "B3"]);
        assert!(seats.iter().all(|s| s.kind == SeatKind::Standard));
        assert_eq!((seats[5].x, seats[5].y), (2, 1));
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn a_layout_is_valid_or_each_problem_names_its_row(rows in arbitrary::layouts()) {
            let count = rows.len();
            let rows: Vec<RowLayout> = rows.into_iter().map(|(label, seats)| RowLayout { label, seats }).collect();
            match validate_room(NewRoom { name: "Sala".into(), rows: rows.clone() }) {
                Ok(valid) => {
                    let seats = place(&valid.rows);
                    prop_assert_eq!(seats.len() as u32, room_seat_count(&valid.rows));
                    prop_assert!(seats.len() >= 16);
                    let labels: HashSet<SeatLabel> = seats.iter().map(|s| s.label).collect();
                    prop_assert_eq!(labels.len(), seats.len(), "labels are unique");
                    for seat in &seats {
                        if let Some(pair) = seat.pair {
                            prop_assert!(labels.contains(&pair));
                        }
                    }
                }
                Err(Error::InvalidArgument(problems)) => {
                    prop_assert!(!problems.is_empty());
                    for problem in problems {
                        let field = problem.field.as_str();
                        let row = field
                            .strip_prefix("rows[")
                            .and_then(|rest| rest.split_once(']'))
                            .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)));
                        prop_assert!(
                            field == "rows" || field == "name"
                                || row.is_some_and(|(i, rest)| i < count && (rest == ".label" || rest == ".seats")),
                            "{}", field
                        );
                    }
                }
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
