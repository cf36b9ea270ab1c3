//! The service as the end-to-end tests run it: a state store of its own, the fake Bot API server, the
//! files its config names (a catalog) and `app::start` on port 0. A test file adds only what is its
//! own: the config text and its helpers (in an `impl` of its own on `Service`, aliased as `World`).

use std::collections::BTreeSet;
use std::path::Path;

use postgram::config::Config;
use serde_json::Value;

use super::fake_telegram::{FakeTelegram, SentMessage, buttons};
use super::{BOT_TOKEN, Backend, TestApp, TestState, WEBHOOK_TOKEN};

/// What a test's config text is made from.
pub struct Ctx<'a> {
    /// The fake Bot API server, for `telegram.api_url`.
    pub api_url: String,
    /// The `state:` value.
    pub state_url: &'a str,
    /// For `http.webhook_token`.
    pub webhook_token: &'static str,
    /// Where the config and the files written beside it are.
    pub dir: &'a Path,
}

impl Ctx<'_> {
    /// The lines most configs here start with: the fake as the Bot API (bot token [`BOT_TOKEN`]), a free
    /// port, the webhook token, the test's state.
    pub fn head(&self) -> String {
        let Ctx {
            api_url,
            state_url,
            webhook_token,
            ..
        } = self;
        format!(
            r#"telegram: {{ token: "{BOT_TOKEN}", api_url: "{api_url}" }}
http: {{ listen: "127.0.0.1:0", webhook_token: "{webhook_token}" }}
state: "{state_url}""#
        )
    }
}

/// The running service, its state and the fake Telegram it talks to.
pub struct Service {
    pub state: TestState,
    pub app: TestApp,
    pub telegram: FakeTelegram,
    /// What it was started with (`restart` starts it again with the same).
    pub config: Config,
    /// The database it administers, when started by `start_administering`.
    target: Option<TestState>,
}

impl Service {
    /// Writes each `(file name, contents)` of `write` into the state's directory, then starts the
    /// service with the config text `config` makes. `None` when the state wants PostgreSQL and the person
    /// asked to skip it.
    pub async fn start_with(
        backend: Backend,
        write: &[(&str, &str)],
        config: impl FnOnce(&Ctx<'_>) -> String,
    ) -> Option<Service> {
        let state = TestState::new(backend).await?;
        Some(Service::launch(state, None, write, config).await)
    }

    /// Like `start_with`, the state on SQLite, administering a fresh PostgreSQL database (`target`),
    /// whose URL `config` gets too. `None` when the person asked to skip PostgreSQL.
    pub async fn start_administering(
        write: &[(&str, &str)],
        config: impl FnOnce(&Ctx<'_>, &str) -> String,
    ) -> Option<Service> {
        let state = TestState::new(Backend::Sqlite).await?;
        let target = TestState::new(Backend::Postgres).await?;
        let url = target.url.clone();
        Some(Service::launch(state, Some(target), write, |ctx| config(ctx, &url)).await)
    }

    async fn launch(
        state: TestState,
        target: Option<TestState>,
        write: &[(&str, &str)],
        config: impl FnOnce(&Ctx<'_>) -> String,
    ) -> Service {
        let telegram = FakeTelegram::start().await;
        let dir = state.dir.path();
        for (name, contents) in write {
            std::fs::write(dir.join(name), contents).expect("write a file beside the config");
        }
        let text = config(&Ctx {
            api_url: telegram.api_url(),
            state_url: &state.url,
            webhook_token: WEBHOOK_TOKEN,
            dir,
        });
        // On disk as well: a reload reads it again.
        let path = dir.join("postgram.yaml");
        std::fs::write(&path, &text).expect("write the config");
        let config =
            Config::from_text(&text, &path, &|_| None).expect("the test's config is valid");
        let app = TestApp::start(config.clone()).await;
        Service {
            state,
            app,
            telegram,
            config,
            target,
        }
    }

    /// What the config text was made from, for the text of a reload.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            api_url: self.telegram.api_url(),
            state_url: &self.state.url,
            webhook_token: WEBHOOK_TOKEN,
            dir: self.state.dir.path(),
        }
    }

    /// Writes `text` over the config file (and `(file name, contents)` beside it), then asks the
    /// service to reload with `token`: the answer's status and body.
    pub async fn reload(&self, token: &str, text: &str, write: &[(&str, &str)]) -> (u16, Value) {
        let dir = self.state.dir.path();
        for (name, contents) in write {
            std::fs::write(dir.join(name), contents).expect("write a file beside the config");
        }
        std::fs::write(dir.join("postgram.yaml"), text).expect("write the config");
        let response = self
            .app
            .client
            .post(format!("{}/-/reload", self.app.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The database the service administers (started by `start_administering`).
    pub fn target(&self) -> &TestState {
        self.target
            .as_ref()
            .expect("the service was started by start_administering")
    }

    /// The first column of each row of `sql` on the service's own state, as text.
    pub async fn state_sql(&self, sql: &str) -> Vec<String> {
        use sqlx::Connection;
        let rows: Vec<(String,)> = match self.state.backend {
            Backend::Sqlite => {
                let mut db = sqlx::SqliteConnection::connect(&self.state.url)
                    .await
                    .expect("open the state");
                sqlx::query_as(sql).fetch_all(&mut db).await
            }
            Backend::Postgres => {
                let mut db = sqlx::PgConnection::connect(&self.state.url)
                    .await
                    .expect("open the state");
                sqlx::query_as(sql).fetch_all(&mut db).await
            }
        }
        .expect("query the state");
        rows.into_iter().map(|(text,)| text).collect()
    }

    /// The first message in `chat` from position `before` on that contains `needle`, once there is one.
    pub async fn message_after(&self, chat: i64, before: usize, needle: &str) -> SentMessage {
        let what = format!("a new message with {needle:?} in chat {chat}");
        self.telegram
            .wait_for(&what, std::time::Duration::from_secs(30), |t| {
                let mut messages = t.messages(chat).into_iter().skip(before);
                messages.find(|m| m.text.contains(needle))
            })
            .await
    }

    /// Presses, as `user`, the first button of `message` whose label contains `label`, once its buttons
    /// are recorded; returns the text the press was answered with.
    pub async fn press_labelled(&self, user: i64, message: &SentMessage, label: &str) -> String {
        let data = buttons(message)
            .into_iter()
            .find(|(l, _)| l.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", message.reply_markup))
            .1;
        self.buttons_recorded(message).await;
        let limit = std::time::Duration::from_secs(30);
        self.telegram.press(user, None, message, &data, limit).await
    }

    /// Waits until the buttons of `message`, as it stands now, and no others are recorded in the state
    /// store: the service records them once Telegram answered the send or edit, a moment after the
    /// fake shows the message, and a press before that is refused (or, after an edit, still honoured).
    pub async fn buttons_recorded(&self, message: &SentMessage) {
        let what = format!(
            "the buttons of message {} to be recorded",
            message.message_id
        );
        super::eventually(&what, std::time::Duration::from_secs(20), || async {
            let current = self
                .telegram
                .messages(message.chat_id)
                .into_iter()
                .find(|m| m.message_id == message.message_id);
            let tokens: BTreeSet<String> = current.iter().flat_map(buttons).map(|b| b.1).collect();
            let recorded = self
                .state_sql(&format!(
                    "SELECT token FROM buttons WHERE chat_id = {} AND message_id = {} AND created_at > 0",
                    message.chat_id, message.message_id
                ))
                .await;
            // Equal, not merely included: after an edit that dropped a button, its token is still
            // recorded until the service has recorded the edit. Buttons a test planted (recorded
            // at time 0) are not the service's.
            (tokens == recorded.into_iter().collect()).then_some(())
        })
        .await;
    }

    /// Moves the service's clock forward by `by` once the outbox has settled: no job or Telegram feed
    /// due by now is still open. (Work in flight across the jump would see its lease lapse and be
    /// performed twice.)
    pub async fn advance(&self, by: std::time::Duration) {
        super::eventually(
            "the outbox to settle",
            std::time::Duration::from_secs(30),
            || async {
                let now = self.app.clock.now().timestamp_millis();
                let open = self
                    .state_sql(&format!(
                        "SELECT CAST((SELECT COUNT(*) FROM outbox \
                                      WHERE done_at IS NULL AND next_attempt_at <= {now}) \
                                   + (SELECT COUNT(*) FROM telegram_feeds \
                                      WHERE next_attempt_at <= {now} OR lease_owner IS NOT NULL) \
                                 AS TEXT)"
                    ))
                    .await;
                (open == ["0"]).then_some(())
            },
        )
        .await;
        self.app.clock.advance(by);
    }

    /// Stops the service and starts it again on the same state.
    pub async fn restart(mut self) -> Service {
        let clock = self.app.clock.clone();
        self.app.stop().await;
        self.app = TestApp::start_on(self.config.clone(), clock).await;
        self
    }

    /// Stops the service and drops its databases.
    pub async fn stop(self) {
        self.app.stop().await;
        if let Some(target) = self.target {
            target.cleanup().await;
        }
        self.state.cleanup().await;
    }
}
