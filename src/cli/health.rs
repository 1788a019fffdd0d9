//! `cinema health`: exit 0 when the server reports SERVING, for container
//! health checks.

use std::time::Duration;

use super::connect;
use crate::config::ServerAddress;
use anyhow::Context;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// How long `health` waits for the whole check.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn check(server: &ServerAddress) -> anyhow::Result<()> {
    let addr = &server.addr;
    let check = async {
        let channel = connect::endpoint(server)?
            .connect()
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .context("asking for health")?
            .into_inner()
            .status();
        anyhow::ensure!(
            status == ServingStatus::Serving,
            "{addr} is {}",
            status.as_str_name()
        );
        println!("{addr} is SERVING");
        Ok(())
    };
    tokio::time::timeout(HEALTH_TIMEOUT, check)
        .await
        .with_context(|| format!("{addr} did not answer within {HEALTH_TIMEOUT:?}"))?
}
