//! Postgram Admin: one trusted node between PostgreSQL administrators in Telegram and their databases.
//!
//! Layout, in the direction data flows:
//! - [`cli`] parses the command line and hands over to [`app`] (`run`) or [`check`] (`check`: the
//!   config, its catalogue and its links, every problem at once); it also writes a starter config
//!   (`init`) and probes a running service (`health`).
//! - [`config`] reads `postgram.yaml` (env substitution, secrets, positions) into validated domain types.
//! - [`app`] wires everything together (`steps`; `periodic`: member refresh and housekeeping), owns
//!   every task and shuts them down in order. [`settings`] is the config in force and everything built
//!   from it, held in a [`live::Live`] handle that [`reload`] replaces whole (SIGHUP, `POST /-/reload`)
//!   after checking the new config as `check` does; every update, request and job reads one value.
//! - [`http`] is the axum server: the Alertmanager webhook, REST (incidents, views, actions, audit),
//!   health, metrics and the API's OpenAPI document. [`bot`] is the Telegram dispatcher: commands,
//!   buttons, dialogues, one branch of `bot::schema()` per feature. Neither calls the other.
//! - [`access`] answers who a caller is (Telegram person, API token: `identify`) and makes every
//!   decision about what they may do (`may`); [`members`] changes who belongs to a database (bot and
//!   REST alike: role `changes`, `invites`, `usernames`).
//! - [`alertmanager`] parses webhook payloads (version 4) into domain alerts; [`routing`] decides which
//!   database an alert concerns and who must hear about it; [`intake`] turns a notification into
//!   durable incidents, their escalation jobs and their recipients' Telegram feeds, batching commits.
//! - [`catalog`] is views.yaml and actions.yaml, validated, and plans runs; [`operations`] runs them for
//!   people (arguments, one run at a time, cancel, audit); [`exec`] is the only module that talks to
//!   the administered databases.
//! - [`charts`] is metrics in chat: charts.yaml, Prometheus queries for one database and time window,
//!   health cards, the graph of an alert's own expression, and the PNG renderer (plotters, a bundled
//!   font), behind one `service` the bot and REST call.
//! - [`delivery`] works the Telegram feeds (one per recipient: new alerts one by one, or a storm digest
//!   and the messages behind it) and performs the outbox: Telegram messages (throttled) and email;
//!   [`silences`] is the client of Alertmanager's silence API (`SilenceApi`); [`callback`] is what an
//!   inline button means: its payload (`payload`, read back by `parse`) and the keyboards whose tokens
//!   each press is checked against (`keyboard`).
//! - [`telegram`] is what the bot and delivery both need of Telegram: HTML escaping and length rules,
//!   the shared throttle, the Bot API client (deadlines, error classes, the patient send), and whether
//!   Telegram answers and why not (`reach`).
//! - [`store`] is the service's own state (SQLite or PostgreSQL): the only module holding its SQL.
//! - [`domain`] holds the small types everything else agrees on (database names, member keys,
//!   recipients…); [`tokens`] makes tokens and invite
//!   codes and digests them; [`clock`] is the time of day every stored and compared timestamp comes
//!   from (the system's, or one a test drives); [`metrics`] the Prometheus registry; [`telemetry`]
//!   the log subscriber; [`i18n`] is every text a person reads, from Fluent catalogues in English and
//!   Russian, chosen per reader.

pub mod access;
pub mod alertmanager;
pub mod app;
pub mod bot;
pub mod callback;
pub mod catalog;
pub mod charts;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod exec;
pub mod http;
pub mod i18n;
pub mod intake;
pub mod live;
pub mod members;
pub mod metrics;
pub mod operations;
pub mod reload;
pub mod routing;
pub mod settings;
pub mod silences;
pub mod store;
pub mod telegram;
pub mod telemetry;
pub mod tokens;
