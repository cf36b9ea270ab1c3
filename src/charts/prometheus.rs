//! The Prometheus HTTP API, as far as charts and health cards need it: range and instant queries,
//! each bounded by the configured timeout, with credentials kept out of every error.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::config::PrometheusConfig;

/// Answers above this size are refused: a chart needs a few thousand points, not a dump.
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// One series of an answer: its labels (without `__name__`) and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("Prometheus is not configured")]
    NotConfigured,
    #[error("Prometheus cannot be reached: {0}")]
    Unreachable(String),
    #[error("Prometheus did not answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// Prometheus refused the query (`errorType`, `error`).
    #[error("Prometheus refused the query ({0}): {1}")]
    Refused(String, String),
    #[error("Prometheus answered HTTP {0}")]
    Status(u16),
    #[error("Prometheus's answer could not be read: {0}")]
    BadAnswer(String),
}

pub struct Prometheus {
    client: reqwest::Client,
    /// Without credentials; those go in `auth`.
    base: Url,
    auth: Option<(String, Option<String>)>,
    headers: HeaderMap,
    timeout: Duration,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("base", &self.base.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Matrix(Vec<MatrixSeries>),
    Vector(Vec<VectorSample>),
    Scalar((f64, String)),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct MatrixSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct VectorSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

impl Prometheus {
    /// A client for the configured Prometheus; `None` when its URL cannot be used (`postgram check`
    /// reports that).
    pub fn new(config: &PrometheusConfig) -> Option<Prometheus> {
        let mut base = Url::parse(config.url.expose()).ok()?;
        let auth = (!base.username().is_empty()).then(|| {
            (
                percent_decoded(base.username()),
                base.password().map(percent_decoded),
            )
        });
        base.set_username("").ok()?;
        base.set_password(None).ok()?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let mut value = HeaderValue::from_str(value.expose()).ok()?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_bytes(name.as_bytes()).ok()?, value);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .build()
            .ok()?;
        Some(Prometheus {
            client,
            base,
            auth,
            headers,
            timeout: config.timeout,
        })
    }

    /// `query` evaluated every `step` seconds from `start` to `end` (unix seconds).
    pub async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<Labelled>, QueryError> {
        let params = [
            ("query", query.to_owned()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
            ("timeout", format!("{}s", self.timeout.as_secs().max(1))),
        ];
        match self.ask("api/v1/query_range", &params).await? {
            Data::Matrix(series) => Ok(series
                .into_iter()
                .map(|s| Labelled {
                    labels: without_name(s.metric),
                    points: s.values.into_iter().map(point).collect(),
                })
                .collect()),
            _ => Err(QueryError::BadAnswer(
                "a range query did not answer a matrix".into(),
            )),
        }
    }

    /// `query` evaluated at `at` (unix seconds): one value per series.
    pub async fn instant(&self, query: &str, at: i64) -> Result<Vec<Labelled>, QueryError> {
        let params = [
            ("query", query.to_owned()),
            ("time", at.to_string()),
            ("timeout", format!("{}s", self.timeout.as_secs().max(1))),
        ];
        Ok(match self.ask("api/v1/query", &params).await? {
            Data::Vector(samples) => samples
                .into_iter()
                .map(|s| Labelled {
                    labels: without_name(s.metric),
                    points: vec![point(s.value)],
                })
                .collect(),
            Data::Scalar(value) => vec![Labelled {
                labels: BTreeMap::new(),
                points: vec![point(value)],
            }],
            Data::Matrix(_) | Data::String(_) => {
                return Err(QueryError::BadAnswer(
                    "an instant query answered neither a vector nor a scalar".into(),
                ));
            }
        })
    }

    async fn ask(&self, path: &str, params: &[(&str, String)]) -> Result<Data, QueryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| QueryError::Unreachable("the URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(path.split('/'));
        let mut request = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .form(params);
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, password.as_ref());
        }
        let answer = async {
            let mut response = request.send().await.map_err(|e| self.failed(e))?;
            let status = response.status();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.failed(e))? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(QueryError::BadAnswer(format!(
                        "more than {} MiB",
                        MAX_ANSWER_BYTES >> 20
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body))
        };
        // The client's timeout covers the body too; this one also bounds a server that trickles.
        let (status, body) = tokio::time::timeout(self.timeout, answer)
            .await
            .map_err(|_| QueryError::Timeout(self.timeout))??;
        match serde_json::from_slice::<Answer>(&body) {
            Ok(answer) if answer.status == "success" => answer
                .data
                .ok_or_else(|| QueryError::BadAnswer("no data".into())),
            Ok(answer) => Err(QueryError::Refused(
                answer.error_type,
                cut(&answer.error, 300),
            )),
            Err(_) if !status.is_success() => Err(QueryError::Status(status.as_u16())),
            Err(e) => Err(QueryError::BadAnswer(e.to_string())),
        }
    }

    /// A transport error, without its URL (which names the server, and the credentials were taken
    /// out of it anyway).
    fn failed(&self, e: reqwest::Error) -> QueryError {
        if e.is_timeout() {
            return QueryError::Timeout(self.timeout);
        }
        let e = e.without_url();
        let mut cause: &dyn std::error::Error = &e;
        while let Some(source) = cause.source() {
            cause = source;
        }
        QueryError::Unreachable(cause.to_string())
    }
}

fn without_name(mut labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels.remove("__name__");
    labels
}

/// Prometheus writes values as strings, `NaN` and `+Inf` included; those stay non-finite (gaps).
fn point((time, value): (f64, String)) -> (i64, f64) {
    (time.round() as i64, value.parse().unwrap_or(f64::NAN))
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::HeaderMap;

    use super::*;
    use crate::config::Secret;

    /// A stand-in that records what it was sent and answers `answer` with `status`.
    async fn server(status: u16, answer: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().fallback({
            let seen = Arc::clone(&seen);
            move |uri: axum::http::Uri, headers: HeaderMap| async move {
                let mut seen = seen.lock().unwrap();
                seen.push(uri.path().to_owned());
                for name in ["authorization", "x-scope-orgid"] {
                    let value = headers.get(name).map(|v| v.to_str().unwrap().to_owned());
                    seen.push(format!("{name}={}", value.unwrap_or_default()));
                }
                (axum::http::StatusCode::from_u16(status).unwrap(), answer)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("127.0.0.1:{}", addr.port()), seen)
    }

    fn client(url: String) -> Prometheus {
        Prometheus::new(&PrometheusConfig {
            url: Secret::new(url),
            timeout: Duration::from_secs(5),
            headers: vec![("X-Scope-OrgID".to_owned(), Secret::new("tenant-7"))],
        })
        .unwrap()
    }

    #[tokio::test]
    async fn credentials_travel_as_headers_and_never_in_errors() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"pg"},"values":[[10,"1"],[25,"NaN"]]}]}}"#;
        let (host, seen) = server(200, matrix).await;
        let prometheus = client(format!("http://reader:p%40ss@{host}/prom/"));
        let series = prometheus.range("up", 10, 25, 15).await.unwrap();
        assert_eq!(series[0].labels.keys().collect::<Vec<_>>(), ["job"]);
        assert_eq!(series[0].points[0], (10, 1.0));
        assert!(series[0].points[1].1.is_nan(), "NaN stays a gap");
        let seen = seen.lock().unwrap().clone();
        // reader:p@ss in base64
        assert_eq!(
            seen,
            [
                "/prom/api/v1/query_range",
                "authorization=Basic cmVhZGVyOnBAc3M=",
                "x-scope-orgid=tenant-7"
            ]
        );

        let (host, _) = server(502, "<html>bad gateway</html>").await;
        let failed = client(format!("http://reader:p%40ss@{host}"))
            .instant("up", 10)
            .await
            .unwrap_err();
        assert_eq!(failed, QueryError::Status(502));
        let refused =
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        let (host, _) = server(400, refused).await;
        let failed = client(format!("http://reader:p%40ss@{host}"))
            .instant("up(", 10)
            .await
            .unwrap_err();
        assert_eq!(
            failed.to_string(),
            "Prometheus refused the query (bad_data): parse error at char 5"
        );
        let closed = client("http://reader:p%40ss@127.0.0.1:9".to_owned())
            .instant("up", 10)
            .await
            .unwrap_err();
        assert!(matches!(closed, QueryError::Unreachable(_)), "{closed}");
        assert!(!closed.to_string().contains("p%40ss") && !closed.to_string().contains("reader"));
    }
}
