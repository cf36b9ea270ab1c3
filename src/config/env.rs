//! `${VAR}` and `${VAR:-default}` substitution in config strings, so secrets stay out of the file.
//! `$$` writes a literal `$`. Substitution happens per scalar after YAML parsing, so a value containing
//! quotes, `#` or newlines cannot change the structure of the document.

/// Replaces every placeholder in `input`, looking variables up with `lookup`. Returns every missing
/// variable at once, by name (never by value).
pub fn substitute(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(input.len());
    let mut problems = Vec::new();
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(body) = tail.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                problems.push("unterminated \"${\" (write \"$$\" for a literal \"$\")".to_owned());
                return Err(problems);
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if !is_variable_name(name) {
                problems.push(format!(
                    "\"${{{inner}}}\" is not a valid variable reference"
                ));
            } else {
                match (lookup(name), default) {
                    (Some(value), _) => out.push_str(&value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => problems.push(format!(
                        "environment variable {name} is not set (use ${{{name}:-default}} for a default)"
                    )),
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr\"et #1".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_values_and_defaults() {
        assert_eq!(
            substitute("a ${TOKEN} b", &env).as_deref(),
            Ok("a s3cr\"et #1 b")
        );
        assert_eq!(substitute("${MISSING:-x:y}", &env).as_deref(), Ok("x:y"));
        assert_eq!(substitute("${EMPTY:-d}", &env).as_deref(), Ok(""));
        assert_eq!(
            substitute("cost $5 $$HOME", &env).as_deref(),
            Ok("cost $5 $HOME")
        );
    }

    #[test]
    fn reports_every_missing_variable_by_name() {
        let problems = substitute("${A} and ${B}", &env).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("A is not set"));
        assert!(problems[1].contains("B is not set"));
        assert!(substitute("${", &env).is_err());
        assert!(substitute("${1X}", &env).is_err());
    }
}
