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
  - alias: mainonly
    title: Main only
    databases: [main]
    arguments:
      - name: mode
        type: string
        choices_sql: "SELECT 'x' AS value, 'offered by ' || current_database() AS label"
    sql: SELECT :mode AS mode
"#;

/// `touch` runs at once when started from a list: it does not ask for confirmation itself.
const ACTIONS: &str = r#"
actions:
  - alias: touch
    title: Touch
    databases: [main]
    arguments:
      - { name: cluster, type: string }
    steps:
      - { name: one, sql: "SELECT :cluster AS touched" }
"#;

fn config(ctx: &Ctx, target: &str) -> String {
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [{OWNER}]
catalog: {{ views: views.yaml, actions: actions.yaml }}
links:
  - {{ alertname: ButtonsAlert, actions: [touch] }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}], chat: {GROUP} }}
  - {{ name: other, dsn: "{target}", match: {{ cluster: other }}, admins: [{ADMIN}] }}
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
        self.buttons_recorded(message).await;
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

    fn data_of_opt(message: &SentMessage, label: &str) -> Option<String> {
        buttons(message)
            .into_iter()
            .find(|(l, _)| l.contains(label))
            .map(|b| b.1)
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

    /// A firing alert of `cluster`, and its incident.
    async fn fire(&self, cluster: &str) -> i64 {
        let firing = notification(
            "firing",
            vec![alert(
                &format!("buttons-{cluster}"),
                "firing",
                "2026-01-01T00:00:00Z",
                json!({ "alertname": "ButtonsAlert", "cluster": cluster, "severity": "critical" }),
            )],
        );
        let (status, answer) = self.app.post_webhook(&firing).await;
        assert_eq!(status, 200);
        answer["alerts"][0]["incident"].as_i64().unwrap()
    }

    /// An alert of `main`: its message in the group and in the admin's private chat.
    async fn alert(&self) -> (SentMessage, SentMessage) {
        self.fire("main").await;
        (
            self.message(GROUP, "ButtonsAlert").await,
            self.message(ADMIN, "ButtonsAlert").await,
        )
    }

    /// The list of views or actions of `database`, through the database picker.
    async fn items_of(&self, kind: &str, database: &str) -> SentMessage {
        self.say(ADMIN, &format!("/{kind}"));
        let picker = self.message(ADMIN, "Which database?").await;
        self.press(ADMIN, &picker, &World::data_of(&picker, database))
            .await;
        self.message(ADMIN, &format!("{database}</b>: {kind}"))
            .await
    }

    /// Presses a button meaning `payload` on `message`, recorded in the state store as if the bot
    /// had put it there: what is behind the button check answers.
    async fn press_planted(&self, message: &SentMessage, payload: &str) -> String {
        // The message's own buttons first, so that the service's recording cannot replace the plant.
        self.buttons_recorded(message).await;
        let token = button_token(payload);
        let mut db = sqlx::SqliteConnection::connect(&self.state.url)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO buttons (chat_id, message_id, token, payload, created_at) \
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(message.chat_id)
        .bind(message.message_id)
        .bind(&token)
        .bind(payload)
        .execute(&mut db)
        .await
        .unwrap();
        self.telegram
            .press(ADMIN, None, message, &token, WAIT)
            .await
    }

    /// A page of the `numbers` view in the admin's chat, and the id of its dialogue.
    async fn view_page(&self) -> (SentMessage, i64) {
        let list = self.items_of("views", "main").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_from_an_alert_always_asks_for_confirmation_with_its_labels() {
    let Some(world) = World::start().await else {
        return;
    };
    let (_, private_alert) = world.alert().await;
    world
        .press(
            ADMIN,
            &private_alert,
            &World::data_of(&private_alert, "Touch"),
        )
        .await;
    let confirm = world
        .message(ADMIN, "Run <b>Touch</b> on <b>main</b>?")
        .await;
    assert!(
        confirm.text.contains("cluster: <code>main</code>"),
        "{}",
        confirm.text
    );
    assert!(
        world
            .telegram
            .messages(ADMIN)
            .iter()
            .all(|m| !m.text.contains("touched") && !m.text.contains("starting")),
        "nothing ran before the confirmation"
    );
    world
        .press(ADMIN, &confirm, &World::data_of(&confirm, "Run"))
        .await;
    world.message(ADMIN, "touched").await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_an_item_runs_on_a_database_that_does_not_offer_it() {
    let Some(world) = World::start().await else {
        return;
    };
    let list = world.items_of("views", "other").await;
    assert!(
        !buttons(&list).iter().any(|(label, _)| label == "Main only"),
        "{:?}",
        list.reply_markup
    );
    world.fire("other").await;
    let other_alert = world.message(ADMIN, "ButtonsAlert").await;
    assert!(
        World::data_of_opt(&other_alert, "Touch").is_none(),
        "no link to an action other does not offer"
    );
    let incident = world.state_scalar("SELECT max(id) FROM incidents").await;

    // Forged: `mainonly` on `other`, `touch` from other's alert (as today's main and the next
    // service write them: by position, and by name).
    for (message, data) in [
        (&list, "vp:1:1".to_owned()),
        (&other_alert, format!("la:{incident}:0")),
        (&list, "vp:other:mainonly".to_owned()),
        (&other_alert, format!("la:{incident}:touch")),
    ] {
        let answer = world.press(ADMIN, message, &data).await;
        assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
    }
    // Even where the bot had put such a button (a config changed under it), nothing runs.
    for (message, payload) in [
        (&list, "vp:other:mainonly".to_owned()),
        (&other_alert, format!("la:{incident}:touch")),
    ] {
        world.press_planted(message, &payload).await;
        world.message(ADMIN, "not offered on <b>other</b>").await;
    }
    let everything: Vec<String> = world
        .telegram
        .messages(ADMIN)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert!(
        !everything.iter().any(|t| t.contains("<b>mode</b>")
            || t.contains("<b>cluster</b>")
            || t.contains("touched")),
        "{everything:?}"
    );
    assert!(
        world.telegram.messages(ADMIN).iter().all(|m| !buttons(m)
            .iter()
            .any(|(label, _)| label.contains("offered by"))),
        "choices_sql ran"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_button_acts_on_the_database_and_item_it_named_after_the_config_changed() {
    let Some(mut world) = World::start().await else {
        return;
    };
    let list = world.items_of("views", "other").await;
    let numbers = World::data_of(&list, "Numbers");
    // The databases and the views swap places in the config and the catalogue.
    world.config.databases.reverse();
    let views = world.state.dir.path().join("views.yaml");
    let (head, tail) = VIEWS.split_at(VIEWS.find("  - alias: mainonly").unwrap());
    std::fs::write(
        &views,
        format!("views:\n{tail}{}", &head["\nviews:\n".len()..]),
    )
    .unwrap();
    let world = world.restart().await;

    world.press(ADMIN, &list, &numbers).await;
    world.message(ADMIN, "<b>upto</b>").await;
    let dialogue = {
        let mut db = sqlx::SqliteConnection::connect(&world.state.url)
            .await
            .unwrap();
        sqlx::query_as::<_, (String, String)>("SELECT database_name, alias FROM dialogues")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert_eq!(dialogue, ("other".to_owned(), "numbers".to_owned()));
    world.stop().await;
}
