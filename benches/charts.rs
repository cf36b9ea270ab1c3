//! Charts, two figures. Rendering, the query left out: a 7-day chart of 5 series × 2,000 points,
//! rendered 100 times; median and p99 time per PNG, and how much resident memory rendering adds to the
//! process (VmRSS before the first chart, VmHWM after the last). Goals: under 50 ms and under 10 MB.
//! Then a button press → the photo sent, with a local Prometheus (`press.rs`). Goal: under 500 ms.
//!
//! `cargo bench --bench charts` (`POSTGRAM_TEST_SKIP=prometheus` leaves the second out)
#![allow(clippy::unwrap_used)] // a benchmark that cannot set itself up should stop loudly

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "charts/press.rs"]
mod press;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use postgram::charts::{Plot, Series, Threshold, Unit, render_png};
use postgram::i18n::Lang;

const RUNS: usize = 100;
const SERIES: usize = 5;
const POINTS: i64 = 2000;
const TO: i64 = 1_796_047_620;
const FROM: i64 = TO - 7 * 86400;
const STEP: i64 = (TO - FROM) / POINTS;

/// A kB figure from /proc/self/status, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap()
        / 1024.0
}

fn series() -> Vec<Series> {
    (0..SERIES)
        .map(|s| Series {
            name: format!("pg_stat_database_xact_commit{{datname=\"db{s}\"}}"),
            points: (0..POINTS)
                .map(|i| {
                    let phase = i as f64 / 50.0 + s as f64;
                    let noise = ((i * 7919 + s as i64 * 104_729) % 97) as f64 / 97.0;
                    (
                        FROM + i * STEP,
                        1000.0 * (s + 1) as f64 * (1.5 + phase.sin()) + 200.0 * noise,
                    )
                })
                .collect(),
        })
        .collect()
}

fn main() {
    let series = series();
    let thresholds = [Threshold {
        value: 9000.0,
        label: "warning".into(),
    }];
    let plot = Plot {
        title: "Transactions per second, last 7 days",
        unit: Unit::PerSecond,
        from: FROM,
        to: TO,
        step: STEP,
        series: &series,
        thresholds: &thresholds,
        shade: Some((TO - 86400, TO - 80000)),
        utc_offset: FixedOffset::east_opt(3 * 3600).unwrap(),
        lang: Lang::En,
    };
    let rss_before = status_mib("VmRSS:");
    let first = Instant::now();
    let png = render_png(&plot).unwrap();
    let first = first.elapsed();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let at = Instant::now();
            black_box(render_png(black_box(&plot)).unwrap());
            at.elapsed()
        })
        .collect();
    let peak = status_mib("VmHWM:");
    let rss_after = status_mib("VmRSS:");
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "7-day chart, {SERIES} series × {POINTS} points, {} KiB PNG: median {:.1} ms, p99 {:.1} ms over {RUNS} renders (first {:.1} ms)",
        png.len() / 1024,
        ms(times[RUNS / 2]),
        ms(times[RUNS * 99 / 100]),
        ms(first)
    );
    println!(
        "resident memory: {rss_before:.1} MiB before the first chart, peak {peak:.1} MiB (+{:.1} MiB), {rss_after:.1} MiB after the last",
        peak - rss_before
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match runtime.block_on(press::press_to_photo()) {
        Some((median, p99)) => println!(
            "button press → photo sent (span changed in place, real Prometheus and exporter): \
             median {median:.0} ms, p99 {p99:.0} ms"
        ),
        None => println!("button press → photo: skipped (POSTGRAM_TEST_SKIP=prometheus)"),
    }
}
