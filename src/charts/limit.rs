//! Fewer lines than a query returned: a chart with more than a handful of colours cannot be read,
//! so the smallest series are summed into one called "other".

use std::collections::BTreeMap;

use super::series::Series;

/// The name of the series that sums those left out.
pub const OTHER: &str = "other";

/// At most `max` series: the `max - 1` with the largest average, in their original order, then
/// `other` (named so: [`OTHER`] in English), the point-by-point sum of the rest (a point wherever any
/// of them has a finite one).
pub fn limit_series(series: Vec<Series>, max: usize, other: &str) -> Vec<Series> {
    if series.len() <= max {
        return series;
    }
    let Some(kept_count) = max.checked_sub(1) else {
        return Vec::new();
    };
    let mut by_average: Vec<(usize, f64)> = series
        .iter()
        .enumerate()
        // A series with no data at all is the first to go.
        .map(|(i, s)| (i, s.stats().map_or(f64::NEG_INFINITY, |st| st.avg)))
        .collect();
    by_average.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep = vec![false; series.len()];
    for &(i, _) in &by_average[..kept_count] {
        keep[i] = true;
    }
    let mut kept = Vec::with_capacity(max);
    let mut sums: BTreeMap<i64, f64> = BTreeMap::new();
    for (series, keep) in series.into_iter().zip(keep) {
        if keep {
            kept.push(series);
            continue;
        }
        for (t, v) in series.points {
            if v.is_finite() {
                *sums.entry(t).or_insert(0.0) += v;
            }
        }
    }
    kept.push(Series {
        name: other.to_owned(),
        points: sums.into_iter().collect(),
    });
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: &[(i64, f64)]) -> Series {
        Series {
            name: name.to_owned(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn twelve_series_become_seven_and_the_sum_of_the_rest() {
        // Series i has value i at every point: the largest averages are 11 down to 5.
        let input: Vec<Series> = (0..12)
            .map(|i| {
                let points: Vec<(i64, f64)> = (0..4).map(|t| (t * 15, i as f64)).collect();
                series(&format!("s{i}"), &points)
            })
            .collect();
        let limited = limit_series(input, 8, OTHER);
        assert_eq!(limited.len(), 8);
        let names: Vec<&str> = limited.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s5", "s6", "s7", "s8", "s9", "s10", "s11", "other"]);
        let other = &limited[7];
        assert_eq!(
            other.points,
            [(0, 10.0), (15, 10.0), (30, 10.0), (45, 10.0)]
        );
    }

    #[test]
    fn other_has_a_point_wherever_any_summed_series_has_one() {
        let input = vec![
            series("big", &[(0, 100.0), (15, 100.0)]),
            series("a", &[(0, 1.0), (30, 2.0)]),
            series("b", &[(15, 3.0), (30, f64::NAN), (45, 4.0)]),
            series("empty", &[]),
        ];
        let limited = limit_series(input, 2, OTHER);
        assert_eq!(limited[0].name, "big");
        assert_eq!(
            limited[1].points,
            [(0, 1.0), (15, 3.0), (30, 2.0), (45, 4.0)]
        );
    }

    #[test]
    fn few_series_are_left_alone() {
        let input = vec![series("a", &[(0, 1.0)]), series("b", &[(0, 2.0)])];
        assert_eq!(limit_series(input.clone(), 8, OTHER), input);
        assert_eq!(limit_series(input.clone(), 2, OTHER), input);
        assert!(limit_series(input, 0, OTHER).is_empty());
    }
}
