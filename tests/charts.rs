//! Charts and health cards from a real Prometheus scraping the real postgres_exporter: `/charts` through
//! every step to a photo whose buttons change span and chart in place, `/status`, the REST routes, and
//! what people are told when Prometheus is down, slow, refuses a query or has no data.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use serde_json::Value;
use support::fake_telegram::{SentMessage, buttons, text_update};
use support::monitoring::{repo_file, watching_main};
use support::service::Service;
use support::{API_TOKEN, Backend, free_port, postgres_admin_url};

const VIEWER: i64 = 4100;
/// An admin of `billing` only.
const OTHER: i64 = 4200;
const WAIT: Duration = Duration::from_secs(30);
/// A viewer token that reaches `billing` only.
const BILLING_TOKEN: &str = "billing-token-for-chart-tests-0";

/// Charts a test adds to the shipped ones: Prometheus refuses the first, the second has no series.
const BROKEN: &str = r#"
  - alias: refused
    title: Refused by Prometheus
    queries:
      - expr: rate(pg_up{{selector}})
  - alias: nothing
    title: Nothing here
    queries:
      - expr: no_such_metric_anywhere{{selector}}
"#;

fn config(ctx: &support::service::Ctx<'_>, prometheus: &str, timeout: &str) -> String {
    format!(
        r#"{head}
owners: [1]
prometheus: {{ url: "{prometheus}", timeout: {timeout} }}
time_zone: "+03:00"
catalog: {{ charts: charts.yaml }}
databases:
  - {{ name: main, dsn: "{pg}", match: {{ cluster: main }}, viewers: [{VIEWER}] }}
  - {{ name: billing, dsn: "{pg}", match: {{ cluster: billing }}, admins: [{OTHER}] }}
api_tokens:
  - {{ name: tests, token: "{API_TOKEN}", role: viewer }}
  - {{ name: billing, token: "{BILLING_TOKEN}", role: viewer, databases: [billing] }}
"#,
        head = ctx.head(),
        pg = postgres_admin_url(),
    )
}

fn charts_file() -> String {
    let shipped = std::fs::read_to_string(repo_file("charts.yaml")).unwrap();
    // The test's charts go after the shipped ones, before the status rows.
    shipped.replacen("\nstatus:", &format!("{BROKEN}\nstatus:"), 1)
}

async fn start(prometheus: &str, timeout: &str) -> Option<Service> {
    let file = charts_file();
    Service::start_with(Backend::Sqlite, &[("charts.yaml", &file)], |ctx| {
        config(ctx, prometheus, timeout)
    })
    .await
}

/// Width, height and the share of pixels that are not the background (the corner's colour).
fn decoded(png: &[u8]) -> (u32, u32, f64) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let bytes = &buffer[..frame.buffer_size()];
    let channels = frame.color_type.samples();
    let pixels: Vec<&[u8]> = bytes.chunks(channels).collect();
    let background = pixels[0];
    let drawn = pixels.iter().filter(|p| *p != &background).count();
    (
        frame.width,
        frame.height,
        drawn as f64 / pixels.len() as f64,
    )
}

fn assert_a_chart(png: &[u8]) {
    let (width, height, drawn) = decoded(png);
    assert_eq!((width, height), (1280, 720));
    assert!(drawn > 0.02, "only {drawn} of the pixels are drawn");
}

type World = Service;

impl World {
    fn say(&self, user: i64, text: &str) {
        self.telegram
            .push_update(text_update(user, None, user, text));
    }

    async fn message(&self, chat: i64, needle: &str) -> SentMessage {
        self.telegram.newest_containing(chat, needle, WAIT).await
    }

    /// The photo `message` once it was edited `edits` times.
    async fn photo_edited(&self, message: &SentMessage, edits: u32) -> SentMessage {
        let (chat, id) = (message.chat_id, message.message_id);
        self.telegram
            .wait_for("the photo to be replaced", WAIT, move |t| {
                t.photos(chat)
                    .into_iter()
                    .find(|m| m.message_id == id && m.edits >= edits)
            })
            .await
    }

    async fn rest(&self, path: &str, token: &str, accept: &str) -> (u16, String, Vec<u8>) {
        let response = self
            .app
            .client
            .get(format!("{}{path}", self.app.base))
            .bearer_auth(token)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, response.bytes().await.unwrap().to_vec())
    }

    async fn rest_json(&self, path: &str, token: &str) -> (u16, Value) {
        let (status, _, body) = self.rest(path, token, "application/json").await;
        (status, serde_json::from_slice(&body).unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_charts_a_database_and_changes_span_and_chart_in_place() {
    let Some((_exporter, prometheus)) = watching_main().await else {
        return;
    };
    let Some(world) = start(&prometheus.url, "10s").await else {
        return;
    };
    world.say(VIEWER, "/charts");
    let list = world.message(VIEWER, "<b>main</b>: which chart?").await;
    world
        .press_labelled(VIEWER, &list, "Connections by state")
        .await;
    let question = world.message(VIEWER, "over which span?").await;
    assert_eq!(
        question.message_id, list.message_id,
        "the list turns into the question"
    );
    world.press_labelled(VIEWER, &question, "1h").await;

    let photo = world
        .telegram
        .newest_photo_containing(VIEWER, "last 1h", WAIT)
        .await;
    assert_a_chart(photo.photo.as_deref().unwrap());
    assert!(
        photo.text.contains("<b>Connections by state</b> · main"),
        "{}",
        photo.text
    );
    assert!(photo.text.contains("Times in UTC+03:00"), "{}", photo.text);
    assert!(
        photo.text.contains("· min "),
        "per-series figures: {}",
        photo.text
    );

    world.press_labelled(VIEWER, &photo, "6h").await;
    let wider = world.photo_edited(&photo, 1).await;
    assert!(wider.text.contains("last 6h"), "{}", wider.text);
    assert_ne!(wider.photo, photo.photo, "a new picture");
    assert!(
        buttons(&wider).iter().any(|(l, _)| l == "• 6h"),
        "the span shown is marked"
    );

    world.press_labelled(VIEWER, &wider, "▶").await;
    let next = world.photo_edited(&photo, 2).await;
    assert!(
        next.text.contains("<b>Connections used</b>"),
        "{}",
        next.text
    );
    assert!(
        next.text.contains("last 6h"),
        "the span is kept: {}",
        next.text
    );
    assert_eq!(
        world.telegram.photos(VIEWER).len(),
        1,
        "one photo, edited in place"
    );

    world.say(VIEWER, "/status");
    let card = world.message(VIEWER, "health at").await;
    assert!(
        card.text.contains("✅ PostgreSQL reachable: <b>"),
        "{}",
        card.text
    );
    assert!(card.text.contains("Connections used"), "{}", card.text);
    assert!(
        buttons(&card).iter().any(|(l, _)| l.starts_with("📈 ")),
        "{:?}",
        card.reply_markup
    );
    world.press_labelled(VIEWER, &card, "📈 ").await;
    world
        .telegram
        .newest_photo_containing(VIEWER, "last 1h", WAIT)
        .await;

    // A member of another database sees none of main's metrics.
    world.say(OTHER, "/charts main");
    world
        .message(OTHER, "No database <b>main</b> that you may read here.")
        .await;
    world.say(OTHER, "/status");
    let theirs = world.message(OTHER, "health at").await;
    assert!(theirs.text.contains("<b>billing</b>") && !theirs.text.contains("<b>main</b>"));
    assert!(
        theirs.text.contains("no data"),
        "billing has no exporter: {}",
        theirs.text
    );

    // A viewer whose Telegram speaks Russian reads the card, its rows and its buttons in Russian
    // (the shipped catalogue carries both languages).
    world.telegram.set_language(VIEWER, "ru");
    world.say(VIEWER, "/status");
    let card = world.message(VIEWER, "состояние на").await;
    assert!(
        card.text.contains("✅ PostgreSQL доступен: <b>"),
        "{}",
        card.text
    );
    assert!(card.text.contains("Занято подключений"), "{}", card.text);
    assert!(
        buttons(&card)
            .iter()
            .any(|(l, _)| l == "📈 Занято подключений"),
        "{:?}",
        card.reply_markup
    );
    world.say(VIEWER, "/charts main");
    let list = world.message(VIEWER, "какой график?").await;
    assert!(
        buttons(&list).iter().any(|(l, _)| l == "Попадания в кеш"),
        "{:?}",
        list.reply_markup
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_api_serves_pngs_series_and_health_cards() {
    let Some((_exporter, prometheus)) = watching_main().await else {
        return;
    };
    let Some(world) = start(&prometheus.url, "10s").await else {
        return;
    };
    let (status, list) = world.rest_json("/charts", API_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(list["enabled"], true);
    let first = &list["charts"][0];
    assert_eq!(first["alias"], "connections_by_state");
    assert_eq!(first["databases"], serde_json::json!(["main", "billing"]));

    let path = "/charts/connections_by_state?database=main&range=6h";
    let (status, kind, png) = world.rest(path, API_TOKEN, "image/png").await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "image/png"),
        "{}",
        String::from_utf8_lossy(&png)
    );
    assert_a_chart(&png);

    let (status, series) = world.rest_json(path, API_TOKEN).await;
    assert_eq!(status, 200, "{series}");
    assert_eq!(series["range"], "6h");
    assert_eq!(series["unit"], "count");
    let lines = series["series"].as_array().unwrap();
    assert!(!lines.is_empty(), "{series}");
    assert!(
        lines
            .iter()
            .all(|s| !s["points"].as_array().unwrap().is_empty())
    );

    let (status, card) = world.rest_json("/status?database=main", API_TOKEN).await;
    assert_eq!(status, 200, "{card}");
    let rows = card["databases"][0]["rows"].as_array().unwrap();
    let up = rows.iter().find(|r| r["name"] == "up").unwrap();
    assert_eq!(
        (up["value"].as_f64(), &up["level"]),
        (Some(1.0), &Value::from("ok"))
    );

    for (path, status, says) in [
        (
            "/charts/connections_by_state?database=main&range=2h",
            400,
            "range",
        ),
        (
            "/charts/connections_by_state?database=main&colour=red",
            400,
            "colour",
        ),
        ("/charts/connections_by_state", 400, "database"),
        (
            "/charts/connections_by_state?database=nowhere",
            404,
            "nowhere",
        ),
        ("/charts/no_such_chart?database=main", 404, "no_such_chart"),
        (
            "/charts/refused?database=main",
            502,
            "refused the query (bad_data)",
        ),
    ] {
        let (got, body) = world.rest_json(path, API_TOKEN).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.to_string().contains(says), "{path}: {body}");
    }
    // No data: an empty list as JSON, and no picture of nothing.
    let (status, empty) = world
        .rest_json("/charts/nothing?database=main", API_TOKEN)
        .await;
    assert_eq!(
        (status, &empty["series"]),
        (200, &serde_json::json!([])),
        "{empty}"
    );
    let (status, _, body) = world
        .rest("/charts/nothing?database=main", API_TOKEN, "image/png")
        .await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("no data for this range"));

    let (status, body) = world
        .rest_json("/charts/connections_by_state?database=main", BILLING_TOKEN)
        .await;
    assert_eq!(status, 403, "{body}");
    let (_, cards) = world.rest_json("/status", BILLING_TOKEN).await;
    assert_eq!(cards["databases"].as_array().unwrap().len(), 1, "{cards}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_or_silent_is_a_clear_message_within_the_timeout() {
    // Nothing listens on a port just freed; a listener that never answers stands for a hung Prometheus.
    let down = format!("http://127.0.0.1:{}", free_port());
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });

    let Some(world) = start(&down, "2s").await else {
        return;
    };
    world.say(VIEWER, "/charts");
    let list = world.message(VIEWER, "which chart?").await;
    world
        .press_labelled(VIEWER, &list, "Connections by state")
        .await;
    let question = world.message(VIEWER, "over which span?").await;
    world.press_labelled(VIEWER, &question, "24h").await;
    let said = world.message(VIEWER, "Prometheus cannot be reached").await;
    assert!(
        said.text.starts_with("📈 <b>Connections by state</b>"),
        "{}",
        said.text
    );
    assert!(
        world.telegram.photos(VIEWER).is_empty(),
        "never a broken photo"
    );
    world.say(VIEWER, "/status");
    let card = world.message(VIEWER, "health at").await;
    assert_eq!(
        card.text.matches("Prometheus cannot be reached").count(),
        1,
        "{}",
        card.text
    );
    let (status, body) = world
        .rest_json("/charts/connections_by_state?database=main", API_TOKEN)
        .await;
    assert_eq!(status, 502, "{body}");
    world.stop().await;

    let Some(world) = start(&silent_url, "1s").await else {
        return;
    };
    let (status, body) = world
        .rest_json("/charts/connections_by_state?database=main", API_TOKEN)
        .await;
    assert_eq!(status, 504, "{body}");
    assert!(
        body.to_string().contains("did not answer within 1 s"),
        "{body}"
    );
    world.say(VIEWER, "/status");
    let card = world.message(VIEWER, "health at").await;
    assert!(
        card.text.contains("did not answer within 1 s"),
        "{}",
        card.text
    );
    world.stop().await;
    held.abort();
}

/// A webhook of one firing alert for `main`, with these extra annotations and generator URL.
fn alert(name: &str, annotations: Value, generator_url: &str) -> Value {
    let started = (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339();
    let labels = serde_json::json!({ "alertname": name, "cluster": "main", "severity": "warning" });
    serde_json::json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "postgram", "groupLabels": { "alertname": name },
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": "firing", "labels": labels, "annotations": annotations,
            "startsAt": started, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": generator_url, "fingerprint": format!("{:016x}", name.len()),
        }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_graph_plots_its_expression_or_the_chart_it_names() {
    let Some((_exporter, prometheus)) = watching_main().await else {
        return;
    };
    let Some(world) = start(&prometheus.url, "10s").await else {
        return;
    };
    // As Prometheus writes it: the rule's expression in g0.expr.
    let expr = "http://prometheus:9090/graph?g0.expr=pg_up+%3C+1&g0.tab=1";
    let summary = serde_json::json!({ "summary": "from its expression" });
    world
        .app
        .post_webhook(&alert("UpCheck", summary, expr))
        .await;
    let named = serde_json::json!({
        "summary": "from a named chart", "postgram_chart": "connections_by_state",
    });
    world
        .app
        .post_webhook(&alert("NamedChart", named, ""))
        .await;
    let silent = serde_json::json!({ "summary": "nothing to plot" });
    world
        .app
        .post_webhook(&alert("NoExpression", silent, ""))
        .await;

    let first = world.message(VIEWER, "from its expression").await;
    world.press_labelled(VIEWER, &first, "📈 Graph").await;
    let graph = world
        .telegram
        .newest_photo_containing(VIEWER, "UpCheck", WAIT)
        .await;
    assert_a_chart(graph.photo.as_deref().unwrap());
    assert!(
        graph.text.contains("<b>UpCheck</b> · main"),
        "{}",
        graph.text
    );

    let second = world.message(VIEWER, "from a named chart").await;
    world.press_labelled(VIEWER, &second, "📈 Graph").await;
    let chart = world
        .telegram
        .newest_photo_containing(VIEWER, "NamedChart", WAIT)
        .await;
    assert_a_chart(chart.photo.as_deref().unwrap());

    let third = world.message(VIEWER, "nothing to plot").await;
    assert!(
        !buttons(&third).iter().any(|(l, _)| l.contains("Graph")),
        "no graph without an expression: {:?}",
        third.reply_markup
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_forged_buttons_and_missing_tokens_get_no_metrics() {
    const STRANGER: i64 = 4999;
    // Nothing here reaches Prometheus: every refusal comes first.
    let Some(world) = start(&format!("http://127.0.0.1:{}", free_port()), "2s").await else {
        return;
    };
    world.say(VIEWER, "/charts");
    let list = world.message(VIEWER, "which chart?").await;
    world.buttons_recorded(&list).await;
    world.say(STRANGER, "/charts");
    world.message(STRANGER, "Sorry").await;
    world.say(STRANGER, "/status main");
    let refusal = world.telegram.messages(STRANGER).pop().unwrap();
    // A real chart button of the viewer's list, pressed on another message, and crafted payloads.
    let copied = buttons(&list)[0].1.clone();
    for data in [
        copied.as_str(),
        "cg:main:connections_by_state:1h",
        "st:main",
        "ag:1",
    ] {
        let answer = world
            .telegram
            .press(STRANGER, None, &refusal, data, WAIT)
            .await;
        assert!(answer.starts_with("Not allowed"), "{data}: {answer}");
    }
    assert!(world.telegram.photos(STRANGER).is_empty());
    assert_eq!(
        world.telegram.messages(STRANGER).len(),
        1,
        "one refusal (a minute apart at most), no card, no chart"
    );

    for path in [
        "/charts",
        "/charts/connections_by_state?database=main",
        "/status",
    ] {
        let response = world
            .app
            .client
            .get(format!("{}{path}", world.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    world.stop().await;
}
