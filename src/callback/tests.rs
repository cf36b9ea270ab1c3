use proptest::prelude::*;

use super::keyboard::token;
use super::*;
use crate::domain::{DatabaseName, IncidentId, MemberKey, Role, TelegramUserId, Username};

fn db(name: &str) -> DatabaseName {
    DatabaseName::parse(name).unwrap()
}

/// One payload of every kind, at the edges of what they hold.
fn every_kind() -> Vec<Callback> {
    let long_db = db(&"d".repeat(63));
    vec![
        Callback::Acknowledge(IncidentId(i64::MAX)),
        Callback::Silence(IncidentId(i64::MAX), 24),
        Callback::Unsilence(IncidentId(7)),
        Callback::ListAlerts,
        Callback::Incidents {
            database: Some(db("-")),
            before: Some(i64::MAX),
        },
        Callback::Incidents {
            database: None,
            before: None,
        },
        Callback::Items {
            actions: true,
            database: long_db.clone(),
        },
        Callback::Pick {
            actions: false,
            database: long_db.clone(),
            item: "a".repeat(40),
        },
        Callback::Link {
            actions: true,
            incident: IncidentId(1),
            item: "vacuum_analyze".to_owned(),
        },
        Callback::Choose {
            dialogue: 3,
            choice: MAX_CHOICE - 1,
        },
        Callback::Confirm(i64::MAX),
        Callback::Abort(1),
        Callback::Page {
            dialogue: 2,
            page: MAX_PAGE,
        },
        Callback::Csv(5),
        Callback::Stop {
            database: db("main"),
            item: "cancel_query".to_owned(),
        },
        Callback::Members {
            database: Some(long_db.clone()),
        },
        Callback::Members { database: None },
        Callback::MemberAdd {
            database: db("main"),
            role: Role::Viewer,
        },
        Callback::MemberInvite {
            database: db("main"),
            role: Role::Admin,
        },
        Callback::MemberSet {
            database: long_db.clone(),
            member: MemberKey::Username(
                Username::parse_handle(&format!("@{}", "a".repeat(32))).unwrap(),
            ),
            role: None,
        },
        Callback::MemberSet {
            database: db("main"),
            member: MemberKey::Id(TelegramUserId::new(i64::MAX).unwrap()),
            role: Some(Role::Admin),
        },
        Callback::TokenNew {
            role: Role::Owner,
            scope: TokenScope::One(long_db),
            name: "x".repeat(24),
        },
        Callback::TokenNew {
            role: Role::Viewer,
            scope: TokenScope::All,
            name: "x".repeat(24),
        },
        Callback::TokenNew {
            role: Role::Viewer,
            scope: TokenScope::Ask,
            name: "x".repeat(24),
        },
        Callback::MemberRebind {
            database: db("main"),
            username: Username::parse_handle(&format!("@{}", "a".repeat(32))).unwrap(),
            user: TelegramUserId::new(i64::MAX).unwrap(),
        },
        Callback::TokenRevoke(i64::MAX),
        Callback::TokenHide,
        Callback::Language(None),
        Callback::Language(Some(crate::i18n::Lang::Ru)),
        Callback::Charts { database: None },
        Callback::Charts {
            database: Some(db("main")),
        },
        Callback::Chart {
            database: db("main"),
            chart: "connections_by_state".into(),
            span: Some(crate::charts::fetch::Span::Week),
        },
        Callback::Chart {
            database: db("main"),
            chart: "x".into(),
            span: None,
        },
        Callback::Status { database: None },
        Callback::Status {
            database: Some(db("main")),
        },
        Callback::AlertGraph(IncidentId(3)),
    ]
}

#[test]
fn payloads_round_trip_and_tokens_fit_telegram() {
    for callback in every_kind() {
        let payload = callback.encode();
        assert_eq!(
            Callback::parse(&payload),
            Some(callback.clone()),
            "{payload}"
        );
        let prepared = Keyboard::new(vec![vec![("x".to_owned(), callback)]]).prepare();
        let (data, _) = &prepared.meanings[0];
        assert_eq!(data.len(), 12);
        assert_eq!(*data, token(&payload));
    }
}

#[test]
fn foreign_and_out_of_range_payloads_are_refused() {
    for data in [
        "",
        "ack",
        "ack:x",
        "ack:1:2",
        "ack:0",
        "ack:-1",
        "ack:+1",
        "ack:9223372036854775808",
        "ack:99999999999999999999999",
        "sil:1:3",
        "sil:1",
        "sil:1:4294967297",
        "inc:1",
        "inc:Main:*",
        "drop:1",
        "uns:",
        "pg:1:10001",
        "pg:1:18446744073709551615",
        "pg:0:1",
        "dc:1:100",
        "dc:1:-1",
        "vp:main:Bad",
        "vp:main:",
        "stop:main:a:b",
        "ma:main:o",
        "ms:main:o:user:1",
        "ms:main:a:u1",
        "ms:main:a:alice",
        "ms:main:a:chat:-100",
        "tn:a:*:Bad Name",
        "tn:k:*:x",
        "cg:main:cpu:2h",
        "cg:main:Cpu:1h",
        "cg:main:cpu",
        "ch:",
        "ag:0",
        "st:main:1",
    ] {
        assert_eq!(Callback::parse(data), None, "{data:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any callback data at all (Telegram allows 64 bytes): never a panic; what decodes encodes
    /// back the same.
    #[test]
    fn any_bytes_are_decoded_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..=64)) {
        let data = String::from_utf8_lossy(&bytes);
        if let Some(callback) = Callback::parse(&data) {
            prop_assert_eq!(Callback::parse(&callback.encode()), Some(callback));
        }
    }

    /// Real payloads with a byte changed, inserted or removed, or a number swapped for another:
    /// each decodes to something that encodes back the same, or is refused.
    #[test]
    fn mutated_payloads_are_decoded_or_refused(
        which in 0..25usize,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        mode in 0..4u8,
        number in any::<i128>(),
    ) {
        let kinds = every_kind();
        let mut payload = kinds[which % kinds.len()].encode().into_bytes();
        let i = at.index(payload.len() + 1);
        match mode {
            0 if i < payload.len() => payload[i] = byte,
            1 => payload.insert(i, byte),
            2 if i < payload.len() => { payload.remove(i); }
            _ => {
                let text = String::from_utf8_lossy(&payload).into_owned();
                let swapped: Vec<String> = text
                    .split(':')
                    .map(|part| if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
                        number.to_string()
                    } else {
                        part.to_owned()
                    })
                    .collect();
                payload = swapped.join(":").into_bytes();
            }
        }
        let data = String::from_utf8_lossy(&payload);
        if let Some(callback) = Callback::parse(&data) {
            prop_assert_eq!(Callback::parse(&callback.encode()), Some(callback));
        }
    }
}
