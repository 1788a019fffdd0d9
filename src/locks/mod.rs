//! Seat locks in Redis: the fast gate in front of PostgreSQL, not the guarantee.
//!
//! Before its transaction, a reservation takes the locks of all its seats in
//! one Lua script (`acquire.lua`), or none, and releases them afterwards with
//! an owner-checked delete (`release.lua`). Under a stampede on one seat Redis
//! turns the losers away in about a millisecond, so PostgreSQL sees one
//! transaction. Keys carry the hash tag `{session_id}`, so one script's keys
//! live in one slot of a Redis Cluster.
//!
//! If Redis cannot be reached, the gate opens: booking goes on with PostgreSQL
//! alone (slower, still correct), with one warning per outage.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use fred::{
    prelude::{ClientLike, Config, ReconnectPolicy},
    types::{Builder, scripts::Script},
};
use uuid::Uuid;

use crate::catalog::layout::SeatLabel;

/// Locks live only as long as one transaction; this bounds a crashed owner's.
const LOCK_TTL: Duration = Duration::from_secs(5);
/// A Redis call slower than this counts as Redis being down.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a lost connection is retried.
const RECONNECT_DELAY_MS: u32 = 500;

/// What the gate says about a request's seats.
pub enum Gate {
    /// All seats are locked for this request; release them with the guard.
    Locked(LockGuard),
    /// Another request holds at least one of the seats right now.
    Contended,
    /// Redis is unreachable: go on without locks.
    Open,
}

/// Seat locks owned by one request.
pub struct LockGuard {
    keys: Vec<String>,
    owner: String,
}

pub struct SeatLocks {
    client: fred::prelude::Client,
    prefix: String,
    acquire: Script,
    release: Script,
    down: AtomicBool,
}

impl SeatLocks {
    /// Starts connecting in the background: a Redis that is down at start
    /// only means booking begins on PostgreSQL alone.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, fred::error::Error> {
        let mut config = Config::from_url(url)?;
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_performance_config(|perf| perf.default_command_timeout = COMMAND_TIMEOUT)
            .with_connection_config(|conn| {
                conn.connection_timeout = COMMAND_TIMEOUT * 2;
                conn.internal_command_timeout = COMMAND_TIMEOUT * 2;
                conn.max_command_attempts = 1;
            })
            .set_policy(ReconnectPolicy::new_constant(0, RECONNECT_DELAY_MS))
            .build()?;
        client.connect();
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            acquire: Script::from_lua(include_str!("acquire.lua")),
            release: Script::from_lua(include_str!("release.lua")),
            down: AtomicBool::new(false),
        })
    }

    /// Tries to lock every seat of `labels` in `session_id` for one request.
    pub async fn acquire(&self, session_id: Uuid, labels: &[SeatLabel]) -> Gate {
        if !self.client.is_connected() {
            self.note_outage("not connected");
            return Gate::Open;
        }
        let keys: Vec<String> = labels
            .iter()
            .map(|label| self.key(session_id, label))
            .collect();
        let owner = Uuid::new_v4().to_string();
        let ttl_ms = LOCK_TTL.as_millis().to_string();
        let taken: Result<i64, _> = self
            .acquire
            .evalsha_with_reload(&self.client, keys.clone(), vec![owner.clone(), ttl_ms])
            .await;
        match taken {
            Ok(1) => {
                self.note_recovery();
                Gate::Locked(LockGuard { keys, owner })
            }
            Ok(_) => {
                self.note_recovery();
                Gate::Contended
            }
            Err(err) => {
                self.note_outage(&err.to_string());
                Gate::Open
            }
        }
    }

    /// Releases what `guard` still owns; a failure only lets the locks lapse.
    pub async fn release(&self, guard: LockGuard) {
        let released: Result<i64, _> = self
            .release
            .evalsha_with_reload(&self.client, guard.keys, vec![guard.owner])
            .await;
        if let Err(err) = released {
            tracing::debug!(error = %err, "seat locks left to lapse");
        }
    }

    /// Closes the connection (and stops reconnecting).
    pub async fn close(&self) {
        let _ = self.client.quit().await;
    }

    fn key(&self, session_id: Uuid, label: &SeatLabel) -> String {
        format!("{}:seat:{{{session_id}}}:{label}", self.prefix)
    }

    fn note_outage(&self, why: &str) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                reason = why,
                "Redis is unreachable: booking goes on with PostgreSQL alone"
            );
        }
    }

    fn note_recovery(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis is back: seat locks resume");
        }
    }
}
