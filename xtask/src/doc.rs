//! An OpenAPI document as an ordered tree.
//!
//! `serde_json::Value` sorts object keys unless its `preserve_order` feature
//! is on, and turning that feature on here would change how the shared
//! generation code reads the spec. So the tools that read, merge and write
//! specs use this small tree, whose maps keep their order; it converts to a
//! `serde_json::Value` for the generator and for `drift`.

use std::fmt;

/// A node of a YAML or JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Node>),
    Map(Map),
}

/// A map whose entries keep their order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<(String, Node)>,
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`: in place when the key exists, else at the end.
    pub fn insert(&mut self, key: impl Into<String>, value: Node) {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Gets the map at `key`, inserting an empty one when the key is absent.
    /// `None` when the key holds something other than a map.
    pub fn map_entry(&mut self, key: &str) -> Option<&mut Map> {
        if !self.contains_key(key) {
            self.insert(key, Node::Map(Map::new()));
        }
        self.get_mut(key).and_then(Node::as_map_mut)
    }
}

impl FromIterator<(String, Node)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Node)>>(iter: I) -> Self {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl Node {
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Node::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Node::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match self {
            Node::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value at `key` when this is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// The string at `key` when this is a map.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// The node at a JSON pointer (`/components/schemas/X`; a leading `#`
    /// is allowed, as in `$ref` values).
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for segment in pointer_segments(pointer)? {
            node = match node {
                Node::Map(map) => map.get(&segment)?,
                Node::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The node at a JSON pointer, mutably.
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Node> {
        let mut node = self;
        for segment in pointer_segments(pointer)? {
            node = match node {
                Node::Map(map) => map.get_mut(&segment)?,
                Node::Seq(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Calls `visit` on this node and every node below it, each with its
    /// JSON pointer relative to this one (`""` for this one).
    pub fn visit(&self, visit: &mut impl FnMut(&str, &Node)) {
        self.visit_at(String::new(), visit);
    }

    fn visit_at(&self, here: String, visit: &mut impl FnMut(&str, &Node)) {
        visit(&here, self);
        match self {
            Node::Map(map) => {
                for (key, value) in map.iter() {
                    value.visit_at(format!("{here}/{}", escape_pointer_segment(key)), visit);
                }
            }
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    item.visit_at(format!("{here}/{i}"), visit);
                }
            }
            _ => {}
        }
    }

    /// The same document as a `serde_json::Value` (whose maps may sort
    /// their keys).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Number(n) => serde_json::Value::Number(n.clone()),
            Node::String(s) => serde_json::Value::String(s.clone()),
            Node::Seq(items) => serde_json::Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn string(s: impl Into<String>) -> Node {
        Node::String(s.into())
    }
}

/// Why a text could not be read as a document.
#[derive(Debug)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads a YAML (or JSON, which is YAML) text.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
        .map_err(|e| ParseError(format!("not valid YAML or JSON: {e}")))?;
    from_yaml(value)
}

fn from_yaml(value: serde_yaml_ng::Value) -> Result<Node, ParseError> {
    use serde_yaml_ng::Value;
    Ok(match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(b),
        Value::Number(n) => Node::Number(number(&n)?),
        Value::String(s) => Node::String(s),
        Value::Sequence(items) => {
            Node::Seq(items.into_iter().map(from_yaml).collect::<Result<_, _>>()?)
        }
        Value::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Value::String(s) => s,
                    // `200:` unquoted is a number in YAML; OpenAPI means the
                    // string.
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(ParseError(format!(
                            "a map key is not a string or number: {other:?}"
                        )));
                    }
                };
                map.insert(key, from_yaml(value)?);
            }
            Node::Map(map)
        }
        Value::Tagged(tagged) => {
            return Err(ParseError(format!(
                "YAML tags are not supported (found `{}`)",
                tagged.tag
            )));
        }
    })
}

fn number(n: &serde_yaml_ng::Number) -> Result<serde_json::Number, ParseError> {
    if let Some(i) = n.as_i64() {
        Ok(i.into())
    } else if let Some(u) = n.as_u64() {
        Ok(u.into())
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| ParseError(format!("the number {n} has no JSON form")))
    }
}

/// The unescaped segments of a JSON pointer (`#/paths/~1butler` ->
/// `["paths", "/butler"]`); `None` when it is not one.
pub fn pointer_segments(pointer: &str) -> Option<Vec<String>> {
    let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let segments = pointer.strip_prefix('/')?.split('/');
    Some(
        segments
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Escapes one segment of a JSON pointer (`/butler` -> `~1butler`).
pub fn escape_pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The HTTP methods an OpenAPI path item can hold, in the specification's
/// order.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An operation of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    pub path: String,
    pub method: String,
    pub id: Option<String>,
}

impl Operation {
    /// `GET /butler (getButlerTasks)`, or without the id when it has none.
    pub fn label(&self) -> String {
        let mut label = format!("{} {}", self.method.to_uppercase(), self.path);
        if let Some(id) = &self.id {
            label.push_str(&format!(" ({id})"));
        }
        label
    }
}

/// The operations of a document, in document order.
pub fn operations(spec: &Node) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Node::as_map) else {
        return out;
    };
    for (path, item) in paths.iter() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push(Operation {
                    path: path.to_string(),
                    method: method.to_string(),
                    id: operation.get_str("operationId").map(str::to_string),
                });
            }
        }
    }
    out
}

/// `/paths/~1butler/get`: where an operation is in the document.
pub fn operation_pointer(path: &str, method: &str) -> String {
    format!("/paths/{}/{method}", escape_pointer_segment(path))
}

/// Follows `$ref`s inside `spec` (a few at most, so a loop ends) to the
/// node they name.
pub fn resolve<'n>(spec: &'n Node, node: &'n Node) -> Option<&'n Node> {
    let mut node = node;
    for _ in 0..16 {
        match node.get_str("$ref") {
            Some(target) => node = spec.pointer(target)?,
            None => return Some(node),
        }
    }
    None
}

/// A path template with its parameter names blanked (`/butler/{task}` ->
/// `/butler/{}`): two templates that differ only in names are one route.
pub fn route_key(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_braces = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_braces = true;
                out.push('{');
            }
            '}' => {
                in_braces = false;
                out.push('}');
            }
            _ if in_braces => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_the_order_of_the_text() {
        let node = parse("b: 1\na: 2\nc: 3\n").expect("parses");
        let keys: Vec<_> = node.as_map().expect("a map").keys().collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }

    #[test]
    fn unquoted_status_keys_read_as_strings() {
        let node = parse("200: ok\n").expect("parses");
        assert_eq!(node.get_str("200"), Some("ok"));
    }

    #[test]
    fn pointers_unescape_slashes() {
        let node = parse("paths:\n  /butler/{task}:\n    x: 1\n").expect("parses");
        assert!(node.pointer("#/paths/~1butler~1{task}/x").is_some());
    }

    #[test]
    fn route_keys_ignore_parameter_names() {
        assert_eq!(
            route_key("/butler/{butlerTask}"),
            route_key("/butler/{task}")
        );
        assert_ne!(route_key("/butler"), route_key("/butler/{task}"));
    }
}
