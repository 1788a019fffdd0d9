//! When each hold was first seen AVAILABLE: on a WatchSeatMap stream, and
//! on the seat map read over and over.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use cinema::proto::v1::{
    GetSeatMapRequest, SeatStatus, WatchSeatMapRequest, seat_map_event::Event,
    session_service_client::SessionServiceClient,
};
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use super::{Hold, lock};
use crate::client::{authed, status_error};

/// Reads one stream and stamps the first AVAILABLE update of each hold.
pub(super) async fn watch(
    channel: Channel,
    bearer: MetadataValue<Ascii>,
    session_id: String,
    holds: Arc<Mutex<Vec<Hold>>>,
) -> anyhow::Result<()> {
    let request = authed(WatchSeatMapRequest { session_id }, &bearer);
    let mut stream = SessionServiceClient::new(channel)
        .watch_seat_map(request)
        .await
        .map_err(status_error)?
        .into_inner();
    while let Some(event) = stream.message().await.map_err(status_error)? {
        let at = Utc::now();
        let Some(Event::Update(update)) = event.event else {
            continue;
        };
        let mut holds = lock(&holds);
        for seat in update.seats {
            if seat.status() != SeatStatus::Available {
                continue;
            }
            if let Some(hold) = holds.iter_mut().find(|h| h.label == seat.label) {
                hold.on_stream.get_or_insert(at);
            }
        }
    }
    Ok(())
}

/// Reads the seat map every `every` and stamps each hold seen AVAILABLE.
pub(super) async fn poll_map(
    channel: Channel,
    bearer: MetadataValue<Ascii>,
    session_id: String,
    holds: Arc<Mutex<Vec<Hold>>>,
    every: Duration,
) {
    let mut sessions = SessionServiceClient::new(channel);
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let request = authed(
            GetSeatMapRequest {
                session_id: session_id.clone(),
            },
            &bearer,
        );
        let sent = Utc::now();
        let Ok(map) = sessions.get_seat_map(request).await else {
            continue;
        };
        let at = Utc::now();
        let mut holds = lock(&holds);
        for seat in map.into_inner().seats {
            if seat.status() != SeatStatus::Available {
                continue;
            }
            let hold = holds
                .iter_mut()
                .find(|h| h.label == seat.label && h.made < sent);
            if let Some(hold) = hold {
                hold.on_map.get_or_insert(at);
            }
        }
    }
}

/// Waits until every hold was seen on both, or `timeout` after the last end.
pub(super) async fn wait_until_seen(
    holds: &Mutex<Vec<Hold>>,
    last_end: Option<DateTime<Utc>>,
    timeout: Duration,
) {
    let Some(last_end) = last_end else { return };
    let give_up = last_end + chrono::Duration::from_std(timeout).unwrap_or_default();
    while Utc::now() < give_up {
        let all_seen = lock(holds)
            .iter()
            .all(|h| h.on_map.is_some() && h.on_stream.is_some());
        if all_seen {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
