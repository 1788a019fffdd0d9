//! One WatchSeatMap call: a snapshot, then updates, until the client leaves,
//! the server shuts down or the session is cancelled (after its last map).

use std::sync::Arc;

use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use uuid::Uuid;

use super::{Hub, SeatMapState, Subscription};
use crate::{
    catalog,
    domain::{Error, Rule, SeatMap, seat::SeatMapEvent},
    store::Db,
};

/// Messages waiting for a slow client; behind them the hub's queue fills,
/// and the watcher is resynchronised with a snapshot instead.
const PENDING: usize = 8;

/// Starts a watch: subscribes first, then reads the snapshot, so no change
/// between the two is missed.
pub async fn watch(
    hub: &Arc<Hub>,
    db: Db,
    session_id: Uuid,
) -> Result<impl Stream<Item = Result<SeatMapEvent, Error>> + Send + 'static, Error> {
    let subscription = hub.watch(session_id)?;
    let snapshot = catalog::seat_map(&db, session_id).await?;
    let (tx, rx) = mpsc::channel(PENDING);
    tokio::spawn(forward(db, subscription, snapshot, tx));
    Ok(ReceiverStream::new(rx))
}

type Sender = mpsc::Sender<Result<SeatMapEvent, Error>>;

async fn forward(db: Db, mut sub: Subscription, first: SeatMap, tx: Sender) {
    let session_id = first.session_id;
    let mut state = SeatMapState::new(&first);
    if !send_snapshot(&tx, first).await {
        return;
    }
    loop {
        let resync = tokio::select! {
            change = sub.changes.recv() => match change {
                Ok(change) => {
                    let seats = state.apply(&change);
                    if !seats.is_empty() && !send(&tx, SeatMapEvent::Update(state.update(&change, seats))).await {
                        return;
                    }
                    if change.session_cancelled {
                        return end_cancelled(&tx, session_id).await;
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
                let _ = tx.send(Err(Error::ShuttingDown)).await;
                return;
            }
            () = tx.closed() => return,
        };
        if resync {
            match catalog::seat_map(&db, session_id).await {
                Ok(fresh) => {
                    state = SeatMapState::new(&fresh);
                    if !send_snapshot(&tx, fresh).await {
                        return;
                    }
                }
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            }
        }
    }
}

/// False once the client has gone.
async fn send(tx: &Sender, event: SeatMapEvent) -> bool {
    tx.send(Ok(event)).await.is_ok()
}

/// Sends a snapshot; false once the client has gone or, after the last map
/// of a cancelled session, the stream has ended.
async fn send_snapshot(tx: &Sender, map: SeatMap) -> bool {
    let (session_id, cancelled) = (map.session_id, map.cancelled);
    if !send(tx, SeatMapEvent::Snapshot(map)).await {
        return false;
    }
    if cancelled {
        end_cancelled(tx, session_id).await;
        return false;
    }
    true
}

/// Ends the stream of a cancelled session: FAILED_PRECONDITION
/// (SESSION_CANCELLED).
async fn end_cancelled(tx: &Sender, session_id: Uuid) {
    let _ = tx
        .send(Err(Error::refused(Rule::SessionCancelled, session_id)))
        .await;
}
