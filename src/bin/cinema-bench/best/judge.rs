//! Checks made on the answers alone: blocks of adjacent seats, no seat
//! given twice, and no refusal sent while a block was certainly left.

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use cinema::domain::SeatLabel;

use super::calls::Call;

/// Blocks handed out that are not `quantity` seats side by side in one
/// row (same row, consecutive numbers).
pub fn blocks_not_adjacent(calls: &[Call], quantity: usize) -> usize {
    calls
        .iter()
        .filter_map(Call::held)
        .filter(|seats| !adjacent_in_one_row(seats, quantity))
        .count()
}

fn adjacent_in_one_row(seats: &[String], quantity: usize) -> bool {
    let Ok(mut labels) = seats
        .iter()
        .map(|seat| seat.parse::<SeatLabel>())
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    labels.sort_unstable();
    labels.len() == quantity
        && labels
            .windows(2)
            .all(|pair| pair[0].row() == pair[1].row() && pair[0].number() + 1 == pair[1].number())
}

/// Seats of one session handed out by two answers.
pub fn seats_given_twice(calls: &[Call]) -> usize {
    let mut given = HashSet::new();
    calls
        .iter()
        .filter_map(|call| Some((call.session, call.held()?)))
        .flat_map(|(session, seats)| seats.iter().map(move |seat| (session, seat)))
        .filter(|&seat| !given.insert(seat))
        .count()
}

/// Refusals picked by `refused` that were answered before some successful
/// call on the same session was even sent. Nothing frees a seat during the
/// run (no cancels, holds outlast it), so that later success proves a block
/// was free for the whole of the refused call.
pub fn refused_while_a_block_was_left(calls: &[Call], refused: impl Fn(&Call) -> bool) -> usize {
    let mut last_success: HashMap<usize, Instant> = HashMap::new();
    for call in calls.iter().filter(|call| call.held().is_some()) {
        let last = last_success.entry(call.session).or_insert(call.sent);
        *last = (*last).max(call.sent);
    }
    calls
        .iter()
        .filter(|call| refused(call))
        .filter(|call| {
            last_success
                .get(&call.session)
                .is_some_and(|last| call.answered < *last)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Code;

    use super::*;
    use crate::best::calls::{NOT_ENOUGH, Outcome};

    fn held(session: usize, at: u64, seats: &[&str]) -> Call {
        let seats = seats.iter().map(|s| s.to_string()).collect();
        let expires = std::time::SystemTime::now() + Duration::from_secs(30);
        call(session, at, Outcome::Held { seats, expires })
    }

    fn not_enough(session: usize, at: u64) -> Call {
        let types = vec![NOT_ENOUGH.to_owned()];
        let outcome = Outcome::Refused {
            code: Code::FailedPrecondition,
            types,
        };
        call(session, at, outcome)
    }

    /// A call sent at `at` ms after a fixed start and answered 5 ms later.
    fn call(session: usize, at: u64, outcome: Outcome) -> Call {
        let start = *START;
        let sent = start + Duration::from_millis(at);
        Call {
            session,
            sent,
            answered: sent + Duration::from_millis(5),
            outcome,
        }
    }

    static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

    #[test]
    fn blocks_must_be_consecutive_seats_of_one_row() {
        let calls = [
            held(0, 0, &["B10", "B9"]),
            held(0, 0, &["B1", "C2"]),
            held(0, 0, &["D1", "D3"]),
            held(0, 0, &["E1"]),
        ];
        assert_eq!(blocks_not_adjacent(&calls, 2), 3);
    }

    #[test]
    fn a_seat_given_twice_counts_per_session() {
        let calls = [
            held(0, 0, &["A1", "A2"]),
            held(1, 0, &["A1", "A2"]),
            held(0, 0, &["A2", "A3"]),
        ];
        assert_eq!(seats_given_twice(&calls), 1);
    }

    #[test]
    fn a_refusal_before_a_later_success_is_premature() {
        let calls = [
            not_enough(0, 0),
            held(0, 10, &["A1", "A2"]),
            not_enough(0, 20),
            not_enough(1, 0),
        ];
        assert_eq!(refused_while_a_block_was_left(&calls, Call::not_enough), 1);
    }
}
