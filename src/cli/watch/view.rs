//! What `cinema watch` shows: a seat map folded from a WatchSeatMap stream and
//! drawn as text.
//!
//! Everything here is a pure function of its arguments (the time a message
//! arrived is passed in), so folding and drawing are tested without a server
//! or a terminal; the command only wires them to the stream and stdout.

use std::fmt::Write as _;

use chrono::NaiveTime;

use crate::proto::v1::{Seat, SeatMap, SeatMapEvent, SeatMapUpdate, SeatStatus, seat_map_event};

/// Clears a terminal and puts the cursor top left.
pub const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// The seat map as this watcher last saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatMapView {
    pub session_id: String,
    /// Every seat, by row then number, as the snapshot listed them.
    pub seats: Vec<Seat>,
    pub available: u32,
    pub held: u32,
    pub sold: u32,
    /// When the last snapshot or change arrived (the stream carries no times).
    pub last_change: NaiveTime,
}

/// What one message did to the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Folded {
    /// The whole map was replaced: the first message, or a resynchronisation.
    Snapshot,
    /// These seats changed; empty when the message held nothing newer.
    Update(Vec<Seat>),
}

/// A message that cannot be folded: the server broke the stream's contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("the server sent an update before any snapshot")]
    UpdateBeforeSnapshot,
    #[error("the server sent a message with neither a snapshot nor an update")]
    Empty,
}

/// Where the drawing goes, which decides how it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Redrawn in place, in colour, on every message.
    Terminal,
    /// A log: the map (plain) on each snapshot, then one line per update.
    Piped,
}

/// Folds one stream message, received at `at`, into the view so far.
pub fn fold(
    view: Option<SeatMapView>,
    event: SeatMapEvent,
    at: NaiveTime,
) -> Result<(SeatMapView, Folded), FoldError> {
    match (event.event, view) {
        (Some(seat_map_event::Event::Snapshot(map)), _) => {
            Ok((SeatMapView::from_snapshot(map, at), Folded::Snapshot))
        }
        (Some(seat_map_event::Event::Update(update)), Some(mut view)) => {
            let changed = view.apply(&update, at);
            Ok((view, Folded::Update(changed)))
        }
        (Some(seat_map_event::Event::Update(_)), None) => Err(FoldError::UpdateBeforeSnapshot),
        (None, _) => Err(FoldError::Empty),
    }
}

impl SeatMapView {
    fn from_snapshot(map: SeatMap, at: NaiveTime) -> Self {
        Self {
            session_id: map.session_id,
            seats: map.seats,
            available: map.available_count,
            held: map.held_count,
            sold: map.sold_count,
            last_change: at,
        }
    }

    /// Applies the seats of `update` newer than the view's; returns them.
    fn apply(&mut self, update: &SeatMapUpdate, at: NaiveTime) -> Vec<Seat> {
        let mut changed = Vec::new();
        for seat in &update.seats {
            // The server already drops stale changes; checking again keeps a
            // seat from going backwards even if it did not.
            let Some(known) = self.seats.iter_mut().find(|s| s.label == seat.label) else {
                continue;
            };
            if seat.version > known.version {
                *known = seat.clone();
                changed.push(seat.clone());
            }
        }
        if !changed.is_empty() {
            (self.available, self.held, self.sold) =
                (update.available_count, update.held_count, update.sold_count);
            self.last_change = at;
        }
        changed
    }
}

/// What to write after a message was folded into `view`.
pub fn draw(view: &SeatMapView, folded: &Folded, output: Output) -> String {
    match (output, folded) {
        (Output::Terminal, Folded::Snapshot) => {
            format!("{CLEAR_SCREEN}{}", render(view, true))
        }
        (Output::Terminal, Folded::Update(seats)) => {
            let mut frame = format!("{CLEAR_SCREEN}{}", render(view, true));
            if !seats.is_empty() {
                let _ = writeln!(frame, "last: {}", update_line(view.last_change, seats));
            }
            frame
        }
        (Output::Piped, Folded::Snapshot) => render(view, false),
        (Output::Piped, Folded::Update(seats)) if seats.is_empty() => String::new(),
        (Output::Piped, Folded::Update(seats)) => {
            format!("{}\n", update_line(view.last_change, seats))
        }
    }
}

/// The header, one line per row and the legend. Without colour, a seat's
/// brackets carry its status instead: `7` available, `(7)` held, `[7]` sold.
pub fn render(view: &SeatMapView, colour: bool) -> String {
    let mut text = format!(
        "Session {}  available {}  held {}  sold {}  last change {}\n",
        view.session_id,
        view.available,
        view.held,
        view.sold,
        view.last_change.format("%H:%M:%S"),
    );
    for row in view.seats.chunk_by(|a, b| a.row == b.row) {
        let cells: Vec<String> = row.iter().map(|seat| cell(seat, colour)).collect();
        let _ = writeln!(text, "{:<2}{}", row[0].row, cells.join(" "));
    }
    text.push_str(&legend(colour));
    text.push('\n');
    text
}

fn cell(seat: &Seat, colour: bool) -> String {
    let status = seat.status();
    if colour {
        return format!("{}{:>3}{RESET}", status_colour(status), seat.number);
    }
    let marked = match status {
        SeatStatus::Held => format!("({})", seat.number),
        SeatStatus::Sold => format!("[{}]", seat.number),
        SeatStatus::Available | SeatStatus::Blocked | SeatStatus::Unspecified => {
            seat.number.to_string()
        }
    };
    format!("{marked:>4}")
}

fn status_colour(status: SeatStatus) -> &'static str {
    match status {
        SeatStatus::Available => GREEN,
        SeatStatus::Held => YELLOW,
        SeatStatus::Sold => RED,
        SeatStatus::Blocked | SeatStatus::Unspecified => RESET,
    }
}

fn legend(colour: bool) -> String {
    if colour {
        format!("legend: {GREEN}available{RESET}  {YELLOW}held{RESET}  {RED}sold{RESET}")
    } else {
        "legend: 7 available  (7) held  [7] sold".to_owned()
    }
}

/// One update as a log line: `12:01:02 A1 HELD v1, A2 HELD v1`.
pub fn update_line(at: NaiveTime, seats: &[Seat]) -> String {
    let changes: Vec<String> = seats
        .iter()
        .map(|seat| {
            format!(
                "{} {} v{}",
                seat.label,
                status_name(seat.status()),
                seat.version
            )
        })
        .collect();
    format!("{} {}", at.format("%H:%M:%S"), changes.join(", "))
}

/// `HELD` for SEAT_STATUS_HELD, and so on.
fn status_name(status: SeatStatus) -> &'static str {
    let name = status.as_str_name();
    name.strip_prefix("SEAT_STATUS_").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).expect("a valid time")
    }

    fn seat(label: &str, status: SeatStatus, version: i64) -> Seat {
        Seat {
            label: label.into(),
            row: label[..1].into(),
            number: label[1..].parse().expect("a seat number"),
            status: status.into(),
            version,
            ..Default::default()
        }
    }

    fn snapshot() -> SeatMapEvent {
        let seats = vec![
            seat("A1", SeatStatus::Available, 0),
            seat("A2", SeatStatus::Held, 1),
            seat("B1", SeatStatus::Sold, 2),
            seat("B2", SeatStatus::Available, 0),
        ];
        SeatMapEvent {
            event: Some(seat_map_event::Event::Snapshot(SeatMap {
                session_id: "s1".into(),
                seats,
                available_count: 2,
                held_count: 1,
                sold_count: 1,
                ..Default::default()
            })),
        }
    }

    fn update(seats: Vec<Seat>, counts: (u32, u32, u32)) -> SeatMapEvent {
        SeatMapEvent {
            event: Some(seat_map_event::Event::Update(SeatMapUpdate {
                session_id: "s1".into(),
                seats,
                available_count: counts.0,
                held_count: counts.1,
                sold_count: counts.2,
                ..Default::default()
            })),
        }
    }

    fn snapshot_view() -> SeatMapView {
        fold(None, snapshot(), at(12, 0, 0))
            .expect("a snapshot folds")
            .0
    }

    #[test]
    fn a_snapshot_replaces_the_view() {
        let (view, folded) = fold(None, snapshot(), at(12, 0, 0)).unwrap();
        assert_eq!(folded, Folded::Snapshot);
        assert_eq!((view.available, view.held, view.sold), (2, 1, 1));
        assert_eq!(view.seats.len(), 4);
    }

    #[test]
    fn an_update_changes_its_seats_counts_and_time() {
        let held = seat("A1", SeatStatus::Held, 1);
        let (view, folded) = fold(
            Some(snapshot_view()),
            update(vec![held.clone()], (1, 2, 1)),
            at(12, 1, 2),
        )
        .unwrap();
        assert_eq!(folded, Folded::Update(vec![held.clone()]));
        assert_eq!(view.seats[0], held);
        assert_eq!((view.available, view.held, view.sold), (1, 2, 1));
        assert_eq!(view.last_change, at(12, 1, 2));
    }

    #[test]
    fn stale_and_unknown_seats_change_nothing() {
        let before = snapshot_view();
        let stale = update(
            vec![
                seat("A2", SeatStatus::Available, 1),
                seat("Z9", SeatStatus::Sold, 5),
            ],
            (9, 9, 9),
        );
        let (view, folded) = fold(Some(before.clone()), stale, at(13, 0, 0)).unwrap();
        assert_eq!(folded, Folded::Update(vec![]));
        assert_eq!(view, before);
    }

    #[test]
    fn an_update_before_a_snapshot_or_an_empty_message_is_an_error() {
        let early = fold(None, update(vec![], (0, 0, 0)), at(12, 0, 0));
        assert_eq!(early.unwrap_err(), FoldError::UpdateBeforeSnapshot);
        let empty = fold(
            Some(snapshot_view()),
            SeatMapEvent { event: None },
            at(12, 0, 0),
        );
        assert_eq!(empty.unwrap_err(), FoldError::Empty);
    }

    #[test]
    fn plain_rendering_marks_status_with_brackets() {
        let text = render(&snapshot_view(), false);
        assert_eq!(
            text,
            "Session s1  available 2  held 1  sold 1  last change 12:00:00\n\
             A    1  (2)\n\
             B  [1]    2\n\
             legend: 7 available  (7) held  [7] sold\n"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_rendering_colours_each_seat_by_status() {
        let text = render(&snapshot_view(), true);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[1],
            format!("A {GREEN}  1{RESET} {YELLOW}  2{RESET}"),
            "{text}"
        );
        assert_eq!(rows[2], format!("B {RED}  1{RESET} {GREEN}  2{RESET}"));
        assert!(rows[3].starts_with("legend: "));
    }

    #[test]
    fn piped_output_prints_the_map_once_then_one_line_per_update() {
        let view = snapshot_view();
        assert_eq!(
            draw(&view, &Folded::Snapshot, Output::Piped),
            render(&view, false)
        );
        let seats = vec![
            seat("A1", SeatStatus::Held, 1),
            seat("B2", SeatStatus::Held, 1),
        ];
        let (view, folded) = fold(Some(view), update(seats, (0, 3, 1)), at(12, 1, 2)).unwrap();
        assert_eq!(
            draw(&view, &folded, Output::Piped),
            "12:01:02 A1 HELD v1, B2 HELD v1\n"
        );
        assert_eq!(draw(&view, &Folded::Update(vec![]), Output::Piped), "");
    }

    #[test]
    fn terminal_output_clears_and_redraws_in_colour() {
        let view = snapshot_view();
        let frame = draw(&view, &Folded::Snapshot, Output::Terminal);
        assert!(frame.starts_with(CLEAR_SCREEN));
        assert!(frame.ends_with(&render(&view, true)));
        let sold = vec![seat("A2", SeatStatus::Sold, 2)];
        let (view, folded) = fold(Some(view), update(sold, (2, 0, 2)), at(12, 5, 0)).unwrap();
        let frame = draw(&view, &folded, Output::Terminal);
        assert!(frame.starts_with(CLEAR_SCREEN));
        assert!(frame.ends_with("last: 12:05:00 A2 SOLD v2\n"), "{frame}");
    }
}
