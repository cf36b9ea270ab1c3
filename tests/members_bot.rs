//! Managing members from Telegram, end to end: `/admins` and its buttons, Telegram's pick-a-person
//! keyboard, one-time invite links, and what a membership change does at once (welcome, the firing
//! incidents, announcements, a removed admin's pending action refused). The service runs through
//! `app::start` against the fake Bot API, its state on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_telegram::{
    BOT_USERNAME, FakeTelegram, SentMessage, buttons, reply_update, text_update,
    users_shared_update,
};
use support::service::Ctx;
use support::{Backend, Service, alert, notification};
use teloxide::prelude::*;
use teloxide::types::UpdateKind;

const OWNER: i64 = 1000;
/// `main`'s admin in the config.
const ADMIN: i64 = 2000;
/// `main`'s viewer in the config.
const VIEWER: i64 = 2500;
/// `billing`'s viewer in the config (and nothing on `main` to begin with).
const FRANK: i64 = 5100;
const BOB: i64 = 4000;
const CAROL: i64 = 4100;
const DAVE: i64 = 4200;
const EVE: i64 = 5000;
const MALLORY: i64 = 9000;
const WAIT: Duration = Duration::from_secs(30);
const ALERT: &str = "MembersTestDiskFull";
const REFUSAL: &str = "Sorry, this bot serves";

const ACTIONS: &str = r#"
actions:
  - alias: ping
    title: Ping
    confirm: true
    steps:
      - { name: one, sql: "SELECT 1" }
"#;

/// Everyone's username, as their updates carry it.
fn username(user: i64) -> Option<&'static str> {
    match user {
        OWNER => Some("boss_1"),
        BOB => Some("bobby_b"),
        CAROL => Some("carol_c"),
        DAVE => Some("dave_d"),
        EVE => Some("eve_e5"),
        FRANK => Some("frank_f"),
        MALLORY => Some("mallory"),
        _ => None,
    }
}

/// The service's config: members of both databases, and an action to confirm.
fn config(ctx: &Ctx) -> String {
    // The administered database is only reached by an action that runs; none should here.
    let dsn = support::postgres_admin_url();
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [{OWNER}]
catalog: {{ actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{dsn}", match: {{ cluster: main }}, admins: [{ADMIN}], viewers: [{VIEWER}] }}
  - {{ name: billing, dsn: "{dsn}", match: {{ cluster: billing }}, admins: [3000], viewers: [{FRANK}] }}
"#
    )
}

/// The service these tests run (`support::Service`), with their helpers.
type World = Service;

impl World {
    async fn start(backend: Backend) -> Option<World> {
        Service::start_with(backend, &[("actions.yaml", ACTIONS)], config).await
    }

    /// `user` writes `text` in their private chat, and the bot's first new message there that
    /// contains `needle` (an older one with the same words does not count).
    async fn ask(&self, user: i64, text: &str, needle: &str) -> SentMessage {
        let before = self.telegram.messages(user).len();
        let update = text_update(user, username(user), user, text);
        self.telegram.push_update(update);
        self.message_after(user, before, needle).await
    }

    /// The newest message in `chat` containing `needle`, once there is one.
    async fn message(&self, chat: i64, needle: &str) -> SentMessage {
        self.telegram.newest_containing(chat, needle, WAIT).await
    }

    /// `message` once it has been edited again (the bot answers a press before it edits).
    async fn edited(&self, message: &SentMessage) -> SentMessage {
        let what = format!("message {} to be edited", message.message_id);
        self.telegram
            .wait_for(&what, WAIT, |t| {
                let messages = t.messages(message.chat_id).into_iter();
                messages
                    .filter(|m| m.message_id == message.message_id)
                    .find(|m| m.edits > message.edits)
            })
            .await
    }

    /// Presses the button whose label contains `label`, answering with the press's answer.
    async fn press(&self, user: i64, message: &SentMessage, label: &str) -> String {
        let data = buttons(message)
            .into_iter()
            .find(|(l, _)| l.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", buttons(message)))
            .1;
        self.press_data(user, message, &data).await
    }

    async fn press_data(&self, user: i64, message: &SentMessage, data: &str) -> String {
        let who = username(user);
        self.telegram.press(user, who, message, data, WAIT).await
    }

    /// Presses a button meaning `payload` on `message`, recorded in the state store as if the bot
    /// had put it there: what is behind the button check (the role check) answers.
    async fn press_planted(&self, user: i64, message: &SentMessage, payload: &str) -> String {
        // The message's own buttons first, so that the service's recording cannot replace the plant.
        self.buttons_recorded(message).await;
        let token = support::button_token(payload);
        self.state_sql(&format!(
            "INSERT INTO buttons (chat_id, message_id, token, payload, created_at) \
             VALUES ({}, {}, '{token}', '{payload}', 0)",
            message.chat_id, message.message_id
        ))
        .await;
        self.press_data(user, message, &token).await
    }

    /// The owner's member list of `main`: `/admins`, then `main` in the database picker.
    async fn members_of_main(&self) -> SentMessage {
        let picker = self.ask(OWNER, "/admins", "which database?").await;
        assert_eq!(labels(&picker), ["main", "billing"]);
        self.press(OWNER, &picker, "main").await;
        let list = self.edited(&picker).await;
        assert!(list.text.contains("Members of main"), "{}", list.text);
        list
    }

    /// The owner adds `user` to `main` as `role` ("admin", "viewer") with the pick-a-person button.
    async fn add_by_pick(&self, role: &str, user: i64) -> SentMessage {
        let list = self.members_of_main().await;
        let before = self.telegram.messages(OWNER).len();
        self.press(OWNER, &list, &format!("Add {role}")).await;
        let prompt = self.message_after(OWNER, before, "Choose a person").await;
        let request = request_users(&prompt);
        let id = request["request_id"].as_i64().unwrap();
        let before = self.telegram.messages(OWNER).len();
        let shared = users_shared_update(OWNER, username(OWNER), OWNER, id, user, username(user));
        self.telegram.push_update(shared);
        self.message_after(OWNER, before, " of main.").await
    }

    /// The owner creates an invite to `main` as `role` for `@name`; returns the `/start` payload.
    async fn invite(&self, role: &str, name: &str) -> String {
        let list = self.members_of_main().await;
        let before = self.telegram.messages(OWNER).len();
        self.press(OWNER, &list, &format!("Invite {role}")).await;
        let question = self
            .message_after(OWNER, before, "Send the @username")
            .await;
        assert_eq!(
            question.reply_keyboard,
            Some(json!({ "force_reply": true, "input_field_placeholder": "@username" }))
        );
        let before = self.telegram.messages(OWNER).len();
        let update = reply_update(OWNER, username(OWNER), OWNER, question.message_id, name);
        self.telegram.push_update(update);
        let link = self.message_after(OWNER, before, "?start=").await;
        let prefix = format!("https://t.me/{BOT_USERNAME}?start=");
        let payload = link.text.split(&prefix).nth(1).unwrap();
        let payload: String = payload
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        assert!(payload.starts_with("inv_"), "{}", link.text);
        payload
    }

    /// Posts a firing alert of `main` and waits until its admin has it.
    async fn fire_on_main(&self) {
        let labels = json!({ "alertname": ALERT, "cluster": "main", "severity": "critical" });
        let firing = alert("members-bot-1", "firing", "2026-11-22T10:00:00Z", labels);
        let (status, _) = self
            .app
            .post_webhook(&notification("firing", vec![firing]))
            .await;
        assert_eq!(status, 200);
        self.message(ADMIN, ALERT).await;
    }
}

/// The `request_users` object of the prompt's reply keyboard (its only button).
fn request_users(prompt: &SentMessage) -> Value {
    let keyboard = prompt.reply_keyboard.as_ref().expect("a reply keyboard");
    assert_eq!(keyboard["one_time_keyboard"], true, "{keyboard}");
    let rows = keyboard["keyboard"].as_array().unwrap();
    assert_eq!(
        (rows.len(), rows[0].as_array().unwrap().len()),
        (1, 1),
        "{keyboard}"
    );
    keyboard["keyboard"][0][0]["request_users"].clone()
}

/// Labels of a message's buttons.
fn labels(message: &SentMessage) -> Vec<String> {
    buttons(message)
        .into_iter()
        .map(|(label, _)| label)
        .collect()
}

on_both_backends!(
    owners_see_the_members_and_nobody_else_does,
    a_person_picked_in_telegram_becomes_a_viewer,
    an_invite_link_works_once_and_only_for_its_addressee,
    roles_change_and_members_go_by_buttons_config_members_stay,
    a_removed_admin_cannot_confirm_a_pending_action,
    a_russian_owner_manages_members_in_russian,
);

async fn owners_see_the_members_and_nobody_else_does(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let list = world.members_of_main().await;
    assert!(
        list.text.contains("user 2000 · admin · 🔒 config"),
        "{}",
        list.text
    );
    assert!(
        list.text.contains("user 2500 · viewer · 🔒 config"),
        "{}",
        list.text
    );
    assert_eq!(
        labels(&list),
        [
            "➕ Add admin",
            "➕ Add viewer",
            "🔗 Invite admin",
            "🔗 Invite viewer",
            "◀ Databases"
        ],
        "config members have no buttons"
    );
    world.press(OWNER, &list, "◀ Databases").await;
    let picker = world.edited(&list).await;
    assert!(picker.text.contains("which database?"), "{}", picker.text);

    // An admin of main (and a stranger) may not manage members, by command or by forged button.
    let refused = world.ask(ADMIN, "/admins", "Only owners").await;
    for data in [
        "mem:main",
        "ma:main:v",
        "mi:main:a",
        "ms:main:x:user:2500",
        "ms:main:a:user:4000",
    ] {
        let answer = world.press_planted(ADMIN, &refused, data).await;
        if data == "mem:main" {
            // The list press is answered at once; the refusal follows in the chat.
            world.message(ADMIN, "Not allowed").await;
        } else {
            assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
        }
    }
    world.ask(MALLORY, "/admins", REFUSAL).await;
    let answer = world.press_planted(MALLORY, &refused, "ma:main:a").await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    let audit = world
        .state_sql("SELECT action FROM audit_log WHERE action = 'refused'")
        .await;
    // Each person's refusals are audited once a minute at most: the admin's first and Mallory's.
    assert_eq!(audit.len(), 2, "{audit:?}");
    let members = world.state_sql("SELECT member FROM members").await;
    assert!(members.is_empty(), "{members:?}");
    world.stop().await;
}

async fn a_person_picked_in_telegram_becomes_a_viewer(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    world.fire_on_main().await;
    let list = world.members_of_main().await;
    let before = world.telegram.messages(OWNER).len();
    world.press(OWNER, &list, "Add viewer").await;
    let prompt = world.message_after(OWNER, before, "Choose a person").await;
    assert!(prompt.text.contains("fallback email"), "{}", prompt.text);
    let request = request_users(&prompt);
    assert_eq!(request["user_is_bot"], false);
    assert_eq!(request["request_username"], true);
    assert!(
        request.get("max_quantity").is_none_or(|q| q == 1),
        "{request}"
    );

    let id = request["request_id"].as_i64().unwrap();
    let before = world.telegram.messages(OWNER).len();
    let shared = users_shared_update(OWNER, username(OWNER), OWNER, id, BOB, Some("bobby_b"));
    world.telegram.push_update(shared);
    let done = world
        .message_after(OWNER, before, "@bobby_b is now a viewer of main.")
        .await;
    assert_eq!(
        done.reply_keyboard,
        Some(json!({ "remove_keyboard": true }))
    );
    // A pick the bot did not ask for (another request id, as a modified client could send) adds nobody.
    let before = world.telegram.messages(OWNER).len();
    let forged = users_shared_update(OWNER, username(OWNER), OWNER, id + 1, DAVE, Some("dave_d"));
    world.telegram.push_update(forged);
    world.message_after(OWNER, before, "no longer valid").await;

    world
        .message(BOB, "@boss_1 made you a viewer of <b>main</b>")
        .await;
    // A viewer's copy carries no button they could only be refused on; an admin's has them.
    let copy = world.message(BOB, ALERT).await;
    assert!(
        !buttons(&copy)
            .iter()
            .any(|(label, _)| label.contains("Acknowledge") || label.starts_with("🔕")),
        "{:?}",
        buttons(&copy)
    );
    let copy = world.message(ADMIN, ALERT).await;
    assert!(
        buttons(&copy)
            .iter()
            .any(|(label, _)| label.contains("Acknowledge"))
    );
    world
        .message(ADMIN, "@boss_1 added @bobby_b as a viewer of <b>main</b>")
        .await;
    world.ask(BOB, "/whoami", "You view <b>main</b>").await;
    let list = world.members_of_main().await;
    assert!(
        list.text.contains("@bobby_b · viewer · added by @boss_1"),
        "{}",
        list.text
    );
    world.stop().await;
}

async fn an_invite_link_works_once_and_only_for_its_addressee(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    world.fire_on_main().await;
    let list = world.members_of_main().await;
    let before = world.telegram.messages(OWNER).len();
    world.press(OWNER, &list, "Invite admin").await;
    let question = world
        .message_after(OWNER, before, "Send the @username")
        .await;
    assert!(question.text.contains("for 24 hours"), "{}", question.text);
    // A wrong answer is explained, and the question stands.
    let before = world.telegram.messages(OWNER).len();
    let update = reply_update(
        OWNER,
        username(OWNER),
        OWNER,
        question.message_id,
        "not a name!",
    );
    world.telegram.push_update(update);
    world
        .message_after(OWNER, before, "is not a Telegram username")
        .await;
    let before = world.telegram.messages(OWNER).len();
    world
        .telegram
        .push_update(text_update(OWNER, username(OWNER), OWNER, "Carol_C"));
    let link = world.message_after(OWNER, before, "?start=inv_").await;
    assert!(link.text.contains("@carol_c"), "{}", link.text);
    let payload = link.text.split("?start=").nth(1).unwrap().trim().to_owned();

    let start = format!("/start {payload}");
    world
        .ask(MALLORY, &start, "This invite is for someone else.")
        .await;
    world.ask(MALLORY, "/whoami", REFUSAL).await;
    world
        .ask(CAROL, &start, "You are now an admin of <b>main</b>.")
        .await;
    world
        .message(CAROL, "(invite link) made you an admin of <b>main</b>")
        .await;
    world.message(CAROL, ALERT).await;
    world
        .message(ADMIN, "added @carol_c as an admin of <b>main</b>")
        .await;
    world
        .ask(CAROL, "/whoami", "You administer <b>main</b>")
        .await;
    world.ask(CAROL, &start, "already used").await;
    world.ask(MALLORY, &start, "already used").await;

    // An invite that has run out opens nothing.
    let payload = world.invite("viewer", "@dave_d").await;
    world.advance(Duration::from_secs(24 * 3600)).await;
    world
        .ask(DAVE, &format!("/start {payload}"), "expired")
        .await;
    world.ask(DAVE, "/whoami", REFUSAL).await;
    world.ask(DAVE, "/start inv_nonsense", "not valid").await;

    // An invite never makes a runtime member of someone the config already names (they could not
    // be removed from the bot) or of an owner.
    let payload = world.invite("viewer", "@boss_1").await;
    world
        .ask(OWNER, &format!("/start {payload}"), "needs no membership")
        .await;
    world.stop().await;
}

async fn roles_change_and_members_go_by_buttons_config_members_stay(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    world.add_by_pick("viewer", BOB).await;
    let list = world.members_of_main().await;
    let answer = world.press(OWNER, &list, "⬆ admin: @bobby_b").await;
    assert_eq!(answer, "@bobby_b is now an admin of main.");
    let list = world.edited(&list).await;
    assert!(list.text.contains("@bobby_b · admin"), "{}", list.text);
    world.message(BOB, "made you an admin of <b>main</b>").await;
    world
        .ask(BOB, "/whoami", "You administer <b>main</b>")
        .await;

    let answer = world.press(OWNER, &list, "✖ remove @bobby_b").await;
    assert_eq!(answer, "@bobby_b is no longer a member of main.");
    let list = world.edited(&list).await;
    assert!(!list.text.contains("bobby_b"), "{}", list.text);
    assert!(
        labels(&list).iter().all(|l| !l.contains("remove")),
        "{:?}",
        labels(&list)
    );
    world.message(BOB, "removed you from <b>main</b>").await;
    world.ask(BOB, "/whoami", REFUSAL).await;

    // Config members have no buttons; forged ones are refused with the reason.
    for data in [
        "ms:main:x:user:2000",
        "ms:main:v:user:2000",
        "ms:main:a:user:2500",
    ] {
        let answer = world.press_planted(OWNER, &list, data).await;
        assert!(answer.contains("configuration file"), "{data}: {answer}");
    }
    world
        .ask(ADMIN, "/whoami", "You administer <b>main</b>")
        .await;
    world.ask(VIEWER, "/whoami", "You view <b>main</b>").await;
    let answer = world
        .press_planted(OWNER, &list, "ms:main:x:user:4100")
        .await;
    assert!(answer.contains("not a member"), "{answer}");
    world.stop().await;
}

async fn a_removed_admin_cannot_confirm_a_pending_action(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    // Eve holds nothing else; Frank stays a viewer of billing, so the bot still knows him.
    world.add_by_pick("admin", EVE).await;
    world.add_by_pick("admin", FRANK).await;
    let mut confirmations = Vec::new();
    for user in [EVE, FRANK] {
        let actions = world.ask(user, "/actions", "<b>main</b>: actions").await;
        world.press(user, &actions, "Ping").await;
        confirmations.push(world.message(user, "Run <b>Ping</b> on <b>main</b>?").await);
    }
    let list = world.members_of_main().await;
    world.press(OWNER, &list, "✖ remove @eve_e5").await;
    let list = world.edited(&list).await;
    world.press(OWNER, &list, "✖ remove @frank_f").await;
    world.edited(&list).await;

    let answer = world.press(EVE, &confirmations[0], "Run").await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    let before = world.telegram.messages(FRANK).len();
    world.press(FRANK, &confirmations[1], "Run").await;
    world.message_after(FRANK, before, "Not allowed").await;

    let actions = world.state_sql("SELECT action FROM audit_log").await;
    assert!(
        !actions.iter().any(|a| a == "action"),
        "nothing ran: {actions:?}"
    );
    assert!(actions.iter().any(|a| a == "refused"), "{actions:?}");
    for user in [EVE, FRANK] {
        let ran = world
            .telegram
            .messages(user)
            .into_iter()
            .find(|m| m.text.contains("<b>Ping</b>") && !m.text.starts_with("Run "));
        assert_eq!(ran, None, "no run reported to {user}");
    }
    world.stop().await;
}

/// The fake checks reply keyboards as Telegram does, so the bot cannot send one Telegram refuses.
#[tokio::test]
async fn the_fake_refuses_reply_keyboards_telegram_refuses() {
    let fake = FakeTelegram::start().await;
    let client = reqwest::Client::new();
    let send = |chat: i64, markup: Value| {
        let request = client
            .post(format!("{}/bot1:x/sendMessage", fake.api_url()))
            .json(&json!({ "chat_id": chat, "text": "pick", "reply_markup": markup }));
        async move {
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            answer["description"].as_str().unwrap_or("ok").to_owned()
        }
    };
    let users =
        |request: Value| json!({ "keyboard": [[{ "text": "Pick", "request_users": request }]] });
    let good = json!({ "request_id": 3, "user_is_bot": false, "request_username": true });
    assert_eq!(send(1, users(good.clone())).await, "ok");
    assert_eq!(
        fake.messages(1)[0].reply_keyboard,
        Some(users(good.clone()))
    );
    assert_eq!(fake.messages(1)[0].reply_markup, None);
    for (chat, markup, refusal) in [
        (-100, users(good), "BUTTON_TYPE_INVALID"),
        (
            2,
            users(json!({ "request_id": 2_147_483_648_i64 })),
            "request_id",
        ),
        (3, users(json!({ "request_id": "x" })), "request_id"),
        (
            4,
            users(json!({ "request_id": 1, "max_quantity": 11 })),
            "max_quantity",
        ),
        (5, users(json!(true)), "request_users"),
        (
            6,
            json!({ "keyboard": [[{ "request_users": { "request_id": 1 } }]] }),
            "text",
        ),
        (7, json!({ "keyboard": [{ "text": "x" }] }), "row"),
        (
            13,
            json!({ "keyboard": [[{ "text": "x", "request_contact": true, "request_location": true }]] }),
            "only one",
        ),
        (8, json!({ "force_reply": false }), "force_reply"),
        (9, json!({ "remove_keyboard": 1 }), "remove_keyboard"),
        (
            10,
            json!({ "selective": true }),
            "can't parse reply keyboard markup",
        ),
    ] {
        let answer = send(chat, markup.clone()).await;
        assert!(
            answer.starts_with("Bad Request: ") && answer.contains(refusal),
            "{markup}: {answer}"
        );
    }
    assert_eq!(send(11, json!({ "force_reply": true })).await, "ok");
    assert_eq!(
        send(
            12,
            json!({ "keyboard": [["plain", { "text": "also" }]], "one_time_keyboard": true })
        )
        .await,
        "ok"
    );

    // What the bot receives: a pick as `users_shared`, a reply with the message it answers, and a
    // deep link's payload after a command entity that covers the command only.
    let reply = reply_update(7, None, 11, fake.messages(11)[0].message_id, "@carol_c");
    fake.push_update(reply);
    fake.push_update(users_shared_update(1, None, 1, 3, 42, Some("bobby_b")));
    fake.push_update(text_update(1, None, 1, "/start inv_abc"));
    let bot = Bot::new("1:x").set_api_url(reqwest::Url::parse(&fake.api_url()).unwrap());
    let updates = bot.get_updates().await.unwrap();
    let messages: Vec<_> = updates
        .iter()
        .map(|u| match &u.kind {
            UpdateKind::Message(m) => m.clone(),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect();
    let replied = messages[0].reply_to_message().unwrap();
    assert_eq!(replied.text(), Some("pick"));
    let shared = messages[1].shared_users().unwrap();
    assert_eq!((shared.request_id.0, shared.users[0].user_id.0), (3, 42));
    assert_eq!(shared.users[0].username.as_deref(), Some("bobby_b"));
    let entity = &messages[2].entities().unwrap()[0];
    assert_eq!((entity.offset, entity.length), (0, "/start".len()));
    assert_eq!(bot.get_me().await.unwrap().username(), BOT_USERNAME);
}

/// An owner whose Telegram speaks Russian reads the member list, its buttons, what a change did and
/// the announcement to a Russian-speaking admin of the database in Russian.
async fn a_russian_owner_manages_members_in_russian(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    world.telegram.set_language(OWNER, "ru");
    world.telegram.set_language(ADMIN, "ru-RU");
    // The admin has written to the bot once: the service knows their language.
    world.ask(ADMIN, "/whoami", "main").await;
    let picker = world.ask(OWNER, "/admins", "какой базы?").await;
    assert!(picker.text.contains("<b>Участники</b>"), "{}", picker.text);
    world.press(OWNER, &picker, "main").await;
    let list = world.edited(&picker).await;
    assert!(list.text.contains("<b>Участники main</b>"), "{}", list.text);
    assert!(list.text.contains("Владельцам можно всё"), "{}", list.text);
    assert!(list.text.contains("🔒 конфигурация"), "{}", list.text);
    assert_eq!(
        labels(&list),
        [
            "➕ Добавить администратора",
            "➕ Добавить наблюдателя",
            "🔗 Пригласить администратора",
            "🔗 Пригласить наблюдателя",
            "◀ Базы"
        ]
    );
    // A person picked with Telegram's keyboard becomes a viewer; the owner's answer and the
    // admin's announcement are in Russian.
    let before = world.telegram.messages(OWNER).len();
    world.press(OWNER, &list, "Добавить наблюдателя").await;
    let prompt = world.message_after(OWNER, before, "Выбрать человека").await;
    let id = request_users(&prompt)["request_id"].as_i64().unwrap();
    let before = world.telegram.messages(OWNER).len();
    let shared = users_shared_update(OWNER, username(OWNER), OWNER, id, BOB, username(BOB));
    world.telegram.push_update(shared);
    let done = world.message_after(OWNER, before, "теперь является").await;
    assert!(done.text.contains("наблюдателем main"), "{}", done.text);
    let told = world
        .message(ADMIN, "добавил(а) @bobby_b наблюдателем")
        .await;
    assert!(told.text.contains("<b>main</b>"), "{}", told.text);
    world.stop().await;
}
