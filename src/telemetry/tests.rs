use std::sync::{Arc, Mutex};

use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::{LogFormat, continue_trace, traced_subscriber, traceparent};

/// Log lines written into memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Lines {
    type Writer = Lines;

    fn make_writer(&'w self) -> Lines {
        self.clone()
    }
}

impl Lines {
    fn json(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().expect("not poisoned").clone()).expect("UTF-8");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }
}

fn ids(span: &tracing::Span) -> (String, String) {
    let context = span.context();
    let ids = context.span().span_context().clone();
    (ids.trace_id().to_string(), ids.span_id().to_string())
}

#[test]
fn json_lines_inside_a_traced_span_carry_its_trace_and_span_ids() {
    // A provider without an exporter still gives every span its ids.
    let provider = SdkTracerProvider::builder().build();
    let lines = Lines::default();
    let subscriber = traced_subscriber(
        LogFormat::Json,
        &provider,
        EnvFilter::new("info"),
        lines.clone(),
        false,
    );
    let (request, job) = tracing::subscriber::with_default(subscriber, || {
        tracing::info!("outside any trace");
        let request = tracing::trace_span!(parent: None, "request");
        request.in_scope(|| tracing::info!(alerts = 2, "inside the request"));
        // The outbox keeps the request's traceparent; the worker's span continues its trace.
        let stored = traceparent(&request).expect("a traced span has a traceparent");
        let job = tracing::trace_span!(parent: None, "job");
        continue_trace(&job, Some(&stored));
        job.in_scope(|| tracing::warn!("inside the job"));
        // Below the log level: not written, even inside a span.
        request.in_scope(|| tracing::debug!("hidden"));
        (ids(&request), ids(&job))
    });
    let lines = lines.json();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
    assert_eq!(lines[0]["message"], "outside any trace");
    assert_eq!(lines[1]["message"], "inside the request");
    assert_eq!(lines[1]["alerts"], 2);
    assert_eq!(lines[1]["trace_id"], request.0.as_str());
    assert_eq!(lines[1]["span_id"], request.1.as_str());
    assert_eq!(
        lines[2]["trace_id"],
        request.0.as_str(),
        "the job joined the trace"
    );
    assert_eq!(lines[2]["span_id"], job.1.as_str());
    assert_ne!(job.1, request.1);
    // No span is shown: apart from the ids, lines look as they do without export.
    assert!(lines[1].get("span").is_none(), "{}", lines[1]);
}

#[test]
fn without_export_no_span_is_made_and_nothing_is_propagated() {
    let lines = Lines::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("info"))
        .with_writer(lines.clone())
        .json()
        .flatten_event(true)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::trace_span!(parent: None, "request");
        assert!(request.is_disabled());
        assert_eq!(traceparent(&request), None);
        let job = tracing::trace_span!(parent: None, "job");
        continue_trace(
            &job,
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        job.in_scope(|| tracing::info!("inside the job"));
    });
    let lines = lines.json();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
}
