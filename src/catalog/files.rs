//! The catalogue files the config names: read (only regular files of bounded size), each validated as
//! far as it goes by `validate.rs`, and their problems gathered — a file that cannot be read is a
//! problem of the config, at the key that names it.

use std::path::Path;

use super::validate::{Parsed, parse_actions, parse_views};
use super::{Catalog, CatalogCheck};
use crate::config::{Config, ConfigError, Problem};
use crate::domain::DatabaseName;

pub fn check(config: &Config) -> CatalogCheck {
    let databases: Vec<DatabaseName> = config.databases.iter().map(|d| d.name.clone()).collect();
    let mut unreadable = Vec::new();
    let views = read(
        config,
        config.catalog.views.as_deref(),
        "catalog.views",
        &mut unreadable,
    );
    let actions = read(
        config,
        config.catalog.actions.as_deref(),
        "catalog.actions",
        &mut unreadable,
    );
    let mut check = from_texts_checked(
        views.as_ref().map(|(p, t)| (*p, t.as_str())),
        actions.as_ref().map(|(p, t)| (*p, t.as_str())),
        &databases,
    );
    let charts = read(
        config,
        config.catalog.charts.as_deref(),
        "catalog.charts",
        &mut unreadable,
    );
    if let Some((file, text)) = &charts {
        match crate::charts::catalogue::parse_charts(file, text, &databases) {
            Ok((charts, problems)) => {
                check.catalog.charts = charts;
                check.problems.extend(problems);
            }
            Err(e) => check.problems.extend(e.problems),
        }
    }
    check.views_known &= config.catalog.views.is_none() || views.is_some();
    check.actions_known &= config.catalog.actions.is_none() || actions.is_some();
    unreadable.append(&mut check.problems);
    check.problems = unreadable;
    check
}

/// The text of the catalogue file at `path` (named by the config's `key`), or its problem: one about
/// the config, at that key, when the file cannot be read at all.
fn read<'p>(
    config: &Config,
    path: Option<&'p Path>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<(&'p Path, String)> {
    let path = path?;
    match crate::config::read_file(path, "this catalogue file") {
        Ok(text) => Some((path, text)),
        Err(problem) => {
            problems.push(match problem.position {
                Some(_) => problem,
                None => config
                    .source
                    .problem(key, format_args!("{}: {}", path.display(), problem.message)),
            });
            None
        }
    }
}

pub fn from_texts(
    views: Option<(&Path, &str)>,
    actions: Option<(&Path, &str)>,
    databases: &[DatabaseName],
) -> Result<Catalog, ConfigError> {
    from_texts_checked(views, actions, databases).into_result()
}

fn from_texts_checked(
    views: Option<(&Path, &str)>,
    actions: Option<(&Path, &str)>,
    databases: &[DatabaseName],
) -> CatalogCheck {
    let mut check = CatalogCheck::default();
    check.views_known = views.is_none_or(|(file, text)| {
        keep(
            parse_views(file, text, databases),
            &mut check.catalog.views,
            &mut check.problems,
        )
    });
    check.actions_known = actions.is_none_or(|(file, text)| {
        keep(
            parse_actions(file, text, databases),
            &mut check.catalog.actions,
            &mut check.problems,
        )
    });
    check
}

/// Keeps what was read of one catalogue file in `items` and its problems in `problems`; false when
/// nothing of it could be read.
fn keep<T>(parsed: Parsed<T>, items: &mut Vec<T>, problems: &mut Vec<Problem>) -> bool {
    match parsed {
        Ok((read, found)) => {
            *items = read;
            problems.extend(found);
            true
        }
        Err(e) => {
            problems.extend(e.problems);
            false
        }
    }
}
