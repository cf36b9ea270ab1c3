//! The data a chart is drawn from, as every part of the charts feature passes it around: lines of
//! points ([`Series`]), the unit their values are in ([`Unit`]), and one chart's whole description
//! ([`Plot`]).

use serde::{Deserialize, Serialize};

/// One line of a chart: points at Prometheus's step; a missing timestamp is a gap (drawn as a gap, never joined).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    /// (unix seconds, value), ascending; NaN and infinities are gaps like missing points.
    pub points: Vec<(i64, f64)>,
}

/// What a series' values measure, which decides how they are written (see `format_value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Bytes,
    BytesPerSecond,
    Seconds,
    /// 0..1, shown as a percentage.
    Ratio,
    /// 0..100.
    Percent,
    /// Operations per second, "ops/s".
    PerSecond,
    Count,
    None,
}

impl Unit {
    /// The names [`Unit::parse`] accepts, one per unit, as a catalogue file would write them.
    pub const NAMES: &[&str] = &[
        "bytes", "bytes/s", "seconds", "ratio", "percent", "ops/s", "count", "none",
    ];

    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "bytes" => Unit::Bytes,
            // The snake_case spellings are the serde names, accepted so both forms round-trip.
            "bytes/s" | "bytes_per_second" => Unit::BytesPerSecond,
            "seconds" => Unit::Seconds,
            "ratio" => Unit::Ratio,
            "percent" => Unit::Percent,
            "ops/s" | "per_second" => Unit::PerSecond,
            "count" => Unit::Count,
            "none" => Unit::None,
            _ => return None,
        })
    }
}

/// A horizontal line across the chart, such as an alert's threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub label: String,
}

/// Everything one chart shows.
#[derive(Debug, Clone, Copy)]
pub struct Plot<'a> {
    pub title: &'a str,
    pub unit: Unit,
    /// The x range, unix seconds.
    pub from: i64,
    pub to: i64,
    /// Seconds between points; consecutive points more than 1.5 × step apart are a gap.
    pub step: i64,
    pub series: &'a [Series],
    /// Horizontal lines, labelled.
    pub thresholds: &'a [Threshold],
    /// A span to shade (an alert's firing time), clipped to the x range.
    pub shade: Option<(i64, i64)>,
    /// Time labels are written in this zone, and the axis names it (e.g. "UTC+03:00").
    pub utc_offset: chrono::FixedOffset,
    /// The language of the picture's own words (the firing span's legend, "+3 more").
    pub lang: crate::i18n::Lang,
}

/// A series summed up over its finite points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The value of the series' final point, or none when that point is NaN or infinite (the
    /// metric has no current value even though it had some earlier).
    pub last: Option<f64>,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
}

impl Series {
    /// None when the series has no finite point.
    pub fn stats(&self) -> Option<Stats> {
        let mut finite = self
            .points
            .iter()
            .map(|&(_, v)| v)
            .filter(|v| v.is_finite());
        let first = finite.next()?;
        let (mut min, mut max, mut sum, mut count) = (first, first, first, 1usize);
        for v in finite {
            min = min.min(v);
            max = max.max(v);
            sum += v;
            count += 1;
        }
        Some(Stats {
            last: self
                .points
                .last()
                .map(|&(_, v)| v)
                .filter(|v| v.is_finite()),
            min,
            max,
            avg: sum / count as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_parses_and_serde_names_do_too() {
        let units: Vec<Unit> = Unit::NAMES.iter().filter_map(|n| Unit::parse(n)).collect();
        assert_eq!(units.len(), Unit::NAMES.len());
        for unit in units {
            let serde_name = serde_json::to_value(unit).unwrap();
            assert_eq!(Unit::parse(serde_name.as_str().unwrap()), Some(unit));
        }
        assert_eq!(Unit::parse("per_second"), Some(Unit::PerSecond));
        assert_eq!(Unit::parse("Bytes"), None);
        assert_eq!(Unit::parse(""), None);
    }

    #[test]
    fn stats_skip_gaps_and_report_a_missing_last_value() {
        let series = Series {
            name: "x".into(),
            points: vec![(0, 2.0), (15, f64::NAN), (30, 4.0), (45, f64::INFINITY)],
        };
        let stats = series.stats().unwrap();
        assert_eq!((stats.min, stats.max, stats.avg), (2.0, 4.0, 3.0));
        assert_eq!(stats.last, None);
        let series = Series {
            name: "x".into(),
            points: vec![(0, 1.0), (15, 5.0)],
        };
        assert_eq!(series.stats().unwrap().last, Some(5.0));
    }

    #[test]
    fn no_finite_point_no_stats() {
        let empty = Series {
            name: "x".into(),
            points: vec![],
        };
        assert_eq!(empty.stats(), None);
        let nan = Series {
            name: "x".into(),
            points: vec![(0, f64::NAN), (15, f64::NEG_INFINITY)],
        };
        assert_eq!(nan.stats(), None);
    }
}
