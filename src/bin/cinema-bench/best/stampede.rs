//! The stampede part: `--callers` callers, each its own user, released at
//! once on one fresh session with room for all of them, each asking for
//! `--quantity` adjacent seats. Every caller must get a block of its own,
//! and no seat may be left stranded.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use anyhow::Context;
use cinema::proto::v1::booking_service_client::BookingServiceClient;
use serde::Serialize;
use tokio::{sync::Barrier, task::JoinSet};
use tonic::transport::Channel;

use super::{
    BestArgs,
    audit::Audit,
    calls::{Call, as_calls, holds_ended_before, refusals},
    judge::{blocks_not_adjacent, seats_given_twice},
};
use crate::{
    client::{Minter, connect, create_session_with_gaps},
    cpu::{CpuSample, CpuUsage},
    database::ServerDatabase,
    report::Check,
    stats::{CallFigures, Summary, millis, summary_text},
};

#[derive(Serialize)]
pub(super) struct StampedeFigures {
    callers: u32,
    connections: u32,
    /// Seats of the session.
    seats: u32,
    /// Callers that got a block.
    winners: usize,
    /// Every answer: rate over the wall time, latency percentiles, codes.
    answers: CallFigures,
    /// Latency of the callers that got a block, and of the others.
    given_block_latency_ms: Option<Summary>,
    refused_latency_ms: Option<Summary>,
    /// Refusals by code and precondition type.
    refusals: BTreeMap<String, u64>,
    /// From the release to the last answer.
    wall_ms: f64,
    /// From the release to the last answer.
    cpu: CpuUsage,
    database: Option<Audit>,
    /// Holds that had ended by the time the database was read.
    holds_ended: usize,
}

pub(super) async fn run(
    args: &BestArgs,
    minter: &Minter,
    connections: &[Channel],
    database: Option<&ServerDatabase>,
) -> anyhow::Result<(StampedeFigures, Vec<Check>)> {
    let seats = args.rows * args.seats_per_row;
    anyhow::ensure!(
        args.callers * args.quantity <= seats,
        "{} callers of {} seats need a bigger room than {seats} seats",
        args.callers,
        args.quantity
    );
    let control = connect(&args.target.server).await?;
    let admin = minter.admin()?;
    let session_id =
        create_session_with_gaps(&control, &admin, args.rows, args.seats_per_row, false).await?;
    eprintln!(
        "stampede: {} callers for {} seats each on a session of {seats} seats",
        args.callers, args.quantity
    );
    let (calls, wall, cpu) = release(args, minter, connections, &session_id).await?;
    let audit = match database {
        Some(database) => Some(Audit::read(database, &[session_id], args.quantity).await?),
        None => None,
    };
    let figures = StampedeFigures {
        callers: args.callers,
        connections: args.connections,
        seats,
        winners: calls.iter().filter(|call| call.held().is_some()).count(),
        answers: as_calls(&calls).figures(wall.as_secs_f64()),
        given_block_latency_ms: latency(calls.iter().filter(|call| call.held().is_some())),
        refused_latency_ms: latency(calls.iter().filter(|call| call.held().is_none())),
        refusals: refusals(&calls),
        wall_ms: millis(wall),
        cpu,
        database: audit,
        holds_ended: holds_ended_before(&calls, SystemTime::now()),
    };
    let checks = checks(&figures, &calls, args.quantity as usize);
    Ok((figures, checks))
}

fn latency<'a>(calls: impl IntoIterator<Item = &'a Call>) -> Option<Summary> {
    as_calls(calls).figures(1.0).latency_ms
}

/// Readies every caller at a barrier, releases them at once, and returns
/// their calls, the time from the release to the last answer and the CPU
/// used meanwhile.
async fn release(
    args: &BestArgs,
    minter: &Minter,
    connections: &[Channel],
    session_id: &str,
) -> anyhow::Result<(Vec<Call>, Duration, CpuUsage)> {
    let barrier = Arc::new(Barrier::new(args.callers as usize + 1));
    let mut callers = JoinSet::new();
    for i in 0..args.callers as usize {
        let bearer = minter.bearer(&format!("bench-best-stampede-{i}"), false)?;
        let mut booking = BookingServiceClient::new(connections[i % connections.len()].clone());
        let (barrier, session_id) = (Arc::clone(&barrier), session_id.to_owned());
        let quantity = args.quantity;
        callers.spawn(async move {
            barrier.wait().await;
            Call::make(&mut booking, &bearer, (0, &session_id), quantity).await
        });
    }
    let cpu_before = CpuSample::take(args.target.server_pid)?;
    barrier.wait().await;
    let released = Instant::now();
    let mut calls = Vec::with_capacity(args.callers as usize);
    while let Some(call) = callers.join_next().await {
        calls.push(call.context("a caller task failed")?);
    }
    let wall = released.elapsed();
    let cpu = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
    Ok((calls, wall, cpu))
}

/// Every caller got a block of its own, side by side in one row, none was
/// told to retry, and the database agrees, with no seat stranded.
fn checks(figures: &StampedeFigures, calls: &[Call], quantity: usize) -> Vec<Check> {
    let aborted = calls.iter().filter(|call| call.aborted()).count();
    let mut checks = vec![
        Check::equal(
            "stampede: callers given a block",
            figures.callers,
            figures.winners,
        ),
        Check::equal("stampede: ABORTED answers", 0, aborted),
        Check::equal(
            "stampede: INTERNAL answers",
            0,
            figures.answers.internal_answers(),
        ),
        Check::equal("stampede: seats given twice", 0, seats_given_twice(calls)),
        Check::equal(
            "stampede: blocks not side by side in one row",
            0,
            blocks_not_adjacent(calls, quantity),
        ),
    ];
    if let Some(audit) = &figures.database {
        let ended = "stampede: holds ended before the audit (run the server with longer holds)";
        checks.push(Check::equal(ended, 0, figures.holds_ended));
        checks.extend([
            Check::equal(
                "stampede: reservations stored = blocks given",
                figures.winners,
                audit.reservations,
            ),
            Check::equal(
                "stampede: seats held twice (database)",
                0,
                audit.seats_held_twice,
            ),
            Check::equal(
                "stampede: seats not held by their reservation (database)",
                0,
                audit.seats_not_held_by_their_reservation,
            ),
            Check::equal(
                "stampede: reservations not side by side in one row (database)",
                0,
                audit.reservations_not_adjacent,
            ),
            Check::equal(
                "stampede: seats left stranded (database)",
                0,
                audit.stranded_seats,
            ),
        ]);
    }
    checks
}

pub(super) fn text(f: &StampedeFigures) -> String {
    let mut text = format!(
        "best stampede: {} callers on one session of {} seats over {} connections: {} got a block, all answered in {:.1} ms\n",
        f.callers, f.seats, f.connections, f.winners, f.wall_ms
    );
    text.push_str(&f.answers.line("answers"));
    text.push_str(&format!(
        "given a block  {}\nrefused        {}\n",
        summary_text(f.given_block_latency_ms.as_ref()),
        summary_text(f.refused_latency_ms.as_ref())
    ));
    if !f.refusals.is_empty() {
        text.push_str(&format!("refusals: {:?}\n", f.refusals));
    }
    text.push_str(&format!("CPU during the stampede: {}\n", f.cpu.text()));
    if let Some(audit) = &f.database {
        text.push_str(&format!(
            "database: {} reservations, {} free seats left, {} stranded\n",
            audit.reservations, audit.free_seats, audit.stranded_seats
        ));
    }
    text
}
