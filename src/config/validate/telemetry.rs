//! The `telemetry` block: where the service's own traces are exported (OTLP over HTTP).

use super::super::TelemetryConfig;
use super::super::raw::RawTelemetry;
use super::super::report::Report;

/// The OTLP/HTTP path of traces, appended to a base endpoint as the OpenTelemetry exporters do.
const TRACES_PATH: &str = "/v1/traces";

pub(super) fn telemetry(raw: RawTelemetry, report: &mut Report) -> TelemetryConfig {
    let endpoint = report.required(raw.otlp_endpoint, "telemetry.otlp_endpoint");
    TelemetryConfig {
        traces_url: traces_url(&endpoint).unwrap_or_else(|problem| {
            if !report.has_problem_in("telemetry.otlp_endpoint") {
                // The value is not repeated: a collector URL may carry credentials.
                report.at("telemetry.otlp_endpoint", problem);
            }
            String::new()
        }),
    }
}

/// `http://host:4318` → `http://host:4318/v1/traces`; a URL that already ends in `/v1/traces` is
/// taken as it is.
fn traces_url(endpoint: &str) -> Result<String, &'static str> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|_| "is not a URL: write the collector's OTLP/HTTP endpoint, http://HOST:4318")?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(
            "is not an http:// or https:// URL with a host (OTLP over HTTP, e.g. http://HOST:4318)",
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials: the exporter sends none");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or a fragment");
    }
    let base = endpoint.trim_end_matches('/');
    Ok(if base.ends_with(TRACES_PATH) {
        base.to_owned()
    } else {
        format!("{base}{TRACES_PATH}")
    })
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn traces_go_to_the_otlp_traces_path_of_the_endpoint() {
        assert_eq!(
            traces_url("http://tempo:4318").as_deref(),
            Ok("http://tempo:4318/v1/traces")
        );
        assert_eq!(
            traces_url("https://otel.example.com/otlp/").as_deref(),
            Ok("https://otel.example.com/otlp/v1/traces")
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/v1/traces").as_deref(),
            Ok("http://127.0.0.1:4318/v1/traces")
        );
    }

    #[test]
    fn only_http_urls_with_a_host_are_endpoints() {
        for bad in [
            "tempo:4318",
            "grpc://tempo:4317",
            "http://",
            "4318",
            "http://tempo:4318/?x=1",
            "http://user:pw@tempo:4318",
        ] {
            assert!(traces_url(bad).is_err(), "{bad}");
        }
    }
}
