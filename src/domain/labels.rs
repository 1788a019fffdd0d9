//! Seat labels: rows labelled with one or two letters, seats numbered from
//! 1, labels like `A12` or `AA3`; the labels of a request, parsed and
//! checked; and their order, row then number.

use std::{collections::HashSet, fmt, str::FromStr};

use super::FieldViolation;

/// At most 26 rows in a room.
pub const MAX_ROWS: u32 = 26;
/// At most 50 seats in a row of a rectangular session.
pub const MAX_SEATS_PER_ROW: u32 = 50;
/// At most 60 positions (seats and gaps) in a row of a room.
pub const MAX_POSITIONS: u32 = 60;
/// A room has at least 16 seats.
pub const MIN_SEATS: u32 = 16;

/// A row label: one or two upper-case letters. Kept right-aligned so that
/// rows order A..Z, then AA..ZZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowLabel([u8; 2]);

impl RowLabel {
    /// The row of index `index` in a rectangle: A, B, ... Z.
    pub fn nth(index: u32) -> Option<Self> {
        u8::try_from(index)
            .ok()
            .filter(|i| u32::from(*i) < MAX_ROWS)
            .map(|i| Self([0, b'A' + i]))
    }

    fn letters(&self) -> &[u8] {
        if self.0[0] == 0 {
            &self.0[1..]
        } else {
            &self.0
        }
    }
}

impl fmt::Display for RowLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &letter in self.letters() {
            write!(f, "{}", char::from(letter))?;
        }
        Ok(())
    }
}

impl FromStr for RowLabel {
    type Err = BadLabel;

    /// Parses one or two upper-case ASCII letters.
    fn from_str(s: &str) -> Result<Self, BadLabel> {
        match s.as_bytes() {
            [a] if a.is_ascii_uppercase() => Ok(Self([0, *a])),
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(BadLabel),
        }
    }
}

/// One seat's place: its row label and its number within the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeatLabel {
    row: RowLabel,
    number: u32,
}

impl SeatLabel {
    pub fn new(row: RowLabel, number: u32) -> Self {
        Self { row, number }
    }

    /// The row label, e.g. `A` or `AA`.
    pub fn row(&self) -> RowLabel {
        self.row
    }

    /// The seat number, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }
}

impl fmt::Display for SeatLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.row, self.number)
    }
}

/// Why a string is not a seat label.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLabel;

impl FromStr for SeatLabel {
    type Err = BadLabel;

    /// Parses `A1`..`ZZ60`; the row letters may be lower case. Leading zeros,
    /// spaces and seat 0 are refused so every seat has exactly one spelling.
    fn from_str(s: &str) -> Result<Self, BadLabel> {
        let split = s.find(|c: char| !c.is_ascii_alphabetic()).ok_or(BadLabel)?;
        let (row, number) = s.split_at(split);
        let row: RowLabel = row.to_ascii_uppercase().parse()?;
        let well_formed = !number.is_empty()
            && number.len() <= 2
            && number.bytes().all(|b| b.is_ascii_digit())
            && !number.starts_with('0');
        if !well_formed {
            return Err(BadLabel);
        }
        let number = number.parse().map_err(|_| BadLabel)?;
        if number > MAX_POSITIONS {
            return Err(BadLabel);
        }
        Ok(Self { row, number })
    }
}

/// Every seat of a room of `rows` x `seats_per_row`, row by row.
pub fn seat_labels(rows: u32, seats_per_row: u32) -> impl Iterator<Item = SeatLabel> {
    (0..rows).filter_map(RowLabel::nth).flat_map(move |row| {
        (1..=seats_per_row.min(MAX_SEATS_PER_ROW)).map(move |number| SeatLabel { row, number })
    })
}

/// Parses the requested labels, reporting every problem with its index, and
/// returns them sorted (row, then number).
pub fn parse_labels(
    raw: &[String],
    max_seats: usize,
) -> Result<Vec<SeatLabel>, Vec<FieldViolation>> {
    if raw.is_empty() {
        return Err(vec![FieldViolation::new(
            "seat_labels",
            "must name at least one seat",
        )]);
    }
    if raw.len() > max_seats {
        return Err(vec![FieldViolation::new(
            "seat_labels",
            format!("at most {max_seats} seats per reservation"),
        )]);
    }
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut labels = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        match text.trim().parse::<SeatLabel>() {
            Err(_) => problems.push(FieldViolation::new(
                format!("seat_labels[{i}]"),
                "is not a seat label (a row of one or two letters and a seat number, such as A1)",
            )),
            Ok(label) if !seen.insert(label) => problems.push(FieldViolation::new(
                format!("seat_labels[{i}]"),
                format!("repeats {label}"),
            )),
            Ok(label) => labels.push(label),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    labels.sort();
    Ok(labels)
}

/// Labels as text, by row then number (text that is not a label is dropped).
pub fn sorted<S: AsRef<str>>(labels: &[S]) -> Vec<String> {
    let mut parsed: Vec<SeatLabel> = labels
        .iter()
        .filter_map(|label| label.as_ref().parse().ok())
        .collect();
    parsed.sort();
    parsed.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary;

    #[test]
    fn labels_go_row_by_row_from_a1() {
        let labels: Vec<String> = seat_labels(2, 3).map(|l| l.to_string()).collect();
        assert_eq!(labels, ["A1", "A2", "A3", "B1", "B2", "B3"]);
    }

    #[test]
    fn the_largest_room_ends_at_z50() {
        let labels: Vec<SeatLabel> = seat_labels(MAX_ROWS, MAX_SEATS_PER_ROW).collect();
        assert_eq!(labels.len(), 1300);
        assert_eq!(labels.last().unwrap().to_string(), "Z50");
    }

    #[test]
    fn labels_parse_back_to_themselves() {
        for label in seat_labels(MAX_ROWS, MAX_SEATS_PER_ROW) {
            assert_eq!(label.to_string().parse::<SeatLabel>(), Ok(label));
        }
        assert_eq!("c7".parse::<SeatLabel>().unwrap().to_string(), "C7");
    }

    #[test]
    fn malformed_labels_are_refused() {
        for bad in [
            "", "A", "1", "A0", "A01", "A61", "A123", "AAA1", " A1", "A1 ", "Á1", "A-1", "é",
            "A+1", "1A",
        ] {
            assert_eq!(
                bad.parse::<SeatLabel>(),
                Err(BadLabel),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn two_letter_rows_come_after_z() {
        let aa3: SeatLabel = "aa3".parse().unwrap();
        assert_eq!(aa3.to_string(), "AA3");
        assert_eq!(aa3.row().to_string(), "AA");
        assert_eq!(
            sorted(&["AA1", "Z2", "B60", "A1"]),
            ["A1", "B60", "Z2", "AA1"]
        );
    }

    fn strings(labels: &[&str]) -> Vec<String> {
        labels.iter().map(|l| (*l).to_owned()).collect()
    }

    fn fields(problems: Vec<FieldViolation>) -> Vec<String> {
        problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn labels_come_back_sorted_by_row_then_number() {
        let labels = parse_labels(&strings(&["B2", "A10", "a2"]), 10).unwrap();
        let text: Vec<String> = labels.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["A2", "A10", "B2"]);
    }

    #[test]
    fn every_bad_label_is_named_by_its_index() {
        let problems = parse_labels(&strings(&["A1", "", "A1", "ZZZ9", "a1"]), 10).unwrap_err();
        assert_eq!(
            fields(problems),
            [
                "seat_labels[1]",
                "seat_labels[2]",
                "seat_labels[3]",
                "seat_labels[4]"
            ]
        );
    }

    #[test]
    fn an_empty_or_oversized_request_is_refused_as_a_whole() {
        assert_eq!(fields(parse_labels(&[], 10).unwrap_err()), ["seat_labels"]);
        let eleven: Vec<String> = (1..=11).map(|n| format!("A{n}")).collect();
        assert_eq!(
            fields(parse_labels(&eleven, 10).unwrap_err()),
            ["seat_labels"]
        );
        assert!(parse_labels(&eleven[..10], 10).is_ok());
    }

    #[test]
    fn labels_sort_by_row_then_number() {
        assert_eq!(sorted(&["B1", "A10", "A2", "x"]), ["A2", "A10", "B1"]);
    }

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn seat_labels_parse_or_name_each_bad_one(raw in arbitrary::label_texts(), max in 1usize..12) {
            match parse_labels(&raw, max) {
                Ok(parsed) => {
                    prop_assert!(!parsed.is_empty() && parsed.len() <= max && parsed.len() == raw.len());
                    prop_assert!(parsed.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
                }
                Err(problems) => {
                    prop_assert!(!problems.is_empty());
                    for problem in problems {
                        let field = problem.field.as_str();
                        let indexed = field
                            .strip_prefix("seat_labels[")
                            .and_then(|rest| rest.strip_suffix(']'))
                            .and_then(|i| i.parse::<usize>().ok());
                        prop_assert!(field == "seat_labels" || indexed.is_some_and(|i| i < raw.len()), "{field}");
                    }
                }
            }
        }

        #[test]
        fn a_seat_label_reads_back_as_written(text in arbitrary::text()) {
            if let Ok(label) = text.trim().parse::<SeatLabel>() {
                prop_assert_eq!(label.to_string().parse::<SeatLabel>().ok(), Some(label));
                prop_assert!((1..=MAX_POSITIONS).contains(&label.number()));
            }
        }
    }
}
