//! The service run: `--clients` clients reserving distinct seats and
//! paying for a share of them until the time is up.

use std::{sync::Arc, time::Instant};

use anyhow::Context;
use cinema::proto::v1::booking_service_client::BookingServiceClient;
use tokio::task::JoinSet;
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use super::ThroughputArgs;
use crate::{
    client::{Minter, code_of, confirm, reserve},
    progress::Progress,
    seat_supply::SeatSupply,
    stats::Calls,
};

/// Runs the clients until the time is up; returns reserves, confirms and
/// the seconds they ran.
pub(super) async fn drive(
    args: &ThroughputArgs,
    minter: &Minter,
    connections: &[Channel],
    seats: Arc<SeatSupply<String>>,
) -> anyhow::Result<(Calls, Calls, f64)> {
    let progress = Arc::new(Progress::default());
    let ticker = progress.tick("service ");
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut clients = JoinSet::new();
    for client in 0..args.clients {
        let bearer = minter.bearer(&format!("bench-client-{client}"), false)?;
        let booking =
            BookingServiceClient::new(connections[client as usize % connections.len()].clone());
        clients.spawn(client_loop(
            booking,
            bearer,
            Arc::clone(&seats),
            Arc::clone(&progress),
            deadline,
            args.confirm_percent,
        ));
    }
    let (mut reserves, mut confirms) = (Calls::default(), Calls::default());
    while let Some(client) = clients.join_next().await {
        let (r, c) = client.context("a client task failed")?;
        reserves.merge(r);
        confirms.merge(c);
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.stop(ticker);
    Ok((reserves, confirms, seconds))
}

/// One client: reserves one distinct seat after another until `deadline`
/// or the seats run out, paying for `confirm_percent` of its holds.
async fn client_loop(
    mut booking: BookingServiceClient<Channel>,
    bearer: MetadataValue<Ascii>,
    seats: Arc<SeatSupply<String>>,
    progress: Arc<Progress>,
    deadline: Instant,
    confirm_percent: u32,
) -> (Calls, Calls) {
    let (mut reserves, mut confirms) = (Calls::default(), Calls::default());
    let mut held = 0u32;
    while Instant::now() < deadline {
        let Some((session_id, label)) = seats.next() else {
            break;
        };
        let started = Instant::now();
        let answer = reserve(&mut booking, &bearer, &session_id, &[label.to_string()]).await;
        reserves.record(started, code_of(&answer));
        progress.call(answer.is_ok());
        let Ok(reservation) = answer else { continue };
        // Pays for confirm_percent of every 100 holds, spread evenly.
        held += 1;
        if (held * confirm_percent) / 100 != ((held - 1) * confirm_percent) / 100 {
            let started = Instant::now();
            let answer = confirm(&mut booking, &bearer, &reservation.reservation_id).await;
            confirms.record(started, code_of(&answer));
        }
    }
    (reserves, confirms)
}
