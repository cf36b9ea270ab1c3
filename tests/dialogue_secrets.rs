//! Typed secrets never reach the state store: during a dialogue they are held in memory only (so a
//! restart asks for them again), and abandoned dialogues are deleted. On SQLite and PostgreSQL alike.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::time::Duration;

use sqlx::{Connection, Row};
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::service::Ctx;
use support::{BOT_TOKEN, Backend, Service, TestState, eventually};

const ADMIN: i64 = 2000;
const SECRET: &str = "Typed-Secret-Never-Stored-42";
const WAIT: Duration = Duration::from_secs(20);

const ACTIONS: &str = r#"
actions:
  - alias: remember
    title: Remember a note
    confirm: true
    arguments:
      - { name: note, type: string }
      - { name: password, type: secret }
    steps:
      - { name: echo, shell: "echo \"noted $PG_ARG_NOTE\"" }
"#;

on_both_backends!(
    a_typed_secret_leaves_no_trace_in_the_store_and_is_asked_again_after_a_restart,
    an_abandoned_dialogue_is_deleted,
);

/// The config, with `extra` added to the `telegram` section.
fn config(ctx: &Ctx<'_>, target: &str, extra: &str) -> String {
    let Ctx {
        api_url,
        state_url,
        webhook_token,
        ..
    } = ctx;
    format!(
        r#"
telegram: {{ token: "{BOT_TOKEN}", api_url: "{api_url}"{extra} }}
http: {{ listen: "127.0.0.1:0", webhook_token: "{webhook_token}" }}
state: "{state_url}"
owners: [1]
catalog: {{ actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}] }}
"#
    )
}

struct World {
    service: Service,
    target: TestState,
}

impl World {
    async fn start(backend: Backend, extra: &str) -> Option<World> {
        let target = TestState::new(Backend::Postgres).await?;
        let url = target.url.clone();
        let service = Service::start_with(backend, &[("actions.yaml", ACTIONS)], |ctx| {
            config(ctx, &url, extra)
        })
        .await?;
        Some(World { service, target })
    }

    fn say(&self, text: &str) {
        self.service
            .telegram
            .push_update(text_update(ADMIN, None, ADMIN, text));
    }

    async fn message(&self, needle: &str) -> SentMessage {
        self.service
            .telegram
            .newest_containing(ADMIN, needle, WAIT)
            .await
    }

    async fn press(&self, message: &SentMessage, label: &str) {
        let data = buttons(message)
            .into_iter()
            .find(|(l, _)| l.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", message.reply_markup))
            .1;
        self.service
            .telegram
            .press(ADMIN, None, message, &data, WAIT)
            .await;
    }

    /// Every row of every table of the state store, as text (and for SQLite, the raw bytes of the
    /// database file and its write-ahead log as well).
    async fn store_contents(&self) -> String {
        let state = &self.service.state;
        let mut all = String::new();
        match state.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal"] {
                    let path = format!("{}{suffix}", state.sqlite_path().display());
                    if let Ok(bytes) = std::fs::read(&path) {
                        all.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                let mut conn = sqlx::SqliteConnection::connect(&state.url).await.unwrap();
                let tables: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                for table in tables {
                    for row in sqlx::query(&format!("SELECT * FROM \"{table}\""))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap()
                    {
                        for i in 0..row.len() {
                            let text: Option<String> = row.try_get(i).ok().flatten();
                            all.push_str(&text.unwrap_or_default());
                            all.push('\n');
                        }
                    }
                }
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&state.url).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for table in tables {
                    let rows: Option<String> = sqlx::query_scalar(&format!(
                        "SELECT string_agg(t::text, E'\\n') FROM \"{table}\" t"
                    ))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                    all.push_str(&rows.unwrap_or_default());
                }
            }
        }
        all
    }

    async fn dialogues(&self) -> i64 {
        let state = &self.service.state;
        let sql = "SELECT count(*) FROM dialogues";
        match state.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&state.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&state.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    async fn stop(self) {
        self.service.stop().await;
        self.target.cleanup().await;
    }
}

async fn a_typed_secret_leaves_no_trace_in_the_store_and_is_asked_again_after_a_restart(
    backend: Backend,
) {
    let Some(mut world) = World::start(backend, "").await else {
        return;
    };
    world.say("/actions");
    let list = world.message("main</b>: actions").await;
    world.press(&list, "Remember a note").await;
    world.message("<b>note</b> (string)").await;
    world.say("groceries");
    world.message("<b>password</b> (secret)").await;
    world.say(SECRET);
    let confirm = world.message("Run <b>Remember a note</b>").await;
    let contents = world.store_contents().await;
    assert!(
        contents.contains("groceries"),
        "the dump sees the dialogue's other values"
    );
    assert!(
        !contents.contains(SECRET),
        "the typed secret is in the state store"
    );

    // The secret was in this process's memory only: after a restart, Run asks for it again.
    world.service = world.service.restart().await;
    world.press(&confirm, "Run").await;
    eventually("the secret asked for again", WAIT, || async {
        let asked = world
            .service
            .telegram
            .messages(ADMIN)
            .iter()
            .filter(|m| m.text.contains("<b>password</b> (secret)"))
            .count();
        (asked == 2).then_some(())
    })
    .await;
    world.say(SECRET);
    let confirm = world.message("Run <b>Remember a note</b>").await;
    world.press(&confirm, "Run").await;
    let done = world.message("✅ <b>Remember a note</b>").await;
    assert!(done.text.contains("noted groceries"), "{}", done.text);
    assert!(!world.store_contents().await.contains(SECRET));
    world.stop().await;
}

async fn an_abandoned_dialogue_is_deleted(backend: Backend) {
    let Some(world) = World::start(backend, ", dialogue_ttl: 10m").await else {
        return;
    };
    world.say("/actions");
    let list = world.message("main</b>: actions").await;
    world.press(&list, "Remember a note").await;
    world.message("<b>note</b> (string)").await;
    assert_eq!(world.dialogues().await, 1);
    world.service.advance(Duration::from_secs(600)).await;
    eventually("the abandoned dialogue deleted", WAIT, || async {
        (world.dialogues().await == 0).then_some(())
    })
    .await;
    world.stop().await;
}
