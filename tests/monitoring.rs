//! The shipped monitoring assets against the real tools: the alert rules pass `promtool` and their unit
//! tests cover every rule; every metric the rules and `charts.yaml` use is exposed by the real
//! postgres_exporter (with `alerts/queries.yaml`) on a real PostgreSQL; Prometheus evaluates every chart
//! and status expression; chart thresholds equal the rules' constants; and a session really left idle in
//! transaction makes PostgresIdleInTransaction fire in Prometheus, then resolve once it is gone.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use support::monitoring::{
    Exporter, TestRules, prometheus_available, promtool, start_exporter, start_prometheus,
};
use support::monitoring_files::{
    Rule, StatusRow, catalogue, catalogue_exprs, fired_by_unit_tests, shipped_rules, substitute,
};
use support::promql::{comparison_constants, selectors};
use support::{Backend, TestState, eventually, free_port, postgres_admin_url};

#[test]
fn promtool_accepts_the_rules() {
    if !prometheus_available() {
        return;
    }
    let (ok, output) = promtool(&["check", "rules", "alerts/postgres.rules.yml"]);
    assert!(ok, "{output}");
}

#[test]
fn the_rules_pass_their_unit_tests() {
    if !prometheus_available() {
        return;
    }
    let (ok, output) = promtool(&["test", "rules", "alerts/postgres.rules.test.yml"]);
    assert!(ok, "{output}");
}

#[test]
fn every_rule_has_a_unit_test_that_fires_it() {
    let tested = fired_by_unit_tests("alerts/postgres.rules.test.yml");
    let untested: Vec<_> = shipped_rules()
        .into_iter()
        .map(|r| (r.alert, r.severity))
        .filter(|key| !tested.contains(key))
        .collect();
    assert!(
        untested.is_empty(),
        "rules no unit test fires: {untested:?}"
    );
}

#[test]
fn the_charts_catalogue_is_well_formed() {
    let catalogue = catalogue();
    assert!(
        catalogue.charts.len() >= 12,
        "{} charts",
        catalogue.charts.len()
    );
    let name = regex::Regex::new("^[a-z0-9_]+$").unwrap();
    let units = [
        "bytes", "bytes/s", "seconds", "ratio", "percent", "ops/s", "count", "none",
    ];
    let mut aliases = BTreeSet::new();
    for chart in &catalogue.charts {
        assert!(name.is_match(&chart.alias), "alias {}", chart.alias);
        assert!(aliases.insert(chart.alias.clone()), "{} twice", chart.alias);
        assert!(
            units.contains(&chart.unit.as_str()),
            "{}: unit",
            chart.alias
        );
        assert!(!chart.queries.is_empty(), "{}: no query", chart.alias);
        assert!(
            chart.databases.is_none(),
            "shipped charts fit every database"
        );
    }
    let mut names = BTreeSet::new();
    for row in &catalogue.status {
        assert!(name.is_match(&row.name), "status {}", row.name);
        assert!(names.insert(row.name.clone()), "status {} twice", row.name);
        assert!(units.contains(&row.unit.as_str()), "{}: unit", row.name);
        if let Some(chart) = &row.chart {
            assert!(aliases.contains(chart), "status {} opens {chart}", row.name);
        }
    }
    let placeholder = regex::Regex::new(r"\{\{(\w*)\}\}").unwrap();
    for (place, expr, _) in catalogue_exprs(&catalogue) {
        for found in placeholder.captures_iter(&expr) {
            let known = ["selector", "matchers", "range", "step"];
            assert!(known.contains(&&found[1]), "{place}: {{{{{}}}}}", &found[1]);
        }
        let selected = selectors(&expr);
        assert!(!selected.is_empty(), "{place} selects no metric");
        for selector in selected {
            assert!(
                selector.scoped,
                "{place}: {} is not limited to the database",
                selector.metric
            );
        }
    }
}

#[test]
fn chart_and_status_thresholds_are_the_rules_constants() {
    let rules = shipped_rules();
    let constants = |alert: &str, severity: Option<&str>| -> Vec<f64> {
        let matching: Vec<&Rule> = (rules.iter())
            .filter(|r| r.alert == alert && severity.is_none_or(|s| r.severity == s))
            .collect();
        assert!(!matching.is_empty(), "no rule {alert} {severity:?}");
        matching
            .iter()
            .flat_map(|r| comparison_constants(&r.expr))
            .collect()
    };
    let catalogue = catalogue();
    for chart in &catalogue.charts {
        for threshold in &chart.thresholds {
            // Shipped thresholds are all alerts' and say which.
            let alert = threshold.label.as_deref().unwrap();
            let values = constants(alert, None);
            assert!(
                values.contains(&threshold.value),
                "chart {}: {} is none of {alert}'s {values:?}",
                chart.alias,
                threshold.value
            );
        }
    }
    // Status rows carry no label: which rule each limit mirrors.
    let mirrored = [
        ("connections", "PostgresTooManyConnections"),
        ("idle_in_transaction", "PostgresIdleInTransaction"),
        ("replication_lag", "PostgresReplicationLag"),
    ];
    let rows: BTreeMap<&str, &StatusRow> = (catalogue.status.iter())
        .map(|r| (r.name.as_str(), r))
        .collect();
    for (name, alert) in mirrored {
        let row = rows[name];
        let limit = row
            .warn_above
            .unwrap_or_else(|| panic!("{name}: no warn_above"));
        assert!(
            constants(alert, Some("warning")).contains(&limit),
            "{name}: {limit}"
        );
    }
    // PostgresDown fires on pg_up == 0; for a 0/1 gauge that is "below 1".
    let down = rules.iter().find(|r| r.alert == "PostgresDown").unwrap();
    assert_eq!(
        (down.expr.trim(), down.severity.as_str()),
        ("pg_up == 0", "critical")
    );
    assert_eq!(rows["up"].critical_below, Some(1.0));
    for row in &catalogue.status {
        let limits = [
            row.warn_above,
            row.warn_below,
            row.critical_above,
            row.critical_below,
        ];
        let checked = row.name == "up" || mirrored.iter().any(|(n, _)| *n == row.name);
        assert!(
            checked || limits.iter().all(Option::is_none),
            "{}: unchecked limit",
            row.name
        );
    }
}

#[test]
fn the_metric_reader_skips_labels_functions_and_placeholders() {
    let expr = r#"sum by (state) (rate(pg_a{{selector}}[{{range}}])) / on (instance) group_left (x)
        max without (datname) (pg_b{mode!="",{{matchers}}} offset 5m) > bool 7 * 86400
        or topk(10, pg_c{name=~"a{b}"}) and vector(1e9) unless time() - pg_d"#;
    let found = selectors(expr);
    let names: Vec<&str> = found.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(names, ["pg_a", "pg_b", "pg_c", "pg_d"]);
    let scoped: Vec<bool> = found.iter().map(|s| s.scoped).collect();
    assert_eq!(scoped, [true, true, false, false]);
    assert_eq!(comparison_constants(expr), [604800.0]);
}

/// A fresh database with a table holding dead rows, watched by the real exporter. `slot_holder` keeps a
/// temporary replication slot, which PostgreSQL drops with that session even when the test fails.
struct Watched {
    state: TestState,
    database: String,
    slot_holder: PgConnection,
    exporter: Exporter,
}

async fn watched_database() -> Option<Watched> {
    if !prometheus_available() {
        return None;
    }
    let state = TestState::new(Backend::Postgres).await?;
    let mut slot_holder = PgConnection::connect(&state.url).await.unwrap();
    slot_holder
        .execute(
            "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 100);
             DELETE FROM orders WHERE id <= 40;
             SELECT pg_create_physical_replication_slot('postgram_test_' || pg_backend_pid(), true, true)",
        )
        .await
        .unwrap();
    let database: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut slot_holder)
        .await
        .unwrap();
    let exporter = start_exporter(&state.url).await;
    Some(Watched {
        state,
        database,
        slot_holder,
        exporter,
    })
}

impl Watched {
    async fn cleanup(self) {
        drop(self.exporter);
        let _ = self.slot_holder.close().await;
        self.state.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exporter_exposes_every_metric_of_the_rules_and_charts() {
    let Some(watched) = watched_database().await else {
        return;
    };
    let page = reqwest::get(&watched.exporter.url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exposed: BTreeSet<&str> = (page.lines())
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .collect();
    let mut used = BTreeMap::new();
    for rule in shipped_rules() {
        for selector in selectors(&rule.expr) {
            used.insert(selector.metric, format!("rule {}", rule.alert));
        }
    }
    for (place, expr, _) in catalogue_exprs(&catalogue()) {
        for selector in selectors(&expr) {
            used.insert(selector.metric, place.clone());
        }
    }
    let missing: Vec<_> = (used.iter())
        .filter(|(metric, _)| !exposed.contains(metric.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "not exposed (metric, used by): {missing:?}"
    );
    watched.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_evaluates_every_chart_and_status_expression() {
    let Some(watched) = watched_database().await else {
        return;
    };
    let labels = [("cluster", "main")];
    let scrape = [(watched.exporter.target.as_str(), &labels[..])];
    let prometheus = start_prometheus(&scrape, &TestRules::shipped(), None).await;
    let catalogue = catalogue();
    for (place, expr, range) in catalogue_exprs(&catalogue) {
        // With no database selector too: `{{matchers}}` then leaves a trailing comma behind.
        let unscoped = substitute(&expr, "", range);
        if let Err(e) = prometheus.query(&unscoped).await {
            panic!("{place}: {unscoped}: {e}");
        }
        let query = substitute(&expr, r#"cluster="main""#, range);
        let result = prometheus.wait_for_series(&query).await;
        if place.starts_with("status") {
            assert_eq!(result.len(), 1, "{place} gives one value: {result:?}");
        }
    }
    let other = substitute("pg_up{{selector}}", r#"cluster="billing""#, "2m");
    let data = prometheus.instant(&other).await;
    assert_eq!(
        data["result"].as_array().unwrap().len(),
        0,
        "another database's series"
    );
    drop(prometheus);
    watched.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_idle_in_transaction_fires_the_alert_until_it_is_terminated() {
    let Some(watched) = watched_database().await else {
        return;
    };
    let labels = [("cluster", "main")];
    let scrape = [(watched.exporter.target.as_str(), &labels[..])];
    let rules = TestRules::shipped().with_expr_change("PostgresIdleInTransaction", "> 600", "> 1");
    // Nothing listens there: this only shows where Prometheus would send the alerts.
    let alertmanager = format!("http://127.0.0.1:{}", free_port());
    let prometheus = start_prometheus(&scrape, &rules, Some(&alertmanager)).await;
    // Prometheus discovers its Alertmanagers in the background, after it is ready.
    let target = eventually(
        "the Alertmanager target",
        Duration::from_secs(30),
        || async {
            let data = prometheus.api("/api/v1/alertmanagers").await;
            data["activeAlertmanagers"][0]["url"]
                .as_str()
                .map(str::to_owned)
        },
    )
    .await;
    assert_eq!(target, format!("{alertmanager}/api/v2/alerts"));

    let mut idle = PgConnection::connect(&watched.state.url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut idle)
        .await
        .unwrap();
    idle.execute("BEGIN").await.unwrap();
    idle.execute("SELECT 1").await.unwrap();

    let ours = [("datname", watched.database.as_str()), ("cluster", "main")];
    let alert = prometheus
        .wait_for_firing("PostgresIdleInTransaction", &ours)
        .await;
    assert_eq!(alert["labels"]["severity"], "warning");
    assert_eq!(alert["labels"]["state"], "idle in transaction");
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(summary.contains(&watched.database), "{summary}");

    let mut admin = PgConnection::connect(&postgres_admin_url()).await.unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(terminated);
    prometheus
        .wait_for_resolved("PostgresIdleInTransaction", &ours)
        .await;

    drop((idle, admin, prometheus));
    watched.cleanup().await;
}
