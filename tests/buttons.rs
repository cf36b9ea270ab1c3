//! A button works only where the bot put it: presses with forged data, or with data copied from
//! another message, are refused and change no message. Through the fake Bot API, with the real
//! PostgreSQL as the administered database.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::service::Ctx;
use support::{Service, alert, button_token, notification};

const OWNER: i64 = 1;
const ADMIN: i64 = 2000;
/// `main`'s team group.
const GROUP: i64 = -100_500;
const WAIT: Duration = Duration::from_secs(20);

const VIEWS: &str = r#"
views:
  - alias: numbers
    title: Numbers
    arguments:
      - { name: upto, type: int, min: 1, max: 100000 }
    sql: SELECT g AS n, repeat('x', 30) AS filler FROM generate_series(1, :upto) g
"#;

const ACTIONS: &str = r#"
actions:
  - alias: touch
    title: Touch
    steps:
      - { name: one, sql: "SELECT 1 AS touched" }
"#;

fn config(ctx: &Ctx, target: &str) -> String {
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [{OWNER}]
catalog: {{ views: views.yaml, actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}], chat: {GROUP} }}
"#
    )
}

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

    async fn message(&self, chat: i64, needle: &str) -> SentMessage {
        self.telegram.newest_containing(chat, needle, WAIT).await
    }

    async fn press(&self, user: i64, message: &SentMessage, data: &str) -> String {
        self.telegram.press(user, None, message, data, WAIT).await
    }

    /// The data of the button labelled `label` on `message`.
    fn data_of(message: &SentMessage, label: &str) -> String {
        buttons(message)
            .into_iter()
            .find(|(l, _)| l.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", message.reply_markup))
            .1
    }

    async fn state_scalar(&self, sql: &str) -> i64 {
        let mut db = sqlx::SqliteConnection::connect(&self.state.url)
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut db).await.unwrap()
    }

    /// A message as it stands now.
    fn current(&self, message: &SentMessage) -> Option<SentMessage> {
        self.telegram
            .messages(message.chat_id)
            .into_iter()
            .find(|m| m.message_id == message.message_id)
    }

    /// An alert of `main`: its message in the group and in the admin's private chat.
    async fn alert(&self) -> (SentMessage, SentMessage) {
        let firing = notification(
            "firing",
            vec![alert(
                "buttonsfp",
                "firing",
                "2026-01-01T00:00:00Z",
                json!({ "alertname": "ButtonsAlert", "cluster": "main", "severity": "critical" }),
            )],
        );
        assert_eq!(self.app.post_webhook(&firing).await.0, 200);
        (
            self.message(GROUP, "ButtonsAlert").await,
            self.message(ADMIN, "ButtonsAlert").await,
        )
    }

    /// A page of the `numbers` view in the admin's chat, and the id of its dialogue.
    async fn view_page(&self) -> (SentMessage, i64) {
        self.say(ADMIN, "/views");
        let list = self.message(ADMIN, "main</b>: views").await;
        self.press(ADMIN, &list, &World::data_of(&list, "Numbers"))
            .await;
        self.message(ADMIN, "<b>upto</b>").await;
        self.say(ADMIN, "60");
        let page = self.message(ADMIN, "Numbers · main").await;
        let dialogue = self.state_scalar("SELECT max(id) FROM dialogues").await;
        (page, dialogue)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_foreign_presses_are_refused_and_change_no_message() {
    let Some(world) = World::start().await else {
        return;
    };
    let (group_alert, private_alert) = world.alert().await;
    let (page, dialogue) = world.view_page().await;
    let next_page = World::data_of(&page, "▶");
    let refused_before = world
        .state_scalar("SELECT count(*) FROM audit_log WHERE action = 'refused'")
        .await;

    // Payloads the bot writes, sent raw or as the token the bot would give them, on messages that
    // never carried them; and a real button copied from the page onto the alerts.
    let payloads = [
        "th".to_owned(),
        "inc:-:-".to_owned(),
        format!("pg:{dialogue}:1"),
        format!("csv:{dialogue}"),
        "alerts".to_owned(),
    ];
    let mut forged: Vec<String> = payloads.to_vec();
    forged.extend(payloads.iter().map(|p| button_token(p)));
    forged.push(next_page.clone());
    let mut presses = 0;
    for message in [&group_alert, &private_alert] {
        for data in &forged {
            let answer = world.press(ADMIN, message, data).await;
            assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
            presses += 1;
        }
    }
    // Out-of-range numbers on the very message whose dialogue they name.
    for data in [
        format!("pg:{dialogue}:9223372036854775807"),
        format!("pg:{dialogue}:99999999999999999999999"),
        format!("dc:{dialogue}:-1"),
    ] {
        let answer = world.press(ADMIN, &page, &data).await;
        assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
        presses += 1;
    }

    // The refusals are on record (at least once: refusals may be audited once a minute per person),
    // and every message stands as the bot left it.
    let refused = world
        .state_scalar("SELECT count(*) FROM audit_log WHERE action = 'refused'")
        .await;
    assert!(presses > 0 && refused > refused_before, "{refused}");
    for message in [&group_alert, &private_alert, &page] {
        assert_eq!(world.current(message).as_ref(), Some(message), "changed");
    }
    assert!(world.telegram.calls_to("deleteMessage").is_empty());
    assert!(world.telegram.calls_to("sendDocument").is_empty());

    // The page's own button still works where the bot put it.
    world.press(ADMIN, &page, &next_page).await;
    let second = world.message(ADMIN, "rows 2").await;
    assert_eq!(second.message_id, page.message_id);
    world.stop().await;
}
