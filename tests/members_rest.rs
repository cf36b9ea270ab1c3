//! A database's members over REST (`/databases/{name}/admins`), through real HTTP on both state
//! backends: only owners' tokens manage them, bad input is named, config members and owners are
//! locked, and a change reaches alert routing at once — the next alert goes to a new member and no
//! longer to a removed one.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::time::Duration;

use chrono::Utc;
use postgram::config::{Secret, StateLocation};
use postgram::domain::{IncidentId, Role};
use postgram::store::{JobKind, Store};
use serde_json::{Value, json};
use support::service::Ctx;
use support::{Backend, Service, alert, notification, sha256_hex};

on_both_backends!(
    owners_tokens_list_add_change_and_remove_members,
    only_tokens_that_own_the_database_manage_its_members,
    bad_input_is_named_and_locked_members_conflict,
    a_member_added_over_rest_hears_the_next_alert_and_a_removed_one_does_not,
);

const OWNER: &str = "owner-token-for-members-0123";
const ADMIN: &str = "admin-token-for-members-0123";
const VIEWER: &str = "viewer-token-for-members-012";
/// An owner token limited to billing.
const ELSEWHERE: &str = "billing-owner-token-0123456789";
/// Configured by its SHA-256 only.
const HASHED: &str = "hashed-owner-token-0123456789";
const NEWCOMER: i64 = 4242;
const CONFIG_ADMIN: i64 = 2000;
const WAIT: Duration = Duration::from_secs(20);

/// The service's config: tokens of every role, one limited to billing and one configured by its hash.
fn config(ctx: &Ctx) -> String {
    let head = ctx.head();
    let hashed = sha256_hex(HASHED);
    format!(
        r#"
{head}
owners: [1000]
databases:
  - name: main
    dsn: "postgres://postgres@127.0.0.1:5432/postgres"
    match: {{ cluster: main }}
    admins: [{CONFIG_ADMIN}, "@alice"]
    viewers: [2500]
  - name: billing
    dsn: "postgres://postgres@127.0.0.1:5432/postgres"
    match: {{ cluster: billing }}
    admins: [3000]
api_tokens:
  - {{ name: owner, token: "{OWNER}", role: owner }}
  - {{ name: admin, token: "{ADMIN}", role: admin }}
  - {{ name: viewer, token: "{VIEWER}", role: viewer }}
  - {{ name: elsewhere, token: "{ELSEWHERE}", role: owner, databases: [billing] }}
  - {{ name: hashed, token_sha256: "{hashed}", role: owner }}
"#
    )
}

/// The service these tests run (`support::Service`), with their helpers.
type World = Service;

impl World {
    async fn start(backend: Backend) -> Option<World> {
        Service::start_with(backend, &[], config).await
    }

    /// The service's state store, opened beside the running service.
    async fn store(&self) -> Store {
        let location = match self.state.backend {
            Backend::Sqlite => StateLocation::Sqlite(self.state.sqlite_path()),
            Backend::Postgres => StateLocation::Postgres(Secret::new(self.state.url.clone())),
        };
        Store::connect(&location).await.unwrap()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn list(&self, token: &str, database: &str) -> (u16, Value) {
        let path = format!("/databases/{database}/admins");
        self.call(reqwest::Method::GET, Some(token), &path, None)
            .await
    }

    async fn add(&self, token: &str, database: &str, body: Value) -> (u16, Value) {
        self.add_raw(token, database, body.to_string().into_bytes())
            .await
    }

    async fn add_raw(&self, token: &str, database: &str, body: Vec<u8>) -> (u16, Value) {
        let path = format!("/databases/{database}/admins");
        self.call(reqwest::Method::POST, Some(token), &path, Some(body))
            .await
    }

    async fn remove(&self, token: &str, database: &str, member: &str) -> (u16, Value) {
        let path = format!("/databases/{database}/admins/{member}");
        self.call(reqwest::Method::DELETE, Some(token), &path, None)
            .await
    }

    /// Posts one firing alert of `database`'s cluster; returns its incident.
    async fn fire(&self, cluster: &str, alertname: &str) -> IncidentId {
        let labels = json!({ "alertname": alertname, "cluster": cluster, "severity": "critical" });
        let body = notification(
            "firing",
            vec![alert(alertname, "firing", "2026-11-22T11:33:15Z", labels)],
        );
        let (status, receipt) = self.app.post_webhook(&body).await;
        assert_eq!(status, 200, "{receipt}");
        IncidentId(receipt["alerts"][0]["incident"].as_i64().unwrap())
    }
}

/// The entry of `members` for `key`.
fn entry<'a>(members: &'a Value, key: &str) -> Option<&'a Value> {
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == key)
}

async fn owners_tokens_list_add_change_and_remove_members(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let (status, list) = world.list(OWNER, "main").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["database"], "main");
    assert_eq!(
        list["members"],
        json!([
            { "member": "2000", "key": "user:2000", "display": "user 2000", "role": "admin",
              "source": "config", "added_by": null, "user_id": 2000 },
            { "member": "@alice", "key": "username:alice", "display": "@alice", "role": "admin",
              "source": "config", "added_by": null, "user_id": null },
            { "member": "2500", "key": "user:2500", "display": "user 2500", "role": "viewer",
              "source": "config", "added_by": null, "user_id": 2500 },
        ])
    );

    let (status, added) = world
        .add(
            OWNER,
            "main",
            json!({ "member": NEWCOMER, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        added,
        json!({ "member": "4242", "key": "user:4242", "display": "user 4242", "role": "viewer",
                "source": "runtime", "added_by": "token:owner", "user_id": 4242 })
    );
    let (status, same) = world
        .add(OWNER, "main", json!({ "member": "4242", "role": "viewer" }))
        .await;
    assert_eq!(
        (status, &same["role"]),
        (200, &json!("viewer")),
        "unchanged"
    );
    let (status, promoted) = world
        .add(
            OWNER,
            "main",
            json!({ "member": "user:4242", "role": "admin" }),
        )
        .await;
    assert_eq!(
        (status, &promoted["role"]),
        (200, &json!("admin")),
        "{promoted}"
    );
    let (status, by_name) = world
        .add(
            HASHED,
            "main",
            json!({ "member": "@Bob_Smith", "role": "viewer" }),
        )
        .await;
    assert_eq!(
        status, 201,
        "a token configured by its digest works: {by_name}"
    );
    assert_eq!(by_name["member"], "@bob_smith");
    assert_eq!(by_name["added_by"], "token:hashed");

    let (_, list) = world.list(OWNER, "main").await;
    assert_eq!(list["members"].as_array().unwrap().len(), 5);
    assert_eq!(entry(&list, "user:4242").unwrap()["role"], "admin");
    assert_eq!(
        entry(&list, "username:bob_smith").unwrap()["source"],
        "runtime"
    );
    let (_, billing) = world.list(OWNER, "billing").await;
    assert!(entry(&billing, "user:4242").is_none(), "{billing}");

    let (status, body) = world.remove(OWNER, "main", "4242").await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = world.remove(OWNER, "main", "4242").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = world.remove(OWNER, "main", "%40bob_smith").await;
    assert_eq!(status, 204, "members are named as people write them");
    let (_, list) = world.list(OWNER, "main").await;
    assert_eq!(list["members"].as_array().unwrap().len(), 3);

    let (status, audit) = world
        .call(reqwest::Method::GET, Some(OWNER), "/audit?limit=20", None)
        .await;
    assert_eq!(status, 200);
    let actions: Vec<(String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("member"))
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("token:owner", "member removed"),
        ("token:owner", "member removed"),
        ("token:hashed", "member added"),
        ("token:owner", "member role changed"),
        ("token:owner", "member added"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(actions, expected, "newest first, one row per change");
    world.stop().await;
}

async fn only_tokens_that_own_the_database_manage_its_members(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let newcomer = json!({ "member": NEWCOMER, "role": "viewer" });
    for token in [ADMIN, VIEWER, ELSEWHERE] {
        let (status, body) = world.list(token, "main").await;
        assert_eq!(status, 403, "{token}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("may not manage the members of database main"),
            "{body}"
        );
        let (status, _) = world.add(token, "main", newcomer.clone()).await;
        assert_eq!(status, 403, "{token}");
        let (status, _) = world.remove(token, "main", "2000").await;
        assert_eq!(status, 403, "{token}");
    }
    let (status, body) = world.add(ELSEWHERE, "billing", newcomer.clone()).await;
    assert_eq!(status, 201, "an owner of billing manages billing: {body}");
    let (status, body) = world.list(OWNER, "nowhere").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = world.add(OWNER, "nowhere", newcomer.clone()).await;
    assert_eq!(status, 404);
    let (status, _) = world.remove(OWNER, "nowhere", "4242").await;
    assert_eq!(status, 404);

    for token in [
        None,
        Some("wrong-token-0123456789"),
        Some(support::WEBHOOK_TOKEN),
    ] {
        let (status, body) = world
            .call(reqwest::Method::GET, token, "/databases/main/admins", None)
            .await;
        assert_eq!(status, 401, "{token:?}: {body}");
    }

    // A token created at runtime opens the API until it is revoked.
    let store = world.store().await;
    let created = "created-owner-token-0123456789";
    let id = store
        .create_token(
            "created",
            &sha256_hex(created),
            Role::Owner,
            None,
            "@owner",
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let (status, _) = world.list(created, "main").await;
    assert_eq!(status, 200);
    assert!(store.revoke_token(id, "@owner", Utc::now()).await.unwrap());
    let (status, _) = world.list(created, "main").await;
    assert_eq!(status, 401, "a revoked token opens nothing");
    let (status, _) = world.add(created, "main", newcomer).await;
    assert_eq!(status, 401);
    let (_, list) = world.list(OWNER, "main").await;
    assert!(entry(&list, "user:4242").is_none(), "{list}");
    world.stop().await;
}

async fn bad_input_is_named_and_locked_members_conflict(backend: Backend) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{\"member\": 4242, ".to_vec(), "body"),
        (b"".to_vec(), "body"),
        (b"[4242, \"admin\"]".to_vec(), "body"),
        (
            json!({ "role": "admin" }).to_string().into_bytes(),
            "member",
        ),
        (
            json!({ "member": "alice", "role": "admin" })
                .to_string()
                .into_bytes(),
            "member",
        ),
        (
            json!({ "member": 0, "role": "admin" })
                .to_string()
                .into_bytes(),
            "member",
        ),
        (
            json!({ "member": 4.5, "role": "admin" })
                .to_string()
                .into_bytes(),
            "member",
        ),
        (
            json!({ "member": [1], "role": "admin" })
                .to_string()
                .into_bytes(),
            "member",
        ),
        (json!({ "member": 4242 }).to_string().into_bytes(), "role"),
        (
            json!({ "member": 4242, "role": "owner" })
                .to_string()
                .into_bytes(),
            "role",
        ),
        (
            json!({ "member": 4242, "role": "Admin" })
                .to_string()
                .into_bytes(),
            "role",
        ),
        (
            json!({ "member": 4242, "role": "admin", "expires": "never" })
                .to_string()
                .into_bytes(),
            "expires",
        ),
    ];
    for (body, field) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, answer) = world.add_raw(OWNER, "main", body).await;
        assert_eq!(status, 400, "{shown}: {answer}");
        assert_eq!(answer["field"], field, "{shown}: {answer}");
    }
    let (status, answer) = world.remove(OWNER, "main", "alice").await;
    assert_eq!(
        (status, &answer["field"]),
        (400, &json!("member")),
        "{answer}"
    );

    for member in [
        json!(CONFIG_ADMIN),
        json!("@Alice"),
        json!(2500),
        json!(1000),
    ] {
        let (status, answer) = world
            .add(OWNER, "main", json!({ "member": member, "role": "viewer" }))
            .await;
        assert_eq!(status, 409, "{member}: {answer}");
    }
    for member in ["2000", "%40alice", "2500"] {
        let (status, answer) = world.remove(OWNER, "main", member).await;
        assert_eq!(status, 409, "{member}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("configuration file"),
            "{answer}"
        );
    }
    // Once they claimed their username (with /start), people are the same person by id and by
    // username: config @alice is locked under her id too, and an owner cannot be added under their
    // username.
    let store = world.store().await;
    let now = chrono::Utc::now();
    for (id, name) in [(4343, "alice"), (1000, "the_owner")] {
        store
            .remember_user(id, Some(name), None, now)
            .await
            .unwrap();
        store.claim_username(name, id, now).await.unwrap();
    }
    for member in [json!(4343), json!("@the_owner")] {
        let (status, answer) = world
            .add(OWNER, "main", json!({ "member": member, "role": "admin" }))
            .await;
        assert_eq!(status, 409, "{member}: {answer}");
    }
    let (_, list) = world.list(OWNER, "main").await;
    assert_eq!(list["members"].as_array().unwrap().len(), 3, "{list}");
    world.stop().await;
}

async fn a_member_added_over_rest_hears_the_next_alert_and_a_removed_one_does_not(
    backend: Backend,
) {
    let Some(world) = World::start(backend).await else {
        return;
    };
    let store = world.store().await;
    let (status, body) = world
        .add(
            OWNER,
            "main",
            json!({ "member": NEWCOMER, "role": "admin" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    world
        .telegram
        .newest_containing(NEWCOMER, "made you an admin of <b>main</b>", WAIT)
        .await;

    let first = world.fire("main", "MembersRestFirst").await;
    world
        .telegram
        .newest_containing(NEWCOMER, "MembersRestFirst", WAIT)
        .await;
    assert!(
        store
            .has_job(first, JobKind::TelegramSend, "user:4242")
            .await
            .unwrap()
    );

    let (status, body) = world.remove(OWNER, "main", "4242").await;
    assert_eq!(status, 204, "{body}");
    world
        .telegram
        .newest_containing(NEWCOMER, "removed you from <b>main</b>", WAIT)
        .await;

    let second = world.fire("main", "MembersRestSecond").await;
    // The webhook answers once the incident and its deliveries are committed: none is for them.
    assert!(
        !store
            .has_job(second, JobKind::TelegramSend, "user:4242")
            .await
            .unwrap()
    );
    world
        .telegram
        .newest_containing(CONFIG_ADMIN, "MembersRestSecond", WAIT)
        .await;
    assert!(
        world
            .telegram
            .messages(NEWCOMER)
            .iter()
            .all(|m| !m.text.contains("MembersRestSecond")),
        "the removed member was told of the next alert"
    );
    world.stop().await;
}
