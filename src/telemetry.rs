//! Logging and tracing setup for the binary: log lines to stderr (text or JSON) and,
//! when `otlp_endpoint` is set, every span (one per task, see the dispatcher) exported
//! over OTLP/HTTP with protobuf bodies. Off by default. Depends on nothing else in the
//! crate.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Flushes exported spans when dropped; keep it alive for the life of the process.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("OTLP export: could not flush the last spans: {e}");
            }
        }
    }
}

/// The exporter's tracer provider; must be called outside an async runtime (its HTTP
/// client runs its own).
fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()?;
    let batches = BatchConfigBuilder::default()
        .with_scheduled_delay(Duration::from_secs(1))
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batches)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            Resource::builder()
                .with_service_name("smart-routing")
                .build(),
        )
        .build())
}

/// Installs the global subscriber: `RUST_LOG` (default `info`) filters the log lines;
/// the export takes this crate's spans and events at `info` and above whatever
/// `RUST_LOG` says (and never the HTTP client's own, which would feed back).
pub fn init(log_format: &str, otlp_endpoint: &str) -> anyhow::Result<Telemetry> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if log_format == "json" {
        logs.json().with_filter(filter()).boxed()
    } else {
        logs.with_filter(filter()).boxed()
    };
    let provider = (!otlp_endpoint.is_empty())
        .then(|| provider(otlp_endpoint))
        .transpose()?;
    let export = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("smart-routing"))
            .with_filter(Targets::new().with_target("smart_routing", Level::INFO))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(export)
        .try_init()?;
    if !otlp_endpoint.is_empty() {
        tracing::info!(endpoint = %otlp_endpoint, "exporting spans over OTLP/HTTP");
    }
    Ok(Telemetry { provider })
}
