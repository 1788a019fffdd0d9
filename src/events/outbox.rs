//! Writing events: the transaction that changes state also inserts its events
//! into the `outbox` table, so an event exists if and only if its change was
//! committed. The relay publishes them afterwards.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, FromQueryResult, Value};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    api::convert::timestamp,
    catalog::layout::SeatLabel,
    error::{Error, Result},
    proto::{events as pb, v1},
    store,
};

/// Tells this instance's relay that events were committed (other instances
/// learn it from PostgreSQL's NOTIFY).
#[derive(Clone, Default)]
pub struct Signal(Arc<Notify>);

impl Signal {
    pub fn notify(&self) {
        self.0.notify_one();
    }

    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// The events of one transaction, in the order they happened.
#[derive(Default)]
pub struct Outbox {
    events: Vec<(Uuid, &'static str, Vec<u8>)>,
}

/// A freed or changed seat, as events describe it.
pub struct SeatChange {
    pub label: String,
    pub status: v1::SeatStatus,
    pub version: i64,
}

impl Outbox {
    /// Adds an event; `build` gets its id and time and returns the payload.
    pub fn push<M: Message>(
        &mut self,
        event_type: &'static str,
        build: impl FnOnce(String, prost_types::Timestamp) -> M,
    ) {
        let event_id = Uuid::now_v7();
        let payload = build(event_id.to_string(), timestamp(Utc::now())).encode_to_vec();
        self.events.push((event_id, event_type, payload));
    }

    /// Adds `seats.changed` for the seats of one session that changed.
    pub fn seats_changed(&mut self, session_id: Uuid, seats: &[SeatChange]) {
        if seats.is_empty() {
            return;
        }
        self.push("seats.changed", |event_id, occur_time| pb::SeatsChanged {
            event_id,
            occur_time: Some(occur_time),
            session_id: session_id.to_string(),
            seats: seats
                .iter()
                .map(|seat| {
                    let place = seat.label.parse::<SeatLabel>().ok();
                    v1::Seat {
                        label: seat.label.clone(),
                        row: place.map(|p| p.row().to_string()).unwrap_or_default(),
                        number: place.map_or(0, |p| p.number()),
                        status: seat.status.into(),
                        version: seat.version,
                    }
                })
                .collect(),
        });
    }

    /// Inserts every event in one statement, inside `txn`.
    pub async fn write(self, txn: &DatabaseTransaction) -> Result<()> {
        if self.events.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(self.events.len());
        let mut values: Vec<Value> = Vec::with_capacity(self.events.len() * 3);
        for (i, (event_id, event_type, payload)) in self.events.into_iter().enumerate() {
            rows.push(format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
            values.extend([event_id.into(), event_type.into(), payload.into()]);
        }
        let sql = format!(
            "INSERT INTO outbox (event_id, subject, payload) VALUES {}",
            rows.join(", ")
        );
        txn.execute_raw(store::sql(sql, values)).await?;
        Ok(())
    }
}

/// How many events wait to be published, and how long the oldest has waited.
pub async fn backlog(db: &DatabaseConnection) -> Result<(u64, Duration)> {
    #[derive(FromQueryResult)]
    struct Backlog {
        events: i64,
        oldest_age_seconds: f64,
    }
    let backlog = Backlog::find_by_statement(store::sql(
        "SELECT count(*) AS events,
                coalesce(extract(epoch FROM now() - min(occur_time)), 0)::float8 AS oldest_age_seconds
           FROM outbox WHERE published_time IS NULL",
        [],
    ))
    .one(db)
    .await?
    .ok_or_else(|| Error::Internal("an aggregate returned no row".into()))?;
    Ok((
        backlog.events.max(0) as u64,
        Duration::from_secs_f64(backlog.oldest_age_seconds.max(0.0)),
    ))
}
