use std::path::Path;

use super::*;
use crate::catalog::files::from_texts;
use crate::catalog::{Catalog, StepBody};
use crate::i18n::Lang;

fn databases() -> Vec<DatabaseName> {
    vec![
        DatabaseName::parse("main").unwrap(),
        DatabaseName::parse("billing").unwrap(),
    ]
}

fn views(text: &str) -> Result<Catalog, ConfigError> {
    from_texts(Some((Path::new("views.yaml"), text)), None, &databases())
}

fn actions(text: &str) -> Result<Catalog, ConfigError> {
    from_texts(None, Some((Path::new("actions.yaml"), text)), &databases())
}

fn problems(result: Result<Catalog, ConfigError>) -> Vec<String> {
    result
        .unwrap_err()
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_valid_view_and_action_load() {
    let catalog = views(
        r#"
views:
  - alias: long_queries
    title: Long queries
    databases: [main]
    timeout: 10s
    arguments:
      - { name: min_duration, type: duration, default: 1m }
    sql: SELECT pid FROM pg_stat_activity WHERE now() - query_start > :min_duration::interval
    variants:
      - { min_server_version: 14, sql: "SELECT pid, query_id FROM pg_stat_activity WHERE now() - query_start > :min_duration::interval" }
"#,
    )
    .unwrap();
    let view = catalog.view("long_queries").unwrap();
    assert_eq!(view.timeout, Duration::from_secs(10));
    assert!(view.serves(&databases()[0]) && !view.serves(&databases()[1]));
    assert!(!view.arguments[0].required, "a default makes it optional");
    assert_eq!(view.sql.for_server(13), &view.sql.base);
    assert_ne!(view.sql.for_server(15), &view.sql.base);

    let catalog = actions(
        r#"
actions:
  - alias: vacuum_table
    title: VACUUM a table
    confirm: true
    arguments:
      - { name: table, type: identifier, kind: relation }
    steps:
      - { name: vacuum, sql: "VACUUM (ANALYZE) :table", transaction: false }
      - { name: stats, sql: "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = :'table'::regclass" }
      - { name: note, shell: "echo $PG_ARG_TABLE" }
"#,
    )
    .unwrap();
    let action = catalog.action("vacuum_table").unwrap();
    assert!(action.confirm);
    assert_eq!(action.steps.len(), 3);
    assert!(matches!(
        action.steps[0].body,
        StepBody::Sql {
            transaction: false,
            ..
        }
    ));
}

#[test]
fn every_problem_is_located() {
    let found = problems(views(
        r#"
views:
  - alias: Bad-Alias
    title: x
    databases: [nowhere]
    timeout: soon
    arguments:
      - { name: n, type: int, default: many }
      - { name: n, type: colour }
    sql: SELECT :missing, :'n'
"#,
    ));
    let expected = [
        "views.yaml:3:12: views[0].alias: \"Bad-Alias\" must be 1-40 characters",
        "views.yaml:5:17: views[0].databases[0]: \"nowhere\" is not a database of the config",
        "views.yaml:6:14: views[0].timeout: \"soon\" is not a duration",
        "views.yaml:8:40: views[0].arguments[0].default: \"many\" is not a whole number",
        "views.yaml:9:17: views[0].arguments[1].name: n is declared twice",
        "views.yaml:10:10: views[0].sql: :missing names no declared argument",
    ];
    for (line, want) in expected.iter().enumerate() {
        assert!(
            found.iter().any(|f| f.starts_with(want)),
            "missing #{line} {want:?} in {found:#?}"
        );
    }
}

#[test]
fn unknown_keys_and_malformed_steps_are_refused() {
    let found = problems(actions(
        "actions:\n  - { alias: a, title: t, steps: [], colour: red }\n",
    ));
    assert_eq!(
        found,
        [
            "actions.yaml:2:34: actions[0].steps: an action needs at least one step",
            "actions.yaml:2:38: actions[0].colour: unknown field `colour`, expected one of `alias`, \
             `title`, `description`, `databases`, `confirm`, `timeout`, `arguments`, `steps`",
        ],
        "an unknown key hides nothing else"
    );
    let found = problems(actions(
        "actions:\n  - alias: a\n    title: t\n    steps:\n      - { name: both, sql: 'SELECT 1', shell: 'true' }\n",
    ));
    assert!(
        found[0].contains("exactly one of sql or shell"),
        "{found:?}"
    );
    let found = problems(actions("actions:\n  - { alias: a, title: t, steps: [] }\n"));
    assert!(found[0].contains("at least one step"), "{found:?}");
}

#[test]
fn secrets_have_no_default_and_quoted_forms_need_identifiers() {
    let found = problems(actions(
        r#"
actions:
  - alias: a
    title: t
    arguments:
      - { name: password, type: secret, default: hunter2 }
      - { name: name, type: string }
    steps:
      - { name: s, sql: "SELECT :'name'" }
"#,
    ));
    assert!(
        found
            .iter()
            .any(|f| f.contains("a secret cannot have a default")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("are for identifier arguments")),
        "{found:?}"
    );
    assert!(!found.iter().any(|f| f.contains("hunter2")), "{found:?}");
}

#[test]
fn hashes_apply_to_secrets_and_quoted_names_are_kept_for_identifiers() {
    let found = problems(actions(
        r#"
actions:
  - alias: a
    title: t
    arguments:
      - { name: password, type: secret, hash: md5 }
      - { name: note, type: string, hash: scram-sha-256 }
      - { name: table, type: identifier, kind: relation }
      - { name: table_quoted, type: string }
    steps:
      - { name: s, sql: "SELECT 1" }
"#,
    ));
    for expected in [
        "\"md5\" is not a known hash; the one known is scram-sha-256",
        "arguments[1].hash: applies to secrets only",
        "table_quoted is taken",
    ] {
        assert!(
            found.iter().any(|f| f.contains(expected)),
            "{expected}: {found:?}"
        );
    }
}

#[test]
fn wrong_types_and_missing_keys_hide_nothing_else() {
    let found = problems(from_texts(
        Some((
            Path::new("views.yaml"),
            r#"
views:
  - alias: first
    title: [not, text]
    max_rows: many
    databases: [nowhere]
    sql: SELECT :missing
  - 5
  - alias: Third
    title: t
  - alias: fourth
    title: t
    timeout: soon
    variants: [{ sql: "SELECT 2" }]
    sql: SELECT 1
"#,
        )),
        Some((
            Path::new("actions.yaml"),
            r#"
actions:
  - alias: a
    title: t
    confirm: maybe
    steps:
      - { name: s, sql: "SELECT :x" }
      - { sql: "SELECT 1" }
  - { alias: b, steps: [7] }
"#,
        )),
        &databases(),
    ));
    assert_eq!(
        found,
        [
            "views.yaml:4:12: views[0].title: invalid type: sequence, expected a string, or a map of strings by language (en, ru)",
            "views.yaml:5:15: views[0].max_rows: invalid type: string, expected a whole number",
            "views.yaml:6:17: views[0].databases[0]: \"nowhere\" is not a database of the config",
            "views.yaml:7:10: views[0].sql: :missing names no declared argument",
            "views.yaml:8:5: views[1]: invalid type: integer, expected a mapping",
            "views.yaml:9:5: views[2].sql: is required",
            "views.yaml:9:12: views[2].alias: \"Third\" must be 1-40 characters of a-z, 0-9 or '_'",
            "views.yaml:13:14: views[3].timeout: \"soon\" is not a duration (examples: 30s, 10m, 1h30m, 2d)",
            "views.yaml:14:16: views[3].variants[0].min_server_version: is required",
            "actions.yaml:5:14: actions[0].confirm: invalid type: string, expected a boolean",
            "actions.yaml:7:25: actions[0].steps[0].sql: :x names no declared argument",
            "actions.yaml:8:9: actions[0].steps[1].name: is required",
            "actions.yaml:9:5: actions[1].title: is required",
            "actions.yaml:9:25: actions[1].steps[0]: invalid type: integer, expected a mapping",
        ]
    );
}

#[test]
fn titles_and_descriptions_are_one_text_or_one_per_language() {
    let catalog = views(
        r#"
views:
  - alias: plain
    title: Long queries
    description: Queries running longest
    sql: SELECT 1
  - alias: both
    title: { en: Locks, ru: Блокировки }
    description: { en: Who waits for whom, ru: Кто кого ждёт }
    sql: SELECT 1
  - alias: english_only
    title: { en: Vacuum }
    sql: SELECT 1
"#,
    )
    .unwrap();
    let [plain, both, english] = &catalog.views[..] else {
        panic!("three views: {:?}", catalog.views);
    };
    assert_eq!(plain.title.get(Lang::Ru), "Long queries");
    assert_eq!(plain.description.get(Lang::En), "Queries running longest");
    assert_eq!(both.title.get(Lang::Ru), "Блокировки");
    assert_eq!(both.title.get(Lang::En), "Locks");
    assert_eq!(both.description.get(Lang::Ru), "Кто кого ждёт");
    assert_eq!(english.title.get(Lang::Ru), "Vacuum");
    assert!(english.description.is_empty());
}

#[test]
fn a_text_map_names_only_languages_of_the_service_and_is_not_empty() {
    let found = problems(actions(
        r#"
actions:
  - alias: a
    title: { en: Vacuum, de: Staubsaugen }
    description: {}
    steps: [{ name: s, sql: "SELECT 1" }]
"#,
    ));
    assert_eq!(
        found,
        [
            "actions.yaml:4:30: actions[0].title.de: \"de\" is not a language of the service (en, ru)",
            "actions.yaml:5:18: actions[0].description: needs a text for at least one language (en, ru)",
        ]
    );
}
