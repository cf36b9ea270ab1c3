//! The bot's replies and answers to presses survive a passing Telegram failure: a 5xx is tried again
//! after a short pause, and while one chat's reply waits, other chats are answered.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use support::fake_telegram::{Call, FakeTelegram, Fault, callback_update, text_update};
use support::{BOT_TOKEN, Backend, Service};

const OWNER: i64 = 1000;
const ALICE: i64 = 2100;
const BOB: i64 = 2200;
/// A 5xx costs one call deadline (teloxide sleeps 10 s after it) and a pause before the next try.
const WAIT: Duration = Duration::from_secs(30);

async fn start() -> Service {
    Service::start_with(Backend::Sqlite, &[], |ctx| {
        format!(
            r#"
telegram: {{ token: "{BOT_TOKEN}", api_url: "{api}" }}
http: {{ listen: "127.0.0.1:0", webhook_token: "{webhook}" }}
state: "{state}"
owners: [{OWNER}]
databases:
  - name: main
    dsn: "postgres://postgres@127.0.0.1:5432/postgres"
    match: {{ cluster: main }}
    admins: [{ALICE}, {BOB}]
"#,
            api = ctx.api_url,
            webhook = ctx.webhook_token,
            state = ctx.state_url,
        )
    })
    .await
    .unwrap()
}

/// The calls to `method` for `chat`, in order.
fn calls_for(telegram: &FakeTelegram, method: &str, chat: i64) -> Vec<Call> {
    telegram
        .calls_to(method)
        .into_iter()
        .filter(|c| c.params["chat_id"] == chat)
        .collect()
}

/// Waits for `/start`'s reply in `chat`; the index of the sendMessage call that delivered it.
async fn reply_to_start(telegram: &FakeTelegram, chat: i64) -> usize {
    telegram
        .wait_for("the reply to /start", WAIT, |t| {
            t.calls_to("sendMessage")
                .iter()
                .position(|c| c.params["chat_id"] == chat && c.status == 200)
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_failed_with_500_is_sent_again_while_other_chats_go_on() {
    let world = start().await;
    let telegram = &world.telegram;
    telegram.fail_next("sendMessage", 1, Fault::Status(500));
    telegram.push_update(text_update(ALICE, None, ALICE, "/start"));
    telegram
        .wait_for("Alice's reply to fail", WAIT, |t| {
            calls_for(t, "sendMessage", ALICE)
                .iter()
                .any(|c| c.status == 500)
                .then_some(())
        })
        .await;

    // Alice's handler waits to try again; Bob, in his own chat, is answered meanwhile.
    telegram.push_update(text_update(BOB, None, BOB, "/start"));
    let bob = reply_to_start(telegram, BOB).await;
    let alice = reply_to_start(telegram, ALICE).await;
    assert!(bob < alice, "Bob's reply waited for Alice's retry");

    let alice_calls = calls_for(telegram, "sendMessage", ALICE);
    let statuses: Vec<u16> = alice_calls.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 200], "one failure, one resend");
    let replies = telegram.messages(ALICE);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].text.contains("You administer"),
        "{:?}",
        replies[0].text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_whose_answer_failed_with_500_is_answered_again() {
    let world = start().await;
    let telegram = &world.telegram;
    telegram.push_update(text_update(ALICE, None, ALICE, "/start"));
    reply_to_start(telegram, ALICE).await;
    let message = telegram.messages(ALICE).remove(0);

    telegram.fail_next("answerCallbackQuery", 1, Fault::Status(500));
    telegram.push_update(callback_update(
        ALICE,
        None,
        ALICE,
        message.message_id,
        "no such button",
    ));
    telegram
        .wait_for("the press to be answered", WAIT, |t| {
            t.calls_to("answerCallbackQuery")
                .iter()
                .any(|c| c.status == 200)
                .then_some(())
        })
        .await;
    let statuses: Vec<u16> = telegram
        .calls_to("answerCallbackQuery")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [500, 200]);
    world.stop().await;
}
