//! Inline button payloads. Telegram allows 64 bytes of callback data, so a button carries a verb and the
//! id of state kept in the store (an incident, a page cursor), never the state itself.

use crate::domain::IncidentId;

/// Silence durations offered on alert messages, in hours.
pub const SILENCE_HOURS: [u32; 3] = [1, 4, 24];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

fn kind(actions: bool, view: &'static str, action: &'static str) -> &'static str {
    if actions { action } else { view }
}

fn index(n: i64) -> Option<usize> {
    usize::try_from(n).ok()
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
            _ => return None,
        };
        parts.next().is_none().then_some(callback)
    }
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
        ];
        for callback in all {
            let data = callback.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Callback::parse(&data), Some(callback), "{data}");
        }
    }

    #[test]
    fn foreign_data_is_ignored() {
        for data in [
            "", "ack", "ack:x", "ack:1:2", "sil:1:3", "sil:1", "inc:1", "drop:1", "uns:",
        ] {
            assert_eq!(Callback::parse(data), None, "{data:?}");
        }
    }
}
