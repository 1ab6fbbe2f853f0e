//! An upstream spec (Plex's official one: OpenAPI 3.1, a file of several
//! megabytes or a tree of files) seen in the operations we hold, for
//! `spec diff --new UPSTREAM`.
//!
//! The result is our spec with each operation we hold replaced by
//! upstream's version of it (matched by method and route, so a renamed
//! path parameter still matches), in 3.0 form and self-contained, and with
//! upstream's `info.version`. `spec diff` then judges it like any change:
//! what taking upstream's version of each operation would change. Nothing
//! is written; a maintainer carries over what is wanted by hand.
//!
//! To get there: `$ref`s into other files (relative to the file that holds
//! them) are inlined; so are upstream's own `$ref`s inside the operations
//! taken, since its components are not ours; the JSON Schema 2020-12 forms
//! of 3.1 become their 3.0 forms; the `X-Plex-*` identity headers and the
//! `accepts` header are left out, as in our spec (the facade sends them on
//! every request).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::Failure;
use crate::spec::{self, route, str_of};

/// Keywords of JSON Schema 2020-12 with no 3.0 form: dropped.
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$defs",
    "$comment",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "prefixItems",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "patternProperties",
];

/// Our spec with upstream's version of each operation we hold, and notes
/// on what was left out or not found.
pub fn ours_from(file: &Path, ours: &Value) -> Result<(Value, Vec<String>), Failure> {
    let mut files = Files::default();
    let mut upstream = files.load(file)?.clone();
    files.inline(&mut upstream, file, false, &mut Vec::new())?;

    let mut out = ours.clone();
    let mut notes = Vec::new();
    let mut dropped = BTreeSet::new();
    let (upstream_ops, our_ops) = (spec::operations(&upstream), spec::operations(ours));
    let mut held = 0;
    for op in &our_ops {
        let Some(theirs) = upstream_ops
            .iter()
            .find(|u| u.method == op.method && route(&u.path) == route(&op.path))
        else {
            notes.push(format!("upstream has no `{}`: ours is kept", op.label()));
            continue;
        };
        held += 1;
        let item = &upstream["paths"][&theirs.path];
        let mut taken = item[&theirs.method].clone();
        // The path item's parameters, where the operation has them.
        let mut parameters: Vec<Value> = item["parameters"].as_array().cloned().unwrap_or_default();
        parameters.extend(taken["parameters"].as_array().cloned().unwrap_or_default());
        taken["parameters"] = Value::Array(parameters);
        inline_local(&upstream, &mut taken, &mut Vec::new())?;
        if let Some(list) = taken["parameters"].as_array_mut() {
            list.retain(|p| {
                let name = str_of(p, "name").unwrap_or_default();
                let identity = str_of(p, "in") == Some("header")
                    && (name.starts_with("X-Plex-") || name.eq_ignore_ascii_case("accepts"));
                if identity {
                    dropped.insert(name.to_string());
                }
                !identity
            });
            if list.is_empty() {
                taken.as_object_mut().map(|o| o.remove("parameters"));
            }
        }
        to_3_0(&mut taken, false);
        if let Some(paths) = out["paths"].as_object_mut() {
            if let Some(item) = paths.get_mut(&op.path).and_then(Value::as_object_mut) {
                item.remove(&op.method);
                // A path renamed upstream takes the item's parameters along.
                if theirs.path != op.path
                    && !item.keys().any(|k| spec::METHODS.contains(&k.as_str()))
                {
                    paths.remove(&op.path);
                }
            }
            let item = paths
                .entry(theirs.path.clone())
                .or_insert_with(|| json!({}));
            item[&theirs.method] = taken;
        }
    }
    if !dropped.is_empty() {
        notes.push(format!(
            "left out upstream's identity headers {} (the facade sends them on every request, \
             so our spec does not list them)",
            dropped.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let others = upstream_ops.len().saturating_sub(held);
    notes.push(format!(
        "upstream has {others} other operations, not compared"
    ));
    // The schemes upstream's operations require, under upstream's names.
    let schemes = upstream
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    for (name, scheme) in schemes.into_iter().flatten() {
        let ours = &mut out["components"]["securitySchemes"];
        if ours.get(name).is_none() {
            ours[name] = scheme.clone();
        }
    }
    if let Some(version) = upstream.pointer("/info/version").cloned() {
        out["info"]["version"] = version;
    }
    Ok((out, notes))
}

/// The files read, by path.
#[derive(Default)]
struct Files {
    read: BTreeMap<PathBuf, Value>,
}

impl Files {
    fn load(&mut self, path: &Path) -> Result<&Value, Failure> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !self.read.contains_key(&key) {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
            let doc =
                spec::parse(&text).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
            self.read.insert(key.clone(), doc);
        }
        Ok(&self.read[&key])
    }

    /// Replaces each `$ref` into another file with what it names. Inside
    /// such a file (`inside_other`), its own `#/...` references are to it,
    /// so they are inlined too; the root's stay.
    fn inline(
        &mut self,
        node: &mut Value,
        file: &Path,
        inside_other: bool,
        seen: &mut Vec<String>,
    ) -> Result<(), Failure> {
        if let Some(target) = str_of(node, "$ref").map(str::to_string) {
            let (target_file, pointer) = match target.split_once('#') {
                Some((f, p)) => (f, p),
                None => (target.as_str(), ""),
            };
            if target_file.is_empty() && !inside_other {
                return Ok(());
            }
            if target_file.contains("://") {
                return Err(Failure(format!(
                    "`$ref: {target}` in {} points to the web: bundle the spec into local \
                     files first",
                    file.display()
                )));
            }
            let next = if target_file.is_empty() {
                file.to_path_buf()
            } else {
                file.parent().unwrap_or(Path::new(".")).join(target_file)
            };
            let key = format!("{}#{pointer}", next.display());
            if seen.contains(&key) || seen.len() > 64 {
                return Err(Failure(format!(
                    "`$ref: {target}` in {} leads back to itself; a loop cannot be inlined",
                    file.display()
                )));
            }
            let mut found = self.load(&next)?.pointer(pointer).cloned().ok_or_else(|| {
                Failure(format!(
                    "`$ref: {target}` in {} names nothing",
                    file.display()
                ))
            })?;
            seen.push(key);
            self.inline(&mut found, &next, true, seen)?;
            seen.pop();
            *node = found;
            return Ok(());
        }
        match node {
            Value::Object(map) => {
                (map.values_mut()).try_for_each(|v| self.inline(v, file, inside_other, seen))
            }
            Value::Array(items) => {
                (items.iter_mut()).try_for_each(|v| self.inline(v, file, inside_other, seen))
            }
            _ => Ok(()),
        }
    }
}

/// Inlines the `#/...` references of `node` to `doc` (siblings of a
/// `$ref`, which 3.1 allows, laid over the target). A reference back into
/// itself is cut to an empty schema: 3.0 has no way to write it inline.
fn inline_local(doc: &Value, node: &mut Value, seen: &mut Vec<String>) -> Result<(), Failure> {
    if let Some(target) = str_of(node, "$ref").map(str::to_string) {
        if seen.contains(&target) {
            *node = json!({});
            return Ok(());
        }
        let mut found = target
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .cloned()
            .ok_or_else(|| Failure(format!("upstream's `$ref: {target}` names nothing")))?;
        if let (Some(siblings), Some(map)) = (node.as_object(), found.as_object_mut()) {
            for (key, value) in siblings.iter().filter(|(k, _)| *k != "$ref") {
                map.insert(key.clone(), value.clone());
            }
        }
        seen.push(target);
        inline_local(doc, &mut found, seen)?;
        seen.pop();
        *node = found;
        return Ok(());
    }
    match node {
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|v| inline_local(doc, v, seen)),
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|v| inline_local(doc, v, seen)),
        _ => Ok(()),
    }
}

/// The JSON Schema 2020-12 forms of 3.1 as their 3.0 forms, everywhere
/// below `node`. `names`: `node` maps property names to schemas (its keys
/// are no keywords).
fn to_3_0(node: &mut Value, names: bool) {
    match node {
        Value::Object(map) => {
            if !names {
                convert_schema(map);
            }
            for (key, value) in map.iter_mut() {
                to_3_0(value, !names && key == "properties");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| to_3_0(v, false)),
        _ => {}
    }
}

fn convert_schema(map: &mut Map<String, Value>) {
    map.retain(|key, value| {
        !(DROPPED.contains(&key.as_str()) || key == "examples" && value.is_array())
    });
    // `type: [T, "null"]`: T, nullable; several types: one of them.
    let types = match map.remove("type") {
        Some(Value::Array(types)) => types,
        other => other.into_iter().collect(),
    };
    let kept: Vec<&Value> = types
        .iter()
        .filter(|t| t.as_str() != Some("null"))
        .collect();
    let mut nullable = kept.len() < types.len();
    match kept.as_slice() {
        [] => None,
        [one] => map.insert("type".into(), (*one).clone()),
        several => map.insert(
            "oneOf".into(),
            several.iter().map(|t| json!({"type": t})).collect(),
        ),
    };
    if let Some(value) = map.remove("const") {
        map.entry("enum").or_insert_with(|| json!([value]));
    }
    for (key, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(value) = map.get(key).filter(|v| v.is_number()).cloned() {
            map.insert(bound.into(), value);
            map.insert(key.into(), Value::Bool(true));
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alternatives)) = map.get_mut(key) {
            let before = alternatives.len();
            alternatives.retain(|a| a != &json!({"type": "null"}));
            nullable |= alternatives.len() < before;
        }
    }
    if nullable {
        map.insert("nullable".into(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_of_3_1_take_their_3_0_forms() {
        let mut schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": ["integer", "null"],
            "exclusiveMinimum": 0,
            "examples": [1],
            "properties": {"kind": {"const": "task"}}
        });
        to_3_0(&mut schema, false);
        assert_eq!(
            schema,
            json!({
                "type": "integer",
                "nullable": true,
                "minimum": 0,
                "exclusiveMinimum": true,
                "properties": {"kind": {"enum": ["task"]}}
            })
        );
    }

    #[test]
    fn a_reference_into_itself_is_cut_not_followed_forever() {
        let doc = json!({"components": {"schemas": {"Node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/components/schemas/Node"}}
        }}}});
        let mut node = json!({"$ref": "#/components/schemas/Node"});
        inline_local(&doc, &mut node, &mut Vec::new()).expect("inlines");
        assert_eq!(node["properties"]["next"], json!({}));
    }
}
