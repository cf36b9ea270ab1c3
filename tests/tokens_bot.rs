//! API tokens from Telegram, end to end on both state backends: an owner lists tokens, creates one
//! with `/tokens NAME` → role → scope, sees it exactly once, and the token opens the REST API with
//! exactly that role and scope until it is revoked from the list. Others are refused, and so are
//! group chats.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::service::Ctx;
use support::{Backend, Service};

on_both_backends!(
    an_owner_creates_a_token_shown_once_with_exactly_its_role_and_scope,
    a_revoked_token_opens_nothing_and_only_owners_revoke,
    tokens_are_for_owners_in_private_chats_under_free_names,
);

const OWNER: i64 = 1;
const ADMIN: i64 = 2000;
const GROUP: i64 = -1001;
/// An owner token from the config, to read the audit log.
const OPS: &str = "ops-token-for-tokens-bot-0123";
const WAIT: Duration = Duration::from_secs(20);

/// The service's config: an owner token of its own (`OPS`) to read the audit log, a viewer token.
fn config(ctx: &Ctx) -> String {
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [{OWNER}]
databases:
  - {{ name: main, dsn: "postgres://postgres@127.0.0.1:5432/postgres", match: {{ cluster: main }}, admins: [{ADMIN}], chat: {GROUP} }}
  - {{ name: billing, dsn: "postgres://postgres@127.0.0.1:5432/postgres", match: {{ cluster: billing }} }}
api_tokens:
  - {{ name: ops, token: "{OPS}", role: owner }}
  - {{ name: grafana, token: "grafana-token-0123456789", role: viewer, databases: [main] }}
"#
    )
}

/// The service these tests run (`support::Service`), with their helpers.
type World = Service;

impl World {
    async fn start(backend: Backend) -> Option<World> {
        Service::start_with(backend, &[], config).await
    }

    /// `text` from `user` in `chat` (their private chat when it is their id).
    fn say_in(&self, user: i64, chat: i64, text: &str) {
        self.telegram
            .push_update(text_update(user, None, chat, text));
    }

    fn say(&self, user: i64, text: &str) {
        self.say_in(user, user, text);
    }

    async fn message(&self, chat: i64, needle: &str) -> SentMessage {
        self.telegram.newest_containing(chat, needle, WAIT).await
    }

    /// Presses the button whose label contains `label` as `user`; returns the answer's text.
    async fn press(&self, user: i64, message: &SentMessage, label: &str) -> String {
        let data = data_of(message, label);
        self.press_data(user, message, &data).await
    }

    async fn press_data(&self, user: i64, message: &SentMessage, data: &str) -> String {
        self.telegram.press(user, None, message, data, WAIT).await
    }

    /// `/tokens NAME` → `role` → `scope` as the owner; returns the token shown.
    async fn create(&self, name: &str, role: &str, scope: &str) -> String {
        self.say(OWNER, &format!("/tokens {name}"));
        let roles = self
            .message(OWNER, &format!("New API token <b>{name}</b>: which role?"))
            .await;
        self.press(OWNER, &roles, role).await;
        let scopes = self
            .message(OWNER, &format!("<b>{name}</b> as <b>{role}</b>: on which"))
            .await;
        assert_eq!(
            scopes.message_id, roles.message_id,
            "the step edits in place"
        );
        let answer = self.press(OWNER, &scopes, scope).await;
        assert!(answer.starts_with("Created"), "{answer}");
        let shown = self
            .message(OWNER, &format!("🔑 New API token <b>{name}</b>"))
            .await;
        token_in(&shown.text)
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .app
            .client
            .get(format!("{}{path}", self.app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn execute(&self, token: &str, database: &str) -> u16 {
        self.app
            .client
            .post(format!("{}/actions/execute/no_such_action", self.app.base))
            .bearer_auth(token)
            .json(&json!({ "database": database }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn status(&self, token: &str, path: &str) -> u16 {
        self.get(token, path).await.0
    }
}

fn data_of(message: &SentMessage, label: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|(l, _)| l.contains(label))
        .unwrap_or_else(|| panic!("no button {label:?} in {:?}", message.reply_markup))
        .1
}

/// The `pgm_…` token in a message.
fn token_in(text: &str) -> String {
    let start = text
        .find("pgm_")
        .unwrap_or_else(|| panic!("no token in {text}"));
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn an_owner_creates_a_token_shown_once_with_exactly_its_role_and_scope(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let token = world.create("ci-main", "viewer", "main").await;
    assert_eq!(token.len(), "pgm_".len() + 32, "{token}");
    let showing: Vec<SentMessage> = world
        .telegram
        .all_messages()
        .into_iter()
        .filter(|m| m.text.contains(&token))
        .collect();
    assert_eq!(showing.len(), 1, "shown once: {showing:?}");
    let shown = &showing[0];
    assert_eq!(shown.chat_id, OWNER);
    assert!(shown.text.contains("viewer · main"), "{}", shown.text);
    let summary = world.message(OWNER, "✅ Created the API token").await;
    assert!(buttons(&summary).is_empty(), "no second creation from it");

    // A viewer of main: reads main, nothing else, and acts nowhere.
    assert_eq!(world.status(&token, "/incidents?database=main").await, 200);
    assert_eq!(
        world.status(&token, "/incidents?database=billing").await,
        403
    );
    assert_eq!(
        world
            .status(&token, "/views/anything?database=billing")
            .await,
        403
    );
    let (status, databases) = world.get(&token, "/databases").await;
    assert_eq!(status, 200);
    assert_eq!(databases["databases"].as_array().unwrap().len(), 1);
    assert_eq!(databases["databases"][0]["name"], "main");
    assert_eq!(world.execute(&token, "main").await, 403);
    assert_eq!(world.status(&token, "/audit").await, 403);
    assert_eq!(world.status(&token, "/databases/main/admins").await, 403);

    // Audited by name, never by value.
    let (status, audit) = world.get(OPS, "/audit?limit=20").await;
    assert_eq!(status, 200);
    assert!(!audit.to_string().contains(&token), "{audit}");
    let created = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token created")
        .unwrap_or_else(|| panic!("no audit entry: {audit}"));
    assert_eq!(created["actor"], "user 1");
    // The account behind the name, and the way in, are fields of the entry.
    assert_eq!(created["actor_id"], OWNER, "{created}");
    assert_eq!(created["via"], "bot", "{created}");
    let (_, by_id) = world.get(OPS, &format!("/audit?actor={OWNER}")).await;
    let by_id = by_id["entries"].as_array().unwrap();
    assert!(!by_id.is_empty() && by_id.iter().all(|e| e["actor_id"] == OWNER));
    assert_eq!(
        created["detail"],
        json!({ "name": "ci-main", "role": "viewer", "databases": ["main"] })
    );

    // "I saved it" deletes the message.
    let answer = world.press(OWNER, shown, "I saved it").await;
    assert_eq!(answer, "Deleted.");
    let deletions = world.telegram.calls_to("deleteMessage");
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0].params["message_id"], shown.message_id);
    assert!(
        world
            .telegram
            .all_messages()
            .iter()
            .all(|m| !m.text.contains(&token)),
        "the token is gone from the chat"
    );
    assert_eq!(
        world.status(&token, "/incidents?database=main").await,
        200,
        "hiding the message keeps the token"
    );
    world.stop().await;
}

async fn a_revoked_token_opens_nothing_and_only_owners_revoke(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let token = world.create("deploy", "admin", "All databases").await;
    // An admin everywhere: acts on billing too (the action is unknown, not forbidden), but owns nothing.
    assert_eq!(world.execute(&token, "billing").await, 404);
    assert_eq!(
        world.status(&token, "/incidents?database=billing").await,
        200
    );
    assert_eq!(world.status(&token, "/audit").await, 403);
    assert_eq!(world.status(&token, "/databases/main/admins").await, 403);

    world.say(OWNER, "/tokens");
    let list = world.message(OWNER, "<b>API tokens</b>").await;
    for line in [
        "🔒 <b>ops</b> · owner · every database",
        "🔒 <b>grafana</b> · viewer · main",
        "🔑 <b>deploy</b> · admin · every database · by user 1",
    ] {
        assert!(list.text.contains(line), "{line:?} in {}", list.text);
    }
    let revoke = data_of(&list, "Revoke deploy");
    assert_eq!(buttons(&list).len(), 1, "config tokens have no button");

    let answer = world.press_data(ADMIN, &list, &revoke).await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    assert_eq!(world.status(&token, "/incidents?database=main").await, 200);

    let answer = world.press_data(OWNER, &list, &revoke).await;
    assert!(answer.starts_with("Revoked deploy"), "{answer}");
    let (status, body) = world.get(&token, "/incidents?database=main").await;
    assert_eq!(status, 401, "{body}");
    let refreshed = world.message(OWNER, "revoked on").await;
    assert_eq!(
        refreshed.message_id, list.message_id,
        "the list is refreshed"
    );
    assert!(buttons(&refreshed).is_empty());
    // The refreshed list no longer carries the button: a press of the old one is refused.
    let answer = world.press_data(OWNER, &refreshed, &revoke).await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    assert!(answer.contains("no longer valid"), "{answer}");

    let (_, audit) = world.get(OPS, "/audit?limit=20").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["refused", "token revoked", "refused", "token created"],
        "{audit}"
    );
    world.stop().await;
}

async fn tokens_are_for_owners_in_private_chats_under_free_names(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    world.say(ADMIN, "/tokens");
    world
        .message(ADMIN, "API tokens are managed by owners.")
        .await;
    world.say(ADMIN, "/tokens mine");
    let refusals = world
        .telegram
        .wait_for("the second refusal", WAIT, |t| {
            let messages = t.messages(ADMIN);
            (messages.len() == 2).then_some(messages)
        })
        .await;
    for refusal in refusals {
        assert_eq!(refusal.text, "API tokens are managed by owners.");
        assert!(refusal.reply_markup.is_none());
    }

    world.say_in(OWNER, GROUP, "/tokens leaky");
    world.message(GROUP, "only in a private chat").await;
    assert!(
        world.telegram.messages(GROUP)[0].reply_markup.is_none(),
        "no role buttons in a group"
    );

    for (name, problem) in [
        ("Bad", "Token names are 1 to 24 characters"),
        ("a-name-longer-than-24-chars", "Token names are 1 to 24"),
        ("grafana", "is a token of the configuration file"),
    ] {
        let before = world.telegram.messages(OWNER).len();
        world.say(OWNER, &format!("/tokens {name}"));
        let answer = world
            .telegram
            .wait_for("the answer", WAIT, |t| {
                t.messages(OWNER).get(before).cloned()
            })
            .await;
        assert!(answer.text.contains(problem), "{name}: {}", answer.text);
        assert!(answer.reply_markup.is_none(), "{name}");
    }

    // Two creations of one name: the second finds it taken at its last step.
    world.say(OWNER, "/tokens twice");
    let first = world.message(OWNER, "<b>twice</b>: which role?").await;
    world.say(OWNER, "/tokens twice");
    let second = world
        .telegram
        .wait_for("a second role question", WAIT, |t| {
            t.messages(OWNER)
                .into_iter()
                .filter(|m| m.text.contains("<b>twice</b>: which role?"))
                .nth(1)
        })
        .await;
    assert_ne!(first.message_id, second.message_id);
    world.press(OWNER, &first, "owner").await;
    let scopes = world.message(OWNER, "as <b>owner</b>").await;
    world.press(OWNER, &scopes, "All databases").await;
    let token = token_in(
        &world
            .message(OWNER, "🔑 New API token <b>twice</b>")
            .await
            .text,
    );
    assert_eq!(
        world.status(&token, "/audit").await,
        200,
        "an owner token everywhere"
    );
    // The role buttons of the second question are still there (the first one's are gone).
    let second = world
        .telegram
        .messages(OWNER)
        .into_iter()
        .find(|m| m.message_id == second.message_id)
        .unwrap();
    world.press(OWNER, &second, "viewer").await;
    let scopes = world.message(OWNER, "as <b>viewer</b>").await;
    let answer = world.press(OWNER, &scopes, "billing").await;
    assert_eq!(answer, "That name is taken now.");
    world
        .message(OWNER, "A token named <b>twice</b> exists already")
        .await;
    world.say(OWNER, "/tokens twice");
    world
        .message(OWNER, "A token named <b>twice</b> exists already (revoked")
        .await;

    // Buttons forged or kept by someone who is not an owner do nothing.
    let roles_data = "tn:o:-:evil";
    let answer = world.press_data(ADMIN, &second, roles_data).await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    world.say(OWNER, "/tokens");
    let list = world.message(OWNER, "<b>API tokens</b>").await;
    assert!(list.text.contains("<b>twice</b>"), "{}", list.text);
    assert!(!list.text.contains("evil"), "{}", list.text);
    world.stop().await;
}
