//! The JetStream streams, created or brought up to date at start. Safe to run
//! on every instance at once: creating an existing stream updates it.

use anyhow::Context;
use async_nats::jetstream::{self, stream};

use super::Topology;
use crate::config::StreamLimits;

/// Creates the event and dead-letter streams, or updates their settings.
pub async fn ensure(
    js: &jetstream::Context,
    topology: &Topology,
    limits: &StreamLimits,
) -> anyhow::Result<()> {
    let events = stream::Config {
        name: topology.stream.clone(),
        description: Some("cinema domain events".into()),
        subjects: vec![format!("{}.>", topology.events_root)],
        storage: stream::StorageType::File,
        max_age: limits.max_age,
        max_bytes: limits.max_bytes,
        duplicate_window: limits.duplicate_window,
        ..Default::default()
    };
    let dead_letters = stream::Config {
        name: topology.dlq_stream.clone(),
        description: Some("cinema events that a consumer could not process".into()),
        subjects: vec![format!("{}.>", topology.dlq_root)],
        storage: stream::StorageType::File,
        max_age: limits.max_age,
        ..Default::default()
    };
    for config in [events, dead_letters] {
        let name = config.name.clone();
        js.get_or_create_stream(config.clone())
            .await
            .with_context(|| format!("creating stream {name}"))?;
        js.update_stream(config)
            .await
            .with_context(|| format!("updating stream {name}"))?;
    }
    Ok(())
}
