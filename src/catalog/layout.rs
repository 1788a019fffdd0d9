//! Seat maps: rows lettered from A, seats numbered from 1, labels like `A12`.

use std::{fmt, str::FromStr};

/// At most 26 rows, one per letter.
pub const MAX_ROWS: u32 = 26;
/// At most 50 seats in a row.
pub const MAX_SEATS_PER_ROW: u32 = 50;
/// A room has at least 16 seats.
pub const MIN_SEATS: u32 = 16;

/// One seat's place: its row letter and its number within the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeatLabel {
    row: u8,
    number: u32,
}

impl SeatLabel {
    /// The row letter, `'A'` to `'Z'`.
    pub fn row(&self) -> char {
        char::from(self.row)
    }

    /// The seat number, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether this seat exists in a room of `rows` x `seats_per_row`.
    pub fn fits(&self, rows: u32, seats_per_row: u32) -> bool {
        u32::from(self.row - b'A') < rows && self.number <= seats_per_row
    }
}

impl fmt::Display for SeatLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.row(), self.number)
    }
}

/// Why a string is not a seat label.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLabel;

impl FromStr for SeatLabel {
    type Err = BadLabel;

    /// Parses `A1`..`Z50`; the row letter may be lower case. Leading zeros,
    /// spaces and seat 0 are refused so every seat has exactly one spelling.
    fn from_str(s: &str) -> Result<Self, BadLabel> {
        let (row, number) = s.split_at_checked(1).ok_or(BadLabel)?;
        let row = row.as_bytes()[0].to_ascii_uppercase();
        let well_formed = row.is_ascii_uppercase()
            && !number.is_empty()
            && number.len() <= 2
            && number.bytes().all(|b| b.is_ascii_digit())
            && !number.starts_with('0');
        if !well_formed {
            return Err(BadLabel);
        }
        let number = number.parse().map_err(|_| BadLabel)?;
        if number > MAX_SEATS_PER_ROW {
            return Err(BadLabel);
        }
        Ok(Self { row, number })
    }
}

/// Every seat of a room of `rows` x `seats_per_row`, row by row.
pub fn seat_labels(rows: u32, seats_per_row: u32) -> impl Iterator<Item = SeatLabel> {
    (b'A'..)
        .take(rows.min(MAX_ROWS) as usize)
        .flat_map(move |row| {
            (1..=seats_per_row.min(MAX_SEATS_PER_ROW)).map(move |number| SeatLabel { row, number })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "", "A", "1", "A0", "A01", "A51", "A123", "AA1", " A1", "A1 ", "Á1", "A-1", "é", "A+1",
        ] {
            assert_eq!(
                bad.parse::<SeatLabel>(),
                Err(BadLabel),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn a_label_fits_only_rooms_that_have_it() {
        let c12: SeatLabel = "C12".parse().unwrap();
        assert!(c12.fits(3, 12));
        assert!(!c12.fits(2, 12));
        assert!(!c12.fits(3, 11));
    }
}
