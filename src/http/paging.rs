//! What every paged list of the API reads alike (`/incidents`, `/audit`): unknown parameters refused,
//! `cursor` (an id from `next_cursor`), `limit` and `since`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::ApiError;
use crate::domain::parse_duration;

/// Refuses any parameter not in `known`, naming it.
pub fn only(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(
            unknown.as_str(),
            format!("unknown parameter; known: {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// `cursor`: the id to continue before.
pub fn cursor(params: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    params
        .get("cursor")
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::bad_request("cursor", "not a cursor from next_cursor"))
        })
        .transpose()
}

/// `limit`: 1 to `max`, `default` when absent.
pub fn limit(params: &HashMap<String, String>, default: u32, max: u32) -> Result<u32, ApiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request("limit", format!("must be a number from 1 to {max}"))
            }),
    }
}

/// `since`: a time (RFC 3339) or a duration back from now (`2h`).
pub fn since(
    params: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = params.get("since") else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    parse_duration(raw)
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| now.checked_sub_signed(d))
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "since",
                format!("{raw:?} is neither an RFC 3339 time nor a duration like 2h"),
            )
        })
}
