//! What `watch` reports: delivery counts, latencies over every delivery
//! and per change, the server's memory per watcher and the CPU used.

use serde::Serialize;

use super::{
    WatchArgs,
    changes::Change,
    fleet::Outcome,
    matching::{Matched, match_deliveries},
};
use crate::{
    cpu::CpuUsage,
    stats::{Latencies, Summary, millis, summary_text},
};

#[derive(Debug, Serialize)]
pub(super) struct Memory {
    pub(super) before_kib: u64,
    pub(super) after_kib: u64,
    pub(super) per_watcher_bytes: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct Timings {
    /// Opening every watcher until the last snapshot arrived.
    pub(super) open_seconds: f64,
    /// From the first change until the last one reached every watcher.
    pub(super) changes_seconds: f64,
    /// The whole run.
    pub(super) wall_seconds: f64,
}

/// What the report says, on stdout and in the JSON.
#[derive(Debug, Serialize)]
pub(super) struct Figures {
    watchers: usize,
    connections: u32,
    changes: usize,
    pub(super) deliveries_expected: usize,
    pub(super) deliveries_received: usize,
    /// Deliveries that arrived before the call that made them had returned
    /// (counted as 0 ms).
    deliveries_before_commit_returned: usize,
    /// Fresh snapshots sent to watchers that fell behind.
    resyncs: usize,
    watchers_failed: usize,
    first_error: Option<String>,
    /// Commit returned -> update received, over every delivery.
    latency_ms: Option<Summary>,
    /// Call sent -> update received: the commit happened in between, so the
    /// true commit-to-delivery time lies between this and `latency_ms`.
    latency_from_call_start_ms: Option<Summary>,
    /// Per change, the fastest watcher: the path without the fan-out.
    first_delivery_ms: Option<Summary>,
    /// Per change, the slowest watcher: when the fan-out was complete.
    last_delivery_ms: Option<Summary>,
    /// How long the ReserveSeats / CancelReservation calls took.
    change_call_ms: Option<Summary>,
    memory: Option<Memory>,
    timings: Timings,
    /// Where the CPU went while the changes were made and delivered.
    cpu_during_changes: CpuUsage,
    /// Each change in order, to see warm-up and outliers (JSON only).
    #[serde(rename = "per_change")]
    each_change: Vec<ChangeFigures>,
}

/// One change's figures; times in milliseconds.
#[derive(Debug, Serialize)]
struct ChangeFigures {
    seat: String,
    version: i64,
    call_ms: f64,
    received: usize,
    first_ms: Option<f64>,
    last_ms: Option<f64>,
}

impl Figures {
    pub(super) fn new(
        args: &WatchArgs,
        changes: &[Change],
        outcome: &Outcome,
        memory: Option<Memory>,
        cpu: CpuUsage,
        timings: Timings,
    ) -> Self {
        let matched = match_deliveries(changes, &outcome.seen);
        let all = Latencies::new(matched.per_change.iter().flatten().copied().collect());
        let first = Latencies::new(matched.fastest());
        let last = Latencies::new(matched.slowest());
        let each_change = each_change(changes, &matched);
        let from_start = Latencies::new(matched.from_call_start);
        let calls = Latencies::new(changes.iter().map(|c| c.committed - c.started).collect());
        Self {
            watchers: args.watchers as usize,
            connections: args.connections,
            changes: changes.len(),
            deliveries_expected: args.watchers as usize * changes.len(),
            deliveries_received: all.len(),
            deliveries_before_commit_returned: matched.early,
            resyncs: outcome.seen.iter().map(|s| s.resyncs).sum(),
            watchers_failed: outcome.failed,
            first_error: outcome.first_error.clone(),
            latency_ms: all.summary(),
            latency_from_call_start_ms: from_start.summary(),
            first_delivery_ms: first.summary(),
            last_delivery_ms: last.summary(),
            change_call_ms: calls.summary(),
            memory,
            timings,
            cpu_during_changes: cpu,
            each_change,
        }
    }

    pub(super) fn text(&self) -> String {
        let summary = |s: &Option<Summary>| summary_text(s.as_ref());
        let mut text = format!(
            "watchers {} over {} connections, {} changes\n\
             deliveries {}/{} (early {}, resyncs {}, failed watchers {})\n\
             latency          {}\n\
             from call start  {}\n\
             first delivery   {}\n\
             last delivery    {}\n\
             change call      {}\n",
            self.watchers,
            self.connections,
            self.changes,
            self.deliveries_received,
            self.deliveries_expected,
            self.deliveries_before_commit_returned,
            self.resyncs,
            self.watchers_failed,
            summary(&self.latency_ms),
            summary(&self.latency_from_call_start_ms),
            summary(&self.first_delivery_ms),
            summary(&self.last_delivery_ms),
            summary(&self.change_call_ms),
        );
        if let Some(error) = &self.first_error {
            text.push_str(&format!("first watcher error: {error}\n"));
        }
        if let Some(memory) = &self.memory {
            text.push_str(&format!(
                "server RSS {} KiB -> {} KiB: {} bytes per watcher\n",
                memory.before_kib, memory.after_kib, memory.per_watcher_bytes
            ));
        }
        text.push_str(&format!(
            "CPU while changing: {}\n",
            self.cpu_during_changes.text()
        ));
        text.push_str(&format!(
            "open {:.1} s, changes {:.1} s, wall {:.1} s\n",
            self.timings.open_seconds, self.timings.changes_seconds, self.timings.wall_seconds
        ));
        text
    }
}

/// Each change's own figures, in the order they were made.
fn each_change(changes: &[Change], matched: &Matched) -> Vec<ChangeFigures> {
    changes
        .iter()
        .zip(&matched.per_change)
        .map(|(change, latencies)| ChangeFigures {
            seat: change.label.clone(),
            version: change.version,
            call_ms: millis(change.committed - change.started),
            received: latencies.len(),
            first_ms: latencies.iter().min().copied().map(millis),
            last_ms: latencies.iter().max().copied().map(millis),
        })
        .collect()
}
