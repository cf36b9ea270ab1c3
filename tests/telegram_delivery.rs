//! Alerts in Telegram, end to end: the service talks to a fake Bot API server (through
//! `telegram.api_url`) and an SMTP sink (through `smtp.url`), exactly as it would to the real ones.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[macro_use]
mod support;

use std::time::Duration;

use serde_json::json;
use support::fake_telegram::{
    self, SentMessage, alerts_told, callback_update, in_language, text_update,
};
use support::smtp_sink::SmtpSink;
use support::{BOT_TOKEN, Backend, Service, alert, fixture, notification};

const OWNER: i64 = 1000;
const ADMIN: i64 = 2000;
const ALICE: i64 = 2100;
const GROUP: i64 = -1001;
const STRANGER: i64 = 9999;
const WAIT: Duration = Duration::from_secs(15);
/// `escalation.ack_timeout` of the tests' config: the tests move the clock forward by it.
const ACK_TIMEOUT: Duration = Duration::from_secs(600);
const WEBHOOK_SECRET: &str = "telegram-webhook-secret-0123";

/// Knobs of the test config.
struct Setup {
    telegram_failure_after: &'static str,
    /// `escalation.severities`, as YAML.
    severities: &'static str,
    admins: Vec<String>,
    alertmanager: Option<String>,
    /// Receive updates by webhook on this port instead of long polling.
    webhook_port: Option<u16>,
    /// `databases[0].language`, when set.
    language: Option<&'static str>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            telegram_failure_after: "2m",
            severities: "[]",
            admins: vec![ADMIN.to_string(), "\"@alice\"".to_owned()],
            alertmanager: None,
            webhook_port: None,
            language: None,
        }
    }
}

/// The service (`support::Service`, which `World` reads through to) and the SMTP sink it mails to.
struct World {
    service: Service,
    smtp: SmtpSink,
}

impl std::ops::Deref for World {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

impl World {
    async fn start(setup: Setup) -> World {
        let smtp = SmtpSink::start().await;
        let alertmanager = setup
            .alertmanager
            .map(|url| format!("alertmanager: {{ url: \"{url}\" }}"))
            .unwrap_or_default();
        let (listen, webhook_mode) = match setup.webhook_port {
            Some(port) => (
                format!("127.0.0.1:{port}"),
                format!(
                    ", webhook_url: \"http://127.0.0.1:{port}/telegram/updates\", webhook_secret: \"{WEBHOOK_SECRET}\""
                ),
            ),
            None => ("127.0.0.1:0".to_owned(), String::new()),
        };
        let service = Service::start_with(Backend::Sqlite, &[], |ctx| {
            format!(
                r#"
telegram: {{ token: "{BOT_TOKEN}", api_url: "{api}"{webhook_mode} }}
http: {{ listen: "{listen}", webhook_token: "{webhook}" }}
state: "{state}"
owners: [{OWNER}]
smtp: {{ url: "{smtp}", from: "postgram@example.com" }}
{alertmanager}
escalation: {{ ack_timeout: 10m, telegram_failure_after: {failure}, severities: {severities} }}
databases:
  - name: main
    dsn: "postgres://postgres@127.0.0.1:5432/postgres"
    match: {{ cluster: main }}
    admins: [{admins}]
    chat: {GROUP}
    email: [dba@example.com]
{language}
api_tokens:
  - {{ name: tests, token: "{api_token}", role: viewer }}
"#,
                api_token = support::API_TOKEN,
                api = ctx.api_url,
                webhook = ctx.webhook_token,
                state = ctx.state_url,
                smtp = smtp.url(),
                failure = setup.telegram_failure_after,
                severities = setup.severities,
                admins = setup.admins.join(", "),
                language = setup
                    .language
                    .map(|code| format!("    language: {code}"))
                    .unwrap_or_default(),
            )
        })
        .await
        .unwrap();
        World { service, smtp }
    }

    async fn stop(self) {
        self.service.stop().await;
    }

    /// Alice writes /start, which links "@alice" in the config to her id.
    async fn alice_starts(&self) {
        self.telegram
            .push_update(text_update(ALICE, Some("alice"), ALICE, "/start"));
        self.telegram
            .wait_for("the reply to /start", WAIT, |t| {
                t.messages(ALICE)
                    .into_iter()
                    .find(|m| m.text.contains("You administer"))
            })
            .await;
    }

    /// The newest message in `chat` whose text contains `needle`, once there is one.
    async fn message(&self, chat: i64, needle: &str) -> SentMessage {
        self.telegram.newest_containing(chat, needle, WAIT).await
    }

    async fn press(
        &self,
        user: i64,
        username: Option<&str>,
        message: &SentMessage,
        data: &str,
    ) -> String {
        self.buttons_recorded(message).await;
        self.telegram
            .press(user, username, message, data, WAIT)
            .await
    }
}

/// The callback data of the buttons whose payloads are `payloads`.
fn tokens<S: AsRef<str>>(payloads: &[S]) -> Vec<String> {
    payloads
        .iter()
        .map(|p| support::button_token(p.as_ref()))
        .collect()
}

/// The callback data of a message's buttons.
fn buttons(message: &SentMessage) -> Vec<String> {
    fake_telegram::buttons(message)
        .into_iter()
        .map(|(_, data)| data)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_every_admin_and_the_group_then_ack_and_resolve_edit_them_all() {
    let world = World::start(Setup::default()).await;
    world.alice_starts().await;
    let (status, answer) = world.app.post_webhook(&fixture("1.json")).await;
    assert_eq!(status, 200);
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();

    let chats = [ADMIN, ALICE, GROUP];
    let mut sent = Vec::new();
    for chat in chats {
        let message = world.message(chat, "PostgresReplicationLag").await;
        assert!(
            message.text.contains("🔴 <b>FIRING</b> · <b>main</b>"),
            "{}",
            message.text
        );
        assert!(
            message.text.contains("Replication lag &gt; 30s"),
            "escaped: {}",
            message.text
        );
        assert_eq!(
            buttons(&message),
            tokens(&[
                format!("ack:{id}"),
                format!("sil:{id}:1"),
                format!("sil:{id}:4"),
                format!("sil:{id}:24")
            ])
        );
        sent.push(message);
    }

    // A stranger in the group presses Acknowledge: refused, audited, nothing changes.
    let answer = world
        .press(
            STRANGER,
            Some("mallory"),
            &sent[2],
            &tokens(&[format!("ack:{id}")])[0],
        )
        .await;
    assert!(answer.starts_with("Not allowed"), "{answer}");
    // The admin presses it in the group: the person is authorised, not the chat.
    let answer = world
        .press(
            ADMIN,
            Some("bob"),
            &sent[2],
            &tokens(&[format!("ack:{id}")])[0],
        )
        .await;
    assert!(answer.starts_with("Acknowledged"), "{answer}");
    for chat in chats {
        let message = world.message(chat, "Acknowledged by @bob").await;
        assert!(!buttons(&message).contains(&tokens(&[format!("ack:{id}")])[0]));
    }
    // Alice's copy no longer carries Acknowledge: a press of the old button is refused.
    let answer = world
        .press(
            ALICE,
            Some("alice"),
            &sent[1],
            &tokens(&[format!("ack:{id}")])[0],
        )
        .await;
    assert!(answer.starts_with("Not allowed"), "{answer}");

    world.app.post_webhook(&fixture("2.json")).await;
    for chat in chats {
        let message = world.message(chat, "RESOLVED").await;
        assert!(message.text.contains("after 13 s"), "{}", message.text);
        assert!(
            buttons(&message).is_empty(),
            "no buttons on a resolved alert"
        );
        assert_eq!(
            world
                .telegram
                .messages(chat)
                .iter()
                .filter(|m| m.text.contains("PostgresReplicationLag"))
                .count(),
            1,
            "edited in place"
        );
    }
    assert_eq!(world.telegram.too_many_requests(), 0);
    assert!(
        world.smtp.received().is_empty(),
        "no email: Telegram delivered and someone acknowledged"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_get_a_polite_refusal_and_nothing_else() {
    let world = World::start(Setup::default()).await;
    world
        .telegram
        .push_update(text_update(STRANGER, Some("mallory"), STRANGER, "/alerts"));
    let refusal = world.message(STRANGER, "Sorry").await;
    assert!(refusal.text.contains(&STRANGER.to_string()));
    world
        .telegram
        .push_update(text_update(ADMIN, None, ADMIN, "/whoami"));
    let whoami = world.message(ADMIN, "You are").await;
    assert!(
        whoami.text.contains("You administer <b>main</b>"),
        "{}",
        whoami.text
    );
    world
        .telegram
        .push_update(text_update(OWNER, None, OWNER, "/whoami"));
    assert!(
        world
            .message(OWNER, "owner")
            .await
            .text
            .contains("<b>main</b>")
    );
    assert_eq!(world.telegram.messages(STRANGER).len(), 1);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_incidents_list_with_buttons() {
    let world = World::start(Setup::default()).await;
    world.app.post_webhook(&fixture("1.json")).await;
    world.message(ADMIN, "PostgresReplicationLag").await;
    world
        .telegram
        .push_update(text_update(ADMIN, None, ADMIN, "/alerts"));
    let list = world.message(ADMIN, "Firing now").await;
    assert!(
        fake_telegram::buttons(&list)
            .iter()
            .any(|(label, _)| label.starts_with("☑️ #")),
        "{list:?}"
    );
    world
        .telegram
        .push_update(text_update(ADMIN, None, ADMIN, "/incidents"));
    let history = world.message(ADMIN, "Incidents of main").await;
    assert!(history.text.contains("PostgresReplicationLag"));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_acknowledging_in_time_sends_email() {
    let world = World::start(Setup::default()).await;
    world.alice_starts().await;
    world.app.post_webhook(&fixture("1.json")).await;
    world.message(ADMIN, "PostgresReplicationLag").await;
    world.advance(ACK_TIMEOUT).await;
    let mail = world.smtp.wait_for_mail(1, WAIT).await;
    assert_eq!(mail[0].to, ["dba@example.com"]);
    assert_eq!(mail[0].subject, "[FIRING] main PostgresReplicationLag");
    assert!(
        mail[0]
            .part("text/plain")
            .unwrap()
            .contains("Nobody acknowledged")
    );
    // Those who were emailed about it hear of its resolution too.
    world.app.post_webhook(&fixture("2.json")).await;
    let mail = world.smtp.wait_for_mail(2, WAIT).await;
    assert_eq!(mail[1].subject, "[RESOLVED] main PostgresReplicationLag");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_can_be_limited_to_some_severities() {
    let world = World::start(Setup {
        severities: "[page]",
        ..Setup::default()
    })
    .await;
    world.alice_starts().await;
    let (_, answer) = world.app.post_webhook(&fixture("1.json")).await;
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();
    world.advance(ACK_TIMEOUT).await;
    let app = &world.app;
    let result = support::eventually("the escalation to be decided", WAIT, || async {
        let (_, detail) = app.get(&format!("/incidents/{id}")).await;
        detail["deliveries"]
            .as_array()?
            .iter()
            .find(|d| d["kind"] == "email.escalation")?["result"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    assert_eq!(
        result, "skipped: severity",
        "a critical alert is not in [page]"
    );
    assert!(world.smtp.received().is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_down_falls_back_to_email_after_the_configured_time() {
    let world = World::start(Setup {
        telegram_failure_after: "1s",
        ..Setup::default()
    })
    .await;
    world.alice_starts().await;
    world.telegram.set_down(true);
    world.app.post_webhook(&fixture("1.json")).await;
    let mail = world.smtp.wait_for_mail(1, Duration::from_secs(30)).await;
    assert_eq!(mail[0].subject, "[FIRING] main PostgresReplicationLag");
    assert!(
        mail[0]
            .part("text/plain")
            .unwrap()
            .contains("Telegram has failed"),
        "{:?}",
        mail[0].part("text/plain")
    );
    // Telegram comes back: the messages still go out, nothing was dropped.
    world.telegram.set_down(false);
    for chat in [ADMIN, ALICE, GROUP] {
        world.message(chat, "PostgresReplicationLag").await;
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_admin_gets_email_instead_and_owners_are_told_once() {
    let world = World::start(Setup::default()).await;
    world.alice_starts().await;
    world.telegram.block_chat(ADMIN);
    world.app.post_webhook(&fixture("1.json")).await;
    world.app.post_webhook(&fixture("3.json")).await;
    let notice = world.message(OWNER, "cannot reach").await;
    assert!(notice.text.contains("user:2000"), "{}", notice.text);
    let mail = world.smtp.wait_for_mail(1, WAIT).await;
    assert!(
        mail[0]
            .part("text/plain")
            .unwrap()
            .contains("could not deliver this alert to user:2000")
    );
    let second = notification(
        "firing",
        vec![alert(
            "dddd000000000001",
            "firing",
            "2026-11-22T11:00:00Z",
            json!({ "alertname": "Second", "cluster": "main" }),
        )],
    );
    world.app.post_webhook(&second).await;
    world.message(ALICE, "Second").await;
    world.smtp.wait_for_mail(2, WAIT).await;
    assert_eq!(
        world
            .telegram
            .messages(OWNER)
            .iter()
            .filter(|m| m.text.contains("cannot reach"))
            .count(),
        1,
        "owners are told once"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_became_a_supergroup_is_followed() {
    let world = World::start(Setup::default()).await;
    world.telegram.migrate_chat(GROUP, -100_777);
    world.app.post_webhook(&fixture("1.json")).await;
    world.message(-100_777, "PostgresReplicationLag").await;
    world.app.post_webhook(&fixture("2.json")).await;
    world.message(-100_777, "RESOLVED").await;
    assert!(world.telegram.messages(GROUP).is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_are_created_and_expired_in_the_real_alertmanager() {
    let Some(binary) = support::alertmanager::alertmanager_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let am =
        support::alertmanager::start_alertmanager(&binary, dir.path(), "http://127.0.0.1:9/unused")
            .await;
    let world = World::start(Setup {
        alertmanager: Some(am.base.clone()),
        ..Setup::default()
    })
    .await;
    let (_, answer) = world.app.post_webhook(&fixture("1.json")).await;
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();
    let message = world.message(ADMIN, "PostgresReplicationLag").await;
    let answer = world
        .press(ADMIN, None, &message, &tokens(&[format!("sil:{id}:4")])[0])
        .await;
    assert_eq!(answer, "Silencing for 4h…");
    let silenced = world.message(ADMIN, "Silenced by user 2000").await;
    assert_eq!(
        buttons(&silenced),
        tokens(&[format!("ack:{id}"), format!("uns:{id}")])
    );

    let client = postgram::silences::SilenceApi::new(&am.base);
    let active = client.list_active(None).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].created_by, "user 2000");
    let names: Vec<&str> = active[0].matchers.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["alertname", "cluster", "instance", "severity"]);

    world
        .telegram
        .push_update(text_update(ADMIN, None, ADMIN, "/silences"));
    let list = world.message(ADMIN, "Active silences").await;
    assert_eq!(buttons(&list), tokens(&[format!("uns:{id}")]));
    world
        .press(ADMIN, None, &list, &tokens(&[format!("uns:{id}")])[0])
        .await;
    world.message(ADMIN, "is expired").await;
    assert!(client.list_active(None).await.unwrap().is_empty());
    let edited = world.message(ADMIN, "PostgresReplicationLag").await;
    assert!(!edited.text.contains("Silenced"), "{}", edited.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_1000_alerts_informs_ten_admins_without_429s_or_losses() {
    let admins: Vec<i64> = (3001..=3010).collect();
    let world = World::start(Setup {
        admins: admins.iter().map(ToString::to_string).collect(),
        ..Setup::default()
    })
    .await;
    for batch in 0..10 {
        let alerts = (0..100)
            .map(|i| {
                alert(
                    &format!("eeee{batch:04}{i:08}"),
                    "firing",
                    "2026-11-22T11:00:00Z",
                    json!({ "alertname": format!("Storm{}", i % 7), "cluster": "main", "severity": "warning" }),
                )
            })
            .collect();
        let (status, _) = world
            .app
            .post_webhook(&notification("firing", alerts))
            .await;
        assert_eq!(status, 200);
    }
    let everyone = admins.clone();
    world
        .telegram
        .wait_for(
            "every admin to be told of every alert",
            Duration::from_secs(20),
            move |t| {
                everyone
                    .iter()
                    .all(|chat| alerts_told(t, *chat, "Storm") >= 1000)
                    .then_some(())
            },
        )
        .await;
    assert_eq!(
        world.telegram.too_many_requests(),
        0,
        "the throttle kept every limit"
    );
    let metrics = world.app.get_text("/metrics").await.1;
    let pending: i64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("postgram_outbox_due_jobs{kind=\"telegram.send\"}")
                || l.starts_with("postgram_outbox_scheduled_jobs{kind=\"telegram.send\"}")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<i64>().unwrap())
        .sum();
    let sent = world
        .telegram
        .all_messages()
        .iter()
        .filter(|m| m.text.contains("Storm") && !m.text.contains("new alerts"))
        .count() as i64;
    // Pending sends include the alerts still waiting in the admins' feeds. A message just sent may
    // not be marked done yet, so the sum can exceed 10,000, never fall short.
    assert!(
        pending + sent >= 10_000,
        "lost messages: {pending} queued + {sent} sent"
    );
    world.stop().await;
}

/// After a storm digest the individual messages follow one by one, and an alert that arrives meanwhile
/// is not queued behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_digest_a_new_alert_goes_before_the_messages_behind_it() {
    let world = World::start(Setup {
        admins: vec![ADMIN.to_string()],
        ..Setup::default()
    })
    .await;
    let storm = |names: &[String], marker: &str| {
        let alerts = names
            .iter()
            .map(|name| {
                alert(
                    name,
                    "firing",
                    "2026-11-22T11:00:00Z",
                    json!({ "alertname": format!("{marker}{name}"), "cluster": "main", "severity": "warning" }),
                )
            })
            .collect();
        notification("firing", alerts)
    };
    let names: Vec<String> = (0..12).map(|i| format!("ffff{i:012}")).collect();
    let (status, _) = world.app.post_webhook(&storm(&names, "Burst")).await;
    assert_eq!(status, 200);
    let digest = world.message(ADMIN, "new alerts").await;
    assert!(
        digest.text.contains("<b>12 new alerts</b>"),
        "{}",
        digest.text
    );
    // The first message behind the digest has gone: the backlog is under way.
    world.message(ADMIN, "Burstffff").await;
    let (status, _) = world
        .app
        .post_webhook(&storm(&["ffff999999999999".to_owned()], "Fresh"))
        .await;
    assert_eq!(status, 200);
    world.message(ADMIN, "Freshffff999999999999").await;
    let behind = world
        .telegram
        .messages(ADMIN)
        .iter()
        .filter(|m| m.text.contains("Burstffff") && !m.text.contains("new alerts"))
        .count();
    assert!(
        behind < 12,
        "the new alert waited for all {behind} messages behind the digest"
    );
    // And the rest of the backlog still follows, each alert once.
    world
        .telegram
        .wait_for(
            "every message behind the digest",
            Duration::from_secs(60),
            |t| (alerts_told(t, ADMIN, "Burstffff") >= 24).then_some(()),
        )
        .await;
    for name in &names {
        let copies = world
            .telegram
            .messages(ADMIN)
            .iter()
            .filter(|m| m.text.contains(&format!("Burst{name}")) && !m.text.contains("new alerts"))
            .count();
        assert_eq!(copies, 1, "{name}");
    }
    assert_eq!(world.telegram.too_many_requests(), 0);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_takes_updates_from_telegram_only() {
    let port = support::free_port();
    let world = World::start(Setup {
        webhook_port: Some(port),
        ..Setup::default()
    })
    .await;
    let set = world
        .telegram
        .wait_for("setWebhook", WAIT, |t| {
            t.calls_to("setWebhook").first().cloned()
        })
        .await;
    assert_eq!(set.params["secret_token"], WEBHOOK_SECRET);
    let url = format!("http://127.0.0.1:{port}/telegram/updates");
    let update = text_update(ADMIN, None, ADMIN, "/whoami");
    for wrong in [None, Some("not-the-secret-at-all-000")] {
        let status = world
            .telegram
            .post_webhook(&url, wrong, update.clone())
            .await;
        assert_eq!(status, 401, "secret {wrong:?}");
    }
    let status = world
        .telegram
        .post_webhook(&url, Some(WEBHOOK_SECRET), update)
        .await;
    assert_eq!(status, 200);
    world.message(ADMIN, "You are").await;
    assert!(
        world.telegram.calls_to("getUpdates").is_empty(),
        "no long polling in webhook mode"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_keeps_the_email_queued_until_it_is_back() {
    let world = World::start(Setup::default()).await;
    world.alice_starts().await;
    world.smtp.set_down(true);
    world.app.post_webhook(&fixture("1.json")).await;
    world.message(ADMIN, "PostgresReplicationLag").await;
    world.advance(ACK_TIMEOUT).await;
    let app = &world.app;
    support::eventually(
        "the escalation email to fail while SMTP is down",
        WAIT,
        || async {
            let metrics = app.get_text("/metrics").await.1;
            metrics
                .contains("postgram_emails_total{kind=\"email.escalation\",result=\"transient\"}")
                .then_some(())
        },
    )
    .await;
    assert!(world.smtp.received().is_empty());
    world.smtp.set_down(false);
    let back = std::time::Instant::now();
    let mail = world.smtp.wait_for_mail(1, Duration::from_secs(30)).await;
    eprintln!(
        "SMTP down then up: the queued email went out {:.1?} after the server came back",
        back.elapsed()
    );
    assert!(
        mail[0]
            .part("text/plain")
            .unwrap()
            .contains("Nobody acknowledged")
    );
    let metrics = world.app.get_text("/metrics").await.1;
    assert!(metrics.contains("postgram_emails_total{kind=\"email.escalation\",result=\"sent\"} 1"));
    assert!(metrics.contains("postgram_telegram_messages_total{action=\"send\",result=\"ok\"} 3"));
    assert!(metrics.contains("postgram_telegram_rate_limited_total 0"));
    assert!(metrics.contains("postgram_delivery_latency_seconds_count 3"));
    world.stop().await;
}

/// The labels of a message's buttons.
fn labels(message: &SentMessage) -> Vec<String> {
    fake_telegram::buttons(message)
        .into_iter()
        .map(|(label, _)| label)
        .collect()
}

/// Each person reads alerts in their own language: Alice's Telegram is in Russian, so her copy, its
/// buttons, the answer to her press and the acknowledgement edit are Russian, while the English admin
/// and the group (the database speaks English) read English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_reads_alerts_buttons_and_acknowledgements_in_their_language() {
    let world = World::start(Setup::default()).await;
    for (user, username, code) in [(ALICE, Some("alice"), "ru"), (ADMIN, None, "en")] {
        world.telegram.push_update(in_language(
            text_update(user, username, user, "/start"),
            code,
        ));
        world
            .telegram
            .wait_for("the reply to /start", WAIT, |t| {
                t.messages(user).first().cloned()
            })
            .await;
    }
    let (_, answer) = world.app.post_webhook(&fixture("1.json")).await;
    let id = answer["alerts"][0]["incident"].as_i64().unwrap();

    let russian = world.message(ALICE, "PostgresReplicationLag").await;
    assert!(
        russian.text.starts_with("🔴 <b>СРАБОТАЛ</b> · <b>main</b>"),
        "{}",
        russian.text
    );
    assert!(russian.text.contains("Начало: "), "{}", russian.text);
    assert!(russian.text.contains(" назад)"), "{}", russian.text);
    assert_eq!(
        labels(&russian),
        ["☑️ Подтвердить", "🔕 1 ч", "🔕 4 ч", "🔕 24 ч"]
    );
    for chat in [ADMIN, GROUP] {
        let english = world.message(chat, "PostgresReplicationLag").await;
        assert!(english.text.contains("<b>FIRING</b>"), "{}", english.text);
        assert!(english.text.contains("Started "), "{}", english.text);
        assert_eq!(
            labels(&english),
            ["☑️ Acknowledge", "🔕 1h", "🔕 4h", "🔕 24h"]
        );
    }

    world.buttons_recorded(&russian).await;
    let press = callback_update(
        ALICE,
        Some("alice"),
        ALICE,
        russian.message_id,
        &tokens(&[format!("ack:{id}")])[0],
    );
    let answer = world
        .telegram
        .press_with(in_language(press, "ru"), WAIT)
        .await;
    assert_eq!(answer, "Подтверждено: все видят, что вы этим занимаетесь.");
    let edited = world.message(ALICE, "☑️ Подтверждено: @alice, ").await;
    assert_eq!(edited.message_id, russian.message_id, "edited in place");
    assert_eq!(labels(&edited), ["🔕 1 ч", "🔕 4 ч", "🔕 24 ч"]);
    for chat in [ADMIN, GROUP] {
        let edited = world.message(chat, "☑️ Acknowledged by @alice at ").await;
        assert_eq!(labels(&edited), ["🔕 1h", "🔕 4h", "🔕 24h"]);
    }
    world.stop().await;
}

/// A database whose `language` is Russian: its emails (subject, text and HTML), its group chat, the
/// admins the bot has not met yet and its storm digests read Russian.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_database_emails_and_digests_in_russian() {
    let world = World::start(Setup {
        admins: vec![ADMIN.to_string()],
        language: Some("ru"),
        ..Setup::default()
    })
    .await;
    world.app.post_webhook(&fixture("1.json")).await;
    for chat in [ADMIN, GROUP] {
        let message = world.message(chat, "PostgresReplicationLag").await;
        assert!(message.text.contains("<b>СРАБОТАЛ</b>"), "{}", message.text);
    }
    world.advance(ACK_TIMEOUT).await;
    let mail = world.smtp.wait_for_mail(1, WAIT).await;
    assert_eq!(mail[0].subject, "[СРАБОТАЛ] main PostgresReplicationLag");
    let text = mail[0].part("text/plain").unwrap();
    assert!(
        text.contains("Никто не подтвердил этот алерт в Telegram за 10 мин."),
        "{text}"
    );
    assert!(text.contains("Начало: "), "{text}");
    assert!(text.contains("Инцидент #"), "{text}");
    let html = mail[0].part("text/html").unwrap();
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    assert!(html.contains("Никто не подтвердил этот алерт"), "{html}");
    assert!(html.contains("<b>СРАБОТАЛ</b>"), "{html}");

    world.app.post_webhook(&fixture("2.json")).await;
    let mail = world.smtp.wait_for_mail(2, WAIT).await;
    assert_eq!(mail[1].subject, "[РЕШЁН] main PostgresReplicationLag");
    assert!(
        mail[1]
            .part("text/plain")
            .unwrap()
            .contains("Этот инцидент решён."),
        "{:?}",
        mail[1].part("text/plain")
    );

    // 21 alerts at once are more than the chat takes one by one: a digest, in Russian's plural form.
    let alerts = (0..21)
        .map(|i| {
            alert(
                &format!("dddd{i:012}"),
                "firing",
                "2026-11-22T11:00:00Z",
                json!({ "alertname": format!("Wave{i}"), "cluster": "main", "severity": "warning" }),
            )
        })
        .collect();
    world
        .app
        .post_webhook(&notification("firing", alerts))
        .await;
    let digest = world.message(ADMIN, "новый алерт").await;
    assert!(
        digest
            .text
            .starts_with("⚠️ <b>21 новый алерт</b> пришёл быстрее, чем Telegram"),
        "{}",
        digest.text
    );
    assert_eq!(labels(&digest), ["📋 Список активных алертов"]);
    world.stop().await;
}
