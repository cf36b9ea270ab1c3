//! `deploy/compose`: the compose file as docker-compose reads it, its services wired to each other, and
//! the Postgram config it mounts.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use super::monitoring::DASHBOARD;
use crate::support::deploy_files::{compose_env, env_file, mounts_of, postgram_check};
use crate::support::monitoring::repo_file;
use crate::support::monitoring_files::yaml;
use crate::support::prerequisites::Prerequisite;

const COMPOSE: &str = "deploy/compose/compose.yaml";

#[test]
fn docker_compose_accepts_the_compose_file() {
    if Prerequisite::Compose.skip_requested() {
        Prerequisite::Compose.skipped();
        return;
    }
    // `config` resolves and validates the file (interpolation included) without a Docker engine.
    let output = Command::new("docker-compose")
        .args(["--env-file", "deploy/compose/.env.example", "-f", COMPOSE])
        .args(["config", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            Prerequisite::Compose.missing(&format!("docker-compose does not run from PATH ({e})"))
        });
    assert!(
        output.status.success(),
        "docker-compose config: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_env_example_sets_every_variable_the_compose_file_requires() {
    let text = std::fs::read_to_string(repo_file(COMPOSE)).unwrap();
    let required = regex::Regex::new(r"\$\{([A-Z_]+):\?").unwrap();
    let needed: BTreeSet<_> = required
        .captures_iter(&text)
        .map(|c| c[1].to_owned())
        .collect();
    let given: BTreeSet<_> = env_file("deploy/compose/.env.example")
        .into_keys()
        .collect();
    assert_eq!(needed, given);
    let ignored = std::fs::read_to_string(repo_file("deploy/compose/.gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == ".env"), "{ignored}");
}

#[test]
fn the_compose_services_are_wired_to_each_other() {
    let compose = yaml(COMPOSE);
    let services = &compose["services"];

    let exporter = &services["postgres-exporter"];
    let query_path = exporter["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|a| a.as_str()?.strip_prefix("--extend.query-path="))
        .expect("--extend.query-path");
    assert_eq!(
        mounts_of(exporter).get(query_path).map(String::as_str),
        Some("../../alerts/queries.yaml")
    );

    let prometheus = yaml("deploy/compose/prometheus.yml");
    let jobs = prometheus["scrape_configs"].as_sequence().unwrap();
    let job = |name: &str| jobs.iter().find(|j| j["job_name"] == name).unwrap();
    let postgres_target = &job("postgres")["static_configs"][0];
    assert_eq!(postgres_target["targets"][0], "postgres-exporter:9187");
    assert_eq!(postgres_target["labels"]["cluster"], "main");
    assert_eq!(job("postgram")["metrics_path"], "/metrics");
    assert_eq!(
        job("postgram")["static_configs"][0]["targets"][0],
        "postgram:9750"
    );
    let prometheus_mounts = mounts_of(&services["prometheus"]);
    for rule_file in prometheus["rule_files"].as_sequence().unwrap() {
        let source = &prometheus_mounts[rule_file.as_str().unwrap()];
        assert!(source.ends_with(".rules.yml"), "{rule_file:?} ← {source}");
    }
    let sources: BTreeSet<_> = prometheus_mounts.values().cloned().collect();
    assert!(sources.contains("../../alerts/postgres.rules.yml"));
    assert!(sources.contains("../prometheus/postgram.rules.yml"));

    let alertmanager = yaml("deploy/compose/alertmanager.yml");
    let webhook = &alertmanager["receivers"][0]["webhook_configs"][0];
    assert_eq!(webhook["url"], "http://postgram:9750/alerts/alertmanager");
    let authorization = &webhook["http_config"]["authorization"];
    assert_eq!(authorization["type"], "Bearer");
    let secret = authorization["credentials_file"]
        .as_str()
        .unwrap()
        .strip_prefix("/run/secrets/")
        .expect("a Docker secret");
    assert!(
        services["alertmanager"]["secrets"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|s| s == secret)
    );
    assert!(compose["secrets"][secret]["file"].is_string());

    let postgram = &services["postgram"];
    assert_eq!(postgram["build"]["dockerfile"], "Dockerfile");
    assert_eq!(postgram["build"]["context"], "../..");
    let mounted = mounts_of(postgram);
    for file in ["postgram.yaml", "views.yaml", "actions.yaml", "charts.yaml"] {
        assert_eq!(
            mounted[&format!("/etc/postgram/{file}")],
            format!("./{file}")
        );
    }

    // Every file a service mounts is in the repository (named volumes and secrets are not paths).
    for (name, service) in services.as_mapping().unwrap() {
        for source in mounts_of(service).values() {
            if source.starts_with('.') {
                let path = repo_file("deploy/compose").join(source);
                assert!(path.exists(), "{name:?} mounts {source}, which is missing");
            }
        }
    }
}

#[test]
fn grafana_is_provisioned_with_prometheus_and_the_dashboard() {
    let compose = yaml(COMPOSE);
    let grafana = mounts_of(&compose["services"]["grafana"]);
    let datasources = yaml("deploy/compose/grafana/datasources.yaml");
    let source = &datasources["datasources"][0];
    assert_eq!(source["type"], "prometheus");
    assert_eq!(source["url"], "http://prometheus:9090");
    let providers = yaml("deploy/compose/grafana/dashboards.yaml");
    let folder = providers["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert_eq!(grafana[folder], "../grafana");

    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file(DASHBOARD)).unwrap()).unwrap();
    let variable = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "datasource")
        .unwrap();
    assert_eq!(
        variable["current"]["value"].as_str(),
        source["uid"].as_str()
    );
}

#[test]
fn the_compose_postgram_config_passes_check() {
    let (ok, output) = postgram_check("deploy/compose/postgram.yaml", &compose_env("postgram"));
    assert!(ok, "{output}");
}
