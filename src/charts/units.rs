//! Values written for people: short, three significant digits, in the unit a series measures.
//! Used for the chart's value axis and by anything that quotes a metric in a caption or a card.

use super::series::Unit;

const BINARY_PREFIXES: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
const DECIMAL_SUFFIXES: [&str; 5] = ["", "k", "M", "G", "T"];

/// `v` in `unit`, e.g. "1.5 GiB", "12.5 MiB/s", "4 min 10 s", "97.3%", "1.2k/s", "3.4M".
pub fn format_value(unit: Unit, v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v < 0.0 {
        // Negative values (a shrinking size, a clock skew) keep their magnitude's wording.
        return format!("-{}", format_value(unit, -v));
    }
    match unit {
        Unit::Bytes => bytes(v),
        Unit::BytesPerSecond => format!("{}/s", bytes(v)),
        Unit::Seconds => duration(v),
        Unit::Ratio => format!("{}%", significant(v * 100.0)),
        Unit::Percent => format!("{}%", significant(v)),
        Unit::PerSecond => format!("{}/s", compact(v)),
        Unit::Count | Unit::None => compact(v),
    }
}

fn bytes(v: f64) -> String {
    let (scaled, prefix) = scale(v, 1024.0, &BINARY_PREFIXES);
    if prefix == 0 {
        // Whole bytes: a fraction of a byte (an average rate) reads as noise.
        return format!("{} B", scaled.round());
    }
    format!("{} {}", significant(scaled), BINARY_PREFIXES[prefix])
}

fn compact(v: f64) -> String {
    let (scaled, suffix) = scale(v, 1000.0, &DECIMAL_SUFFIXES);
    format!("{}{}", significant(scaled), DECIMAL_SUFFIXES[suffix])
}

/// `v` divided by `base` until it is below `base` (once rounded), and how many times it was.
fn scale(v: f64, base: f64, names: &[&str]) -> (f64, usize) {
    let mut scaled = v;
    let mut index = 0;
    // 999.7 would round to "1000"; the next prefix ("0.98 MiB", "1k") reads better.
    while index + 1 < names.len() && round_significant(scaled) >= base.min(1000.0) {
        scaled /= base;
        index += 1;
    }
    (scaled, index)
}

fn duration(v: f64) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86400.0;
    if v == 0.0 {
        return "0 s".to_owned();
    }
    if v < 1e-3 {
        return format!("{} µs", significant(v * 1e6));
    }
    if round_significant(v * 1e3) < 1000.0 {
        return format!("{} ms", significant(v * 1e3));
    }
    if round_significant(v) < MINUTE {
        return format!("{} s", significant(v));
    }
    let whole = v.round();
    let (big, small, big_name, small_name) = if whole < HOUR {
        (whole / MINUTE, whole % MINUTE, "min", "s")
    } else if whole < DAY {
        let minutes = (whole / MINUTE).round();
        (minutes / 60.0, minutes % 60.0, "h", "min")
    } else {
        let hours = (whole / HOUR).round();
        (hours / 24.0, hours % 24.0, "d", "h")
    };
    let big = big.floor();
    if small == 0.0 {
        format!("{big} {big_name}")
    } else {
        format!("{big} {big_name} {small} {small_name}")
    }
}

/// Three significant digits, trailing zeros dropped: 97.25 → "97.3", 1.0 → "1", 0.01234 → "0.0123".
fn significant(v: f64) -> String {
    let decimals = decimals_for(v);
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn round_significant(v: f64) -> f64 {
    let decimals = decimals_for(v);
    let factor = 10f64.powi(decimals as i32);
    (v * factor).round() / factor
}

fn decimals_for(v: f64) -> usize {
    if v == 0.0 || v >= 100.0 {
        return 0;
    }
    // Digits before the first significant one, plus the two that follow it.
    (2 - v.log10().floor() as i64).clamp(0, 12) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(unit: Unit, expected: &[(f64, &str)]) {
        for &(v, text) in expected {
            assert_eq!(format_value(unit, v), text, "{unit:?} {v}");
        }
    }

    #[test]
    fn bytes_use_binary_prefixes() {
        cases(
            Unit::Bytes,
            &[
                (0.0, "0 B"),
                (512.0, "512 B"),
                (999.4, "999 B"),
                (1536.0, "1.5 KiB"),
                (1023.0 * 1024.0, "0.999 MiB"),
                (12.34 * 1024.0 * 1024.0, "12.3 MiB"),
                (3.0 * 1024f64.powi(3), "3 GiB"),
                (2.5 * 1024f64.powi(4), "2.5 TiB"),
                (2048.0 * 1024f64.powi(4), "2048 TiB"),
                (-1536.0, "-1.5 KiB"),
            ],
        );
        cases(
            Unit::BytesPerSecond,
            &[(5.0 * 1024.0 * 1024.0, "5 MiB/s"), (100.0, "100 B/s")],
        );
    }

    #[test]
    fn seconds_read_like_a_person_would_say_them() {
        cases(
            Unit::Seconds,
            &[
                (0.0, "0 s"),
                (0.00012, "120 µs"),
                (0.0015, "1.5 ms"),
                (0.85, "850 ms"),
                (0.9999, "1 s"),
                (12.5, "12.5 s"),
                (59.99, "1 min"),
                (250.0, "4 min 10 s"),
                (2.0 * 3600.0 + 5.0 * 60.0, "2 h 5 min"),
                (3600.0, "1 h"),
                (3.0 * 86400.0 + 4.0 * 3600.0, "3 d 4 h"),
                (86400.0, "1 d"),
            ],
        );
    }

    #[test]
    fn ratios_and_percentages_are_percent() {
        cases(
            Unit::Ratio,
            &[
                (0.973, "97.3%"),
                (1.0, "100%"),
                (0.5, "50%"),
                (0.0012, "0.12%"),
            ],
        );
        cases(
            Unit::Percent,
            &[(97.3, "97.3%"), (100.0, "100%"), (0.0, "0%")],
        );
    }

    #[test]
    fn rates_and_counts_use_k_and_m() {
        cases(
            Unit::PerSecond,
            &[
                (1234.0, "1.23k/s"),
                (350.0, "350/s"),
                (0.5, "0.5/s"),
                (2.5e6, "2.5M/s"),
            ],
        );
        cases(
            Unit::Count,
            &[
                (12.0, "12"),
                (1200.0, "1.2k"),
                (3.4e6, "3.4M"),
                (999.9, "1k"),
                (7e9, "7G"),
            ],
        );
        cases(
            Unit::None,
            &[(0.25, "0.25"), (42.0, "42"), (15000.0, "15k")],
        );
    }

    #[test]
    fn not_a_number_is_a_dash() {
        assert_eq!(format_value(Unit::Bytes, f64::NAN), "–");
        assert_eq!(format_value(Unit::Count, f64::INFINITY), "–");
    }
}
