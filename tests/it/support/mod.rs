//! What the tests share: a real server per test ([`TestApp`]), a typed client
//! per caller ([`Client`]), [`eventually`] to wait for something to happen,
//! and guards ([`resources`]) that remove what a test created on the shared
//! PostgreSQL, Redis and NATS when they are dropped, also when the test
//! panics. Tests that break a service start a private one ([`postgres`],
//! [`redis`], [`nats`]); tests that need another instance start the real
//! binary ([`process`]).

pub mod app;
pub mod audit;
pub mod certs;
pub mod client;
pub mod crowd;
pub mod db;
mod heavy;
pub mod invariants;
pub mod nats;
pub mod postgres;
pub mod process;
pub mod programme;
pub mod redis;
pub mod resources;
pub mod tls;
pub mod wait;
pub mod watch;

use std::time::Duration;

pub use app::{SECRET, TestApp, service_url, test_settings, with_database};
pub use client::{
    Client, assert_not_found, counts, invalid_fields, precondition_violations, seat,
    seat_unavailable, session_request, violated_fields, violation,
};
pub use heavy::heavy;
pub use wait::{eventually, eventually_every};

// Everything the tests use of the `cinema` library is imported here (and,
// for the server harness, in app.rs): when its modules move, the paths
// change in these two files only.
pub use cinema::{
    auth::Authenticator,
    config::{Budget, RateLimits, Secret, Settings},
    events::{EventType, Topology},
    proto::{events as ev, v1 as pb},
    tickets::code::TicketSigner,
};

/// The internals some tests drive without a server: the catalog and events
/// consumer (`events_consumer`), the store's pool (`server`), the Redis and
/// NATS connections (`dependency_tls`).
pub mod internals {
    pub use cinema::{
        catalog,
        config::StreamLimits,
        domain::{Caller, NewSession, Session, SessionSales},
        events::{
            self, CONTENT_TYPE, EVENT_TYPE_HEADER,
            consumer::{self, DLQ_REASON_HEADER, DLQ_SUBJECT_HEADER},
        },
        figures::{CONSUMER, SalesFigures},
        gate, store,
    };
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("the bound address")
        .port()
}

/// A time `hours` from now, whole seconds.
pub fn in_hours(hours: i64) -> Option<prost_types::Timestamp> {
    let at = chrono::Utc::now() + chrono::Duration::hours(hours);
    Some(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

/// A wire timestamp as a chrono time.
pub fn to_chrono(at: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    let at = at.expect("a timestamp");
    chrono::DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).expect("valid nanos"))
        .expect("a representable timestamp")
}

/// The seat labels of a room: `A1`..`A{per_row}`, `B1`.. for each row
/// letter in `rows`.
pub fn labels(rows: &str, per_row: u32) -> Vec<String> {
    rows.chars()
        .flat_map(|row| (1..=per_row).map(move |n| format!("{row}{n}")))
        .collect()
}

/// A fresh NATS prefix (and so fresh stream names) and Redis key prefix.
pub fn fresh_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// How long a test may wait for something that happens within a second or
/// two on a quiet machine: generous, for a busy one.
pub const PATIENCE: Duration = Duration::from_secs(20);
