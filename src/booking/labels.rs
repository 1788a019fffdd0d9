//! The seat labels of a ReserveSeats request: parsed, checked, in lock order.

use std::collections::HashSet;

use crate::{catalog::layout::SeatLabel, error::FieldViolation};

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
                "is not a seat label (a row letter and a seat number, such as A1)",
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

/// Checks that every requested label is a seat of a room of this size.
pub fn check_in_room(
    raw: &[String],
    rows: i32,
    seats_per_row: i32,
) -> Result<(), Vec<FieldViolation>> {
    let (rows, per_row) = (rows.unsigned_abs(), seats_per_row.unsigned_abs());
    let problems: Vec<FieldViolation> = raw
        .iter()
        .enumerate()
        .filter(|(_, text)| {
            !text
                .trim()
                .parse::<SeatLabel>()
                .is_ok_and(|l| l.fits(rows, per_row))
        })
        .map(|(i, text)| {
            FieldViolation::new(
                format!("seat_labels[{i}]"),
                format!("this session has no seat {}", text.trim()),
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let problems = parse_labels(&strings(&["A1", "", "A1", "ZZ9", "a1"]), 10).unwrap_err();
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
    fn seats_outside_the_room_are_named() {
        assert!(check_in_room(&strings(&["B8", "A1"]), 2, 8).is_ok());
        let problems = check_in_room(&strings(&["A9", "B8", "C1"]), 2, 8).unwrap_err();
        assert_eq!(fields(problems), ["seat_labels[0]", "seat_labels[2]"]);
    }
}
