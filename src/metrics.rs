//! The Prometheus registry and every metric the service exports. Handles are created once here and
//! cloned into the modules that count; `/metrics` renders the registry.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
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
    /// 1 when the state store answered the scrape's outbox query, 0 when it did not.
    pub state_store_up: IntGauge,
    /// Prometheus's own names: whether the last reload was applied (1) or refused (0), and when
    /// one was last applied (the start counts as one).
    pub config_last_reload_successful: IntGauge,
    pub config_last_reload_success_timestamp: Gauge,
}

/// Latency buckets of HTTP requests, in seconds.
const HTTP_SECONDS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Notifications committed in one transaction.
const BATCH_SIZES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
/// From webhook to Telegram's answer, in seconds.
const DELIVERY_SECONDS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("postgram".to_owned()), None)
            .unwrap_or_else(|_| Registry::new());
        let m = Maker(&registry);
        Self {
            http_requests: m.counters(
                "http_requests_total",
                "HTTP requests by route, method and status",
                &["route", "method", "status"],
            ),
            http_duration: m.histograms(
                HistogramOpts::new("http_request_duration_seconds", "HTTP request latency")
                    .buckets(HTTP_SECONDS.to_vec()),
                &["route", "method"],
            ),
            alerts_received: m.counters(
                "alerts_received_total",
                "Alerts in accepted webhook notifications",
                &["database"],
            ),
            alerts_duplicate: m.counters(
                "alerts_duplicate_total",
                "Alerts already seen with the same fingerprint, status and startsAt",
                &["database"],
            ),
            alerts_routed: m.counters(
                "alerts_routed_total",
                "New alerts stored and routed to a database",
                &["database"],
            ),
            ingest_batch_size: m.histogram(
                HistogramOpts::new(
                    "ingest_batch_notifications",
                    "Notifications committed together in one transaction",
                )
                .buckets(BATCH_SIZES.to_vec()),
            ),
            outbox_due: m.int_gauges("outbox_due_jobs", "Delivery jobs due and not yet done", &["kind"]),
            outbox_scheduled: m.int_gauges(
                "outbox_scheduled_jobs",
                "Delivery jobs waiting for a later time (escalations, backoff)",
                &["kind"],
            ),
            outbox_oldest_due_age: m.gauges(
                "outbox_oldest_due_age_seconds",
                "How long the oldest due delivery job has waited",
                &["kind"],
            ),
            telegram_messages: m.counters(
                "telegram_messages_total",
                "Telegram calls by action (send, edit, digest, notice) and result (ok or the failure reason)",
                &["action", "result"],
            ),
            telegram_rate_limited: m.register(IntCounter::new(
                "telegram_rate_limited_total",
                "429 answers from Telegram (the throttle should keep this at 0)",
            )),
            delivery_latency: m.histogram(
                HistogramOpts::new(
                    "delivery_latency_seconds",
                    "From webhook accepted to Telegram's answer to the first message of an incident",
                )
                .buckets(DELIVERY_SECONDS.to_vec()),
            ),
            emails: m.counters(
                "emails_total",
                "Emails by kind and result (sent, transient, permanent)",
                &["kind", "result"],
            ),
            state_store_up: m.register(IntGauge::new(
                "state_store_up",
                "Whether the state store answered at this scrape (1) or not (0)",
            )),
            config_last_reload_successful: m.register(IntGauge::new(
                "config_last_reload_successful",
                "Whether the last configuration reload was applied (1) or refused (0)",
            )),
            config_last_reload_success_timestamp: m.register(Gauge::new(
                "config_last_reload_success_timestamp_seconds",
                "When the configuration was last loaded or reloaded, as a Unix time",
            )),
            registry,
        }
    }

    /// Records a reload (or the start's load, `applied`) at `at`.
    pub fn reloaded(&self, applied: bool, at: chrono::DateTime<chrono::Utc>) {
        self.config_last_reload_successful.set(i64::from(applied));
        if applied {
            let seconds = at.timestamp_millis() as f64 / 1000.0;
            self.config_last_reload_success_timestamp.set(seconds);
        }
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

/// Makes metrics and registers them. The names and label sets are constants: a bad or repeated one is
/// a programming error that every test building `Metrics` would catch, never something input can cause.
struct Maker<'r>(&'r Registry);

impl Maker<'_> {
    fn register<C: Collector + Clone + 'static>(&self, made: prometheus::Result<C>) -> C {
        let metric = made.expect("valid metric");
        self.0
            .register(Box::new(metric.clone()))
            .expect("metric names are unique");
        metric
    }

    fn counters(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(name, help), labels))
    }

    fn int_gauges(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(Opts::new(name, help), labels))
    }

    fn gauges(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        self.register(GaugeVec::new(Opts::new(name, help), labels))
    }

    fn histogram(&self, opts: HistogramOpts) -> Histogram {
        self.register(Histogram::with_opts(opts))
    }

    fn histograms(&self, opts: HistogramOpts, labels: &[&str]) -> HistogramVec {
        self.register(HistogramVec::new(opts, labels))
    }
}
