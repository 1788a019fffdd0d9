//! Seats and stream messages as the server sends them, for the unit tests
//! of folding and drawing.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

use super::view::{SeatMapView, fold};
use crate::proto::{
    timestamp,
    v1::{Seat, SeatKind, SeatMap, SeatMapEvent, SeatMapUpdate, SeatStatus, seat_map_event},
};

/// The watcher's offset in these tests: São Paulo's, UTC-3.
pub fn offset() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).expect("a valid offset")
}

/// A time of day on the watcher's clock.
pub fn at(h: u32, m: u32, s: u32) -> DateTime<FixedOffset> {
    let day = NaiveDate::from_ymd_opt(2026, 11, 30).expect("a valid date");
    let time = day.and_hms_opt(h, m, s).expect("a valid time");
    offset()
        .from_local_datetime(&time)
        .single()
        .expect("one instant")
}

/// A seat held until `until` (on the watcher's clock).
pub fn held(label: &str, kind: SeatKind, x: u32, version: i64, until: (u32, u32, u32)) -> Seat {
    let (h, m, s) = until;
    Seat {
        hold_expire_time: Some(timestamp(at(h, m, s).to_utc())),
        ..seat(label, kind, x, SeatStatus::Held, version)
    }
}

/// A seat at (`x`, the row's index) as the server sends it.
pub fn seat(label: &str, kind: SeatKind, x: u32, status: SeatStatus, version: i64) -> Seat {
    let row = &label[..1];
    Seat {
        label: label.into(),
        row: row.into(),
        number: label[1..].parse().expect("a seat number"),
        status: status.into(),
        version,
        kind: kind.into(),
        x,
        y: u32::from(row.as_bytes()[0] - b'A'),
        ..Default::default()
    }
}

/// Half of a couple seat, its other half `pair`.
pub fn couple(label: &str, pair: &str, x: u32, status: SeatStatus, version: i64) -> Seat {
    Seat {
        pair_label: pair.into(),
        ..seat(label, SeatKind::Couple, x, status, version)
    }
}

/// A blocked standard seat.
pub fn blocked(label: &str, x: u32, reason: &str, version: i64) -> Seat {
    Seat {
        block_reason: reason.into(),
        ..seat(label, SeatKind::Standard, x, SeatStatus::Blocked, version)
    }
}

/// Rows `WC_SS` and `PLR_P`: a gap in each, a couple, one seat of every
/// status.
pub fn snapshot() -> SeatMapEvent {
    use SeatKind::*;
    use SeatStatus::*;
    let seats = vec![
        seat("A1", Wheelchair, 0, Available, 0),
        held("A2", Companion, 1, 1, (12, 0, 30)),
        blocked("A3", 3, "broken", 1),
        seat("A4", Standard, 4, Available, 0),
        seat("B1", Premium, 0, Sold, 2),
        couple("B2", "B3", 1, Available, 0),
        couple("B3", "B2", 2, Available, 0),
        seat("B4", Premium, 4, Available, 0),
    ];
    SeatMapEvent {
        event: Some(seat_map_event::Event::Snapshot(SeatMap {
            session_id: "s1".into(),
            seats,
            available_count: 5,
            held_count: 1,
            sold_count: 1,
            blocked_count: 1,
        })),
    }
}

/// An update; `counts` are available, held, sold and blocked.
pub fn update(seats: Vec<Seat>, counts: (u32, u32, u32, u32)) -> SeatMapEvent {
    SeatMapEvent {
        event: Some(seat_map_event::Event::Update(SeatMapUpdate {
            session_id: "s1".into(),
            seats,
            available_count: counts.0,
            held_count: counts.1,
            sold_count: counts.2,
            blocked_count: counts.3,
        })),
    }
}

/// The view after [`snapshot`], at 12:00:00.
pub fn snapshot_view() -> SeatMapView {
    fold(None, snapshot(), at(12, 0, 0))
        .expect("a snapshot folds")
        .0
}
