//! A small builder for the document's operations: parameters, bodies and answers in a line each,
//! every error answer in the one `Error` shape.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{
    ObjectBuilder, PathsBuilder, Ref, Required, Response as Answer, ResponseBuilder, Type,
};

use crate::http::{WEBHOOK_BODY_LIMIT, error};

/// Who may call an operation.
#[derive(Clone, Copy)]
pub enum Caller {
    Anyone,
    Alertmanager,
    ApiToken,
}

/// One operation: its documentation and answers, added to as the builder calls go.
pub struct Op {
    method: HttpMethod,
    path: &'static str,
    builder: OperationBuilder,
    /// Kept apart until the end: one status may answer in several formats.
    answers: BTreeMap<u16, Answer>,
}

pub fn operation(
    method: HttpMethod,
    path: &'static str,
    tag: &str,
    summary: &str,
    caller: Caller,
) -> Op {
    let verb = match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Delete => "delete",
        _ => "call",
    };
    let id = format!("{verb}{path}")
        .to_lowercase()
        .replace(['/', '-'], "_")
        .replace(['{', '}'], "");
    let mut builder = OperationBuilder::new()
        .tag(tag)
        .summary(Some(summary))
        .operation_id(Some(id));
    builder = match caller {
        Caller::Anyone => builder,
        Caller::Alertmanager => {
            builder.security(SecurityRequirement::new("webhook_token", [""; 0]))
        }
        Caller::ApiToken => builder.security(SecurityRequirement::new("api_token", [""; 0])),
    };
    let op = Op {
        method,
        path,
        builder,
        answers: BTreeMap::new(),
    };
    let op = match caller {
        Caller::Anyone => op,
        Caller::Alertmanager => op.errors(&[401]),
        // Looking the token up reads the state store, which may fail.
        Caller::ApiToken => op.errors(&[401, 500]),
    };
    // The outermost layer answers these on every route.
    op.errors(&[405, 414, 431])
}

impl Op {
    pub fn describe(mut self, description: &str) -> Op {
        self.builder = self.builder.description(Some(description));
        self
    }

    pub fn path_param(self, name: &str, description: &str, example: Value) -> Op {
        self.param(
            name,
            ParameterIn::Path,
            Required::True,
            description,
            example,
        )
    }

    pub fn query(self, name: &str, description: &str, example: Value) -> Op {
        self.param(
            name,
            ParameterIn::Query,
            Required::False,
            description,
            example,
        )
    }

    /// A query parameter without which the route answers 400.
    pub fn required_query(self, name: &str, description: &str, example: Value) -> Op {
        self.param(
            name,
            ParameterIn::Query,
            Required::True,
            description,
            example,
        )
    }

    fn param(
        mut self,
        name: &str,
        at: ParameterIn,
        required: Required,
        description: &str,
        example: Value,
    ) -> Op {
        let parameter: Parameter = ParameterBuilder::new()
            .name(name)
            .parameter_in(at)
            .required(required)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .example(Some(example))
            .build();
        self.builder = self.builder.parameter(parameter);
        self
    }

    pub fn body(mut self, schema: &str, example: Value) -> Op {
        let body = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", content(schema, Some(example)))
            .build();
        self.builder = self.builder.request_body(Some(body));
        self
    }

    /// A JSON answer of `schema`.
    pub fn json(self, status: u16, description: &str, schema: &str, example: Option<Value>) -> Op {
        let answer = ResponseBuilder::new()
            .description(description)
            .content("application/json", content(schema, example))
            .build();
        self.answer(status, answer)
    }

    /// An answer in another format: text, or a JSON object when `example` is one.
    pub fn other(self, status: u16, description: &str, media: &str, example: Value) -> Op {
        let kind = if example.is_object() {
            Type::Object
        } else {
            Type::String
        };
        let text = ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(kind)))
            .example(Some(example))
            .build();
        let answer = ResponseBuilder::new()
            .description(description)
            .content(media, text)
            .build();
        self.answer(status, answer)
    }

    /// An answer without a body.
    pub fn empty(self, status: u16, description: &str) -> Op {
        self.answer(
            status,
            ResponseBuilder::new().description(description).build(),
        )
    }

    fn answer(mut self, status: u16, answer: Answer) -> Op {
        match self.answers.get_mut(&status) {
            Some(existing) => existing.content.extend(answer.content),
            None => {
                self.answers.insert(status, answer);
            }
        }
        self
    }

    /// Error answers, each in the `Error` shape, described by its status.
    pub fn errors(self, statuses: &[u16]) -> Op {
        statuses.iter().fold(self, |op, &status| {
            let (description, error) = refusal(status);
            let example = match status {
                400 => json!({ "error": error, "field": "limit", "message": "must be a number from 1 to 500" }),
                _ => json!({ "error": error }),
            };
            op.json(status, description, "Error", Some(example))
        })
    }

    /// A JSON answer about a run, with `Location: /runs/{id}`.
    pub fn located(self, status: u16, description: &str, schema: &str, example: Value) -> Op {
        let location = Header::new(ObjectBuilder::new().schema_type(Type::String));
        let answer = ResponseBuilder::new()
            .description(description)
            .content("application/json", content(schema, Some(example)))
            .header("Location", location)
            .build();
        self.answer(status, answer)
    }

    /// Adds the operation to `paths`.
    pub fn add_to(self, paths: PathsBuilder) -> PathsBuilder {
        let builder = self
            .answers
            .into_iter()
            .fold(self.builder, |builder, (status, answer)| {
                builder.response(status.to_string(), answer)
            });
        paths.path(self.path, PathItem::new(self.method, builder.build()))
    }
}

fn content(schema: &str, example: Option<Value>) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .example(example)
        .build()
}

/// What each error status means across the API, with a typical `error`.
fn refusal(status: u16) -> (&'static str, String) {
    let (description, example) = match status {
        400 => (
            "A parameter or the body is malformed; `field` names it",
            "limit: must be a number from 1 to 500".to_owned(),
        ),
        401 => (
            "The bearer token is missing, unknown or revoked",
            "missing or unknown bearer token".to_owned(),
        ),
        403 => (
            "The token's role does not allow this on that database",
            "tests may not read database billing".to_owned(),
        ),
        404 => (
            "No such resource, or one the token may not see",
            "no database named \"nope\"".to_owned(),
        ),
        405 => (
            "The path exists but not for this method; `Allow` lists the methods",
            "this endpoint answers only GET,HEAD".to_owned(),
        ),
        409 => (
            "Conflicts with the current state",
            "run 7 has already ended (succeeded)".to_owned(),
        ),
        413 => (
            "The body is too large",
            format!("the body is larger than {WEBHOOK_BODY_LIMIT} bytes"),
        ),
        414 => (
            "The request target is too long",
            format!(
                "the request target is longer than {} bytes",
                error::URI_LIMIT
            ),
        ),
        422 => (
            "A step failed, was cancelled or timed out",
            "step 2 failed".to_owned(),
        ),
        429 => (
            "The caller has too much under way; retry later",
            "you already have 2 views running".to_owned(),
        ),
        431 => (
            "The request headers are too large",
            format!(
                "the request headers are larger than {} bytes",
                error::HEADERS_LIMIT
            ),
        ),
        500 => (
            "An internal failure, logged under the reference",
            "internal error (reference 0a1b2c3d)".to_owned(),
        ),
        502 => (
            "The administered database or Prometheus failed or is unreachable",
            "database main is unreachable".to_owned(),
        ),
        503 => (
            "The service is shutting down",
            "the service is shutting down".to_owned(),
        ),
        504 => (
            "The administered database or Prometheus took too long",
            "the query timed out".to_owned(),
        ),
        _ => ("Refused", "refused".to_owned()),
    };
    (description, example)
}
