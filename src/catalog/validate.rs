//! From the text of a catalogue file to its views or actions, with every problem located (reading the
//! files is `files.rs`).

mod arguments;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use regex::Regex;

use super::args::{ArgType, Argument};
use super::raw::{RawAction, RawActions, RawVariant, RawViews};
use super::sql::{Form, Segment, Template};
use super::{Action, Step, StepBody, VersionedSql, View};
use crate::config::report::{Report, parse};
use crate::config::text::read_text;
use crate::config::{ConfigError, Problem};
use crate::domain::{DatabaseName, parse_duration};

use arguments::arguments;

const DEFAULT_VIEW_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_MAX_ROWS: usize = 10_000;
const MAX_MAX_ROWS: u64 = 1_000_000;

/// The items of a catalogue file, with every problem; an error when nothing of it can be read.
pub(super) type Parsed<T> = Result<(Vec<T>, Vec<Problem>), ConfigError>;

/// What `parse` read of a catalogue file, with its problems; an error when it yields nothing.
fn parsed<T>(items: Option<Vec<T>>, report: Report) -> Parsed<T> {
    let (problems, _) = report.into_parts();
    match items {
        Some(items) => Ok((items, problems)),
        None => Err(ConfigError { problems }),
    }
}

pub(super) fn parse_views(file: &Path, text: &str, known: &[DatabaseName]) -> Parsed<View> {
    let (raw, mut report) = parse::<RawViews>(text, file, None)?;
    let views = raw.map(|raw| {
        let mut aliases = HashSet::new();
        raw.views
            .into_iter()
            .enumerate()
            .map(|(i, view)| {
                let at = format!("views[{i}]");
                let alias = report.alias(view.alias, &format!("{at}.alias"), &mut aliases);
                let title = report.required(view.title, &format!("{at}.title"));
                let title = read_text(title, &format!("{at}.title"), &mut report);
                let arguments = arguments(&view.arguments, &at, &mut report);
                let sql = report.required(view.sql, &format!("{at}.sql"));
                let sql = versioned(&sql, &view.variants, &arguments, &at, &mut report);
                let max_rows = match view.max_rows {
                    None => DEFAULT_MAX_ROWS,
                    Some(n) if (1..=MAX_MAX_ROWS).contains(&n) => n as usize,
                    Some(_) => {
                        report.at(
                            &format!("{at}.max_rows"),
                            format!("must be 1 to {MAX_MAX_ROWS}"),
                        );
                        DEFAULT_MAX_ROWS
                    }
                };
                View {
                    alias,
                    title,
                    description: read_text(
                        view.description,
                        &format!("{at}.description"),
                        &mut report,
                    ),
                    databases: report.databases(view.databases.as_deref(), known, &at),
                    timeout: timeout(
                        &view.timeout,
                        DEFAULT_VIEW_TIMEOUT,
                        &format!("{at}.timeout"),
                        &mut report,
                    ),
                    max_rows,
                    arguments,
                    sql,
                }
            })
            .collect()
    });
    parsed(views, report)
}

pub(super) fn parse_actions(file: &Path, text: &str, known: &[DatabaseName]) -> Parsed<Action> {
    let (raw, mut report) = parse::<RawActions>(text, file, None)?;
    let actions = raw.map(|raw| {
        let mut aliases = HashSet::new();
        raw.actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| action_from(i, action, known, &mut aliases, &mut report))
            .collect()
    });
    parsed(actions, report)
}

fn action_from(
    i: usize,
    action: RawAction,
    known: &[DatabaseName],
    aliases: &mut HashSet<String>,
    report: &mut Report,
) -> Action {
    let at = format!("actions[{i}]");
    let alias = report.alias(action.alias, &format!("{at}.alias"), aliases);
    let title = report.required(action.title, &format!("{at}.title"));
    let title = read_text(title, &format!("{at}.title"), report);
    let arguments = arguments(&action.arguments, &at, report);
    let steps_at = format!("{at}.steps");
    let raw_steps = report.required(action.steps, &steps_at);
    if raw_steps.is_empty() && !report.has_problem_in(&steps_at) {
        report.at(&steps_at, "an action needs at least one step");
    }
    let steps = raw_steps
        .iter()
        .enumerate()
        .filter_map(|(j, step)| {
            let at = format!("{at}.steps[{j}]");
            let name = report.required(step.name.clone(), &format!("{at}.name"));
            if name.trim().is_empty() {
                report.at(&format!("{at}.name"), "must not be empty");
            }
            let body = match (&step.sql, &step.shell) {
                (Some(sql), None) => StepBody::Sql {
                    sql: versioned(sql, &step.variants, &arguments, &at, report),
                    transaction: step.transaction.unwrap_or(true),
                    split: step.split.unwrap_or(false),
                },
                (None, Some(command)) => {
                    if step.transaction.is_some()
                        || step.split.is_some()
                        || !step.variants.is_empty()
                    {
                        report.at(
                            &at,
                            "transaction, split and variants apply to sql steps only",
                        );
                    }
                    StepBody::Shell {
                        command: command.clone(),
                    }
                }
                _ => {
                    report.at(&at, "a step has exactly one of sql or shell");
                    return None;
                }
            };
            Some(Step {
                name,
                body,
                timeout: step.timeout.as_ref().map(|t| {
                    timeout(
                        &Some(t.clone()),
                        DEFAULT_ACTION_TIMEOUT,
                        &format!("{at}.timeout"),
                        report,
                    )
                }),
            })
        })
        .collect();
    Action {
        alias,
        title,
        description: read_text(action.description, &format!("{at}.description"), report),
        databases: report.databases(action.databases.as_deref(), known, &at),
        confirm: action.confirm,
        timeout: timeout(
            &action.timeout,
            DEFAULT_ACTION_TIMEOUT,
            &format!("{at}.timeout"),
            report,
        ),
        arguments,
        steps,
    }
}

fn timeout(raw: &Option<String>, default: Duration, at: &str, report: &mut Report) -> Duration {
    match raw.as_deref().map(parse_duration) {
        None => default,
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => {
            report.at(at, "must be longer than zero");
            default
        }
        Some(Err(e)) => {
            report.at(at, e);
            default
        }
    }
}

fn regex(pattern: &Option<String>, at: &str, report: &mut Report) -> Option<Regex> {
    let pattern = pattern.as_ref()?;
    // The whole value must match, whatever anchors the author wrote.
    match Regex::new(&format!("^(?:{pattern})$")) {
        Ok(re) => Some(re),
        Err(e) => {
            report.at(at, format!("not a valid regular expression: {e}"));
            None
        }
    }
}

fn scalar(value: &yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn template(sql: &str, arguments: &[Argument], at: &str, report: &mut Report) -> Template {
    let template = Template::parse(sql);
    if sql.trim().is_empty() {
        report.at(at, "the SQL is empty");
    }
    for segment in &template.segments {
        let Segment::Placeholder { name, form } = segment else {
            continue;
        };
        match arguments.iter().find(|a| &a.name == name) {
            None => report.at(at, format!(":{name} names no declared argument")),
            Some(arg) if *form != Form::Bare && !matches!(arg.kind, ArgType::Identifier(_)) => report.at(
                at,
                format!("the quoted forms :'{name}' and :\"{name}\" are for identifier arguments; {name} is bound as a parameter"),
            ),
            Some(_) => {}
        }
    }
    template
}

fn versioned(
    sql: &str,
    variants: &[RawVariant],
    arguments: &[Argument],
    at: &str,
    report: &mut Report,
) -> VersionedSql {
    let base = template(sql, arguments, &format!("{at}.sql"), report);
    let mut seen = HashSet::new();
    let mut out: Vec<(u32, Template)> = Vec::new();
    for (k, variant) in variants.iter().enumerate() {
        let vat = format!("{at}.variants[{k}]");
        let version_at = format!("{vat}.min_server_version");
        let version = report.required(variant.min_server_version, &version_at);
        if !(9..=99).contains(&version) {
            report.at(&version_at, "is a major version, like 13");
        } else if !seen.insert(version) {
            report.at(&version_at, "is given twice");
        }
        let sql = report.required(variant.sql.clone(), &format!("{vat}.sql"));
        out.push((
            version,
            template(&sql, arguments, &format!("{vat}.sql"), report),
        ));
    }
    out.sort_by_key(|(v, _)| *v);
    VersionedSql {
        base,
        variants: out,
    }
}

#[cfg(test)]
mod tests;
