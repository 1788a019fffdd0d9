//! Domain events: every kind and its payload ([`EventType`]), written to the
//! `outbox` table by the transaction that causes them ([`outbox`]), published
//! to NATS JetStream by a relay on every instance ([`relay`]), into streams
//! set up at start ([`stream`]), and read by durable consumers that survive
//! redeliveries and outages ([`consumer`]).
//!
//! Subjects are `<prefix>.events.<type>` in the stream `<PREFIX>`; messages
//! that a consumer cannot process end in `<PREFIX>_DLQ` on
//! `<prefix>.dlq.<type>`. Every message carries `Nats-Msg-Id` = event id, so
//! JetStream drops re-sends within its duplicate window, and consumers
//! deduplicate by event id.

pub mod backoff;
pub mod consumer;
pub mod outbox;
pub mod relay;
pub mod stream;
mod types;

use std::{fmt::Display, path::Path, time::Duration};

use async_nats::{Client, ConnectOptions};

use crate::tls::{self, CaFileError};

pub use outbox::{Outbox, Refunded, Release, SessionCancelled, Signal, labels_of};
pub use types::{Event, EventType};

/// The header naming the protobuf message of the payload, e.g.
/// `cinema.events.v1.ReservationCreated`.
pub const EVENT_TYPE_HEADER: &str = "Cinema-Event-Type";
/// The content type of every payload.
pub const CONTENT_TYPE: &str = "application/protobuf";

/// The names of one deployment's streams and subjects, from its NATS prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The event stream, e.g. `CINEMA`.
    pub stream: String,
    /// The subjects' root, e.g. `cinema.events`.
    pub events_root: String,
    /// The dead-letter stream, e.g. `CINEMA_DLQ`.
    pub dlq_stream: String,
    /// The dead-letter subjects' root, e.g. `cinema.dlq`.
    pub dlq_root: String,
}

impl Topology {
    pub fn new(prefix: &str) -> Self {
        let stream = prefix.to_ascii_uppercase().replace('-', "_");
        Self {
            dlq_stream: format!("{stream}_DLQ"),
            stream,
            events_root: format!("{prefix}.events"),
            dlq_root: format!("{prefix}.dlq"),
        }
    }

    /// The subject of an event type, e.g. `cinema.events.payment.confirmed`.
    pub fn subject(&self, event_type: impl Display) -> String {
        format!("{}.{event_type}", self.events_root)
    }

    /// The event type named by a subject of this deployment, if it is one
    /// (known to this version or not).
    pub fn event_type<'s>(&self, subject: &'s str) -> Option<&'s str> {
        subject
            .strip_prefix(self.events_root.as_str())?
            .strip_prefix('.')
    }
}

/// How cinema connects to NATS, waiting for nothing: reconnecting without
/// end. A CA file (`ca`) is the only root trusted and requires TLS, as a
/// `tls://` URL does; without one, TLS trusts the system's roots.
pub fn options(ca: Option<&Path>) -> Result<ConnectOptions, CaFileError> {
    let options = ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .max_reconnects(None);
    Ok(match ca {
        Some(ca) => options
            .tls_client_config(tls::trusting(ca)?)
            .require_tls(true),
        None => options,
    })
}

/// Why NATS cannot even be tried: its CA file, or its URL.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    CaFile(#[from] CaFileError),
    #[error(transparent)]
    Nats(#[from] async_nats::ConnectError),
}

/// Connects to NATS, retrying in the background when it is down: callers
/// never wait for NATS beyond one attempt, whose failure is logged with its
/// reason (a certificate refused reads differently from a NATS that is down).
pub async fn connect(url: &str, ca: Option<&Path>) -> Result<Client, ConnectError> {
    let options = options(ca)?.name("cinema");
    match options.clone().connect(url).await {
        Ok(client) => Ok(client),
        Err(err) => {
            tracing::warn!(error = %err, "NATS refused the first connection; retrying in the background");
            Ok(options.retry_on_initial_connect().connect(url).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let topology = Topology::new("cinema");
        assert_eq!(topology.stream, "CINEMA");
        assert_eq!(topology.dlq_stream, "CINEMA_DLQ");
        assert_eq!(
            topology.subject(EventType::PaymentConfirmed),
            "cinema.events.payment.confirmed"
        );
        assert_eq!(
            topology.event_type("cinema.events.seat.released"),
            Some("seat.released")
        );
        assert_eq!(topology.event_type("other.events.seat.released"), None);
        assert_eq!(Topology::new("t-1").stream, "T_1");
    }
}
