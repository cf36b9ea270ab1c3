//! Views and actions from Telegram, end to end: the fake Bot API server, the real PostgreSQL as the
//! administered database, and the bot's dialogues (database, item, arguments, confirmation, result).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use sqlx::Connection;
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::service::Ctx;
use support::{Service, fixture};

const ADMIN: i64 = 2000;
const STRANGER: i64 = 9999;
const SECRET: &str = "Correct-Horse-Battery-9";
const WAIT: Duration = Duration::from_secs(20);

const VIEWS: &str = r#"
views:
  - alias: numbers
    title: Numbers
    arguments:
      - { name: upto, type: int, min: 1, max: 100000, description: how many rows }
    sql: SELECT g AS n, repeat('x', 30) AS filler FROM generate_series(1, :upto) g
  - alias: echo
    title: Echo
    arguments:
      - { name: text, type: string }
    sql: SELECT :text AS echoed, length(:text) AS length, (SELECT count(*) FROM pg_class WHERE relname = 'jots') AS jots_tables
"#;

const ACTIONS: &str = r#"
actions:
  - alias: remember
    title: Remember a note
    confirm: true
    arguments:
      - { name: note, type: string }
      - { name: mode, type: enum, choices: [fast, safe] }
      - { name: password, type: secret }
    steps:
      - { name: table, sql: "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text, mode text)" }
      - { name: insert, sql: "INSERT INTO notes (body, mode) VALUES (:note, :mode) RETURNING id, body, mode" }
      - { name: echo, shell: "echo \"password is $PG_ARG_PASSWORD\"" }
  - alias: nap
    title: Nap
    steps:
      - { name: sleep, sql: "SELECT pg_sleep(60)" }
"#;

/// The service's config: the catalog, a link and the admins of `target`.
fn config(ctx: &Ctx, target: &str) -> String {
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [1]
catalog: {{ views: views.yaml, actions: actions.yaml }}
links:
  - {{ alertname: PostgresReplicationLag, views: [numbers] }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}, 2101, 2102, 2103, 2104, 2105, 2106] }}
"#
    )
}

/// The service these tests run (`support::Service`), with their helpers.
type World = Service;

impl World {
    async fn start() -> Option<World> {
        let files = [("views.yaml", VIEWS), ("actions.yaml", ACTIONS)];
        Service::start_administering(&files, config).await
    }

    fn say(&self, user: i64, text: &str) {
        self.telegram
            .push_update(text_update(user, None, user, text));
    }

    /// The newest message in the chat containing `needle`, once there is one.
    async fn message(&self, chat: i64, needle: &str) -> SentMessage {
        self.telegram.newest_containing(chat, needle, WAIT).await
    }

    /// `/views` or `/actions` as `user`, then a press on the item titled `item`.
    async fn open(&self, user: i64, kind: &str, item: &str) {
        self.say(user, &format!("/{kind}"));
        let list = self.message(user, &format!("main</b>: {kind}")).await;
        self.press(user, &list, item).await;
    }

    /// Presses the button whose label contains `label` on `message`.
    async fn press(&self, user: i64, message: &SentMessage, label: &str) -> String {
        let data = buttons(message)
            .into_iter()
            .find(|(l, _)| l.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", message.reply_markup))
            .1;
        self.press_data(user, message, &data).await
    }

    async fn press_data(&self, user: i64, message: &SentMessage, data: &str) -> String {
        self.buttons_recorded(message).await;
        self.telegram.press(user, None, message, data, WAIT).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_asks_for_its_argument_pages_and_exports_csv() {
    let Some(world) = World::start().await else {
        return;
    };
    world.open(ADMIN, "views", "Numbers").await;
    world.message(ADMIN, "<b>upto</b> (int)").await;
    world.say(ADMIN, "lots");
    world.message(ADMIN, "not a whole number").await;
    world.say(ADMIN, "60");
    let first = world.message(ADMIN, "Numbers · main").await;
    assert!(first.text.contains("rows 1–"), "{}", first.text);
    assert!(
        first.text.contains("+"),
        "more rows than this page were not all read: {}",
        first.text
    );
    world.press(ADMIN, &first, "▶").await;
    let second = world.message(ADMIN, "rows 2").await;
    assert_eq!(second.message_id, first.message_id, "paging edits in place");
    world.press(ADMIN, &second, "CSV").await;
    let document = world.message(ADMIN, "document:").await;
    let lines: Vec<&str> = document.text.lines().collect();
    assert_eq!(lines[1], "n,filler");
    assert_eq!(lines.len(), 2 + 60);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_confirms_runs_and_never_shows_its_secret() {
    let Some(world) = World::start().await else {
        return;
    };
    world.open(ADMIN, "actions", "Remember a note").await;
    world.message(ADMIN, "<b>note</b> (string)").await;
    let note = "'; DROP TABLE notes; -- $(touch /tmp/postgram-bot-pwned)";
    world.say(ADMIN, note);
    let mode = world.message(ADMIN, "<b>mode</b> (enum)").await;
    world.press(ADMIN, &mode, "safe").await;
    world.message(ADMIN, "<b>password</b> (secret)").await;
    world.say(ADMIN, SECRET);
    let confirm = world.message(ADMIN, "Run <b>Remember a note</b>").await;
    assert!(confirm.text.contains("••••••"), "{}", confirm.text);
    assert!(
        world.telegram.calls_to("deleteMessage").len() == 1,
        "the message holding the secret is deleted"
    );
    world.press(ADMIN, &confirm, "Run").await;
    let done = world.message(ADMIN, "✅ <b>Remember a note</b>").await;
    assert!(done.text.contains("safe"), "{}", done.text);
    assert!(done.text.contains("password is ••••••"), "{}", done.text);
    for message in world.telegram.messages(ADMIN) {
        assert!(
            !message.text.contains(SECRET),
            "the secret reached the chat: {}",
            message.text
        );
    }
    let mut conn = sqlx::PgConnection::connect(&world.target().url)
        .await
        .unwrap();
    let body: String = sqlx::query_scalar("SELECT body FROM notes")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(body, note, "stored as data");
    assert!(!std::path::Path::new("/tmp/postgram-bot-pwned").exists());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_action() {
    let Some(world) = World::start().await else {
        return;
    };
    world.open(ADMIN, "actions", "Nap").await;
    let running = world.message(ADMIN, "⏳ <b>Nap</b>").await;
    let answer = world.press(ADMIN, &running, "Cancel").await;
    assert_eq!(answer, "Cancelling…");
    let stopped = world.message(ADMIN, "⏹ <b>Nap</b>").await;
    assert!(
        stopped.text.contains("cancelled at step 1"),
        "{}",
        stopped.text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_list_run_or_press_anything() {
    let Some(world) = World::start().await else {
        return;
    };
    world.say(STRANGER, "/views");
    world.message(STRANGER, "Sorry").await;
    let refusal = world.telegram.messages(STRANGER).pop().unwrap();
    for data in ["vp:0:0", "ap:0:0", "vd:0", "stop:0:1", "pg:1:0", "csv:1"] {
        let answer = world.press_data(STRANGER, &refusal, data).await;
        assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
    }
    assert_eq!(
        world.telegram.messages(STRANGER).len(),
        1,
        "nothing but the refusal"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_carry_buttons_to_their_views() {
    let Some(world) = World::start().await else {
        return;
    };
    world.app.post_webhook(&fixture("1.json")).await;
    let alert = world.message(ADMIN, "PostgresReplicationLag").await;
    world.press(ADMIN, &alert, "Numbers").await;
    world.message(ADMIN, "<b>upto</b> (int)").await;
    world.say(ADMIN, "3");
    let table = world.message(ADMIN, "Numbers · main").await;
    assert!(table.text.contains("rows 1–3 of 3"), "{}", table.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_survives_a_restart() {
    let Some(world) = World::start().await else {
        return;
    };
    world.open(ADMIN, "views", "Numbers").await;
    world.message(ADMIN, "<b>upto</b> (int)").await;
    let world = world.restart().await;
    world.say(ADMIN, "4");
    let table = world.message(ADMIN, "Numbers · main").await;
    assert!(table.text.contains("rows 1–4 of 4"), "{}", table.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_attempts_typed_in_chat_stay_data() {
    let Some(world) = World::start().await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&world.target().url)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE jots (body text)")
        .execute(&mut conn)
        .await
        .unwrap();
    let corpus = [
        "'; DROP TABLE jots; --",
        "\"; DROP TABLE jots; --",
        "$(touch /tmp/postgram-chat-pwned)",
        "`touch /tmp/postgram-chat-pwned`",
        "line one\nline two; DROP TABLE jots",
        &"long".repeat(1000),
    ];
    // One admin per value, each in their own chat, so the runs go in parallel.
    for (i, value) in corpus.iter().enumerate() {
        let admin = 2101 + i as i64;
        world.open(admin, "views", "Echo").await;
        world.message(admin, "<b>text</b> (string)").await;
        world.say(admin, value);
    }
    for (i, value) in corpus.iter().enumerate() {
        let admin = 2101 + i as i64;
        let table = world.message(admin, "Echo · main").await;
        let shown: String = value
            .chars()
            .take(20)
            .collect::<String>()
            .replace('\n', " ");
        let escaped = shown
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(
            table.text.contains(&escaped),
            "{value:?} echoed as data: {}",
            table.text
        );
        assert!(
            table.text.contains("│ 1"),
            "the jots table survived: {}",
            table.text
        );
    }
    // A NUL byte is refused by the argument itself and asked for again.
    world.open(2106, "views", "Echo").await;
    world.message(2106, "<b>text</b> (string)").await;
    world.say(2106, "nul\u{0}byte");
    world.message(2106, "must not contain a NUL").await;
    assert!(!std::path::Path::new("/tmp/postgram-chat-pwned").exists());
    world.stop().await;
}
