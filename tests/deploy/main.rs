//! The deployable stack under `deploy/`, checked the way its tools read it: the compose file passes
//! `docker-compose config`, and its services are wired to each other (scrape targets, rule files, the
//! Alertmanager receiver and its token file, Grafana's provisioning); the Postgram configs of compose and
//! Kubernetes pass `postgram check`; the Kubernetes manifests hold together (probes, security, volumes,
//! ConfigMap keys, ports, the overlay's patches); the rules on Postgram itself pass promtool and their unit
//! tests fire every one; and every metric the dashboard and the rules name is exported by the service.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "../support/mod.rs"]
mod support;

mod compose;
mod kubernetes;
mod monitoring;
