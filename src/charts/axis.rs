//! The chart's two axes as plotters coordinate specs whose grid lines fall on round values: time
//! ticks aligned to the viewer's clock (every 10 min, hourly, daily at local midnight…) and value
//! ticks at round steps of the unit (1-2-5 decimals, powers of 1024 for bytes, minutes and hours
//! for durations), labelled so that no two labels read the same.

use std::ops::Range;

use chrono::{DateTime, FixedOffset};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use super::series::Unit;
use super::units::format_value;

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86400;
const WEEK: i64 = 7 * DAY;
/// At most this many labels fit under a phone-sized chart without crowding.
const MAX_TIME_TICKS: i64 = 8;
const TIME_STEPS: [i64; 13] = [
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
];

/// The x axis: unix seconds from `from` to `to`, ticks on round local times.
#[derive(Debug, Clone)]
pub struct TimeAxis {
    from: i64,
    to: i64,
    step: i64,
    ticks: Vec<i64>,
    offset: FixedOffset,
}

impl TimeAxis {
    pub fn new(from: i64, to: i64, offset: FixedOffset) -> TimeAxis {
        let to = to.max(from + 1);
        let span = to - from;
        let step = TIME_STEPS
            .iter()
            .copied()
            .find(|step| span / step <= MAX_TIME_TICKS)
            .unwrap_or_else(|| WEEK * (span / WEEK / MAX_TIME_TICKS + 1));
        let local = i64::from(offset.local_minus_utc());
        // Weeks start on Monday; 1970-01-01 was a Thursday, four days after one.
        let anchor = if step % WEEK == 0 { 4 * DAY } else { 0 };
        let first = (from + local - anchor).div_euclid(step) * step + anchor - local;
        let first = if first < from { first + step } else { first };
        let ticks = (0..)
            .map(|i| first + i * step)
            .take_while(|&t| t <= to)
            .collect();
        TimeAxis {
            from,
            to,
            step,
            ticks,
            offset,
        }
    }

    /// "14:30" within a day, the day itself at local midnight ("Mon 30") and for daily ticks,
    /// "30 Nov" once the range is longer than a week.
    pub fn label(&self, t: i64) -> String {
        let Some(at) = DateTime::from_timestamp(t, 0) else {
            return String::new();
        };
        let local = at.with_timezone(&self.offset);
        let midnight = (t + i64::from(self.offset.local_minus_utc())).rem_euclid(DAY) == 0;
        let format = if self.step < DAY && !midnight {
            "%H:%M"
        } else if self.to - self.from <= 8 * DAY {
            "%a %d"
        } else {
            "%d %b"
        };
        local.format(format).to_string()
    }

    /// The zone the labels are in: "UTC", "UTC+03:00", "UTC-05:30".
    pub fn zone(&self) -> String {
        zone_name(self.offset)
    }
}

impl Ranged for TimeAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = i64;

    fn map(&self, value: &i64, limit: (i32, i32)) -> i32 {
        let share = (value - self.from) as f64 / (self.to - self.from) as f64;
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<i64> {
        // Only bold grid lines: the light ones plotters adds in between would clutter a phone screen.
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        self.ticks.clone()
    }

    fn range(&self) -> Range<i64> {
        self.from..self.to
    }
}

/// The y axis: from `lo` to `hi`, both on a tick.
#[derive(Debug, Clone)]
pub struct ValueAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

/// At most this many value labels; fewer when the unit's wording cannot tell closer ones apart.
const MAX_VALUE_TICKS: f64 = 6.0;

impl ValueAxis {
    /// An axis that shows `min..max` of the data (and whatever else must be seen, such as a
    /// threshold, already folded into them by the caller).
    pub fn new(unit: Unit, min: f64, max: f64) -> ValueAxis {
        let (lo, hi) = extent(min, max);
        let mut step = nice_step(unit, (hi - lo) / MAX_VALUE_TICKS);
        let mut axis = ValueAxis::with_step(lo, hi, step);
        // Three significant digits can write two close ticks alike ("50.1 GiB" twice): a coarser
        // step then. Bounded, for data near the limits of f64 where steps stop growing.
        for _ in 0..32 {
            let labels: Vec<String> = axis.ticks.iter().map(|&v| format_value(unit, v)).collect();
            if labels.windows(2).all(|w| w[0] != w[1]) || axis.ticks.len() <= 2 {
                break;
            }
            step = nice_step(unit, step * 1.5);
            axis = ValueAxis::with_step(lo, hi, step);
        }
        axis
    }

    fn with_step(lo: f64, hi: f64, step: f64) -> ValueAxis {
        let first = (lo / step).floor();
        let last = (hi / step).ceil().max(first + 1.0);
        // The caller's data is finite and the step a sixth of its span, so this stays a handful.
        let ticks = (0..=((last - first) as i64).min(100))
            .map(|i| (first + i as f64) * step)
            .collect();
        ValueAxis {
            lo: first * step,
            hi: last * step,
            ticks,
        }
    }

    pub fn ticks(&self) -> &[f64] {
        &self.ticks
    }

    pub fn lo(&self) -> f64 {
        self.lo
    }

    pub fn hi(&self) -> f64 {
        self.hi
    }

    pub fn contains(&self, v: f64) -> bool {
        (self.lo..=self.hi).contains(&v)
    }
}

impl Ranged for ValueAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The span the y axis must cover for data from `min` to `max`.
fn extent(min: f64, max: f64) -> (f64, f64) {
    if max - min <= max.abs().max(min.abs()) * 1e-9 {
        // Flat data: a line in the middle of nowhere says nothing; show it against zero.
        return match max {
            m if m > 0.0 => (0.0, m),
            m if m < 0.0 => (m, 0.0),
            _ => (0.0, 1.0),
        };
    }
    // Non-negative data starts at zero unless that would squeeze it into less than half the
    // height, where its changes (a database growing from 50 to 51 GiB) would flatten out.
    if min >= 0.0 && min <= max / 2.0 {
        (0.0, max)
    } else if max <= 0.0 && max >= min / 2.0 {
        (min, 0.0)
    } else {
        (min, max)
    }
}

/// The round step at least `raw` long, in the unit's own multiples.
fn nice_step(unit: Unit, raw: f64) -> f64 {
    match unit {
        Unit::Bytes | Unit::BytesPerSecond if raw >= 1024.0 => {
            let scale = 1024f64.powi(raw.log(1024.0).floor() as i32);
            let nice = nice_decimal(raw / scale);
            // 1000 MiB would be written "0.977 GiB": a whole 1 GiB is the round step there.
            if nice >= 1000.0 {
                scale * 1024.0
            } else {
                nice * scale
            }
        }
        Unit::Seconds if raw > 30.0 => {
            const STEPS: [f64; 11] = [
                60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0,
            ];
            STEPS
                .iter()
                .copied()
                .find(|&s| s >= raw)
                .unwrap_or_else(|| nice_decimal(raw / 86400.0) * 86400.0)
        }
        _ => nice_decimal(raw),
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ that is at least `raw`.
fn nice_decimal(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    let norm = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&n| n >= norm * (1.0 - 1e-9))
        .unwrap_or(10.0);
    nice * magnitude
}

/// How charts and their captions name a time zone: "UTC", "UTC+03:00", "UTC-05:30".
pub fn zone_name(offset: FixedOffset) -> String {
    if offset.local_minus_utc() == 0 {
        "UTC".to_owned()
    } else {
        format!("UTC{offset}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    fn labels(from: i64, to: i64, offset: FixedOffset) -> Vec<String> {
        let axis = TimeAxis::new(from, to, offset);
        axis.ticks.iter().map(|&t| axis.label(t)).collect()
    }

    // 2026-11-30 (a Monday) 14:07:00 UTC.
    const NOW: i64 = 1_796_047_620;

    #[test]
    fn time_ticks_suit_the_range() {
        assert_eq!(
            labels(NOW - HOUR, NOW, utc()),
            ["13:10", "13:20", "13:30", "13:40", "13:50", "14:00"]
        );
        assert_eq!(
            labels(NOW - 6 * HOUR, NOW, utc()),
            ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00"]
        );
        assert_eq!(
            labels(NOW - DAY, NOW, utc()),
            [
                "15:00", "18:00", "21:00", "Mon 30", "03:00", "06:00", "09:00", "12:00"
            ]
        );
        assert_eq!(
            labels(NOW - 7 * DAY, NOW, utc()),
            [
                "Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28", "Sun 29", "Mon 30"
            ]
        );
        assert_eq!(labels(NOW - 30 * DAY, NOW, utc())[0], "02 Nov");
    }

    #[test]
    fn time_ticks_follow_the_viewers_clock() {
        let moscow = FixedOffset::east_opt(3 * 3600).unwrap();
        assert_eq!(
            labels(NOW - 6 * HOUR, NOW, moscow),
            ["12:00", "13:00", "14:00", "15:00", "16:00", "17:00"]
        );
        let days = TimeAxis::new(NOW - 7 * DAY, NOW, moscow);
        let first = days.ticks[0];
        assert_eq!((first + 3 * HOUR) % DAY, 0, "daily ticks at local midnight");
        assert_eq!(days.zone(), "UTC+03:00");
        let india = FixedOffset::east_opt(-(5 * 3600 + 1800)).unwrap();
        assert_eq!(TimeAxis::new(0, 60, india).zone(), "UTC-05:30");
        assert_eq!(TimeAxis::new(0, 60, utc()).zone(), "UTC");
    }

    #[test]
    fn value_axis_starts_at_zero_unless_that_flattens_the_data() {
        let axis = ValueAxis::new(Unit::Count, 3.0, 97.0);
        assert_eq!((axis.lo(), axis.hi()), (0.0, 100.0));
        let axis = ValueAxis::new(Unit::Bytes, 50.1 * GIB, 50.3 * GIB);
        assert!(axis.lo() > 49.0 * GIB && axis.hi() < 51.0 * GIB);
        let axis = ValueAxis::new(Unit::Ratio, 0.5, 0.5);
        assert_eq!((axis.lo(), axis.hi()), (0.0, 0.5));
        let axis = ValueAxis::new(Unit::Count, 0.0, 0.0);
        assert_eq!((axis.lo(), axis.hi()), (0.0, 1.0));
        let axis = ValueAxis::new(Unit::None, -4.0, 3.0);
        assert!(axis.lo() <= -4.0 && axis.hi() >= 3.0);
    }

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    #[test]
    fn extreme_values_still_give_an_axis() {
        for (min, max) in [(0.0, f64::MAX), (-f64::MAX, f64::MAX), (1e-300, 2e-300)] {
            let axis = ValueAxis::new(Unit::None, min, max);
            assert!(!axis.ticks.is_empty() && axis.ticks.len() <= 101);
        }
    }

    #[test]
    fn value_labels_are_round_and_distinct() {
        for (unit, min, max) in [
            (Unit::Bytes, 50.1 * GIB, 50.3 * GIB),
            (Unit::Bytes, 0.0, 3.3 * GIB),
            (Unit::Seconds, 0.0, 5000.0),
            (Unit::Ratio, 0.97, 0.99),
            (Unit::PerSecond, 0.0, 12_345.0),
        ] {
            let axis = ValueAxis::new(unit, min, max);
            let labels: Vec<String> = axis.ticks.iter().map(|&v| format_value(unit, v)).collect();
            assert!(labels.len() >= 2, "{unit:?}: {labels:?}");
            assert!(labels.windows(2).all(|w| w[0] != w[1]), "{labels:?}");
        }
        let bytes = ValueAxis::new(Unit::Bytes, 0.0, 3.3 * GIB);
        assert_eq!(format_value(Unit::Bytes, bytes.ticks[1]), "1 GiB");
        let seconds = ValueAxis::new(Unit::Seconds, 0.0, 5000.0);
        assert_eq!(format_value(Unit::Seconds, seconds.ticks[1]), "15 min");
    }
}
