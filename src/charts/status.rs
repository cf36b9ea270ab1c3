//! The health card of a database: every status row of the catalogue as an instant query, run at once,
//! each value marked against its thresholds.

use serde::Serialize;

use super::catalogue::StatusRow;
use super::fetch::{Window, fill};
use super::prometheus::{Prometheus, QueryError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// No value (the query answered nothing).
    Unknown,
    Warning,
    Critical,
}

/// One row of the card, read.
#[derive(Debug, Clone)]
pub struct Reading {
    pub row: StatusRow,
    /// `Ok(None)`: Prometheus answered, with no series.
    pub value: Result<Option<f64>, QueryError>,
    pub level: Level,
}

/// Status rows read over this window: `{{range}}` is five minutes, as a health check would look.
const RATE_WINDOW: Window = Window {
    from: 0,
    to: 300,
    step: 75,
};

/// Reads every row for the database of `selector`, at `now` (unix seconds).
pub async fn read(
    prometheus: &Prometheus,
    rows: &[StatusRow],
    selector: &str,
    now: i64,
) -> Vec<Reading> {
    let answers = futures_util::future::join_all(rows.iter().map(|row| {
        let query = fill(&row.expr, selector, RATE_WINDOW);
        async move { prometheus.instant(&query, now).await }
    }))
    .await;
    rows.iter()
        .zip(answers)
        .map(|(row, answer)| {
            let value = answer.map(|series| {
                let values = series
                    .iter()
                    .filter_map(|s| s.points.first().map(|p| p.1))
                    .filter(|v| v.is_finite());
                worst(row, values)
            });
            let level = match &value {
                Ok(Some(v)) => level(row, *v),
                Ok(None) | Err(_) => Level::Unknown,
            };
            Reading {
                row: row.clone(),
                value,
                level,
            }
        })
        .collect()
}

/// A row should answer one value; when it answers several, the one closest to trouble counts.
fn worst(row: &StatusRow, values: impl Iterator<Item = f64>) -> Option<f64> {
    let low_is_bad = (row.warn_below.is_some() || row.critical_below.is_some())
        && row.warn_above.is_none()
        && row.critical_above.is_none();
    values.reduce(|a, b| if low_is_bad { a.min(b) } else { a.max(b) })
}

pub fn level(row: &StatusRow, value: f64) -> Level {
    let crossed = |above: Option<f64>, below: Option<f64>| {
        above.is_some_and(|t| value > t) || below.is_some_and(|t| value < t)
    };
    if crossed(row.critical_above, row.critical_below) {
        Level::Critical
    } else if crossed(row.warn_above, row.warn_below) {
        Level::Warning
    } else {
        Level::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::Unit;

    fn row(warn_above: Option<f64>, critical_below: Option<f64>) -> StatusRow {
        StatusRow {
            name: "r".into(),
            title: "R".into(),
            expr: "x{{selector}}".into(),
            unit: Unit::None,
            warn_above,
            warn_below: None,
            critical_above: None,
            critical_below,
            chart: None,
        }
    }

    #[test]
    fn values_are_marked_against_their_thresholds() {
        let high = row(Some(0.8), None);
        assert_eq!(level(&high, 0.5), Level::Ok);
        assert_eq!(level(&high, 0.81), Level::Warning);
        let up = row(None, Some(1.0));
        assert_eq!(level(&up, 1.0), Level::Ok);
        assert_eq!(level(&up, 0.0), Level::Critical);
        assert_eq!(worst(&up, [1.0, 0.0, 1.0].into_iter()), Some(0.0));
        assert_eq!(worst(&high, [0.1, 0.9].into_iter()), Some(0.9));
        assert_eq!(worst(&high, std::iter::empty()), None);
    }
}
