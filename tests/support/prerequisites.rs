//! What the tests need from the machine besides Rust: a PostgreSQL server (`POSTGRAM_TEST_POSTGRES`, a
//! superuser URL), the Alertmanager binary, Prometheus with promtool and postgres_exporter, and
//! docker-compose (which validates `deploy/compose` without a Docker engine). A missing one fails the
//! tests that need it, loudly; they are skipped only when the person asks with
//! `POSTGRAM_TEST_SKIP=postgres,alertmanager,prometheus,compose`. Every skipped test is
//! appended to the file `POSTGRAM_TEST_SKIP_LOG` names, so `scripts/test` can count them once every test
//! binary has run (a test that returns early still prints `ok`).

use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prerequisite {
    Postgres,
    Alertmanager,
    /// `prometheus`, `promtool` and `prometheus-postgres-exporter`.
    Prometheus,
    /// `docker-compose`.
    Compose,
}

impl Prerequisite {
    const ALL: [Prerequisite; 4] = [
        Prerequisite::Postgres,
        Prerequisite::Alertmanager,
        Prerequisite::Prometheus,
        Prerequisite::Compose,
    ];

    /// Its name in `POSTGRAM_TEST_SKIP`.
    fn name(self) -> &'static str {
        match self {
            Prerequisite::Postgres => "postgres",
            Prerequisite::Alertmanager => "alertmanager",
            Prerequisite::Prometheus => "prometheus",
            Prerequisite::Compose => "compose",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Prerequisite::Postgres => "a PostgreSQL server",
            Prerequisite::Alertmanager => "the prometheus-alertmanager binary",
            Prerequisite::Prometheus => {
                "the prometheus, promtool and prometheus-postgres-exporter binaries"
            }
            Prerequisite::Compose => "the docker-compose binary",
        }
    }

    /// Whether the person asked to skip the tests that need it.
    pub fn skip_requested(self) -> bool {
        let Ok(list) = std::env::var("POSTGRAM_TEST_SKIP") else {
            return false;
        };
        let mut requested = false;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(known) = Self::ALL.into_iter().find(|p| p.name() == name) else {
                panic!(
                    "POSTGRAM_TEST_SKIP names {name:?}; it takes postgres, alertmanager, prometheus and \
                     compose, separated by commas"
                );
            };
            requested |= known == self;
        }
        requested
    }

    /// Records that the running test is skipped because the person asked to skip `self`.
    pub fn skipped(self) {
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        // Test binaries are named `{file}-{hash}`.
        let binary = std::env::current_exe()
            .ok()
            .and_then(|path| path.file_stem()?.to_str().map(str::to_owned))
            .map(|stem| {
                stem.rsplit_once('-')
                    .map_or(stem.clone(), |(file, _)| file.to_owned())
            })
            .unwrap_or_default();
        let line = format!("{binary}::{test} (needs {})\n", self.what());
        eprint!("skipped, as POSTGRAM_TEST_SKIP asks: {line}");
        if let Some(path) = std::env::var_os("POSTGRAM_TEST_SKIP_LOG") {
            // One short append per line: lines from parallel tests and binaries do not interleave.
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("cannot open POSTGRAM_TEST_SKIP_LOG {path:?}: {e}"));
            file.write_all(line.as_bytes())
                .unwrap_or_else(|e| panic!("cannot write POSTGRAM_TEST_SKIP_LOG {path:?}: {e}"));
        }
    }

    /// Fails the running test: `self` is missing (`detail` says how) and nobody asked to skip it.
    #[track_caller]
    pub fn missing(self, detail: &str) -> ! {
        let fix = match self {
            Prerequisite::Postgres => {
                "`scripts/test` installs, starts and prepares one (or point POSTGRAM_TEST_POSTGRES at a \
                 superuser URL)"
            }
            Prerequisite::Alertmanager => {
                "`scripts/test` installs it (Debian's package prometheus-alertmanager)"
            }
            Prerequisite::Prometheus => {
                "`scripts/test` installs them (Debian's packages prometheus and \
                 prometheus-postgres-exporter)"
            }
            Prerequisite::Compose => "`scripts/test` installs it (Debian's package docker-compose)",
        };
        panic!(
            "this test needs {}: {detail}. {fix}; POSTGRAM_TEST_SKIP={} skips these tests instead",
            self.what(),
            self.name()
        )
    }
}

/// `url` with its password replaced, for messages.
pub fn without_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}
