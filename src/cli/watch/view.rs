//! What `cinema watch` knows: a seat map folded from a WatchSeatMap stream.
//!
//! A pure function of its arguments (the time a message arrived is passed
//! in, with the watcher's UTC offset), so folding is tested without a
//! server; [`super::draw`] turns the view into text.

use chrono::{DateTime, FixedOffset, Utc};

use crate::proto::{
    datetime,
    v1::{Seat, SeatMap, SeatMapEvent, SeatMapUpdate, SeatStatus, seat_map_event},
};

/// The seat map as this watcher last saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatMapView {
    pub session_id: String,
    /// Every seat, as the snapshot listed them.
    pub seats: Vec<Seat>,
    pub available: u32,
    pub held: u32,
    pub sold: u32,
    pub blocked: u32,
    /// When the last snapshot or change arrived (the stream carries no
    /// times), in the watcher's offset, which every time is shown in.
    pub last_change: DateTime<FixedOffset>,
}

/// What one message did to the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Folded {
    /// The whole map was replaced: the first message, or a resynchronisation.
    Snapshot,
    /// These seats changed, in map order (the server's order within one
    /// update is arbitrary); empty when the message held nothing newer.
    Update(Vec<Change>),
}

/// One seat of an update that was newer than the view's.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The seat as the update sent it.
    pub seat: Seat,
    /// The seat stays held by the same hold, which now ends later.
    pub extended: bool,
}

/// A message that cannot be folded: the server broke the stream's contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("the server sent an update before any snapshot")]
    UpdateBeforeSnapshot,
    #[error("the server sent a message with neither a snapshot nor an update")]
    Empty,
}

/// Folds one stream message, received at `at`, into the view so far.
pub fn fold(
    view: Option<SeatMapView>,
    event: SeatMapEvent,
    at: DateTime<FixedOffset>,
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

/// When the hold on a HELD seat ends, if the server said.
pub fn hold_end(seat: &Seat) -> Option<DateTime<Utc>> {
    if seat.status() != SeatStatus::Held {
        return None;
    }
    datetime(seat.hold_expire_time)
}

/// Whether `new` is `known`'s hold running longer: both HELD, the new end
/// later, and the change seen while the old hold still ran. (A lapsed hold
/// that another customer takes before the sweeper frees it also goes from
/// HELD to HELD with a later end, but only after the old end.)
fn extends(known: &Seat, new: &Seat, at: DateTime<FixedOffset>) -> bool {
    match (hold_end(known), hold_end(new)) {
        (Some(old), Some(end)) => end > old && at.to_utc() < old,
        _ => false,
    }
}

impl SeatMapView {
    fn from_snapshot(map: SeatMap, at: DateTime<FixedOffset>) -> Self {
        Self {
            session_id: map.session_id,
            seats: map.seats,
            available: map.available_count,
            held: map.held_count,
            sold: map.sold_count,
            blocked: map.blocked_count,
            last_change: at,
        }
    }

    /// Applies the seats of `update` newer than the view's; returns them in
    /// map order.
    fn apply(&mut self, update: &SeatMapUpdate, at: DateTime<FixedOffset>) -> Vec<Change> {
        let mut known: Vec<(usize, &Seat)> = update
            .seats
            .iter()
            .filter_map(|seat| Some((self.position(&seat.label)?, seat)))
            .collect();
        known.sort_by_key(|(index, _)| *index);
        let changed: Vec<Change> = known
            .into_iter()
            .filter_map(|(index, seat)| self.take(index, seat, at))
            .collect();
        if !changed.is_empty() {
            self.available = update.available_count;
            self.held = update.held_count;
            self.sold = update.sold_count;
            self.blocked = update.blocked_count;
            self.last_change = at;
        }
        changed
    }

    fn position(&self, label: &str) -> Option<usize> {
        self.seats.iter().position(|seat| seat.label == label)
    }

    /// Takes the state of `seat` for the seat at `index` if it is newer.
    fn take(&mut self, index: usize, seat: &Seat, at: DateTime<FixedOffset>) -> Option<Change> {
        let known = &mut self.seats[index];
        // The server already drops stale changes; checking again keeps a
        // seat from going backwards even if it did not.
        if seat.version <= known.version {
            return None;
        }
        let extended = extends(known, seat, at);
        // A room never changes under a session: only the seat's state is
        // taken, so an update that carries less than the whole seat cannot
        // move it or change its kind.
        known.status = seat.status;
        known.version = seat.version;
        known.block_reason.clone_from(&seat.block_reason);
        known.hold_expire_time = seat.hold_expire_time;
        Some(Change {
            seat: seat.clone(),
            extended,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        cli::watch::fixtures::{at, blocked, held, seat, snapshot, snapshot_view, update},
        proto::v1::{SeatKind, SeatStatus},
    };

    #[test]
    fn a_snapshot_replaces_the_view() {
        let (view, folded) = fold(None, snapshot(), at(12, 0, 0)).unwrap();
        assert_eq!(folded, Folded::Snapshot);
        assert_eq!(
            (view.available, view.held, view.sold, view.blocked),
            (5, 1, 1, 1)
        );
        assert_eq!(view.seats.len(), 8);
    }

    #[test]
    fn an_update_changes_its_seats_counts_and_time() {
        let held = seat("A1", SeatKind::Wheelchair, 0, SeatStatus::Held, 1);
        let (view, folded) = fold(
            Some(snapshot_view()),
            update(vec![held.clone()], (4, 2, 1, 1)),
            at(12, 1, 2),
        )
        .unwrap();
        let change = Change {
            seat: held.clone(),
            extended: false,
        };
        assert_eq!(folded, Folded::Update(vec![change]));
        assert_eq!(view.seats[0], held);
        assert_eq!(
            (view.available, view.held, view.sold, view.blocked),
            (4, 2, 1, 1)
        );
        assert_eq!(view.last_change, at(12, 1, 2));
    }

    /// A2, held until 12:00:30 in the snapshot, held again with version 2
    /// until 12:01:00, as seen at `seen`.
    fn a2_held_longer(seen: DateTime<FixedOffset>) -> (SeatMapView, Folded) {
        let longer = held("A2", SeatKind::Companion, 1, 2, (12, 1, 0));
        fold(
            Some(snapshot_view()),
            update(vec![longer], (5, 1, 1, 1)),
            seen,
        )
        .unwrap()
    }

    fn extended(folded: &Folded) -> Vec<bool> {
        match folded {
            Folded::Update(changes) => changes.iter().map(|c| c.extended).collect(),
            Folded::Snapshot => panic!("a snapshot"),
        }
    }

    #[test]
    fn a_hold_ending_later_seen_before_its_old_end_is_an_extension() {
        let (view, folded) = a2_held_longer(at(12, 0, 10));
        assert_eq!(extended(&folded), [true]);
        assert_eq!(hold_end(&view.seats[1]), Some(at(12, 1, 0).to_utc()));
        assert_eq!(view.seats[1].version, 2);
    }

    #[test]
    fn a_hold_ending_later_seen_after_the_old_end_is_a_new_hold() {
        let (view, folded) = a2_held_longer(at(12, 0, 30));
        assert_eq!(extended(&folded), [false]);
        assert_eq!(hold_end(&view.seats[1]), Some(at(12, 1, 0).to_utc()));
    }

    #[test]
    fn a_hold_end_leaves_with_its_hold() {
        let sold = seat("A2", SeatKind::Companion, 1, SeatStatus::Sold, 2);
        let (view, folded) = fold(
            Some(snapshot_view()),
            update(vec![sold], (5, 0, 2, 1)),
            at(12, 0, 10),
        )
        .unwrap();
        assert_eq!(extended(&folded), [false]);
        assert_eq!(view.seats[1].hold_expire_time, None);
        assert_eq!(
            hold_end(&snapshot_view().seats[1]),
            Some(at(12, 0, 30).to_utc())
        );
    }

    #[test]
    fn an_update_changes_a_seats_state_never_its_place_or_kind() {
        let bare = Seat {
            label: "B4".into(),
            status: SeatStatus::Blocked.into(),
            version: 1,
            block_reason: "camera".into(),
            ..Default::default()
        };
        let (view, _) = fold(
            Some(snapshot_view()),
            update(vec![bare], (4, 1, 1, 2)),
            at(12, 1, 2),
        )
        .unwrap();
        assert_eq!(view.seats[7], blocked_premium("B4", 4, "camera", 1));
    }

    fn blocked_premium(label: &str, x: u32, reason: &str, version: i64) -> Seat {
        Seat {
            kind: SeatKind::Premium.into(),
            ..blocked(label, x, reason, version)
        }
    }

    #[test]
    fn unblocking_clears_the_reason() {
        let free = seat("A3", SeatKind::Standard, 3, SeatStatus::Available, 2);
        let (view, _) = fold(
            Some(snapshot_view()),
            update(vec![free.clone()], (6, 1, 1, 0)),
            at(12, 1, 2),
        )
        .unwrap();
        assert_eq!(view.seats[2], free);
        assert_eq!(view.blocked, 0);
    }

    #[test]
    fn stale_and_unknown_seats_change_nothing() {
        let before = snapshot_view();
        let stale = update(
            vec![
                seat("A2", SeatKind::Companion, 1, SeatStatus::Available, 1),
                seat("Z9", SeatKind::Standard, 0, SeatStatus::Sold, 5),
            ],
            (9, 9, 9, 9),
        );
        let (view, folded) = fold(Some(before.clone()), stale, at(13, 0, 0)).unwrap();
        assert_eq!(folded, Folded::Update(vec![]));
        assert_eq!(view, before);
    }

    #[test]
    fn an_update_before_a_snapshot_or_an_empty_message_is_an_error() {
        let early = fold(None, update(vec![], (0, 0, 0, 0)), at(12, 0, 0));
        assert_eq!(early.unwrap_err(), FoldError::UpdateBeforeSnapshot);
        let empty = fold(
            Some(snapshot_view()),
            SeatMapEvent { event: None },
            at(12, 0, 0),
        );
        assert_eq!(empty.unwrap_err(), FoldError::Empty);
    }
}
