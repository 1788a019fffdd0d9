//! What `stampede` reports for each race: winners, every answer's latency
//! and code, the CPU used and PostgreSQL's transactions.

use std::time::Duration;

use serde::Serialize;

use super::{callers::Answer, checks::unavailable_seats, transactions::Transactions};
use crate::{
    client::code_of,
    cpu::CpuUsage,
    stats::{CallFigures, Calls, Latencies, Summary, millis, summary_text},
};

#[derive(Serialize)]
pub(super) struct Figures {
    pub(super) callers: u32,
    pub(super) connections: u32,
    pub(super) races: Vec<RaceFigures>,
}

#[derive(Serialize)]
pub(super) struct RaceFigures {
    race: &'static str,
    /// The seats each caller asked for, by share of callers.
    wanted: Vec<Vec<String>>,
    winners: usize,
    /// Every answer: rate over the race's wall time, percentiles, codes.
    answers: CallFigures,
    losers_latency_ms: Option<Summary>,
    winners_latency_ms: Option<Summary>,
    /// First call sent to last answer received.
    wall_ms: f64,
    /// Refusals that named a seat as SEAT_UNAVAILABLE.
    seat_unavailable: usize,
    /// From the release to the last answer.
    cpu: CpuUsage,
    postgres: Option<Transactions>,
}

pub(super) fn figures(
    name: &'static str,
    wanted: Vec<Vec<String>>,
    answers: &[Answer],
    (wall, cpu): (Duration, CpuUsage),
    postgres: Option<Transactions>,
) -> RaceFigures {
    let mut all = Calls::default();
    for answer in answers {
        all.record_took(answer.took, code_of(&answer.answer));
    }
    let latencies = |won: bool| {
        Latencies::new(
            answers
                .iter()
                .filter(|a| a.answer.is_ok() == won)
                .map(|a| a.took)
                .collect(),
        )
        .summary()
    };
    RaceFigures {
        race: name,
        wanted,
        winners: answers.iter().filter(|a| a.answer.is_ok()).count(),
        answers: all.figures(wall.as_secs_f64()),
        losers_latency_ms: latencies(false),
        winners_latency_ms: latencies(true),
        wall_ms: millis(wall),
        seat_unavailable: answers
            .iter()
            .filter(|a| {
                a.answer
                    .as_ref()
                    .is_err_and(|s| !unavailable_seats(s).is_empty())
            })
            .count(),
        cpu,
        postgres,
    }
}

pub(super) fn text(race: &RaceFigures) -> String {
    let mut text = format!(
        "stampede {}: {} winners of {} callers on {:?}, all answered in {:.1} ms\n",
        race.race, race.winners, race.answers.calls, race.wanted, race.wall_ms
    );
    text.push_str(&race.answers.line("answers"));
    text.push_str(&format!(
        "losers         {}\nwinners        {}\nSEAT_UNAVAILABLE refusals: {}\n",
        summary_text(race.losers_latency_ms.as_ref()),
        summary_text(race.winners_latency_ms.as_ref()),
        race.seat_unavailable
    ));
    text.push_str(&format!("CPU during the race: {}\n", race.cpu.text()));
    if let Some(pg) = &race.postgres {
        text.push_str(&pg.text());
    }
    text
}
