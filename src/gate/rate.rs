//! Per-caller call budgets, shared by every instance: a fixed window per
//! caller and budget, counted by one Lua script (`count_call.lua`) that also
//! reads how long the window has left, in one round trip. If Redis does not
//! answer, calls are let through: limits protect the service, they must not
//! take it down.

use std::time::Duration;

use fred::{
    prelude::{Client, ClientLike},
    types::scripts::Script,
};

use super::Outage;
use crate::{config::Budget, domain::Error, metrics};

pub struct RateLimiter {
    client: Client,
    prefix: String,
    count_call: Script,
    outage: Outage,
}

impl RateLimiter {
    /// Budgets counted on `client` (see [`super::connect`]), under `prefix`.
    pub fn new(client: Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            count_call: Script::from_lua(include_str!("count_call.lua")),
            outage: Outage::new(
                "rate_limits",
                "rate limits are off until it returns",
                "rate limits",
            ),
        }
    }

    /// Counts one call of `caller` against the budget named `name`;
    /// RESOURCE_EXHAUSTED, with when to retry, once it is spent.
    pub async fn admit(
        &self,
        name: &'static str,
        budget: Budget,
        caller: &str,
    ) -> Result<(), Error> {
        if !self.client.is_connected() {
            self.outage.went_without("not connected");
            return Ok(());
        }
        let key = format!("{}:rate:{name}:{caller}", self.prefix);
        let window_ms = budget.window.as_millis().to_string();
        let counted: Result<(i64, i64), _> = self
            .count_call
            .evalsha_with_reload(&self.client, vec![key], vec![window_ms])
            .await;
        match counted {
            Ok((calls, left_ms)) => {
                self.outage.answered();
                if calls <= i64::from(budget.calls) {
                    return Ok(());
                }
                metrics::rate_limited(name);
                Err(Error::RateLimited {
                    retry_after: Duration::from_millis(left_ms.max(1) as u64),
                })
            }
            Err(err) => {
                self.outage.went_without(&err.to_string());
                Ok(())
            }
        }
    }
}
