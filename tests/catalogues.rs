//! The message catalogues are complete and the code renders only through them: every key in both
//! languages with the same placeholders, every key the code names present, and no prose left as a
//! string literal in the modules that render what people read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_syntax::ast;
use postgram::i18n::{self, Lang};

/// Modules whose every string literal a person could read must come from the catalogues. Literals in
/// `tracing` macros, `expect`/`unreachable!`/`panic!` messages, the dispatcher's log texts
/// (`with_custom_text`), audit action names, comments and tests are not for people.
const RENDERING: &[&str] = &[
    "src/i18n",
    "src/bot",
    "src/catalog/args.rs",
    "src/delivery/render.rs",
    "src/members/changes.rs",
    "src/members/usernames.rs",
    "src/reload/changes.rs",
    "src/charts/service.rs",
    "src/charts/fetch.rs",
    "src/charts/status.rs",
    "src/charts/render.rs",
    "src/charts/legend.rs",
    "src/charts/limit.rs",
];

/// The placeholders (`$name`) of every message of a language, by key.
fn messages(lang: Lang) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = BTreeMap::new();
    for (file, source) in i18n::sources(lang) {
        let resource = fluent_syntax::parser::parse(source)
            .unwrap_or_else(|(_, errors)| panic!("locales/{lang}/{file}.ftl: {errors:?}"));
        for entry in resource.body {
            if let ast::Entry::Message(message) = entry {
                let mut names = BTreeSet::new();
                if let Some(pattern) = &message.value {
                    placeholders(pattern, &mut names);
                }
                for attribute in &message.attributes {
                    placeholders(&attribute.value, &mut names);
                }
                let key = message.id.name.to_owned();
                assert!(
                    all.insert(key.clone(), names).is_none(),
                    "locales/{lang}/{file}.ftl repeats {key}"
                );
            }
        }
    }
    all
}

fn placeholders(pattern: &ast::Pattern<&str>, names: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_placeholders(expression, names);
        }
    }
}

fn expression_placeholders(expression: &ast::Expression<&str>, names: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_placeholders(selector, names);
            for variant in variants {
                placeholders(&variant.value, names);
            }
        }
        ast::Expression::Inline(inline) => inline_placeholders(inline, names),
    }
}

fn inline_placeholders(inline: &ast::InlineExpression<&str>, names: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            names.insert(id.name.to_owned());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for argument in &arguments.positional {
                inline_placeholders(argument, names);
            }
        }
        ast::InlineExpression::Placeable { expression } => {
            expression_placeholders(expression, names);
        }
        _ => {}
    }
}

#[test]
fn every_key_exists_in_both_languages_with_the_same_placeholders() {
    let english = messages(Lang::En);
    for lang in Lang::ALL {
        let other = messages(lang);
        let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        assert!(extra.is_empty(), "{lang} has keys English lacks: {extra:?}");
        for (key, names) in &english {
            assert_eq!(
                &other[key], names,
                "{key}: {lang} has other placeholders than English"
            );
        }
    }
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_key_the_code_names_is_in_the_catalogue() {
    let english = messages(Lang::En);
    let mut files = Vec::new();
    sources(&root().join("src"), &mut files);
    let named = regex::Regex::new(r#"tr!\(\s*[^,;]+,\s*"([a-z0-9-]+)""#).expect("regex");
    let mut unknown = Vec::new();
    let mut count = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        for key in named.captures_iter(&code) {
            count += 1;
            if !english.contains_key(&key[1]) {
                let file = file.strip_prefix(root()).unwrap_or(&file).display();
                unknown.push(format!("{file}: {}", &key[1]));
            }
        }
    }
    assert!(
        count > 0,
        "the scan found no tr! at all: the pattern is stale"
    );
    assert!(
        unknown.is_empty(),
        "keys missing from the catalogue: {unknown:#?}"
    );
}

/// A string literal and the line it starts on.
struct Literal {
    line: usize,
    text: String,
}

/// The string literals of Rust source that a person could read: outside comments, `#[cfg(test)]`
/// modules, attributes and the macros and calls whose messages are for logs or developers.
fn readable_literals(source: &str) -> Vec<Literal> {
    const NOT_FOR_PEOPLE: &[&str] = &[
        "trace!",
        "debug!",
        "info!",
        "warn!",
        "error!",
        "event!",
        "span!",
        "info_span!",
        "debug_span!",
        "trace_span!",
        "error_span!",
        "instrument",
        "with_custom_text",
        "expect",
        "unreachable!",
        "panic!",
        "assert!",
        "debug_assert!",
        "tr!",
        "query",
        "query_as",
        "query_scalar",
        // Audit action names ("expire silence") are identifiers that `/audit?action=` filters by.
        "audit",
    ];
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Open brackets, each with whether its contents are for people.
    let mut stack: Vec<bool> = Vec::new();
    let mut last_word = String::new();
    while i < bytes.len() {
        let c = bytes[i];
        if source[i..].starts_with("#[cfg(test)]") {
            break; // test modules come last in this code base's files
        }
        if source[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if source[i..].starts_with("/*") {
            let end = source[i..].find("*/").map_or(bytes.len(), |e| i + e + 2);
            line += source[i..end].matches('\n').count();
            i = end;
            continue;
        }
        let raw = source[i..].starts_with("r\"") || source[i..].starts_with("r#");
        if c == b'"' || (raw && (last_word.is_empty() || !is_word(bytes[i - 1]))) {
            let start_line = line;
            let (text, end) = if raw {
                let hashes = source[i + 1..].bytes().take_while(|b| *b == b'#').count();
                let open = i + 1 + hashes + 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = source[open..]
                    .find(&close)
                    .map_or(bytes.len(), |e| open + e);
                (source[open..end].to_owned(), end + close.len())
            } else {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                (source[i + 1..j.min(bytes.len())].to_owned(), j + 1)
            };
            line += source[i..end.min(bytes.len())].matches('\n').count();
            if stack.iter().all(|for_people| *for_people) {
                found.push(Literal {
                    line: start_line,
                    text,
                });
            }
            i = end;
            last_word.clear();
            continue;
        }
        if c == b'\'' {
            // A char literal ('x', '\n') or a lifetime ('a): skip the literal only.
            let rest = &source[i..];
            if let Some(len) = rest[1..].find('\'').filter(|len| *len <= 4)
                && !rest[1..=len].contains(char::is_whitespace)
            {
                i += len + 2;
                continue;
            }
        }
        match c {
            b'\n' => line += 1,
            b'(' | b'[' | b'{' => {
                // The last segment of a path: `tracing::warn!`, `LoggingErrorHandler::with_custom_text`.
                let word = last_word.rsplit("::").next().unwrap_or_default();
                let attribute = c == b'[' && i > 0 && bytes[i - 1] == b'#';
                let for_people = !(attribute || NOT_FOR_PEOPLE.contains(&word));
                stack.push(for_people);
                last_word.clear();
            }
            b')' | b']' | b'}' => {
                stack.pop();
                last_word.clear();
            }
            b'!' => last_word.push('!'),
            c if is_word(c) || c == b':' => {
                if !last_word.ends_with(|l: char| l.is_alphanumeric() || l == '_' || l == ':') {
                    last_word.clear();
                }
                last_word.push(char::from(c));
            }
            c if c.is_ascii_whitespace() => {}
            _ => last_word.clear(),
        }
        i += 1;
    }
    found.retain(|literal| is_prose(&literal.text));
    found
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Prose: after dropping `{placeholders}`, HTML tags and entities, a capitalised word or two words
/// with a space between. Keys, identifiers, paths and format glue are not.
fn is_prose(text: &str) -> bool {
    let stripped = regex::Regex::new(r"\{[^{}]*\}|<[^<>]*>|&[a-z]+;|\\[nt]")
        .expect("regex")
        .replace_all(text, "\u{1}");
    let words: Vec<&str> = stripped
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2)
        .collect();
    let capitalised = words.iter().any(|w| {
        let mut chars = w.chars();
        chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_lowercase)
    });
    // A word beside a space: "user {id}", "{count} more".
    let sentence = regex::Regex::new(r"\p{L}{2,}\s|\s\p{L}{2,}")
        .expect("regex")
        .is_match(&stripped);
    !words.is_empty() && (capitalised || sentence)
}

#[test]
fn the_scan_recognises_prose() {
    assert!(is_prose("Not allowed: your role does not permit this."));
    assert!(is_prose("Acknowledge"));
    assert!(is_prose("user {id}"));
    assert!(is_prose("Подтвердить"));
    assert!(!is_prose("ack"));
    assert!(!is_prose("<b>{name}</b> · {count}"));
    assert!(!is_prose("digest-title"));
    assert!(!is_prose("%Y-%m-%d %H:%M"));
    let source = r##"
        tracing::warn!(error = %e, "could not send the message");
        let x = tr!(lang, "digest-title", count = n);
        let y = format!("{x} · {}", "Firing now"); // "In a comment"
        let z = foo.expect("the config was checked");
        #[cfg(test)]
        mod tests { const T: &str = "Test prose"; }
    "##;
    let found: Vec<_> = readable_literals(source)
        .into_iter()
        .map(|l| (l.line, l.text))
        .collect();
    assert_eq!(found, vec![(4, "Firing now".to_owned())]);
}

#[test]
fn rendering_modules_hold_no_prose() {
    let mut files = Vec::new();
    for module in RENDERING {
        let path = root().join(module);
        if path.is_dir() {
            sources(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    let mut prose = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        for literal in readable_literals(&text) {
            prose.push(format!(
                "{}:{}: {:?}",
                file.strip_prefix(root()).unwrap_or(&file).display(),
                literal.line,
                literal.text
            ));
        }
    }
    assert!(
        prose.is_empty(),
        "texts for people belong in locales/*/*.ftl, through tr!:\n{}",
        prose.join("\n")
    );
}
