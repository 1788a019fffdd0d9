//! `cinema events tail`: prints every event as it arrives, decoded, one line
//! each, for a human watching the system:
//!
//! ```text
//! 2026-11-22T11:14:08.745Z payment.confirmed sale=… reservation=… session=… user=alice seats=A1,B2 amount=50.00 BRL ref=pix-1 (event …)
//! ```
//!
//! It reads through an ephemeral ordered consumer, so it changes nothing on
//! the server and leaves nothing behind.

use std::io::Write;

mod describe;

use anyhow::Context;
use async_nats::jetstream::{
    self, ErrorCode,
    consumer::{DeliverPolicy, pull::OrderedConfig},
    context::GetStreamErrorKind,
};
use chrono::{DateTime, Utc};
use tokio_stream::StreamExt;

use super::serve::jetstream;
use crate::{
    config::NatsSettings,
    events::{EVENT_TYPE_HEADER, Topology},
};
use describe::{describe, kind, text, time};

/// Prints the events of this deployment to stdout, from now on or, with
/// `from_start`, from the oldest the stream keeps. Runs until the caller stops
/// it (`cinema events tail` does on Ctrl-C), or fails when the stream does not
/// exist or stdout is closed.
pub async fn tail(nats: &NatsSettings, from_start: bool) -> anyhow::Result<()> {
    let topology = &Topology::new(&nats.prefix);
    let js = &jetstream(nats).await?;
    let stream = open_stream(js, topology).await?;
    let deliver_policy = if from_start {
        DeliverPolicy::All
    } else {
        DeliverPolicy::New
    };
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: format!("{}.>", topology.events_root),
            deliver_policy,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating a consumer on stream {}", topology.stream))?;
    let mut messages = consumer
        .messages()
        .await
        .context("starting to read events")?;
    let mut stdout = std::io::stdout();
    while let Some(message) = messages.next().await {
        match message {
            Ok(message) => {
                writeln!(stdout, "{}", line(topology, &message)).context("writing to stdout")?;
            }
            // The ordered consumer recreates itself; the next message may well come.
            Err(err) => tracing::warn!(error = %err, "reading events"),
        }
    }
    anyhow::bail!("the event stream {} ended", topology.stream)
}

/// The stream, or an error that says plainly that it does not exist.
async fn open_stream(
    js: &jetstream::Context,
    topology: &Topology,
) -> anyhow::Result<jetstream::stream::Stream> {
    let name = &topology.stream;
    match js.get_stream(name).await {
        Ok(stream) => Ok(stream),
        Err(err) if is_not_found(err.kind()) => anyhow::bail!(
            "stream {name} does not exist: `cinema serve` with this CINEMA_NATS_PREFIX creates it"
        ),
        Err(err) => Err(err).with_context(|| format!("opening stream {name}")),
    }
}

fn is_not_found(kind: GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// One line describing a message of the event stream; never fails.
fn line(topology: &Topology, message: &jetstream::Message) -> String {
    let published = published_time(message);
    let Some(event_type) = topology.event_type(&message.subject) else {
        return format!(
            "{} {} (not an event subject)",
            time(published),
            message.subject
        );
    };
    match describe(event_type, &message.payload) {
        Ok(Some(event)) => {
            let at = event.occur_time.or(published);
            format!(
                "{} {} {} (event {})",
                time(at),
                kind(event_type),
                event.fields,
                text(&event.event_id)
            )
        }
        Ok(None) => {
            let declared = message
                .headers
                .as_ref()
                .and_then(|h| h.get(EVENT_TYPE_HEADER))
                .map_or("none".to_owned(), |v| text(v.as_str()));
            format!(
                "{} {event_type} unknown event type ({} bytes, {EVENT_TYPE_HEADER}: {declared})",
                time(published),
                message.payload.len()
            )
        }
        Err(err) => format!(
            "{} {event_type} undecodable payload ({} bytes): {err}",
            time(published),
            message.payload.len()
        ),
    }
}

/// When JetStream stored the message.
fn published_time(message: &jetstream::Message) -> Option<DateTime<Utc>> {
    let nanos = message.info().ok()?.published.unix_timestamp_nanos();
    Some(DateTime::from_timestamp_nanos(i64::try_from(nanos).ok()?))
}
