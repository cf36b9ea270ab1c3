//! `deploy/prometheus` and `deploy/grafana`: the rules on Postgram itself against promtool, and every
//! metric they and the dashboard name against the running service's `/metrics`.

use std::time::Duration;

use serde_json::json;

use crate::support::deploy_files::{metric_names, promql_in_dashboard, promql_in_rules};
use crate::support::monitoring::{prometheus_available, promtool};
use crate::support::monitoring_files::{fired_by_unit_tests, rules};
use crate::support::{Backend, TestApp, TestState, alert, config, eventually, notification};

pub const DASHBOARD: &str = "deploy/grafana/postgram.json";
const RULES: &str = "deploy/prometheus/postgram.rules.yml";
const RULE_TESTS: &str = "deploy/prometheus/postgram.rules.test.yml";

#[test]
fn the_postgram_rules_pass_promtool_and_their_unit_tests() {
    if !prometheus_available() {
        return;
    }
    let (ok, output) = promtool(&["check", "rules", RULES]);
    assert!(ok, "{output}");
    let (ok, output) = promtool(&["test", "rules", RULE_TESTS]);
    assert!(ok, "{output}");
}

#[test]
fn every_postgram_rule_has_a_unit_test_that_fires_it() {
    let fired = fired_by_unit_tests(RULE_TESTS);
    let untested: Vec<_> = rules(RULES)
        .into_iter()
        .map(|r| (r.alert, r.severity))
        .filter(|key| !fired.contains(key))
        .collect();
    assert!(
        untested.is_empty(),
        "rules no unit test fires: {untested:?}"
    );
}

/// What Prometheus adds to every target, not the service.
const FROM_PROMETHEUS: [&str; 1] = ["up"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_the_dashboard_and_the_rules_is_exported() {
    let Some(state) = TestState::new(Backend::Sqlite).await else {
        return;
    };
    let app = TestApp::start(config(&state)).await;

    // Labelled metrics appear once they have a value: an alert posted twice counts it received,
    // routed and duplicate; its delivery jobs fill the outbox gauges and meet the test config's
    // unreachable Telegram; a recipient Telegram cannot serve (@alice, whom the bot has never seen)
    // puts a fallback email in the outbox, which meets the unreachable SMTP server.
    let firing = notification(
        "firing",
        vec![alert(
            "deploy-1",
            "firing",
            "2026-01-01T00:00:00Z",
            json!({ "alertname": "PostgresDown", "cluster": "main", "severity": "critical" }),
        )],
    );
    for _ in 0..2 {
        let (status, body) = app.post_webhook(&firing).await;
        assert_eq!(status, 200, "{body}");
    }
    let text = eventually(
        "a Telegram and an email result",
        Duration::from_secs(30),
        || {
            let request = app.get_text("/metrics");
            async move {
                let (_, text) = request.await;
                let seen = [
                    "postgram_telegram_messages_total{",
                    "postgram_emails_total{",
                ];
                seen.iter()
                    .all(|needle| text.contains(needle))
                    .then_some(text)
            }
        },
    )
    .await;

    let names = metric_names(&text);
    let mut used = promql_in_dashboard(DASHBOARD);
    used.extend(promql_in_rules(RULES));
    let missing: Vec<_> = used
        .iter()
        .filter(|name| !names.contains(*name) && !FROM_PROMETHEUS.contains(&name.as_str()))
        .collect();
    assert!(missing.is_empty(), "not exported: {missing:?}\n{text}");
    app.stop().await;
    state.cleanup().await;
}
