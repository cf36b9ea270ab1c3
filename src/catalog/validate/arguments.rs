//! The arguments of a view or action: names, types and what applies to each type, defaults.

use std::collections::HashSet;

use super::{regex, scalar};
use crate::catalog::args::{ArgType, ArgValue, Argument, IdentifierKind};
use crate::catalog::raw::RawArgument;
use crate::config::report::Report;

pub(super) fn arguments(raw: &[RawArgument], item: &str, report: &mut Report) -> Vec<Argument> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (j, arg) in raw.iter().enumerate() {
        let at = format!("{item}.arguments[{j}]");
        let name = report.required(arg.name.clone(), &format!("{at}.name"));
        let type_name = report.required(arg.kind.clone(), &format!("{at}.type"));
        check_name(&name, &at, &mut names, report);
        let Some(kind) = kind(arg, &type_name, &at, report) else {
            continue;
        };
        misfits(arg, &type_name, &at, report);
        let mut argument = Argument {
            name,
            kind,
            description: arg.description.clone(),
            default: None,
            required: true,
            choices_sql: arg.choices_sql.clone(),
        };
        if let Some(default) = &arg.default {
            set_default(&mut argument, default, &at, report);
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
        if let Some(j) = raw.iter().position(|a| a.name.as_deref() == Some(&quoted)) {
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

/// A name is `[a-z][a-z0-9_]*`, at most 40 characters, declared once.
fn check_name(name: &str, at: &str, names: &mut HashSet<String>, report: &mut Report) {
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_name {
        report.at(
            &format!("{at}.name"),
            "must be [a-z][a-z0-9_]*, at most 40 characters",
        );
    } else if !names.insert(name.to_owned()) {
        report.at(&format!("{at}.name"), format!("{name} is declared twice"));
    }
}

/// The argument's type with its options; `None` (reported) when the type is unknown.
fn kind(arg: &RawArgument, type_name: &str, at: &str, report: &mut Report) -> Option<ArgType> {
    let misplaced = |field: &str, present: bool, report: &mut Report| {
        if present {
            report.at(
                &format!("{at}.{field}"),
                format!("does not apply to type {type_name}"),
            );
        }
    };
    let kind = match type_name {
        "string" | "secret" => {
            misplaced("min", arg.min.is_some(), report);
            misplaced("max", arg.max.is_some(), report);
            let pattern = regex(&arg.pattern, &format!("{at}.pattern"), report);
            if type_name == "string" {
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
            let choices: Vec<String> = arg.choices.iter().flatten().filter_map(scalar).collect();
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
                format!(
                    "{other:?} is not one of string, int, bool, enum, duration, identifier, secret"
                ),
            );
            return None;
        }
    };
    Some(kind)
}

/// Options given for a type they do not apply to.
fn misfits(arg: &RawArgument, type_name: &str, at: &str, report: &mut Report) {
    if arg.hash.is_some() && type_name != "secret" {
        report.at(&format!("{at}.hash"), "applies to secrets only");
    }
    if arg.identifier_kind.is_some() && type_name != "identifier" {
        report.at(&format!("{at}.kind"), "applies to identifiers only");
    }
    if arg.choices.is_some() && type_name != "enum" {
        report.at(
            &format!("{at}.choices"),
            "applies to enums only (use choices_sql for others)",
        );
    }
}

/// The default given in the file, parsed as the argument's type (never for a secret).
fn set_default(
    argument: &mut Argument,
    default: &yaml_serde::Value,
    at: &str,
    report: &mut Report,
) {
    match scalar(default).map(|raw| argument.parse(&raw)) {
        Some(Ok(value)) => argument.default = Some(value),
        Some(Err(e)) => report.at(&format!("{at}.default"), e.message(crate::i18n::Lang::En)),
        None => report.at(&format!("{at}.default"), "must be a single value"),
    }
    if matches!(argument.default, Some(ArgValue::Secret(_))) {
        report.at(
            &format!("{at}.default"),
            "a secret cannot have a default in the file",
        );
    }
}
