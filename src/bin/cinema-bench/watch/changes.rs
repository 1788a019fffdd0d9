//! The changes the watchers are timed on: one seat reserved, then
//! cancelled, then the next seat, each only once every watcher had the one
//! before.

use std::{collections::HashMap, time::Instant};

use anyhow::{Context, bail};
use cinema::proto::v1::booking_service_client::BookingServiceClient;
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use super::{WatchArgs, fleet::Fleet};
use crate::client::{cancel, reserve, status_error};

/// One committed seat change.
pub(super) struct Change {
    pub(super) label: String,
    pub(super) version: i64,
    /// When the call that made it was sent.
    pub(super) started: Instant,
    /// When that call returned: the change was committed by then.
    pub(super) committed: Instant,
}

/// Reserves a seat, cancels it, moves to the next seat, and so on; after
/// each change, waits for every watcher to have it before the next.
pub(super) async fn make_changes(
    channel: &Channel,
    booker: &MetadataValue<Ascii>,
    session_id: &str,
    seats: Vec<(String, i64)>,
    fleet: &Fleet,
    args: &WatchArgs,
) -> anyhow::Result<Vec<Change>> {
    if seats.is_empty() {
        bail!("the session has no seats");
    }
    let total = args.changes as usize;
    let step = (total / 10).max(1);
    let mut versions: HashMap<String, i64> = seats.iter().cloned().collect();
    let mut booking = BookingServiceClient::new(channel.clone());
    let mut reservation = None;
    let mut changes = Vec::with_capacity(total);
    for n in 0..total {
        let label = seats[(n / 2) % seats.len()].0.clone();
        let started = Instant::now();
        reservation = toggle(&mut booking, booker, session_id, &label, reservation).await?;
        let committed = Instant::now();
        let version = versions.entry(label.clone()).or_default();
        *version += 1;
        changes.push(Change {
            label,
            version: *version,
            started,
            committed,
        });
        let everyone = fleet.watchers * (n + 1);
        if !fleet.wait_delivered(everyone, args.change_timeout).await {
            eprintln!(
                "change {}: only {}/{everyone} deliveries so far after {:?}; going on",
                n + 1,
                fleet.delivered(),
                args.change_timeout
            );
        }
        if (n + 1) % step == 0 || n + 1 == total {
            eprintln!("change {}/{total}", n + 1);
        }
    }
    Ok(changes)
}

/// One change: reserves `label` when nothing is held, else cancels the
/// hold. Returns the reservation held afterwards.
async fn toggle(
    booking: &mut BookingServiceClient<Channel>,
    booker: &MetadataValue<Ascii>,
    session_id: &str,
    label: &str,
    held: Option<String>,
) -> anyhow::Result<Option<String>> {
    match held {
        None => {
            let reservation = reserve(booking, booker, session_id, &[label.to_owned()])
                .await
                .map_err(status_error)
                .with_context(|| format!("reserving {label}"))?;
            Ok(Some(reservation.reservation_id))
        }
        Some(reservation_id) => {
            cancel(booking, booker, reservation_id)
                .await
                .map_err(status_error)
                .context("cancelling a reservation")?;
            Ok(None)
        }
    }
}
