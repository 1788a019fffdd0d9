//! The callers: released at once from a barrier, each reserving as a user
//! of its own; then the winners pay.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use cinema::proto::v1::{Reservation, booking_service_client::BookingServiceClient};
use tokio::{sync::Barrier, task::JoinSet};
use tonic::{Status, transport::Channel};

use super::StampedeArgs;
use crate::{
    client::{Minter, confirm, reserve},
    cpu::{CpuSample, CpuUsage},
};

/// One caller's outcome.
pub(super) struct Answer {
    pub(super) wanted: Vec<String>,
    pub(super) took: Duration,
    pub(super) answer: Result<Reservation, Status>,
}

/// Readies every caller at the barrier, releases them at once and collects
/// their answers; returns them, the time from the release to the last
/// answer and the CPU used meanwhile. Caller i wants `wanted[i % len]`.
pub(super) async fn release(
    args: &StampedeArgs,
    minter: &Minter,
    connections: &[Channel],
    session_id: &str,
    wanted: &[Vec<String>],
) -> anyhow::Result<(Vec<Answer>, Duration, CpuUsage)> {
    let barrier = Arc::new(Barrier::new(args.callers as usize + 1));
    let mut callers = JoinSet::new();
    for i in 0..args.callers as usize {
        let bearer = minter.bearer(&format!("bench-stampede-{i}"), false)?;
        let mut booking = BookingServiceClient::new(connections[i % connections.len()].clone());
        let (barrier, session_id) = (Arc::clone(&barrier), session_id.to_owned());
        let seats = wanted[i % wanted.len()].clone();
        callers.spawn(async move {
            barrier.wait().await;
            let started = Instant::now();
            let answer = reserve(&mut booking, &bearer, &session_id, &seats).await;
            Answer {
                wanted: seats,
                took: started.elapsed(),
                answer,
            }
        });
    }
    let cpu_before = CpuSample::take(args.target.server_pid)?;
    barrier.wait().await;
    let released = Instant::now();
    let mut answers = Vec::with_capacity(args.callers as usize);
    while let Some(answer) = callers.join_next().await {
        answers.push(answer.context("a caller task failed")?);
    }
    let wall = released.elapsed();
    let cpu = CpuSample::take(args.target.server_pid)?.since(&cpu_before);
    Ok((answers, wall, cpu))
}

/// Holds `labels` one by one for a user of its own.
pub(super) async fn fill(
    channel: &Channel,
    minter: &Minter,
    session_id: &str,
    labels: &[String],
) -> anyhow::Result<()> {
    let bearer = minter.bearer("bench-filler", false)?;
    let mut booking = BookingServiceClient::new(channel.clone());
    for label in labels {
        reserve(
            &mut booking,
            &bearer,
            session_id,
            std::slice::from_ref(label),
        )
        .await
        .map_err(|status| anyhow::anyhow!("holding {label} before the race: {status:?}"))?;
    }
    Ok(())
}

/// Winners pay, so that "sold twice" is checked on sales, not only holds.
pub(super) async fn pay_winners(
    channel: &Channel,
    minter: &Minter,
    winners: &[&Answer],
) -> anyhow::Result<usize> {
    let mut booking = BookingServiceClient::new(channel.clone());
    let mut paid = 0;
    for winner in winners {
        let Ok(reservation) = &winner.answer else {
            continue;
        };
        let bearer = minter.bearer(&reservation.user_id, false)?;
        if confirm(&mut booking, &bearer, &reservation.reservation_id)
            .await
            .is_ok()
        {
            paid += 1;
        }
    }
    Ok(paid)
}
