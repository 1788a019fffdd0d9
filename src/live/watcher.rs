//! One WatchSeatMap call: a snapshot, then updates, until the client leaves
//! or the server shuts down.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, codegen::BoxStream};
use uuid::Uuid;

use super::{Hub, SeatMapState, Subscription};
use crate::{
    api::convert,
    catalog,
    error::Error,
    proto::v1::{SeatMap, SeatMapEvent, seat_map_event::Event},
};

/// Messages waiting for a slow client; behind them the hub's queue fills,
/// and the watcher is resynchronised with a snapshot instead.
const PENDING: usize = 8;

/// Starts a watch: subscribes first, then reads the snapshot, so no change
/// between the two is missed.
pub async fn watch(
    hub: &Arc<Hub>,
    db: DatabaseConnection,
    session_id: Uuid,
) -> Result<BoxStream<SeatMapEvent>, Error> {
    let subscription = hub.watch(session_id)?;
    let snapshot = snapshot(&db, session_id).await?;
    let (tx, rx) = mpsc::channel(PENDING);
    tokio::spawn(forward(db, session_id, subscription, snapshot, tx));
    Ok(Box::pin(ReceiverStream::new(rx)))
}

async fn snapshot(db: &DatabaseConnection, session_id: Uuid) -> Result<SeatMap, Error> {
    Ok(convert::seat_map(catalog::seat_map(db, session_id).await?))
}

type Sender = mpsc::Sender<Result<SeatMapEvent, Status>>;

async fn forward(
    db: DatabaseConnection,
    session_id: Uuid,
    mut sub: Subscription,
    first: SeatMap,
    tx: Sender,
) {
    let session = session_id.to_string();
    let mut state = SeatMapState::new(&first);
    if !send(&tx, Event::Snapshot(first)).await {
        return;
    }
    loop {
        let resync = tokio::select! {
            change = sub.changes.recv() => match change {
                Ok(change) => {
                    let seats = state.apply(&change);
                    if !seats.is_empty() && !send(&tx, Event::Update(state.update(&session, seats))).await {
                        return;
                    }
                    false
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(%session_id, missed, "watcher fell behind; sending a fresh snapshot");
                    true
                }
                Err(RecvError::Closed) => return,
            },
            Ok(()) = sub.resync.changed() => true,
            _ = sub.closing.changed() => {
                let _ = tx.send(Err(Status::unavailable("the server is shutting down; watch again"))).await;
                return;
            }
            () = tx.closed() => return,
        };
        if resync {
            match snapshot(&db, session_id).await {
                Ok(fresh) => {
                    state = SeatMapState::new(&fresh);
                    if !send(&tx, Event::Snapshot(fresh)).await {
                        return;
                    }
                }
                Err(err) => {
                    let _ = tx.send(Err(err.into())).await;
                    return;
                }
            }
        }
    }
}

/// False once the client has gone.
async fn send(tx: &Sender, event: Event) -> bool {
    tx.send(Ok(SeatMapEvent { event: Some(event) }))
        .await
        .is_ok()
}
