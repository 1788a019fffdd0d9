//! Structured logs through `tracing`: pretty or JSON, filtered by `RUST_LOG`,
//! and spans exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//! (What every RPC logs is `grpc::layers::telemetry`.)

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

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
