//! Distinct seats for many concurrent callers: each seat of a set of
//! sessions handed out once.

use std::sync::atomic::{AtomicUsize, Ordering};

use cinema::domain::SeatLabel;

use crate::client::room_labels;

/// Hands out every seat of the sessions once, spread over the sessions.
pub struct SeatSupply<S> {
    sessions: Vec<S>,
    labels: Vec<SeatLabel>,
    next: AtomicUsize,
}

impl<S: Clone> SeatSupply<S> {
    pub fn new(sessions: Vec<S>, rows: u32, seats_per_row: u32) -> anyhow::Result<Self> {
        let labels = room_labels(rows, seats_per_row)
            .iter()
            .map(|label| {
                label
                    .parse()
                    .map_err(|_| anyhow::anyhow!("bad label {label}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            sessions,
            labels,
            next: AtomicUsize::new(0),
        })
    }

    /// The next unused seat, or None once every seat was handed out.
    pub fn next(&self) -> Option<(S, SeatLabel)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.sessions.len();
        if count == 0 {
            return None;
        }
        let session = self.sessions[n % count].clone();
        let label = *self.labels.get(n / count)?;
        Some((session, label))
    }

    /// Seats handed out (capped at the supply).
    pub fn used(&self) -> usize {
        self.next
            .load(Ordering::Relaxed)
            .min(self.sessions.len() * self.labels.len())
    }

    pub fn exhausted(&self) -> bool {
        self.used() == self.sessions.len() * self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seat_is_handed_out_once_across_sessions() {
        let supply = SeatSupply::new(vec!["s1", "s2"], 2, 8).expect("a supply");
        let mut seen = std::collections::HashSet::new();
        while let Some((session, label)) = supply.next() {
            assert!(seen.insert((session, label.to_string())));
        }
        assert_eq!(seen.len(), 32);
        assert!(supply.exhausted());
    }
}
