//! The Prometheus registry and every metric the service exports. Handles are created once here and
//! cloned into the modules that count; `/metrics` renders the registry.

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The `database` label value of alerts that matched no database.
pub const UNROUTED: &str = "_unrouted";

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub alerts_received: IntCounterVec,
    pub alerts_duplicate: IntCounterVec,
    pub alerts_routed: IntCounterVec,
    pub ingest_batch_size: Histogram,
    pub outbox_due: IntGaugeVec,
    pub outbox_scheduled: IntGaugeVec,
    pub outbox_oldest_due_age: GaugeVec,
    pub telegram_messages: IntCounterVec,
    pub telegram_rate_limited: IntCounter,
    pub delivery_latency: Histogram,
    pub emails: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("postgram".to_owned()), None)
            .unwrap_or_else(|_| Registry::new());
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            &["route", "method"],
        );
        let alerts_received = IntCounterVec::new(
            Opts::new(
                "alerts_received_total",
                "Alerts in accepted webhook notifications",
            ),
            &["database"],
        );
        let alerts_duplicate = IntCounterVec::new(
            Opts::new(
                "alerts_duplicate_total",
                "Alerts already seen with the same fingerprint, status and startsAt",
            ),
            &["database"],
        );
        let alerts_routed = IntCounterVec::new(
            Opts::new(
                "alerts_routed_total",
                "New alerts stored and routed to a database",
            ),
            &["database"],
        );
        let ingest_batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "ingest_batch_notifications",
                "Notifications committed together in one transaction",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
        );
        let outbox_due = IntGaugeVec::new(
            Opts::new("outbox_due_jobs", "Delivery jobs due and not yet done"),
            &["kind"],
        );
        let outbox_scheduled = IntGaugeVec::new(
            Opts::new(
                "outbox_scheduled_jobs",
                "Delivery jobs waiting for a later time (escalations, backoff)",
            ),
            &["kind"],
        );
        let outbox_oldest_due_age = GaugeVec::new(
            Opts::new(
                "outbox_oldest_due_age_seconds",
                "How long the oldest due delivery job has waited",
            ),
            &["kind"],
        );
        let telegram_messages = IntCounterVec::new(
            Opts::new(
                "telegram_messages_total",
                "Telegram calls by action (send, edit, digest, notice) and result (ok or the failure reason)",
            ),
            &["action", "result"],
        );
        let telegram_rate_limited = IntCounter::new(
            "telegram_rate_limited_total",
            "429 answers from Telegram (the throttle should keep this at 0)",
        );
        let delivery_latency = Histogram::with_opts(
            HistogramOpts::new(
                "delivery_latency_seconds",
                "From webhook accepted to Telegram's answer to the first message of an incident",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
        );
        let emails = IntCounterVec::new(
            Opts::new(
                "emails_total",
                "Emails by kind and result (sent, transient, permanent)",
            ),
            &["kind", "result"],
        );
        // The names and label sets above are constants: a bad one is a programming error that every
        // test building `Metrics` would catch, never something input can cause.
        let metrics = Self {
            registry,
            http_requests: http_requests.expect("valid metric"),
            http_duration: http_duration.expect("valid metric"),
            alerts_received: alerts_received.expect("valid metric"),
            alerts_duplicate: alerts_duplicate.expect("valid metric"),
            alerts_routed: alerts_routed.expect("valid metric"),
            ingest_batch_size: ingest_batch_size.expect("valid metric"),
            outbox_due: outbox_due.expect("valid metric"),
            outbox_scheduled: outbox_scheduled.expect("valid metric"),
            outbox_oldest_due_age: outbox_oldest_due_age.expect("valid metric"),
            telegram_messages: telegram_messages.expect("valid metric"),
            telegram_rate_limited: telegram_rate_limited.expect("valid metric"),
            delivery_latency: delivery_latency.expect("valid metric"),
            emails: emails.expect("valid metric"),
        };
        for collector in metrics.collectors() {
            metrics
                .registry
                .register(collector)
                .expect("metric names are unique");
        }
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.http_requests.clone()),
            Box::new(self.http_duration.clone()),
            Box::new(self.alerts_received.clone()),
            Box::new(self.alerts_duplicate.clone()),
            Box::new(self.alerts_routed.clone()),
            Box::new(self.ingest_batch_size.clone()),
            Box::new(self.outbox_due.clone()),
            Box::new(self.outbox_scheduled.clone()),
            Box::new(self.outbox_oldest_due_age.clone()),
            Box::new(self.telegram_messages.clone()),
            Box::new(self.telegram_rate_limited.clone()),
            Box::new(self.delivery_latency.clone()),
            Box::new(self.emails.clone()),
        ]
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
