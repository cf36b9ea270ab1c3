//! Inline buttons: what a press means ([`Callback`], written as a payload) and the one way a keyboard
//! reaches Telegram ([`Keyboard`]). A button carries only a short token; its payload is recorded in the
//! store against the message Telegram answered with, so a press is honoured only on the message the
//! bot put that button on (forged data, or data copied from another message, finds nothing).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::domain::{DatabaseName, IncidentId, MemberKey, Role, TelegramUserId, Username};
use crate::store::{Store, StoreError};

/// Silence durations offered on alert messages, in hours.
pub const SILENCE_HOURS: [u32; 3] = [1, 4, 24];
/// Pages of a view's result a button may name (a page is at most a few dozen rows).
pub const MAX_PAGE: usize = 10_000;
/// Values a button may offer for one argument.
pub const MAX_CHOICE: usize = 100;

/// What a press means. Databases and catalogue items are named by their names and aliases, never by
/// their positions, so a changed config can never make an old button act on another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Acknowledge(IncidentId),
    Silence(IncidentId, u32),
    /// Expire the silence created for this incident.
    Unsilence(IncidentId),
    /// Show the firing incidents (from a storm digest).
    ListAlerts,
    /// A page of `/incidents`: of a database (or all), older than `before`.
    Incidents {
        database: Option<DatabaseName>,
        before: Option<i64>,
    },
    /// The views (or actions) of a database.
    Items {
        actions: bool,
        database: DatabaseName,
    },
    /// Start running the item `item` (its alias) on a database.
    Pick {
        actions: bool,
        database: DatabaseName,
        item: String,
    },
    /// Start running an item linked from an alert, with arguments taken from the incident's labels.
    Link {
        actions: bool,
        incident: IncidentId,
        item: String,
    },
    /// The value offered at `choice` for the argument a dialogue asks for.
    Choose {
        dialogue: i64,
        choice: usize,
    },
    /// Run the confirmed action of a dialogue.
    Confirm(i64),
    /// Drop a dialogue.
    Abort(i64),
    /// Page `page` of a view's result (re-run with the dialogue's arguments).
    Page {
        dialogue: i64,
        page: usize,
    },
    /// The whole view result as CSV.
    Csv(i64),
    /// Stop the running action `item` (its alias) on a database.
    Stop {
        database: DatabaseName,
        item: String,
    },
    /// The member list of a database, with its buttons; `None`: the database picker.
    Members {
        database: Option<DatabaseName>,
    },
    /// Add an admin or viewer to a database: offers Telegram's pick-a-person button.
    MemberAdd {
        database: DatabaseName,
        role: Role,
    },
    /// Invite someone to a database by a one-time link (the bot asks for their @username).
    MemberInvite {
        database: DatabaseName,
        role: Role,
    },
    /// Give a runtime member a role, or remove them (`None`).
    MemberSet {
        database: DatabaseName,
        member: MemberKey,
        role: Option<Role>,
    },
    /// Bind a username to the account that claimed it after another one had (an owner's decision).
    MemberRebind {
        database: DatabaseName,
        username: Username,
        user: TelegramUserId,
    },
    /// A step of creating an API token named `name` with `role`: ask for its scope, or create it.
    TokenNew {
        role: Role,
        scope: TokenScope,
        name: String,
    },
    /// Revoke the token created here with this id.
    TokenRevoke(i64),
    /// Delete the message that showed a new token once.
    TokenHide,
}

/// Which databases a new token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// Not chosen yet: the press asks.
    Ask,
    All,
    One(DatabaseName),
}

fn role_code(role: Role) -> char {
    match role {
        Role::Owner => 'o',
        Role::Admin => 'a',
        Role::Viewer => 'v',
    }
}

fn role_of(code: &str) -> Option<Role> {
    match code {
        "o" => Some(Role::Owner),
        "a" => Some(Role::Admin),
        "v" => Some(Role::Viewer),
        _ => None,
    }
}

fn kind(actions: bool, view: &'static str, action: &'static str) -> &'static str {
    if actions { action } else { view }
}

/// A number as this service writes them: decimal digits only, at most `max`.
fn bounded(raw: &str, max: u64) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<u64>().ok().filter(|n| *n <= max)
}

/// An id of a row in the store: positive.
fn id(raw: &str) -> Option<i64> {
    let n = i64::try_from(bounded(raw, i64::MAX as u64)?).ok()?;
    (n > 0).then_some(n)
}

/// A catalogue alias, as the catalogue allows them.
fn alias(raw: &str) -> Option<String> {
    let valid = !raw.is_empty()
        && raw.len() <= 40
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    valid.then(|| raw.to_owned())
}

fn database(raw: &str) -> Option<DatabaseName> {
    DatabaseName::parse(raw).ok()
}

/// `*` for none (a database name may be `-`, never `*`).
fn optional<T>(raw: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Option<T>> {
    match raw {
        "*" => Some(None),
        other => parse(other).map(Some),
    }
}

/// Names of tokens created from the bot: 1–24 of `a-z`, `0-9`, `-`, `_` (they travel in buttons).
pub fn token_name_ok(name: &str) -> bool {
    (1..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Callback {
    /// The payload recorded for the button (database names and aliases never hold `:`).
    pub fn encode(&self) -> String {
        let dash = |d: &Option<DatabaseName>| d.as_ref().map_or("*".to_owned(), |d| d.to_string());
        match self {
            Callback::Acknowledge(id) => format!("ack:{id}"),
            Callback::Silence(id, hours) => format!("sil:{id}:{hours}"),
            Callback::Unsilence(id) => format!("uns:{id}"),
            Callback::ListAlerts => "alerts".to_owned(),
            Callback::Incidents { database, before } => format!(
                "inc:{}:{}",
                dash(database),
                before.map_or("*".to_owned(), |b| b.to_string())
            ),
            Callback::Items { actions, database } => {
                format!("{}:{database}", kind(*actions, "vd", "ad"))
            }
            Callback::Pick {
                actions,
                database,
                item,
            } => {
                format!("{}:{database}:{item}", kind(*actions, "vp", "ap"))
            }
            Callback::Link {
                actions,
                incident,
                item,
            } => {
                format!("{}:{incident}:{item}", kind(*actions, "lv", "la"))
            }
            Callback::Choose { dialogue, choice } => format!("dc:{dialogue}:{choice}"),
            Callback::Confirm(dialogue) => format!("dr:{dialogue}"),
            Callback::Abort(dialogue) => format!("dx:{dialogue}"),
            Callback::Page { dialogue, page } => format!("pg:{dialogue}:{page}"),
            Callback::Csv(dialogue) => format!("csv:{dialogue}"),
            Callback::Stop { database, item } => format!("stop:{database}:{item}"),
            Callback::Members { database } => format!("mem:{}", dash(database)),
            Callback::MemberAdd { database, role } => format!("ma:{database}:{}", role_code(*role)),
            Callback::MemberInvite { database, role } => {
                format!("mi:{database}:{}", role_code(*role))
            }
            Callback::MemberSet {
                database,
                member,
                role,
            } => format!("ms:{database}:{}:{member}", role.map_or('x', role_code)),
            Callback::MemberRebind {
                database,
                username,
                user,
            } => format!("mb:{database}:{user}:{}", username.as_str()),
            Callback::TokenNew { role, scope, name } => {
                let scope = match scope {
                    TokenScope::Ask => "?".to_owned(),
                    TokenScope::All => "*".to_owned(),
                    TokenScope::One(d) => d.to_string(),
                };
                format!("tn:{}:{scope}:{name}", role_code(*role))
            }
            Callback::TokenRevoke(id) => format!("tr:{id}"),
            Callback::TokenHide => "th".to_owned(),
        }
    }

    /// Parses a payload; `None` for anything this service does not write. Every number is bounded
    /// here: ids are positive, pages and choices small, silences one of [`SILENCE_HOURS`].
    pub fn parse(data: &str) -> Option<Callback> {
        let mut parts = data.split(':');
        let verb = parts.next()?;
        let mut next = || parts.next();
        let callback = match verb {
            "ack" => Callback::Acknowledge(IncidentId(id(next()?)?)),
            "sil" => {
                let incident = IncidentId(id(next()?)?);
                let hours = u32::try_from(bounded(next()?, 24)?).ok()?;
                if !SILENCE_HOURS.contains(&hours) {
                    return None;
                }
                Callback::Silence(incident, hours)
            }
            "uns" => Callback::Unsilence(IncidentId(id(next()?)?)),
            "alerts" => Callback::ListAlerts,
            "inc" => Callback::Incidents {
                database: optional(next()?, database)?,
                before: optional(next()?, id)?,
            },
            "vd" | "ad" => Callback::Items {
                actions: verb == "ad",
                database: database(next()?)?,
            },
            "vp" | "ap" => Callback::Pick {
                actions: verb == "ap",
                database: database(next()?)?,
                item: alias(next()?)?,
            },
            "lv" | "la" => Callback::Link {
                actions: verb == "la",
                incident: IncidentId(id(next()?)?),
                item: alias(next()?)?,
            },
            "dc" => Callback::Choose {
                dialogue: id(next()?)?,
                choice: usize::try_from(bounded(next()?, MAX_CHOICE as u64 - 1)?).ok()?,
            },
            "dr" => Callback::Confirm(id(next()?)?),
            "dx" => Callback::Abort(id(next()?)?),
            "pg" => Callback::Page {
                dialogue: id(next()?)?,
                page: usize::try_from(bounded(next()?, MAX_PAGE as u64)?).ok()?,
            },
            "csv" => Callback::Csv(id(next()?)?),
            "stop" => Callback::Stop {
                database: database(next()?)?,
                item: alias(next()?)?,
            },
            "mem" => Callback::Members {
                database: optional(next()?, database)?,
            },
            "ma" | "mi" => {
                let database = database(next()?)?;
                let role = role_of(next()?).filter(|r| *r != Role::Owner)?;
                if verb == "ma" {
                    Callback::MemberAdd { database, role }
                } else {
                    Callback::MemberInvite { database, role }
                }
            }
            "ms" => {
                let database = database(next()?)?;
                let role = match next()? {
                    "x" => None,
                    code => Some(role_of(code).filter(|r| *r != Role::Owner)?),
                };
                // The member's own form, `user:<id>` or `username:<name>`, holds one `:`.
                let (kind, value) = (next()?, next()?);
                if !matches!(kind, "user" | "username") {
                    return None;
                }
                let member = format!("{kind}:{value}").parse().ok()?;
                Callback::MemberSet {
                    database,
                    member,
                    role,
                }
            }
            "mb" => Callback::MemberRebind {
                database: database(next()?)?,
                user: TelegramUserId::new(id(next()?)?).ok()?,
                username: Username::parse(next()?).ok()?,
            },
            "tn" => {
                let role = role_of(next()?)?;
                let scope = match next()? {
                    "?" => TokenScope::Ask,
                    "*" => TokenScope::All,
                    name => TokenScope::One(database(name)?),
                };
                let name = next()?.to_owned();
                if !token_name_ok(&name) {
                    return None;
                }
                Callback::TokenNew { role, scope, name }
            }
            "tr" => Callback::TokenRevoke(id(next()?)?),
            "th" => Callback::TokenHide,
            _ => return None,
        };
        parts.next().is_none().then_some(callback)
    }
}

/// Rows of buttons: a label and what pressing it means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyboard {
    pub rows: Vec<Vec<(String, Callback)>>,
}

/// The callback data of a button: 12 hex digits of its payload's SHA-256. The same payload gets the
/// same token, so an edit that keeps a button keeps it working (and "not modified" stays possible).
fn token(payload: &str) -> String {
    crate::tokens::digest(payload)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Keyboard {
    pub fn new(rows: Vec<Vec<(String, Callback)>>) -> Keyboard {
        Keyboard { rows }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(Vec::is_empty)
    }

    /// The markup to send, and what its tokens mean.
    pub fn prepare(&self) -> Prepared {
        let mut meanings = Vec::new();
        // The only place callback buttons are made (clippy.toml forbids it elsewhere).
        #[allow(clippy::disallowed_methods)]
        let markup = InlineKeyboardMarkup::new(self.rows.iter().map(|row| {
            row.iter()
                .map(|(label, callback)| {
                    let payload = callback.encode();
                    let token = token(&payload);
                    meanings.push((token.clone(), payload));
                    InlineKeyboardButton::callback(label.clone(), token)
                })
                .collect::<Vec<_>>()
        }));
        meanings.sort();
        meanings.dedup();
        Prepared { markup, meanings }
    }
}

/// A keyboard ready to send. Its tokens mean nothing until recorded against the message they went out on.
#[must_use = "buttons work only once recorded against the message they were sent on"]
#[derive(Debug, Clone)]
pub struct Prepared {
    markup: InlineKeyboardMarkup,
    meanings: Vec<(String, String)>,
}

impl Prepared {
    pub fn markup(&self) -> &InlineKeyboardMarkup {
        &self.markup
    }

    /// Records the buttons of `message` (replacing what it carried before): call once Telegram
    /// answered the send or edit.
    pub async fn record(
        &self,
        store: &Store,
        chat: i64,
        message: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        store.put_buttons(chat, message, &self.meanings, now).await
    }
}

/// What a press of `data` on `message` of `chat` means: `None` unless the bot put that button there.
pub async fn pressed(
    store: &Store,
    chat: i64,
    message: i64,
    data: &str,
) -> Result<Option<Callback>, StoreError> {
    // Tokens are 12 hex digits: anything else is refused without asking the store.
    if data.len() != 12 || !data.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let payload = store.button(chat, message, data).await?;
    Ok(payload.as_deref().and_then(Callback::parse))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

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
}
