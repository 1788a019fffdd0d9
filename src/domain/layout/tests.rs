//! The layout rules, case by case and on arbitrary layouts.
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
    let rows = vec![
        row("A", "SSSS_SSSS"),
        row("B", "WC_SSSS_CW"),
        row("AA", "LR"),
    ];
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
        problems(validate_room(room(rows)).unwrap_err())
            .contains(&("rows".into(), "must have 1 to 26 rows, got 27".into()))
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
