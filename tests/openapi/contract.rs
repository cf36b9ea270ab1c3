//! Drives the service and checks its answers against the document it serves at `/openapi.json`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::service::Ctx;
use crate::support::{Backend, Service, TestApp, config_text};

pub const OWNER: &str = "owner-token-for-openapi-tests-01";

/// The service and the document it serves.
pub struct Contract {
    service: Service,
    pub document: Value,
}

impl Contract {
    /// The service on SQLite with the common test config and an owner token.
    pub async fn start() -> Contract {
        let config = |ctx: &Ctx<'_>| {
            let common = config_text(ctx.state_url, "127.0.0.1:0");
            format!("{common}  - {{ name: owner, token: \"{OWNER}\", role: owner }}\n")
        };
        let service = Service::start_with(Backend::Sqlite, &[], config).await;
        Contract::open(service.unwrap()).await
    }

    /// The service administering a fresh PostgreSQL database (see `Service::start_administering`);
    /// `None` when PostgreSQL tests are skipped.
    pub async fn administering(
        write: &[(&str, &str)],
        config: impl FnOnce(&Ctx<'_>, &str) -> String,
    ) -> Option<Contract> {
        let service = Service::start_administering(write, config).await?;
        Some(Contract::open(service).await)
    }

    /// The document `service` serves, to check its answers against.
    pub async fn open(service: Service) -> Contract {
        let app = &service.app;
        let response = app
            .client
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "served without a token");
        let document = response.json().await.unwrap();
        Contract { service, document }
    }

    pub fn app(&self) -> &TestApp {
        &self.service.app
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    pub async fn finish(self) {
        self.service.stop().await;
    }

    /// Calls the service, with `token` as bearer when given and `body` as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let app = self.app();
        let mut request = app.client.request(method, format!("{}{path}", app.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// Calls `route` (its template, with `path` the concrete target) and checks the JSON answer against
    /// the schema the document gives for that route, method and the status that came back, which must
    /// be `expected`. Returns the answer.
    pub async fn check(
        &self,
        method: Method,
        route: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let response = self.call(method.clone(), path, token, body.as_ref()).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{method} {path}: {answer}");
        self.validate(route, &method.as_str().to_lowercase(), status, &answer);
        answer
    }

    /// Checks `answer` against the schema the document gives for `route`, `method` and `status`.
    pub fn validate(&self, route: &str, method: &str, status: u16, answer: &Value) {
        let errors = self.mismatches(route, method, status, answer);
        assert!(
            errors.is_empty(),
            "{method} {route} ({status}) does not match its schema: {errors:#?}\n{answer:#}"
        );
    }

    /// Where `answer` departs from the schema of `route`, `method` and `status`.
    pub fn mismatches(
        &self,
        route: &str,
        method: &str,
        status: u16,
        answer: &Value,
    ) -> Vec<String> {
        let schema = &self.document["paths"][route][method]["responses"][status.to_string()]["content"]
            ["application/json"]["schema"];
        assert!(
            !schema.is_null(),
            "{method} {route} answering {status} is not documented"
        );
        // The operation's schema, its `$ref`s resolved in the document's own components.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::draft202012::new(&root).unwrap();
        validator
            .iter_errors(answer)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }
}
