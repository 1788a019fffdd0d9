//! What `cinema watch` knows: a seat map folded from a WatchSeatMap stream.
//!
//! A pure function of its arguments (the time a message arrived is passed
//! in), so folding is tested without a server; [`super::draw`] turns the
//! view into text.

use chrono::NaiveTime;

use crate::proto::v1::{Seat, SeatMap, SeatMapEvent, SeatMapUpdate, seat_map_event};

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
            blocked: map.blocked_count,
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
                // A room never changes under a session: only the seat's
                // state is taken, so an update that carries less than the
                // whole seat cannot move it or change its kind.
                known.status = seat.status;
                known.version = seat.version;
                known.block_reason.clone_from(&seat.block_reason);
                changed.push(seat.clone());
            }
        }
        if !changed.is_empty() {
            self.available = update.available_count;
            self.held = update.held_count;
            self.sold = update.sold_count;
            self.blocked = update.blocked_count;
            self.last_change = at;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        cli::watch::fixtures::{at, blocked, seat, snapshot, snapshot_view, update},
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
        assert_eq!(folded, Folded::Update(vec![held.clone()]));
        assert_eq!(view.seats[0], held);
        assert_eq!(
            (view.available, view.held, view.sold, view.blocked),
            (4, 2, 1, 1)
        );
        assert_eq!(view.last_change, at(12, 1, 2));
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
