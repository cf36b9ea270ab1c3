//! Where a line must break. Prometheus leaves a timestamp out when it has no value there (a target
//! down, a restarted exporter); joining across would draw data that never existed.

/// The runs of `points` to draw as unbroken lines: finite values inside `from..=to`, split where
/// consecutive points are more than 1.5 × `step` apart or a value is NaN or infinite. A run of
/// one point is a lone value, to be drawn as a dot.
pub fn segments(points: &[(i64, f64)], step: i64, from: i64, to: i64) -> Vec<&[(i64, f64)]> {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &(t, v)) in points.iter().enumerate() {
        let drawable = v.is_finite() && (from..=to).contains(&t);
        let joined = i > 0 && start.is_some() && !too_far(points[i - 1].0, t, step);
        match (drawable, start) {
            (true, Some(_)) if joined => {}
            (true, _) => {
                if let Some(s) = start {
                    runs.push(&points[s..i]);
                }
                start = Some(i);
            }
            (false, Some(s)) => {
                runs.push(&points[s..i]);
                start = None;
            }
            (false, None) => {}
        }
    }
    if let Some(s) = start {
        runs.push(&points[s..]);
    }
    runs
}

fn too_far(before: i64, after: i64, step: i64) -> bool {
    // A step of zero (an instant query) gives no spacing to judge by: only missing values break.
    step > 0 && (after - before) * 2 > step * 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(runs: &[&[(i64, f64)]]) -> Vec<Vec<i64>> {
        runs.iter()
            .map(|r| r.iter().map(|&(t, _)| t).collect())
            .collect()
    }

    #[test]
    fn a_missing_timestamp_splits_the_line() {
        let points = [(0, 1.0), (15, 1.0), (30, 1.0), (75, 1.0), (90, 1.0)];
        assert_eq!(
            times(&segments(&points, 15, 0, 100)),
            [vec![0, 15, 30], vec![75, 90]]
        );
        // Jitter within half a step is not a gap.
        let points = [(0, 1.0), (22, 1.0), (44, 1.0)];
        assert_eq!(times(&segments(&points, 15, 0, 100)), [vec![0, 22, 44]]);
    }

    #[test]
    fn non_finite_values_split_and_lone_points_stay() {
        let points = [
            (0, 1.0),
            (15, f64::NAN),
            (30, 2.0),
            (45, f64::INFINITY),
            (60, 3.0),
            (75, 4.0),
        ];
        assert_eq!(
            times(&segments(&points, 15, 0, 100)),
            [vec![0], vec![30], vec![60, 75]]
        );
    }

    #[test]
    fn points_outside_the_range_are_left_out() {
        let points = [(0, 1.0), (15, 1.0), (30, 1.0), (45, 1.0)];
        assert_eq!(times(&segments(&points, 15, 10, 40)), [vec![15, 30]]);
        assert!(segments(&points, 15, 100, 200).is_empty());
    }
}
