//! The catalogue files as written. Unknown keys are errors, as in the config.

use serde::Deserialize;

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
    pub alias: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub databases: Option<Vec<String>>,
    pub timeout: Option<String>,
    pub max_rows: Option<u64>,
    #[serde(default)]
    pub arguments: Vec<RawArgument>,
    pub sql: String,
    #[serde(default)]
    pub variants: Vec<RawVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub min_server_version: u32,
    pub sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub alias: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub databases: Option<Vec<String>>,
    #[serde(default)]
    pub confirm: bool,
    pub timeout: Option<String>,
    #[serde(default)]
    pub arguments: Vec<RawArgument>,
    pub steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: String,
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
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
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
