//! A person is an account, not a username: a username belongs to the account that first claimed it
//! with `/start`, one person is one member whichever form names them, losing access takes effect on
//! open dialogues and queued alerts at once, a group's lists show only its database, and strangers
//! write nothing but one refusal a minute. Through the fake Bot API and REST, state on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::service::Ctx;
use support::{Backend, Service, alert, notification};

const OWNER: i64 = 1000;
const ALICE: i64 = 4300;
/// Another account that later carries Alice's username.
const IMPOSTOR: i64 = 6600;
const BOB: i64 = 4000;
const EVE: i64 = 5000;
const FRANK: i64 = 5100;
const MALLORY: i64 = 9000;
/// `main`'s group chat.
const GROUP: i64 = -100_777;
const TOKEN: &str = "identity-owner-token-0123456789";
const WAIT: Duration = Duration::from_secs(30);
const REFUSAL: &str = "Sorry, this bot serves";

const ACTIONS: &str = r#"
actions:
  - alias: two_step
    title: Two steps
    arguments:
      - { name: first, type: string }
      - { name: second, type: string, choices_sql: "SELECT 'choice_marker_x' AS value" }
    steps:
      - { name: one, sql: "SELECT 1" }
"#;

fn username(user: i64) -> Option<&'static str> {
    match user {
        OWNER => Some("boss_1"),
        ALICE | IMPOSTOR => Some("alice_a"),
        BOB => Some("bobby_b"),
        EVE => Some("eve_e5"),
        FRANK => Some("frank_f"),
        MALLORY => Some("mallory"),
        _ => None,
    }
}

fn config(ctx: &Ctx) -> String {
    let dsn = support::postgres_admin_url();
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [{OWNER}]
catalog: {{ actions: actions.yaml }}
api_tokens:
  - {{ name: ops, token: "{TOKEN}", role: owner }}
databases:
  - {{ name: main, dsn: "{dsn}", match: {{ cluster: main }}, admins: ["@alice_a"], chat: {GROUP} }}
  - {{ name: billing, dsn: "{dsn}", match: {{ cluster: billing }} }}
"#
    )
}

type World = Service;

impl World {
    async fn start(backend: Backend) -> Option<World> {
        Service::start_with(backend, &[("actions.yaml", ACTIONS)], config).await
    }

    /// `user` writes `text` in `chat`, and the bot's first new message there containing `needle`.
    async fn ask_in(&self, user: i64, chat: i64, text: &str, needle: &str) -> SentMessage {
        let before = self.telegram.messages(chat).len();
        self.say_in(user, chat, text);
        self.message_after(chat, before, needle).await
    }

    async fn ask(&self, user: i64, text: &str, needle: &str) -> SentMessage {
        self.ask_in(user, user, text, needle).await
    }

    fn say_in(&self, user: i64, chat: i64, text: &str) {
        let update = text_update(user, username(user), chat, text);
        self.telegram.push_update(update);
    }

    /// Presses `data` on `message` as `user`; the press's answer.
    async fn press(&self, user: i64, message: &SentMessage, data: &str) -> String {
        let who = username(user);
        self.telegram.press(user, who, message, data, WAIT).await
    }

    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.app.base);
        let mut request = self.app.client.request(method, url).bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn set_member(&self, member: Value, role: &str) -> u16 {
        self.set_member_of("main", member, role).await
    }

    async fn set_member_of(&self, database: &str, member: Value, role: &str) -> u16 {
        let body = json!({ "member": member, "role": role });
        let path = format!("/databases/{database}/admins");
        self.rest(reqwest::Method::POST, &path, Some(body)).await.0
    }

    async fn remove_member(&self, member: &str) -> u16 {
        let path = format!("/databases/main/admins/{member}");
        self.rest(reqwest::Method::DELETE, &path, None).await.0
    }

    /// The `user_id` REST shows for the member written `member` of `main`.
    async fn bound_id(&self, member: &str) -> Value {
        let (status, list) = self
            .rest(reqwest::Method::GET, "/databases/main/admins", None)
            .await;
        assert_eq!(status, 200, "{list}");
        let members = list["members"].as_array().unwrap();
        let found = members.iter().find(|m| m["member"] == member);
        found.unwrap_or_else(|| panic!("{member} in {list}"))["user_id"].clone()
    }

    async fn fire(&self, cluster: &str, alertname: &str) {
        let labels = json!({ "alertname": alertname, "cluster": cluster, "severity": "critical" });
        let firing = alert(alertname, "firing", "2026-11-22T10:00:00Z", labels);
        let (status, _) = self
            .app
            .post_webhook(&notification("firing", vec![firing]))
            .await;
        assert_eq!(status, 200);
    }

    /// What the state store holds about `user`: their remembered row and refusals audited.
    async fn traces_of(&self, user: i64) -> (usize, usize) {
        let rows = self
            .state_sql(&format!(
                "SELECT CAST(user_id AS TEXT) FROM telegram_users WHERE user_id = {user}"
            ))
            .await;
        let refusals = self
            .state_sql(&format!(
                "SELECT action FROM audit_log WHERE action = 'refused' AND actor_id = {user}"
            ))
            .await;
        (rows.len(), refusals.len())
    }
}

on_both_backends!(
    a_username_belongs_to_the_account_that_claimed_it,
    either_form_of_a_person_is_one_member,
    losing_access_ends_dialogues_and_queued_alerts,
    a_removed_member_gets_no_storm_digest_either,
    a_group_lists_only_its_database,
    strangers_write_nothing_and_are_refused_once_a_minute,
);

async fn a_username_belongs_to_the_account_that_claimed_it(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    assert_eq!(world.bound_id("@alice_a").await, Value::Null);
    world
        .ask(ALICE, "/start", "You administer <b>main</b>")
        .await;
    assert_eq!(world.bound_id("@alice_a").await, json!(ALICE));

    // Another account now carrying the name is a stranger; the owners hear of it once.
    world.ask(IMPOSTOR, "/start", REFUSAL).await;
    let told = world.ask(OWNER, "/whoami", "owner").await;
    let notice = "now carries @alice_a";
    world.telegram.newest_containing(OWNER, notice, WAIT).await;
    // A minute later the impostor is refused aloud again.
    world.advance(Duration::from_secs(60)).await;
    world.ask(IMPOSTOR, "/start", REFUSAL).await;
    let notices = world
        .state_sql("SELECT payload FROM outbox WHERE payload LIKE '%now carries%'")
        .await;
    assert_eq!(notices.len(), 1, "owners are told once: {notices:?}");
    assert_eq!(world.bound_id("@alice_a").await, json!(ALICE));

    // Alerts of @alice_a reach the bound account only, and the other cannot act on them.
    world.fire("main", "IdentityDiskFull").await;
    let copy = world
        .telegram
        .newest_containing(ALICE, "IdentityDiskFull", WAIT)
        .await;
    let ack = buttons(&copy)
        .into_iter()
        .find(|(label, _)| label.contains("Acknowledge"))
        .unwrap()
        .1;
    let answer = world.press(IMPOSTOR, &told, &ack).await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    let leaked = world.telegram.messages(IMPOSTOR);
    assert!(
        leaked.iter().all(|m| !m.text.contains("IdentityDiskFull")),
        "{leaked:?}"
    );

    // An owner binds the name to the new account from /admins.
    let picker = world.ask(OWNER, "/admins", "which database?").await;
    let main = buttons(&picker)
        .into_iter()
        .find(|(label, _)| label == "main")
        .unwrap()
        .1;
    world.press(OWNER, &picker, &main).await;
    let list = world
        .telegram
        .wait_for("the members of main", WAIT, |t| {
            let mut messages = t.messages(OWNER).into_iter();
            messages.find(|m| m.message_id == picker.message_id && m.text.contains("Members of"))
        })
        .await;
    assert!(
        list.text
            .contains(&format!("· user <code>{ALICE}</code> · ⚠️ claimed by user")),
        "{}",
        list.text
    );
    let rebind = buttons(&list)
        .into_iter()
        .find(|(label, _)| label.contains("@alice_a is user 6600"))
        .unwrap()
        .1;
    let answer = world.press(OWNER, &list, &rebind).await;
    assert_eq!(answer, "@alice_a is user 6600 from now on.");
    assert_eq!(world.bound_id("@alice_a").await, json!(IMPOSTOR));
    world
        .ask(IMPOSTOR, "/whoami", "You administer <b>main</b>")
        .await;
    world.ask(ALICE, "/whoami", REFUSAL).await;
    world.stop().await;
}

async fn either_form_of_a_person_is_one_member(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    assert_eq!(world.set_member(json!("@bobby_b"), "admin").await, 201);
    assert_eq!(world.bound_id("@bobby_b").await, Value::Null);
    world.ask(BOB, "/start", "You administer <b>main</b>").await;
    assert_eq!(world.set_member(json!(BOB), "viewer").await, 200);
    world.ask(BOB, "/whoami", "You view <b>main</b>").await;
    let rows = world
        .state_sql("SELECT member FROM members WHERE database_name = 'main'")
        .await;
    assert_eq!(rows, [format!("user:{BOB}")]);

    // A username form written after the binding is the same person too.
    assert_eq!(world.set_member(json!("@bobby_b"), "admin").await, 200);
    world
        .ask(BOB, "/whoami", "You administer <b>main</b>")
        .await;
    assert_eq!(world.remove_member("%40bobby_b").await, 204);
    world.ask(BOB, "/whoami", REFUSAL).await;
    let rows = world.state_sql("SELECT member FROM members").await;
    assert!(rows.is_empty(), "{rows:?}");
    world.stop().await;
}

async fn losing_access_ends_dialogues_and_queued_alerts(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    // A removed admin's open dialogue serves no choices and takes no value (Eve stays a viewer of
    // billing, so the bot still knows her).
    assert_eq!(world.set_member(json!(EVE), "admin").await, 201);
    assert_eq!(
        world.set_member_of("billing", json!(EVE), "viewer").await,
        201
    );
    let list = world.ask(EVE, "/actions", "<b>main</b>: actions").await;
    let before = world.telegram.messages(EVE).len();
    let pick = buttons(&list)
        .into_iter()
        .find(|(label, _)| label == "Two steps")
        .unwrap()
        .1;
    world.press(EVE, &list, &pick).await;
    world
        .telegram
        .wait_for("the first question", WAIT, |t| {
            let mut messages = t.messages(EVE).into_iter().skip(before);
            messages.find(|m| m.text.contains("<b>first</b>"))
        })
        .await;
    assert_eq!(world.remove_member(&EVE.to_string()).await, 204);
    world.ask(EVE, "first value", "Not allowed").await;
    let served = world.telegram.messages(EVE);
    assert!(
        served.iter().all(|m| !m.text.contains("<b>second</b>")
            && buttons(m)
                .iter()
                .all(|(l, _)| !l.contains("choice_marker_x"))),
        "{served:?}"
    );

    // A send queued for a viewer who is removed before it goes out is dropped.
    assert_eq!(world.set_member(json!(FRANK), "viewer").await, 201);
    world.telegram.set_down(true);
    world.fire("main", "IdentityQueued").await;
    let send = "SELECT last_error FROM outbox WHERE kind = 'telegram.send' \
                AND recipient = 'user:5100' AND last_error IS NOT NULL";
    support::eventually("the send to fail", WAIT, || async {
        (!world.state_sql(send).await.is_empty()).then_some(())
    })
    .await;
    assert_eq!(world.remove_member(&FRANK.to_string()).await, 204);
    world.telegram.set_down(false);
    let done = "SELECT result FROM outbox WHERE kind = 'telegram.send' \
                AND recipient = 'user:5100' AND done_at IS NOT NULL";
    let result = support::eventually("the send to be done", WAIT, || async {
        world.state_sql(done).await.pop()
    })
    .await;
    assert!(result.starts_with("dropped"), "{result}");
    let told = world.telegram.messages(FRANK);
    assert!(
        told.iter().all(|m| !m.text.contains("IdentityQueued")),
        "{told:?}"
    );
    world.stop().await;
}

/// A storm queued for a member who is removed before Telegram takes it: neither the digest nor the
/// messages behind it reach them.
async fn a_removed_member_gets_no_storm_digest_either(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    assert_eq!(world.set_member(json!(FRANK), "viewer").await, 201);
    world.telegram.set_down(true);
    let storm = (0..10)
        .map(|i| {
            let labels = json!({ "alertname": format!("IdentityStorm{i}"), "cluster": "main" });
            alert(
                &format!("IdentityStorm{i}"),
                "firing",
                "2026-11-22T10:00:00Z",
                labels,
            )
        })
        .collect();
    let (status, _) = world.app.post_webhook(&notification("firing", storm)).await;
    assert_eq!(status, 200);
    let failed = "SELECT last_error FROM outbox WHERE kind = 'telegram.send' \
                  AND recipient = 'user:5100' AND last_error IS NOT NULL";
    support::eventually("a send to fail", WAIT, || async {
        (!world.state_sql(failed).await.is_empty()).then_some(())
    })
    .await;
    assert_eq!(world.remove_member(&FRANK.to_string()).await, 204);
    world.telegram.set_down(false);
    let open = "SELECT CAST(count(*) AS TEXT) FROM outbox WHERE kind = 'telegram.send' \
                AND recipient = 'user:5100' AND done_at IS NULL";
    support::eventually("every send to Frank to be done", WAIT, || async {
        (world.state_sql(open).await == ["0"]).then_some(())
    })
    .await;
    let told = world.telegram.messages(FRANK);
    assert!(
        told.iter()
            .all(|m| !m.text.contains("IdentityStorm") && !m.text.contains("new alerts")),
        "{told:?}"
    );
    world.stop().await;
}

async fn a_group_lists_only_its_database(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    world.fire("main", "IdentityMainAlert").await;
    world.fire("billing", "IdentityBillingAlert").await;
    let mine = world.ask(OWNER, "/alerts", "Firing now").await;
    assert!(
        mine.text.contains("IdentityMainAlert") && mine.text.contains("IdentityBillingAlert"),
        "{}",
        mine.text
    );
    let group = world.ask_in(OWNER, GROUP, "/alerts", "Firing now").await;
    assert!(group.text.contains("IdentityMainAlert"), "{}", group.text);
    assert!(
        !group.text.contains("IdentityBillingAlert"),
        "the group is main's: {}",
        group.text
    );
    let incidents = world
        .ask_in(OWNER, GROUP, "/incidents", "Incidents of")
        .await;
    assert!(
        incidents.text.contains("Incidents of main") && !incidents.text.contains("Billing"),
        "{}",
        incidents.text
    );
    let views = world.ask_in(OWNER, GROUP, "/actions", "actions").await;
    assert!(
        views.text.contains("<b>main</b>: actions"),
        "{}",
        views.text
    );
    // The group's list offers no billing button, and one forged for it is refused.
    assert!(
        buttons(&views)
            .iter()
            .all(|(label, _)| !label.contains("billing")),
        "{:?}",
        buttons(&views)
    );
    let before = world.telegram.messages(GROUP).len();
    let answer = world.press(OWNER, &views, "ad:billing").await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    assert_eq!(world.telegram.messages(GROUP).len(), before);
    world.stop().await;
}

async fn strangers_write_nothing_and_are_refused_once_a_minute(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let refusal = world.ask(MALLORY, "/start", REFUSAL).await;
    world.say_in(MALLORY, MALLORY, "/alerts");
    world.say_in(MALLORY, MALLORY, "hello?");
    for data in ["ack:1", "mem:0", "ad:0"] {
        let answer = world.press(MALLORY, &refusal, data).await;
        assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
    }
    // Updates of one chat are handled in order: the presses answered, the messages are too.
    assert_eq!(world.telegram.messages(MALLORY).len(), 1, "one reply");
    assert_eq!(
        world.traces_of(MALLORY).await,
        (0, 1),
        "no user row, one audit row"
    );

    // A minute later, the next is answered and audited.
    world.advance(Duration::from_secs(60)).await;
    world.ask(MALLORY, "/whoami", REFUSAL).await;
    assert_eq!(world.telegram.messages(MALLORY).len(), 2);
    assert_eq!(world.traces_of(MALLORY).await, (0, 2));
    world.stop().await;
}
