//! Secret arguments never leave a run in clear: reports, errors and audit rows carry the mask.

use std::collections::BTreeMap;

use crate::catalog;
use crate::exec::{ActionReport, ExecError, Outcome};

/// Replaces every secret value in a report (step output, returned rows, errors) with the mask: a
/// command may echo its environment, and PostgreSQL may quote a statement back.
pub(super) fn mask_secrets(
    report: &mut ActionReport,
    values: &BTreeMap<String, catalog::ArgValue>,
) {
    let secrets = secret_values(values);
    if secrets.is_empty() {
        return;
    }
    let mask = |text: &mut String| mask_text(text, &secrets);
    for step in &mut report.steps {
        mask(&mut step.stdout_tail);
        mask(&mut step.stderr_tail);
        if let Some(table) = &mut step.table {
            for cell in table.rows.iter_mut().flatten().flatten() {
                mask(cell);
            }
        }
    }
    if let Outcome::Failed { error, .. } = &mut report.outcome
        && let Some(text) = error.text_mut()
    {
        mask(text);
    }
}

/// The values of the secret arguments, as they are sent.
pub(super) fn secret_values(values: &BTreeMap<String, catalog::ArgValue>) -> Vec<String> {
    values
        .values()
        .filter(|v| v.is_secret())
        .map(catalog::ArgValue::for_shell)
        .filter(|s| !s.is_empty())
        .collect()
}

fn mask_text(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), catalog::MASK);
        }
    }
}

/// The error with every secret value in its text masked.
pub(super) fn mask_error(error: ExecError, secrets: &[String]) -> ExecError {
    match error {
        ExecError::Sql { mut message } => {
            mask_text(&mut message, secrets);
            ExecError::Sql { message }
        }
        ExecError::Invalid(mut message) => {
            mask_text(&mut message, secrets);
            ExecError::Invalid(message)
        }
        other => other,
    }
}
