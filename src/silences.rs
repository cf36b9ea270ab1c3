//! Alertmanager silences through its API v2: create, look up, list and expire. This module owns every
//! request to Alertmanager's silence endpoints and calls nothing else in the crate; callers get plain
//! values back, and a [`SilenceError`] that says whether Alertmanager could not be reached, refused the
//! request (with its reason), failed, or answered something unreadable.
//!
//! Credentials in the base URL (`http://user:pass@host:9093`) are sent as basic auth and never appear in
//! errors, logs or `Debug` output. Alertmanager's own JSON shapes, and how they map to ours, are `wire`.

mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, Url};
use wire::{GettableSilence, PostableSilence, SilenceCreated};

/// How long one request may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// How much of an error body is kept: enough for Alertmanager's one-line reasons, not a proxy's HTML page.
const MESSAGE_LIMIT: usize = 300;

/// One equality matcher, `name="value"` (Alertmanager's `isRegex: false, isEqual: true`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Matcher {
    pub name: String,
    pub value: String,
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

/// A silence as Alertmanager reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub id: String,
    /// `active`, `pending` or `expired`.
    pub state: String,
    pub matchers: Vec<Matcher>,
    /// Alertmanager moves a start in the past to the moment it stored the silence, and both ends to the
    /// moment of expiry when a silence is expired.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

/// Why a silence request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// No answer: connection refused, DNS, TLS, timeout, or the connection dropped mid-answer.
    #[error("Alertmanager is unreachable: {0}")]
    Unreachable(String),
    /// A 4xx answer, with Alertmanager's reason (e.g. `start time must be before end time`).
    #[error("Alertmanager refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// A 5xx answer; its body is logged, not carried.
    #[error("Alertmanager failed (HTTP {status})")]
    Failed { status: u16 },
    /// An answer that is not what the API promises.
    #[error("Alertmanager's answer could not be understood: {0}")]
    Invalid(String),
}

/// A client of one Alertmanager's silence API. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct SilenceApi {
    client: reqwest::Client,
    /// `None` when the base URL given to [`SilenceApi::new`] cannot be used; every call then fails.
    base: Option<Url>,
}

impl fmt::Debug for SilenceApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = self.base.as_ref().map(|url| {
            let mut url = url.clone();
            // Never fails on a URL that can be a base, which `new` ensured.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        });
        f.debug_struct("SilenceApi").field("base", &base).finish()
    }
}

impl SilenceApi {
    /// A client for the Alertmanager at `base_url`, e.g. `http://127.0.0.1:9093` (a path prefix such as
    /// `http://proxy/alertmanager` is kept). Each request may take at most about 5 seconds.
    ///
    /// Does not fail: an unusable URL makes every call return [`SilenceError::Unreachable`].
    pub fn new(base_url: &str) -> SilenceApi {
        let base = Url::parse(base_url.trim_end_matches('/'))
            .ok()
            .filter(|url| !url.cannot_be_a_base() && matches!(url.scheme(), "http" | "https"));
        let client = reqwest::Client::builder()
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            // Building fails only when the TLS backend cannot start (never with rustls); the timeout
            // set on each request in `send` holds for the default client too.
            .unwrap_or_default();
        SilenceApi { client, base }
    }

    /// Creates a silence and returns its id.
    pub async fn create(&self, silence: &NewSilence) -> Result<String, SilenceError> {
        let body = PostableSilence::from(silence);
        let response = self
            .send(Method::POST, &["silences"], |request| request.json(&body))
            .await?;
        if !response.status.is_success() {
            return Err(response.error());
        }
        let created: SilenceCreated = response.json()?;
        Ok(created.silence_id)
    }

    /// Expires a silence now. Expiring one that is already expired succeeds, as does expiring one that
    /// Alertmanager no longer knows: it forgets expired silences after its retention (5 days by
    /// default), and an unknown silence silences nothing either way.
    pub async fn expire(&self, id: &str) -> Result<(), SilenceError> {
        let response = self
            .send(Method::DELETE, &["silence", id], |request| request)
            .await?;
        if response.status.is_success() {
            return Ok(());
        }
        // Alertmanager 0.25 answers 200 for an expired silence and 500 "silence not found" for an
        // unknown one; other versions answer 500 "silence <id> already expired".
        if response.status == StatusCode::INTERNAL_SERVER_ERROR {
            let message = response.message().to_lowercase();
            if message.contains("already expired") || message.contains("not found") {
                return Ok(());
            }
        }
        Err(response.error())
    }

    /// The silence with this id, or `None` when Alertmanager does not know it (it forgets expired
    /// silences after its retention).
    pub async fn get(&self, id: &str) -> Result<Option<Silence>, SilenceError> {
        let response = self
            .send(Method::GET, &["silence", id], |request| request)
            .await?;
        if response.is_unknown_silence() {
            return Ok(None);
        }
        if !response.status.is_success() {
            return Err(response.error());
        }
        let silence: GettableSilence = response.json()?;
        silence.try_into().map(Some).map_err(SilenceError::Invalid)
    }

    /// The active silences (not pending, not expired), ordered by end then id, optionally only those
    /// whose `createdBy` starts with `created_by_prefix`.
    ///
    /// Silences with a regex or negative matcher are left out: postgram never creates them and a
    /// [`Matcher`] cannot express them.
    pub async fn list_active(
        &self,
        created_by_prefix: Option<&str>,
    ) -> Result<Vec<Silence>, SilenceError> {
        let response = self
            .send(Method::GET, &["silences"], |request| request)
            .await?;
        if !response.status.is_success() {
            return Err(response.error());
        }
        let all: Vec<GettableSilence> = response.json()?;
        let mut active: Vec<Silence> = all
            .into_iter()
            .filter(|s| s.status.state == "active")
            .filter(|s| created_by_prefix.is_none_or(|prefix| s.created_by.starts_with(prefix)))
            .filter_map(|s| {
                let id = s.id.clone();
                Silence::try_from(s)
                    .inspect_err(|reason| tracing::debug!(%id, %reason, "silence left out"))
                    .ok()
            })
            .collect();
        active.sort_by(|a, b| a.ends_at.cmp(&b.ends_at).then_with(|| a.id.cmp(&b.id)));
        Ok(active)
    }

    /// `<base>/api/v2/<segments>`, each segment percent-encoded so that an id cannot change the path.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, SilenceError> {
        let unusable =
            || SilenceError::Unreachable("the Alertmanager URL is not a usable http(s) URL".into());
        let mut url = self.base.clone().ok_or_else(unusable)?;
        url.path_segments_mut()
            .map_err(|()| unusable())?
            .pop_if_empty()
            .extend(["api", "v2"])
            .extend(segments);
        Ok(url)
    }

    /// Sends one request to `/api/v2/<segments>` and reads the whole answer.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer, SilenceError> {
        let url = self.endpoint(segments)?;
        // reqwest moves credentials in the URL into an Authorization header.
        let request = build(self.client.request(method, url).timeout(TIMEOUT));
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport_error)?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }
}

/// The matchers that identify an alert by its labels: one equality matcher per label, sorted by name.
/// Labels with an empty value are left out, since `name=""` would also match alerts without the label.
pub fn matchers_for(labels: &BTreeMap<String, String>) -> Vec<Matcher> {
    labels
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| Matcher {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

/// A whole answer: status and body.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    /// Alertmanager's 404 for an unknown silence has an empty body; a 404 with a page ("404 page not
    /// found") means the URL does not lead to the API, which must not pass for a forgotten silence.
    fn is_unknown_silence(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
            && (self.body.trim_ascii().is_empty() || self.message().contains("silence"))
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, SilenceError> {
        serde_json::from_slice(&self.body).map_err(|e| SilenceError::Invalid(e.to_string()))
    }

    /// Alertmanager's reason: its errors are a JSON string (`"silence not found"`) or, for requests its
    /// schema refuses, `{"code": 601, "message": "..."}`; anything else is kept as text.
    fn message(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let message = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::String(message)) => message,
            Ok(serde_json::Value::Object(object)) => match object.get("message") {
                Some(serde_json::Value::String(message)) => message.clone(),
                _ => text.trim().to_owned(),
            },
            _ => text.trim().to_owned(),
        };
        let message = if message.is_empty() {
            self.status
                .canonical_reason()
                .unwrap_or_default()
                .to_owned()
        } else {
            message
        };
        truncate(message, MESSAGE_LIMIT)
    }

    fn error(&self) -> SilenceError {
        let status = self.status.as_u16();
        if self.status.is_client_error() {
            SilenceError::Rejected {
                status,
                message: self.message(),
            }
        } else if self.status.is_server_error() {
            tracing::warn!(status, message = %self.message(), "Alertmanager failed");
            SilenceError::Failed { status }
        } else {
            SilenceError::Invalid(format!("unexpected HTTP status {status}"))
        }
    }
}

fn truncate(mut text: String, limit: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(limit) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Describes a failed exchange without the URL: reqwest's own message names it, and the cause chain
/// says what went wrong (`tcp connect error: Connection refused`).
fn transport_error(error: reqwest::Error) -> SilenceError {
    let error = error.without_url();
    if error.is_timeout() {
        return SilenceError::Unreachable(format!("no answer within {} s", TIMEOUT.as_secs()));
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SilenceError::Unreachable(message)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use chrono::TimeZone;
    use serde_json::json;

    use super::wire::WireMatcher;
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn matcher(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn matchers_for_keeps_every_label_sorted_by_name() {
        let labels = labels(&[
            ("severity", "critical"),
            ("alertname", "PostgresDown"),
            ("instance", "pg-main-1:9187"),
            ("cluster", "main"),
        ]);
        assert_eq!(
            matchers_for(&labels),
            vec![
                matcher("alertname", "PostgresDown"),
                matcher("cluster", "main"),
                matcher("instance", "pg-main-1:9187"),
                matcher("severity", "critical"),
            ]
        );
    }

    #[test]
    fn matchers_for_leaves_out_empty_values_only() {
        let labels = labels(&[("alertname", "X"), ("job", ""), ("le", "0.5")]);
        assert_eq!(
            matchers_for(&labels),
            vec![matcher("alertname", "X"), matcher("le", "0.5")]
        );
        assert!(matchers_for(&BTreeMap::new()).is_empty());
    }

    #[test]
    fn a_new_silence_is_posted_in_alertmanagers_shape() {
        let silence = NewSilence {
            matchers: vec![matcher("alertname", "X"), matcher("cluster", "main")],
            starts_at: Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
                + chrono::Duration::nanoseconds(123_456_789),
            ends_at: Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap(),
            created_by: "postgram:42".to_owned(),
            comment: "maintenance".to_owned(),
        };
        let body = serde_json::to_value(PostableSilence::from(&silence)).unwrap();
        assert_eq!(
            body,
            json!({
                "matchers": [
                    { "name": "alertname", "value": "X", "isRegex": false, "isEqual": true },
                    { "name": "cluster", "value": "main", "isRegex": false, "isEqual": true },
                ],
                "startsAt": "2024-05-01T12:00:00.123Z",
                "endsAt": "2024-05-01T13:00:00.000Z",
                "createdBy": "postgram:42",
                "comment": "maintenance",
            })
        );
    }

    #[test]
    fn a_created_silence_answer_gives_its_id() {
        let created: SilenceCreated = answer(
            200,
            r#"{"silenceID":"d8f0afba-d93e-4e4f-8d04-c54e9bda05f2"}"#,
        )
        .json()
        .unwrap();
        assert_eq!(created.silence_id, "d8f0afba-d93e-4e4f-8d04-c54e9bda05f2");
    }

    // Verbatim from Alertmanager 0.25.
    const GETTABLE: &str = r#"{"id":"d8f0afba-d93e-4e4f-8d04-c54e9bda05f2","status":{"state":"active"},
        "updatedAt":"2026-11-24T03:00:56.222Z","comment":"c","createdBy":"me",
        "endsAt":"2026-11-24T04:00:56.000Z",
        "matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"X"}],
        "startsAt":"2026-11-24T03:00:56.222Z"}"#;

    #[test]
    fn a_gettable_silence_is_read() {
        let wire: GettableSilence = answer(200, GETTABLE).json().unwrap();
        let silence = Silence::try_from(wire).unwrap();
        assert_eq!(
            silence,
            Silence {
                id: "d8f0afba-d93e-4e4f-8d04-c54e9bda05f2".to_owned(),
                state: "active".to_owned(),
                matchers: vec![matcher("alertname", "X")],
                starts_at: "2026-11-24T03:00:56.222Z".parse().unwrap(),
                ends_at: "2026-11-24T04:00:56Z".parse().unwrap(),
                created_by: "me".to_owned(),
                comment: "c".to_owned(),
            }
        );
    }

    #[test]
    fn a_matcher_without_is_equal_is_an_equality() {
        let wire: WireMatcher =
            serde_json::from_str(r#"{"name":"a","value":"b","isRegex":false}"#).unwrap();
        assert_eq!(Matcher::try_from(wire).unwrap(), matcher("a", "b"));
    }

    #[test]
    fn regex_and_negative_matchers_are_not_matchers() {
        for (is_regex, is_equal, op) in [
            (true, true, "=~"),
            (true, false, "!~"),
            (false, false, "!="),
        ] {
            let wire = WireMatcher {
                name: "job".to_owned(),
                value: "pg.*".to_owned(),
                is_regex,
                is_equal,
            };
            let reason = Matcher::try_from(wire).unwrap_err();
            assert!(reason.contains(&format!("job{op}\"pg.*\"")), "{reason}");
        }
    }

    #[test]
    fn an_answer_missing_fields_is_invalid() {
        let result: Result<GettableSilence, _> = answer(200, r#"{"id":"x"}"#).json();
        assert!(matches!(result, Err(SilenceError::Invalid(_))));
        let result: Result<SilenceCreated, _> = answer(200, "<html>").json();
        assert!(matches!(result, Err(SilenceError::Invalid(_))));
    }

    #[test]
    fn errors_carry_alertmanagers_reason() {
        let refused = answer(
            400,
            r#""Failed to create silence: start time must be before end time""#,
        );
        assert_eq!(
            refused.error(),
            SilenceError::Rejected {
                status: 400,
                message: "Failed to create silence: start time must be before end time".to_owned(),
            }
        );
        let schema = answer(
            422,
            r#"{"code":612,"message":"matchers in body should have at least 1 items"}"#,
        );
        assert_eq!(
            schema.error(),
            SilenceError::Rejected {
                status: 422,
                message: "matchers in body should have at least 1 items".to_owned(),
            }
        );
        assert_eq!(
            answer(401, "").error(),
            SilenceError::Rejected {
                status: 401,
                message: "Unauthorized".to_owned(),
            }
        );
        assert_eq!(
            answer(500, r#""silence not found""#).error(),
            SilenceError::Failed { status: 500 }
        );
        assert!(matches!(answer(302, "").error(), SilenceError::Invalid(_)));
    }

    #[test]
    fn only_alertmanagers_own_404_means_an_unknown_silence() {
        assert!(answer(404, "").is_unknown_silence());
        assert!(answer(404, r#""silence not found""#).is_unknown_silence());
        assert!(!answer(404, "404 page not found\n").is_unknown_silence());
        assert!(!answer(404, "<html><h1>404 Not Found</h1></html>").is_unknown_silence());
        assert!(!answer(200, "").is_unknown_silence());
    }

    #[test]
    fn long_reasons_are_cut() {
        let message = answer(403, &"é".repeat(1000)).message();
        assert_eq!(message.chars().count(), MESSAGE_LIMIT + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn debug_output_hides_credentials() {
        let am = SilenceApi::new("https://user:s3cret@am.example:9093/prefix/");
        let debug = format!("{am:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("user"),
            "{debug}"
        );
        assert!(debug.contains("am.example:9093/prefix"), "{debug}");
    }

    #[test]
    fn endpoints_keep_the_base_path_and_encode_the_id() {
        let am = SilenceApi::new("http://127.0.0.1:9093");
        assert_eq!(
            am.endpoint(&["silences"]).unwrap().as_str(),
            "http://127.0.0.1:9093/api/v2/silences"
        );
        let am = SilenceApi::new("http://proxy.local/alertmanager/");
        assert_eq!(
            am.endpoint(&["silence", "../../alerts?x=1"])
                .unwrap()
                .as_str(),
            "http://proxy.local/alertmanager/api/v2/silence/..%2F..%2Falerts%3Fx=1"
        );
    }

    #[tokio::test]
    async fn an_unusable_url_fails_every_call() {
        for url in ["", "not a url", "mailto:am@example.com", "ftp://am.example"] {
            let result = SilenceApi::new(url).get("x").await;
            assert!(matches!(result, Err(SilenceError::Unreachable(_))), "{url}");
        }
    }
}
