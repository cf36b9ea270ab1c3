//! The bot in each person's language, end to end through the fake Bot API: a person whose Telegram
//! app is Russian reads Russian everywhere (help, a view's dialogue, its argument errors and result),
//! `/language` switches a person's language and back to their app's, stored across updates, and the
//! commands are registered in English for everyone and in Russian for Russian apps.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use support::Service;
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::service::Ctx;

/// A Russian Telegram app.
const IVAN: i64 = 2000;
/// An English Telegram app.
const JANE: i64 = 2001;
const WAIT: Duration = Duration::from_secs(30);

const VIEWS: &str = r#"
views:
  - alias: numbers
    title: Numbers
    arguments:
      - { name: upto, type: int, min: 1, max: 1000, description: how many rows }
    sql: SELECT g AS n FROM generate_series(1, :upto) g
"#;

const ACTIONS: &str = r#"
actions:
  - alias: touch
    title: Touch
    confirm: true
    arguments:
      - { name: deep, type: bool }
    steps:
      - { name: series, sql: "SELECT g FROM generate_series(1, CASE WHEN :deep THEN 3 ELSE 1 END) g" }
"#;

fn config(ctx: &Ctx, target: &str) -> String {
    let head = ctx.head();
    format!(
        r#"
{head}
owners: [1]
catalog: {{ views: views.yaml, actions: actions.yaml }}
databases:
  - {{ name: main, dsn: "{target}", match: {{ cluster: main }}, admins: [{IVAN}, {JANE}] }}
"#
    )
}

async fn start() -> Option<Service> {
    let files = [("views.yaml", VIEWS), ("actions.yaml", ACTIONS)];
    let service = Service::start_administering(&files, config).await?;
    service.telegram.set_language(IVAN, "ru-RU");
    Some(service)
}

fn say(service: &Service, user: i64, text: &str) {
    service
        .telegram
        .push_update(text_update(user, None, user, text));
}

/// The newest message in the chat containing `needle`, once there is one.
async fn message(service: &Service, chat: i64, needle: &str) -> SentMessage {
    service.telegram.newest_containing(chat, needle, WAIT).await
}

/// Words of the English texts that must not reach a person reading Russian.
const ENGLISH: &[&str] = &[
    "Reply with",
    "Choose",
    "Cancel",
    "not a whole number",
    "rows ",
    "Not allowed",
    "Send /help",
];

fn assert_russian(message: &SentMessage) {
    let labels: Vec<String> = buttons(message).into_iter().map(|(l, _)| l).collect();
    let read = format!("{} {}", message.text, labels.join(" "));
    for english in ENGLISH {
        assert!(!read.contains(english), "English {english:?} in {read}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_app_runs_a_view_in_russian() {
    let Some(service) = start().await else {
        return;
    };
    say(&service, IVAN, "/views");
    let list = message(&service, IVAN, "main</b>: представления").await;
    assert_russian(&list);
    service.press_labelled(IVAN, &list, "Numbers").await;
    let prompt = message(&service, IVAN, "<b>upto</b> (целое число)").await;
    assert!(
        prompt.text.contains("Ответьте значением."),
        "{}",
        prompt.text
    );
    assert!(
        buttons(&prompt).iter().any(|(l, _)| l == "✖ Отмена"),
        "{:?}",
        prompt.reply_markup
    );
    assert_russian(&prompt);
    say(&service, IVAN, "много");
    let error = message(&service, IVAN, "не целое число").await;
    assert!(
        error
            .text
            .contains("⚠️ upto: &quot;много&quot; — не целое число"),
        "{}",
        error.text
    );
    assert!(
        error.text.contains("(целое число)"),
        "asked again: {}",
        error.text
    );
    assert_russian(&error);
    say(&service, IVAN, "5000");
    let range = message(&service, IVAN, "вне диапазона 1..1000").await;
    assert_russian(&range);
    say(&service, IVAN, "3");
    let result = message(&service, IVAN, "Numbers · main").await;
    assert!(result.text.contains("строки 1–3 из 3"), "{}", result.text);
    assert_russian(&result);
    let every = service.telegram.messages(IVAN);
    assert!(!every.is_empty());
    every.iter().for_each(assert_russian);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_in_russian_lists_the_russian_commands() {
    let Some(service) = start().await else {
        return;
    };
    say(&service, IVAN, "/help");
    let help = message(&service, IVAN, "присылает сюда алерты").await;
    assert!(
        help.text
            .contains("/language — язык, на котором я с вами говорю"),
        "{}",
        help.text
    );
    assert!(
        help.text.contains("/whoami — кто вы для этого бота"),
        "{}",
        help.text
    );
    assert_russian(&help);
    // The same command from an English app stays English.
    say(&service, JANE, "/help");
    let english = message(&service, JANE, "sends the alerts").await;
    assert!(english.text.contains("/whoami — who you are to this bot"));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn language_switches_to_russian_and_back_to_the_app() {
    let Some(service) = start().await else {
        return;
    };
    let chosen = || async {
        service
            .state_sql(&format!(
                "SELECT COALESCE(chosen_language, 'auto') FROM telegram_users WHERE user_id = {JANE}"
            ))
            .await
    };
    say(&service, JANE, "/language");
    let picker = message(&service, JANE, "I speak English to you").await;
    let labels: Vec<String> = buttons(&picker).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["English", "Русский", "As my Telegram app"]);
    service.press_labelled(JANE, &picker, "Русский").await;
    let confirmed = message(&service, JANE, "Теперь я говорю с вами по-русски").await;
    assert_eq!(
        confirmed.message_id, picker.message_id,
        "the picker becomes the answer"
    );
    assert_eq!(chosen().await, ["ru"]);
    // Stored: the next update, from the same English app, is answered in Russian.
    say(&service, JANE, "/whoami");
    message(&service, JANE, "Вы — ").await;
    say(&service, JANE, "/language");
    message(&service, JANE, "Я говорю с вами на языке: Русский").await;
    say(&service, JANE, "/language klingon");
    message(&service, JANE, "Я не знаю языка «klingon»").await;
    say(&service, JANE, "/language auto");
    message(
        &service,
        JANE,
        "From now on I speak the language of your Telegram app to you: English.",
    )
    .await;
    assert_eq!(chosen().await, ["auto"]);
    let before = service.telegram.messages(JANE).len();
    say(&service, JANE, "/whoami");
    service.message_after(JANE, before, "You are ").await;
    // And directly, without the picker.
    let before = service.telegram.messages(JANE).len();
    say(&service, JANE, "/language ru");
    service
        .message_after(JANE, before, "Язык выбран: Русский.")
        .await;
    assert_eq!(chosen().await, ["ru"]);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_in_english_and_in_russian() {
    let Some(service) = start().await else {
        return;
    };
    let telegram = &service.telegram;
    let russian = telegram
        .wait_for("the Russian commands", WAIT, |t| {
            Some(t.commands(Some("ru"))).filter(|c| !c.is_empty())
        })
        .await;
    let english = telegram.commands(None);
    let names = |commands: &[serde_json::Value]| -> Vec<String> {
        commands
            .iter()
            .map(|c| c["command"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&russian),
        names(&english),
        "the same commands, in order"
    );
    assert!(names(&english).contains(&"language".to_owned()));
    let description = |commands: &[serde_json::Value], name: &str| -> String {
        commands
            .iter()
            .find(|c| c["command"] == name)
            .map(|c| c["description"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(description(&english, "whoami"), "who you are to this bot");
    assert_eq!(description(&russian, "whoami"), "кто вы для этого бота");
    assert_eq!(
        description(&russian, "language"),
        "язык, на котором я с вами говорю: /language ru, en или auto"
    );
    let calls = telegram.calls_to("setMyCommands");
    assert!(calls.iter().any(|c| c.params["language_code"] == "ru"));
    assert!(
        calls
            .iter()
            .any(|c| c.params.get("language_code").is_none())
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_app_confirms_and_runs_an_action_in_russian() {
    let Some(service) = start().await else {
        return;
    };
    say(&service, IVAN, "/actions");
    let list = message(&service, IVAN, "main</b>: действия").await;
    service.press_labelled(IVAN, &list, "Touch").await;
    let prompt = message(&service, IVAN, "<b>deep</b> (да или нет)").await;
    assert!(
        prompt
            .text
            .contains("Выберите или ответьте своим значением.")
    );
    assert_russian(&prompt);
    service.press_labelled(IVAN, &prompt, "да").await;
    let confirm = message(&service, IVAN, "Выполнить <b>Touch</b> на <b>main</b>?").await;
    assert!(
        confirm.text.contains("deep: <code>true</code>"),
        "{}",
        confirm.text
    );
    assert_russian(&confirm);
    let answered = service.press_labelled(IVAN, &confirm, "✅ Выполнить").await;
    assert_eq!(answered, "Выполняю…");
    let summary = message(&service, IVAN, "готово").await;
    assert!(
        summary
            .text
            .starts_with("✅ <b>Touch</b> на <b>main</b>: готово"),
        "{}",
        summary.text
    );
    assert!(
        summary.text.contains("<b>Результат</b>"),
        "{}",
        summary.text
    );
    assert!(summary.text.contains("строки 1–3 из 3"), "{}", summary.text);
    service
        .telegram
        .messages(IVAN)
        .iter()
        .for_each(assert_russian);
    service.stop().await;
}
