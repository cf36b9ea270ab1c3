//! The small types every module agrees on. Each is parsed once at the edge (config, webhook, REST query)
//! and trusted afterwards; nothing past the edge re-checks a raw string.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A database name from the config: `[a-z0-9_-]`, 1 to 63 characters, so it fits in labels, URLs and
/// callback data without escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct DatabaseName(String);

/// Reads as the name it is (`Option<DatabaseName>::as_deref` gives the `Option<&str>` that
/// `access::may` takes).
impl std::ops::Deref for DatabaseName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// Whether `raw` is a catalogue alias (a view, an action, a chart, a status row): 1-40 characters of
/// `a-z`, `0-9` and `_`. Buttons carry aliases, so their parser holds them to the same rule.
pub fn is_alias(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 40
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl DatabaseName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = !raw.is_empty()
            && raw.len() <= 63
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "database name {raw:?} must be 1-63 characters of a-z, 0-9, '_' or '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Telegram user id (always positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TelegramUserId(i64);

impl TelegramUserId {
    pub fn new(id: i64) -> Result<Self, String> {
        if id > 0 {
            Ok(Self(id))
        } else {
            Err(format!("Telegram user id {id} must be a positive number"))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TelegramUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A Telegram username without the `@`: 5 to 32 characters of letters, digits and `_`. Stored lowercase,
/// because Telegram usernames are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses `@name` (the config form).
    pub fn parse_handle(raw: &str) -> Result<Self, String> {
        let name = raw
            .strip_prefix('@')
            .ok_or_else(|| format!("{raw:?} is neither a Telegram user id nor an @username"))?;
        Self::parse(name)
    }

    /// Parses a name without the `@` (as Telegram and the store give it).
    pub fn parse(name: &str) -> Result<Self, String> {
        let valid = (5..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            Ok(Self(name.to_ascii_lowercase()))
        } else {
            Err(format!(
                "{:?} is not a Telegram username (5-32 letters, digits or '_' after '@')",
                format!("@{name}")
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

/// Who a membership names: a Telegram account by its id, or by `@username` until that person first
/// writes to the bot and the name is bound to their account.
///
/// Its one written form, [`Display`](fmt::Display) and [`FromStr`], is the stored one (`user:<id>`,
/// `username:<name>`), also used in button payloads and the outbox. People may also write a member as
/// `@name` or a bare id (config, REST, the bot); `FromStr` accepts those too. [`MemberKey::shown`] is
/// the form people read (`123`, `@name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum MemberKey {
    Id(TelegramUserId),
    Username(Username),
}

impl MemberKey {
    /// `123` or `@name`: as people write it.
    pub fn shown(&self) -> String {
        match self {
            MemberKey::Id(id) => id.to_string(),
            MemberKey::Username(name) => name.to_string(),
        }
    }

    /// The account id, when the key names one.
    pub fn id(&self) -> Option<TelegramUserId> {
        match self {
            MemberKey::Id(id) => Some(*id),
            MemberKey::Username(_) => None,
        }
    }
}

impl fmt::Display for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberKey::Id(id) => write!(f, "user:{id}"),
            MemberKey::Username(name) => write!(f, "username:{}", name.as_str()),
        }
    }
}

impl FromStr for MemberKey {
    type Err = String;

    /// `user:<id>`, `username:<name>`, `@name` or a bare id.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if let Some(name) = raw.strip_prefix("username:") {
            return Username::parse(name).map(MemberKey::Username);
        }
        if raw.starts_with('@') {
            return Username::parse_handle(raw).map(MemberKey::Username);
        }
        let id = raw.strip_prefix("user:").unwrap_or(raw);
        id.parse::<i64>()
            .map_err(|_| format!("{raw:?} is neither a Telegram user id nor an @username"))
            .and_then(TelegramUserId::new)
            .map(MemberKey::Id)
    }
}

/// A Telegram destination of a message the outbox sends: a member (in their private chat, once the
/// bot knows their id) or a group chat. Written `user:<id>`, `username:<name>` or `chat:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    Member(MemberKey),
    Chat(ChatId),
}

impl Recipient {
    pub fn user(id: TelegramUserId) -> Recipient {
        Recipient::Member(MemberKey::Id(id))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Member(member) => member.fmt(f),
            Recipient::Chat(chat) => write!(f, "chat:{}", chat.0),
        }
    }
}

impl FromStr for Recipient {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a recipient");
        match s.split_once(':') {
            Some(("chat", value)) => Ok(Recipient::Chat(ChatId(value.parse().map_err(|_| bad())?))),
            Some(("user" | "username", _)) => s.parse().map(Recipient::Member),
            _ => Err(bad()),
        }
    }
}

/// A Telegram chat id: positive for private chats, negative for groups and supergroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatId(pub i64);

/// An email address, checked just enough to catch typos (one `@`, no spaces, a dot in the domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = match raw.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("{raw:?} is not an email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an incident in the state store.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct IncidentId(pub i64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether an alert (or incident) is firing or resolved, as Alertmanager says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "firing" => Ok(AlertStatus::Firing),
            "resolved" => Ok(AlertStatus::Resolved),
            other => Err(format!(
                "status {other:?} is neither \"firing\" nor \"resolved\""
            )),
        }
    }
}

/// Parses a duration written the Prometheus way: `90s`, `10m`, `1h30m`, `500ms`, `2d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let bad = || format!("{raw:?} is not a duration (examples: 30s, 10m, 1h30m, 2d)");
    let mut rest = raw.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let millis_per_unit: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let millis = value.checked_mul(millis_per_unit).ok_or_else(bad)?;
        total = total
            .checked_add(Duration::from_millis(millis))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// What an identity may do. Owners administer everything; admins act on their databases; viewers only
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "role {other:?} is not one of \"owner\", \"admin\", \"viewer\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "10", "m", "10x", "1.5h", "-1m", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn database_names_are_restricted() {
        assert!(DatabaseName::parse("main-db_2").is_ok());
        for bad in ["", "Main", "a b", "x;drop", &"a".repeat(64)] {
            assert!(
                DatabaseName::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn usernames_need_an_at_sign_and_fold_case() {
        assert_eq!(
            Username::parse_handle("@Alice_01").map(|u| u.to_string()),
            Ok("@alice_01".to_owned())
        );
        assert!(Username::parse_handle("alice").is_err());
        assert!(Username::parse_handle("@bob").is_err());
        assert!(Username::parse_handle("@bad-name").is_err());
    }

    #[test]
    fn emails_catch_typos() {
        assert!(EmailAddress::parse("dba@example.com").is_ok());
        for bad in [
            "dba",
            "dba@",
            "@example.com",
            "dba@example",
            "d ba@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn members_parse_as_people_write_them() {
        let shown = |raw: &str| raw.parse::<MemberKey>().unwrap().shown();
        assert_eq!(shown("42"), "42");
        assert_eq!(shown("user:42"), "42");
        assert_eq!(shown("@Alice_1"), "@alice_1");
        assert_eq!(shown("username:alice_1"), "@alice_1");
        for bad in ["", "alice", "-5", "@x", "user:abc", "chat:-100"] {
            assert!(bad.parse::<MemberKey>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recipients_round_trip_through_their_stored_form() {
        for raw in ["user:10", "username:alice_1", "chat:-1001234567890"] {
            let recipient: Recipient = raw.parse().unwrap();
            assert_eq!(recipient.to_string(), raw);
        }
        for raw in ["user:10", "username:alice_1"] {
            assert_eq!(raw.parse::<MemberKey>().unwrap().to_string(), raw);
        }
        for bad in [
            "user:-1",
            "user:x",
            "username:al",
            "chat:",
            "mail:x",
            "x",
            "10",
            "@alice_1",
        ] {
            assert!(bad.parse::<Recipient>().is_err(), "{bad:?}");
        }
    }
}
