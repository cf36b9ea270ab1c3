//! Reading a payload back into a [`Callback`]: one function per family of prefixes (alerts, catalogue
//! items, dialogues, members, tokens). Anything this service does not write is refused, and every
//! number is bounded here: ids are positive, pages and choices small, silences one of
//! [`SILENCE_HOURS`].

use std::str::Split;

use super::payload::{Callback, MAX_CHOICE, MAX_PAGE, SILENCE_HOURS, TokenScope, token_name_ok};
use crate::charts::fetch::Span;
use crate::domain::{DatabaseName, IncidentId, Role, TelegramUserId, Username, is_alias};
use crate::i18n::Lang;

/// The fields of a payload after its prefix.
type Fields<'a> = Split<'a, char>;

impl Callback {
    /// Parses a payload; `None` for anything this service does not write.
    pub fn parse(data: &str) -> Option<Callback> {
        let mut fields = data.split(':');
        let verb = fields.next()?;
        let callback = match verb {
            "ack" | "sil" | "uns" | "alerts" | "inc" => alerts(verb, &mut fields)?,
            "vd" | "ad" | "vp" | "ap" | "lv" | "la" | "stop" => items(verb, &mut fields)?,
            "dc" | "dr" | "dx" | "pg" | "csv" => dialogues(verb, &mut fields)?,
            "mem" | "ma" | "mi" | "ms" | "mb" => members(verb, &mut fields)?,
            "tn" | "tr" | "th" => tokens(verb, &mut fields)?,
            "ch" | "cg" | "st" | "ag" => metrics(verb, &mut fields)?,
            "lang" => Callback::Language(match fields.next()? {
                "auto" => None,
                code => Some(Lang::ALL.into_iter().find(|l| l.code() == code)?),
            }),
            _ => return None,
        };
        fields.next().is_none().then_some(callback)
    }
}

/// Alert messages and incident lists.
fn alerts(verb: &str, fields: &mut Fields) -> Option<Callback> {
    Some(match verb {
        "ack" => Callback::Acknowledge(IncidentId(id(fields.next()?)?)),
        "sil" => {
            let incident = IncidentId(id(fields.next()?)?);
            let hours = u32::try_from(bounded(fields.next()?, 24)?).ok()?;
            if !SILENCE_HOURS.contains(&hours) {
                return None;
            }
            Callback::Silence(incident, hours)
        }
        "uns" => Callback::Unsilence(IncidentId(id(fields.next()?)?)),
        "alerts" => Callback::ListAlerts,
        "inc" => Callback::Incidents {
            database: optional(fields.next()?, database)?,
            before: optional(fields.next()?, id)?,
        },
        _ => return None,
    })
}

/// Views and actions: a database's items, picking one, one linked from an alert, stopping a run.
fn items(verb: &str, fields: &mut Fields) -> Option<Callback> {
    Some(match verb {
        "vd" | "ad" => Callback::Items {
            actions: verb == "ad",
            database: database(fields.next()?)?,
        },
        "vp" | "ap" => Callback::Pick {
            actions: verb == "ap",
            database: database(fields.next()?)?,
            item: alias(fields.next()?)?,
        },
        "lv" | "la" => Callback::Link {
            actions: verb == "la",
            incident: IncidentId(id(fields.next()?)?),
            item: alias(fields.next()?)?,
        },
        "stop" => Callback::Stop {
            database: database(fields.next()?)?,
            item: alias(fields.next()?)?,
        },
        _ => return None,
    })
}

/// The steps of a run's dialogue and its result's pages.
fn dialogues(verb: &str, fields: &mut Fields) -> Option<Callback> {
    Some(match verb {
        "dc" => Callback::Choose {
            dialogue: id(fields.next()?)?,
            choice: usize::try_from(bounded(fields.next()?, MAX_CHOICE as u64 - 1)?).ok()?,
        },
        "dr" => Callback::Confirm(id(fields.next()?)?),
        "dx" => Callback::Abort(id(fields.next()?)?),
        "pg" => Callback::Page {
            dialogue: id(fields.next()?)?,
            page: usize::try_from(bounded(fields.next()?, MAX_PAGE as u64)?).ok()?,
        },
        "csv" => Callback::Csv(id(fields.next()?)?),
        _ => return None,
    })
}

/// Member lists and their changes.
fn members(verb: &str, fields: &mut Fields) -> Option<Callback> {
    Some(match verb {
        "mem" => Callback::Members {
            database: optional(fields.next()?, database)?,
        },
        "ma" | "mi" => {
            let database = database(fields.next()?)?;
            let role = member_role(fields.next()?)?;
            if verb == "ma" {
                Callback::MemberAdd { database, role }
            } else {
                Callback::MemberInvite { database, role }
            }
        }
        "ms" => member_set(fields)?,
        "mb" => Callback::MemberRebind {
            database: database(fields.next()?)?,
            user: TelegramUserId::new(id(fields.next()?)?).ok()?,
            username: Username::parse(fields.next()?).ok()?,
        },
        _ => return None,
    })
}

/// `ms:<database>:<role or x>:<member>`.
fn member_set(fields: &mut Fields) -> Option<Callback> {
    let database = database(fields.next()?)?;
    let role = match fields.next()? {
        "x" => None,
        code => Some(member_role(code)?),
    };
    // The member's own form, `user:<id>` or `username:<name>`, holds one `:`.
    let (kind, value) = (fields.next()?, fields.next()?);
    if !matches!(kind, "user" | "username") {
        return None;
    }
    let member = format!("{kind}:{value}").parse().ok()?;
    Some(Callback::MemberSet {
        database,
        member,
        role,
    })
}

/// Creating (step by step) and revoking API tokens, and hiding one shown.
fn tokens(verb: &str, fields: &mut Fields) -> Option<Callback> {
    Some(match verb {
        "tn" => {
            let role = role_of(fields.next()?)?;
            let scope = match fields.next()? {
                "?" => TokenScope::Ask,
                "*" => TokenScope::All,
                name => TokenScope::One(database(name)?),
            };
            let name = fields.next()?.to_owned();
            if !token_name_ok(&name) {
                return None;
            }
            Callback::TokenNew { role, scope, name }
        }
        "tr" => Callback::TokenRevoke(id(fields.next()?)?),
        "th" => Callback::TokenHide,
        _ => return None,
    })
}

/// Charts, health cards and the graph of an alert.
fn metrics(verb: &str, fields: &mut Fields) -> Option<Callback> {
    Some(match verb {
        "ch" => Callback::Charts {
            database: optional(fields.next()?, database)?,
        },
        "cg" => Callback::Chart {
            database: database(fields.next()?)?,
            chart: alias(fields.next()?)?,
            span: optional(fields.next()?, Span::parse)?,
        },
        "st" => Callback::Status {
            database: optional(fields.next()?, database)?,
        },
        "ag" => Callback::AlertGraph(IncidentId(id(fields.next()?)?)),
        _ => return None,
    })
}

fn role_of(code: &str) -> Option<Role> {
    match code {
        "o" => Some(Role::Owner),
        "a" => Some(Role::Admin),
        "v" => Some(Role::Viewer),
        _ => None,
    }
}

/// A role a member may hold: an owner is never a member.
fn member_role(code: &str) -> Option<Role> {
    role_of(code).filter(|r| *r != Role::Owner)
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
    is_alias(raw).then(|| raw.to_owned())
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
