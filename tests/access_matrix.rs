//! The access matrix: every role × every bot command, every kind of button and every REST route, with
//! the expected allow or deny, checked through the real entry points (updates from the fake Bot API
//! server, requests over HTTP). A cell is "allowed" when the sign of that entry's success shows up in
//! what the bot sent back (or the route answers its success status); every cell is asserted, and all
//! mismatches are reported together.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use support::fake_telegram::{callback_update, text_update};
use support::service::Ctx;
use support::{Service, alert, notification, sha256_hex};

const OWNER: i64 = 1;
/// Admin of `main` (the database D of the matrix).
const ADMIN: i64 = 10;
/// Viewer of `main`.
const VIEWER: i64 = 11;
/// Admin of `billing` only.
const OTHER: i64 = 20;
const STRANGER: i64 = 5;
/// `main`'s group chat.
const GROUP: i64 = -100_500;

/// Bot roles, in the order of the expectation strings below (`y` allowed, `n` denied).
const PEOPLE: [(i64, &str); 5] = [
    (OWNER, "owner"),
    (ADMIN, "admin of D"),
    (VIEWER, "viewer of D"),
    (OTHER, "admin of another database"),
    (STRANGER, "stranger"),
];

const OWNER_TOKEN: &str = "matrix-owner-token-0123456789";
const ADMIN_TOKEN: &str = "matrix-admin-token-0123456789";
const VIEWER_TOKEN: &str = "matrix-viewer-token-0123456789";
const OTHER_TOKEN: &str = "matrix-other-token-0123456789";
const UNKNOWN_TOKEN: &str = "matrix-unknown-token-0123456789";
const REVOKED_TOKEN: &str = "matrix-revoked-token-0123456789";

/// REST identities, in the order of the status lists below.
const TOKENS: [(&str, &str); 6] = [
    (OWNER_TOKEN, "owner token"),
    (ADMIN_TOKEN, "admin-of-D token"),
    (VIEWER_TOKEN, "viewer-of-D token"),
    (OTHER_TOKEN, "other-database admin token"),
    (UNKNOWN_TOKEN, "unknown token"),
    (REVOKED_TOKEN, "revoked token"),
];

const WAIT: Duration = Duration::from_secs(20);

const VIEWS: &str = r#"
views:
  - alias: sessions
    title: Sessions
    sql: SELECT 'matrixcell' AS matrix_col
  - alias: picked
    title: Picked
    arguments:
      - { name: mode, type: enum, choices: [alpha, beta] }
    sql: SELECT :mode AS matrix_col
"#;

const ACTIONS: &str = r#"
actions:
  - alias: noop
    title: Noop
    confirm: true
    steps:
      - { name: one, sql: "SELECT 1 AS matrix_done" }
"#;

fn username(user: i64) -> String {
    format!("matrix_user_{user}")
}

/// The service's config: the catalog and its links, members and a token for each role, on `target`.
fn config(ctx: &Ctx, target: &str) -> String {
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [{OWNER}]
catalog: {{ views: views.yaml, actions: actions.yaml }}
links:
  - {{ alertname: MatrixAlert, views: [sessions], actions: [noop] }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{ADMIN}], viewers: [{VIEWER}], chat: {GROUP} }}
  - {{ name: billing, dsn: "{target}", match: {{ cluster: billing }}, admins: [{OTHER}] }}
api_tokens:
  - {{ name: matrix-ops, token: "{OWNER_TOKEN}", role: owner }}
  - {{ name: matrix-admin, token: "{ADMIN_TOKEN}", role: admin, databases: [main] }}
  - {{ name: matrix-viewer, token: "{VIEWER_TOKEN}", role: viewer, databases: [main] }}
  - {{ name: matrix-other, token: "{OTHER_TOKEN}", role: admin, databases: [billing] }}
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

    async fn sqlite(&self) -> sqlx::SqliteConnection {
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.state.sqlite_path().display()))
            .await
            .unwrap()
    }

    /// Sends `update` (a message or a press) from `user` in `chat`, then a press of a button nobody
    /// made: updates of one chat are handled in order, so once that one is answered the first is done.
    /// Returns everything the bot sent to the chat or answered the press with meanwhile, as JSON text.
    async fn exchange(&self, user: i64, chat: i64, update: Value) -> String {
        let before = self.telegram.calls().len();
        let press_id = update["callback_query"]["id"].as_str().map(str::to_owned);
        self.telegram.push_update(update);
        let name = username(user);
        let sentinel = callback_update(user, Some(&name), chat, 1, "matrix:sentinel");
        let sentinel_id = sentinel["callback_query"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.telegram.push_update(sentinel);
        self.telegram
            .wait_for("the sentinel press to be answered", WAIT, |t| {
                t.calls()
                    .iter()
                    .skip(before)
                    .find(|c| {
                        c.method == "answerCallbackQuery"
                            && c.params["callback_query_id"].as_str() == Some(sentinel_id.as_str())
                    })
                    .map(|_| ())
            })
            .await;
        self.output(before, chat, press_id.as_deref()).await
    }

    /// What the bot sent, with each button's token replaced by the payload the store records for it
    /// (so signs and ids can be read off the buttons).
    async fn output(&self, before: usize, chat: i64, press_id: Option<&str>) -> String {
        let mut out = self.raw_output(before, chat, press_id);
        let meanings: Vec<(String, String)> = sqlx::query_as("SELECT token, payload FROM buttons")
            .fetch_all(&mut self.sqlite().await)
            .await
            .unwrap();
        for (token, payload) in meanings {
            out = out.replace(
                &format!("\"callback_data\":\"{token}\""),
                &format!("\"callback_data\":\"{payload}\""),
            );
        }
        out
    }

    /// A press of a button meaning `payload` on `message`, recorded in the state store as if the bot
    /// had put it there: the matrix checks what is behind the button check (the role check).
    async fn planted(&self, user: i64, chat: i64, message: i64, payload: &str) -> Value {
        let token = support::button_token(payload);
        sqlx::query(
            "INSERT OR REPLACE INTO buttons (chat_id, message_id, token, payload, created_at) \
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(chat)
        .bind(message)
        .bind(&token)
        .bind(payload)
        .execute(&mut self.sqlite().await)
        .await
        .unwrap();
        callback_update(user, Some(&username(user)), chat, message, &token)
    }

    fn raw_output(&self, before: usize, chat: i64, press_id: Option<&str>) -> String {
        self.telegram
            .calls()
            .iter()
            .skip(before)
            .filter(|c| {
                let to_chat = c.params["chat_id"].as_i64() == Some(chat)
                    || c.params["chat_id"].as_str() == Some(&chat.to_string());
                let answers_press =
                    press_id.is_some_and(|id| c.params["callback_query_id"].as_str() == Some(id));
                to_chat || answers_press
            })
            .map(|c| format!("{} {}\n", c.method, c.params))
            .collect()
    }

    /// One cell: `user` sends `text` (a command) or presses `data`, in `chat`. `None` when the
    /// outcome is the expected one, else a line saying what went wrong and what the bot sent.
    #[allow(clippy::too_many_arguments)]
    async fn check(
        &self,
        role: &str,
        what: &str,
        user: i64,
        chat: i64,
        input: &Input,
        signs: &[&str],
        allowed: bool,
    ) -> Option<String> {
        let name = username(user);
        let before = self.telegram.calls().len();
        let update = match input {
            Input::Say(text) => text_update(user, Some(&name), chat, text),
            Input::Press(data) => {
                let message = self.last_message_id(chat);
                self.planted(user, chat, message, data).await
            }
        };
        let press_id = update["callback_query"]["id"].as_str().map(str::to_owned);
        self.exchange(user, chat, update).await;
        // Some work ends in a task of its own after the handler returned (an action's run): a sign
        // that should come gets a while, and one that should not a moment to show up anyway.
        let wait = if allowed {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(300)
        };
        let deadline = Instant::now() + wait;
        loop {
            let out = self.output(before, chat, press_id.as_deref()).await;
            let got = signs.iter().any(|s| out.contains(s));
            let settled = Instant::now() >= deadline;
            if got && allowed || !got && !allowed && settled {
                return None;
            }
            if got && !allowed || settled {
                let shown: String = out.chars().take(3000).collect();
                return Some(format!(
                    "{role}: {what}: expected {}, got {}; the bot sent: {shown}",
                    verdict(allowed),
                    verdict(got)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn last_message_id(&self, chat: i64) -> i64 {
        self.telegram
            .messages(chat)
            .last()
            .map_or(1, |m| m.message_id)
    }

    async fn rest(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> u16 {
        let url = format!("{}{path}", self.app.base);
        let request = match method {
            "GET" => self.app.client.get(url),
            "POST" => self.app.client.post(url),
            "DELETE" => self.app.client.delete(url),
            other => panic!("no method {other}"),
        };
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[derive(Clone)]
enum Input {
    Say(String),
    Press(String),
}

/// The first `<prefix><number>` in `text`: an id carried by a button.
fn id_after(text: &str, prefix: &str) -> Option<i64> {
    let start = text.find(prefix)? + prefix.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

struct Row {
    what: String,
    input: Input,
    signs: Vec<String>,
    /// One `y`/`n` per person of [`PEOPLE`].
    expect: &'static str,
}

fn row(what: &str, input: Input, signs: &[&str], expect: &'static str) -> Row {
    Row {
        what: what.to_owned(),
        input,
        signs: signs.iter().map(|s| (*s).to_owned()).collect(),
        expect,
    }
}

fn say(text: &str) -> Input {
    Input::Say(text.to_owned())
}

fn press(data: impl Into<String>) -> Input {
    Input::Press(data.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_role_meets_every_entry_point_as_expected() {
    let Some(world) = World::start().await else {
        return;
    };

    // Everyone has written to the bot once (so the bot knows their usernames and chats).
    for (user, _) in PEOPLE {
        world
            .exchange(
                user,
                user,
                text_update(user, Some(&username(user)), user, "/help"),
            )
            .await;
    }

    // A firing incident of D, its alert message in the group, and a silence on it (as if created
    // earlier through Alertmanager) for /silences and the Expire button.
    let firing = notification(
        "firing",
        vec![alert(
            "matrixfp",
            "firing",
            "2026-01-01T00:00:00Z",
            json!({ "alertname": "MatrixAlert", "cluster": "main", "severity": "critical" }),
        )],
    );
    let (status, answer) = world.app.post_webhook(&firing).await;
    assert_eq!(status, 200);
    let incident = answer["alerts"][0]["incident"].as_i64().unwrap();
    world
        .telegram
        .newest_containing(GROUP, "MatrixAlert", WAIT)
        .await;
    let until = chrono::Utc::now().timestamp_millis() + 3_600_000;
    sqlx::query(
        "UPDATE incidents SET silenced_by = '@someone', silence_id = 'matrix-silence', silenced_until = $1",
    )
    .bind(until)
    .execute(&mut world.sqlite().await)
    .await
    .unwrap();

    // A token created at runtime and revoked: it must open nothing.
    let revoked = {
        let digest = sha256_hex(REVOKED_TOKEN);
        let mut db = world.sqlite().await;
        sqlx::query(
            "INSERT INTO api_tokens (name, sha256, role, databases, created_by, created_at, revoked_at, revoked_by) \
             VALUES ('matrix-revoked', $1, 'owner', NULL, '@owner', 0, 1, '@owner')",
        )
        .bind(&digest)
        .execute(&mut db)
        .await
        .unwrap();
        let active: i64 =
            sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL")
                .fetch_one(&mut db)
                .await
                .unwrap();
        assert_eq!(active, 0);
        digest
    };
    assert!(!revoked.is_empty());
    // A token to revoke from the bot.
    let to_revoke: i64 = {
        let mut db = world.sqlite().await;
        sqlx::query(
            "INSERT INTO api_tokens (name, sha256, role, databases, created_by, created_at) \
             VALUES ('matrix-victim', $1, 'viewer', NULL, '@owner', 0) RETURNING id",
        )
        .bind(sha256_hex("matrix-victim-token-0123456789"))
        .fetch_one(&mut db)
        .await
        .map(|row: sqlx::sqlite::SqliteRow| sqlx::Row::get(&row, 0))
        .unwrap()
    };

    // Dialogues of the owner's that the others will try to drive: in chats the owner's own rows
    // below never touch (a person has one dialogue per chat).
    const SIDE_CHAT: i64 = -100_600;
    let out = world
        .exchange(
            OWNER,
            SIDE_CHAT,
            world.planted(OWNER, SIDE_CHAT, 1, "vp:main:picked").await,
        )
        .await;
    let owners_view = id_after(&out, "dc:").expect("the owner may start a view");
    let out = world
        .exchange(
            OWNER,
            GROUP,
            world.planted(OWNER, GROUP, 1, "ap:main:noop").await,
        )
        .await;
    let owners_action = id_after(&out, "dr:").expect("the owner may start an action");

    let shared_rows = vec![
        // Commands.
        row("/start", say("/start"), &["Hello"], "yyyyn"),
        row("/help", say("/help"), &["sends the alerts"], "yyyyn"),
        row("/whoami", say("/whoami"), &["(Telegram id"], "yyyyn"),
        row("/language", say("/language"), &["I speak English"], "yyyyn"),
        row("/alerts", say("/alerts"), &["MatrixAlert"], "yyynn"),
        row(
            "/incidents main",
            say("/incidents main"),
            &["MatrixAlert"],
            "yyynn",
        ),
        row("/silences", say("/silences"), &["MatrixAlert"], "yyynn"),
        row("/views", say("/views"), &["vp:main:", "vd:main"], "yyynn"),
        row(
            "/actions",
            say("/actions"),
            &["ap:main:", "ad:main"],
            "yynnn",
        ),
        row("/audit", say("/audit"), &["Audit log"], "ynnnn"),
        row(
            "/admins",
            say("/admins"),
            &["mem:main", "ma:main:"],
            "ynnnn",
        ),
        row("/tokens", say("/tokens"), &["matrix-ops"], "ynnnn"),
        // Buttons on alerts and lists.
        row(
            "ack",
            press(format!("ack:{incident}")),
            &["cknowledged"],
            "yynnn",
        ),
        row(
            "silence",
            press(format!("sil:{incident}:1")),
            &["alertmanager.url"],
            "yynnn",
        ),
        row(
            "expire silence",
            press(format!("uns:{incident}")),
            &["silence to expire"],
            "yynnn",
        ),
        row("list alerts", press("alerts"), &["MatrixAlert"], "yyynn"),
        row(
            "incident page",
            press("inc:main:*"),
            &["MatrixAlert"],
            "yyynn",
        ),
        row("views of D", press("vd:main"), &["vp:main:"], "yyynn"),
        row("actions of D", press("ad:main"), &["ap:main:"], "yynnn"),
        row(
            "pick a view",
            press("vp:main:sessions"),
            &["matrixcell"],
            "yyynn",
        ),
        row("pick an action", press("ap:main:noop"), &["dr:"], "yynnn"),
        row(
            "view linked from an alert",
            press(format!("lv:{incident}:sessions")),
            &["matrixcell"],
            "yyynn",
        ),
        row(
            "action linked from an alert",
            press(format!("la:{incident}:noop")),
            &["dr:"],
            "yynnn",
        ),
        row(
            "stop an action",
            press("stop:main:noop"),
            &["not running", "Cancelling"],
            "yynnn",
        ),
        // Member and token management.
        row("member list", press("mem:main"), &["ma:main:"], "ynnnn"),
        row("database picker", press("mem:*"), &["mem:main"], "ynnnn"),
        row(
            "add a member",
            press("ma:main:v"),
            &["request_users"],
            "ynnnn",
        ),
        row(
            "invite a member",
            press("mi:main:a"),
            &["@username"],
            "ynnnn",
        ),
        row(
            "change a member",
            press("ms:main:v:username:matrixguy"),
            // The refreshed list's button for the new member (announcements name them too).
            &["ms:main:a:username:matrixguy"],
            "ynnnn",
        ),
        row(
            "token scope",
            press("tn:a:?:matrix-step"),
            &["tn:a:*:matrix-step"],
            "ynnnn",
        ),
        row("new token", press("tn:v:*:matrix-new"), &["pgm_"], "ynnnn"),
        row(
            "revoke a token",
            press(format!("tr:{to_revoke}")),
            &["matrix-victim"],
            "ynnnn",
        ),
    ];

    let mut failures = Vec::new();
    // People in parallel (each in their own private chat), rows in order for each.
    let mut tasks = Vec::new();
    let world = std::sync::Arc::new(world);
    for (index, (user, role)) in PEOPLE.into_iter().enumerate() {
        let world = std::sync::Arc::clone(&world);
        let rows: Vec<(String, Input, Vec<String>, bool)> = shared_rows
            .iter()
            .map(|r| {
                (
                    r.what.clone(),
                    r.input.clone(),
                    r.signs.clone(),
                    r.expect.as_bytes()[index] == b'y',
                )
            })
            .collect();
        let viewing = index <= 2;
        let acting = index <= 1;
        tasks.push(tokio::spawn(async move {
            // Dialogue buttons: on the person's own dialogue when their role let them start one
            // (started now: a new dialogue replaces the one before), else on the owner's.
            let own = |data: &'static str, prefix: &'static str| {
                let world = std::sync::Arc::clone(&world);
                async move {
                    let update = world.planted(user, user, 1, data).await;
                    id_after(&world.exchange(user, user, update).await, prefix)
                }
            };
            let mut failed = Vec::new();
            for (what, input, signs, allowed) in rows {
                let signs: Vec<&str> = signs.iter().map(String::as_str).collect();
                failed.extend(
                    world
                        .check(role, &what, user, user, &input, &signs, allowed)
                        .await,
                );
            }
            let view = if viewing {
                own("vp:main:picked", "dc:").await
            } else {
                None
            };
            let view = view.unwrap_or(owners_view);
            let dialogue_rows = [
                (
                    "choose a value".to_owned(),
                    press(format!("dc:{view}:0")),
                    vec!["matrix_col".to_owned()],
                    viewing,
                ),
                (
                    "page of a view".to_owned(),
                    press(format!("pg:{view}:0")),
                    vec!["matrix_col".to_owned()],
                    viewing,
                ),
                (
                    "CSV of a view".to_owned(),
                    press(format!("csv:{view}")),
                    vec!["CSV".to_owned()],
                    viewing,
                ),
                (
                    "drop a dialogue".to_owned(),
                    press(format!("dx:{view}")),
                    vec!["Cancelled".to_owned()],
                    viewing,
                ),
            ];
            for (what, input, signs, allowed) in dialogue_rows {
                let signs: Vec<&str> = signs.iter().map(String::as_str).collect();
                failed.extend(
                    world
                        .check(role, &what, user, user, &input, &signs, allowed)
                        .await,
                );
            }
            let action = if acting {
                own("ap:main:noop", "dr:").await
            } else {
                None
            };
            let action = action.unwrap_or(owners_action);
            let input = press(format!("dr:{action}"));
            let what = "confirm an action";
            failed.extend(
                world
                    .check(role, what, user, user, &input, &["Running"], acting)
                    .await,
            );
            failed
        }));
    }
    for task in tasks {
        failures.extend(task.await.unwrap());
    }

    // In D's group chat every press is authorised by the person who pressed, not by the chat.
    for (index, (user, role)) in PEOPLE.into_iter().enumerate() {
        let allowed = index <= 1;
        let input = press(format!("sil:{incident}:4"));
        let what = "silence in the group";
        let signs = ["alertmanager.url"];
        failures.extend(
            world
                .check(role, what, user, GROUP, &input, &signs, allowed)
                .await,
        );
    }

    // REST: one status per token of TOKENS.
    let routes: Vec<(&str, String, Option<Value>, [u16; 6])> = vec![
        (
            "GET",
            "/databases".into(),
            None,
            [200, 200, 200, 200, 401, 401],
        ),
        (
            "GET",
            "/incidents?database=main".into(),
            None,
            [200, 200, 200, 403, 401, 401],
        ),
        (
            "GET",
            format!("/incidents/{incident}"),
            None,
            [200, 200, 200, 404, 401, 401],
        ),
        ("GET", "/views".into(), None, [200, 200, 200, 200, 401, 401]),
        (
            "GET",
            "/views/sessions?database=main".into(),
            None,
            [200, 200, 200, 403, 401, 401],
        ),
        (
            "GET",
            "/actions".into(),
            None,
            [200, 200, 200, 200, 401, 401],
        ),
        (
            "POST",
            "/actions/execute/noop".into(),
            Some(json!({ "database": "main" })),
            [200, 200, 403, 403, 401, 401],
        ),
        ("GET", "/audit".into(), None, [200, 403, 403, 403, 401, 401]),
        (
            "GET",
            "/databases/main/admins".into(),
            None,
            [200, 403, 403, 403, 401, 401],
        ),
        (
            "POST",
            "/databases/main/admins".into(),
            Some(json!({ "member": "@matrixrest", "role": "viewer" })),
            [201, 403, 403, 403, 401, 401],
        ),
        (
            "DELETE",
            "/databases/main/admins/@matrixrest".into(),
            None,
            [204, 403, 403, 403, 401, 401],
        ),
    ];
    for (method, path, body, expected) in routes {
        for ((token, who), want) in TOKENS.iter().zip(expected) {
            let got = world.rest(method, &path, token, body.clone()).await;
            if got != want {
                failures.push(format!(
                    "{who}: {method} {path}: expected {want}, got {got}"
                ));
            }
        }
    }
    // Lists answer everyone, but only with what each may see.
    let listed = |token: &'static str| {
        let world = std::sync::Arc::clone(&world);
        async move {
            world
                .app
                .client
                .get(format!("{}/databases", world.app.base))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    if listed(OTHER_TOKEN).await.contains("\"main\"") {
        failures.push("other-database token: GET /databases lists main".to_owned());
    }
    if !listed(VIEWER_TOKEN).await.contains("\"main\"") {
        failures.push("viewer-of-D token: GET /databases does not list main".to_owned());
    }

    assert!(
        failures.is_empty(),
        "{} cell(s) of the access matrix are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let world = std::sync::Arc::into_inner(world).expect("no task holds the world any more");
    world.stop().await;
}

fn verdict(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}
