//! Structured logs through `tracing`: pretty or JSON, filtered by `RUST_LOG`,
//! and spans exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
//! and what every RPC gets: a span with its request id, user, session and
//! reservation, a closing log line with its code and duration, and metrics.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tonic::codegen::http::{self, HeaderValue};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};
use uuid::Uuid;

use crate::{config::LogFormat, metrics};

/// What is logged when `RUST_LOG` is not set: sqlx's notices are noise.
const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// The OTLP collector to send spans to (gRPC), as OpenTelemetry names it.
const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Keeps span export going; dropping it sends the spans still buffered.
#[must_use = "dropping it stops span export"]
pub struct Telemetry(Option<SdkTracerProvider>);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("cinema: flushing spans to the OTLP collector failed: {err}");
        }
    }
}

/// Installs the global subscriber, filtered by `RUST_LOG`, exporting spans
/// over OTLP when [`OTLP_ENDPOINT`] is set. Call it inside the runtime.
pub fn init(format: LogFormat) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let (provider, export_error) = match otlp_provider() {
        Ok(provider) => (provider, None),
        Err(err) => (None, Some(err)),
    };
    let otlp = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("cinema")));
    let registry = tracing_subscriber::registry().with(filter).with(otlp);
    let installed = match format {
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second call (tests start many servers in one process) keeps the first.
    drop(installed);
    if let Some(err) = export_error {
        tracing::warn!(error = %err, "spans are not exported: the OTLP exporter could not be set up");
    }
    Telemetry(provider)
}

/// A tracer provider sending spans in batches to the OTLP collector over
/// gRPC, if one is configured.
fn otlp_provider() -> Result<Option<SdkTracerProvider>, opentelemetry_otlp::ExporterBuildError> {
    if std::env::var_os(OTLP_ENDPOINT).is_none_or(|v| v.is_empty()) {
        return Ok(None);
    }
    // The builder reads the endpoint, headers and timeout from the OTEL_* variables.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    let resource = Resource::builder().with_service_name("cinema").build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

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
                span.record("code", crate::watch_view::code_name(code));
                span.record("elapsed_ms", elapsed.as_secs_f64() * 1000.0);
                tracing::info!("rpc finished");
                metrics::rpc_finished(&method, code, elapsed);
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
