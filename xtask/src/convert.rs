//! OpenAPI 3.1 schemas, parameters and responses as OpenAPI 3.0.3.
//!
//! `$ref`s into the source document are inlined (the import copies no
//! upstream components), with the siblings 3.1 allows beside a `$ref`
//! (such as `description`) kept over the target's.

use crate::doc::{Map, Node};

/// Keywords of JSON Schema 2020-12 (OpenAPI 3.1) that 3.0 does not have
/// and that have no 3.0 form: dropped.
const DROPPED: &str = "$schema $id $anchor $dynamicAnchor $dynamicRef $defs $comment \
    $vocabulary examples unevaluatedProperties unevaluatedItems contentEncoding \
    contentMediaType contentSchema if then else dependentSchemas dependentRequired \
    prefixItems propertyNames contains minContains maxContains patternProperties";

/// Converts parts of one source document.
pub struct Converter<'a> {
    source: &'a Node,
}

impl<'a> Converter<'a> {
    pub fn new(source: &'a Node) -> Self {
        Self { source }
    }

    /// The node a `$ref` names in the source, with the reference's siblings
    /// laid over it; other nodes as they are.
    pub fn resolve(&self, node: &Node) -> Result<Node, String> {
        let mut seen = Vec::new();
        self.resolve_seen(node, &mut seen)
    }

    fn resolve_seen(&self, node: &Node, seen: &mut Vec<String>) -> Result<Node, String> {
        let Some(target) = node.get_str("$ref") else {
            return Ok(node.clone());
        };
        if !target.starts_with("#/") {
            return Err(format!(
                "`$ref: {target}` points outside the document, which import does not follow"
            ));
        }
        if seen.iter().any(|s| s == target) || seen.len() > 32 {
            return Err(format!(
                "`$ref: {target}` refers to itself in a loop, which import cannot inline"
            ));
        }
        seen.push(target.to_string());
        let found = self
            .source
            .pointer(target)
            .ok_or_else(|| format!("`$ref: {target}` names nothing in the document"))?;
        let mut resolved = self.resolve_seen(found, seen)?;
        seen.pop();
        if let (Some(siblings), Node::Map(resolved_map)) = (node.as_map(), &mut resolved) {
            for (key, value) in siblings.iter() {
                if key != "$ref" {
                    resolved_map.insert(key, value.clone());
                }
            }
        }
        Ok(resolved)
    }

    /// A 3.1 schema as 3.0.3.
    pub fn schema(&self, schema: &Node) -> Result<Node, String> {
        self.schema_seen(schema, &mut Vec::new())
    }

    fn schema_seen(&self, schema: &Node, seen: &mut Vec<String>) -> Result<Node, String> {
        match schema {
            // `true` admits anything; `false` nothing.
            Node::Bool(true) => return Ok(Node::Map(Map::new())),
            Node::Bool(false) => {
                let mut map = Map::new();
                map.insert("not", Node::Map(Map::new()));
                return Ok(Node::Map(map));
            }
            Node::Map(_) => {}
            other => return Err(format!("a schema is not a map: {other:?}")),
        }
        if let Some(target) = schema.get_str("$ref") {
            let target = target.to_string();
            let resolved = self.resolve_seen(schema, seen)?;
            seen.push(target);
            let converted = self.schema_seen(&resolved, seen);
            seen.pop();
            return converted;
        }
        let Some(source) = schema.as_map() else {
            return Ok(schema.clone());
        };
        let mut out = Map::new();
        let mut nullable = false;
        for (key, value) in source.iter() {
            if DROPPED.split_whitespace().any(|k| k == key) {
                continue;
            }
            match key {
                "type" => match value {
                    Node::Seq(types) => {
                        let mut kept: Vec<&Node> = Vec::new();
                        for t in types {
                            if t.as_str() == Some("null") {
                                nullable = true;
                            } else {
                                kept.push(t);
                            }
                        }
                        match kept.as_slice() {
                            [] => {}
                            [one] => out.insert("type", (*one).clone()),
                            several => {
                                // Several types: one alternative each.
                                let alternatives = several
                                    .iter()
                                    .map(|t| {
                                        let mut alt = Map::new();
                                        alt.insert("type", (*t).clone());
                                        Node::Map(alt)
                                    })
                                    .collect();
                                out.insert("oneOf", Node::Seq(alternatives));
                            }
                        }
                    }
                    Node::String(t) if t == "null" => nullable = true,
                    other => out.insert("type", other.clone()),
                },
                "const" => {
                    if !source.contains_key("enum") {
                        out.insert("enum", Node::Seq(vec![value.clone()]));
                    }
                }
                "exclusiveMinimum" | "exclusiveMaximum" => match value {
                    // 3.1: the bound itself; 3.0: a flag beside the bound.
                    Node::Number(_) => {
                        let bound = if key == "exclusiveMinimum" {
                            "minimum"
                        } else {
                            "maximum"
                        };
                        out.insert(bound, value.clone());
                        out.insert(key, Node::Bool(true));
                    }
                    other => out.insert(key, other.clone()),
                },
                "properties" => {
                    let mut properties = Map::new();
                    if let Some(map) = value.as_map() {
                        for (name, property) in map.iter() {
                            properties.insert(name, self.schema_seen(property, seen)?);
                        }
                    }
                    out.insert("properties", Node::Map(properties));
                }
                "items" | "not" => out.insert(key, self.schema_seen(value, seen)?),
                "additionalProperties" => match value {
                    Node::Bool(b) => out.insert(key, Node::Bool(*b)),
                    other => out.insert(key, self.schema_seen(other, seen)?),
                },
                "oneOf" | "anyOf" | "allOf" => {
                    let mut alternatives = Vec::new();
                    for alternative in value.as_seq().unwrap_or_default() {
                        // `{type: 'null'}` as an alternative: 3.0's nullable.
                        if alternative.get_str("type") == Some("null")
                            && alternative.as_map().is_some_and(|m| m.len() == 1)
                            && key != "allOf"
                        {
                            nullable = true;
                            continue;
                        }
                        alternatives.push(self.schema_seen(alternative, seen)?);
                    }
                    out.insert(key, Node::Seq(alternatives));
                }
                _ => out.insert(key, value.clone()),
            }
        }
        if nullable {
            out.insert("nullable", Node::Bool(true));
        }
        Ok(Node::Map(out))
    }

    /// A parameter as 3.0.3: its identity, description and schema;
    /// examples dropped.
    pub fn parameter(&self, parameter: &Node) -> Result<Node, String> {
        let resolved = self.resolve(parameter)?;
        let mut out = Map::new();
        for key in [
            "name",
            "in",
            "required",
            "deprecated",
            "allowEmptyValue",
            "description",
            "style",
            "explode",
        ] {
            if let Some(value) = resolved.get(key) {
                out.insert(key, value.clone());
            }
        }
        if let Some(schema) = resolved.get("schema") {
            out.insert("schema", self.schema(schema)?);
        }
        Ok(Node::Map(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse;

    fn convert(text: &str) -> Node {
        let source = parse(text).expect("parses");
        let schema = source.get("s").expect("has s").clone();
        Converter::new(&source).schema(&schema).expect("converts")
    }

    #[test]
    fn a_type_array_with_null_becomes_a_nullable_type() {
        let out = convert("s: {type: [integer, 'null']}\n");
        assert_eq!(
            out,
            parse("{type: integer, nullable: true}").expect("parses")
        );
    }

    #[test]
    fn several_types_become_one_alternative_each() {
        let out = convert("s: {type: [integer, string]}\n");
        assert_eq!(
            out,
            parse("{oneOf: [{type: integer}, {type: string}]}").expect("parses")
        );
    }

    #[test]
    fn const_becomes_a_one_value_enum() {
        let out = convert("s: {type: string, const: x}\n");
        assert_eq!(out, parse("{type: string, enum: [x]}").expect("parses"));
    }

    #[test]
    fn what_3_0_lacks_is_dropped() {
        let out = convert("s: {$schema: x, type: string, examples: [a, b], $comment: c}\n");
        assert_eq!(out, parse("{type: string}").expect("parses"));
    }

    #[test]
    fn numeric_exclusive_bounds_become_flags() {
        let out = convert("s: {type: integer, exclusiveMinimum: 0}\n");
        assert_eq!(
            out,
            parse("{type: integer, minimum: 0, exclusiveMinimum: true}").expect("parses")
        );
    }

    #[test]
    fn refs_are_inlined_with_their_siblings_winning() {
        let out = convert(
            "s: {$ref: '#/components/schemas/T', description: mine}\ncomponents: {schemas: {T: {type: string, description: theirs}}}\n",
        );
        assert_eq!(
            out,
            parse("{type: string, description: mine}").expect("parses")
        );
    }

    #[test]
    fn a_null_alternative_becomes_nullable() {
        let out = convert("s: {oneOf: [{type: string}, {type: 'null'}]}\n");
        assert_eq!(
            out,
            parse("{oneOf: [{type: string}], nullable: true}").expect("parses")
        );
    }

    #[test]
    fn a_ref_loop_is_an_error_not_a_hang() {
        let source = parse(
            "s: {$ref: '#/components/schemas/A'}\ncomponents: {schemas: {A: {properties: {a: {$ref: '#/components/schemas/A'}}}}}\n",
        )
        .expect("parses");
        let schema = source.get("s").expect("has s").clone();
        let error = Converter::new(&source).schema(&schema).expect_err("a loop");
        assert!(error.contains("loop"), "{error}");
    }
}
