//! Latency percentiles and answers counted by gRPC code.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use cinema::grpc::status::code_name;
use serde::Serialize;

/// Durations with nearest-rank percentiles.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self { sorted: samples }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The smallest sample that at least `p` percent of samples do not
    /// exceed (nearest rank); None without samples.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let rank = (p.clamp(0.0, 100.0) / 100.0 * n as f64).ceil() as usize;
        Some(self.sorted[rank.clamp(1, n) - 1])
    }

    pub fn max(&self) -> Option<Duration> {
        self.sorted.last().copied()
    }

    pub fn summary(&self) -> Option<Summary> {
        Some(Summary {
            p50: millis(self.percentile(50.0)?),
            p90: millis(self.percentile(90.0)?),
            p99: millis(self.percentile(99.0)?),
            max: millis(self.max()?),
        })
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Calls of one kind: how long each took and how each was answered.
#[derive(Debug, Default)]
pub struct Calls {
    latencies: Vec<Duration>,
    codes: BTreeMap<&'static str, u64>,
}

impl Calls {
    /// Records one call that started at `started` and was answered with `code`.
    pub fn record(&mut self, started: Instant, code: tonic::Code) -> Duration {
        let took = started.elapsed();
        self.record_took(took, code);
        took
    }

    /// Records one call that took `took` and was answered with `code`.
    pub fn record_took(&mut self, took: Duration, code: tonic::Code) {
        self.latencies.push(took);
        *self.codes.entry(code_name(code)).or_default() += 1;
    }

    pub fn merge(&mut self, other: Calls) {
        self.latencies.extend(other.latencies);
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
    }

    pub fn count(&self) -> u64 {
        self.latencies.len() as u64
    }

    pub fn ok(&self) -> u64 {
        self.codes.get("OK").copied().unwrap_or_default()
    }

    pub fn figures(&self, seconds: f64) -> CallFigures {
        CallFigures {
            calls: self.count(),
            per_second: rate(self.count(), seconds),
            ok_per_second: rate(self.ok(), seconds),
            codes: self.codes.clone(),
            latency_ms: Latencies::new(self.latencies.clone()).summary(),
        }
    }
}

/// What a report says about one kind of call.
#[derive(Debug, Clone, Serialize)]
pub struct CallFigures {
    pub calls: u64,
    pub per_second: f64,
    /// Calls answered OK per second.
    pub ok_per_second: f64,
    /// Answers by gRPC code name (OK, ABORTED, FAILED_PRECONDITION, ...).
    pub codes: BTreeMap<&'static str, u64>,
    pub latency_ms: Option<Summary>,
}

impl CallFigures {
    /// Calls answered INTERNAL: the server failed, not the caller.
    pub fn internal_answers(&self) -> u64 {
        self.codes.get("INTERNAL").copied().unwrap_or_default()
    }

    /// One line: count, rate, percentiles, codes.
    pub fn line(&self, name: &str) -> String {
        let codes: Vec<String> = self.codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        format!(
            "{name:<14} {:>7} calls {:>8.1}/s (OK {:.1}/s)  {}  [{}]\n",
            self.calls,
            self.per_second,
            self.ok_per_second,
            summary_text(self.latency_ms.as_ref()),
            codes.join(", ")
        )
    }
}

/// `p50 1.20  p90 ...  ms`, or "no samples".
pub fn summary_text(summary: Option<&Summary>) -> String {
    match summary {
        Some(s) => format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2} ms",
            s.p50, s.p90, s.p99, s.max
        ),
        None => "no samples".to_owned(),
    }
}

pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    (count as f64 / seconds * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let latencies = Latencies::new((1..=100).rev().map(ms).collect());
        assert_eq!(latencies.percentile(50.0), Some(ms(50)));
        assert_eq!(latencies.percentile(90.0), Some(ms(90)));
        assert_eq!(latencies.percentile(99.0), Some(ms(99)));
        assert_eq!(latencies.percentile(99.5), Some(ms(100)));
        assert_eq!(latencies.percentile(0.0), Some(ms(1)));
        assert_eq!(latencies.max(), Some(ms(100)));
    }

    #[test]
    fn few_samples_round_up_to_a_real_sample() {
        let latencies = Latencies::new(vec![ms(30), ms(10), ms(20)]);
        assert_eq!(latencies.percentile(50.0), Some(ms(20)));
        assert_eq!(latencies.percentile(99.0), Some(ms(30)));
        let one = Latencies::new(vec![ms(7)]);
        assert_eq!(one.percentile(1.0), Some(ms(7)));
    }

    #[test]
    fn no_samples_no_percentiles() {
        let empty = Latencies::new(Vec::new());
        assert_eq!(empty.percentile(50.0), None);
        assert!(empty.summary().is_none());
    }

    #[test]
    fn summary_is_in_milliseconds() {
        let latencies = Latencies::new(vec![Duration::from_micros(1500), ms(3)]);
        assert_eq!(
            latencies.summary(),
            Some(Summary {
                p50: 1.5,
                p90: 3.0,
                p99: 3.0,
                max: 3.0
            })
        );
    }

    #[test]
    fn calls_count_codes_and_merge() {
        let started = Instant::now();
        let mut a = Calls::default();
        a.record(started, tonic::Code::Ok);
        a.record(started, tonic::Code::Aborted);
        let mut b = Calls::default();
        b.record(started, tonic::Code::Ok);
        a.merge(b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.ok(), 2);
        let figures = a.figures(2.0);
        assert_eq!(figures.per_second, 1.5);
        assert_eq!(figures.codes.get("ABORTED"), Some(&1));
    }
}
