//! Problems found in a YAML file, each located by its path in the document, and the first steps every
//! YAML file of the service shares: syntax (positions from the YAML scanner), optional `${VAR}`
//! substitution, then typed deserialisation that records every wrong value and goes on without it
//! (`lenient.rs`). Used by the config and by the catalogue.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use yaml_serde::Value;

use super::env::substitute;
use super::lenient::{self, Renumbering};
use super::locate::{Position, Positions, item, join};
use super::{ConfigError, Problem};
use crate::domain::{DatabaseName, is_alias};

/// Where a file's values are, to give each problem about it a position.
#[derive(Default)]
pub struct Source {
    file: PathBuf,
    positions: Positions,
    renumbering: Renumbering,
}

// The positions are only for messages: a config's Debug shows which file it was read from.
impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// The start of the document: where a problem goes when nothing closer is indexed (an empty file).
const START: Position = Position { line: 1, column: 1 };

impl Source {
    /// A problem about the value at `path` (counted as the deserialised data counts), at that value's
    /// position or, for a key that is not there, at its parent mapping's.
    pub fn problem(&self, path: &str, message: impl fmt::Display) -> Problem {
        self.problem_at(&self.renumbering.original(path), false, message)
    }

    /// `path` is as the author counts; `key` points at the key rather than its value.
    fn problem_at(&self, path: &str, key: bool, message: impl fmt::Display) -> Problem {
        let position = key
            .then(|| self.positions.find_key(path))
            .flatten()
            .or_else(|| self.positions.find(path))
            .unwrap_or(START);
        Problem {
            file: self.file.clone(),
            position: Some(position),
            message: format!("{}: {message}", display_path(path)),
        }
    }
}

/// Collects problems for one file.
pub(crate) struct Report {
    source: Source,
    problems: Vec<Problem>,
    seen: HashSet<String>,
}

impl Report {
    fn new(file: &Path, positions: Positions) -> Self {
        Self {
            source: Source {
                file: file.to_owned(),
                positions,
                renumbering: Renumbering::default(),
            },
            problems: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Records a problem at `path`, unless one is already there: a value that failed substitution
    /// would only repeat itself as "not a URL", a value of the wrong type as "is required".
    pub fn at(&mut self, path: &str, message: impl fmt::Display) {
        let path = self.source.renumbering.original(path);
        self.record(path, false, message);
    }

    fn record(&mut self, path: String, key: bool, message: impl fmt::Display) {
        let problem = self.source.problem_at(&path, key, message);
        if self.seen.insert(path) {
            self.problems.push(problem);
        }
    }

    /// Whether a problem was recorded at `path` or inside it: a list whose items were all wrong is
    /// empty now, and saying so would only repeat them.
    pub fn has_problem_in(&self, path: &str) -> bool {
        let path = self.source.renumbering.original(path);
        self.seen.iter().any(|seen| {
            seen.strip_prefix(path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// The value at `path`, or a problem saying it is required (at the parent mapping's position) —
    /// unless the parent itself is missing or wrong, which says it all.
    pub fn required<T: Default>(&mut self, value: Option<T>, path: &str) -> T {
        value.unwrap_or_else(|| {
            let original = self.source.renumbering.original(path);
            let mut parent = original.as_str();
            let parent_has_problem = loop {
                match parent.rfind(['.', '[']) {
                    Some(cut) if cut > 0 => parent = &parent[..cut],
                    _ => break false,
                }
                if self.seen.contains(parent) {
                    break true;
                }
            };
            if parent_has_problem {
                // Nothing more to say here, and the default's own problems would only repeat it.
                self.seen.insert(original);
            } else {
                self.record(original, false, "is required");
            }
            T::default()
        })
    }

    /// The catalogue alias at `path` ([`is_alias`]), reported when malformed or already in `seen`.
    pub fn alias(
        &mut self,
        value: Option<String>,
        path: &str,
        seen: &mut HashSet<String>,
    ) -> String {
        let alias = self.required(value, path);
        if !is_alias(&alias) {
            self.at(
                path,
                format!("{alias:?} must be 1-40 characters of a-z, 0-9 or '_'"),
            );
        } else if !seen.insert(alias.clone()) {
            self.at(path, format!("{alias} is defined twice"));
        }
        alias
    }

    /// The databases an item at `item` names (`None`: every database), each one that is not among
    /// `known` reported at its place in the list and left out.
    pub fn databases(
        &mut self,
        names: Option<&[String]>,
        known: &[DatabaseName],
        item: &str,
    ) -> Option<Vec<DatabaseName>> {
        let names = names?;
        let mut out = Vec::new();
        for (j, name) in names.iter().enumerate() {
            match known.iter().find(|k| k.as_str() == name) {
                Some(db) => out.push(db.clone()),
                None => self.at(
                    &format!("{item}.databases[{j}]"),
                    format!("{name:?} is not a database of the config"),
                ),
            }
        }
        Some(out)
    }

    /// Every problem, in position order, and where the file's values are.
    pub fn into_parts(mut self) -> (Vec<Problem>, Source) {
        self.problems.sort_by_key(|p| p.position);
        (self.problems, self.source)
    }
}

fn display_path(path: &str) -> &str {
    if path == "." { "document" } else { path }
}

fn single(file: &Path, position: Option<Position>, message: String) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            file: file.to_owned(),
            position: Some(position.unwrap_or(START)),
            message,
        }],
    }
}

/// Looks an environment variable up (the process environment, or a test's map).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses `text` into `T`. A syntax error ends it at once; otherwise the report carries every problem
/// found (missing variables, wrong values, unknown keys), and `T` holds everything else — `None` only
/// when the document is not a mapping.
pub(crate) fn parse<T: DeserializeOwned>(
    text: &str,
    file: &Path,
    lookup: Option<Lookup<'_>>,
) -> Result<(Option<T>, Report), ConfigError> {
    let positions = Positions::index(text).map_err(|(pos, msg)| single(file, Some(pos), msg))?;
    let mut value: Value = yaml_serde::from_str(text).map_err(|e| {
        let position = e.location().map(|l| Position {
            line: l.line(),
            column: l.column(),
        });
        single(file, position, e.to_string())
    })?;
    if value.is_null() {
        // An empty file: every required key is then reported missing.
        value = Value::Mapping(yaml_serde::Mapping::new());
    }
    let mut report = Report::new(file, positions);
    if let Some(lookup) = lookup {
        substitute_all(&mut value, ".", lookup, &mut report);
    }
    let (parsed, wrong) = lenient::deserialize(value, &mut report.source.renumbering);
    for wrong in wrong {
        // For an unknown field the path ends in that field: point at its key.
        let key = wrong.message.starts_with("unknown field");
        report.record(wrong.path, key, wrong.message);
    }
    Ok((parsed, report))
}

fn substitute_all(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    report: &mut Report,
) {
    match value {
        Value::String(s) => match substitute(s, lookup) {
            Ok(done) => *s = done,
            Err(problems) => report.at(path, problems.join("; ")),
        },
        Value::Sequence(items) => {
            for (i, value) in items.iter_mut().enumerate() {
                substitute_all(value, &item(path, i), lookup, report);
            }
        }
        Value::Mapping(map) => {
            for (key, value) in map.iter_mut() {
                let key = key.as_str().unwrap_or("?");
                substitute_all(value, &join(path, key), lookup, report);
            }
        }
        Value::Tagged(tagged) => substitute_all(&mut tagged.value, path, lookup, report),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
