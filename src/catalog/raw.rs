//! The catalogue files as written. Unknown keys are errors, as in the config; every key is optional
//! here, as in the config, so that one wrong value does not hide the rest (validation says what is
//! missing).

use serde::Deserialize;

use crate::config::text::RawText;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawViews {
    #[serde(default)]
    pub views: Vec<RawView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActions {
    #[serde(default)]
    pub actions: Vec<RawAction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawView {
    pub alias: Option<String>,
    pub title: Option<RawText>,
    #[serde(default)]
    pub description: RawText,
    pub databases: Option<Vec<String>>,
    pub timeout: Option<String>,
    pub max_rows: Option<u64>,
    #[serde(default)]
    pub arguments: Vec<RawArgument>,
    pub sql: Option<String>,
    #[serde(default)]
    pub variants: Vec<RawVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub min_server_version: Option<u32>,
    pub sql: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub alias: Option<String>,
    pub title: Option<RawText>,
    #[serde(default)]
    pub description: RawText,
    pub databases: Option<Vec<String>>,
    #[serde(default)]
    pub confirm: bool,
    pub timeout: Option<String>,
    #[serde(default)]
    pub arguments: Vec<RawArgument>,
    pub steps: Option<Vec<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: Option<String>,
    pub sql: Option<String>,
    pub shell: Option<String>,
    pub transaction: Option<bool>,
    pub split: Option<bool>,
    pub timeout: Option<String>,
    #[serde(default)]
    pub variants: Vec<RawVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArgument {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Any scalar; checked against the type.
    pub default: Option<yaml_serde::Value>,
    pub required: Option<bool>,
    pub pattern: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub choices: Option<Vec<yaml_serde::Value>>,
    /// For identifiers: relation, role or name.
    #[serde(rename = "kind")]
    pub identifier_kind: Option<String>,
    pub choices_sql: Option<String>,
    /// For secrets: `scram-sha-256` passes the password's verifier instead of the password.
    pub hash: Option<String>,
}
