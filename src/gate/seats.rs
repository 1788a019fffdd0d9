//! Seat locks and hold markers in Redis: the fast gate in front of
//! PostgreSQL, not the guarantee.
//!
//! Before its transaction, a reservation takes the locks of all its seats in
//! one Lua script (`acquire.lua`), or none. A lock lives only while its
//! transaction runs: a caller arriving then is told ABORTED (retry).
//!
//! Once a reservation has committed, `mark_held.lua` leaves a **hold marker**
//! on each of its seats (value: the reservation id, time to live: what is
//! left of the hold, never more) and releases the locks, in one round trip.
//! A later caller wanting a marked seat is refused by `acquire.lua` alone
//! with the answer PostgreSQL would give, SEAT_UNAVAILABLE naming the marked
//! seats. So under a stampede on one seat Redis turns every loser away in
//! about a millisecond, before and after the winner's commit, and
//! PostgreSQL sees one transaction.
//!
//! A marker ends with its hold, so an expired hold is free in Redis when it
//! is free in PostgreSQL. A cancellation deletes its reservation's markers
//! after it commits (`release.lua` again: a key is deleted only if it still
//! names its owner, here the reservation). If that delete fails
//! (Redis unreachable at that moment), or a marker is written after its
//! reservation was already cancelled (a retry with the same request_id can
//! learn the reservation id while the first call is still writing its
//! markers), the seat stays refused until the hold would have ended: late
//! availability, never a double sale. A paid seat keeps its marker until
//! then too, which is right: it is sold. Keys carry the hash tag
//! `{session_id}`, so one script's keys live in one slot of a Redis Cluster.
//!
//! If Redis cannot be reached, the gate opens: booking goes on with PostgreSQL
//! alone (slower, still correct), with one warning per outage. PostgreSQL
//! re-checks every seat whatever Redis said.

use std::{sync::Arc, time::Duration};

use fred::{
    prelude::{Client, ClientLike},
    types::scripts::Script,
};
use uuid::Uuid;

use super::Outage;
use crate::{domain::SeatLabel, metrics};

/// Locks live only as long as one transaction; this bounds a crashed owner's.
const LOCK_TTL: Duration = Duration::from_secs(5);

/// What the gate says about a request's seats.
pub enum Gate {
    /// All seats are locked for this request; release them with the guard.
    Locked(LockGuard),
    /// Another request holds at least one of the seats right now.
    Contended,
    /// A committed hold marks these seats (labels as requested): they are
    /// held or sold.
    Held(Vec<String>),
    /// Redis is unreachable: go on without locks.
    Open,
}

/// Seat locks owned by one request, to be handed back to [`SeatGate`].
pub struct LockGuard {
    gate: Arc<SeatGate>,
    /// The lock keys, then the same seats' marker keys.
    keys: Vec<String>,
    owner: String,
    handed_back: bool,
}

impl LockGuard {
    /// The lock keys, and the owner token, once: the guard is handed back.
    fn hand_back(&mut self) -> (Vec<String>, String) {
        self.handed_back = true;
        (
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.owner),
        )
    }
}

impl Drop for LockGuard {
    /// A call cut short (its deadline passed, its client went away) drops its
    /// guard mid-transaction: free the locks now, not when they lapse.
    fn drop(&mut self) {
        if self.handed_back {
            return;
        }
        let gate = Arc::clone(&self.gate);
        let (keys, owner) = self.hand_back();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { gate.unlock(keys, owner).await });
        }
    }
}

pub struct SeatGate {
    client: Client,
    prefix: String,
    acquire: Script,
    release: Script,
    mark_held: Script,
    extend: Script,
    outage: Outage,
}

impl SeatGate {
    /// Seat locks on `client` (see [`super::connect`]), under `prefix`.
    pub fn new(client: Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            acquire: Script::from_lua(include_str!("acquire.lua")),
            release: Script::from_lua(include_str!("release.lua")),
            mark_held: Script::from_lua(include_str!("mark_held.lua")),
            extend: Script::from_lua(include_str!("extend.lua")),
            outage: Outage::new(
                "seat_locks",
                "booking goes on with PostgreSQL alone",
                "seat locks",
            ),
        }
    }

    /// Tries to lock every seat of `labels` in `session_id` for one request.
    pub async fn acquire(self: &Arc<Self>, session_id: Uuid, labels: &[SeatLabel]) -> Gate {
        let gate = self.try_acquire(session_id, labels).await;
        metrics::seat_lock(match gate {
            Gate::Locked(_) => "locked",
            Gate::Contended | Gate::Held(_) => "contended",
            Gate::Open => "redis_down",
        });
        gate
    }

    async fn try_acquire(self: &Arc<Self>, session_id: Uuid, labels: &[SeatLabel]) -> Gate {
        if !self.client.is_connected() {
            self.outage.went_without("not connected");
            return Gate::Open;
        }
        let keys = self.lock_and_marker_keys(session_id, labels);
        let owner = Uuid::new_v4().to_string();
        let mut args = vec![owner.clone(), LOCK_TTL.as_millis().to_string()];
        args.extend(labels.iter().map(ToString::to_string));
        let answer: Result<Vec<String>, _> = self
            .acquire
            .evalsha_with_reload(&self.client, keys.clone(), args)
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                self.outage.went_without(&err.to_string());
                return Gate::Open;
            }
        };
        self.outage.answered();
        match answer.split_first() {
            Some((verdict, _)) if verdict == "locked" => Gate::Locked(LockGuard {
                gate: Arc::clone(self),
                keys,
                owner,
                handed_back: false,
            }),
            Some((verdict, held)) if verdict == "held" => Gate::Held(held.to_vec()),
            _ => Gate::Contended,
        }
    }

    /// Releases what `guard` still owns; a failure only lets the locks lapse.
    pub async fn release(&self, mut guard: LockGuard) {
        let (keys, owner) = guard.hand_back();
        self.unlock(keys, owner).await;
    }

    async fn unlock(&self, mut keys: Vec<String>, owner: String) {
        keys.truncate(keys.len() / 2);
        let released: Result<i64, _> = self
            .release
            .evalsha_with_reload(&self.client, keys, vec![owner])
            .await;
        if let Err(err) = released {
            tracing::debug!(error = %err, "seat locks left to lapse");
        }
    }

    /// After `reservation_id` committed: marks its seats held for `hold_left`
    /// and releases the locks. Without a marker (Redis failed, or nothing
    /// is left of the hold) PostgreSQL answers the next callers instead.
    pub async fn release_as_held(
        &self,
        mut guard: LockGuard,
        reservation_id: Uuid,
        hold_left: Duration,
    ) {
        let ttl_ms = hold_left.as_millis();
        if ttl_ms == 0 {
            return self.release(guard).await;
        }
        let (keys, owner) = guard.hand_back();
        let marked: Result<i64, _> = self
            .mark_held
            .evalsha_with_reload(
                &self.client,
                keys,
                vec![owner, reservation_id.to_string(), ttl_ms.to_string()],
            )
            .await;
        if let Err(err) = marked {
            tracing::debug!(error = %err, "seats left unmarked; locks left to lapse");
        }
    }

    /// After `reservation_id` was cancelled or expired: deletes the markers
    /// it left on `labels`, so the seats can be taken at once. A failure
    /// only delays that until the hold would have ended.
    pub async fn unmark(&self, session_id: Uuid, labels: &[SeatLabel], reservation_id: Uuid) {
        if labels.is_empty() || !self.client.is_connected() {
            return;
        }
        let keys: Vec<String> = labels
            .iter()
            .map(|label| self.marker_key(session_id, label))
            .collect();
        let deleted: Result<i64, _> = self
            .release
            .evalsha_with_reload(&self.client, keys, vec![reservation_id.to_string()])
            .await;
        if let Err(err) = deleted {
            tracing::warn!(error = %err, %reservation_id, "hold markers left until the hold's end");
        }
    }

    /// After `reservation_id`'s hold was extended: its markers on `labels`
    /// last `hold_left` more. A failure only lets PostgreSQL answer for
    /// these seats once the old markers lapse.
    pub async fn extend(
        &self,
        session_id: Uuid,
        labels: &[SeatLabel],
        reservation_id: Uuid,
        hold_left: Duration,
    ) {
        let ttl_ms = hold_left.as_millis();
        if labels.is_empty() || ttl_ms == 0 || !self.client.is_connected() {
            return;
        }
        let keys: Vec<String> = labels
            .iter()
            .map(|label| self.marker_key(session_id, label))
            .collect();
        let extended: Result<i64, _> = self
            .extend
            .evalsha_with_reload(
                &self.client,
                keys,
                vec![reservation_id.to_string(), ttl_ms.to_string()],
            )
            .await;
        if let Err(err) = extended {
            tracing::warn!(error = %err, %reservation_id, "hold markers keep their old end");
        }
    }

    /// Every seat's lock key, then every seat's marker key.
    fn lock_and_marker_keys(&self, session_id: Uuid, labels: &[SeatLabel]) -> Vec<String> {
        let locks = labels.iter().map(|label| self.lock_key(session_id, label));
        let markers = labels
            .iter()
            .map(|label| self.marker_key(session_id, label));
        locks.chain(markers).collect()
    }

    fn lock_key(&self, session_id: Uuid, label: &SeatLabel) -> String {
        format!("{}:seat:{{{session_id}}}:{label}", self.prefix)
    }

    fn marker_key(&self, session_id: Uuid, label: &SeatLabel) -> String {
        format!("{}:held:{{{session_id}}}:{label}", self.prefix)
    }
}
