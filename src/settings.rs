//! The settings in force: a validated config and everything built from it (who is who, the
//! catalogue, charts, the silence and SMTP clients, the buttons alerts offer). Built the same way at
//! start and by a reload, checked whole before anything uses it, and put in force at once through a
//! [`Live`] handle; every update, request and job reads one value to its end.

use std::sync::Arc;

use crate::access::Access;
use crate::catalog::Catalog;
use crate::charts::service::Charting;
use crate::config::{Config, ConfigError};
use crate::delivery::{self, email::Mailer, links::Links};
use crate::live::Live;
use crate::silences::SilenceApi;
use crate::store::Store;

pub struct Settings {
    pub config: Arc<Config>,
    pub catalog: Arc<Catalog>,
    pub access: Arc<Access>,
    pub charts: Arc<Charting>,
    /// `None` without `alertmanager`: the bot offers no silences.
    pub silences: Option<SilenceApi>,
    /// The delivery worker's part (the same config and access).
    pub delivery: Arc<delivery::Setup>,
}

/// Why settings could not be built from a config that passed its checks.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Links(#[from] ConfigError),
    #[error("smtp: {0}")]
    Smtp(#[from] delivery::email::EmailError),
}

impl Settings {
    pub fn build(config: Config, catalog: Catalog, store: &Store) -> Result<Settings, BuildError> {
        let config = Arc::new(config);
        let catalog = Arc::new(catalog);
        let access = Arc::new(Access::new(&config, store.clone()));
        let links = Arc::new(Links::new(&config, Arc::clone(&catalog))?);
        let mailer = config
            .smtp
            .as_ref()
            .map(|smtp| Mailer::new(smtp.url.expose(), smtp.from.as_str()))
            .transpose()?;
        let charts = Arc::new(Charting::new(&config, catalog.charts.clone()));
        let silences = config
            .alertmanager
            .as_ref()
            .map(|am| SilenceApi::new(&am.url));
        let delivery = Arc::new(delivery::Setup {
            config: Arc::clone(&config),
            access: Arc::clone(&access),
            links,
            mailer,
        });
        Ok(Settings {
            config,
            catalog,
            access,
            charts,
            silences,
            delivery,
        })
    }
}

/// The settings in force and the delivery worker's part of them, replaced together.
#[derive(Clone)]
pub struct InForce {
    pub settings: Live<Settings>,
    pub delivery: Live<delivery::Setup>,
}

impl InForce {
    pub fn new(settings: Settings) -> InForce {
        let delivery = Live::new_shared(Arc::clone(&settings.delivery));
        InForce {
            settings: Live::new(settings),
            delivery,
        }
    }

    pub fn now(&self) -> Arc<Settings> {
        self.settings.now()
    }

    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.now().config)
    }

    pub fn access(&self) -> Arc<Access> {
        Arc::clone(&self.now().access)
    }

    /// Charts, health cards and alert graphs from Prometheus.
    pub fn charts(&self) -> Arc<Charting> {
        Arc::clone(&self.now().charts)
    }

    pub fn silences(&self) -> Option<SilenceApi> {
        self.now().silences.clone()
    }

    /// Puts `settings` in force.
    pub fn replace(&self, settings: Settings) {
        self.delivery.put(Arc::clone(&settings.delivery));
        self.settings.replace(settings);
    }
}
