//! Reading WatchSeatMap streams.

use std::{collections::HashMap, time::Duration};

use tonic::Streaming;

use super::{
    Client,
    pb::{SeatMap, SeatMapEvent, SeatStatus, seat_map_event::Event},
};

/// Seat label -> (status, version), as a watcher folds its stream.
pub type Folded = HashMap<String, (i32, i64)>;

/// A seat map as a watcher should have folded it.
pub fn folded(map: SeatMap) -> Folded {
    map.seats
        .into_iter()
        .map(|s| (s.label, (s.status, s.version)))
        .collect()
}

/// A watch of `session_id` by `watcher`, past its first message, which must
/// be a snapshot; with that snapshot.
pub async fn watch_from_snapshot(
    watcher: &Client,
    session_id: &str,
) -> (Streaming<SeatMapEvent>, SeatMap) {
    let mut stream = watcher.watch(session_id).await.expect("watch");
    let Event::Snapshot(snapshot) = next(&mut stream).await else {
        panic!("the first message is not a snapshot")
    };
    (stream, snapshot)
}

/// The next event of `stream`, which must come within 10 s.
pub async fn next(stream: &mut Streaming<SeatMapEvent>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no message within 10 s")
        .expect("the stream failed")
        .expect("the stream ended")
        .event
        .expect("an event")
}

/// Reads updates until `label` shows `status`; returns its version then.
pub async fn until_seat(
    stream: &mut Streaming<SeatMapEvent>,
    label: &str,
    status: SeatStatus,
) -> i64 {
    loop {
        if let Event::Update(update) = next(stream).await
            && let Some(seat) = update
                .seats
                .iter()
                .find(|s| s.label == label && s.status == status as i32)
        {
            return seat.version;
        }
    }
}
