//! Postgram Admin: one trusted node between PostgreSQL administrators in Telegram and their databases.
//!
//! Layout, in the direction data flows:
//! - [`cli`] parses the command line and hands over to [`app`] (`run`) or [`config`] (`check`).
//! - [`config`] reads `postgram.yaml` (env substitution, secrets, positions) into validated domain types.
//! - [`app`] wires everything together, owns every task and shuts them down in order.
//! - [`http`] is the axum server: the Alertmanager webhook, the REST read side, health and metrics.
//! - [`access`] answers who an API caller is and what they may do.
//! - [`alertmanager`] parses webhook payloads (version 4) into domain alerts.
//! - [`routing`] decides which database an alert concerns and who must hear about it.
//! - [`intake`] turns a parsed notification into durable incidents and outbox jobs, batching commits.
//! - [`store`] is the service's own state (SQLite or PostgreSQL): the only module holding its SQL.
//! - [`domain`] holds the small types everything else agrees on; [`metrics`] the Prometheus registry;
//!   [`telemetry`] the log subscriber.

pub mod access;
pub mod alertmanager;
pub mod app;
pub mod bot;
pub mod callback;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod exec;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod operations;
pub mod routing;
pub mod silences;
pub mod store;
pub mod telemetry;
