use std::collections::BTreeMap;

use chrono::TimeZone;

use super::*;
use crate::domain::{DatabaseName, IncidentId};
use crate::i18n::Lang;

fn incident() -> IncidentRecord {
    let starts_at = Utc.with_ymd_and_hms(2026, 11, 22, 11, 33, 15).unwrap();
    let labels: BTreeMap<String, String> = [
        ("alertname", "PostgresReplicationLag"),
        ("cluster", "main"),
        ("instance", "pg-main-1:9187"),
        ("severity", "critical"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let annotations: BTreeMap<String, String> = [
        ("summary", "Replication lag > 30s & <rising>"),
        ("description", "map[instance:pg-main-2 lag:42s] a<b"),
        ("runbook_url", "https://runbooks.local/pg/lag?a=1&b=\"2\""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    IncidentRecord {
        id: IncidentId(42),
        fingerprint: "2edf5878f5ac0b05".into(),
        status: AlertStatus::Firing,
        database: Some(DatabaseName::parse("main").unwrap()),
        alertname: "PostgresReplicationLag".into(),
        severity: "critical".into(),
        labels,
        annotations,
        generator_url: "http://prometheus.local/graph?g0.expr=lag%3E30".into(),
        starts_at,
        ends_at: None,
        created_at: starts_at,
        updated_at: starts_at,
        resolved_at: None,
        acknowledged_by: None,
        acknowledged_at: None,
        silenced_by: None,
        silence_id: None,
        silenced_until: None,
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 11, 38, 20).unwrap()
}

/// Every `<` opens a known tag and every `&` starts an entity: what Telegram's parser demands.
fn assert_well_formed(html: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        let tail = &rest[i..];
        if tail.starts_with('&') {
            let end = tail.find(';').expect("entity ends");
            assert!(
                ["&lt;", "&gt;", "&amp;", "&quot;"].contains(&&tail[..=end]),
                "bad entity in {html}"
            );
            rest = &tail[end + 1..];
            continue;
        }
        let end = tail.find('>').expect("tag ends");
        let tag = &tail[1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "unbalanced in {html}");
        } else {
            let name = tag.split(' ').next().unwrap();
            assert!(["b", "code", "a", "i"].contains(&name), "tag {name}");
            stack.push(name.to_owned());
        }
        rest = &tail[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

#[test]
fn a_firing_alert_shows_everything_escaped() {
    let message = alert_message(Lang::En, &incident(), now(), &[], true);
    let html = &message.html;
    assert_well_formed(html);
    assert!(
        html.starts_with("🔴 <b>FIRING</b> · <b>main</b> · PostgresReplicationLag"),
        "{html}"
    );
    assert!(
        html.contains("<b>Replication lag &gt; 30s &amp; &lt;rising&gt;</b>"),
        "{html}"
    );
    assert!(
        html.contains("map[instance:pg-main-2 lag:42s] a&lt;b"),
        "{html}"
    );
    assert!(html.contains("instance: <code>pg-main-1:9187</code>"));
    assert!(
        html.contains("Started 2026-11-22 11:33:15 UTC (5 min 5 s ago)"),
        "{html}"
    );
    assert!(
        html.contains(
            "<a href=\"https://runbooks.local/pg/lag?a=1&amp;b=&quot;2&quot;\">Runbook</a>"
        ),
        "{html}"
    );
    let data: Vec<String> = message
        .buttons
        .iter()
        .flatten()
        .map(|(_, d)| d.encode())
        .collect();
    assert_eq!(data, ["ack:42", "sil:42:1", "sil:42:4", "sil:42:24"]);
}

#[test]
fn acknowledgement_silence_and_resolution_change_text_and_buttons() {
    let mut incident = incident();
    incident.acknowledged_by = Some("@alice".into());
    incident.acknowledged_at = Some(now());
    incident.silenced_by = Some("@bob".into());
    incident.silence_id = Some("abc".into());
    incident.silenced_until = Some(now() + chrono::Duration::hours(1));
    let message = alert_message(Lang::En, &incident, now(), &[], true);
    assert!(
        message
            .html
            .contains("☑️ Acknowledged by @alice at 2026-11-22 11:38:20 UTC")
    );
    assert!(
        message
            .html
            .contains("🔕 Silenced by @bob until 2026-11-22 12:38:20 UTC")
    );
    let data: Vec<String> = message
        .buttons
        .iter()
        .flatten()
        .map(|(_, d)| d.encode())
        .collect();
    assert_eq!(data, ["uns:42"]);

    incident.status = AlertStatus::Resolved;
    incident.ends_at = Some(incident.starts_at + chrono::Duration::seconds(13));
    let message = alert_message(Lang::En, &incident, now(), &[], true);
    assert!(message.html.starts_with("✅ <b>RESOLVED</b>"));
    assert!(
        message
            .html
            .contains("Resolved 2026-11-22 11:33:28 UTC after 13 s"),
        "{}",
        message.html
    );
    assert!(message.buttons.is_empty());
}

#[test]
fn huge_alerts_fit_in_4096_characters_without_broken_markup() {
    let mut incident = incident();
    incident
        .annotations
        .insert("description".into(), "<&>".repeat(5000));
    incident
        .annotations
        .insert("summary".into(), "s&".repeat(3000));
    for i in 0..200 {
        incident
            .labels
            .insert(format!("label_{i:03}"), "v<".repeat(300));
    }
    let message = alert_message(Lang::En, &incident, now(), &[], true);
    assert!(
        visible_len(&message.html) <= MAX_MESSAGE_LEN,
        "{}",
        visible_len(&message.html)
    );
    assert_well_formed(&message.html);
    assert!(message.html.contains("FIRING"), "the title survives");
    assert!(message.html.contains("Started"), "the start time survives");
}

#[test]
fn digests_count_by_database_alertname_and_severity() {
    let line = |alertname: &str, count| DigestLine {
        database: Some(DatabaseName::parse("main").unwrap()),
        alertname: alertname.into(),
        severity: "critical".into(),
        count,
    };
    let lines = [line("PostgresReplicationLag", 20), line("PostgresDown", 10)];
    let digest = digest_message(Lang::En, &lines);
    assert!(digest.html.contains("<b>30 new alerts</b>"));
    assert!(
        digest.html.contains("🔴 main · PostgresDown × 10"),
        "{}",
        digest.html
    );
    assert!(
        digest
            .html
            .contains("🔴 main · PostgresReplicationLag × 20")
    );
    assert_well_formed(&digest.html);
    assert_eq!(digest.buttons[0][0].1.encode(), "alerts");
}

#[test]
fn emails_have_a_subject_text_and_html() {
    let email = email(
        Lang::En,
        &incident(),
        "Nobody acknowledged this alert within 10m.",
        now(),
    );
    assert_eq!(email.subject, "[FIRING] main PostgresReplicationLag");
    assert!(
        email
            .text
            .contains("summary: Replication lag > 30s & <rising>")
    );
    assert!(email.text.contains("instance=pg-main-1:9187"));
    assert!(email.html.contains("Replication lag &gt; 30s"));
}

#[test]
fn control_characters_never_leave_the_service() {
    let mut hostile = incident();
    hostile.alertname = "Lag\0\r\nBcc: x".into();
    hostile.annotations.insert(
        "summary".into(),
        "nul\0 esc\u{1b}[31m bell\u{7} cr\r lf\n tab\t".into(),
    );
    hostile
        .labels
        .insert("instance".into(), "pg\0-1\u{1b}".into());
    let now = hostile.starts_at;
    let message = alert_message(Lang::En, &hostile, now, &[], false);
    let mail = email(Lang::En, &hostile, "reason\0", now);
    for (what, text) in [
        ("telegram", message.html.as_str()),
        ("subject", mail.subject.as_str()),
        ("text", mail.text.as_str()),
        ("html", mail.html.as_str()),
    ] {
        assert!(
            !text.contains(|c: char| c.is_control() && c != '\n' && c != '\t'),
            "{what}: {text:?}"
        );
    }
    assert!(!mail.subject.contains(['\n', '\t']), "{:?}", mail.subject);
    assert!(
        message.html.contains("nul\u{FFFD} esc\u{FFFD}[31m"),
        "{}",
        message.html
    );
}

fn digest_line(count: i64) -> DigestLine {
    DigestLine {
        database: Some(DatabaseName::parse("main").unwrap()),
        alertname: "PostgresDown".into(),
        severity: "warning".into(),
        count,
    }
}

#[test]
fn digests_count_in_each_languages_plural_forms() {
    for (count, russian, english) in [
        (1, "<b>1 новый алерт</b> пришёл", "<b>1 new alert</b>"),
        (2, "<b>2 новых алерта</b> пришли", "<b>2 new alerts</b>"),
        (5, "<b>5 новых алертов</b> пришли", "<b>5 new alerts</b>"),
        (11, "<b>11 новых алертов</b> пришли", "<b>11 new alerts</b>"),
        (21, "<b>21 новый алерт</b> пришёл", "<b>21 new alerts</b>"),
        (22, "<b>22 новых алерта</b> пришли", "<b>22 new alerts</b>"),
        (
            10_000,
            "<b>10000 новых алертов</b> пришли",
            "<b>10000 new alerts</b>",
        ),
    ] {
        let digest = digest_message(Lang::Ru, &[digest_line(count)]);
        assert!(
            digest
                .html
                .starts_with(&format!("⚠️ {russian} быстрее, чем Telegram")),
            "{}",
            digest.html
        );
        assert!(
            digest
                .html
                .contains(&format!("🟠 main · PostgresDown × {count}"))
        );
        assert_well_formed(&digest.html);
        assert_eq!(digest.buttons[0][0].0, "📋 Список активных алертов");
        let digest = digest_message(Lang::En, &[digest_line(count)]);
        assert!(
            digest.html.starts_with(&format!("⚠️ {english} arrived")),
            "{}",
            digest.html
        );
    }
}

#[test]
fn a_russian_reader_gets_the_message_buttons_and_responses_in_russian() {
    let mut incident = incident();
    let message = alert_message(Lang::Ru, &incident, now(), &[], true);
    assert!(
        message
            .html
            .starts_with("🔴 <b>СРАБОТАЛ</b> · <b>main</b> · PostgresReplicationLag"),
        "{}",
        message.html
    );
    assert!(
        message
            .html
            .contains("Начало: 2026-11-22 11:33:15 UTC (5 мин 5 с назад)"),
        "{}",
        message.html
    );
    assert!(message.html.contains(">Инструкция</a>"), "{}", message.html);
    assert!(message.html.contains(">Источник</a>"), "{}", message.html);
    let labels: Vec<&str> = message
        .buttons
        .iter()
        .flatten()
        .map(|(l, _)| l.as_str())
        .collect();
    assert_eq!(labels, ["☑️ Подтвердить", "🔕 1 ч", "🔕 4 ч", "🔕 24 ч"]);

    incident.acknowledged_by = Some("@alice".into());
    incident.acknowledged_at = Some(now());
    incident.silenced_by = Some("@bob".into());
    incident.silence_id = Some("abc".into());
    incident.silenced_until = Some(now() + chrono::Duration::hours(1));
    let message = alert_message(Lang::Ru, &incident, now(), &[], true);
    assert!(
        message
            .html
            .contains("☑️ Подтверждено: @alice, 2026-11-22 11:38:20 UTC"),
        "{}",
        message.html
    );
    assert!(
        message
            .html
            .contains("🔕 Заглушено: @bob, до 2026-11-22 12:38:20 UTC"),
        "{}",
        message.html
    );
    assert_eq!(message.buttons[0][0].0, "🔔 Снять заглушку");

    incident.status = AlertStatus::Resolved;
    incident.ends_at = Some(incident.starts_at + chrono::Duration::seconds(3725));
    let message = alert_message(Lang::Ru, &incident, now(), &[], true);
    assert!(
        message.html.starts_with("✅ <b>РЕШЁН</b>"),
        "{}",
        message.html
    );
    assert!(
        message
            .html
            .contains("Решён 2026-11-22 12:35:20 UTC, длился 1 ч 2 мин"),
        "{}",
        message.html
    );
    assert_eq!(
        incident_line(Lang::Ru, &incident, now()),
        "✅ <b>#42</b> main · PostgresReplicationLag · 5 мин 5 с · ☑️ @alice"
    );
}

#[test]
fn emails_in_russian() {
    let mut incident = incident();
    let mail = email(
        Lang::Ru,
        &incident,
        "Никто не подтвердил этот алерт в Telegram за 10 мин.",
        now(),
    );
    assert_eq!(mail.subject, "[СРАБОТАЛ] main PostgresReplicationLag");
    assert!(
        mail.text
            .contains("Начало: 2026-11-22 11:33:15 UTC (5 мин 5 с назад)"),
        "{}",
        mail.text
    );
    assert!(
        mail.text
            .contains("Источник: http://prometheus.local/graph?g0.expr=lag%3E30"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Инцидент #42"), "{}", mail.text);
    assert!(mail.html.starts_with("<html lang=\"ru\">"), "{}", mail.html);
    assert!(mail.html.contains("<b>СРАБОТАЛ</b>"), "{}", mail.html);
    incident.database = None;
    incident.status = AlertStatus::Resolved;
    incident.ends_at = Some(now());
    let mail = email(Lang::Ru, &incident, "Этот инцидент решён.", now());
    assert_eq!(
        mail.subject,
        "[РЕШЁН] без базы данных PostgresReplicationLag"
    );
    assert!(
        mail.text.contains("Решён 2026-11-22 11:38:20 UTC"),
        "{}",
        mail.text
    );
}
