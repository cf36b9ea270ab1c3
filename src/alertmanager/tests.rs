use serde_json::{Value, json};

use super::*;

const FIXTURES: [&str; 4] = [
    include_str!("../../tests/fixtures/alertmanager/1.json"),
    include_str!("../../tests/fixtures/alertmanager/2.json"),
    include_str!("../../tests/fixtures/alertmanager/3.json"),
    include_str!("../../tests/fixtures/alertmanager/4.json"),
];

fn fixture(i: usize) -> Value {
    serde_json::from_str(FIXTURES[i]).unwrap()
}

fn parse_value(v: &Value) -> Result<Notification, PayloadError> {
    parse(v.to_string().as_bytes())
}

#[test]
fn every_captured_payload_parses() {
    for (i, text) in FIXTURES.iter().enumerate() {
        let n = parse(text.as_bytes()).unwrap_or_else(|e| panic!("fixture {}: {e}", i + 1));
        assert_eq!(n.receiver, "chatops");
        assert_eq!(n.alerts.len(), 1);
    }
    let firing = parse(FIXTURES[0].as_bytes()).unwrap();
    let alert = &firing.alerts[0];
    assert_eq!(firing.status, AlertStatus::Firing);
    assert_eq!(alert.fingerprint, "2edf5878f5ac0b05");
    assert_eq!(alert.alertname(), "PostgresReplicationLag");
    assert_eq!(alert.severity(), "critical");
    assert_eq!(alert.ends_at, None, "the zero endsAt means still firing");
    assert_eq!(alert.annotations["summary"], "Replication lag > 30s");
    assert_eq!(alert.starts_at.to_rfc3339(), "2026-11-22T11:33:15+00:00");

    let resolved = parse(FIXTURES[3].as_bytes()).unwrap();
    let ends_at = resolved.alerts[0].ends_at.expect("resolved alerts end");
    assert_eq!(ends_at.timestamp_subsec_nanos(), 450_036_241);
}

fn refused(v: &Value) -> PayloadError {
    parse_value(v).expect_err("payload should be refused")
}

#[test]
fn missing_and_mistyped_fields_are_named() {
    let mut v = fixture(0);
    v["alerts"][0]
        .as_object_mut()
        .unwrap()
        .remove("fingerprint");
    let e = refused(&v);
    assert_eq!(e.field, "alerts[0]");
    assert!(e.message.contains("missing field `fingerprint`"), "{e}");

    let mut v = fixture(0);
    v["alerts"][0]["startsAt"] = json!(12);
    assert_eq!(refused(&v).field, "alerts[0].startsAt");

    let mut v = fixture(0);
    v["alerts"][0]["startsAt"] = json!("yesterday");
    assert_eq!(refused(&v).field, "alerts[0].startsAt");

    let mut v = fixture(0);
    v["alerts"][0]["labels"]["severity"] = json!(3);
    let e = refused(&v);
    assert_eq!(e.field, "alerts[0].labels.severity");
    assert!(!e.message.contains("line 1"), "{e}");

    let mut v = fixture(0);
    v["alerts"][0]["status"] = json!("pending");
    assert_eq!(refused(&v).field, "alerts[0].status");

    let mut v = fixture(0);
    v.as_object_mut().unwrap().remove("alerts");
    let e = refused(&v);
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("body", "missing field `alerts`")
    );
}

#[test]
fn other_versions_are_refused_for_their_version() {
    let mut v = fixture(0);
    v["version"] = json!("5");
    v.as_object_mut().unwrap().remove("alerts");
    assert_eq!(refused(&v).field, "version");
    v["version"] = json!(4);
    assert_eq!(refused(&v).field, "version");
}

#[test]
fn broken_json_is_a_body_error() {
    let twice = format!("{0}\n{0}", FIXTURES[0]);
    let trailing = format!("{} garbage", FIXTURES[0]);
    for body in [
        &b""[..],
        b"{",
        b"not json",
        b"[1,2]",
        b"\xff\xfe",
        twice.as_bytes(),
        trailing.as_bytes(),
    ] {
        let e = parse(body).expect_err("should be refused");
        assert_eq!(e.field, "body", "{body:?}: {e}");
    }
}

#[test]
fn hostile_values_are_kept_verbatim_or_refused() {
    let mut v = fixture(0);
    let huge = "x".repeat(200_000);
    v["alerts"][0]["labels"]["huge"] = json!(huge);
    v["alerts"][0]["annotations"]["summary"] = json!("<b>&amp;</b> map[a:b] 🔥 Ωmega\u{0}");
    let n = parse_value(&v).unwrap();
    assert_eq!(n.alerts[0].labels["huge"].len(), 200_000);
    assert!(n.alerts[0].annotations["summary"].starts_with("<b>&amp;</b> map[a:b] 🔥"));

    let mut v = fixture(0);
    v["alerts"][0]["fingerprint"] = json!("");
    assert_eq!(refused(&v).field, "alerts[0].fingerprint");

    let mut v = fixture(0);
    v["alerts"][0]["startsAt"] = json!("0001-01-01T00:00:00Z");
    assert_eq!(refused(&v).field, "alerts[0].startsAt");

    let mut v = fixture(0);
    v["alerts"][0]["labels"][""] = json!("x");
    assert_eq!(refused(&v).field, "alerts[0].labels");
}

#[test]
fn optional_fields_may_be_absent() {
    let v = json!({
        "version": "4",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "X"},
            "startsAt": "2026-11-22T11:33:15.5+01:00",
            "fingerprint": "abc"
        }]
    });
    let n = parse_value(&v).unwrap();
    assert_eq!(n.alerts[0].annotations.len(), 0);
    assert_eq!(n.alerts[0].ends_at, None);
    assert_eq!(
        n.alerts[0].starts_at.to_rfc3339(),
        "2026-11-22T10:33:15.500+00:00"
    );
}
