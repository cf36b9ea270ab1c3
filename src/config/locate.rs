//! Where each key and value of a YAML document sits, so that problems found after deserialisation
//! (validation, env substitution) can still be reported as `file:line:column`. yaml_serde reports the
//! position of the first syntax or type error only; this index covers everything else.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Maps a path in serde_path_to_error's notation (`databases[0].dsn`, `.` for the root) to the position
/// of its value, and `path#key` to the position of the key itself.
#[derive(Debug, Default)]
pub struct Positions {
    map: HashMap<String, Position>,
}

impl Positions {
    /// Indexes `text`; a syntax error comes back with its position, and so do a key given twice
    /// in one mapping and a second document (which yaml_serde refuses without a position).
    pub fn index(text: &str) -> Result<Self, (Position, String)> {
        let mut builder = Builder::default();
        Parser::new_from_str(text)
            .load(&mut builder, true)
            .map_err(|e| (to_position(*e.marker()), e.info().to_owned()))?;
        match builder.refused {
            Some(refused) => Err(refused),
            None => Ok(Self { map: builder.map }),
        }
    }

    /// The position of `path`, or of its closest indexed ancestor.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(position) = self.map.get(path) {
                return Some(*position);
            }
            if path == "." {
                return None;
            }
            path = match path.rfind(['.', '[']) {
                Some(cut) if cut > 0 => &path[..cut],
                _ => ".",
            };
        }
    }

    /// The position of the key whose value is at `path` (for "unknown field" errors).
    pub fn find_key(&self, path: &str) -> Option<Position> {
        self.map.get(&format!("{path}#key")).copied()
    }
}

fn to_position(marker: Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

/// The path of `field` in the mapping at `parent`.
pub fn join(parent: &str, field: &str) -> String {
    if parent == "." {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// The path of item `index` of the list at `parent`.
pub fn item(parent: &str, index: usize) -> String {
    format!("{}[{index}]", if parent == "." { "" } else { parent })
}

enum Frame {
    Mapping {
        path: String,
        pending_key: Option<String>,
    },
    Sequence {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    map: HashMap<String, Position>,
    stack: Vec<Frame>,
    started: bool,
    /// The first thing yaml_serde will refuse: a duplicate key, a second document.
    refused: Option<(Position, String)>,
}

impl Builder {
    /// The path of the node that starts now, or `None` when the node is a mapping key.
    fn next_path(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(".".to_owned()),
            Some(Frame::Mapping { path, pending_key }) => {
                pending_key.take().map(|key| join(path, &key))
            }
            Some(Frame::Sequence { path, next }) => {
                let path = item(path, *next);
                *next += 1;
                Some(path)
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let position = to_position(mark);
        match event {
            Event::Scalar(value, ..) => match self.next_path() {
                Some(path) => {
                    self.map.entry(path).or_insert(position);
                }
                None => {
                    if let Some(Frame::Mapping { path, pending_key }) = self.stack.last_mut() {
                        // A block mapping's start is marked after its first key: a mapping is where
                        // its first key is (a missing key is reported there).
                        if let Some(start) = self.map.get_mut(path.as_str()) {
                            *start = (*start).min(position);
                        }
                        let key = join(path, &value);
                        let indexed = !path.starts_with('?');
                        if self.map.contains_key(&format!("{key}#key")) && indexed {
                            self.refused
                                .get_or_insert((position, format!("{key}: is given twice")));
                        }
                        self.map.entry(format!("{key}#key")).or_insert(position);
                        *pending_key = Some(value);
                    }
                }
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A complex mapping key gets no path; its contents are not indexed.
                let path = self.next_path().unwrap_or_else(|| "?".to_owned());
                self.map.entry(path.clone()).or_insert(position);
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Mapping {
                            path,
                            pending_key: None,
                        }
                    } else {
                        Frame::Sequence { path, next: 0 }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                if let Some(path) = self.next_path() {
                    self.map.entry(path).or_insert(position);
                }
            }
            Event::DocumentStart => {
                // Only the first document is indexed: a second one is refused.
                if self.started {
                    self.refused.get_or_insert((
                        position,
                        "a second YAML document: the file may hold only one".to_owned(),
                    ));
                    self.stack.push(Frame::Sequence {
                        path: "?".to_owned(),
                        next: 0,
                    });
                }
                self.started = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
http:
  listen: 127.0.0.1:9750
databases:
  - name: main
    match: { cluster: main }
    admins: [1, \"@alice\"]
";

    #[test]
    fn finds_values_keys_and_nested_items() {
        let positions = Positions::index(DOC).unwrap();
        let at = |line, column| Some(Position { line, column });
        assert_eq!(positions.find("http.listen"), at(2, 11));
        assert_eq!(positions.find_key("http.listen"), at(2, 3));
        assert_eq!(positions.find("databases[0].name"), at(4, 11));
        assert_eq!(positions.find("databases[0].match.cluster"), at(5, 23));
        assert_eq!(positions.find("databases[0].admins[1]"), at(6, 17));
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(positions.find("databases[0].admins[7]"), at(6, 13));
        assert_eq!(positions.find("nothing.here"), positions.find("."));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let (position, _) = Positions::index("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(position.line, 2);
        let refused = |text| Positions::index(text).unwrap_err();
        assert_eq!(
            refused("a:\n  b: 1\n  c: 2\n  b: 3\n"),
            (
                Position { line: 4, column: 3 },
                "a.b: is given twice".to_owned()
            )
        );
        assert_eq!(refused("a: 1\n---\nb: 2\n").0.line, 2);
    }
}
