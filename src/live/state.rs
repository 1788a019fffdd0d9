//! One watcher's view of a seat map: each seat's status and version, so
//! that a change is applied only if it is newer than what the watcher has.

use crate::domain::{
    Seat, SeatLabel, SeatMap, SeatStatus,
    seat::{SeatMapUpdate, SeatsChanged},
};

/// Compact on purpose: a status and a version per seat, found by position,
/// and the counts by status, kept up to date rather than recounted.
pub struct SeatMapState {
    seats_per_row: u32,
    seats: Vec<(SeatStatus, i64)>,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    available: u32,
    held: u32,
    sold: u32,
}

impl Counts {
    fn of(&mut self, status: SeatStatus) -> &mut u32 {
        match status {
            SeatStatus::Available => &mut self.available,
            SeatStatus::Held => &mut self.held,
            SeatStatus::Sold => &mut self.sold,
        }
    }
}

impl SeatMapState {
    /// The state a snapshot shows (seats row by row, as GetSeatMap lists them).
    pub fn new(snapshot: &SeatMap) -> Self {
        let seats_per_row = snapshot.seats.iter().filter(|seat| seat.row == "A").count() as u32;
        let mut counts = Counts::default();
        for seat in &snapshot.seats {
            *counts.of(seat.status) += 1;
        }
        Self {
            seats_per_row,
            seats: snapshot
                .seats
                .iter()
                .map(|seat| (seat.status, seat.version))
                .collect(),
            counts,
        }
    }

    /// Applies the seats of `change` that are newer than this state and
    /// returns them; older or repeated ones are dropped.
    pub fn apply(&mut self, change: &SeatsChanged) -> Vec<Seat> {
        change
            .seats
            .iter()
            .filter(|seat| {
                let Some(slot) = self.slot(&seat.label) else {
                    return false;
                };
                let (status, version) = &mut self.seats[slot];
                if seat.version <= *version {
                    return false;
                }
                *self.counts.of(*status) -= 1;
                *self.counts.of(seat.status) += 1;
                (*status, *version) = (seat.status, seat.version);
                true
            })
            .cloned()
            .collect()
    }

    /// An update for `seats` of `change`'s session, with the counts after them.
    pub fn update(&self, change: &SeatsChanged, seats: Vec<Seat>) -> SeatMapUpdate {
        SeatMapUpdate {
            session_id: change.session_id,
            seats,
            available: self.counts.available,
            held: self.counts.held,
            sold: self.counts.sold,
        }
    }

    fn slot(&self, label: &str) -> Option<usize> {
        let label: SeatLabel = label.parse().ok()?;
        let row = u32::from(label.row()) - u32::from('A');
        let slot = (row * self.seats_per_row + label.number() - 1) as usize;
        (label.number() <= self.seats_per_row && slot < self.seats.len()).then_some(slot)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn seat(label: &str, status: SeatStatus, version: i64) -> Seat {
        Seat::changed(label, status, version)
    }

    fn snapshot() -> SeatMap {
        let seats: Vec<Seat> = ["A1", "A2", "B1", "B2"]
            .iter()
            .map(|l| seat(l, SeatStatus::Available, 0))
            .collect();
        SeatMap {
            session_id: Uuid::nil(),
            seats,
        }
    }

    fn change(seats: Vec<Seat>) -> SeatsChanged {
        SeatsChanged {
            session_id: Uuid::nil(),
            seats,
        }
    }

    #[test]
    fn newer_changes_apply_and_counts_follow() {
        let mut state = SeatMapState::new(&snapshot());
        let held = change(vec![
            seat("B2", SeatStatus::Held, 1),
            seat("A1", SeatStatus::Held, 1),
        ]);
        let applied = state.apply(&held);
        assert_eq!(applied.len(), 2);
        let update = state.update(&held, applied);
        assert_eq!((update.available, update.held, update.sold), (2, 2, 0));
        let sold = change(vec![seat("B2", SeatStatus::Sold, 2)]);
        let applied = state.apply(&sold);
        assert_eq!(state.update(&sold, applied).sold, 1);
    }

    #[test]
    fn old_repeated_and_unknown_seats_are_dropped() {
        let mut state = SeatMapState::new(&snapshot());
        assert_eq!(
            state
                .apply(&change(vec![seat("A2", SeatStatus::Held, 3)]))
                .len(),
            1
        );
        let stale = change(vec![
            seat("A2", SeatStatus::Available, 2),
            seat("A2", SeatStatus::Held, 3),
            seat("C1", SeatStatus::Held, 9),
            seat("A3", SeatStatus::Held, 9),
        ]);
        assert!(state.apply(&stale).is_empty());
        assert_eq!(state.update(&stale, vec![]).held, 1);
    }
}
