//! Live seat maps: one NATS subscription per instance, fanned out to the
//! instance's watchers by session.
//!
//! Every seat change leaves its transaction as a `seats.changed` event (see
//! [`crate::events`]); the relay of whichever instance made it publishes it,
//! and the hub of every instance hands it to the local watchers of that
//! session through a bounded broadcast channel. A watcher subscribes first,
//! then reads its snapshot, then applies only changes newer than its per-seat
//! versions ([`SeatMapState`]), so nothing is missed or applied twice. A watcher
//! that falls behind the channel, or that may have missed changes while NATS
//! was away, is sent a fresh snapshot instead.

mod state;
mod watcher;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{broadcast, watch};
use tokio_stream::StreamExt;
use uuid::Uuid;

pub use state::SeatMapState;
pub use watcher::watch;

use crate::{
    domain::{Error, seat::SeatsChanged},
    events::{Event, EventType},
};

/// Changes kept per session for watchers that read slowly; one further
/// behind gets a fresh snapshot.
const QUEUE: usize = 64;

pub struct Hub {
    sessions: Mutex<HashMap<Uuid, broadcast::Sender<Arc<SeatsChanged>>>>,
    watchers: AtomicUsize,
    max_watchers: usize,
    /// Bumped whenever watchers may have missed changes (NATS reconnected).
    resync: watch::Sender<u64>,
    /// Set at shutdown: every watch ends with UNAVAILABLE.
    closing: watch::Sender<bool>,
}

/// One watcher's place in the hub; dropping it frees everything it held.
pub struct Subscription {
    hub: Arc<Hub>,
    session_id: Uuid,
    pub changes: broadcast::Receiver<Arc<SeatsChanged>>,
    pub resync: watch::Receiver<u64>,
    pub closing: watch::Receiver<bool>,
}

impl Hub {
    pub fn new(max_watchers: usize) -> Arc<Self> {
        Arc::new(Self {
            sessions: Mutex::default(),
            watchers: AtomicUsize::new(0),
            max_watchers,
            resync: watch::Sender::new(0),
            closing: watch::Sender::new(false),
        })
    }

    /// How many watchers this instance serves now.
    pub fn watchers(&self) -> usize {
        self.watchers.load(Ordering::Relaxed)
    }

    /// Registers a watcher of `session_id`, or RESOURCE_EXHAUSTED at the cap.
    pub fn watch(self: &Arc<Self>, session_id: Uuid) -> Result<Subscription, Error> {
        if *self.closing.borrow() {
            return Err(Error::ShuttingDown);
        }
        let admitted = self
            .watchers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_watchers).then_some(n + 1)
            });
        if admitted.is_err() {
            return Err(Error::RateLimited {
                retry_after: Duration::from_secs(5),
            });
        }
        let changes = self
            .lock()
            .entry(session_id)
            .or_insert_with(|| broadcast::channel(QUEUE).0)
            .subscribe();
        Ok(Subscription {
            hub: self.clone(),
            session_id,
            changes,
            resync: self.resync.subscribe(),
            closing: self.closing.subscribe(),
        })
    }

    /// Ends every watch (with UNAVAILABLE) and refuses new ones.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Hands a change to the watchers of its session on this instance.
    pub fn dispatch(&self, change: SeatsChanged) {
        if let Some(sender) = self.lock().get(&change.session_id) {
            // No receiver left means the last watcher is leaving right now.
            let _ = sender.send(Arc::new(change));
        }
    }

    /// Follows `subject` on NATS until the task is aborted, reconnecting by
    /// itself; after a reconnect every watcher resynchronises. `options` say
    /// how to connect (see `events::options`).
    pub async fn run(
        self: Arc<Self>,
        options: async_nats::ConnectOptions,
        nats_url: String,
        subject: String,
    ) {
        let was_disconnected = Arc::new(AtomicBool::new(false));
        let options = {
            let hub = self.clone();
            let was_disconnected = was_disconnected.clone();
            options
                .name("cinema-live")
                .retry_on_initial_connect()
                .event_callback(move |event| {
                    let hub = hub.clone();
                    let was_disconnected = was_disconnected.clone();
                    async move {
                        match event {
                            async_nats::Event::Disconnected => {
                                was_disconnected.store(true, Ordering::Relaxed);
                                tracing::warn!(
                                    "live seat maps lost NATS; watchers will resynchronise"
                                );
                            }
                            async_nats::Event::Connected
                                if was_disconnected.swap(false, Ordering::Relaxed) =>
                            {
                                tracing::info!(
                                    "live seat maps reconnected to NATS; resynchronising watchers"
                                );
                                hub.resync.send_modify(|generation| *generation += 1);
                            }
                            _ => {}
                        }
                    }
                })
        };
        loop {
            match self.follow(options.clone(), &nats_url, &subject).await {
                Ok(()) => tracing::warn!("live seat map subscription ended; subscribing again"),
                Err(err) => {
                    tracing::warn!(error = %err, "live seat maps cannot follow NATS; retrying")
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn follow(
        &self,
        options: async_nats::ConnectOptions,
        nats_url: &str,
        subject: &str,
    ) -> Result<(), async_nats::Error> {
        let client = options.connect(nats_url).await?;
        let mut messages = client.subscribe(subject.to_owned()).await?;
        while let Some(message) = messages.next().await {
            match seats_changed(&message.payload) {
                Some(change) => self.dispatch(change),
                None => tracing::warn!("undecodable seat change skipped"),
            }
        }
        Ok(())
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Uuid, broadcast::Sender<Arc<SeatsChanged>>>> {
        // A panic while holding this lock cannot leave the map half-written.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.watchers.fetch_sub(1, Ordering::AcqRel);
        let mut sessions = self.hub.lock();
        // This receiver still counts until it is dropped, right after.
        if sessions
            .get(&self.session_id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            sessions.remove(&self.session_id);
        }
    }
}

/// The seats a `seats.changed` payload names, or `None` if it is not one.
fn seats_changed(payload: &[u8]) -> Option<SeatsChanged> {
    let Ok(Event::SeatsChanged(change)) = EventType::SeatsChanged.decode(payload) else {
        return None;
    };
    Some(SeatsChanged {
        session_id: change.session_id.parse().ok()?,
        seats: change
            .seats
            .iter()
            .filter_map(|seat| seat.to_change())
            .collect(),
        session_cancelled: change.session_cancelled,
    })
}
