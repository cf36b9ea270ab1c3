//! Self-test of the fake Telegram Bot API, with teloxide itself as the client: every answer must
//! deserialise, and each of Telegram's limits must be refused the way the real API refuses it.
#![allow(clippy::unwrap_used)]

mod support;

// Kept beside this file rather than in `tests/`, where it would become a test binary of its own.
#[path = "fake_telegram/photos.rs"]
mod photos;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{Value, json};
use support::fake_telegram::*;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntityKind, MessageId,
    ParseMode, UpdateKind,
};
use teloxide::{ApiError, RequestError};

fn bot(fake: &FakeTelegram) -> Bot {
    Bot::new("123:abc").set_api_url(reqwest::Url::parse(&fake.api_url()).unwrap())
}

// The fake is tried with a raw button; the service makes its buttons with `callback::Keyboard`.
#[allow(clippy::disallowed_methods)]
fn keyboard(data: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![InlineKeyboardButton::callback("Ack", data)]])
}

fn api_error<T: std::fmt::Debug>(result: Result<T, RequestError>) -> ApiError {
    match result {
        Err(RequestError::Api(error)) => error,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn retry_after<T: std::fmt::Debug>(result: Result<T, RequestError>) -> u32 {
    match result {
        Err(RequestError::RetryAfter(seconds)) => seconds.seconds(),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
}

#[tokio::test]
async fn teloxide_reads_get_me_and_sent_messages() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);

    let me = bot.get_me().await.unwrap();
    assert_eq!(me.id.0, BOT_ID as u64);
    assert_eq!(me.username(), "postgram_test_bot");

    let html = "<b>disk</b> &lt;90% &amp; <a href=\"https://x.test/?a=1&b=2\">rising</a>";
    let sent = bot
        .send_message(ChatId(1), html)
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:1"))
        .await
        .unwrap();
    assert_eq!(sent.id, MessageId(1));
    assert_eq!(sent.text(), Some("disk <90% & rising"));
    assert_eq!(sent.from.as_ref().unwrap().id.0, BOT_ID as u64);
    assert!(sent.chat.is_private());
    assert!(sent.reply_markup().is_some());

    let group = bot.send_message(ChatId(-100), "plain").await.unwrap();
    assert_eq!(group.id, MessageId(1), "message ids are counted per chat");
    assert!(group.chat.is_supergroup());

    let stored = fake.messages(1);
    assert_eq!(stored[0].text, html);
    let markup = stored[0].reply_markup.as_ref().unwrap();
    assert_eq!(markup["inline_keyboard"][0][0]["callback_data"], "ack:1");
    assert_eq!(fake.all_messages().len(), 2);
    let calls = fake.calls_to("sendMessage");
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.status == 200));
    assert_eq!(calls[1].params["chat_id"], -100);
}

#[tokio::test]
async fn edits_change_the_message_and_no_op_edits_are_refused() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let (chat, id) = (ChatId(2), MessageId(1));
    bot.send_message(chat, "<i>firing</i>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:2"))
        .await
        .unwrap();
    fake.pass_time(Duration::from_secs(1));

    let edited = bot
        .edit_message_text(chat, id, "<i>resolved</i>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:2"))
        .await
        .unwrap();
    assert_eq!(edited.text(), Some("resolved"));
    assert!(edited.edit_date().is_some());

    let same = bot
        .edit_message_text(chat, id, "<i>resolved</i>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:2"))
        .await;
    assert_eq!(api_error(same), ApiError::MessageNotModified);
    let same_markup = bot
        .edit_message_reply_markup(chat, id)
        .reply_markup(keyboard("ack:2"));
    assert_eq!(api_error(same_markup.await), ApiError::MessageNotModified);
    let missing = bot.edit_message_text(chat, MessageId(99), "x").await;
    assert_eq!(api_error(missing), ApiError::MessageToEditNotFound);
    let too_long = bot.edit_message_text(chat, id, "x".repeat(4097)).await;
    assert_eq!(api_error(too_long), ApiError::EditedMessageIsTooLong);

    // A real change within a second of the accepted edit is flood-limited.
    assert_eq!(
        retry_after(bot.edit_message_reply_markup(chat, id).await),
        1
    );
    fake.pass_time(Duration::from_secs(1));
    let without_keyboard = bot.edit_message_reply_markup(chat, id).await.unwrap();
    assert!(without_keyboard.reply_markup().is_none());

    let message = &fake.messages(2)[0];
    assert_eq!(message.text, "<i>resolved</i>");
    assert_eq!(message.reply_markup, None);
    assert_eq!(message.edits, 2);

    bot.delete_message(chat, id).await.unwrap();
    assert!(fake.messages(2).is_empty());
    let again = bot.delete_message(chat, id).await;
    assert_eq!(api_error(again), ApiError::MessageToDeleteNotFound);
}

#[tokio::test]
async fn text_markup_and_button_limits_are_enforced() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let chat = ChatId(3);
    let html = |text: String| bot.send_message(chat, text).parse_mode(ParseMode::Html);

    let long = bot.send_message(chat, "x".repeat(4097)).await;
    assert_eq!(api_error(long), ApiError::MessageIsTooLong);
    // 2049 characters, but 4098 UTF-16 code units.
    let emoji = bot.send_message(chat, "😀".repeat(2049)).await;
    assert_eq!(api_error(emoji), ApiError::MessageIsTooLong);
    let empty = bot.send_message(chat, "").await;
    assert_eq!(api_error(empty), ApiError::MessageTextIsEmpty);
    let blank = html("<b> </b>".to_owned()).await;
    assert_eq!(api_error(blank), ApiError::MessageTextIsEmpty);

    for bad in [
        "1 < 2",
        "AT&T",
        "&amp",
        "<b>open",
        "<b><i>x</b></i>",
        "</b>",
        "<div>x</div>",
        "<span>x</span>",
    ] {
        let answer = html(bad.to_owned()).await;
        assert!(
            matches!(api_error(answer), ApiError::CantParseEntities(ref e) if e.starts_with("Bad Request: can't parse entities: ")),
            "{bad:?} must be refused"
        );
    }
    let data = "d".repeat(65);
    let button = bot
        .send_message(chat, "x")
        .reply_markup(keyboard(&data))
        .await;
    assert_eq!(api_error(button), ApiError::ButtonDataInvalid);
    assert!(fake.messages(3).is_empty());

    // Refusals use no flood budget; exactly 4096 visible characters and 64 bytes of data pass.
    let at_limit = html(format!("<b>{}</b>", "&lt;".repeat(4096)))
        .reply_markup(keyboard(&"d".repeat(64)))
        .await
        .unwrap();
    assert_eq!(at_limit.text().unwrap().chars().count(), 4096);
    let allowed = "<s>a</s><u>b</u><code>c</code><pre><code class=\"language-sql\">d</code></pre>\
                   <span class=\"tg-spoiler\">e</span><tg-spoiler>f</tg-spoiler><blockquote>g</blockquote>&#60;&#x3e;";
    let sent = bot
        .send_message(ChatId(30), allowed)
        .parse_mode(ParseMode::Html)
        .await
        .unwrap();
    assert_eq!(sent.text(), Some("abcdefg<>"));
    assert_eq!(fake.too_many_requests(), 0);
}

#[tokio::test]
async fn flood_control_answers_retry_after() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);

    bot.send_message(ChatId(4), "one").await.unwrap();
    assert_eq!(retry_after(bot.send_message(ChatId(4), "two").await), 1);
    assert_eq!(fake.messages(4).len(), 1, "a refused message is not stored");
    assert_eq!(fake.calls_to("sendMessage").last().unwrap().status, 429);

    // Twenty messages a minute in a group, even when spaced a second apart.
    for n in 0..20 {
        bot.send_message(ChatId(-5), format!("n{n}")).await.unwrap();
        fake.pass_time(Duration::from_secs(1));
    }
    let waited = retry_after(bot.send_message(ChatId(-5), "n20").await);
    assert!((39..=40).contains(&waited), "retry after {waited}");

    // Thirty messages a second across all chats.
    for chat in 100..130 {
        bot.send_message(ChatId(chat), "burst").await.unwrap();
    }
    assert_eq!(retry_after(bot.send_message(ChatId(130), "burst").await), 1);
    assert_eq!(fake.too_many_requests(), 3);
}

#[tokio::test]
async fn blocked_and_migrated_chats_answer_like_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);

    fake.block_chat(6);
    // Injected faults come first, then the chat's state, before any validation.
    fake.fail_next("sendMessage", 1, Fault::Status(429));
    assert_eq!(retry_after(bot.send_message(ChatId(6), "").await), 1);
    let blocked = bot.send_message(ChatId(6), "").await;
    assert_eq!(api_error(blocked), ApiError::BotBlocked);
    assert_eq!(fake.calls_to("sendMessage")[1].status, 403);

    fake.migrate_chat(-7, -1_000_007);
    match bot.send_message(ChatId(-7), "hello").await {
        Err(RequestError::MigrateToChatId(to)) => assert_eq!(to, ChatId(-1_000_007)),
        other => panic!("expected MigrateToChatId, got {other:?}"),
    }
    bot.send_message(ChatId(-1_000_007), "hello").await.unwrap();
    assert_eq!(fake.messages(-1_000_007).len(), 1);
    assert_eq!(fake.too_many_requests(), 1);
}

#[tokio::test]
async fn status_faults_outages_and_unknown_methods() {
    // Raw HTTP: teloxide waits 10 s after any 5xx answer.
    let fake = FakeTelegram::start().await;
    let client = reqwest::Client::new();
    let get_me = format!("{}/bot123:abc/getMe", fake.api_url());

    fake.fail_next("getMe", 1, Fault::Status(500));
    let failed = client.post(&get_me).send().await.unwrap();
    assert_eq!(failed.status(), 500);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "ok": false, "error_code": 500, "description": "Internal Server Error" })
    );
    let recovered: Value = client
        .get(&get_me)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recovered["result"]["username"], "postgram_test_bot");

    fake.set_down(true);
    let down = client.post(&get_me).send().await.unwrap();
    assert_eq!(down.status(), 502);
    assert!(down.text().await.unwrap().contains("502 Bad Gateway"));
    fake.set_down(false);

    let unknown = client.post(format!("{}/bot123:abc/sendPigeon", fake.api_url()));
    let unknown: Value = unknown.send().await.unwrap().json().await.unwrap();
    assert_eq!(unknown["description"], "Not Found: method not found");

    let statuses: Vec<u16> = fake.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 200, 502, 404]);
}

#[tokio::test]
async fn a_fault_pattern_repeats_and_a_lost_answer_still_takes_effect() {
    let fake = FakeTelegram::start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let send = format!("{}/bot123:abc/sendMessage", fake.api_url());
    fake.fail_share(
        "sendMessage",
        vec![None, Some(Fault::Status(429)), Some(Fault::Lost)],
        6,
    );
    let mut outcomes = Vec::new();
    for n in 0..6 {
        let answer = client
            .post(&send)
            .json(&json!({ "chat_id": 9, "text": format!("m{n}") }))
            .send()
            .await;
        outcomes.push(answer.map_or(0, |a| a.status().as_u16()));
        // A fresh chat's one-message-a-second limit must not be what refuses the next send.
        fake.pass_time(Duration::from_secs(2));
    }
    assert_eq!(outcomes, [200, 429, 0, 200, 429, 0]);
    let texts: Vec<String> = fake.messages(9).into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["m0", "m2", "m3", "m5"], "lost answers took effect");
    let faults: Vec<Option<Fault>> = fake.calls().iter().map(|c| c.fault).collect();
    assert_eq!(faults[2], Some(Fault::Lost));

    assert_eq!(fake.patterned_calls(), 6);
    let after = client
        .post(&send)
        .json(&json!({ "chat_id": 9, "text": "m6" }));
    assert_eq!(after.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_delayed_answer_times_the_client_out_but_still_sends() {
    let fake = FakeTelegram::start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let bot = Bot::with_client("123:abc", client)
        .set_api_url(reqwest::Url::parse(&fake.api_url()).unwrap());

    fake.fail_next("sendMessage", 1, Fault::Delay(Duration::from_millis(800)));
    // The client's own timeout ends the call (a network error), not the fake's answer.
    let timed_out = bot.send_message(ChatId(8), "slow").await;
    assert!(
        matches!(timed_out, Err(RequestError::Network(_))),
        "{timed_out:?}"
    );

    let limit = Duration::from_secs(2);
    let message = fake
        .wait_for("the delayed message", limit, |f| f.messages(8).pop())
        .await;
    assert_eq!(message.text, "slow");
    assert_eq!(fake.calls_to("sendMessage")[0].status, 200);
}

#[tokio::test]
async fn get_updates_long_polls_for_pushed_updates() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);

    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(5).await }
    });
    // Pushed while the poll waits: it must wake the poll, which would otherwise answer nothing.
    fake.wait_for("the long poll to wait", Duration::from_secs(5), |f| {
        f.calls_to("getUpdates")
            .first()
            .filter(|c| c.status == 0)
            .cloned()
    })
    .await;
    fake.push_update(text_update(1000, Some("alice"), 1000, "/status main"));
    let updates = poll.await.unwrap().unwrap();
    assert_eq!(updates.len(), 1);
    let UpdateKind::Message(message) = &updates[0].kind else {
        panic!("expected a message, got {:?}", updates[0].kind);
    };
    assert_eq!(message.text(), Some("/status main"));
    assert_eq!(
        message.from.as_ref().unwrap().username.as_deref(),
        Some("alice")
    );
    let entity = &message.entities().unwrap()[0];
    assert_eq!(
        (entity.kind.clone(), entity.length),
        (MessageEntityKind::BotCommand, 7)
    );

    let sent = bot
        .send_message(ChatId(1000), "<b>alert</b>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard("ack:9"))
        .await
        .unwrap();
    fake.push_update(callback_update(
        1000,
        Some("alice"),
        1000,
        i64::from(sent.id.0),
        "ack:9",
    ));
    fake.push_update(text_update(2000, None, -1001, "hello"));
    let next = updates[0].id.0 as i32 + 1;
    let updates = bot.get_updates().offset(next).await.unwrap();
    assert_eq!(updates.len(), 2, "the confirmed update is forgotten");
    let UpdateKind::CallbackQuery(query) = &updates[0].kind else {
        panic!("expected a callback query, got {:?}", updates[0].kind);
    };
    assert_eq!(query.data.as_deref(), Some("ack:9"));
    let pressed_on = query.message.as_ref().unwrap().regular_message().unwrap();
    assert_eq!(pressed_on.text(), Some("alert"));
    assert!(pressed_on.reply_markup().is_some());
    bot.answer_callback_query(query.id.clone()).await.unwrap();
    let UpdateKind::Message(group_message) = &updates[1].kind else {
        panic!("expected a message, got {:?}", updates[1].kind);
    };
    assert!(group_message.chat.is_supergroup());

    let last = updates[1].id.0 as i32 + 1;
    let started = Instant::now();
    let none = bot.get_updates().offset(last).timeout(1).await.unwrap();
    assert!(none.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn webhooks_receive_updates_with_the_secret_header() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;
    let received: Received = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let received = received.clone();
            move |headers: HeaderMap, axum::Json(update): axum::Json<Value>| async move {
                let secret = headers.get("x-telegram-bot-api-secret-token");
                let secret = secret.map(|v| v.to_str().unwrap().to_owned());
                received.lock().unwrap().push((secret, update));
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let update = text_update(1000, Some("alice"), 1000, "/help");
    assert_eq!(fake.post_webhook(&hook, Some("s3cret"), update).await, 200);
    let (secret, update) = received.lock().unwrap().pop().unwrap();
    assert_eq!(secret.as_deref(), Some("s3cret"));
    let update: teloxide::types::Update = serde_json::from_value(update).unwrap();
    assert_eq!(update.id.0, 1);

    let public = reqwest::Url::parse("https://postgram.example.com/telegram").unwrap();
    bot.set_webhook(public.clone())
        .secret_token("s3cret".to_owned())
        .await
        .unwrap();
    assert_eq!(bot.get_webhook_info().await.unwrap().url, Some(public));
    let set = &fake.calls_to("setWebhook")[0];
    assert_eq!(set.method, "setWebhook");
    assert_eq!(set.params["secret_token"], "s3cret");
    assert!(
        bot.get_updates().await.is_err(),
        "no polling while a webhook is set"
    );
    bot.delete_webhook().await.unwrap();
    assert_eq!(bot.get_webhook_info().await.unwrap().url, None);
    assert!(bot.get_updates().await.unwrap().is_empty());
}

#[tokio::test]
async fn commands_are_kept_and_checked() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let commands = vec![
        BotCommand::new("status", "Show the databases"),
        BotCommand::new("ack", "Acknowledge an alert"),
    ];
    bot.set_my_commands(commands.clone()).await.unwrap();
    assert_eq!(bot.get_my_commands().await.unwrap(), commands);
    let invalid = bot
        .set_my_commands([BotCommand::new("Bad-Name", "x")])
        .await;
    assert!(matches!(invalid, Err(RequestError::Api(_))));
    assert_eq!(bot.get_my_commands().await.unwrap(), commands);
    // Each language's list is its own; one without a list of its own has none here.
    let russian = vec![BotCommand::new("status", "Показать базы данных")];
    bot.set_my_commands(russian.clone())
        .language_code("ru")
        .await
        .unwrap();
    assert_eq!(
        bot.get_my_commands().language_code("ru").await.unwrap(),
        russian
    );
    assert_eq!(bot.get_my_commands().await.unwrap(), commands);
    assert_eq!(fake.commands(Some("ru")).len(), 1);
    assert!(
        bot.get_my_commands()
            .language_code("de")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_button_press_takes_one_answer() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    bot.answer_callback_query(teloxide::types::CallbackQueryId("17".to_owned()))
        .text("Acknowledged")
        .await
        .unwrap();
    let again = bot
        .answer_callback_query(teloxide::types::CallbackQueryId("17".to_owned()))
        .await;
    assert!(
        matches!(
            api_error(again),
            ApiError::InvalidQueryId | ApiError::Unknown(_)
        ),
        "a second answer to one press is refused"
    );
    bot.answer_callback_query(teloxide::types::CallbackQueryId("18".to_owned()))
        .await
        .unwrap();
}
