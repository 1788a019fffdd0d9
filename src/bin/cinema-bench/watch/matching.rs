//! Which delivery belongs to which change, and how long after the change
//! it arrived.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use super::{changes::Change, fleet::Seen};

/// Deliveries matched to their change by seat label and version.
pub(super) struct Matched {
    /// For each change, the latency of each watcher that received it.
    pub(super) per_change: Vec<Vec<Duration>>,
    /// Every delivery's time from when its change's call was sent.
    pub(super) from_call_start: Vec<Duration>,
    /// Deliveries stamped before their change's call had returned.
    pub(super) early: usize,
}

impl Matched {
    /// Per change that reached anyone, its fastest watcher's latency.
    pub(super) fn fastest(&self) -> Vec<Duration> {
        self.per_change
            .iter()
            .filter_map(|l| l.iter().min().copied())
            .collect()
    }

    /// Per change that reached anyone, its slowest watcher's latency.
    pub(super) fn slowest(&self) -> Vec<Duration> {
        self.per_change
            .iter()
            .filter_map(|l| l.iter().max().copied())
            .collect()
    }
}

/// Pairs each watcher's receipts with the change that made them; a receipt
/// of no change made here (another seat, an older version) is left out.
pub(super) fn match_deliveries(changes: &[Change], seen: &[Seen]) -> Matched {
    let index: HashMap<(&str, i64), usize> = changes
        .iter()
        .enumerate()
        .map(|(i, change)| ((change.label.as_str(), change.version), i))
        .collect();
    let mut matched = Matched {
        per_change: vec![Vec::new(); changes.len()],
        from_call_start: Vec::new(),
        early: 0,
    };
    for watcher in seen {
        // A change counts once per watcher, however often it arrived.
        let mut counted = HashSet::new();
        for receipt in &watcher.receipts {
            let Some(&i) = index.get(&(receipt.label.as_str(), receipt.version)) else {
                continue;
            };
            if !counted.insert(i) {
                continue;
            }
            let change = &changes[i];
            if receipt.at < change.committed {
                matched.early += 1;
            }
            matched.per_change[i].push(receipt.at.saturating_duration_since(change.committed));
            matched
                .from_call_start
                .push(receipt.at.saturating_duration_since(change.started));
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::watch::fleet::Receipt;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn deliveries_match_on_label_and_version_once_per_watcher() {
        let t0 = Instant::now();
        let changes = vec![
            Change {
                label: "A1".into(),
                version: 1,
                started: t0,
                committed: t0,
            },
            Change {
                label: "A1".into(),
                version: 2,
                started: t0 + ms(80),
                committed: t0 + ms(100),
            },
        ];
        let receipt = |label: &str, version, at| Receipt {
            label: label.into(),
            version,
            at,
        };
        let seen = vec![Seen {
            receipts: vec![
                receipt("A1", 1, t0 + ms(5)),
                receipt("A1", 1, t0 + ms(6)),  // repeated: not counted
                receipt("B1", 1, t0 + ms(7)),  // no such change
                receipt("A1", 2, t0 + ms(90)), // before the call returned
            ],
            resyncs: 0,
        }];
        let matched = match_deliveries(&changes, &seen);
        assert_eq!(matched.per_change, vec![vec![ms(5)], vec![Duration::ZERO]]);
        assert_eq!(matched.from_call_start, vec![ms(5), ms(10)]);
        assert_eq!(matched.early, 1);
    }
}
