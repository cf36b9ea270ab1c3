use super::*;

fn main_db() -> Vec<DatabaseName> {
    vec![DatabaseName::parse("main").unwrap()]
}

const GOOD: &str = r#"
charts:
  - alias: connections
    title: Connections by state
    unit: count
    queries:
      - expr: sum by (state) (pg_stat_activity_count{{selector}})
        legend: '{{state}}'
    thresholds:
      - { value: 80, label: many }
  - alias: locks
    title: Locks
    databases: [main]
    queries:
      - expr: sum by (mode) (pg_locks_count{mode!="", {{matchers}}})
status:
  - name: up
    title: Up
    expr: min(pg_up{{selector}})
    critical_below: 1
    chart: connections
"#;

#[test]
fn the_documented_format_reads() {
    let (charts, problems) = parse_charts(Path::new("charts.yaml"), GOOD, &main_db()).unwrap();
    assert_eq!(problems, []);
    assert_eq!(charts.charts.len(), 2);
    let first = &charts.charts[0];
    assert_eq!(first.unit, Unit::Count);
    assert_eq!(first.thresholds[0].value, 80.0);
    assert_eq!(first.queries[0].legend.as_deref(), Some("{{state}}"));
    assert_eq!(charts.charts[1].unit, Unit::None);
    assert_eq!(charts.status[0].critical_below, Some(1.0));
    assert!(charts.chart("locks").unwrap().serves(&main_db()[0]));
}

#[test]
fn every_problem_is_located() {
    let text = r#"
charts:
  - alias: Bad Alias
    title: T
    unit: furlongs
    queries:
      - expr: rate(pg_stat_database_xact_commit[5m])
      - expr: x{{selector}} + y{{secret}}
        legend: '{{not a label}}'
  - alias: connections
    queries: []
    databases: [elsewhere]
  - alias: connections
    title: again
    queries:
      - expr: up{{selector}}
    thresholds:
      - label: no value
status:
  - name: up
    title: Up
    expr: pg_up{{selector}}
    chart: nowhere
    colour: red
"#;
    let problems: Vec<String> = parse_charts(Path::new("charts.yaml"), text, &main_db())
        .unwrap()
        .1
        .iter()
        .map(ToString::to_string)
        .collect();
    let all = problems.join("\n");
    for expected in [
        "charts.yaml:3:",
        "must be 1-40 characters",
        "charts.yaml:5:11: charts[0].unit: \"furlongs\" is not a unit",
        "charts.yaml:7:15: charts[0].queries[0].expr: uses neither {{selector}} nor {{matchers}}",
        "{{secret}} is not a placeholder",
        "{{not a label}} is not a label name",
        "charts[1].title",
        "a chart needs at least one query",
        "\"elsewhere\" is not a database of the config",
        "connections is defined twice",
        "value",
        "\"nowhere\" is not a chart of this file",
        "unknown field `colour`",
    ] {
        assert!(all.contains(expected), "{expected:?} in:\n{all}");
    }
}

#[test]
fn an_unreadable_file_is_one_located_problem() {
    let e = parse_charts(Path::new("charts.yaml"), "charts: [\n", &main_db()).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert!(e.problems[0].position.is_some());
}
