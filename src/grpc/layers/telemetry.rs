//! What every RPC gets: a span with its request id, user, session and
//! reservation, a closing log line with its code and duration, and metrics.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use tonic::codegen::http::{self, HeaderValue};
use uuid::Uuid;

use crate::{grpc::status::code_name, metrics};

/// The request id header: taken from the client when it sends a sane one,
/// generated otherwise, and echoed in the response either way.
pub const REQUEST_ID: &str = "x-request-id";
/// A client's request id longer than this is replaced by a generated one.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The span of one RPC; its empty fields are filled in as the call goes.
pub fn rpc_span<B>(request: &http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "rpc",
        method = %request.uri().path(),
        request_id = tracing::field::Empty,
        user = tracing::field::Empty,
        session_id = tracing::field::Empty,
        reservation_id = tracing::field::Empty,
        room_id = tracing::field::Empty,
        movie_id = tracing::field::Empty,
        ticket_id = tracing::field::Empty,
        code = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    )
}

/// Adds a field to the current RPC's span (no-op outside one).
pub fn record(field: &str, value: impl std::fmt::Display) {
    tracing::Span::current().record(field, tracing::field::display(value));
}

/// The tower layer that gives every RPC its request id, a closing log line
/// with the gRPC code and duration, and its metrics.
#[derive(Clone, Copy, Default)]
pub struct RpcTelemetryLayer;

impl<S> tower::Layer<S> for RpcTelemetryLayer {
    type Service = RpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTelemetry(inner)
    }
}

#[derive(Clone)]
pub struct RpcTelemetry<S>(S);

impl<S, B, R> tower::Service<http::Request<B>> for RpcTelemetry<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let request_id = request_id(&request);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            request.headers_mut().insert(REQUEST_ID, value);
        }
        let method = request.uri().path().to_owned();
        // The ready service goes into the future; a fresh clone waits for the next call.
        let clone = self.0.clone();
        let mut inner = std::mem::replace(&mut self.0, clone);
        // Polled inside the RPC's span, so everything below (the auth
        // interceptor, the handler) logs with the request id.
        Box::pin(async move {
            record("request_id", &request_id);
            let mut response = inner.call(request).await;
            let elapsed = started.elapsed();
            if let Ok(response) = &mut response {
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert(REQUEST_ID, value);
                }
                let code = status_code(response.headers());
                let span = tracing::Span::current();
                span.record("code", code_name(code));
                span.record("elapsed_ms", elapsed.as_secs_f64() * 1000.0);
                tracing::info!("rpc finished");
                metrics::rpc_finished(&method, code_name(code), elapsed);
            }
            response
        })
    }
}

/// The client's request id if it is sane, else a new one.
fn request_id<B>(request: &http::Request<B>) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN)
        .filter(|id| id.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned)
}

/// The gRPC code of a response whose headers have arrived. Errors travel in
/// the headers of a trailers-only response; a success's status comes later,
/// in the trailers, so no code in the headers means OK so far.
fn status_code(headers: &http::HeaderMap) -> tonic::Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from)
}
