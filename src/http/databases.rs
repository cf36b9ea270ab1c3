//! `GET /databases`: each database's name, alert routing and members; never its DSN.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;

use super::AppState;
use crate::access::{Identity, Permission, may};
use crate::domain::{ChatId, EmailAddress, MemberKey};

#[derive(Serialize)]
pub struct DatabaseView<'a> {
    name: &'a str,
    #[serde(rename = "match")]
    matchers: &'a BTreeMap<String, String>,
    admins: Vec<String>,
    viewers: Vec<String>,
    chat: Option<ChatId>,
    email: &'a [EmailAddress],
}

#[derive(Serialize)]
pub struct Databases<'a> {
    databases: Vec<DatabaseView<'a>>,
    /// Who receives alerts that match no database.
    owners: Vec<String>,
}

/// The databases the token reaches (all of them unless it is limited).
pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Json<serde_json::Value> {
    let config = &state.settings.config();
    let body = Databases {
        databases: config
            .databases
            .iter()
            .filter(|db| may(&identity, Permission::Read, Some(db.name.as_str())))
            .map(|db| DatabaseView {
                name: db.name.as_str(),
                matchers: &db.matchers,
                admins: db.admins.iter().map(MemberKey::shown).collect(),
                viewers: db.viewers.iter().map(MemberKey::shown).collect(),
                chat: db.chat,
                email: &db.email,
            })
            .collect(),
        owners: config.owners.iter().map(ToString::to_string).collect(),
    };
    // Serialising plain strings and maps cannot fail.
    Json(serde_json::to_value(body).unwrap_or_default())
}
