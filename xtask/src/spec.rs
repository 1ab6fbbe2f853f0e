//! The spec as a JSON value, and the few questions every command asks of
//! it: its operations, where a `$ref` leads, what a JSON pointer names.

use serde_json::Value;

/// The HTTP methods an OpenAPI path item can hold, in the specification's
/// order.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Reads a YAML (or JSON) text, as the raw client's build reads it.
pub fn parse(text: &str) -> Result<Value, String> {
    crate::codegen::parse_spec(text).map_err(|e| e.problem)
}

/// An operation of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    pub path: String,
    /// Lower case, as the spec writes it.
    pub method: String,
    pub id: Option<String>,
}

impl Operation {
    /// `GET /butler (getButlerTasks)`.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("{} {} ({id})", self.method.to_uppercase(), self.path),
            None => format!("{} {}", self.method.to_uppercase(), self.path),
        }
    }

    /// The JSON pointer of the operation in its document.
    pub fn pointer(&self) -> String {
        format!("/paths/{}/{}", escape(&self.path), self.method)
    }
}

/// The operations of a spec, path by path.
pub fn operations(spec: &Value) -> Vec<Operation> {
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push(Operation {
                    path: path.clone(),
                    method: method.to_string(),
                    id: str_of(operation, "operationId").map(str::to_string),
                });
            }
        }
    }
    out
}

/// A string field of an object.
pub fn str_of<'v>(node: &'v Value, key: &str) -> Option<&'v str> {
    node.get(key).and_then(Value::as_str)
}

/// The strings of an array field (`required`, `enum`).
pub fn strings(node: &Value, key: &str) -> Vec<String> {
    let items = node
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    items
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// What a node stands for: the target of its local `$ref` (followed
/// through chains), or the node itself. `None` for a `$ref` that leads
/// nowhere or in a loop.
pub fn resolve<'v>(spec: &'v Value, node: &'v Value) -> Option<&'v Value> {
    let mut here = node;
    for _ in 0..32 {
        match str_of(here, "$ref") {
            Some(target) => here = spec.pointer(target.strip_prefix('#')?)?,
            None => return Some(here),
        }
    }
    None
}

/// Escapes one segment of a JSON pointer (`/butler` -> `~1butler`).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The unescaped segments of a JSON pointer (`/paths/~1butler` ->
/// `["paths", "/butler"]`).
pub fn segments(pointer: &str) -> Vec<String> {
    let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// A path with its parameters' names blanked (`/butler/{}`): two paths
/// that differ only there are the same route.
pub fn route(path: &str) -> String {
    let mut out = String::new();
    let mut in_braces = false;
    for c in path.chars() {
        match c {
            '{' => in_braces = true,
            '}' => in_braces = false,
            _ if in_braces => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Calls `f` on every node below `node` (itself included) with its JSON
/// pointer, parents before children.
pub fn visit(node: &Value, pointer: &str, f: &mut dyn FnMut(&str, &Value)) {
    f(pointer, node);
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                visit(value, &format!("{pointer}/{}", escape(key)), f);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                visit(value, &format!("{pointer}/{i}"), f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_and_unescape_the_same_segments() {
        let pointer = format!("/paths/{}/get", escape("/:/prefs~x"));
        assert_eq!(segments(&pointer), ["paths", "/:/prefs~x", "get"]);
    }

    #[test]
    fn a_ref_loop_resolves_to_nothing() {
        let spec = serde_json::json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}});
        assert!(resolve(&spec, &spec["a"]).is_none());
    }
}
