//! Where each key of one YAML file is: key path → line and column.
//!
//! serde_yaml reports positions for syntax errors only, so the loader reads each file a second time
//! with yaml-rust2's event parser, which marks every event. Paths are written the way errors print
//! them: `services.accounts.databases.main.version`, `…extensions[1]`.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One entry of the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spot {
    /// 1-based line of the key (or of the item, in a sequence).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The value's source text when it is a scalar: `10.10` stays `10.10`, where the parsed float
    /// would print `10.1`.
    pub text: Option<String>,
}

/// Key path → position, for one file.
#[derive(Clone, Debug, Default)]
pub(crate) struct LineIndex {
    spots: HashMap<String, Spot>,
}

impl LineIndex {
    /// Indexes `source`. A document yaml-rust2 cannot read yields the part read before the problem:
    /// the syntax error itself is reported from serde_yaml, which has the final word on syntax.
    pub fn build(source: &str) -> Self {
        let mut receiver = Receiver::default();
        // Only the first document counts, as for serde_yaml.
        let _partial = Parser::new_from_str(source).load(&mut receiver, false);
        Self { spots: receiver.spots }
    }

    /// The position of `path`, if the file has it.
    pub fn get(&self, path: &str) -> Option<&Spot> {
        self.spots.get(path)
    }
}

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → `` (the document).
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// `prefix.key`, or `key` at the top.
pub(crate) fn child(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

/// `prefix[index]`
pub(crate) fn item(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

enum Frame {
    /// `key` is `None` while the next scalar is a key, `Some` while its value is being read.
    Map {
        path: String,
        key: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Receiver {
    stack: Vec<Frame>,
    spots: HashMap<String, Spot>,
}

impl Receiver {
    /// Where the node starting now goes: `Some(path)` for a value, `None` for a mapping key.
    fn place(&mut self, mark: Marker) -> Option<String> {
        let spot = |text| Spot { line: mark.line(), column: mark.col() + 1, text };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map { path, key: Some(key) }) => Some(child(path, key)),
            Some(Frame::Seq { path, next }) => {
                let path = item(path, *next);
                self.spots.entry(path.clone()).or_insert_with(|| spot(None));
                Some(path)
            }
        }
    }

    /// The node just read is complete: the parent moves on to its next key or item.
    fn done(&mut self, key_text: Option<String>) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => {
                *key = match key.take() {
                    // The node was a key: its value comes next. A complex key gets a placeholder.
                    None => Some(key_text.unwrap_or_else(|| "?".to_owned())),
                    Some(_) => None,
                };
            }
            Some(Frame::Seq { next, .. }) => *next += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for Receiver {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                match self.place(mark) {
                    None => {
                        // A key: record where it is, under the path it opens.
                        if let Some(Frame::Map { path, .. }) = self.stack.last() {
                            self.spots.insert(
                                child(path, &text),
                                Spot { line: mark.line(), column: mark.col() + 1, text: None },
                            );
                        }
                        self.done(Some(text));
                        return;
                    }
                    Some(path) => {
                        let spot = self.spots.entry(path).or_insert_with(|| Spot {
                            line: mark.line(),
                            column: mark.col() + 1,
                            text: None,
                        });
                        spot.text = Some(text);
                    }
                }
                self.done(None);
            }
            Event::Alias(_) => {
                let is_key = self.place(mark).is_none();
                self.done(is_key.then(|| "*alias".to_owned()));
            }
            Event::MappingStart(..) => {
                let path = self.place(mark).unwrap_or_else(|| "?".to_owned());
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.place(mark).unwrap_or_else(|| "?".to_owned());
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.done(None);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(index: &LineIndex, path: &str) -> (usize, usize) {
        let spot = index.get(path).unwrap_or_else(|| panic!("no spot for {path}"));
        (spot.line, spot.column)
    }

    #[test]
    fn block_flow_and_sequences() {
        let index = LineIndex::build(
            "# comment\n\
             services:\n\
             \x20 accounts:\n\
             \x20   databases:\n\
             \x20     main: { engine: postgres, version: 10.10 }\n\
             \x20     other:\n\
             \x20       extensions:\n\
             \x20         - a\n\
             \x20         - b\n\
             \x20       settings: { x: [1, 2] }\n\
             seed: 4\n",
        );
        assert_eq!(at(&index, "services"), (2, 1));
        assert_eq!(at(&index, "services.accounts"), (3, 3));
        assert_eq!(at(&index, "services.accounts.databases.main"), (5, 7));
        assert_eq!(at(&index, "services.accounts.databases.main.engine"), (5, 15));
        assert_eq!(at(&index, "services.accounts.databases.main.version"), (5, 33));
        assert_eq!(
            index.get("services.accounts.databases.main.version").and_then(|s| s.text.as_deref()),
            Some("10.10")
        );
        assert_eq!(at(&index, "services.accounts.databases.other.extensions[1]"), (9, 13));
        assert_eq!(at(&index, "services.accounts.databases.other.settings.x[1]"), (10, 28));
        assert_eq!(at(&index, "seed"), (11, 1));
    }

    #[test]
    fn parents() {
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a.b"), Some("a"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }
}
