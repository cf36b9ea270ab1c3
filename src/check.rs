//! `postgram check`: the config, the catalogue files it names and the links between them, checked
//! together so that one run reports every problem as `file:line:column: message` — as text for
//! people, or as one JSON document for editors and CI. `postgram run` refuses to start on the same
//! problems. Calls `config`, `catalog` and `delivery::links`; reads files, writes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::catalog::Catalog;
use crate::config::{Config, Problem};
use crate::delivery::links;

/// How `postgram check` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Problems on stderr, one a line; the summary on stdout.
    Text,
    /// One JSON document on stdout: `{"ok", "problems": [{"file", "line", "column", "message"}], "summary"}`.
    Json,
}

/// Everything one check found.
#[derive(Debug)]
pub struct Findings {
    /// The config and its catalogue, when there is no problem.
    pub valid: Option<(Config, Catalog)>,
    /// Config file first, then the catalogue files; each in position order.
    pub problems: Vec<Problem>,
}

/// Checks the config at `path`, then the catalogue files it names and its links against them —
/// as far as each can be read, whatever problems the others have.
pub fn everything(path: &Path) -> Findings {
    let config = Config::check(path);
    let mut problems = config.problems;
    let Some(draft) = config.draft else {
        return Findings {
            valid: None,
            problems,
        };
    };
    let catalog = Catalog::check(&draft);
    problems.extend(catalog.problems);
    problems.extend(links::unknown_aliases(
        &draft,
        catalog.views_known.then_some(&catalog.catalog.views[..]),
        catalog
            .actions_known
            .then_some(&catalog.catalog.actions[..]),
    ));
    // Files in the order they came up (the config first), each in position order.
    let mut files: Vec<PathBuf> = Vec::new();
    for problem in &problems {
        if !files.contains(&problem.file) {
            files.push(problem.file.clone());
        }
    }
    problems.sort_by_key(|p| (files.iter().position(|f| f == &p.file), p.position));
    let valid = problems.is_empty().then_some((draft, catalog.catalog));
    Findings { valid, problems }
}

/// `postgram check`: prints what [`everything`] found; exit 0 without problems, 1 with.
pub fn main(path: &Path, format: Format) -> ExitCode {
    let findings = everything(path);
    let summary = match &findings.valid {
        Some((config, catalog)) => format!(
            "{}\ncatalogue: {} view(s), {} action(s)",
            config.summary(),
            catalog.views.len(),
            catalog.actions.len()
        ),
        None => format!("{} problem(s) found", findings.problems.len()),
    };
    let ok = findings.valid.is_some();
    match format {
        Format::Text if ok => println!("{}: OK\n{summary}", path.display()),
        Format::Text => {
            for problem in &findings.problems {
                eprintln!("{problem}");
            }
            eprintln!("{summary}");
        }
        Format::Json => {
            let problems: Vec<serde_json::Value> = findings
                .problems
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "file": p.file.display().to_string(),
                        "line": p.position.map(|p| p.line),
                        "column": p.position.map(|p| p.column),
                        "message": p.message,
                    })
                })
                .collect();
            let document = serde_json::json!({
                "ok": ok,
                "problems": problems,
                "summary": summary,
            });
            println!("{document}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
