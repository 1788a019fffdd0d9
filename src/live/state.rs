//! One watcher's view of a seat map: each seat as the snapshot showed it
//! and its latest status and version, so that a change is applied only if
//! it is newer than what the watcher has, and sent with the seat's place,
//! kind and price.

use std::collections::HashMap;

use crate::domain::{
    Seat, SeatMap, SeatStatus,
    seat::{SeatMapUpdate, SeatsChanged},
};

/// The seats of the snapshot by label, and the counts by status, kept up
/// to date rather than recounted.
pub struct SeatMapState {
    seats: HashMap<String, Seat>,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    available: u32,
    held: u32,
    sold: u32,
    blocked: u32,
}

impl Counts {
    fn of(&mut self, status: SeatStatus) -> &mut u32 {
        match status {
            SeatStatus::Available => &mut self.available,
            SeatStatus::Held => &mut self.held,
            SeatStatus::Sold => &mut self.sold,
            SeatStatus::Blocked => &mut self.blocked,
        }
    }
}

impl SeatMapState {
    /// The state a snapshot shows.
    pub fn new(snapshot: &SeatMap) -> Self {
        let mut counts = Counts::default();
        for seat in &snapshot.seats {
            *counts.of(seat.status) += 1;
        }
        Self {
            seats: snapshot
                .seats
                .iter()
                .map(|seat| (seat.label.clone(), seat.clone()))
                .collect(),
            counts,
        }
    }

    /// Applies the seats of `change` that are newer than this state and
    /// returns them as whole seats; older, repeated or unknown ones are dropped.
    pub fn apply(&mut self, change: &SeatsChanged) -> Vec<Seat> {
        let mut applied = Vec::new();
        for change in &change.seats {
            let Some(seat) = self.seats.get_mut(&change.label) else {
                continue;
            };
            if change.version <= seat.version {
                continue;
            }
            *self.counts.of(seat.status) -= 1;
            *self.counts.of(change.status) += 1;
            *seat = seat.with(change);
            applied.push(seat.clone());
        }
        applied
    }

    /// An update for `seats` of `change`'s session, with the counts after them.
    pub fn update(&self, change: &SeatsChanged, seats: Vec<Seat>) -> SeatMapUpdate {
        SeatMapUpdate {
            session_id: change.session_id,
            seats,
            available: self.counts.available,
            held: self.counts.held,
            sold: self.counts.sold,
            blocked: self.counts.blocked,
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::{SeatKind, seat::SeatChange};

    fn seat(label: &str, x: u32) -> Seat {
        Seat {
            label: label.into(),
            row: label[..1].into(),
            number: label[1..].parse().unwrap(),
            status: SeatStatus::Available,
            version: 0,
            kind: SeatKind::Premium,
            price_cents: 4000,
            x,
            y: 0,
            pair_label: None,
            block_reason: None,
            hold_expire_time: None,
        }
    }

    fn changed(label: &str, status: SeatStatus, version: i64) -> SeatChange {
        SeatChange {
            label: label.into(),
            status,
            version,
            block_reason: (status == SeatStatus::Blocked).then(|| "broken".into()),
            held_until: None,
        }
    }

    fn snapshot() -> SeatMap {
        SeatMap {
            session_id: Uuid::nil(),
            seats: vec![seat("A1", 0), seat("A2", 1), seat("B1", 0), seat("B2", 2)],
            cancelled: false,
        }
    }

    fn change(seats: Vec<SeatChange>) -> SeatsChanged {
        SeatsChanged {
            session_id: Uuid::nil(),
            seats,
            session_cancelled: false,
        }
    }

    #[test]
    fn newer_changes_apply_and_counts_follow() {
        let mut state = SeatMapState::new(&snapshot());
        let held = change(vec![
            changed("B2", SeatStatus::Held, 1),
            changed("A1", SeatStatus::Blocked, 1),
        ]);
        let applied = state.apply(&held);
        assert_eq!(applied.len(), 2);
        assert_eq!((applied[0].x, applied[0].price_cents), (2, 4000));
        assert_eq!(applied[1].block_reason.as_deref(), Some("broken"));
        let update = state.update(&held, applied);
        assert_eq!(
            (update.available, update.held, update.sold, update.blocked),
            (2, 1, 0, 1)
        );
        let sold = change(vec![changed("B2", SeatStatus::Sold, 2)]);
        let applied = state.apply(&sold);
        assert_eq!(state.update(&sold, applied).sold, 1);
    }

    #[test]
    fn old_repeated_and_unknown_seats_are_dropped() {
        let mut state = SeatMapState::new(&snapshot());
        let first = change(vec![changed("A2", SeatStatus::Held, 3)]);
        assert_eq!(state.apply(&first).len(), 1);
        let stale = change(vec![
            changed("A2", SeatStatus::Available, 2),
            changed("A2", SeatStatus::Held, 3),
            changed("C1", SeatStatus::Held, 9),
            changed("A3", SeatStatus::Held, 9),
        ]);
        assert!(state.apply(&stale).is_empty());
        assert_eq!(state.update(&stale, vec![]).held, 1);
    }
}
