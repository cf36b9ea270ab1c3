//! Inline buttons: what a press means ([`Callback`], written as a payload) and the one way a keyboard
//! reaches Telegram ([`Keyboard`]). A button carries only a short token; its payload is recorded in the
//! store against the message Telegram answered with, so a press is honoured only on the message the
//! bot put that button on (forged data, or data copied from another message, finds nothing).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::domain::{IncidentId, MemberRef, Role, TelegramUserId, Username};
use crate::store::{Store, StoreError};

/// Silence durations offered on alert messages, in hours.
pub const SILENCE_HOURS: [u32; 3] = [1, 4, 24];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Acknowledge(IncidentId),
    Silence(IncidentId, u32),
    /// Expire the silence created for this incident.
    Unsilence(IncidentId),
    /// Show the firing incidents (from a storm digest).
    ListAlerts,
    /// A page of `/incidents`: the database by its position in the config (or all), older than `before`.
    Incidents {
        database: Option<usize>,
        before: Option<i64>,
    },
    /// The views (or actions) of a database, by its position in the config.
    Items {
        actions: bool,
        database: usize,
    },
    /// Start running the item at `item` (its position in the catalogue) on a database.
    Pick {
        actions: bool,
        database: usize,
        item: usize,
    },
    /// Start running an item linked from an alert, with arguments taken from the incident's labels.
    Link {
        actions: bool,
        incident: IncidentId,
        item: usize,
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
    /// Stop the running action at `item` on a database.
    Stop {
        database: usize,
        item: usize,
    },
    /// The member list of a database (by its position in the config), with its buttons; `None`: the
    /// database picker.
    Members {
        database: Option<usize>,
    },
    /// Add an admin or viewer to a database: offers Telegram's pick-a-person button.
    MemberAdd {
        database: usize,
        role: Role,
    },
    /// Invite someone to a database by a one-time link (the bot asks for their @username).
    MemberInvite {
        database: usize,
        role: Role,
    },
    /// Give a runtime member a role, or remove them (`None`).
    MemberSet {
        database: usize,
        member: MemberRef,
        role: Option<Role>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Not chosen yet: the press asks.
    Ask,
    All,
    /// One database, by its position in the config.
    One(usize),
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

/// `u<id>` or `n<username>`: short, and free of `:`.
fn member_code(member: &MemberRef) -> String {
    match member {
        MemberRef::Id(id) => format!("u{id}"),
        MemberRef::Username(name) => format!("n{}", name.as_str()),
    }
}

fn member_of(code: &str) -> Option<MemberRef> {
    if let Some(id) = code.strip_prefix('u') {
        return TelegramUserId::new(id.parse().ok()?)
            .ok()
            .map(MemberRef::Id);
    }
    let name = code.strip_prefix('n')?;
    Username::parse_handle(&format!("@{name}"))
        .ok()
        .map(MemberRef::Username)
}

fn kind(actions: bool, view: &'static str, action: &'static str) -> &'static str {
    if actions { action } else { view }
}

fn index(n: i64) -> Option<usize> {
    usize::try_from(n).ok()
}

/// Names of tokens created from the bot: 1–24 of `a-z`, `0-9`, `-`, `_` (they travel in buttons).
pub fn token_name_ok(name: &str) -> bool {
    (1..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Callback {
    pub fn encode(&self) -> String {
        match self {
            Callback::Acknowledge(id) => format!("ack:{id}"),
            Callback::Silence(id, hours) => format!("sil:{id}:{hours}"),
            Callback::Unsilence(id) => format!("uns:{id}"),
            Callback::ListAlerts => "alerts".to_owned(),
            Callback::Incidents { database, before } => format!(
                "inc:{}:{}",
                database.map_or("-".to_owned(), |d| d.to_string()),
                before.map_or("-".to_owned(), |b| b.to_string())
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
            Callback::Members { database } => {
                format!("mem:{}", database.map_or("-".to_owned(), |d| d.to_string()))
            }
            Callback::MemberAdd { database, role } => format!("ma:{database}:{}", role_code(*role)),
            Callback::MemberInvite { database, role } => {
                format!("mi:{database}:{}", role_code(*role))
            }
            Callback::MemberSet {
                database,
                member,
                role,
            } => format!(
                "ms:{database}:{}:{}",
                role.map_or('x', role_code),
                member_code(member)
            ),
            Callback::TokenNew { role, scope, name } => {
                let scope = match scope {
                    TokenScope::Ask => "?".to_owned(),
                    TokenScope::All => "-".to_owned(),
                    TokenScope::One(d) => d.to_string(),
                };
                format!("tn:{}:{scope}:{name}", role_code(*role))
            }
            Callback::TokenRevoke(id) => format!("tr:{id}"),
            Callback::TokenHide => "th".to_owned(),
        }
    }

    /// Parses callback data; `None` for anything this service did not write (old buttons, forgeries).
    pub fn parse(data: &str) -> Option<Callback> {
        let mut parts = data.split(':');
        let verb = parts.next()?;
        let mut number = || parts.next()?.parse::<i64>().ok();
        let callback = match verb {
            "ack" => Callback::Acknowledge(IncidentId(number()?)),
            "sil" => {
                let id = IncidentId(number()?);
                let hours = u32::try_from(number()?).ok()?;
                if !SILENCE_HOURS.contains(&hours) {
                    return None;
                }
                Callback::Silence(id, hours)
            }
            "uns" => Callback::Unsilence(IncidentId(number()?)),
            "alerts" => Callback::ListAlerts,
            "inc" => {
                let mut optional = || -> Option<Option<i64>> {
                    match parts.next()? {
                        "-" => Some(None),
                        n => n.parse().ok().map(Some),
                    }
                };
                let database = optional()?.map(usize::try_from).transpose().ok()?;
                let before = optional()?;
                Callback::Incidents { database, before }
            }
            "vd" | "ad" => Callback::Items {
                actions: verb == "ad",
                database: index(number()?)?,
            },
            "vp" | "ap" => Callback::Pick {
                actions: verb == "ap",
                database: index(number()?)?,
                item: index(number()?)?,
            },
            "lv" | "la" => Callback::Link {
                actions: verb == "la",
                incident: IncidentId(number()?),
                item: index(number()?)?,
            },
            "dc" => Callback::Choose {
                dialogue: number()?,
                choice: index(number()?)?,
            },
            "dr" => Callback::Confirm(number()?),
            "dx" => Callback::Abort(number()?),
            "pg" => Callback::Page {
                dialogue: number()?,
                page: index(number()?)?,
            },
            "csv" => Callback::Csv(number()?),
            "stop" => Callback::Stop {
                database: index(number()?)?,
                item: index(number()?)?,
            },
            "mem" => Callback::Members {
                database: match parts.next()? {
                    "-" => None,
                    n => Some(n.parse().ok()?),
                },
            },
            "ma" | "mi" => {
                let database = index(number()?)?;
                let role = role_of(parts.next()?).filter(|r| *r != Role::Owner)?;
                if verb == "ma" {
                    Callback::MemberAdd { database, role }
                } else {
                    Callback::MemberInvite { database, role }
                }
            }
            "ms" => {
                let database = index(number()?)?;
                let role = match parts.next()? {
                    "x" => None,
                    code => Some(role_of(code).filter(|r| *r != Role::Owner)?),
                };
                let member = member_of(parts.next()?)?;
                Callback::MemberSet {
                    database,
                    member,
                    role,
                }
            }
            "tn" => {
                let role = role_of(parts.next()?)?;
                let scope = match parts.next()? {
                    "?" => TokenScope::Ask,
                    "-" => TokenScope::All,
                    n => TokenScope::One(n.parse().ok()?),
                };
                let name = parts.next()?.to_owned();
                if !token_name_ok(&name) {
                    return None;
                }
                Callback::TokenNew { role, scope, name }
            }
            "tr" => Callback::TokenRevoke(number()?),
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
    crate::access::digest(payload)[..6]
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
    pub async fn record(&self, store: &Store, chat: i64, message: i64) -> Result<(), StoreError> {
        store
            .put_buttons(chat, message, &self.meanings, chrono::Utc::now())
            .await
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
    use super::*;

    #[test]
    fn callbacks_round_trip_and_fit_telegram() {
        let all = [
            Callback::Acknowledge(IncidentId(i64::MAX)),
            Callback::Silence(IncidentId(i64::MAX), 24),
            Callback::Unsilence(IncidentId(7)),
            Callback::ListAlerts,
            Callback::Incidents {
                database: Some(3),
                before: Some(i64::MAX),
            },
            Callback::Incidents {
                database: None,
                before: None,
            },
            Callback::Members { database: Some(99) },
            Callback::Members { database: None },
            Callback::MemberAdd {
                database: 1,
                role: Role::Viewer,
            },
            Callback::MemberInvite {
                database: 1,
                role: Role::Admin,
            },
            Callback::MemberSet {
                database: 99,
                member: MemberRef::Username(
                    Username::parse_handle(&format!("@{}", "a".repeat(32))).unwrap(),
                ),
                role: None,
            },
            Callback::MemberSet {
                database: 0,
                member: MemberRef::Id(TelegramUserId::new(i64::MAX).unwrap()),
                role: Some(Role::Admin),
            },
            Callback::TokenNew {
                role: Role::Owner,
                scope: TokenScope::One(99),
                name: "x".repeat(24),
            },
            Callback::TokenNew {
                role: Role::Viewer,
                scope: TokenScope::Ask,
                name: "x".repeat(24),
            },
            Callback::TokenRevoke(i64::MAX),
            Callback::TokenHide,
        ];
        for callback in all {
            let data = callback.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Callback::parse(&data), Some(callback.clone()), "{data}");
        }
    }

    #[test]
    fn foreign_data_is_ignored() {
        for data in [
            "",
            "ack",
            "ack:x",
            "ack:1:2",
            "sil:1:3",
            "sil:1",
            "inc:1",
            "drop:1",
            "uns:",
            "ma:0:o",
            "ms:0:o:u1",
            "ms:0:a:alice",
            "tn:a:-:Bad Name",
            "tn:k:-:x",
        ] {
            assert_eq!(Callback::parse(data), None, "{data:?}");
        }
    }
}
