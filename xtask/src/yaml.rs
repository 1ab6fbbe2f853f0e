//! Writes a spec as YAML, the same bytes for the same content.
//!
//! `serde_yaml_ng` does the writing (its mappings keep insertion order, and
//! multi-line text becomes a literal block); this module only decides the
//! order of keys. Keys the OpenAPI specification defines come in a fixed
//! order, the order a reader expects (see [`key_order`]); names the authors
//! chose (paths, schemas, properties, media types) keep the order they have
//! in the document.

use serde_yaml_ng::{Mapping, Value};

use crate::doc::Node;

/// Writes `node` with its keys in canonical order.
pub fn write_spec(node: &Node) -> Result<String, String> {
    serde_yaml_ng::to_string(&order(node, Kind::Document))
        .map_err(|e| format!("the spec cannot be written as YAML: {e}"))
}

/// What an OpenAPI object is, which decides the order of its keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Document,
    Info,
    Contact,
    Server,
    ServerVariable,
    Tag,
    PathItem,
    Operation,
    Parameter,
    RequestBody,
    Responses,
    Response,
    MediaType,
    Header,
    Components,
    SecurityScheme,
    Schema,
    /// A map whose keys are names chosen by the authors; its values are of
    /// the given kind. Order kept.
    Named(&'static Kind),
    /// Anything else: order kept.
    Other,
}

/// The fixed order of the keys the OpenAPI specification defines for each
/// kind of object. Keys not listed follow, sorted.
fn key_order(kind: Kind) -> &'static str {
    match kind {
        Kind::Document => {
            "openapi info jsonSchemaDialect servers security tags externalDocs paths webhooks \
             components"
        }
        // Short fields first, the long description last.
        Kind::Info => "title summary version termsOfService contact license description",
        Kind::Contact => "name identifier url email",
        Kind::Server => "url description variables",
        Kind::ServerVariable => "description default enum",
        Kind::Tag => "name description externalDocs",
        Kind::PathItem => {
            "$ref summary description parameters get put post delete options head patch trace \
             servers"
        }
        Kind::Operation => {
            "tags operationId summary description externalDocs deprecated security servers \
             parameters requestBody responses callbacks"
        }
        Kind::Parameter => {
            "$ref name in required deprecated allowEmptyValue description style explode \
             allowReserved schema example examples content"
        }
        Kind::Header => {
            "$ref required deprecated description style explode schema example examples content"
        }
        Kind::RequestBody => "$ref description required content",
        Kind::Response => "$ref description headers content links",
        Kind::MediaType => "schema example examples encoding",
        Kind::Components => {
            "securitySchemes parameters headers requestBodies responses examples links callbacks \
             schemas pathItems"
        }
        Kind::SecurityScheme => {
            "type scheme bearerFormat in name description flows openIdConnectUrl"
        }
        Kind::Schema => {
            "$ref title description type format nullable required properties \
             additionalProperties items oneOf anyOf allOf not discriminator enum default minimum \
             exclusiveMinimum maximum exclusiveMaximum multipleOf minLength maxLength pattern \
             minItems maxItems uniqueItems minProperties maxProperties readOnly writeOnly \
             deprecated example externalDocs xml"
        }
        Kind::Responses | Kind::Named(_) | Kind::Other => "",
    }
}

/// The kind of the value at `key` inside an object of kind `parent`.
fn child_kind(parent: Kind, key: &str) -> Kind {
    match (parent, key) {
        (Kind::Document, "info") => Kind::Info,
        (Kind::Document | Kind::PathItem | Kind::Operation, "servers") => Kind::Server,
        (Kind::Document, "tags") => Kind::Tag,
        (Kind::Document, "paths") => Kind::Named(&Kind::PathItem),
        (Kind::Document, "components") => Kind::Components,
        (Kind::Info, "contact" | "license") => Kind::Contact,
        (Kind::Server, "variables") => Kind::Named(&Kind::ServerVariable),
        (Kind::PathItem | Kind::Operation, "parameters") => Kind::Parameter,
        (Kind::PathItem, method) if crate::doc::METHODS.contains(&method) => Kind::Operation,
        (Kind::Operation, "requestBody") => Kind::RequestBody,
        (Kind::Operation, "responses") => Kind::Responses,
        (Kind::Responses, _) => Kind::Response,
        (Kind::Parameter | Kind::Header | Kind::RequestBody | Kind::Response, "content") => {
            Kind::Named(&Kind::MediaType)
        }
        (Kind::Parameter | Kind::Header | Kind::MediaType, "schema") => Kind::Schema,
        (Kind::Response, "headers") => Kind::Named(&Kind::Header),
        (Kind::Components, "schemas") => Kind::Named(&Kind::Schema),
        (Kind::Components, "responses") => Kind::Named(&Kind::Response),
        (Kind::Components, "parameters") => Kind::Named(&Kind::Parameter),
        (Kind::Components, "headers") => Kind::Named(&Kind::Header),
        (Kind::Components, "requestBodies") => Kind::Named(&Kind::RequestBody),
        (Kind::Components, "securitySchemes") => Kind::Named(&Kind::SecurityScheme),
        (Kind::Components, "pathItems") => Kind::Named(&Kind::PathItem),
        (Kind::Schema, "properties") => Kind::Named(&Kind::Schema),
        (Kind::Schema, "items" | "additionalProperties" | "not" | "oneOf" | "anyOf" | "allOf") => {
            Kind::Schema
        }
        (Kind::Named(of), _) => *of,
        _ => Kind::Other,
    }
}

/// `node` as a YAML value of the given kind, its keys in canonical order.
fn order(node: &Node, kind: Kind) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into(),
            (None, Some(i)) => i.into(),
            _ => n.as_f64().map_or(Value::Null, Value::from),
        },
        Node::String(s) => Value::String(s.clone()),
        // A sequence's items are of the kind its key gives (`servers`,
        // `parameters`, `oneOf`, ...).
        Node::Seq(items) => Value::Sequence(items.iter().map(|item| order(item, kind)).collect()),
        Node::Map(map) => {
            let mut keys: Vec<&str> = map.keys().collect();
            match kind {
                Kind::Responses => keys.sort_by_key(|k| status_rank(k)),
                Kind::Named(_) | Kind::Other => {}
                _ => {
                    let fixed: Vec<&str> = key_order(kind).split_whitespace().collect();
                    let rank = |k: &str| fixed.iter().position(|f| *f == k).unwrap_or(fixed.len());
                    // Listed keys have ranks of their own; the rest share
                    // the last and are sorted by name.
                    keys.sort_by_key(|k| (rank(k), *k));
                }
            }
            let entries = keys.into_iter().filter_map(|k| {
                let value = order(map.get(k)?, child_kind(kind, k));
                Some((Value::String(k.to_string()), value))
            });
            Value::Mapping(entries.collect::<Mapping>())
        }
    }
}

/// Statuses in numeric order, then ranges such as `4XX`, then `default`.
fn status_rank(status: &str) -> (u8, String) {
    if status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) {
        (0, status.to_string())
    } else if status == "default" {
        (2, String::new())
    } else {
        (1, status.to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse;

    fn round_trip(text: &str) -> String {
        let out = write_spec(&parse(text).expect("parses")).expect("writes");
        // Reordered, never changed.
        let content = |t: &str| parse(t).expect("parses").to_json();
        assert_eq!(content(&out), content(text), "{out}");
        out
    }

    #[test]
    fn strings_that_read_as_other_types_are_quoted() {
        let out = round_trip("a: \"32400\"\nb: \"true\"\nc: \"~\"\nd: \"3.0.3x\"\n");
        assert_eq!(out, "a: '32400'\nb: 'true'\nc: '~'\nd: 3.0.3x\n");
    }

    #[test]
    fn multi_line_text_becomes_a_literal_block_with_the_right_chomping() {
        let out = round_trip("a: \"one\\ntwo\\n\"\nb: \"one\\ntwo\"\nc: \"x\\n\\n\"\n");
        assert_eq!(
            out,
            "a: |\n  one\n  two\nb: |-\n  one\n  two\nc: |+\n  x\n\n"
        );
    }

    #[test]
    fn text_with_leading_or_trailing_spaces_reads_back_the_same() {
        // `round_trip` compares the content; the writer picks the form
        // (a block with an indentation indicator, or quotes).
        let out = round_trip("a: \" lead\\nx\"\nb: \"trail \\nx\"\n");
        assert_eq!(out, "a: |2-\n   lead\n  x\nb: \"trail \\nx\"\n");
    }

    #[test]
    fn sequences_sit_at_their_key_s_column() {
        let out = round_trip("tags: [{name: A, description: B}, {name: C}]\n");
        assert_eq!(out, "tags:\n- name: A\n  description: B\n- name: C\n");
    }

    #[test]
    fn known_keys_follow_the_fixed_order_and_names_keep_theirs() {
        let text = "components:\n  schemas:\n    Z:\n      type: string\n      description: z\n    A:\n      type: string\n      description: a\npaths: {}\ninfo:\n  version: '1'\n  title: t\nopenapi: 3.0.3\n";
        let out = round_trip(text);
        assert_eq!(
            out,
            "openapi: 3.0.3\ninfo:\n  title: t\n  version: '1'\npaths: {}\ncomponents:\n  schemas:\n    Z:\n      description: z\n      type: string\n    A:\n      description: a\n      type: string\n"
        );
    }

    #[test]
    fn statuses_are_sorted_numerically_with_default_last() {
        let text = "paths:\n  /x:\n    get:\n      responses:\n        default: {description: d}\n        \"404\": {description: n}\n        \"200\": {description: o}\n";
        let out = round_trip(text);
        let order: Vec<_> = out
            .lines()
            .filter(|l| l.trim_start().starts_with(['\'', 'd']) && l.ends_with(':'))
            .map(str::trim)
            .collect();
        assert_eq!(order, ["'200':", "'404':", "default:"]);
    }

    #[test]
    fn a_property_named_like_a_keyword_keeps_its_place() {
        let text = "components:\n  schemas:\n    T:\n      properties:\n        title: {type: string}\n        description: {type: string}\n";
        let out = round_trip(text);
        let title = out.find("title:").expect("title");
        let description = out.find("description:").expect("description");
        assert!(title < description, "{out}");
    }
}
