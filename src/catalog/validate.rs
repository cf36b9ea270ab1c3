//! From catalogue YAML to [`Catalog`], with every problem located.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use regex::Regex;

use super::args::{ArgType, ArgValue, Argument, IdentifierKind};
use super::raw::{RawAction, RawActions, RawArgument, RawVariant, RawViews};
use super::sql::{Form, Segment, Template};
use super::{Action, Catalog, Step, StepBody, VersionedSql, View};
use crate::config::report::{Report, parse};
use crate::config::{Config, ConfigError};
use crate::domain::{DatabaseName, parse_duration};

const DEFAULT_VIEW_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_MAX_ROWS: usize = 10_000;
const MAX_MAX_ROWS: u64 = 1_000_000;

pub fn load(config: &Config) -> Result<Catalog, ConfigError> {
    let read = |path: &Path| crate::config::read_file(path, "this catalogue file");
    let views = config
        .catalog
        .views
        .as_deref()
        .map(|p| read(p).map(|t| (p, t)))
        .transpose()?;
    let actions = config
        .catalog
        .actions
        .as_deref()
        .map(|p| read(p).map(|t| (p, t)))
        .transpose()?;
    let databases: Vec<DatabaseName> = config.databases.iter().map(|d| d.name.clone()).collect();
    from_texts(
        views.as_ref().map(|(p, t)| (*p, t.as_str())),
        actions.as_ref().map(|(p, t)| (*p, t.as_str())),
        &databases,
    )
}

pub fn from_texts(
    views: Option<(&Path, &str)>,
    actions: Option<(&Path, &str)>,
    databases: &[DatabaseName],
) -> Result<Catalog, ConfigError> {
    let mut problems = Vec::new();
    let mut catalog = Catalog::default();
    if let Some((file, text)) = views {
        match parse_views(file, text, databases) {
            Ok(views) => catalog.views = views,
            Err(e) => problems.extend(e.problems),
        }
    }
    if let Some((file, text)) = actions {
        match parse_actions(file, text, databases) {
            Ok(actions) => catalog.actions = actions,
            Err(e) => problems.extend(e.problems),
        }
    }
    if problems.is_empty() {
        Ok(catalog)
    } else {
        Err(ConfigError { problems })
    }
}

fn parse_views(file: &Path, text: &str, known: &[DatabaseName]) -> Result<Vec<View>, ConfigError> {
    let (raw, mut report) = parse::<RawViews>(text, file, None)?;
    let views = raw.map(|raw| {
        let mut aliases = HashSet::new();
        raw.views
            .into_iter()
            .enumerate()
            .map(|(i, view)| {
                let at = format!("views[{i}]");
                alias(
                    &view.alias,
                    &format!("{at}.alias"),
                    &mut aliases,
                    &mut report,
                );
                let arguments = arguments(&view.arguments, &at, &mut report);
                let sql = versioned(&view.sql, &view.variants, &arguments, &at, &mut report);
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
                    alias: view.alias,
                    title: view.title,
                    description: view.description,
                    databases: databases(&view.databases, known, &at, &mut report),
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
    report.finish(views)
}

fn parse_actions(
    file: &Path,
    text: &str,
    known: &[DatabaseName],
) -> Result<Vec<Action>, ConfigError> {
    let (raw, mut report) = parse::<RawActions>(text, file, None)?;
    let actions = raw.map(|raw| {
        let mut aliases = HashSet::new();
        raw.actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| action_from(i, action, known, &mut aliases, &mut report))
            .collect()
    });
    report.finish(actions)
}

fn action_from(
    i: usize,
    action: RawAction,
    known: &[DatabaseName],
    aliases: &mut HashSet<String>,
    report: &mut Report<'_>,
) -> Action {
    let at = format!("actions[{i}]");
    alias(&action.alias, &format!("{at}.alias"), aliases, report);
    let arguments = arguments(&action.arguments, &at, report);
    if action.steps.is_empty() {
        report.at(&format!("{at}.steps"), "an action needs at least one step");
    }
    let steps = action
        .steps
        .iter()
        .enumerate()
        .filter_map(|(j, step)| {
            let at = format!("{at}.steps[{j}]");
            if step.name.trim().is_empty() {
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
                name: step.name.clone(),
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
        alias: action.alias,
        title: action.title,
        description: action.description,
        databases: databases(&action.databases, known, &at, report),
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

fn alias(alias: &str, at: &str, seen: &mut HashSet<String>, report: &mut Report<'_>) {
    let valid = !alias.is_empty()
        && alias.len() <= 40
        && alias
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        report.at(
            at,
            format!("{alias:?} must be 1-40 characters of a-z, 0-9 or '_'"),
        );
    } else if !seen.insert(alias.to_owned()) {
        report.at(at, format!("{alias} is defined twice"));
    }
}

fn databases(
    names: &Option<Vec<String>>,
    known: &[DatabaseName],
    at: &str,
    report: &mut Report<'_>,
) -> Option<Vec<DatabaseName>> {
    let names = names.as_ref()?;
    let mut out = Vec::new();
    for (j, name) in names.iter().enumerate() {
        match known.iter().find(|k| k.as_str() == name) {
            Some(db) => out.push(db.clone()),
            None => report.at(
                &format!("{at}.databases[{j}]"),
                format!("{name:?} is not a database of the config"),
            ),
        }
    }
    Some(out)
}

fn timeout(raw: &Option<String>, default: Duration, at: &str, report: &mut Report<'_>) -> Duration {
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

fn regex(pattern: &Option<String>, at: &str, report: &mut Report<'_>) -> Option<Regex> {
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

fn arguments(raw: &[RawArgument], item: &str, report: &mut Report<'_>) -> Vec<Argument> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (j, arg) in raw.iter().enumerate() {
        let at = format!("{item}.arguments[{j}]");
        let valid_name = arg
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && arg.name.len() <= 40
            && arg
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name {
            report.at(
                &format!("{at}.name"),
                "must be [a-z][a-z0-9_]*, at most 40 characters",
            );
        } else if !names.insert(arg.name.clone()) {
            report.at(
                &format!("{at}.name"),
                format!("{} is declared twice", arg.name),
            );
        }
        let misplaced = |field: &str, present: bool, report: &mut Report<'_>| {
            if present {
                report.at(
                    &format!("{at}.{field}"),
                    format!("does not apply to type {}", arg.kind),
                );
            }
        };
        let kind = match arg.kind.as_str() {
            "string" | "secret" => {
                misplaced("min", arg.min.is_some(), report);
                misplaced("max", arg.max.is_some(), report);
                let pattern = regex(&arg.pattern, &format!("{at}.pattern"), report);
                if arg.kind == "string" {
                    ArgType::String { pattern }
                } else {
                    let scram = match arg.hash.as_deref() {
                        None => false,
                        Some("scram-sha-256") => true,
                        Some(other) => {
                            report.at(
                                &format!("{at}.hash"),
                                format!(
                                    "{other:?} is not a known hash; the one known is scram-sha-256"
                                ),
                            );
                            false
                        }
                    };
                    ArgType::Secret { pattern, scram }
                }
            }
            "int" => {
                misplaced("pattern", arg.pattern.is_some(), report);
                ArgType::Int {
                    min: arg.min,
                    max: arg.max,
                }
            }
            "bool" => ArgType::Bool,
            "duration" => ArgType::Duration,
            "enum" => {
                let choices: Vec<String> =
                    arg.choices.iter().flatten().filter_map(scalar).collect();
                if choices.is_empty() {
                    report.at(
                        &format!("{at}.choices"),
                        "an enum needs at least one choice",
                    );
                }
                ArgType::Enum { choices }
            }
            "identifier" => match arg.identifier_kind.as_deref() {
                Some("relation") => ArgType::Identifier(IdentifierKind::Relation),
                Some("role") => ArgType::Identifier(IdentifierKind::Role),
                Some("name") => ArgType::Identifier(IdentifierKind::Name),
                _ => {
                    report.at(
                        &format!("{at}.kind"),
                        "an identifier needs kind: relation, role or name",
                    );
                    ArgType::Identifier(IdentifierKind::Name)
                }
            },
            other => {
                report.at(
                    &format!("{at}.type"),
                    format!("{other:?} is not one of string, int, bool, enum, duration, identifier, secret"),
                );
                continue;
            }
        };
        if arg.hash.is_some() && arg.kind != "secret" {
            report.at(&format!("{at}.hash"), "applies to secrets only");
        }
        if arg.identifier_kind.is_some() && arg.kind != "identifier" {
            report.at(&format!("{at}.kind"), "applies to identifiers only");
        }
        if arg.choices.is_some() && arg.kind != "enum" {
            report.at(
                &format!("{at}.choices"),
                "applies to enums only (use choices_sql for others)",
            );
        }
        let mut argument = Argument {
            name: arg.name.clone(),
            kind,
            description: arg.description.clone(),
            default: None,
            required: true,
            choices_sql: arg.choices_sql.clone(),
        };
        if let Some(default) = &arg.default {
            match scalar(default).map(|raw| argument.parse(&raw)) {
                Some(Ok(value)) => argument.default = Some(value),
                Some(Err(e)) => report.at(&format!("{at}.default"), e.message),
                None => report.at(&format!("{at}.default"), "must be a single value"),
            }
            if matches!(argument.default, Some(ArgValue::Secret(_))) {
                report.at(
                    &format!("{at}.default"),
                    "a secret cannot have a default in the file",
                );
            }
        }
        argument.required = arg.required.unwrap_or(argument.default.is_none());
        out.push(argument);
    }
    // An identifier `x` also reaches shell steps as PG_ARG_X_QUOTED: no argument may take that name.
    for identifier in out
        .iter()
        .filter(|a| matches!(a.kind, ArgType::Identifier(_)))
    {
        let quoted = format!("{}_quoted", identifier.name);
        if let Some(j) = raw.iter().position(|a| a.name == quoted) {
            report.at(
                &format!("{item}.arguments[{j}].name"),
                format!(
                    "{quoted} is taken: shell steps get the identifier {} resolved and quoted as PG_ARG_{}",
                    identifier.name,
                    quoted.to_ascii_uppercase()
                ),
            );
        }
    }
    out
}

fn template(sql: &str, arguments: &[Argument], at: &str, report: &mut Report<'_>) -> Template {
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
    report: &mut Report<'_>,
) -> VersionedSql {
    let base = template(sql, arguments, &format!("{at}.sql"), report);
    let mut seen = HashSet::new();
    let mut out: Vec<(u32, Template)> = Vec::new();
    for (k, variant) in variants.iter().enumerate() {
        let vat = format!("{at}.variants[{k}]");
        if !(9..=99).contains(&variant.min_server_version) {
            report.at(
                &format!("{vat}.min_server_version"),
                "is a major version, like 13",
            );
        } else if !seen.insert(variant.min_server_version) {
            report.at(&format!("{vat}.min_server_version"), "is given twice");
        }
        out.push((
            variant.min_server_version,
            template(&variant.sql, arguments, &format!("{vat}.sql"), report),
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
