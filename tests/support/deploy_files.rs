//! The files under `deploy/`, read as their tools read them: compose's env file and interpolation,
//! its bind mounts, the PromQL of the dashboard and the rules, and Kubernetes manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::monitoring::repo_file;
use super::monitoring_files::{rules, yaml};

/// `NAME=value` lines of an env file (comments and blank lines skipped).
pub fn env_file(path: &str) -> BTreeMap<String, String> {
    std::fs::read_to_string(repo_file(path))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, value) = l.split_once('=').expect("NAME=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The environment compose gives `service`, interpolated from `deploy/compose/.env.example` as
/// `docker-compose` does (`${NAME}`, `${NAME:?message}`).
pub fn compose_env(service: &str) -> BTreeMap<String, String> {
    let values = env_file("deploy/compose/.env.example");
    let placeholder = regex::Regex::new(r"\$\{([A-Z_]+)(?::\?[^}]*)?\}").unwrap();
    let compose = yaml("deploy/compose/compose.yaml");
    compose["services"][service]["environment"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            let value = placeholder.replace_all(value.as_str().unwrap(), |c: &regex::Captures| {
                values
                    .get(&c[1])
                    .unwrap_or_else(|| panic!("{} is not in .env.example", &c[1]))
                    .clone()
            });
            (name.as_str().unwrap().to_owned(), value.into_owned())
        })
        .collect()
}

/// A compose service's bind mounts: target path → source as written.
pub fn mounts_of(service: &yaml_serde::Value) -> BTreeMap<String, String> {
    service["volumes"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            let mut parts = v.as_str()?.split(':');
            let source = parts.next()?.to_owned();
            Some((parts.next()?.to_owned(), source))
        })
        .collect()
}

/// `postgram check --config PATH` with exactly `env` as its environment (and PATH): (success, output).
pub fn postgram_check(path: &str, env: &BTreeMap<String, String>) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_postgram"))
        .args(["check", "--config", path])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The sample names of an exposition: `postgram_x_bucket`, `postgram_x_sum`, … as they are scraped.
pub fn metric_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The metric names in a PromQL expression: every `postgram_…` word, and any name given a selector.
fn metrics_in(expr: &str, into: &mut BTreeSet<String>) {
    let own = regex::Regex::new(r"\bpostgram_[a-z0-9_]+").unwrap();
    let selected = regex::Regex::new(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{").unwrap();
    into.extend(own.find_iter(expr).map(|m| m.as_str().to_owned()));
    into.extend(selected.captures_iter(expr).map(|c| c[1].to_owned()));
}

/// The metric names of every panel query and template variable of a Grafana dashboard.
pub fn promql_in_dashboard(path: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_file(path)).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut names = BTreeSet::new();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            metrics_in(target["expr"].as_str().unwrap(), &mut names);
            queries += 1;
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] == "query" {
            metrics_in(variable["query"].as_str().unwrap(), &mut names);
        }
    }
    assert!(queries > 10, "{queries} queries in {path}");
    names
}

/// The metric names of every rule's expression.
pub fn promql_in_rules(path: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for rule in rules(path) {
        metrics_in(&rule.expr, &mut names);
    }
    names
}

/// A Kubernetes manifest (one document), by its path from the repository's top.
pub fn manifest(path: &Path) -> yaml_serde::Value {
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files of a folder (not its subfolders), by name.
pub fn files_in(folder: &Path) -> BTreeSet<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect()
}

/// The strings of a YAML sequence.
pub fn strings(value: &yaml_serde::Value) -> Vec<String> {
    value
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}
