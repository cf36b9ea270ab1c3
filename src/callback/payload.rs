//! What a press means: [`Callback`], and the payload it is written as. The payload is what the store
//! records against a button's token; `parse` reads it back.

use crate::charts::fetch::Span;
use crate::domain::{DatabaseName, IncidentId, MemberKey, Role, TelegramUserId, Username};
use crate::i18n::Lang;

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
    /// Read the bot in this language; `None`: in the language of the presser's Telegram app.
    Language(Option<Lang>),
    /// The charts of a database; `None`: the database picker.
    Charts {
        database: Option<DatabaseName>,
    },
    /// Draw the chart `chart` (its alias) of a database over the last `span`; `None`: ask which span.
    Chart {
        database: DatabaseName,
        chart: String,
        span: Option<Span>,
    },
    /// The health card of a database; `None`: of every database the person may see.
    Status {
        database: Option<DatabaseName>,
    },
    /// Draw the expression of an incident's alert around its firing time.
    AlertGraph(IncidentId),
}

/// Which databases a new token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// Not chosen yet: the press asks.
    Ask,
    All,
    One(DatabaseName),
}

/// A role as payloads write it (`parse` reads it back).
pub(super) fn role_code(role: Role) -> char {
    match role {
        Role::Owner => 'o',
        Role::Admin => 'a',
        Role::Viewer => 'v',
    }
}

fn kind(actions: bool, view: &'static str, action: &'static str) -> &'static str {
    if actions { action } else { view }
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
            Callback::Language(lang) => format!("lang:{}", lang.map_or("auto", Lang::code)),
            Callback::Charts { database } => format!("ch:{}", dash(database)),
            Callback::Chart {
                database,
                chart,
                span,
            } => format!("cg:{database}:{chart}:{}", span.map_or("*", Span::name)),
            Callback::Status { database } => format!("st:{}", dash(database)),
            Callback::AlertGraph(id) => format!("ag:{id}"),
        }
    }
}
