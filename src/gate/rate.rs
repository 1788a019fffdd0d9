//! Per-caller call budgets, shared by every instance: a sliding window per
//! caller and budget (the times of the calls admitted in the last window,
//! kept by one Lua script, `admit_call.lua`, that also tells how long until
//! the next call fits), in one round trip. No caller gets more than its
//! budget in any window, so nobody gets twice it across the edge of a fixed
//! window. If Redis does not answer, calls are let through: limits protect
//! the service, they must not take it down.

use std::time::Duration;

use fred::{
    prelude::{Client, ClientLike},
    types::scripts::Script,
};

use uuid::Uuid;

use super::Outage;
use crate::{config::Budget, domain::Error, metrics};

pub struct RateLimiter {
    client: Client,
    prefix: String,
    admit_call: Script,
    outage: Outage,
}

impl RateLimiter {
    /// Budgets counted on `client` (see [`super::connect`]), under `prefix`.
    pub fn new(client: Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            admit_call: Script::from_lua(include_str!("admit_call.lua")),
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
        // A new key name: a counter left by the fixed windows of old is not
        // a sorted set.
        let key = format!("{}:rate2:{name}:{caller}", self.prefix);
        let args = vec![
            budget.window.as_millis().to_string(),
            budget.calls.to_string(),
            Uuid::new_v4().to_string(),
        ];
        let admitted: Result<(i64, i64), _> = self
            .admit_call
            .evalsha_with_reload(&self.client, vec![key], args)
            .await;
        match admitted {
            Ok((1, _)) => {
                self.outage.answered();
                Ok(())
            }
            Ok((_, wait_ms)) => {
                self.outage.answered();
                metrics::rate_limited(name);
                Err(Error::RateLimited {
                    retry_after: Duration::from_millis(wait_ms.max(1).unsigned_abs()),
                })
            }
            Err(err) => {
                self.outage.went_without(&err.to_string());
                Ok(())
            }
        }
    }
}
