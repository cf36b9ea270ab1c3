//! A fake OpenTelemetry collector: OTLP/HTTP (protobuf) on a loopback port, keeping every span it is
//! sent with the service name of its resource, and counting requests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

/// One exported span, ids in lowercase hex as in a traceparent.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub service: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for the root of a trace.
    pub parent_span_id: String,
    /// Attributes whose values are strings or integers, as text.
    pub attributes: Vec<(String, String)>,
}

impl ExportedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Received {
    requests: usize,
    spans: Vec<ExportedSpan>,
}

#[derive(Clone)]
pub struct OtlpCollector {
    addr: std::net::SocketAddr,
    received: Arc<Mutex<Received>>,
}

impl OtlpCollector {
    /// Starts the server on a free loopback port; it lives as long as the test's runtime.
    pub async fn start() -> OtlpCollector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake collector");
        let collector = OtlpCollector {
            addr: listener.local_addr().expect("collector address"),
            received: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(collector.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("collector serves") });
        collector
    }

    /// The value for `telemetry.otlp_endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many export requests arrived.
    pub fn requests(&self) -> usize {
        self.received().requests
    }

    /// Every span received, in order of arrival.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        self.received().spans.clone()
    }

    fn received(&self) -> MutexGuard<'_, Received> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn export(State(collector): State<OtlpCollector>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let mut received = collector.received();
    received.requests += 1;
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|a| a.key == "service.name")
            .and_then(text)
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            received.spans.push(ExportedSpan {
                service: service.clone(),
                name: span.name,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                attributes: span
                    .attributes
                    .iter()
                    .filter_map(|a| Some((a.key.clone(), text(a)?)))
                    .collect(),
            });
        }
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    (StatusCode::OK, Vec::new())
}

fn text(attribute: &KeyValue) -> Option<String> {
    match attribute.value.as_ref()? {
        AnyValue {
            value: Some(any_value::Value::StringValue(s)),
        } => Some(s.clone()),
        AnyValue {
            value: Some(any_value::Value::IntValue(i)),
        } => Some(i.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
