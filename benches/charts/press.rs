//! Button press → photo, end to end: the real exporter and Prometheus (scraping every second), the
//! service with the shipped charts, the fake Bot API. Each press of a span button on a chart photo is
//! timed from the moment the update is handed to the fake (whose pending long poll answers it at once)
//! to the arrival of the `editMessageMedia` call, as the fake stamps it: the test's own polling does
//! not count. Presses are more than a second apart, as a person's are: closer ones wait for the
//! chat's turn (Telegram allows one message a second per chat), which is the throttle, not drawing.

use std::time::{Duration, Instant};

use crate::support::fake_telegram::{SentMessage, buttons, callback_update, text_update};
use crate::support::monitoring::{repo_file, watching_main};
use crate::support::service::Service;
use crate::support::{Backend, postgres_admin_url};

const VIEWER: i64 = 4100;
const PRESSES: usize = 40;
const WAIT: Duration = Duration::from_secs(30);

/// Median and 99th percentile of press → photo, in milliseconds; `None` when the person asked to skip
/// the tests that need Prometheus.
pub async fn press_to_photo() -> Option<(f64, f64)> {
    let (_exporter, prometheus) = watching_main().await?;
    let charts = std::fs::read_to_string(repo_file("charts.yaml")).unwrap();
    let url = prometheus.url.clone();
    let world = Service::start_with(Backend::Sqlite, &[("charts.yaml", &charts)], |ctx| {
        format!(
            "{}\nowners: [1]\nprometheus: {{ url: \"{url}\" }}\ncatalog: {{ charts: charts.yaml }}\n\
             databases:\n  - {{ name: main, dsn: \"{}\", match: {{ cluster: main }}, viewers: [{VIEWER}] }}\n",
            ctx.head(),
            postgres_admin_url()
        )
    })
    .await?;
    let telegram = &world.telegram;
    telegram.push_update(text_update(VIEWER, None, VIEWER, "/charts main"));
    let list = telegram
        .newest_containing(VIEWER, "which chart?", WAIT)
        .await;
    world
        .press_labelled(VIEWER, &list, "Connections by state")
        .await;
    let question = telegram
        .newest_containing(VIEWER, "over which span?", WAIT)
        .await;
    world.press_labelled(VIEWER, &question, "1h").await;
    let mut photo = telegram
        .newest_photo_containing(VIEWER, "last 1h", WAIT)
        .await;
    let mut times = Vec::new();
    for i in 0..PRESSES {
        let span = ["6h", "1h"][i % 2];
        world.buttons_recorded(&photo).await;
        let data = data_of(&photo, span);
        // A person reads a chart before pressing again: past Telegram's one message a second per
        // chat, which the service's throttle would otherwise make this press wait for.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let edits = telegram.calls_to("editMessageMedia").len();
        let pressed = Instant::now();
        telegram.push_update(callback_update(
            VIEWER,
            None,
            VIEWER,
            photo.message_id,
            &data,
        ));
        let edited = telegram
            .wait_for("the photo to be replaced", WAIT, |t| {
                t.calls_to("editMessageMedia").get(edits).cloned()
            })
            .await;
        assert_eq!(edited.status, 200, "{:?}", edited.params);
        times.push(edited.at.saturating_duration_since(pressed));
        photo = telegram
            .wait_for("the edited photo", WAIT, |t| {
                t.photos(VIEWER).into_iter().find(|m| {
                    m.message_id == photo.message_id && m.text.contains(&format!("last {span}"))
                })
            })
            .await;
    }
    world.stop().await;
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Some((
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
    ))
}

fn data_of(message: &SentMessage, label: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no button {label:?}"))
        .1
}
