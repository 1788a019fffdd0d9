//! What the throughput part must show, and its report: every answer one
//! the contract allows, no refusal while a block was left, every block
//! side by side and given once, every session filled, and the database
//! agreeing.

use super::{
    calls::Call,
    judge::{blocks_not_adjacent, seats_given_twice},
    throughput::ThroughputFigures,
};
use crate::{memory::peak_rss_line, report::Check, stats::summary_text};

pub(super) fn checks(f: &ThroughputFigures, calls: &[Call], quantity: usize) -> Vec<Check> {
    let outside = calls
        .iter()
        .filter(|call| call.held().is_none() && !call.not_enough() && !call.aborted())
        .count();
    let mut checks = vec![
        Check::equal(
            "throughput: INTERNAL answers",
            0,
            f.calls.internal_answers(),
        ),
        Check::equal(
            "throughput: answers other than a block, NOT_ENOUGH_ADJACENT_SEATS or ABORTED",
            0,
            outside,
        ),
        Check::equal(
            "throughput: ABORTED while a block was left",
            0,
            f.aborted_while_a_block_was_left,
        ),
        Check::equal(
            "throughput: NOT_ENOUGH_ADJACENT_SEATS while a block was left",
            0,
            f.not_enough_while_a_block_was_left,
        ),
        Check::equal("throughput: seats given twice", 0, seats_given_twice(calls)),
        Check::equal(
            "throughput: blocks not side by side in one row",
            0,
            blocks_not_adjacent(calls, quantity),
        ),
        Check::equal(
            "throughput: holds ended before the audit (run the server with longer holds)",
            0,
            f.holds_ended,
        ),
        Check::equal(
            "throughput: sessions filled before --timeout",
            f.sessions,
            f.sessions_filled,
        ),
    ];
    if let Some(audit) = &f.database {
        let given = calls.iter().filter(|call| call.held().is_some()).count();
        checks.extend([
            Check::equal(
                "throughput: reservations stored = blocks given",
                given,
                audit.reservations,
            ),
            Check::equal(
                "throughput: seats held twice (database)",
                0,
                audit.seats_held_twice,
            ),
            Check::equal(
                "throughput: seats not held by their reservation (database)",
                0,
                audit.seats_not_held_by_their_reservation,
            ),
            Check::equal(
                "throughput: seats sold twice (database)",
                0,
                audit.seats_sold_twice,
            ),
            Check::equal(
                "throughput: reservations not side by side in one row (database)",
                0,
                audit.reservations_not_adjacent,
            ),
            Check::equal(
                "throughput: blocks left once every session said none was (database)",
                0,
                audit.blocks_left,
            ),
        ]);
    }
    checks
}

pub(super) fn text(f: &ThroughputFigures) -> String {
    let mut text = format!(
        "best throughput: {} clients over {} connections filled {}/{} sessions of {} seats in {:.1} s\n",
        f.clients, f.connections, f.sessions_filled, f.sessions, f.seats_per_session, f.seconds
    );
    text.push_str(&f.calls.line("calls"));
    text.push_str(&format!(
        "given a block  {}\n",
        summary_text(f.held_latency_ms.as_ref())
    ));
    if !f.refusals.is_empty() {
        text.push_str(&format!("refusals: {:?}\n", f.refusals));
    }
    text.push_str(&peak_rss_line(f.server_peak_rss_kib));
    text.push_str(&format!("CPU: {}\n", f.cpu.text()));
    if let Some(audit) = &f.database {
        text.push_str(&format!(
            "database: {} reservations, {} free seats left ({} stranded), {} blocks left\n",
            audit.reservations, audit.free_seats, audit.stranded_seats, audit.blocks_left
        ));
    }
    text
}
