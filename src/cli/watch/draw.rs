//! What `cinema watch` writes: the view redrawn in colour on a terminal, or,
//! piped, the map once in plain ASCII and then one line per change.
//!
//! Pure functions of the view, tested without a terminal.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, Utc};

use super::{
    map,
    view::{Change, Folded, SeatMapView, hold_end},
};
use crate::proto::v1::{Seat, SeatStatus};

/// Clears a terminal and puts the cursor top left.
pub const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// Where the drawing goes, which decides how it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Redrawn in place, in colour, on every message.
    Terminal,
    /// A log: the map (plain) on each snapshot, then one line per update.
    Piped,
}

/// What to write after a message was folded into `view`.
pub fn draw(view: &SeatMapView, folded: &Folded, output: Output) -> String {
    match (output, folded) {
        (Output::Terminal, Folded::Snapshot) => {
            format!("{CLEAR_SCREEN}{}", render(view, true))
        }
        (Output::Terminal, Folded::Update(changes)) => {
            let mut frame = format!("{CLEAR_SCREEN}{}", render(view, true));
            if !changes.is_empty() {
                let _ = writeln!(frame, "last: {}", update_line(view.last_change, changes));
            }
            frame
        }
        (Output::Piped, Folded::Snapshot) => render(view, false),
        (Output::Piped, Folded::Update(changes)) if changes.is_empty() => String::new(),
        (Output::Piped, Folded::Update(changes)) => {
            format!("{}\n", update_line(view.last_change, changes))
        }
    }
}

/// The header, the screen and the rows, until when seats are held, why
/// seats are blocked, and the legend; in colour, or plain with brackets for
/// the status.
pub fn render(view: &SeatMapView, colour: bool) -> String {
    let mut text = format!(
        "Session {}  available {}  held {}  sold {}  blocked {}  last change {}\n",
        view.session_id,
        view.available,
        view.held,
        view.sold,
        view.blocked,
        view.last_change.format("%H:%M:%S"),
    );
    let held = held_line(&view.seats, *view.last_change.offset());
    let blocked = blocked_line(&view.seats);
    let legend = map::legend(colour);
    for line in map::grid(&view.seats, colour)
        .iter()
        .chain(&held)
        .chain(&blocked)
        .chain(&legend)
    {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// `held: A2 until 12:00:30; B2, B3 until 12:01:00`: held seats by when
/// their hold ends (to the second), soonest first, in map order within one
/// end; `None` when no held seat's end is known.
fn held_line(seats: &[Seat], offset: FixedOffset) -> Option<String> {
    let mut ends: Vec<(i64, DateTime<Utc>, Vec<&str>)> = Vec::new();
    for seat in seats {
        let Some(end) = hold_end(seat) else {
            continue;
        };
        match ends
            .iter_mut()
            .find(|(second, ..)| *second == end.timestamp())
        {
            Some((.., labels)) => labels.push(&seat.label),
            None => ends.push((end.timestamp(), end, vec![&seat.label])),
        }
    }
    if ends.is_empty() {
        return None;
    }
    ends.sort_by_key(|(second, ..)| *second);
    let groups: Vec<String> = ends
        .iter()
        .map(|(_, end, labels)| format!("{} until {}", labels.join(", "), clock(*end, offset)))
        .collect();
    Some(format!("held: {}", groups.join("; ")))
}

/// `12:00:30`: an instant on the watcher's clock.
fn clock(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset).format("%H:%M:%S").to_string()
}

/// `blocked: A4, A5 "camera"; C7 "broken"`: blocked seats by reason, in
/// map order; `None` when no seat is blocked.
fn blocked_line(seats: &[Seat]) -> Option<String> {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for seat in seats.iter().filter(|s| s.status() == SeatStatus::Blocked) {
        let reason = seat.block_reason.as_str();
        match reasons.iter_mut().find(|(known, _)| *known == reason) {
            Some((_, labels)) => labels.push(&seat.label),
            None => reasons.push((reason, vec![&seat.label])),
        }
    }
    if reasons.is_empty() {
        return None;
    }
    let groups: Vec<String> = reasons
        .iter()
        .map(|(reason, labels)| format!("{}{}", labels.join(", "), quoted(reason)))
        .collect();
    Some(format!("blocked: {}", groups.join("; ")))
}

/// ` "reason"`, escaped (an admin wrote it: it must not drive the
/// terminal), or nothing for no reason.
fn quoted(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason:?}")
    }
}

/// One update as a log line, each seat in its state: `12:01:02 A1 HELD v1
/// until 12:01:32, A4 BLOCKED v2 "broken"`.
pub fn update_line(at: DateTime<FixedOffset>, changes: &[Change]) -> String {
    let offset = *at.offset();
    let changes: Vec<String> = changes
        .iter()
        .map(|change| change_text(change, offset))
        .collect();
    format!("{} {}", at.format("%H:%M:%S"), changes.join(", "))
}

/// `A4 BLOCKED v2 "broken"`, `A1 HELD v1 until 12:01:32`, or for an
/// extension `A1 HELD v2 until 12:02:00 (extended)`.
fn change_text(change: &Change, offset: FixedOffset) -> String {
    let seat = &change.seat;
    let status = seat.status();
    let mut text = format!("{} {} v{}", seat.label, status_name(status), seat.version);
    if status == SeatStatus::Blocked {
        text.push_str(&quoted(&seat.block_reason));
    }
    if let Some(end) = hold_end(seat) {
        let _ = write!(text, " until {}", clock(end, offset));
    }
    if change.extended {
        text.push_str(" (extended)");
    }
    text
}

/// `HELD` for SEAT_STATUS_HELD, and so on.
fn status_name(status: SeatStatus) -> &'static str {
    let name = status.as_str_name();
    name.strip_prefix("SEAT_STATUS_").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        cli::watch::{
            fixtures::{at, blocked, couple, held, offset, seat, snapshot_view, update},
            view::fold,
        },
        proto::v1::SeatKind,
    };

    const GREEN: &str = "\x1b[32m";
    const YELLOW: &str = "\x1b[33m";
    const RED: &str = "\x1b[31m";
    const GREY: &str = "\x1b[90m";
    const RESET: &str = "\x1b[0m";

    #[test]
    fn plain_rendering_places_seats_by_position_and_brackets_their_status() {
        let text = render(&snapshot_view(), false);
        assert_eq!(
            text,
            "Session s1  available 5  held 1  sold 1  blocked 1  last change 12:00:00\n\
             \x20  -------- screen ---------\n\
             A   W 1 (C 2)     #S 3# S 4\n\
             B  [P 1] L 2==R 3       P 4\n\
             held: A2 until 12:00:30\n\
             blocked: A3 \"broken\"\n\
             kinds:  S standard  P premium  W wheelchair space  C companion  \
             L==R couple seat (two halves)  blank: aisle\n\
             status:  S 7  available  (S 7) held  [S 7] sold  #S 7# blocked\n"
        );
        assert!(text.is_ascii());
    }

    #[test]
    fn colour_rendering_colours_each_seat_by_status() {
        let text = render(&snapshot_view(), true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            format!(
                "A   {GREEN}W 1{RESET}  {YELLOW}C 2{RESET}       {GREY}S 3{RESET}  \
                 {GREEN}S 4{RESET}"
            ),
            "{text}"
        );
        assert_eq!(
            lines[3],
            format!(
                "B   {RED}P 1{RESET}  {GREEN}L 2{RESET}=={GREEN}R 3{RESET}       \
                 {GREEN}P 4{RESET}"
            ),
            "{text}"
        );
        assert_eq!(lines[4], "held: A2 until 12:00:30");
        assert_eq!(lines[5], "blocked: A3 \"broken\"");
        assert_eq!(
            lines[7],
            format!(
                "status: {GREEN}available{RESET}  {YELLOW}held{RESET}  {RED}sold{RESET}  \
                 {GREY}blocked{RESET}"
            )
        );
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn block_reasons_are_grouped_and_escaped() {
        let seats = vec![
            blocked("A1", 0, "camera", 1),
            blocked("A2", 1, "bad\x1b[2J", 1),
            blocked("A3", 2, "camera", 1),
            blocked("A4", 3, "", 1),
        ];
        assert_eq!(
            blocked_line(&seats).unwrap(),
            r#"blocked: A1, A3 "camera"; A2 "bad\u{1b}[2J"; A4"#
        );
        assert_eq!(blocked_line(&snapshot_view().seats[..2]), None);
    }

    #[test]
    fn piped_output_prints_the_map_once_then_one_line_per_update() {
        let view = snapshot_view();
        assert_eq!(
            draw(&view, &Folded::Snapshot, Output::Piped),
            render(&view, false)
        );
        let until = held("B2", SeatKind::Couple, 1, 1, (12, 1, 32)).hold_expire_time;
        let seats = vec![
            Seat {
                hold_expire_time: until,
                ..couple("B2", "B3", 1, SeatStatus::Held, 1)
            },
            Seat {
                hold_expire_time: until,
                ..couple("B3", "B2", 2, SeatStatus::Held, 1)
            },
            blocked("A4", 4, "camera", 1),
        ];
        let (view, folded) = fold(Some(view), update(seats, (2, 3, 1, 2)), at(12, 1, 2)).unwrap();
        // Sent B2, B3, A4: listed in map order.
        assert_eq!(
            draw(&view, &folded, Output::Piped),
            "12:01:02 A4 BLOCKED v1 \"camera\", B2 HELD v1 until 12:01:32, \
             B3 HELD v1 until 12:01:32\n"
        );
        assert_eq!(draw(&view, &Folded::Update(vec![]), Output::Piped), "");
    }

    #[test]
    fn an_extension_reads_as_one_and_a_new_hold_does_not() {
        let longer = update(
            vec![held("A2", SeatKind::Companion, 1, 2, (12, 1, 0))],
            (5, 1, 1, 1),
        );
        let (view, folded) = fold(Some(snapshot_view()), longer.clone(), at(12, 0, 10)).unwrap();
        assert_eq!(
            draw(&view, &folded, Output::Piped),
            "12:00:10 A2 HELD v2 until 12:01:00 (extended)\n"
        );
        assert!(render(&view, false).contains("\nheld: A2 until 12:01:00\n"));
        // Seen after the old hold ended: someone took the lapsed seat.
        let (view, folded) = fold(Some(snapshot_view()), longer, at(12, 0, 31)).unwrap();
        assert_eq!(
            draw(&view, &folded, Output::Piped),
            "12:00:31 A2 HELD v2 until 12:01:00\n"
        );
    }

    #[test]
    fn hold_ends_are_on_the_watchers_clock_grouped_by_second_soonest_first() {
        let ends_at = |seconds: i64, nanos: i32| Some(prost_types::Timestamp { seconds, nanos });
        // 2026-11-30 15:00:30 UTC is 12:00:30 in São Paulo.
        let noon_thirty = 1_796_050_830;
        let seats =
            [("A1", 30, 0), ("A2", 0, 0), ("A3", 30, 400_000_000)].map(|(label, later, nanos)| {
                Seat {
                    hold_expire_time: ends_at(noon_thirty + later, nanos),
                    ..seat(label, SeatKind::Standard, 0, SeatStatus::Held, 1)
                }
            });
        assert_eq!(
            held_line(&seats, offset()).unwrap(),
            "held: A2 until 12:00:30; A1, A3 until 12:01:00"
        );
        let sold = seat("A4", SeatKind::Standard, 0, SeatStatus::Sold, 2);
        assert_eq!(held_line(&[sold], offset()), None);
    }

    #[test]
    fn terminal_output_clears_and_redraws_in_colour() {
        let view = snapshot_view();
        let frame = draw(&view, &Folded::Snapshot, Output::Terminal);
        assert!(frame.starts_with(CLEAR_SCREEN));
        assert!(frame.ends_with(&render(&view, true)));
        let sold = vec![seat("A2", SeatKind::Companion, 1, SeatStatus::Sold, 2)];
        let (view, folded) = fold(Some(view), update(sold, (5, 0, 2, 1)), at(12, 5, 0)).unwrap();
        let frame = draw(&view, &folded, Output::Terminal);
        assert!(frame.starts_with(CLEAR_SCREEN));
        assert!(frame.ends_with("last: 12:05:00 A2 SOLD v2\n"), "{frame}");
    }
}
