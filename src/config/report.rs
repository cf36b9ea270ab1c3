//! Problems found in a YAML file, each located by its path in the document, and the first steps every
//! YAML file of the service shares: syntax (positions from the YAML scanner), optional `${VAR}`
//! substitution, then typed deserialisation through serde_path_to_error (whose first error is located
//! too). Used by the config and by the catalogue.

use std::collections::HashSet;
use std::path::Path;

use serde::de::DeserializeOwned;
use yaml_serde::Value;

use super::env::substitute;
use super::locate::{Position, Positions};
use super::{ConfigError, Problem};

/// Collects problems for one file.
pub(crate) struct Report<'a> {
    file: &'a Path,
    positions: Positions,
    problems: Vec<Problem>,
    seen: HashSet<String>,
}

impl<'a> Report<'a> {
    fn new(file: &'a Path, positions: Positions) -> Self {
        Self {
            file,
            positions,
            problems: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Records a problem at `path`, unless one is already there: a value that failed substitution
    /// would only repeat itself as "not a URL".
    pub fn at(&mut self, path: &str, message: impl Into<String>) {
        if !self.seen.insert(path.to_owned()) {
            return;
        }
        self.problems.push(Problem {
            file: self.file.to_owned(),
            position: self.positions.find(path),
            message: format!("{}: {}", display_path(path), message.into()),
        });
    }

    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, ConfigError> {
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            _ => {
                self.problems.sort_by_key(|p| p.position);
                Err(ConfigError {
                    problems: self.problems,
                })
            }
        }
    }
}

fn display_path(path: &str) -> &str {
    if path == "." { "document" } else { path }
}

fn single(file: &Path, position: Option<Position>, message: String) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            file: file.to_owned(),
            position,
            message,
        }],
    }
}

/// Looks an environment variable up (the process environment, or a test's map).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses `text` into `T`. A syntax error ends it at once; otherwise the report carries the problems
/// found so far (missing variables, the first type error), and `T` is `None` if deserialisation failed.
pub(crate) fn parse<'a, T: DeserializeOwned>(
    text: &str,
    file: &'a Path,
    lookup: Option<Lookup<'_>>,
) -> Result<(Option<T>, Report<'a>), ConfigError> {
    let positions = Positions::index(text).map_err(|(pos, msg)| single(file, Some(pos), msg))?;
    let mut value: Value = yaml_serde::from_str(text).map_err(|e| {
        let position = e.location().map(|l| Position {
            line: l.line(),
            column: l.column(),
        });
        single(file, position, e.to_string())
    })?;
    let mut report = Report::new(file, positions);
    if let Some(lookup) = lookup {
        substitute_all(&mut value, ".", lookup, &mut report);
    }
    let parsed = match serde_path_to_error::deserialize(value) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            // For an unknown field the path ends in that field: point at its key.
            let position = message
                .starts_with("unknown field")
                .then(|| report.positions.find_key(&path))
                .flatten()
                .or_else(|| report.positions.find(&path));
            report.problems.push(Problem {
                file: file.to_owned(),
                position,
                message: format!("{}: {message}", display_path(&path)),
            });
            None
        }
    };
    Ok((parsed, report))
}

fn substitute_all(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    report: &mut Report<'_>,
) {
    match value {
        Value::String(s) => match substitute(s, lookup) {
            Ok(done) => *s = done,
            Err(problems) => report.at(path, problems.join("; ")),
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let prefix = if path == "." { "" } else { path };
                substitute_all(item, &format!("{prefix}[{i}]"), lookup, report);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key.as_str().unwrap_or("?");
                let child = if path == "." {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                substitute_all(item, &child, lookup, report);
            }
        }
        Value::Tagged(tagged) => substitute_all(&mut tagged.value, path, lookup, report),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
