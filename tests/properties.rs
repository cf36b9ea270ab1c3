//! Property tests for the parsers that face the outside: the Alertmanager payload, the config YAML,
//! catalogue files and their SQL templates, and argument values. Each input, random or a mutation of a
//! real one, is either accepted or refused with an error that names what is wrong; nothing panics.
//! The case count is fixed, so a plain `cargo test` runs the same amount of work every time.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::path::Path;

use postgram::alertmanager;
use postgram::catalog::{ArgType, Catalog, Form, Segment, Template, parse_all};
use postgram::config::{Config, ConfigError};
use postgram::domain::DatabaseName;
use postgram::i18n::Lang;
use proptest::prelude::*;

fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported with their minimal input; nothing is written beside the tests.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An edit of an input: replace, insert or delete one byte at a position (taken modulo the length).
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Replace(at, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
    ];
    proptest::collection::vec(edit, 1..8)
}

/// Structure-aware bytes: what YAML and JSON parsers branch on, more often than chance would.
fn syntax_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        proptest::sample::select(b"{}[]:,\"'-\n #&*!|>%@`\\$0123456789.eE+".to_vec()),
    ]
}

fn mutate(input: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = input.to_vec();
    for edit in edits {
        match *edit {
            Edit::Replace(at, b) if !out.is_empty() => {
                let at = at % out.len();
                out[at] = b;
            }
            Edit::Insert(at, b) => {
                let at = at % (out.len() + 1);
                out.insert(at, b);
            }
            Edit::Delete(at) if !out.is_empty() => {
                let at = at % out.len();
                out.remove(at);
            }
            _ => {}
        }
    }
    out
}

fn fixtures() -> Vec<Vec<u8>> {
    ["1.json", "2.json", "3.json", "4.json"]
        .into_iter()
        .map(|name| serde_json::to_vec(&support::fixture(name)).unwrap())
        .collect()
}

/// The payload parser's answer is a notification, or an error naming the field and the problem.
fn check_payload(body: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = alertmanager::parse(body) {
        prop_assert!(!e.field.is_empty(), "no field named: {e:?}");
        prop_assert!(!e.message.is_empty(), "no problem named: {e:?}");
    }
    Ok(())
}

/// A config or catalogue error lists at least one problem, each saying what is wrong.
fn check_problems(error: &ConfigError) -> Result<(), TestCaseError> {
    prop_assert!(!error.problems.is_empty());
    for problem in &error.problems {
        prop_assert!(!problem.message.trim().is_empty(), "{problem:?}");
    }
    Ok(())
}

fn config(text: &str) -> Result<(), TestCaseError> {
    let path = Path::new("/nonexistent/postgram.yaml");
    if let Err(e) = Config::from_text(text, path, &|name| {
        (name == "SET").then(|| "value".to_owned())
    }) {
        check_problems(&e)?;
    }
    Ok(())
}

/// A template written back as text: its placeholders as they were written.
fn written(template: &Template) -> String {
    template
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Text(text) => text.clone(),
            Segment::Placeholder { name, form } => {
                assert!(!name.is_empty(), "a placeholder without a name");
                match form {
                    Form::Bare => format!(":{name}"),
                    Form::Literal => format!(":'{name}'"),
                    Form::Identifier => format!(":\"{name}\""),
                }
            }
        })
        .collect()
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

fn catalogue(views: &str, actions: &str) -> Result<(), TestCaseError> {
    let databases = [DatabaseName::parse("main").unwrap()];
    let parsed = Catalog::from_texts(
        Some((Path::new("views.yaml"), views)),
        Some((Path::new("actions.yaml"), actions)),
        &databases,
    );
    if let Err(e) = parsed {
        check_problems(&e)?;
    }
    Ok(())
}

/// One action with an argument of every type.
const EVERY_TYPE: &str = r#"
actions:
  - alias: every_type
    title: Every type
    arguments:
      - { name: s, type: string, pattern: '[a-z]{1,8}' }
      - { name: free, type: string }
      - { name: i, type: int, min: -5, max: 5 }
      - { name: big, type: int }
      - { name: b, type: bool }
      - { name: e, type: enum, choices: [fast, safe] }
      - { name: d, type: duration }
      - { name: rel, type: identifier, kind: relation }
      - { name: role, type: identifier, kind: role }
      - { name: n, type: identifier, kind: name }
      - { name: p, type: secret, pattern: '.{4,}' }
      - { name: h, type: secret, hash: scram-sha-256 }
    steps:
      - { name: x, sql: "SELECT 1" }
"#;

fn every_type() -> Catalog {
    Catalog::from_texts(
        None,
        Some((Path::new("actions.yaml"), EVERY_TYPE)),
        &[DatabaseName::parse("main").unwrap()],
    )
    .unwrap()
}

/// Values people type: anything, printable text, numbers and durations of any size.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "[-+]?[0-9]{1,30}",
        "[0-9]{1,25}(ms|s|m|h|d|w|y)?([0-9]{1,5}(ms|s|m|h))?",
        "(true|false|yes|no|on|off|fast|safe|[a-z_]{1,70})",
        "\"[^\"]{0,10}\"(\\.\"?[a-zA-Z ]{0,10}\"?)?",
    ]
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn payload_random_bytes(body in proptest::collection::vec(syntax_byte(), 0..512)) {
        check_payload(&body)?;
    }

    #[test]
    fn payload_mutations_of_real_notifications(which in 0..4usize, edits in edits()) {
        let fixtures = fixtures();
        check_payload(&mutate(&fixtures[which], &edits))?;
    }

    #[test]
    fn payload_fields_replaced_by_any_json(
        which in 0..4usize,
        key in proptest::sample::select(vec![
            "version", "groupKey", "status", "receiver", "groupLabels", "commonLabels",
            "externalURL", "truncatedAlerts", "alerts",
        ]),
        alert_key in proptest::sample::select(vec![
            "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
        ]),
        value in json(),
    ) {
        let fixtures = fixtures();
        let mut payload: serde_json::Value = serde_json::from_slice(&fixtures[which]).unwrap();
        let mut whole = payload.clone();
        whole[key] = value.clone();
        check_payload(&serde_json::to_vec(&whole).unwrap())?;
        if let Some(alert) = payload["alerts"].get_mut(0) {
            alert[alert_key] = value;
        }
        check_payload(&serde_json::to_vec(&payload).unwrap())?;
    }

    #[test]
    fn config_random_text(text in "[ -~\n]{0,300}") {
        config(&text)?;
    }

    #[test]
    fn config_mutations_of_a_valid_config(edits in edits()) {
        let valid = support::config_text("sqlite://state.db", "127.0.0.1:0");
        let text = mutate(valid.as_bytes(), &edits);
        config(&String::from_utf8_lossy(&text))?;
    }

    #[test]
    fn config_values_replaced(
        key in proptest::sample::select(vec![
            "state", "listen", "url", "from", "ack_timeout", "dsn", "chat", "role", "token",
        ]),
        value in typed(),
    ) {
        let valid = support::config_text("sqlite://state.db", "127.0.0.1:0");
        // Every line holding the key gets the new value, as a YAML-escaped string.
        let value = serde_json::to_string(&value).unwrap();
        let text: Vec<String> = valid
            .lines()
            .map(|line| match line.find(&format!("{key}: ")) {
                Some(at) => format!("{}{key}: {value}", &line[..at]),
                None => line.to_owned(),
            })
            .collect();
        config(&text.join("\n"))?;
    }

    #[test]
    fn templates_parse_any_text_and_keep_it(sql in any::<String>()) {
        prop_assert_eq!(written(&Template::parse(&sql)), sql);
    }

    #[test]
    fn templates_of_sql_like_text(sql in "([a-z_ ]{0,6}|:|::|'|\"|\\$\\$|\\$a\\$|--|/\\*|\\*/|\n|:'|:\"){0,40}") {
        prop_assert_eq!(written(&Template::parse(&sql)), sql.clone());
        // Whatever it found, the views and actions around it load or are refused with a reason.
        let view = format!(
            "views:\n  - alias: v\n    title: V\n    sql: {}\n",
            serde_json::to_string(&sql).unwrap()
        );
        catalogue(&view, "actions: []")?;
    }

}

proptest! {
    // A hashed secret costs 4096 HMAC rounds per case in a debug build: fewer cases.
    #![proptest_config(cases(64))]

    #[test]
    fn argument_values(value in typed()) {
        let catalog = every_type();
        for argument in &catalog.actions[0].arguments {
            match argument.parse(&value) {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(&e.name, &argument.name);
                    for lang in Lang::ALL {
                        let message = e.message(lang);
                        prop_assert!(!message.is_empty());
                        if matches!(argument.kind, ArgType::Secret { .. }) && value.len() > 3 {
                            prop_assert!(!message.contains(&value), "a secret echoed: {}", message);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn argument_maps(given in proptest::collection::btree_map("[a-z]{1,5}", typed(), 0..6)) {
        let catalog = every_type();
        let arguments = &catalog.actions[0].arguments;
        if let Err(e) = parse_all(arguments, &given) {
            prop_assert!(
                given.contains_key(&e.name) || arguments.iter().any(|a| a.name == e.name),
                "the error names no argument: {e:?}"
            );
            prop_assert!(!e.message(Lang::Ru).is_empty());
        }
    }
}

proptest! {
    // Loading the whole shipped catalogue is the slow part: fewer cases.
    #![proptest_config(cases(64))]

    #[test]
    fn catalogue_mutations_of_the_shipped_files(edits in edits(), views_or_actions in any::<bool>()) {
        let (views, actions) = (shipped("views.yaml"), shipped("actions.yaml"));
        let (views, actions) = if views_or_actions {
            (String::from_utf8_lossy(&mutate(views.as_bytes(), &edits)).into_owned(), actions)
        } else {
            (views, String::from_utf8_lossy(&mutate(actions.as_bytes(), &edits)).into_owned())
        };
        catalogue(&views, &actions)?;
    }

    #[test]
    fn catalogue_random_text(text in "[ -~\n]{0,300}") {
        catalogue(&text, "actions: []")?;
        catalogue("views: []", &text)?;
    }
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        typed().prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("0001-01-01T00:00:00Z")),
        Just(serde_json::Value::from("2026-11-22T11:00:00Z")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z]{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn the_real_inputs_are_accepted() {
    for body in fixtures() {
        alertmanager::parse(&body).unwrap();
    }
    Config::from_text(
        &support::config_text("sqlite://state.db", "127.0.0.1:0"),
        Path::new("/nonexistent/postgram.yaml"),
        &|_| None,
    )
    .unwrap();
    let databases = [DatabaseName::parse("main").unwrap()];
    Catalog::from_texts(
        Some((Path::new("views.yaml"), &shipped("views.yaml"))),
        Some((Path::new("actions.yaml"), &shipped("actions.yaml"))),
        &databases,
    )
    .unwrap();
}
