//! The seats of a map drawn as text, by position: each row at its `y` (the
//! screen above row 0), each seat at its `x`, so an aisle is a blank column.
//! A seat is a cell of five characters: its kind as a letter and its number
//! (` P12 `); plain, brackets around it carry its status (`(P12)` held), in
//! colour its colour does. The halves of a couple seat touch: `L 3==R 4`.

use std::collections::BTreeMap;

use crate::proto::v1::{Seat, SeatKind, SeatStatus};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
/// Bright black: blocked seats are out of the game, so they fade.
const GREY: &str = "\x1b[90m";
pub const RESET: &str = "\x1b[0m";

/// Columns a position of a row takes, gap or seat.
const CELL_WIDTH: usize = 5;
/// Columns the row label takes before the first position.
const LABEL_WIDTH: usize = 3;

/// What stands for every kind; the letters of a RowLayout pattern.
const KINDS_LEGEND: &str = "kinds:  S standard  P premium  W wheelchair space  C companion  \
     L==R couple seat (two halves)  blank: aisle";

/// The screen line, then one line per row from the screen back.
pub fn grid(seats: &[Seat], colour: bool) -> Vec<String> {
    let rows = rows_by_y(seats);
    let widest = rows
        .values()
        .filter_map(|row| row.last())
        .map(|seat| (seat.x as usize + 1) * CELL_WIDTH)
        .max()
        .unwrap_or(0);
    let mut lines = vec![screen_line(widest)];
    lines.extend(rows.values().map(|row| row_line(row, colour)));
    lines
}

/// The seats of each row, left to right, by row from the screen.
fn rows_by_y(seats: &[Seat]) -> BTreeMap<u32, Vec<&Seat>> {
    let mut rows: BTreeMap<u32, Vec<&Seat>> = BTreeMap::new();
    for seat in seats {
        rows.entry(seat.y).or_default().push(seat);
    }
    for row in rows.values_mut() {
        row.sort_by_key(|seat| seat.x);
    }
    rows
}

/// `   ---- screen ----`, as wide as the widest row.
fn screen_line(width: usize) -> String {
    format!("{:LABEL_WIDTH$}{:-^width$}", "", " screen ")
}

/// `A   W 1  C 2       S 3 (S 4)`: the label, then each seat at its column.
fn row_line(row: &[&Seat], colour: bool) -> String {
    let label = row.first().map_or("", |seat| seat.row.as_str());
    let mut line = format!("{label:<LABEL_WIDTH$}");
    let mut column = 0;
    for seat in row {
        // A seat at a column already drawn (a server bug) goes after it
        // rather than over it.
        let at = seat.x as usize * CELL_WIDTH;
        line.push_str(&" ".repeat(at.saturating_sub(column)));
        column = column.max(at) + CELL_WIDTH;
        line.push_str(&cell(seat, half(seat, row), colour));
    }
    line.trim_end().to_owned()
}

/// Which half of a couple seat a seat is, and whether its other half is
/// right beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Left { touching: bool },
    Right { touching: bool },
}

fn half(seat: &Seat, row: &[&Seat]) -> Option<Half> {
    if seat.kind() != SeatKind::Couple {
        return None;
    }
    let Some(pair) = row.iter().find(|other| other.label == seat.pair_label) else {
        return Some(Half::Left { touching: false });
    };
    Some(if pair.x > seat.x {
        Half::Left {
            touching: pair.x == seat.x + 1,
        }
    } else {
        Half::Right {
            touching: pair.x + 1 == seat.x,
        }
    })
}

/// Five columns: ` S 7 `, `(S 7)` held, `[S 7]` sold, `#S 7#` blocked, or in
/// colour the middle three coloured. `=` joins the halves of a couple seat
/// where no bracket stands.
fn cell(seat: &Seat, half: Option<Half>, colour: bool) -> String {
    let status = seat.status();
    let core = format!("{}{:>2}", letter(seat.kind(), half), seat.number);
    let (open, close) = match (colour, brackets(status)) {
        (false, Some(brackets)) => brackets,
        _ => joiners(half),
    };
    if colour {
        format!("{open}{}{core}{RESET}{close}", status_colour(status))
    } else {
        format!("{open}{core}{close}")
    }
}

fn letter(kind: SeatKind, half: Option<Half>) -> char {
    match (kind, half) {
        (SeatKind::Standard, _) => 'S',
        (SeatKind::Premium, _) => 'P',
        (SeatKind::Wheelchair, _) => 'W',
        (SeatKind::Companion, _) => 'C',
        (SeatKind::Couple, Some(Half::Right { .. })) => 'R',
        (SeatKind::Couple, _) => 'L',
        (SeatKind::Unspecified, _) => '?',
    }
}

/// The brackets that mark a status without colour; none for AVAILABLE.
fn brackets(status: SeatStatus) -> Option<(char, char)> {
    match status {
        SeatStatus::Available => None,
        SeatStatus::Held => Some(('(', ')')),
        SeatStatus::Sold => Some(('[', ']')),
        SeatStatus::Blocked => Some(('#', '#')),
        SeatStatus::Unspecified => Some(('?', '?')),
    }
}

fn joiners(half: Option<Half>) -> (char, char) {
    match half {
        Some(Half::Left { touching: true }) => (' ', '='),
        Some(Half::Right { touching: true }) => ('=', ' '),
        _ => (' ', ' '),
    }
}

fn status_colour(status: SeatStatus) -> &'static str {
    match status {
        SeatStatus::Available => GREEN,
        SeatStatus::Held => YELLOW,
        SeatStatus::Sold => RED,
        SeatStatus::Blocked => GREY,
        SeatStatus::Unspecified => RESET,
    }
}

/// What every letter, bracket and colour means.
pub fn legend(colour: bool) -> [String; 2] {
    let status = if colour {
        format!(
            "status: {GREEN}available{RESET}  {YELLOW}held{RESET}  {RED}sold{RESET}  \
             {GREY}blocked{RESET}"
        )
    } else {
        "status:  S 7  available  (S 7) held  [S 7] sold  #S 7# blocked".to_owned()
    };
    [KINDS_LEGEND.to_owned(), status]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(label: &str, kind: SeatKind, x: u32, status: SeatStatus) -> Seat {
        Seat {
            label: label.into(),
            row: label[..1].into(),
            number: label[1..].parse().expect("a seat number"),
            status: status.into(),
            kind: kind.into(),
            x,
            ..Default::default()
        }
    }

    fn couple(label: &str, pair: &str, x: u32, status: SeatStatus) -> Seat {
        Seat {
            pair_label: pair.into(),
            ..seat(label, SeatKind::Couple, x, status)
        }
    }

    #[test]
    fn a_cell_shows_kind_number_and_status() {
        use SeatStatus::*;
        let cells: Vec<String> = [Available, Held, Sold, Blocked]
            .into_iter()
            .map(|status| cell(&seat("A7", SeatKind::Premium, 0, status), None, false))
            .collect();
        assert_eq!(cells, [" P 7 ", "(P 7)", "[P 7]", "#P 7#"]);
    }

    #[test]
    fn couple_halves_touch_unless_a_bracket_stands_between() {
        let row = [
            couple("F3", "F4", 1, SeatStatus::Available),
            couple("F4", "F3", 2, SeatStatus::Available),
        ];
        let row: Vec<&Seat> = row.iter().collect();
        assert_eq!(row_line(&row, false), "F        L 3==R 4");
        let sold = [
            couple("F3", "F4", 1, SeatStatus::Sold),
            couple("F4", "F3", 2, SeatStatus::Available),
        ];
        let sold: Vec<&Seat> = sold.iter().collect();
        assert_eq!(row_line(&sold, false), "F       [L 3]=R 4");
    }

    #[test]
    fn a_seat_on_a_drawn_column_goes_after_it() {
        let row = [
            seat("A1", SeatKind::Standard, 0, SeatStatus::Available),
            seat("A2", SeatKind::Standard, 0, SeatStatus::Available),
        ];
        let row: Vec<&Seat> = row.iter().collect();
        assert_eq!(row_line(&row, false), "A   S 1  S 2");
    }
}
