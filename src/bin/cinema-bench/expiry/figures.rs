//! What `expiry` reports: how late each hold showed as AVAILABLE on the
//! map and on the stream, and how reserving its seat again was answered.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ExpiryArgs, Hold};
use crate::stats::{Latencies, Summary, millis, summary_text};

#[derive(Serialize)]
pub(super) struct Figures {
    holds: usize,
    hold_seconds: Option<f64>,
    poll_ms: f64,
    /// expire_time -> the seat map showed AVAILABLE (includes up to one poll).
    seat_map_late_ms: Option<Summary>,
    /// expire_time -> a watch stream delivered AVAILABLE.
    stream_late_ms: Option<Summary>,
    pub(super) seen_on_map: usize,
    pub(super) seen_on_stream: usize,
    /// Shown AVAILABLE before its expire_time.
    pub(super) early: usize,
    /// Reserving each seat again once all had shown AVAILABLE: answers by code.
    retake_codes: HashMap<String, usize>,
}

pub(super) fn figures(holds: &[Hold], hold_seconds: Option<f64>, args: &ExpiryArgs) -> Figures {
    let late = |seen: fn(&Hold) -> Option<DateTime<Utc>>| -> Vec<Duration> {
        holds
            .iter()
            .filter_map(|h| seen(h).map(|at| (at - h.expire_time).to_std().unwrap_or_default()))
            .collect()
    };
    let early = holds
        .iter()
        .filter(|h| {
            [h.on_map, h.on_stream]
                .iter()
                .flatten()
                .any(|at| *at < h.expire_time)
        })
        .count();
    let mut retake_codes = HashMap::new();
    for hold in holds {
        let code = hold
            .retaken
            .map_or("not tried", cinema::grpc::status::code_name);
        *retake_codes.entry(code.to_owned()).or_default() += 1;
    }
    Figures {
        holds: holds.len(),
        hold_seconds,
        poll_ms: millis(args.poll),
        seat_map_late_ms: Latencies::new(late(|h| h.on_map)).summary(),
        stream_late_ms: Latencies::new(late(|h| h.on_stream)).summary(),
        seen_on_map: holds.iter().filter(|h| h.on_map.is_some()).count(),
        seen_on_stream: holds.iter().filter(|h| h.on_stream.is_some()).count(),
        early,
        retake_codes,
    }
}

pub(super) fn text(f: &Figures) -> String {
    format!(
        "expiry: {} holds of {} s, seat map read every {} ms\n\
         seat map late  {}\n\
         stream late    {}\n\
         seen on map {}/{}, on stream {}/{}, early {}\n\
         reserved again after the end: {:?}\n",
        f.holds,
        f.hold_seconds.map_or("?".to_owned(), |s| format!("{s:.1}")),
        f.poll_ms,
        summary_text(f.seat_map_late_ms.as_ref()),
        summary_text(f.stream_late_ms.as_ref()),
        f.seen_on_map,
        f.holds,
        f.seen_on_stream,
        f.holds,
        f.early,
        f.retake_codes
    )
}
