//! The bot's routing, one update at a time, the way teloxide's own examples test a dispatcher: an
//! update goes in (through the fake Bot API), and the reply it gets says which branch of
//! `bot::schema` handled it. Also what a person is told when a handler fails on the service's side.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use support::fake_telegram::{Fault, SentMessage, text_update};
use support::service::Ctx;
use support::{Backend, Service, button_token};

const OWNER: i64 = 1;
const STRANGER: i64 = 777;
const GROUP: i64 = -100_321;
const WAIT: Duration = Duration::from_secs(20);

fn config(ctx: &Ctx) -> String {
    let head = ctx.head();
    // Neither database is ever connected to: no test here runs a view or an action.
    format!(
        r#"
{head}
owners: [{OWNER}]
databases:
  - {{ name: main, dsn: "postgres://nobody@127.0.0.1:9/none", match: {{ cluster: main }}, chat: {GROUP} }}
  - {{ name: billing, dsn: "postgres://nobody@127.0.0.1:9/none", match: {{ cluster: billing }} }}
"#
    )
}

async fn service() -> Option<Service> {
    Service::start_with(Backend::Sqlite, &[], config).await
}

impl Service {
    /// Sends `text` as `user` in `chat` and returns the first message the bot sends there after it.
    async fn reply_to(&self, user: i64, chat: i64, text: &str) -> SentMessage {
        let before = self.telegram.messages(chat).len();
        self.telegram
            .push_update(text_update(user, None, chat, text));
        self.telegram
            .wait_for(&format!("a reply to {text:?}"), WAIT, move |t| {
                t.messages(chat).get(before).cloned()
            })
            .await
    }
}

#[tokio::test]
async fn every_command_reaches_its_feature() {
    let Some(service) = service().await else {
        return;
    };
    let expected = [
        ("/start", "Hello"),
        ("/help", "Postgram Admin"),
        ("/whoami", "Telegram id"),
        ("/alerts", "Nothing is firing"),
        ("/incidents", "Incidents of"),
        ("/silences", "No silence created here"),
        ("/views", "Which database? (views)"),
        ("/actions", "Which database? (actions)"),
        ("/audit", "Audit log"),
        ("/admins", "which database?"),
        ("/tokens", "API tokens"),
        ("/nosuchcommand", "Send /help"),
        ("hello", "Send /help"),
    ];
    for (text, marker) in expected {
        let reply = service.reply_to(OWNER, OWNER, text).await;
        assert!(
            reply.text.contains(marker),
            "{text} was answered {:?}, not by the branch that says {marker:?}",
            reply.text
        );
    }
}

#[tokio::test]
async fn buttons_reach_their_feature() {
    let Some(service) = service().await else {
        return;
    };
    let telegram = &service.telegram;
    let picker = service.reply_to(OWNER, OWNER, "/views").await;
    let answer = telegram
        .press(OWNER, None, &picker, &button_token("vd:billing"), WAIT)
        .await;
    assert_eq!(answer, "");
    telegram
        .newest_containing(OWNER, "No views for <b>billing</b>", WAIT)
        .await;

    let members = service.reply_to(OWNER, OWNER, "/admins").await;
    telegram
        .press(OWNER, None, &members, &button_token("mem:main"), WAIT)
        .await;
    telegram
        .wait_for("the member list of main", WAIT, |t| {
            let message = t
                .messages(OWNER)
                .into_iter()
                .rev()
                .find(|m| m.message_id == members.message_id)?;
            message.text.contains("main").then_some(())
        })
        .await;

    // A button the bot did not put on this message is refused before any feature sees it.
    let refused = telegram
        .press(OWNER, None, &members, &button_token("vd:main"), WAIT)
        .await;
    assert!(refused.starts_with("Not allowed: this button is no longer valid here"));
}

#[tokio::test]
async fn strangers_are_refused_commands_and_ignored_in_groups() {
    let Some(service) = service().await else {
        return;
    };
    let refusal = service.reply_to(STRANGER, STRANGER, "/alerts").await;
    assert!(refusal.text.contains("serves the database administrators"));
    assert!(refusal.text.contains(&STRANGER.to_string()));

    // Chatter in a group from someone unknown gets nothing; the owner's command after it, in the same
    // chat (so handled after it), is the first reply there.
    service
        .telegram
        .push_update(text_update(STRANGER, None, GROUP, "hello all"));
    let first = service.reply_to(OWNER, GROUP, "/whoami").await;
    assert!(first.text.contains("Telegram id"), "{first:?}");
    assert_eq!(service.telegram.messages(GROUP).len(), 1);
}

#[tokio::test]
async fn a_failure_on_the_services_side_is_told_as_a_reference() {
    let Some(service) = service().await else {
        return;
    };
    let telegram = &service.telegram;
    // The reply to /help fails (a 400 is not tried again); the person hears of it all the same.
    telegram.fail_next("sendMessage", 1, Fault::Status(400));
    let told = service.reply_to(OWNER, OWNER, "/help").await;
    assert!(
        told.text.starts_with("Sorry, that failed on my side."),
        "{told:?}"
    );
    let reference = told
        .text
        .rsplit("reference ")
        .next()
        .unwrap()
        .trim_end_matches('.');
    assert_eq!(reference.len(), 6, "{told:?}");
    assert!(
        !told.text.contains("Bad Request"),
        "no internal detail: {told:?}"
    );

    // A press whose handler fails is answered with the same kind of notice.
    let picker = service.reply_to(OWNER, OWNER, "/admins").await;
    let before = telegram.calls_to("answerCallbackQuery").len();
    telegram.fail_next("answerCallbackQuery", 1, Fault::Status(400));
    telegram.push_update(support::fake_telegram::callback_update(
        OWNER,
        None,
        OWNER,
        picker.message_id,
        &button_token("mem:main"),
    ));
    let notice = telegram
        .wait_for(
            "the press to be answered with the failure",
            WAIT,
            move |t| {
                let calls = t.calls_to("answerCallbackQuery");
                calls
                    .get(before + 1)
                    .map(|c| c.params["text"].as_str().unwrap_or_default().to_owned())
            },
        )
        .await;
    assert!(
        notice.starts_with("Sorry, that failed on my side."),
        "{notice:?}"
    );
}
