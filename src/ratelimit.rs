//! Per-caller rate limits, shared by every instance through Redis.
//!
//! A caller is the token's user, or the peer's IP address for calls without a
//! valid token (those are refused by the auth interceptor anyway, but must not
//! cost unlimited work first). Booking RPCs and reads have separate budgets,
//! so a client that polls seat maps never locks itself out of paying.
//!
//! Each budget is a fixed window per caller: one Lua script counts the call
//! and reads how long the window has left, in one round trip. A caller over
//! budget gets RESOURCE_EXHAUSTED with RetryInfo saying when the window ends.
//! If Redis does not answer, calls are let through: limits protect the
//! service, they must not take it down.

use std::{
    net::IpAddr,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use fred::{
    prelude::{Client, ClientLike},
    types::scripts::Script,
};
use tonic::{codegen::http, transport::server::TcpConnectInfo};

use crate::{
    auth::Authenticator,
    config::{Budget, RateLimits},
    error::Error,
    metrics,
    redis::Outage,
};

const COUNT_CALL: &str = include_str!("ratelimit.lua");

/// Which budget a call spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Booking,
    Reads,
}

impl Class {
    /// The budget of a call to `path` (`/package.Service/Method`); health and
    /// reflection are never limited.
    pub fn of(path: &str) -> Option<Self> {
        let method = path.strip_prefix("/cinema.v1.")?;
        Some(match method {
            "BookingService/ReserveSeats"
            | "BookingService/ConfirmPayment"
            | "BookingService/CancelReservation" => Self::Booking,
            _ => Self::Reads,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Booking => "booking",
            Self::Reads => "reads",
        }
    }
}

pub struct RateLimiter {
    client: Client,
    prefix: String,
    limits: RateLimits,
    auth: Authenticator,
    count_call: Script,
    outage: Outage,
}

impl RateLimiter {
    /// Budgets counted on `client` (see [`crate::redis::connect`]), under `prefix`.
    pub fn new(client: Client, prefix: &str, limits: RateLimits, auth: Authenticator) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            limits,
            auth,
            count_call: Script::from_lua(COUNT_CALL),
            outage: Outage::new(
                "rate_limits",
                "rate limits are off until it returns",
                "rate limits",
            ),
        }
    }

    /// Counts one call of `caller` against `class`'s budget.
    pub async fn admit(&self, class: Class, caller: &str) -> Result<(), Error> {
        if !self.client.is_connected() {
            self.outage.went_without("not connected");
            return Ok(());
        }
        let budget = self.budget(class);
        let key = format!("{}:rate:{}:{caller}", self.prefix, class.name());
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
                metrics::rate_limited(class.name());
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

    fn budget(&self, class: Class) -> Budget {
        match class {
            Class::Booking => self.limits.booking,
            Class::Reads => self.limits.reads,
        }
    }

    /// Who is calling: the verified token's user, else the peer's address.
    fn caller<B>(&self, request: &http::Request<B>) -> String {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        match self.auth.verify(authorization) {
            Ok(caller) => format!("user:{}", caller.user_id),
            Err(_) => format!(
                "peer:{}",
                peer_ip(request).map_or("unknown".into(), |ip| ip.to_string())
            ),
        }
    }
}

fn peer_ip<B>(request: &http::Request<B>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .map(|addr| addr.ip())
}

/// The tower layer that applies a [`RateLimiter`] to every cinema RPC
/// (`None`: rate limits are off).
#[derive(Clone)]
pub struct RateLimitLayer(pub Option<Arc<RateLimiter>>);

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limiter: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    limiter: Option<Arc<RateLimiter>>,
}

impl<S, B, R> tower::Service<http::Request<B>> for RateLimit<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let limited = self
            .limiter
            .clone()
            .and_then(|limiter| Some((limiter, Class::of(request.uri().path())?)));
        let Some((limiter, class)) = limited else {
            return Box::pin(self.inner.call(request));
        };
        // The ready service goes into the future; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let caller = limiter.caller(&request);
            match limiter.admit(class, &caller).await {
                Ok(()) => inner.call(request).await,
                Err(refused) => Ok(tonic::Status::from(refused).into_http()),
            }
        })
    }
}
