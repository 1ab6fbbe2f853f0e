//! Writes a spec as YAML, the same bytes for the same content.
//!
//! The format is the one `openapi/butler.yaml` is written in: block style,
//! two-space indents, sequences indented under their key, multi-line text as
//! literal blocks (`|`), double quotes only where a plain scalar would read
//! differently, no line folding. Keys the OpenAPI specification defines come
//! in a fixed order, the order a reader expects (see [`canonical`]); names
//! the authors chose (paths, schemas, properties, media types) keep the
//! order they have in the document.

use crate::doc::{Map, Node};

/// Writes `node` in the house format, with keys in canonical order, and
/// checks that the text reads back as the same document.
pub fn write_spec(node: &Node) -> Result<String, String> {
    let node = canonical(node);
    let text = emit(&node);
    match crate::doc::parse(&text) {
        Ok(back) if back == node => Ok(text),
        Ok(_) => Err("the YAML writer produced text that reads back differently".to_string()),
        Err(e) => Err(format!("the YAML writer produced unreadable text: {e}")),
    }
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
/// kind of object, space-separated. Keys not listed follow, sorted.
fn key_order(kind: Kind) -> &'static str {
    match kind {
        Kind::Document => {
            "openapi info jsonSchemaDialect servers security tags externalDocs \
             paths webhooks components"
        }
        // Short fields first, the long description last.
        Kind::Info => "title summary version termsOfService contact license description",
        Kind::Contact => "name identifier url email",
        Kind::Server => "url description variables",
        Kind::ServerVariable => "description default enum",
        Kind::Tag => "name description externalDocs",
        Kind::PathItem => {
            "$ref summary description parameters get put post delete options head \
             patch trace servers"
        }
        Kind::Operation => {
            "tags operationId summary description externalDocs deprecated security \
             servers parameters requestBody responses callbacks"
        }
        Kind::Parameter => {
            "$ref name in required deprecated allowEmptyValue description style \
             explode allowReserved schema example examples content"
        }
        Kind::Header => {
            "$ref required deprecated description style explode schema example \
             examples content"
        }
        Kind::RequestBody => "$ref description required content",
        Kind::Response => "$ref description headers content links",
        Kind::MediaType => "schema example examples encoding",
        Kind::Components => {
            "securitySchemes parameters headers requestBodies responses examples \
             links callbacks schemas pathItems"
        }
        Kind::SecurityScheme => {
            "type scheme bearerFormat in name description flows openIdConnectUrl"
        }
        Kind::Schema => {
            "$ref title description type format nullable required properties \
             additionalProperties items oneOf anyOf allOf not discriminator enum \
             default minimum exclusiveMinimum maximum exclusiveMaximum multipleOf \
             minLength maxLength pattern minItems maxItems uniqueItems \
             minProperties maxProperties readOnly writeOnly deprecated example \
             externalDocs xml"
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
        (Kind::PathItem, "parameters") | (Kind::Operation, "parameters") => Kind::Parameter,
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
        (Kind::Schema, "items" | "additionalProperties" | "not") => Kind::Schema,
        (Kind::Schema, "oneOf" | "anyOf" | "allOf") => Kind::Schema,
        (Kind::Named(of), _) => *of,
        _ => Kind::Other,
    }
}

/// The document with its keys in canonical order.
pub fn canonical(node: &Node) -> Node {
    order(node, Kind::Document)
}

fn order(node: &Node, kind: Kind) -> Node {
    match node {
        // A sequence's items are of the kind its key gives (`servers`,
        // `parameters`, `oneOf`, ...).
        Node::Seq(items) => Node::Seq(items.iter().map(|item| order(item, kind)).collect()),
        Node::Map(map) => Node::Map(order_map(map, kind)),
        scalar => scalar.clone(),
    }
}

fn order_map(map: &Map, kind: Kind) -> Map {
    let mut keys: Vec<&str> = map.keys().collect();
    match kind {
        Kind::Responses => keys.sort_by_key(|k| status_rank(k)),
        Kind::Named(_) | Kind::Other => {}
        _ => {
            let fixed: Vec<&str> = key_order(kind).split_whitespace().collect();
            keys.sort_by(|a, b| {
                let rank = |k: &str| fixed.iter().position(|f| *f == k).unwrap_or(fixed.len());
                rank(a).cmp(&rank(b)).then_with(|| {
                    if rank(a) == fixed.len() {
                        a.cmp(b)
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
            });
        }
    }
    keys.into_iter()
        .filter_map(|k| {
            map.get(k)
                .map(|v| (k.to_string(), order(v, child_kind(kind, k))))
        })
        .collect()
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

/// Emits a map document as block YAML.
fn emit(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(map) if !map.is_empty() => emit_map(map, 0, &mut out, false),
        other => {
            emit_scalar_or_empty(other, 0, &mut out);
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Emits `map` at `level` spaces. With `first_inline`, the first entry goes
/// on the current line (after a sequence's `- `).
fn emit_map(map: &Map, level: usize, out: &mut String, first_inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if !(first_inline && i == 0) {
            indent(out, level);
        }
        out.push_str(&scalar_text(key));
        out.push(':');
        emit_value(value, level, out);
    }
}

/// Emits the value of a map entry whose key is at `level`, starting right
/// after the colon.
fn emit_value(value: &Node, level: usize, out: &mut String) {
    match value {
        Node::Map(map) if !map.is_empty() => {
            out.push('\n');
            emit_map(map, level + 2, out, false);
        }
        Node::Seq(items) if !items.is_empty() => {
            out.push('\n');
            emit_seq(items, level + 2, out);
        }
        other => {
            out.push(' ');
            emit_scalar_or_empty(other, level + 2, out);
        }
    }
}

fn emit_seq(items: &[Node], level: usize, out: &mut String) {
    for item in items {
        indent(out, level);
        out.push('-');
        match item {
            Node::Map(map) if !map.is_empty() => {
                out.push(' ');
                emit_map(map, level + 2, out, true);
            }
            Node::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_seq(inner, level + 2, out);
            }
            other => {
                out.push(' ');
                emit_scalar_or_empty(other, level + 2, out);
            }
        }
    }
}

/// Emits a scalar, `{}` or `[]`, and the line end. Literal blocks indent
/// their lines at `block_level`.
fn emit_scalar_or_empty(node: &Node, block_level: usize, out: &mut String) {
    match node {
        Node::Map(_) => out.push_str("{}"),
        Node::Seq(_) => out.push_str("[]"),
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(n) => out.push_str(&n.to_string()),
        Node::String(s) => {
            if let Some(block) = literal_block(s, block_level) {
                out.push_str(&block);
                return;
            }
            out.push_str(&scalar_text(s));
        }
    }
    out.push('\n');
}

/// A multi-line string as a literal block (`|`, `|-` or `|+` after the key,
/// then its lines), when that form reads back as the same string.
fn literal_block(s: &str, level: usize) -> Option<String> {
    if !s.contains('\n') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let first_line = body.lines().find(|l| !l.is_empty())?;
    let unsafe_char = |c: char| c.is_control() && c != '\n';
    if first_line.starts_with(' ')
        || body.chars().any(unsafe_char)
        || body.lines().any(|l| l.ends_with(' '))
    {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}\n");
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        if !line.is_empty() {
            indent(&mut out, level);
            out.push_str(line);
        }
        out.push('\n');
    }
    // The caller adds no line end after a block.
    Some(out)
}

/// A one-line scalar: plain when YAML reads it back as this string,
/// otherwise double-quoted.
fn scalar_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(char::is_control)
    {
        return false;
    }
    // What YAML reads as a number, boolean or null must be quoted to stay a
    // string: ask the parser.
    matches!(
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(s),
        Ok(serde_yaml_ng::Value::String(back)) if back == s
    )
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse;

    fn round_trip(text: &str) -> String {
        write_spec(&parse(text).expect("parses")).expect("writes")
    }

    #[test]
    fn strings_that_read_as_other_types_are_quoted() {
        let out = round_trip("a: \"32400\"\nb: \"true\"\nc: \"~\"\nd: \"3.0.3x\"\n");
        assert_eq!(out, "a: \"32400\"\nb: \"true\"\nc: \"~\"\nd: 3.0.3x\n");
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
    fn text_a_block_cannot_hold_is_quoted() {
        let out = round_trip("a: \" lead\\nx\"\nb: \"trail \\nx\"\n");
        assert_eq!(out, "a: \" lead\\nx\"\nb: \"trail \\nx\"\n");
    }

    #[test]
    fn sequences_are_indented_under_their_key() {
        let out = round_trip("tags: [{name: A, description: B}, {name: C}]\n");
        assert_eq!(out, "tags:\n  - name: A\n    description: B\n  - name: C\n");
    }

    #[test]
    fn known_keys_follow_the_fixed_order_and_names_keep_theirs() {
        let text = "components:\n  schemas:\n    Z:\n      type: string\n      description: z\n    A:\n      type: string\n      description: a\npaths: {}\ninfo:\n  version: '1'\n  title: t\nopenapi: 3.0.3\n";
        let out = round_trip(text);
        assert_eq!(
            out,
            "openapi: 3.0.3\ninfo:\n  title: t\n  version: \"1\"\npaths: {}\ncomponents:\n  schemas:\n    Z:\n      description: z\n      type: string\n    A:\n      description: a\n      type: string\n"
        );
    }

    #[test]
    fn statuses_are_sorted_numerically_with_default_last() {
        let text = "paths:\n  /x:\n    get:\n      responses:\n        default: {description: d}\n        \"404\": {description: n}\n        \"200\": {description: o}\n";
        let out = round_trip(text);
        let order: Vec<_> = out
            .lines()
            .filter(|l| l.trim_start().starts_with(['"', 'd']) && l.ends_with(':'))
            .map(str::trim)
            .collect();
        assert_eq!(order, ["\"200\":", "\"404\":", "default:"]);
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
