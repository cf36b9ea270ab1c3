//! Just enough PromQL reading to check shipped expressions against what the exporter really exposes: the
//! metric names an expression selects, whether each selector carries the database placeholder, and the
//! constants a rule compares against.

/// One metric selector of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    /// Whether `{{selector}}` follows it or `{{matchers}}` is among its matchers.
    pub scoped: bool,
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
];
/// Aggregations may put `by (...)` between their name and their parenthesis.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];
/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric selectors of `expr`, in order. The service's placeholders (`{{selector}}`, `{{matchers}}`,
/// `{{range}}`, `{{step}}`) read as empty; strings, label matchers, label lists, durations, numbers,
/// keywords and function names are not metrics.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' && chars.get(i + 1) == Some(&'{') {
            i = skip_placeholder(&chars, i);
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '{' {
            i = skip_block(&chars, i, '{', '}');
        } else if c == '[' {
            i = skip_block(&chars, i, '[', ']');
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = skip_spaces(&chars, i);
            let lower = word.to_ascii_lowercase();
            let function = chars.get(next) == Some(&'(');
            if LABEL_LISTS.contains(&lower.as_str()) {
                if function {
                    i = skip_block(&chars, next, '(', ')');
                }
            } else if !function
                && !KEYWORDS.contains(&lower.as_str())
                && !AGGREGATIONS.contains(&lower.as_str())
            {
                found.push(Selector {
                    metric: word,
                    scoped: scoped(&chars, i),
                });
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The numbers `expr` compares against (`> 600`, `> 7 * 86400`, `== 0`), products evaluated.
pub fn comparison_constants(expr: &str) -> Vec<f64> {
    let comparison = regex::Regex::new(
        r"(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?([0-9][0-9.eE+]*(?:\s*\*\s*[0-9][0-9.eE+]*)*)",
    )
    .unwrap();
    comparison
        .captures_iter(expr)
        .map(|c| {
            c[1].split('*')
                .map(|n| n.trim().parse::<f64>().unwrap())
                .product()
        })
        .collect()
}

/// Whether the selector ending before `i` is limited to the database by a placeholder.
fn scoped(chars: &[char], i: usize) -> bool {
    let rest: String = chars[i..].iter().collect();
    if rest.starts_with("{{selector}}") {
        return true;
    }
    if rest.starts_with('{') {
        let end = skip_block(chars, i, '{', '}');
        let block: String = chars[i..end].iter().collect();
        return block.contains("{{matchers}}");
    }
    false
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

fn skip_placeholder(chars: &[char], i: usize) -> usize {
    let rest: String = chars[i..].iter().collect();
    let end = rest.find("}}").expect("a closed placeholder");
    i + rest[..end].chars().count() + 2
}

fn skip_string(chars: &[char], i: usize) -> usize {
    let quote = chars[i];
    let mut j = i + 1;
    while j < chars.len() && chars[j] != quote {
        if chars[j] == '\\' && quote != '`' {
            j += 1;
        }
        j += 1;
    }
    j + 1
}

/// The index after the bracket that closes the one at `i`, past strings and placeholders inside.
fn skip_block(chars: &[char], i: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j < chars.len() {
        let c = chars[j];
        if c == '{' && chars.get(j + 1) == Some(&'{') {
            j = skip_placeholder(chars, j);
            continue;
        }
        if c == '"' || c == '\'' || c == '`' {
            j = skip_string(chars, j);
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return j + 1;
            }
        }
        j += 1;
    }
    panic!("unclosed {open} in {}", chars.iter().collect::<String>())
}
