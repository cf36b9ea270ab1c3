//! Typed arguments of views and actions: their declarations, and the values people give them, parsed
//! once ("parse, don't validate"). A secret's value never prints.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;

use crate::config::Secret;
use crate::domain::parse_duration;
use crate::i18n::Lang;
use crate::tr;

/// What an identifier argument names, and so how it is resolved on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    /// An existing table, index, view or sequence (`to_regclass`).
    Relation,
    /// An existing role.
    Role,
    /// Any valid name (a role or slot about to be created).
    Name,
}

#[derive(Debug, Clone)]
pub enum ArgType {
    String {
        pattern: Option<Regex>,
    },
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    Bool,
    Enum {
        choices: Vec<String>,
    },
    Duration,
    Identifier(IdentifierKind),
    /// `scram`: the value is the password's SCRAM-SHA-256 verifier, computed here (`hash: scram-sha-256`).
    Secret {
        pattern: Option<Regex>,
        scram: bool,
    },
}

impl ArgType {
    pub fn name(&self) -> &'static str {
        match self {
            ArgType::String { .. } => "string",
            ArgType::Int { .. } => "int",
            ArgType::Bool => "bool",
            ArgType::Enum { .. } => "enum",
            ArgType::Duration => "duration",
            ArgType::Identifier(_) => "identifier",
            ArgType::Secret { .. } => "secret",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Argument {
    pub name: String,
    pub kind: ArgType,
    pub description: String,
    /// Already parsed: a default is valid for its type.
    pub default: Option<ArgValue>,
    pub required: bool,
    /// A read-only query whose `value` (and `label`) columns are offered as buttons.
    pub choices_sql: Option<String>,
}

/// A value given to an argument.
#[derive(Clone, PartialEq, Eq)]
pub enum ArgValue {
    Text(String),
    Int(i64),
    Bool(bool),
    Duration(Duration),
    /// As typed; resolved and quoted on the server before use.
    Identifier(String),
    Secret(Secret),
}

impl fmt::Debug for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// How secrets show everywhere: chat, logs, audit, results.
pub const MASK: &str = "••••••";

impl ArgValue {
    /// The value as people may see it (secrets masked).
    pub fn shown(&self) -> String {
        match self {
            ArgValue::Text(s) | ArgValue::Identifier(s) => s.clone(),
            ArgValue::Int(n) => n.to_string(),
            ArgValue::Bool(b) => b.to_string(),
            ArgValue::Duration(d) => humanize(*d),
            ArgValue::Secret(_) => MASK.to_owned(),
        }
    }

    /// The value for a shell step's environment (secrets included: that is where they are used).
    pub fn for_shell(&self) -> String {
        match self {
            ArgValue::Secret(s) => s.expose().to_owned(),
            ArgValue::Duration(d) => format!("{}ms", d.as_millis()),
            other => other.shown(),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, ArgValue::Secret(_))
    }
}

fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if !ms.is_multiple_of(60_000) {
        format!("{}s", ms / 1000)
    } else if !ms.is_multiple_of(3_600_000) {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}h", ms / 3_600_000)
    }
}

/// A value that does not fit its argument; says which argument and why, in the words of whoever reads
/// it ([`ArgError::message`]). `Display` is the English text, for logs, `check` and the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub name: String,
    pub problem: ArgProblem,
}

/// Why a value does not fit. Values are held as people see them quoted (`"lots"`); a secret's never.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgProblem {
    Nul,
    TooLong {
        max: usize,
    },
    NoMatch {
        value: String,
        pattern: String,
    },
    SecretNoMatch,
    NotAscii,
    NoSalt(String),
    NotWhole {
        value: String,
    },
    Outside {
        value: i64,
        min: String,
        max: String,
    },
    NotYesNo {
        value: String,
    },
    NotChoice {
        value: String,
        choices: String,
    },
    NotDuration {
        value: String,
    },
    NotName {
        value: String,
    },
    /// An identifier resolved on the server names nothing there.
    NoSuch {
        role: bool,
        value: String,
    },
    TakesNone,
    Unknown {
        known: String,
    },
    Required,
}

impl ArgError {
    /// Why the value does not fit, without the argument's name.
    pub fn message(&self, lang: Lang) -> String {
        match &self.problem {
            ArgProblem::Nul => tr!(lang, "arg-nul"),
            ArgProblem::TooLong { max } => tr!(lang, "arg-too-long", max = *max),
            ArgProblem::NoMatch { value, pattern } => {
                tr!(lang, "arg-no-match", value = value, pattern = pattern)
            }
            ArgProblem::SecretNoMatch => tr!(lang, "arg-secret-no-match"),
            ArgProblem::NotAscii => tr!(lang, "arg-not-ascii"),
            ArgProblem::NoSalt(reason) => tr!(lang, "arg-no-salt", reason = reason),
            ArgProblem::NotWhole { value } => tr!(lang, "arg-not-whole", value = value),
            ArgProblem::Outside { value, min, max } => {
                tr!(lang, "arg-outside", value = *value, min = min, max = max)
            }
            ArgProblem::NotYesNo { value } => tr!(lang, "arg-not-yes-no", value = value),
            ArgProblem::NotChoice { value, choices } => {
                tr!(lang, "arg-not-choice", value = value, choices = choices)
            }
            ArgProblem::NotDuration { value } => tr!(lang, "arg-not-duration", value = value),
            ArgProblem::NotName { value } => tr!(lang, "arg-not-name", value = value),
            ArgProblem::NoSuch { role: true, value } => {
                tr!(lang, "arg-no-such-role", value = value)
            }
            ArgProblem::NoSuch { role: false, value } => {
                tr!(lang, "arg-no-such-relation", value = value)
            }
            ArgProblem::TakesNone => tr!(lang, "arg-takes-none"),
            ArgProblem::Unknown { known } => tr!(lang, "arg-unknown", known = known),
            ArgProblem::Required => tr!(lang, "arg-required"),
        }
    }

    /// The argument's name and why its value does not fit.
    pub fn render(&self, lang: Lang) -> String {
        tr!(
            lang,
            "arg-error",
            name = &self.name,
            message = self.message(lang)
        )
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl std::error::Error for ArgError {}

/// Longest value accepted for a text argument; longer input is a mistake or an attack.
const MAX_TEXT: usize = 10_000;

impl Argument {
    pub(crate) fn error(&self, problem: ArgProblem) -> ArgError {
        ArgError {
            name: self.name.clone(),
            problem,
        }
    }

    /// Parses a value as given (chat text, query string, JSON scalar rendered as text).
    pub fn parse(&self, raw: &str) -> Result<ArgValue, ArgError> {
        // PostgreSQL text cannot hold NUL, and no legitimate value needs it.
        if raw.contains('\0') {
            return Err(self.error(ArgProblem::Nul));
        }
        if raw.chars().count() > MAX_TEXT {
            return Err(self.error(ArgProblem::TooLong { max: MAX_TEXT }));
        }
        let matches = |pattern: &Option<Regex>| pattern.as_ref().is_none_or(|p| p.is_match(raw));
        match &self.kind {
            ArgType::String { pattern } => {
                if !matches(pattern) {
                    return Err(self.error(ArgProblem::NoMatch {
                        value: format!("{raw:?}"),
                        pattern: pattern.as_ref().map_or("", |p| p.as_str()).to_owned(),
                    }));
                }
                Ok(ArgValue::Text(raw.to_owned()))
            }
            ArgType::Secret { pattern, scram } => {
                if !matches(pattern) {
                    // Never echo a secret, not even a wrong one.
                    return Err(self.error(ArgProblem::SecretNoMatch));
                }
                if *scram {
                    // Only the verifier leaves: the server, its logs and its statistics never hold
                    // the password.
                    return super::scram::verifier(raw)
                        .map(|v| ArgValue::Secret(Secret::new(v)))
                        .map_err(|e| {
                            self.error(match e {
                                super::scram::ScramError::NotAscii => ArgProblem::NotAscii,
                                super::scram::ScramError::Random(reason) => {
                                    ArgProblem::NoSalt(reason)
                                }
                            })
                        });
                }
                Ok(ArgValue::Secret(Secret::new(raw)))
            }
            ArgType::Int { min, max } => {
                let n: i64 = raw.trim().parse().map_err(|_| {
                    self.error(ArgProblem::NotWhole {
                        value: format!("{raw:?}"),
                    })
                })?;
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    return Err(self.error(ArgProblem::Outside {
                        value: n,
                        min: min.map_or(String::new(), |m| m.to_string()),
                        max: max.map_or(String::new(), |m| m.to_string()),
                    }));
                }
                Ok(ArgValue::Int(n))
            }
            // Russian too: the bot asks in it, and its yes/no buttons say «да» and «нет».
            ArgType::Bool => match raw.trim().to_lowercase().as_str() {
                "true" | "yes" | "on" | "1" | "да" => Ok(ArgValue::Bool(true)),
                "false" | "no" | "off" | "0" | "нет" => Ok(ArgValue::Bool(false)),
                _ => Err(self.error(ArgProblem::NotYesNo {
                    value: format!("{raw:?}"),
                })),
            },
            ArgType::Enum { choices } => {
                if choices.iter().any(|c| c == raw) {
                    Ok(ArgValue::Text(raw.to_owned()))
                } else {
                    Err(self.error(ArgProblem::NotChoice {
                        value: format!("{raw:?}"),
                        choices: choices.join(", "),
                    }))
                }
            }
            ArgType::Duration => parse_duration(raw.trim())
                .map(ArgValue::Duration)
                .map_err(|_| {
                    self.error(ArgProblem::NotDuration {
                        value: format!("{:?}", raw.trim()),
                    })
                }),
            ArgType::Identifier(kind) => self.identifier(*kind, raw),
        }
    }

    /// An identifier's value, checked for its kind: a plain name strictly, a relation or a role only
    /// for what no name can be.
    fn identifier(&self, kind: IdentifierKind, raw: &str) -> Result<ArgValue, ArgError> {
        let raw = raw.trim();
        let valid = match kind {
            // Resolution on the server decides; keep out what no name can be.
            IdentifierKind::Relation | IdentifierKind::Role => {
                !raw.is_empty() && raw.len() <= 200 && !raw.contains(['\n', '\r', ';'])
            }
            IdentifierKind::Name => {
                let mut chars = raw.chars();
                raw.len() <= 63
                    && chars
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            }
        };
        if valid {
            Ok(ArgValue::Identifier(raw.to_owned()))
        } else {
            Err(self.error(ArgProblem::NotName {
                value: format!("{raw:?}"),
            }))
        }
    }
}

/// Parses the given values for `arguments`, adding defaults. Every problem names its argument; a value
/// for an argument that does not exist is an error too.
pub fn parse_all(
    arguments: &[Argument],
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, ArgValue>, ArgError> {
    if let Some(unknown) = given
        .keys()
        .find(|k| !arguments.iter().any(|a| &a.name == *k))
    {
        let known: Vec<&str> = arguments.iter().map(|a| a.name.as_str()).collect();
        return Err(ArgError {
            name: unknown.clone(),
            problem: if known.is_empty() {
                ArgProblem::TakesNone
            } else {
                ArgProblem::Unknown {
                    known: known.join(", "),
                }
            },
        });
    }
    let mut values = BTreeMap::new();
    for argument in arguments {
        let value = match given.get(&argument.name) {
            Some(raw) => Some(argument.parse(raw)?),
            None => argument.default.clone(),
        };
        match value {
            Some(value) => {
                values.insert(argument.name.clone(), value);
            }
            None if argument.required => {
                return Err(argument.error(ArgProblem::Required));
            }
            None => {}
        }
    }
    Ok(values)
}

/// Arguments with secrets masked, for audit rows and results.
pub fn shown(values: &BTreeMap<String, ArgValue>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(name, value)| (name.clone(), value.shown()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argument(kind: ArgType) -> Argument {
        Argument {
            name: "x".to_owned(),
            kind,
            description: String::new(),
            default: None,
            required: true,
            choices_sql: None,
        }
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let int = argument(ArgType::Int {
            min: Some(1),
            max: Some(10),
        });
        assert_eq!(int.parse("7"), Ok(ArgValue::Int(7)));
        assert!(
            int.parse("11")
                .unwrap_err()
                .message(Lang::En)
                .contains("outside 1..10")
        );
        assert!(int.parse("7; DROP TABLE t").is_err());
        let pattern = Regex::new("^[a-z_]{1,63}$").unwrap();
        let slot = argument(ArgType::String {
            pattern: Some(pattern.clone()),
        });
        assert!(slot.parse("my_slot").is_ok());
        assert!(slot.parse("x'; DROP").is_err());
        let flag = argument(ArgType::Bool);
        assert_eq!(flag.parse("Yes"), Ok(ArgValue::Bool(true)));
        assert_eq!(flag.parse("Нет"), Ok(ArgValue::Bool(false)));
        let mode = argument(ArgType::Enum {
            choices: vec!["fast".into(), "safe".into()],
        });
        assert!(mode.parse("fast").is_ok() && mode.parse("FAST").is_err());
        let wait = argument(ArgType::Duration);
        assert_eq!(
            wait.parse("5m"),
            Ok(ArgValue::Duration(Duration::from_secs(300)))
        );
        let name = argument(ArgType::Identifier(IdentifierKind::Name));
        assert!(name.parse("analyst_ro").is_ok());
        assert!(name.parse("x\"; DROP ROLE postgres; --").is_err());
        let anything = argument(ArgType::String { pattern: None });
        assert!(
            anything
                .parse("a\0b")
                .unwrap_err()
                .message(Lang::En)
                .contains("NUL")
        );
        assert!(anything.parse(&"a".repeat(MAX_TEXT + 1)).is_err());
    }

    #[test]
    fn errors_read_in_each_language_and_display_in_english() {
        let int = argument(ArgType::Int {
            min: Some(1),
            max: None,
        });
        let error = int.parse("lots").unwrap_err();
        assert_eq!(error.to_string(), "x: \"lots\" is not a whole number");
        assert_eq!(error.render(Lang::Ru), "x: \"lots\" — не целое число");
        let error = int.parse("0").unwrap_err();
        assert_eq!(error.message(Lang::En), "0 is outside 1..");
        assert_eq!(error.message(Lang::Ru), "0 вне диапазона 1..");
    }

    #[test]
    fn secrets_never_show() {
        let secret = argument(ArgType::Secret {
            pattern: Some(Regex::new("^.{12,}$").unwrap()),
            scram: false,
        });
        let value = secret.parse("correct horse battery").unwrap();
        assert_eq!(value.shown(), MASK);
        assert_eq!(format!("{value:?}"), MASK);
        assert_eq!(value.for_shell(), "correct horse battery");
        let error = secret.parse("short").unwrap_err();
        assert!(!error.to_string().contains("short"), "{error}");
        let hashed = argument(ArgType::Secret {
            pattern: Some(Regex::new("^.{12,}$").unwrap()),
            scram: true,
        });
        let value = hashed.parse("correct horse battery").unwrap();
        assert!(
            super::super::scram::verifies(&value.for_shell(), "correct horse battery"),
            "the value is the verifier"
        );
        assert!(hashed.parse("short").is_err());
        assert!(
            hashed
                .parse("ünïcode passwörd")
                .unwrap_err()
                .message(Lang::En)
                .contains("ASCII")
        );
    }

    #[test]
    fn parse_all_names_the_argument_at_fault() {
        let mut optional = argument(ArgType::Int {
            min: None,
            max: None,
        });
        optional.name = "cap".into();
        optional.default = Some(ArgValue::Int(20));
        optional.required = false;
        let required = argument(ArgType::Duration);
        let arguments = vec![required, optional];
        let given = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let values = parse_all(&arguments, &given(&[("x", "1m")])).unwrap();
        assert_eq!(values["cap"], ArgValue::Int(20));
        assert_eq!(parse_all(&arguments, &given(&[])).unwrap_err().name, "x");
        assert_eq!(
            parse_all(&arguments, &given(&[("x", "1m"), ("y", "2")]))
                .unwrap_err()
                .name,
            "y"
        );
    }
}
