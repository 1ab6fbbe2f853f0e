//! `spec check`'s reading of real answers: every answer of a real server
//! kept in `fixtures/` is decoded with the schema the spec gives for it, so
//! that a spec stricter than the servers users run (a property made
//! required that PMS 1.43.2 does not send) fails before a client is built
//! on it.
//!
//! Plex answers in XML unless asked for JSON, and its JSON mirrors the XML:
//! the root element is the one property of the document, attributes are
//! properties (their text read as the schema's type says: `0`/`1` for
//! flags), and child elements of one name are a property holding an array
//! (or, where the schema says object, the one element).

use serde_json::Value;

use crate::spec::{resolve, strings};

/// The real answers, each with the request it answers (relative to the
/// workspace root).
pub const ANSWERS: &[(&str, &str, &str)] = &[
    ("fixtures/pms-1.43.2/butler.xml", "get", "/butler"),
    ("fixtures/pms-1.43.2/activities.xml", "get", "/activities"),
    ("fixtures/prefs/prefs-butler.json", "get", "/:/prefs"),
];

/// An XML element.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
}

/// A part of an answer, as the schema reads it.
enum Part<'a> {
    Json(&'a Value),
    /// An attribute's text.
    Text(&'a str),
    Element(&'a Element),
    /// The child elements of one name.
    Elements(Vec<&'a Element>),
}

/// The problems of decoding the answer `text` (XML or JSON) with the
/// schema of the spec's 200 answer to `method path`; `None` when the spec
/// has no such operation.
pub fn decode(spec: &Value, method: &str, path: &str, text: &str) -> Option<Vec<String>> {
    let operation = format!("/paths/{}/{method}", crate::spec::escape(path));
    let response = spec.pointer(&operation)?.pointer("/responses/200");
    let schema = response
        .and_then(|r| resolve(spec, r))
        .and_then(|r| r.pointer("/content/application~1json/schema"));
    let Some(schema) = schema else {
        return Some(vec![format!(
            "the spec gives no JSON schema for the 200 answer of {} {path}",
            method.to_uppercase()
        )]);
    };
    let mut problems = Vec::new();
    if text.trim_start().starts_with('<') {
        match parse_xml(text) {
            // The document is an object whose one property is the root.
            Ok(root) => {
                let document = Element {
                    children: vec![root],
                    ..Element::default()
                };
                read(spec, schema, &Part::Element(&document), "", &mut problems);
            }
            Err(e) => problems.push(format!("not XML: {e}")),
        }
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(json) => read(spec, schema, &Part::Json(&json), "", &mut problems),
            Err(e) => problems.push(format!("not JSON: {e}")),
        }
    }
    Some(problems)
}

fn parse_xml(text: &str) -> Result<Element, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    // The document, then the elements open in it, innermost last.
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let (start, closed) = match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => (None, true),
            Event::Eof => break,
            _ => continue,
        };
        if let Some(start) = start {
            let mut element = Element {
                name: start.name().as_ref().to_string(),
                ..Element::default()
            };
            for attribute in start.attributes() {
                let attribute = attribute.map_err(|e| e.to_string())?;
                let value = attribute
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|e| e.to_string())?;
                let key = attribute.key.as_ref().to_string();
                element.attributes.push((key, value.into_owned()));
            }
            stack.push(element);
        }
        if closed {
            let done = stack.pop();
            match (done, stack.last_mut()) {
                (Some(done), Some(parent)) => parent.children.push(done),
                _ => return Err("unbalanced elements".to_string()),
            }
        }
    }
    let mut document = stack
        .pop()
        .filter(|_| stack.is_empty())
        .ok_or("unclosed elements")?;
    document
        .children
        .pop()
        .ok_or_else(|| "no root element".to_string())
}

/// Reads `part` with `schema`, adding what does not fit to `problems`,
/// each at its place (`ButlerTasks/ButlerTask/3/title`).
fn read(spec: &Value, schema: &Value, part: &Part<'_>, at: &str, problems: &mut Vec<String>) {
    let Some(schema) = resolve(spec, schema) else {
        return problems.push(format!("{at}: a `$ref` of the spec leads nowhere"));
    };
    let place = if at.is_empty() { "the answer" } else { at };
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            let fits = alternatives.iter().any(|alt| {
                let mut tried = Vec::new();
                read(spec, alt, part, at, &mut tried);
                tried.is_empty()
            });
            if !fits {
                problems.push(format!(
                    "{place}: fits none of the {} alternatives",
                    alternatives.len()
                ));
            }
        }
    }
    for alt in schema["allOf"].as_array().into_iter().flatten() {
        read(spec, alt, part, at, problems);
    }
    let kind = (schema["type"].as_str()).or(schema.get("properties").map(|_| "object"));
    match (kind, part) {
        (None, _) => {}
        (Some("object"), Part::Element(_) | Part::Json(Value::Object(_))) => {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                let here = if at.is_empty() {
                    name.clone()
                } else {
                    format!("{at}/{name}")
                };
                if let Some(found) = child(spec, part, name, property) {
                    read(spec, property, &found, &here, problems);
                }
            }
            let required = strings(schema, "required");
            for name in required
                .iter()
                .filter(|n| child(spec, part, n, &Value::Null).is_none())
            {
                problems.push(format!("{place}: required property `{name}` missing"));
            }
        }
        (Some("array"), Part::Elements(_) | Part::Json(Value::Array(_))) => {
            let items: Vec<Part<'_>> = match part {
                Part::Elements(elements) => elements.iter().map(|e| Part::Element(e)).collect(),
                Part::Json(Value::Array(items)) => items.iter().map(Part::Json).collect(),
                _ => Vec::new(),
            };
            for (i, item) in items.iter().enumerate() {
                read(spec, &schema["items"], item, &format!("{at}/{i}"), problems);
            }
        }
        (Some(kind), Part::Text(text)) => {
            let fits = match kind {
                "string" => true,
                "integer" => text.parse::<i64>().is_ok(),
                "number" => text.parse::<f64>().is_ok(),
                "boolean" => matches!(*text, "0" | "1" | "true" | "false"),
                _ => false,
            };
            let listed = schema["enum"]
                .as_array()
                .is_none_or(|values| values.iter().any(|v| v.as_str() == Some(text)));
            if !fits || !listed {
                problems.push(format!("{place}: `{text}` is not a valid {kind} here"));
            }
        }
        (Some(kind), Part::Json(value)) => {
            let fits = match (kind, value) {
                (_, Value::Null) => schema["nullable"] == true,
                ("integer", v) => v.is_i64() || v.is_u64(),
                ("number", v) => v.is_number(),
                ("boolean", v) => v.is_boolean(),
                ("string", v) => v.is_string(),
                _ => false,
            };
            let listed = schema["enum"]
                .as_array()
                .is_none_or(|values| values.contains(value));
            if !fits || !listed {
                problems.push(format!("{place}: `{value}` is not a valid {kind} here"));
            }
        }
        (Some(kind), _) => problems.push(format!("{place}: the answer has no {kind} here")),
    }
}

/// The property `name` of an object, read as its `schema` says: an
/// attribute's text, the child elements of that name (one element unless
/// the schema says array), or a JSON value.
fn child<'a>(spec: &Value, part: &Part<'a>, name: &str, schema: &Value) -> Option<Part<'a>> {
    let element = match part {
        Part::Json(value) => return value.get(name).map(Part::Json),
        Part::Element(element) => element,
        _ => return None,
    };
    if let Some((_, text)) = element.attributes.iter().find(|(k, _)| k == name) {
        return Some(Part::Text(text));
    }
    let children: Vec<&Element> = element.children.iter().filter(|c| c.name == name).collect();
    let array = resolve(spec, schema).is_some_and(|s| s["type"] == "array");
    match children.first() {
        Some(first) if !array => Some(Part::Element(first)),
        Some(_) => Some(Part::Elements(children)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(required: &[&str]) -> Value {
        json!({"paths": {"/butler": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"ButlerTasks": {"type": "object", "properties": {"ButlerTask": {
                "type": "array",
                "items": {"type": "object", "required": required, "properties": {
                    "name": {"type": "string"},
                    "interval": {"type": "integer"},
                    "enabled": {"oneOf": [{"type": "boolean"}, {"type": "integer"}]},
                    "title": {"type": "string"}
                }}
            }}}}
        }}}}}}}}})
    }

    const XML: &str = r#"<?xml version="1.0"?>
<ButlerTasks><ButlerTask name="A" interval="3" enabled="1" title="A"/><ButlerTask name="B" interval="1" enabled="0"/></ButlerTasks>"#;

    #[test]
    fn text_of_the_wrong_type_is_named() {
        let xml = XML.replace("interval=\"3\"", "interval=\"often\"");
        assert_eq!(
            decode(&spec(&[]), "get", "/butler", &xml),
            Some(vec![
                "ButlerTasks/ButlerTask/0/interval: `often` is not a valid integer here"
                    .to_string()
            ])
        );
    }
}
