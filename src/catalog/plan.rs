//! From a catalogue item and its argument values to what `exec` runs on one database: the SQL variant
//! for the server's version, `:name` placeholders turned into `$n` parameters of the argument's type,
//! identifiers resolved on the server and spliced only in the quoted form the server gave back.

use std::collections::BTreeMap;

use super::args::{ArgError, ArgProblem, ArgType, ArgValue, Argument, IdentifierKind};
use super::sql::{Form, Segment, Template};
use super::{Action, StepBody, View};
use crate::exec::{ActionPlan, ExecError, Query, StepKind, StepPlan, Target, Value, ViewOptions};

/// Why an item could not be prepared: an argument that does not fit (named), or the database.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Argument(ArgError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// Identifiers resolved on the server, by argument name: the quoted form to splice.
type Resolved = BTreeMap<String, String>;

/// Quotes an identifier the way PostgreSQL's `quote_ident` does, always (for names about to be created).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal (standard_conforming_strings on: only quotes need doubling; a backslash makes
/// it an E'' string with backslashes doubled, which is right under either setting).
fn quote_literal(text: &str) -> String {
    let doubled = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", doubled.replace('\\', "\\\\"))
    } else {
        format!("'{doubled}'")
    }
}

async fn resolve(
    target: &Target,
    arguments: &[Argument],
    values: &BTreeMap<String, ArgValue>,
) -> Result<Resolved, PlanError> {
    let mut resolved = Resolved::new();
    for argument in arguments {
        let (ArgType::Identifier(kind), Some(ArgValue::Identifier(raw))) =
            (&argument.kind, values.get(&argument.name))
        else {
            continue;
        };
        let quoted = match kind {
            IdentifierKind::Relation => target.resolve_relation(raw).await?,
            IdentifierKind::Role => target.resolve_role(raw).await?,
            IdentifierKind::Name => Some(quote_ident(raw)),
        };
        let Some(quoted) = quoted else {
            return Err(PlanError::Argument(argument.error(ArgProblem::NoSuch {
                role: *kind == IdentifierKind::Role,
                value: format!("{raw:?}"),
            })));
        };
        resolved.insert(argument.name.clone(), quoted);
    }
    Ok(resolved)
}

fn value(value: &ArgValue) -> Value {
    match value {
        ArgValue::Text(s) | ArgValue::Identifier(s) => Value::Text(s.clone()),
        ArgValue::Secret(s) => Value::Text(s.expose().to_owned()),
        ArgValue::Int(n) => Value::Int(*n),
        ArgValue::Bool(b) => Value::Bool(*b),
        // PostgreSQL's interval input accepts this; the SQL casts it with ::interval.
        ArgValue::Duration(d) => Value::Text(format!("{} milliseconds", d.as_millis())),
    }
}

/// Renders a template: parameters numbered by first use, identifiers spliced as resolved.
fn render(
    template: &Template,
    values: &BTreeMap<String, ArgValue>,
    resolved: &Resolved,
) -> Result<Query, PlanError> {
    let mut sql = String::new();
    let mut order: Vec<&str> = Vec::new();
    let mut params = Vec::new();
    for segment in &template.segments {
        match segment {
            Segment::Text(text) => sql.push_str(text),
            Segment::Placeholder { name, form } => {
                if let Some(quoted) = resolved.get(name) {
                    match form {
                        Form::Literal => sql.push_str(&quote_literal(quoted)),
                        Form::Bare | Form::Identifier => sql.push_str(quoted),
                    }
                    continue;
                }
                let position = match order.iter().position(|n| n == name) {
                    Some(p) => p,
                    None => {
                        let bound = match values.get(name) {
                            Some(v) => value(v),
                            // An optional argument left empty binds NULL.
                            None => Value::Null,
                        };
                        order.push(name);
                        params.push(bound);
                        order.len() - 1
                    }
                };
                sql.push_str(&format!("${}", position + 1));
            }
        }
    }
    Ok(Query { sql, params })
}

/// The query of a view, ready for `Target::view`.
pub async fn view_query(
    view: &View,
    target: &Target,
    values: &BTreeMap<String, ArgValue>,
) -> Result<(Query, ViewOptions), PlanError> {
    let major = target.server_major().await?;
    let resolved = resolve(target, &view.arguments, values).await?;
    let query = render(view.sql.for_server(major), values, &resolved)?;
    Ok((
        query,
        ViewOptions {
            timeout: view.timeout,
            max_rows: view.max_rows,
        },
    ))
}

/// The steps of an action, ready for `Target::run_action`.
pub async fn action_plan(
    action: &Action,
    target: &Target,
    values: &BTreeMap<String, ArgValue>,
) -> Result<ActionPlan, PlanError> {
    let major = target.server_major().await?;
    let resolved = resolve(target, &action.arguments, values).await?;
    // An identifier comes twice: as typed, and as resolved and quoted on the server (`_QUOTED`), the
    // form a script can splice into SQL.
    let env: Vec<(String, String)> = values
        .iter()
        .map(|(name, value)| {
            (
                format!("PG_ARG_{}", name.to_ascii_uppercase()),
                value.for_shell(),
            )
        })
        .chain(resolved.iter().map(|(name, quoted)| {
            (
                format!("PG_ARG_{}_QUOTED", name.to_ascii_uppercase()),
                quoted.clone(),
            )
        }))
        .collect();
    let steps = action
        .steps
        .iter()
        .map(|step| {
            let kind = match &step.body {
                StepBody::Sql {
                    sql,
                    transaction,
                    split,
                } => StepKind::Sql {
                    query: render(sql.for_server(major), values, &resolved)?,
                    transaction: *transaction,
                    split: *split,
                },
                StepBody::Shell { command } => StepKind::Shell {
                    command: command.clone(),
                    env: env.clone(),
                },
            };
            Ok(StepPlan {
                name: step.name.clone(),
                kind,
                timeout: step.timeout,
            })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    Ok(ActionPlan {
        steps,
        timeout: action.timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_postgresql() {
        assert_eq!(quote_ident("analyst"), "\"analyst\"");
        assert_eq!(quote_literal("public.\"Odd\"'s"), "'public.\"Odd\"''s'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
    }

    #[test]
    fn placeholders_become_numbered_parameters_and_identifiers_are_spliced() {
        let template = Template::parse("SELECT :a, :b, :a, :t, :'t' FROM x");
        let mut values = BTreeMap::new();
        values.insert("a".to_owned(), ArgValue::Int(5));
        values.insert(
            "b".to_owned(),
            ArgValue::Text("'; DROP TABLE x; --".to_owned()),
        );
        values.insert(
            "t".to_owned(),
            ArgValue::Identifier("ignored raw input".to_owned()),
        );
        let mut resolved = Resolved::new();
        resolved.insert("t".to_owned(), "public.\"My Table\"".to_owned());
        let query = render(&template, &values, &resolved).unwrap();
        assert_eq!(
            query.sql,
            "SELECT $1, $2, $1, public.\"My Table\", 'public.\"My Table\"' FROM x"
        );
        assert_eq!(query.params.len(), 2);
        assert!(matches!(&query.params[1], Value::Text(s) if s == "'; DROP TABLE x; --"));
    }
}
