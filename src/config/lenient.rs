//! Typed deserialisation that goes on after a wrong value. serde stops at the first error, so each
//! error is recorded with its path, the value it concerns is taken out of the YAML tree, and the rest
//! is deserialised again: the raw types make every key optional, so what remains still deserialises
//! and validation goes on with everything else. Taking an item out of a list renumbers the items after
//! it; [`Renumbering`] maps paths counted after removals back to the numbers the author sees.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use yaml_serde::Value;

use super::locate::{item, join};

/// A file with more wrong values than this is not read further: each one costs a pass over it.
const MAX_WRONG_VALUES: usize = 100;

/// A value of the wrong type, or an unknown key.
pub struct WrongValue {
    /// Where, as the author counts (`databases[2].chat`).
    pub path: String,
    pub message: String,
}

/// Deserialises `document` into `T`, taking out each wrong value until the rest fits. `T` is `None`
/// only when the document itself does not fit (it is not a mapping) or has too many wrong values.
pub fn deserialize<T: DeserializeOwned>(
    mut document: Value,
    renumbering: &mut Renumbering,
) -> (Option<T>, Vec<WrongValue>) {
    let mut wrong = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&document) {
            Ok(value) => return (Some(value), wrong),
            Err(error) => error,
        };
        let segments: Vec<Segment> = error.path().iter().cloned().collect();
        wrong.push(WrongValue {
            path: renumbering.original(&error.path().to_string()),
            message: plain(&error.into_inner().to_string()),
        });
        if wrong.len() == MAX_WRONG_VALUES {
            wrong.push(WrongValue {
                path: ".".to_owned(),
                message: format!(
                    "stopped after {MAX_WRONG_VALUES} wrong values or unknown keys: fix these first"
                ),
            });
            return (None, wrong);
        }
        if !take_out(&mut document, &segments, renumbering) {
            return (None, wrong);
        }
    }
}

/// serde's message in the author's terms, and without the value: "invalid type: string \"x\",
/// expected …" may quote a secret written where it does not belong, and the position already says
/// which value it is. The raw types' names mean nothing to the author either.
fn plain(message: &str) -> String {
    let mut message = message.to_owned();
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(cut) = rest.rfind(", expected ")
        {
            let kind = rest[..cut].split(['`', '"']).next().unwrap_or_default();
            message = format!("{prefix}{}{}", kind.trim_end(), &rest[cut..]);
            break;
        }
    }
    for (rust, plain) in [
        ("i64", "a whole number"),
        ("u64", "a whole number"),
        ("u32", "a whole number"),
    ] {
        if let Some(head) = message.strip_suffix(&format!("expected {rust}")) {
            message = format!("{head}expected {plain}");
        }
    }
    if let Some(cut) = message.find("expected struct Raw") {
        message.truncate(cut);
        message.push_str("expected a mapping");
    }
    message
}

fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untagged(&tagged.value),
        other => other,
    }
}

fn untagged_mut(value: &mut Value) -> &mut Value {
    match value {
        Value::Tagged(tagged) => untagged_mut(&mut tagged.value),
        other => other,
    }
}

/// Whether a mapping key is the one serde named `name` (keys may be numbers or booleans).
fn is_key(key: &Value, name: &str) -> bool {
    match key {
        Value::String(s) => s == name,
        Value::Number(n) => n.to_string() == name,
        Value::Bool(b) => b.to_string() == name,
        _ => false,
    }
}

fn child<'v>(value: &'v Value, segment: &Segment) -> Option<&'v Value> {
    match (untagged(value), segment) {
        (Value::Mapping(map), Segment::Map { key }) => {
            map.iter().find(|(k, _)| is_key(k, key)).map(|(_, v)| v)
        }
        (Value::Sequence(items), Segment::Seq { index }) => items.get(*index),
        _ => None,
    }
}

/// Takes the deepest node on `path` out of `document` (the whole node when the path reaches it).
/// False when only the root is on the path: nothing can be taken out.
fn take_out(document: &mut Value, path: &[Segment], renumbering: &mut Renumbering) -> bool {
    let mut depth = 0;
    let mut node = &*document;
    for segment in path {
        match child(node, segment) {
            Some(next) => {
                node = next;
                depth += 1;
            }
            None => break,
        }
    }
    let Some((last, parent_path)) = path[..depth].split_last() else {
        return false;
    };
    let mut parent = &mut *document;
    let mut at = ".".to_owned();
    for segment in parent_path {
        parent = untagged_mut(parent);
        let next = match (parent, segment) {
            (Value::Mapping(map), Segment::Map { key }) => {
                at = join(&at, key);
                map.iter_mut().find(|(k, _)| is_key(k, key)).map(|(_, v)| v)
            }
            (Value::Sequence(items), Segment::Seq { index }) => {
                at = item(&at, *index);
                items.get_mut(*index)
            }
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        parent = next;
    }
    match (untagged_mut(parent), last) {
        (Value::Mapping(map), Segment::Map { key }) => {
            map.retain(|k, _| !is_key(k, key));
            true
        }
        (Value::Sequence(items), Segment::Seq { index }) if *index < items.len() => {
            items.remove(*index);
            renumbering.record(&at, *index);
            true
        }
        _ => false,
    }
}

/// The items taken out of lists, by the list's path as the author counts.
#[derive(Debug, Default)]
pub struct Renumbering {
    removed: HashMap<String, Vec<usize>>,
}

impl Renumbering {
    fn record(&mut self, list: &str, index: usize) {
        let list = self.original(list);
        let index = self.index(&list, index);
        let removed = self.removed.entry(list).or_default();
        let at = removed.partition_point(|&r| r < index);
        removed.insert(at, index);
    }

    /// The author's number of what is now item `index` of `list` (a path as the author counts).
    fn index(&self, list: &str, mut index: usize) -> usize {
        for &removed in self.removed.get(list).into_iter().flatten() {
            if removed <= index {
                index += 1;
            } else {
                break;
            }
        }
        index
    }

    /// `path`, counted after removals, as the author counts.
    pub fn original(&self, path: &str) -> String {
        if self.removed.is_empty() || path == "." {
            return path.to_owned();
        }
        let mut out = ".".to_owned();
        for part in path.split('.') {
            let (field, indices) = part.split_at(part.find('[').unwrap_or(part.len()));
            let numbers: Option<Vec<usize>> = indices
                .strip_prefix('[')
                .map(|inner| inner.strip_suffix(']').unwrap_or(inner))
                .map(|inner| inner.split("][").map(|n| n.parse().ok()).collect())
                .unwrap_or(Some(Vec::new()));
            let Some(numbers) = numbers else {
                // Not our notation (a key with brackets in it): leave it as it is.
                out = join(&out, part);
                continue;
            };
            if !field.is_empty() {
                out = join(&out, field);
            }
            for number in numbers {
                out = item(&out, self.index(&out, number));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: Option<u32>,
        b: Option<String>,
        list: Option<Vec<RawItem>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawItem {
        n: Option<u32>,
    }

    #[test]
    fn every_wrong_value_is_found_and_the_rest_kept() {
        let value: Value =
            yaml_serde::from_str("a: x\nb: ok\nc: 1\nlist: [{ n: 1 }, 5, { n: y }, { n: 4 }]\n")
                .unwrap();
        let mut renumbering = Renumbering::default();
        let (doc, wrong) = deserialize::<Doc>(value, &mut renumbering);
        let doc = doc.unwrap();
        assert_eq!(doc.a, None);
        assert_eq!(doc.b.as_deref(), Some("ok"));
        let list = doc.list.unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2].n, Some(4));
        let paths: Vec<&str> = wrong.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(paths, ["a", "c", "list[1]", "list[2].n"]);
        assert_eq!(
            wrong[0].message,
            "invalid type: string, expected a whole number"
        );
        assert_eq!(
            wrong[2].message,
            "invalid type: integer, expected a mapping"
        );
        assert_eq!(renumbering.original("list[2].n"), "list[3].n");
        assert_eq!(renumbering.original("list[1]"), "list[2]");
        assert_eq!(renumbering.original("list[0]"), "list[0]");
    }

    #[test]
    fn a_file_of_nothing_but_wrong_values_is_given_up_on() {
        let text = format!("list: [{}]\n", vec!["x"; 2 * MAX_WRONG_VALUES].join(", "));
        let value: Value = yaml_serde::from_str(&text).unwrap();
        let (doc, wrong) = deserialize::<Doc>(value, &mut Renumbering::default());
        assert!(doc.is_none());
        assert_eq!(wrong.len(), MAX_WRONG_VALUES + 1);
        assert_eq!(
            wrong[MAX_WRONG_VALUES - 1].path,
            format!("list[{}]", MAX_WRONG_VALUES - 1)
        );
        assert!(wrong[MAX_WRONG_VALUES].message.starts_with("stopped after"));
    }

    #[test]
    fn values_are_not_echoed() {
        assert_eq!(
            plain("invalid type: integer `1234567890`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            plain("invalid type: string \"a, expected b\", expected u32"),
            "invalid type: string, expected a whole number"
        );
    }
}
