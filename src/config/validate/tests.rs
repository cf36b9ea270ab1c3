use std::path::Path;

use super::*;

const GOOD: &str = r#"
telegram: { token: "${TELEGRAM_TOKEN}" }
http: { listen: "127.0.0.1:9750", webhook_token: "${ALERTMANAGER_TOKEN}" }
state: "sqlite://state/postgram.db"
owners: [11111111]
alertmanager: { url: "http://127.0.0.1:9093/" }
smtp: { url: "smtp://user:${SMTP_PASSWORD:-pw}@mail.example.com:587", from: "postgram@example.com" }
escalation: { ack_timeout: 10m, telegram_failure_after: 2m }
databases:
  - name: main
    dsn: "${MAIN_DSN}"
    match: { cluster: main }
    admins: [22222222, "@alice"]
    chat: -1001234567890
    email: [dba@example.com]
api_tokens:
  - { name: grafana, token: "0123456789abcdef0123", role: viewer }
"#;

fn env(name: &str) -> Option<String> {
    match name {
        "TELEGRAM_TOKEN" => Some("123456:telegram-secret-0000000000000000000".to_owned()),
        "ALERTMANAGER_TOKEN" => Some("webhook-secret-0123456789".to_owned()),
        "MAIN_DSN" => Some("postgres://admin:dsn-password@db:5432/app".to_owned()),
        _ => None,
    }
}

fn problems(text: &str) -> Vec<String> {
    problems_with(text, &env)
}

fn problems_with(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    Config::from_text(text, Path::new("/etc/postgram/postgram.yaml"), env)
        .expect_err("config should be rejected")
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_documented_config_is_valid() {
    let config = Config::from_text(GOOD, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    assert_eq!(
        config.telegram.token.expose(),
        "123456:telegram-secret-0000000000000000000"
    );
    assert_eq!(config.telegram.api_url, "https://api.telegram.org");
    assert_eq!(config.alertmanager.unwrap().url, "http://127.0.0.1:9093");
    assert!(matches!(
        &config.state,
        StateLocation::Sqlite(p) if p == Path::new("/etc/postgram/state/postgram.db")
    ));
    assert_eq!(config.escalation.ack_timeout, Duration::from_secs(600));
    let main = &config.databases[0];
    assert_eq!(main.name.as_str(), "main");
    assert_eq!(main.admins.len(), 2);
    assert_eq!(main.chat, Some(ChatId(-1_001_234_567_890)));
    assert_eq!(config.api_tokens[0].role, Role::Viewer);
    let debug = format!("{:?}", config.databases);
    assert!(
        !debug.contains("dsn-password"),
        "Debug leaks the DSN: {debug}"
    );
}

#[test]
fn every_semantic_problem_is_reported_at_once_with_its_position() {
    let text = GOOD
        .replace("127.0.0.1:9750", "localhost")
        .replace("ack_timeout: 10m", "ack_timeout: ten")
        .replace("\"@alice\"", "\"alice\"")
        .replace("dba@example.com", "dba-at-example");
    let found = problems(&text);
    assert_eq!(
        found,
        [
            "/etc/postgram/postgram.yaml:3:17: http.listen: \"localhost\" is not an address like 127.0.0.1:9750",
            "/etc/postgram/postgram.yaml:8:28: escalation.ack_timeout: \"ten\" is not a duration (examples: 30s, 10m, 1h30m, 2d)",
            "/etc/postgram/postgram.yaml:13:24: databases[0].admins[1]: \"alice\" is neither a Telegram user id nor an @username",
            "/etc/postgram/postgram.yaml:15:13: databases[0].email[0]: \"dba-at-example\" is not an email address",
        ]
    );
}

#[test]
fn an_unknown_key_points_at_the_key() {
    let text = GOOD.replace("    chat: -1001234567890", "    chats: -1001234567890");
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "/etc/postgram/postgram.yaml:14:5: databases[0].chats: unknown field `chats`"
        ),
        "{found:?}"
    );
}

#[test]
fn a_wrong_type_names_the_field_and_its_line() {
    let found = problems(&GOOD.replace("owners: [11111111]", "owners: [eleven]"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("/etc/postgram/postgram.yaml:5:"),
        "{found:?}"
    );
    assert!(found[0].contains("owners[0]"), "{found:?}");
}

#[test]
fn syntax_errors_have_positions() {
    let found = problems("telegram: { token: x\nhttp: [\n");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("/etc/postgram/postgram.yaml:"),
        "{found:?}"
    );
}

#[test]
fn missing_variables_are_named_and_values_never_echoed() {
    let text = GOOD
        .replace("${MAIN_DSN}", "${MISSING_DSN}")
        .replace("${TELEGRAM_TOKEN}", "${NO_TOKEN}");
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains(":2:") && found[0].contains("NO_TOKEN is not set"));
    assert!(found[1].contains(":11:") && found[1].contains("MISSING_DSN is not set"));

    let bad_dsn = GOOD.replace("${MAIN_DSN}", "mysql://root:hunter2@db/app");
    let found = problems(&bad_dsn).join("\n");
    assert!(found.contains("databases[0].dsn: must be a postgres:// URL"));
    assert!(!found.contains("hunter2"), "{found}");
}

#[test]
fn cross_checks_catch_duplicates_and_weak_tokens() {
    let text = format!("{GOOD}  - {{ name: grafana, token: short, role: king }}\n")
        .replace("owners: [11111111]", "owners: []");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.contains("owners: name at least one")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("api_tokens[1].name: token name \"grafana\" is used twice"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("api_tokens[1].token: must be at least 16"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("api_tokens[1].role: role \"king\""))
    );
}

#[test]
fn an_in_memory_state_store_is_refused() {
    let found = problems(&GOOD.replace("sqlite://state/postgram.db", "sqlite://:memory:"));
    assert!(found[0].contains("state: needs a file"), "{found:?}");
}

#[test]
fn tokens_may_be_given_by_digest_and_members_only_once() {
    let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let text = format!(
        "{GOOD}  - {{ name: ci, token_sha256: \"{digest}\", role: admin }}\n\
         \x20 - {{ name: both, token: \"0123456789abcdefgh\", token_sha256: \"{digest}\", role: admin }}\n\
         \x20 - {{ name: neither, role: admin }}\n\
         \x20 - {{ name: badhex, token_sha256: \"xyz\", role: admin }}\n\
         \x20 - {{ name: again, token_sha256: \"{}\", role: admin }}\n",
        digest.to_uppercase()
    );
    let found = problems(&text);
    let has = |needle: &str| found.iter().any(|p| p.contains(needle));
    assert!(
        has("api_tokens[2].token_sha256: give either token or token_sha256"),
        "{found:?}"
    );
    assert!(
        has("api_tokens[3].token: is required (or token_sha256"),
        "{found:?}"
    );
    assert!(
        has("api_tokens[4].token_sha256: must be 64 hexadecimal digits"),
        "{found:?}"
    );
    assert!(
        has("api_tokens[5].token: the same token is given twice"),
        "a digest in capitals is the same digest: {found:?}"
    );
    assert_eq!(found.len(), 4, "{found:?}");

    let members = GOOD.replace(
        "admins: [22222222, \"@alice\"]",
        "admins: [22222222, \"@alice\", 22222222]\n    viewers: [\"@Alice\", 33333333]",
    );
    let found = problems(&members);
    let has = |needle: &str| found.iter().any(|p| p.contains(needle));
    assert!(
        has("databases[0].admins[2]: 22222222 is listed twice"),
        "{found:?}"
    );
    assert!(
        has("databases[0].viewers[0]: @alice is already an admin"),
        "{found:?}"
    );
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn wrong_types_and_missing_keys_hide_nothing_else() {
    let text = r#"
telegram: { dialogue_ttl: [1h] }
http:
  listen: nowhere
owners: [eleven, -5, 42]
escalation: { ack_timeout: ten, colour: red }
databases:
  - 5
  - name: main
    dsn: mysql://x
    match: { cluster: main }
    chat: "not a number"
    admins: ["alice"]
api_tokens:
  - { name: ci, token: 12345678901234567890, role: king }
"#;
    let found = problems(text);
    assert_eq!(
        found,
        [
            "/etc/postgram/postgram.yaml:2:11: telegram.token: is required",
            "/etc/postgram/postgram.yaml:2:27: telegram.dialogue_ttl: invalid type: sequence, expected a string",
            "/etc/postgram/postgram.yaml:4:3: http.webhook_token: is required",
            "/etc/postgram/postgram.yaml:4:11: http.listen: \"nowhere\" is not an address like 127.0.0.1:9750",
            "/etc/postgram/postgram.yaml:5:10: owners[0]: invalid type: string, expected a whole number",
            "/etc/postgram/postgram.yaml:5:18: owners[1]: Telegram user id -5 must be a positive number",
            "/etc/postgram/postgram.yaml:6:28: escalation.ack_timeout: \"ten\" is not a duration (examples: 30s, 10m, 1h30m, 2d)",
            "/etc/postgram/postgram.yaml:6:33: escalation.colour: unknown field `colour`, expected one of `ack_timeout`, `telegram_failure_after`, `severities`",
            "/etc/postgram/postgram.yaml:8:5: databases[0]: invalid type: integer, expected a mapping",
            "/etc/postgram/postgram.yaml:10:10: databases[1].dsn: must be a postgres:// URL",
            "/etc/postgram/postgram.yaml:12:11: databases[1].chat: invalid type: string, expected a whole number",
            "/etc/postgram/postgram.yaml:13:14: databases[1].admins[0]: \"alice\" is neither a Telegram user id nor an @username",
            "/etc/postgram/postgram.yaml:15:24: api_tokens[0].token: invalid type: integer, expected a string",
            "/etc/postgram/postgram.yaml:15:52: api_tokens[0].role: role \"king\" is not one of \"owner\", \"admin\", \"viewer\"",
        ]
    );
    assert!(
        !found.iter().any(|p| p.contains("12345678901234567890")),
        "a token of the wrong type is not echoed: {found:?}"
    );
}

#[test]
fn an_empty_file_lacks_every_required_key_at_its_start() {
    assert_eq!(
        problems(""),
        [
            "/etc/postgram/postgram.yaml:1:1: telegram: is required",
            "/etc/postgram/postgram.yaml:1:1: http: is required",
            "/etc/postgram/postgram.yaml:1:1: owners: name at least one Telegram user id: owners receive unrouted alerts and manage everything",
        ]
    );
}

#[test]
fn the_bot_token_has_the_shape_botfather_gives_and_is_never_echoed() {
    for token in [
        "abc",
        "hunter2",
        "123456:hunter2-is-too-short",
        "123456:hunter2-is-far-too-long-00000000000000000000000000000000000000000000000",
        "hunter2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "123456:hunter2+has+a+plus+0000000000000000",
        " 123456:hunter2-has-a-space-000000000000000",
    ] {
        let env = |name: &str| match name {
            "TELEGRAM_TOKEN" => Some(token.to_owned()),
            _ => env(name),
        };
        let found = problems_with(GOOD, &env);
        assert_eq!(
            found,
            [
                "/etc/postgram/postgram.yaml:2:20: telegram.token: is not a bot token as BotFather \
                 gives it: the bot's id (digits), ':' and 30 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
            ],
            "{token:?}"
        );
        assert!(!found[0].contains("hunter2"), "{found:?}");
    }
    let env = |name: &str| match name {
        "TELEGRAM_TOKEN" => Some("7213808860:AAH1bjqpKKW3maRSPAxzIU-0v6xNuq2_NjM".to_owned()),
        _ => env(name),
    };
    Config::from_text(GOOD, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
}

#[test]
fn prometheus_settings_are_checked_and_credentials_never_echoed() {
    let (head, rest) = GOOD.split_once("databases:\n").unwrap();
    let tokens = &rest[rest.find("api_tokens:").unwrap()..];
    let base = format!("{head}{tokens}");
    let good = format!(
        "{GOOD}prometheus: {{ url: \"https://reader:s3cret-pw@prom.example.com:9090/\", timeout: 5s, \
         headers: {{ Authorization: \"Bearer tok-123\" }} }}\ntime_zone: \"+03:00\"\n"
    );
    let config = Config::from_text(&good, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    let prometheus = config.prometheus.as_ref().unwrap();
    assert_eq!(
        prometheus.url.expose(),
        "https://reader:s3cret-pw@prom.example.com:9090"
    );
    assert_eq!(prometheus.timeout, Duration::from_secs(5));
    assert_eq!(prometheus.headers[0].1.expose(), "Bearer tok-123");
    assert_eq!(config.time_zone.local_minus_utc(), 3 * 3600);
    assert_eq!(config.databases[0].metrics_selector, r#"{cluster="main"}"#);
    assert!(!format!("{config:?}").contains("s3cret"));

    let bad = format!(
        "{base}prometheus: {{ url: \"ftp://reader:s3cret-pw@prom\", timeout: 0s, \
         headers: {{ \"Bad Header\": \"Bearer tok-123\" }} }}\ntime_zone: Mars/Olympus\n\
         databases:\n  - name: main\n    dsn: \"${{MAIN_DSN}}\"\n    match: {{ cluster: main }}\n    \
         metrics: {{ selector: 'cluster=\"main\"' }}\n"
    );
    let found = problems(&bad).join("\n");
    for expected in [
        "prometheus.url",
        "is not an http:// or https:// URL",
        "must be longer than zero",
        "\"Bad Header\" is not an HTTP header name",
        "\"Mars/Olympus\" is not UTC or an offset",
        "must be a label selector in braces",
    ] {
        assert!(found.contains(expected), "{expected} in:\n{found}");
    }
    assert!(
        !found.contains("s3cret") && !found.contains("tok-123"),
        "{found}"
    );
    // Each at its own line of the file.
    assert!(
        found
            .lines()
            .all(|l| l.starts_with("/etc/postgram/postgram.yaml:")),
        "{found}"
    );
}

#[test]
fn telemetry_is_off_unless_an_otlp_endpoint_is_given_and_checked_in_place() {
    let config = Config::from_text(GOOD, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    assert_eq!(config.telemetry, None);
    let good = format!("{GOOD}telemetry: {{ otlp_endpoint: \"http://tempo:4318\" }}\n");
    let config = Config::from_text(&good, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    assert_eq!(
        config.telemetry.unwrap().traces_url,
        "http://tempo:4318/v1/traces"
    );

    let line = GOOD.lines().count() + 1;
    for (block, expected) in [
        (
            "telemetry: { otlp_endpoint: \"tempo:4318\" }",
            "telemetry.otlp_endpoint: is not an http:// or https:// URL with a host",
        ),
        ("telemetry: {}", "telemetry.otlp_endpoint: is required"),
        (
            "telemetry: { otlp_endpoint: \"http://tempo:4318\", sampler: always }",
            "telemetry.sampler: unknown field `sampler`, expected `otlp_endpoint`",
        ),
    ] {
        let found = problems(&format!("{GOOD}{block}\n")).join("\n");
        assert!(
            found.starts_with(&format!("/etc/postgram/postgram.yaml:{line}:")),
            "{block}: {found}"
        );
        assert!(found.contains(expected), "{block}: {expected} in:\n{found}");
    }
}

#[test]
fn languages_default_to_english_then_to_the_top_level_one() {
    let config = Config::from_text(GOOD, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    assert_eq!(config.language, Lang::En);
    assert_eq!(config.databases[0].language, Lang::En);

    let with = |database: &str, top: &str| {
        let other = format!(
            "    email: [dba@example.com]\n  - {{ name: other, dsn: \"${{MAIN_DSN}}\", match: {{ cluster: other }}, language: {database} }}\n"
        );
        format!(
            "{}language: {top}\n",
            GOOD.replace("    email: [dba@example.com]\n", &other)
        )
    };
    let two = with("en", "RU");
    let config = Config::from_text(&two, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    assert_eq!(config.language, Lang::Ru);
    assert_eq!(config.databases[0].language, Lang::Ru, "the top-level one");
    assert_eq!(config.databases[1].language, Lang::En, "its own");
    assert_eq!(config.language_of(Some("other")), Lang::En);
    assert_eq!(config.language_of(Some("gone")), Lang::Ru);
    assert_eq!(config.language_of(None), Lang::Ru);

    // A language change is taken by a reload, not deferred to a restart.
    let before = Config::from_text(GOOD, Path::new("/etc/postgram/postgram.yaml"), &env).unwrap();
    assert!(before.restart_only_changes(&config).is_empty());

    let bad = with("de", "russian");
    let found = problems(&bad);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("/etc/postgram/postgram.yaml:16:77: ")
            && found[0].contains("databases[1].language: ")
            && found[0].contains("\"de\" is not a language Postgram speaks (en, ru)"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("/etc/postgram/postgram.yaml:19:11: ")
            && found[1].contains("language: ")
            && found[1].contains("\"russian\" is not a language Postgram speaks (en, ru)"),
        "{found:#?}"
    );
}
