//! The log subscriber: human-readable text by default, one JSON object per line with `--log-format json`.
//! The level comes from `RUST_LOG` (default `info`).
//!
//! With `telemetry.otlp_endpoint`, spans are also exported as OpenTelemetry traces over OTLP/HTTP
//! (batched on the tokio runtime, flushed by [`Telemetry::shutdown`]), and JSON log lines written
//! inside a traced span carry its `trace_id` and `span_id`. The spans that make traces are at TRACE
//! level and never shown in logs: without an endpoint the subscriber is the plain log subscriber,
//! whose filter disables them at their call sites, so they cost nothing. A trace crosses the outbox
//! as a W3C `traceparent` ([`traceparent`], [`continue_trace`]).

use std::collections::HashMap;
use std::fmt;

use clap::ValueEnum;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::{Event, Level, Subscriber};
use tracing_opentelemetry::{OpenTelemetrySpanExt, OtelData};
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter};

use crate::config::TelemetryConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The service's name in its traces.
const SERVICE_NAME: &str = "postgram";
/// How long one export may take before the batch is dropped (the collector is away).
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What must be flushed before the process ends: the trace exporter, when there is one.
#[must_use = "call shutdown() before the runtime stops, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued and stops the exporter. Call it from outside the runtime's
    /// tasks while the runtime still runs: the export itself is a task of that runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "flushing the last traces failed");
        }
    }
}

/// Installs the subscriber: logs, and trace export when `traces` says where. Must be called inside a
/// tokio runtime when `traces` is given (the batch exporter is a task of it).
pub fn init(format: LogFormat, traces: Option<&TelemetryConfig>) -> Telemetry {
    let filter = log_filter();
    let Some(traces) = traces else {
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr);
        // A second initialisation (tests) keeps the first subscriber.
        let _ = match format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
        };
        return Telemetry { provider: None };
    };
    let provider = match tracer_provider(traces) {
        Ok(provider) => provider,
        Err(e) => {
            // Traces are an aid, not a duty: the service runs on without them.
            let telemetry = init(format, None);
            tracing::error!(error = %e, "cannot export traces; running without them");
            return telemetry;
        }
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let subscriber = traced_subscriber(format, &provider, filter, std::io::stderr, ansi);
    let _ = subscriber.try_init();
    Telemetry {
        provider: Some(provider),
    }
}

/// Logs (through `filter`, to `writer`) and trace export through `provider`, each seeing only its
/// own spans and events.
fn traced_subscriber<W>(
    format: LogFormat,
    provider: &SdkTracerProvider,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl Subscriber + Send + Sync + for<'a> LookupSpan<'a>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let traced = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        .with_filter(filter::filter_fn(exported));
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer);
    let logs = match format {
        LogFormat::Text => logs.with_filter(filter).boxed(),
        // The JSON format sees the trace spans too, to find their ids, but shows no span.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .map_event_format(WithTraceIds)
            .with_filter(filter.or(filter::filter_fn(|m| m.is_span() && exported(m))))
            .boxed(),
    };
    tracing_subscriber::registry().with(traced).with(logs)
}

fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

fn tracer_provider(traces: &TelemetryConfig) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces.traces_url.as_str())
        .with_timeout(EXPORT_TIMEOUT)
        .build()?;
    let batches = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(SERVICE_NAME)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_resource(resource)
        .build())
}

/// What goes into traces: this crate's spans (at any level: they are made for traces), and its
/// events of level info and above as span events.
fn exported(metadata: &tracing::Metadata<'_>) -> bool {
    let ours = metadata.target().starts_with(env!("CARGO_CRATE_NAME"));
    ours && (metadata.is_span() || *metadata.level() <= Level::INFO)
}

/// The W3C `traceparent` of `span` when it is exported, to be stored with the work it causes.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    if span.is_disabled() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` (not yet entered) a child of the span `traceparent` names: work taken from the
/// outbox joins the trace of the request that stored it.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|_| !span.is_disabled()) else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        // Fails only for a span already entered, which callers never pass.
        let _ = span.set_parent(parent);
    }
}

/// The JSON log format with the ids of the trace and span the event happened in, when there is one.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
    FormattedFields<N>: 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // The innermost span that is part of a trace (its ids exist once it has been entered).
        let ids = ctx.event_scope().and_then(|scope| {
            scope.into_iter().find_map(|span| {
                let extensions = span.extensions();
                let data = extensions.get::<OtelData>()?;
                Some((data.trace_id()?, data.span_id()?))
            })
        });
        let Some((trace_id, span_id)) = ids else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        // The JSON format writes one object, then a newline.
        match line.rfind('}') {
            Some(end) => write!(
                writer,
                "{},\"trace_id\":\"{}\",\"span_id\":\"{}\"{}",
                &line[..end],
                trace_id,
                span_id,
                &line[end..]
            ),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests;
