//! Alertmanager's API v2 shapes of silences and matchers, and how they map to this crate's values.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{Matcher, NewSilence, Silence};

/// Alertmanager keeps millisecond precision; RFC 3339 with milliseconds is what its own clients send.
fn millis<S: serde::Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireMatcher {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) is_regex: bool,
    // Alertmanager before 0.22 has no `isEqual`; its matchers are all equalities.
    #[serde(default = "yes")]
    pub(super) is_equal: bool,
}

fn yes() -> bool {
    true
}

impl From<&Matcher> for WireMatcher {
    fn from(matcher: &Matcher) -> Self {
        WireMatcher {
            name: matcher.name.clone(),
            value: matcher.value.clone(),
            is_regex: false,
            is_equal: true,
        }
    }
}

impl TryFrom<WireMatcher> for Matcher {
    type Error = String;

    fn try_from(wire: WireMatcher) -> Result<Self, String> {
        if wire.is_regex || !wire.is_equal {
            let op = match (wire.is_equal, wire.is_regex) {
                (true, true) => "=~",
                (false, true) => "!~",
                _ => "!=",
            };
            return Err(format!(
                "matcher {}{op}{:?} is not an equality",
                wire.name, wire.value
            ));
        }
        Ok(Matcher {
            name: wire.name,
            value: wire.value,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PostableSilence<'a> {
    pub(super) matchers: Vec<WireMatcher>,
    #[serde(serialize_with = "millis")]
    pub(super) starts_at: DateTime<Utc>,
    #[serde(serialize_with = "millis")]
    pub(super) ends_at: DateTime<Utc>,
    pub(super) created_by: &'a str,
    pub(super) comment: &'a str,
}

impl<'a> From<&'a NewSilence> for PostableSilence<'a> {
    fn from(silence: &'a NewSilence) -> Self {
        PostableSilence {
            matchers: silence.matchers.iter().map(WireMatcher::from).collect(),
            starts_at: silence.starts_at,
            ends_at: silence.ends_at,
            created_by: &silence.created_by,
            comment: &silence.comment,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SilenceCreated {
    #[serde(rename = "silenceID")]
    pub(super) silence_id: String,
}

#[derive(Deserialize)]
pub(super) struct SilenceStatus {
    pub(super) state: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GettableSilence {
    pub(super) id: String,
    pub(super) status: SilenceStatus,
    pub(super) matchers: Vec<WireMatcher>,
    pub(super) starts_at: DateTime<Utc>,
    pub(super) ends_at: DateTime<Utc>,
    pub(super) created_by: String,
    pub(super) comment: String,
}

impl TryFrom<GettableSilence> for Silence {
    type Error = String;

    fn try_from(wire: GettableSilence) -> Result<Self, String> {
        let matchers = wire
            .matchers
            .into_iter()
            .map(Matcher::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| format!("silence {}: {reason}", wire.id))?;
        Ok(Silence {
            id: wire.id,
            state: wire.status.state,
            matchers,
            starts_at: wire.starts_at,
            ends_at: wire.ends_at,
            created_by: wire.created_by,
            comment: wire.comment,
        })
    }
}
