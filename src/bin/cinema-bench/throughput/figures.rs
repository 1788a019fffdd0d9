//! What `throughput` reports: reserves and confirms per second, beside
//! the bare-database baseline, round by round and overall; and its checks.

use anyhow::Context;
use serde::Serialize;

use super::ThroughputArgs;
use crate::{
    cpu::CpuUsage,
    database::ServerDatabase,
    memory::peak_rss_line,
    report::Check,
    seat_supply::SeatSupply,
    stats::{CallFigures, Calls},
};

#[derive(Serialize)]
pub(super) struct Figures {
    clients: u32,
    connections: u32,
    rounds: u32,
    /// Seconds the service ran, over every round.
    duration_seconds: f64,
    sessions: u32,
    confirm_percent: u32,
    reserve: CallFigures,
    confirm: CallFigures,
    /// The bare SQL of ReserveSeats at the same concurrency.
    baseline_reserve: Option<CallFigures>,
    /// Successful reserves per second, service / baseline, over every round.
    service_to_baseline: Option<f64>,
    /// Each round's successful reserves per second.
    each_round: Vec<Round>,
    seats_used: usize,
    pub(super) ran_out_of_seats: bool,
    server_peak_rss_kib: Option<u64>,
    /// Over the service runs; machine busy is their mean.
    cpu: CpuUsage,
}

#[derive(Serialize)]
pub(super) struct Round {
    baseline_ok_per_second: Option<f64>,
    service_ok_per_second: f64,
    service_to_baseline: Option<f64>,
}

/// `service / baseline`, two decimals; None without a baseline.
fn ratio(service: f64, baseline: Option<f64>) -> Option<f64> {
    baseline
        .filter(|b| *b > 0.0)
        .map(|b| (service / b * 100.0).round() / 100.0)
}

/// What the rounds add up to, service and baseline apart.
#[derive(Default)]
pub(super) struct Totals {
    reserves: Calls,
    confirms: Calls,
    seconds: f64,
    baseline_calls: Calls,
    baseline_seconds: f64,
    rounds: Vec<Round>,
    cpu: Option<CpuUsage>,
}

/// One round's calls, and the seconds they ran.
pub(super) struct RoundCalls {
    pub(super) baseline: Option<(Calls, f64)>,
    pub(super) reserves: Calls,
    pub(super) confirms: Calls,
    pub(super) seconds: f64,
    /// CPU used during the service run.
    pub(super) cpu: CpuUsage,
}

impl Totals {
    /// Adds round number `round` (from 1).
    pub(super) fn add(&mut self, round: u32, calls: RoundCalls) {
        let mut baseline_rate = None;
        if let Some((baseline, took)) = calls.baseline {
            baseline_rate = Some(baseline.figures(took).ok_per_second);
            self.baseline_calls.merge(baseline);
            self.baseline_seconds += took;
        }
        let used = calls.cpu;
        self.cpu = Some(self.cpu.map_or(used, |sum| sum.plus(used, round)));
        let service_rate = calls.reserves.figures(calls.seconds).ok_per_second;
        self.rounds.push(Round {
            baseline_ok_per_second: baseline_rate,
            service_ok_per_second: service_rate,
            service_to_baseline: ratio(service_rate, baseline_rate),
        });
        self.reserves.merge(calls.reserves);
        self.confirms.merge(calls.confirms);
        self.seconds += calls.seconds;
    }

    /// The report's figures, and the confirm calls for the checks.
    pub(super) fn into_figures(
        self,
        args: &ThroughputArgs,
        with_baseline: bool,
        seats: &SeatSupply<String>,
        server_peak_rss_kib: Option<u64>,
    ) -> anyhow::Result<(Figures, Calls)> {
        let reserve = self.reserves.figures(self.seconds);
        let baseline_reserve =
            with_baseline.then(|| self.baseline_calls.figures(self.baseline_seconds));
        let figures = Figures {
            clients: args.clients,
            connections: args.connections,
            rounds: args.rounds,
            duration_seconds: self.seconds,
            sessions: args.sessions,
            confirm_percent: args.confirm_percent,
            service_to_baseline: ratio(
                reserve.ok_per_second,
                baseline_reserve.as_ref().map(|b| b.ok_per_second),
            ),
            each_round: self.rounds,
            reserve,
            confirm: self.confirms.figures(self.seconds),
            baseline_reserve,
            seats_used: seats.used(),
            ran_out_of_seats: seats.exhausted(),
            server_peak_rss_kib,
            cpu: self.cpu.context("no round ran")?,
        };
        Ok((figures, self.confirms))
    }
}

/// No INTERNAL answer; with the database, no seat sold twice and a sale
/// stored for every payment confirmed.
pub(super) async fn checks(
    figures: &Figures,
    confirms: &Calls,
    database: Option<&ServerDatabase>,
    sessions: &[String],
) -> anyhow::Result<Vec<Check>> {
    let mut checks = vec![Check::equal(
        "INTERNAL answers",
        0,
        figures.reserve.internal_answers() + figures.confirm.internal_answers(),
    )];
    if let Some(database) = database {
        checks.push(Check::equal(
            "seats sold twice",
            0,
            database.seats_sold_twice(sessions).await?,
        ));
        checks.push(Check::equal(
            "sales stored = payments confirmed",
            confirms.ok(),
            database.sales(sessions).await?,
        ));
    }
    Ok(checks)
}

pub(super) fn text(f: &Figures) -> String {
    let mut text = format!(
        "throughput: {} clients over {} connections, {} rounds, service {:.1} s, {} sessions, {}% paid\n",
        f.clients, f.connections, f.rounds, f.duration_seconds, f.sessions, f.confirm_percent
    );
    text.push_str(&f.reserve.line("reserve"));
    text.push_str(&f.confirm.line("confirm"));
    if let Some(baseline) = &f.baseline_reserve {
        text.push_str(&baseline.line("baseline SQL"));
    }
    if let Some(ratio) = f.service_to_baseline {
        let each: Vec<String> = f
            .each_round
            .iter()
            .filter_map(|round| round.service_to_baseline)
            .map(|r| format!("{r:.2}"))
            .collect();
        text.push_str(&format!(
            "service / bare database: {ratio:.2} (rounds: {})\n",
            each.join(", ")
        ));
    }
    text.push_str(&peak_rss_line(f.server_peak_rss_kib));
    text.push_str(&format!("CPU: {}\n", f.cpu.text()));
    text.push_str(&format!(
        "seats used {}{}\n",
        f.seats_used,
        if f.ran_out_of_seats {
            " (ran out: add --sessions)"
        } else {
            ""
        }
    ));
    text
}
