//! Per-caller rate limits, shared by every instance through Redis
//! ([`crate::gate::rate`] counts).
//!
//! A caller is the token's user, or the peer's IP address for calls without a
//! valid token (those are refused right after, but must not cost unlimited
//! work first). Booking RPCs and reads have separate budgets, so a client
//! that polls seat maps never locks itself out of paying. A caller over
//! budget gets RESOURCE_EXHAUSTED with RetryInfo saying when the window ends.

use std::{
    net::IpAddr,
    sync::Arc,
    task::{Context, Poll},
};

use tonic::{
    codegen::http,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};

use super::auth::{Identity, is_cinema_call};
use crate::{config::RateLimits, domain::Error, gate::RateLimiter};

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
        if !is_cinema_call(path) {
            return None;
        }
        Some(match path {
            "/cinema.v1.BookingService/ReserveSeats"
            | "/cinema.v1.BookingService/ReserveBestAvailable"
            | "/cinema.v1.BookingService/ExtendReservation"
            | "/cinema.v1.BookingService/ConfirmPayment"
            | "/cinema.v1.BookingService/CancelReservation"
            | "/cinema.v1.SessionService/BlockSeats"
            | "/cinema.v1.SessionService/UnblockSeats"
            | "/cinema.v1.SessionService/CancelSession" => Self::Booking,
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

/// Who is calling: the verified token's user, else the peer's address.
fn caller<B>(request: &http::Request<B>) -> String {
    match request.extensions().get::<Identity>() {
        Some(Identity::Caller(caller)) => format!("user:{}", caller.user_id),
        _ => format!(
            "peer:{}",
            peer_ip(request).map_or("unknown".into(), |ip| ip.to_string())
        ),
    }
}

fn peer_ip<B>(request: &http::Request<B>) -> Option<IpAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        // Over TLS, the TCP connection's information is inside the TLS one.
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .map(TlsConnectInfo::get_ref)
        })
        .and_then(TcpConnectInfo::remote_addr)
        .map(|addr| addr.ip())
}

/// Budgets counted in Redis, and how large they are.
#[derive(Clone)]
pub struct Budgets {
    pub limiter: Arc<RateLimiter>,
    pub limits: RateLimits,
}

impl Budgets {
    async fn admit(&self, class: Class, caller: &str) -> Result<(), Error> {
        let budget = match class {
            Class::Booking => self.limits.booking,
            Class::Reads => self.limits.reads,
        };
        self.limiter.admit(class.name(), budget, caller).await
    }
}

/// The tower layer that applies the budgets to every cinema RPC (`None`:
/// rate limits are off).
#[derive(Clone)]
pub struct RateLimitLayer(pub Option<Budgets>);

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            budgets: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    budgets: Option<Budgets>,
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
            .budgets
            .clone()
            .and_then(|budgets| Some((budgets, Class::of(request.uri().path())?)));
        let Some((budgets, class)) = limited else {
            return Box::pin(self.inner.call(request));
        };
        // The ready service goes into the future; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let caller = caller(&request);
            match budgets.admit(class, &caller).await {
                Ok(()) => inner.call(request).await,
                Err(refused) => Ok(tonic::Status::from(refused).into_http()),
            }
        })
    }
}
