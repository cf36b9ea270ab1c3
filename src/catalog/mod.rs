//! The catalogue: views, actions and charts declared in `views.yaml`, `actions.yaml` and `charts.yaml` (format in
//! docs/catalogue.md), read once and validated into the types below — aliases, databases, arguments,
//! SQL templates — with every problem reported as `file:line:column`. Calls only `config` (to read
//! files); `plan` turns an item and its arguments into what `exec` runs.

mod args;
mod files;
pub mod plan;
mod raw;
pub mod scram;
mod sql;
mod validate;

use std::time::Duration;

pub use crate::config::text::Text;
pub use args::{
    ArgError, ArgProblem, ArgType, ArgValue, Argument, IdentifierKind, MASK, parse_all, shown,
};
pub use sql::{Form, Segment, Template};

use crate::config::{Config, ConfigError, Problem};
use crate::domain::DatabaseName;

/// SQL with variants for newer servers: the variant with the highest `min_server_version` not above the
/// server's major version wins, else the base.
#[derive(Debug, Clone)]
pub struct VersionedSql {
    pub base: Template,
    /// Sorted by version, ascending.
    pub variants: Vec<(u32, Template)>,
}

impl VersionedSql {
    pub fn for_server(&self, major: u32) -> &Template {
        self.variants
            .iter()
            .rev()
            .find(|(min, _)| *min <= major)
            .map_or(&self.base, |(_, t)| t)
    }
}

#[derive(Debug, Clone)]
pub struct View {
    pub alias: String,
    pub title: Text,
    pub description: Text,
    /// `None`: every database.
    pub databases: Option<Vec<DatabaseName>>,
    pub timeout: Duration,
    pub max_rows: usize,
    pub arguments: Vec<Argument>,
    pub sql: VersionedSql,
}

#[derive(Debug, Clone)]
pub enum StepBody {
    Sql {
        sql: VersionedSql,
        transaction: bool,
        split: bool,
    },
    Shell {
        command: String,
    },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub body: StepBody,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub alias: String,
    pub title: Text,
    pub description: Text,
    pub databases: Option<Vec<DatabaseName>>,
    pub confirm: bool,
    pub timeout: Duration,
    pub arguments: Vec<Argument>,
    pub steps: Vec<Step>,
}

fn serves(databases: &Option<Vec<DatabaseName>>, database: &DatabaseName) -> bool {
    databases
        .as_ref()
        .is_none_or(|list| list.contains(database))
}

impl View {
    pub fn serves(&self, database: &DatabaseName) -> bool {
        serves(&self.databases, database)
    }
}

impl Action {
    pub fn serves(&self, database: &DatabaseName) -> bool {
        serves(&self.databases, database)
    }
}

/// What views and actions have in common, for lists and dialogues.
#[derive(Debug, Clone, Copy)]
pub struct ItemInfo<'a> {
    pub alias: &'a str,
    pub title: &'a Text,
    pub arguments: &'a [Argument],
    /// Actions only: ask for confirmation first.
    pub confirm: bool,
    databases: &'a Option<Vec<DatabaseName>>,
}

impl ItemInfo<'_> {
    pub fn serves(&self, database: &DatabaseName) -> bool {
        serves(self.databases, database)
    }
}

/// Every view and action.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub views: Vec<View>,
    pub actions: Vec<Action>,
    /// Charts and health-card rows (`charts.yaml`), shown when the config names a Prometheus.
    pub charts: crate::charts::Charts,
}

/// The catalogue checked as far as it goes, for `postgram check`: every problem, and the items that
/// could be read (with defaults in place of wrong values).
#[derive(Debug, Default)]
pub struct CatalogCheck {
    pub catalog: Catalog,
    /// The catalogue files' problems, file by file in position order; a file that cannot be read is a
    /// problem of the config, at the key that names it.
    pub problems: Vec<Problem>,
    /// False when the views file (the actions file) could not be read as YAML: nothing is known of
    /// its items, so links to them cannot be checked.
    pub views_known: bool,
    pub actions_known: bool,
}

impl CatalogCheck {
    pub fn into_result(self) -> Result<Catalog, ConfigError> {
        if self.problems.is_empty() {
            Ok(self.catalog)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

impl Catalog {
    /// Reads the files the config names (none named: an empty catalogue).
    pub fn load(config: &Config) -> Result<Catalog, ConfigError> {
        Self::check(config).into_result()
    }

    /// Like [`Catalog::load`], keeping what could be read when there are problems. `config` may be
    /// a draft with problems of its own: its databases and file names are all this reads.
    pub fn check(config: &Config) -> CatalogCheck {
        files::check(config)
    }

    /// Validates catalogue texts as if read from the given files.
    pub fn from_texts(
        views: Option<(&std::path::Path, &str)>,
        actions: Option<(&std::path::Path, &str)>,
        databases: &[DatabaseName],
    ) -> Result<Catalog, ConfigError> {
        files::from_texts(views, actions, databases)
    }

    pub fn view(&self, alias: &str) -> Option<&View> {
        self.views.iter().find(|v| v.alias == alias)
    }

    pub fn action(&self, alias: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.alias == alias)
    }

    /// The views (or actions), in catalogue order: a button's item number is its position here.
    pub fn items(&self, actions: bool) -> Vec<ItemInfo<'_>> {
        if actions {
            self.actions
                .iter()
                .map(|a| ItemInfo {
                    alias: &a.alias,
                    title: &a.title,
                    arguments: &a.arguments,
                    confirm: a.confirm,
                    databases: &a.databases,
                })
                .collect()
        } else {
            self.views
                .iter()
                .map(|v| ItemInfo {
                    alias: &v.alias,
                    title: &v.title,
                    arguments: &v.arguments,
                    confirm: false,
                    databases: &v.databases,
                })
                .collect()
        }
    }
}
