//! The view and action buttons on an alert's messages: from the config's `links` (by alertname) and the
//! alert's own `postgram_views` / `postgram_actions` annotations. A button opens the item already
//! filled in from the alert's labels.

use std::collections::HashMap;
use std::sync::Arc;

use crate::callback::Callback;
use crate::catalog::{Action, Catalog, View};
use crate::charts::alert::expression;
use crate::config::{Config, ConfigError, Link, Problem};
use crate::domain::{AlertStatus, DatabaseName};
use crate::i18n::Lang;
use crate::store::IncidentRecord;
use crate::tr;

/// At most this many link buttons on one message.
const MAX_LINKS: usize = 6;

pub struct Links {
    catalog: Arc<Catalog>,
    /// Whether a Prometheus is configured: then alerts with an expression get a 📈 Graph button.
    graphs: bool,
    /// alertname → (view aliases, action aliases)
    by_alertname: HashMap<String, (Vec<String>, Vec<String>)>,
}

impl Links {
    /// Checks every alias of the config's links against the catalogue.
    pub fn new(config: &Config, catalog: Arc<Catalog>) -> Result<Links, ConfigError> {
        let problems = unknown_aliases(config, Some(&catalog.views), Some(&catalog.actions));
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        let mut by_alertname: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
        for link in &config.links {
            let entry = by_alertname.entry(link.alertname.clone()).or_default();
            entry.0.extend(link.views.iter().cloned());
            entry.1.extend(link.actions.iter().cloned());
        }
        Ok(Links {
            catalog,
            graphs: config.prometheus.is_some(),
            by_alertname,
        })
    }

    /// Buttons for an incident, labelled in `lang`: 📈 Graph while it has an expression to plot (resolved too: the graph
    /// shows how it ended), and while it fires on a database, its views and actions.
    pub fn buttons(&self, lang: Lang, incident: &IncidentRecord) -> Vec<(String, Callback)> {
        let mut buttons = Vec::new();
        let graph = self.graphs
            && (incident.annotations.contains_key("postgram_chart")
                || expression(&incident.generator_url, &incident.annotations).is_some());
        if graph {
            buttons.push((
                tr!(lang, "alert-button-graph"),
                Callback::AlertGraph(incident.id),
            ));
        }
        let Some(database) = incident
            .database
            .as_deref()
            .and_then(|d| DatabaseName::parse(d).ok())
        else {
            return buttons;
        };
        if incident.status == AlertStatus::Resolved {
            return buttons;
        }
        let (mut views, mut actions) = self
            .by_alertname
            .get(&incident.alertname)
            .cloned()
            .unwrap_or_default();
        let listed = |key: &str| -> Vec<String> {
            incident
                .annotations
                .get(key)
                .map(|list| {
                    list.split(',')
                        .map(|a| a.trim().to_owned())
                        .filter(|a| !a.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        views.extend(listed("postgram_views"));
        actions.extend(listed("postgram_actions"));
        for alias in views {
            if let Some(view) = self.catalog.views.iter().find(|v| v.alias == alias)
                && view.serves(&database)
            {
                let data = Callback::Link {
                    actions: false,
                    incident: incident.id,
                    item: alias,
                };
                buttons.push((format!("🔎 {}", view.title.get(lang)), data));
            }
        }
        for alias in actions {
            if let Some(action) = self.catalog.actions.iter().find(|a| a.alias == alias)
                && action.serves(&database)
            {
                let data = Callback::Link {
                    actions: true,
                    incident: incident.id,
                    item: alias,
                };
                buttons.push((format!("⚙️ {}", action.title.get(lang)), data));
            }
        }
        buttons.dedup_by(|a, b| a.1 == b.1);
        buttons.truncate(MAX_LINKS + usize::from(graph));
        buttons
    }
}

/// Every alias of the config's links that names no view (action) of the catalogue, located in the
/// config. `None`: that catalogue file could not be read, so its aliases are not checked.
pub fn unknown_aliases(
    config: &Config,
    views: Option<&[View]>,
    actions: Option<&[Action]>,
) -> Vec<Problem> {
    type Listed = fn(&Link) -> &[String];
    let kinds: [(&str, Option<Vec<&str>>, Listed); 2] = [
        (
            "view",
            views.map(|items| items.iter().map(|v| v.alias.as_str()).collect()),
            |link| &link.views,
        ),
        (
            "action",
            actions.map(|items| items.iter().map(|a| a.alias.as_str()).collect()),
            |link| &link.actions,
        ),
    ];
    let mut problems = Vec::new();
    for (i, link) in config.links.iter().enumerate() {
        for (noun, known, listed) in &kinds {
            let Some(known) = known else { continue };
            for (j, alias) in listed(link).iter().enumerate() {
                if !known.contains(&alias.as_str()) {
                    problems.push(config.source.problem(
                        &format!("links[{i}].{noun}s[{j}]"),
                        format_args!("no {noun} named {alias:?} in the catalogue"),
                    ));
                }
            }
        }
    }
    problems
}
