//! `cargo xtask spec check`: is the spec fit to generate from, fully wrapped
//! by the facade, and described?

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use crate::Failure;
use crate::codegen;
use crate::doc::{self, Node};
use crate::workspace::{self, Location};

/// One thing wrong with the spec: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The operation (`GET /butler (getButlerTasks)`) or the place in the
    /// document (`components.schemas.ButlerTask`).
    pub place: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}

pub fn run(spec: &Location, facade_src: &Location) -> Result<ExitCode, Failure> {
    let text = workspace::read(spec)?;
    let report = check(&text, facade_src);
    if report.problems.is_empty() {
        println!(
            "{}: ok: OpenAPI {}, {} operations, each with a unique operationId and \
             wrapped by the facade ({}); the generator accepts it; every schema and \
             property is described.",
            spec.shown,
            report.version.as_deref().unwrap_or("?"),
            report.operations,
            facade_src.shown,
        );
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        println!("error: {}: {problem}", spec.shown);
    }
    println!(
        "{}: {} problem{} found.",
        spec.shown,
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::FAILURE)
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct Report {
    pub version: Option<String>,
    pub operations: usize,
    pub problems: Vec<Problem>,
}

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
        for method in doc::METHODS {
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

/// Runs every check on the spec text.
pub fn check(text: &str, facade_src: &Location) -> Report {
    let mut report = Report::default();
    let spec = match doc::parse(text) {
        Ok(spec) => spec,
        Err(e) => {
            report.problems.push(Problem {
                place: "the file".to_string(),
                reason: e.to_string(),
            });
            return report;
        }
    };

    let version_ok = check_version(&spec, &mut report);
    let operations = operations(&spec);
    report.operations = operations.len();
    if operations.is_empty() {
        report.problems.push(Problem {
            place: "paths".to_string(),
            reason: "the spec has no operations".to_string(),
        });
    }
    check_operation_ids(&operations, &mut report.problems);
    if version_ok {
        check_generation(text, &mut report.problems);
    }
    check_wrapped(&operations, facade_src, &mut report.problems);
    check_descriptions(&spec, &operations, &mut report.problems);
    report
}

fn check_version(spec: &Node, report: &mut Report) -> bool {
    let reason = match spec.get("openapi") {
        None => "no `openapi` field: this is not an OpenAPI document".to_string(),
        Some(Node::String(version)) => {
            report.version = Some(version.clone());
            if version.starts_with("3.0.") {
                return true;
            }
            format!(
                "version {version}: the generator reads OpenAPI 3.0.x only \
                 (convert a 3.1 spec with `cargo xtask spec import`)"
            )
        }
        Some(other) => format!("`openapi` is not a version string: {other:?}"),
    };
    report.problems.push(Problem {
        place: "openapi".to_string(),
        reason,
    });
    false
}

fn check_operation_ids(operations: &[Operation], problems: &mut Vec<Problem>) {
    for (i, operation) in operations.iter().enumerate() {
        match &operation.id {
            None => problems.push(Problem {
                place: operation.label(),
                reason: "no operationId: the generator names the raw client's method after it"
                    .to_string(),
            }),
            Some(id) => {
                if let Some(first) = operations[..i]
                    .iter()
                    .find(|o| o.id.as_deref() == Some(id.as_str()))
                {
                    problems.push(Problem {
                        place: operation.label(),
                        reason: format!(
                            "operationId `{id}` is repeated: {} has it too",
                            first.label()
                        ),
                    });
                }
            }
        }
    }
}

/// Runs the generator as the build does (which names the operations it
/// cannot handle).
fn check_generation(text: &str, problems: &mut Vec<Problem>) {
    if let Err(error) = codegen::generate(text) {
        problems.push(Problem {
            place: "the spec".to_string(),
            reason: format!("the generator cannot handle it: {error}"),
        });
    }
}

/// The name progenitor gives the raw client's method for an operationId:
/// the id in snake case, made a valid identifier.
pub fn method_name(operation_id: &str) -> String {
    use heck::ToSnakeCase;
    let cleaned: String = operation_id
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = cleaned.to_snake_case();
    match name.chars().next() {
        None => name = "x".to_string(),
        Some(c) if c.is_alphabetic() || c == '_' => {}
        Some(_) => name.insert(0, '_'),
    }
    if RUST_KEYWORDS.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

const RUST_KEYWORDS: [&str; 51] = [
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

fn check_wrapped(operations: &[Operation], facade_src: &Location, problems: &mut Vec<Problem>) {
    let source = match read_rust_sources(&facade_src.path) {
        Ok(source) => source,
        Err(reason) => {
            problems.push(Problem {
                place: "the facade".to_string(),
                reason: format!(
                    "{reason} ({}): cannot tell whether the operations are wrapped",
                    facade_src.shown
                ),
            });
            return;
        }
    };
    for operation in operations {
        let Some(id) = &operation.id else { continue };
        let call = format!(".{}(", method_name(id));
        if !source.contains(&call) {
            problems.push(Problem {
                place: operation.label(),
                reason: format!(
                    "not wrapped by the facade: nothing under {} calls the raw method `{call}`",
                    facade_src.shown
                ),
            });
        }
    }
}

/// Every `.rs` file under `dir`, concatenated, with `//` comments removed
/// (a method named in a doc comment is not a call).
fn read_rust_sources(dir: &Path) -> Result<String, String> {
    if !dir.is_dir() {
        return Err("no facade source directory".to_string());
    }
    let mut files = Vec::new();
    collect_rust_files(dir, &mut files)?;
    if files.is_empty() {
        return Err("no Rust source in the facade source directory".to_string());
    }
    files.sort();
    let mut source = String::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for line in text.lines() {
            let code = line.find("//").map_or(line, |i| &line[..i]);
            source.push_str(code);
            source.push('\n');
        }
    }
    Ok(source)
}

fn collect_rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_rust_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// Every named schema, and every property of every schema (named or inline
/// in an operation), needs a description. A property that is only a `$ref`
/// is described when what it refers to is.
fn check_descriptions(spec: &Node, operations: &[Operation], problems: &mut Vec<Problem>) {
    if let Some(schemas) = spec.pointer("/components/schemas").and_then(Node::as_map) {
        for (name, schema) in schemas.iter() {
            let place = format!("components.schemas.{name}");
            if !is_described(spec, schema, 0) {
                problems.push(Problem {
                    place: place.clone(),
                    reason: "schema has no description".to_string(),
                });
            }
            walk_properties(spec, schema, &place, problems);
        }
    }
    for section in ["responses", "parameters", "requestBodies", "headers"] {
        let pointer = format!("/components/{section}");
        if let Some(items) = spec.pointer(&pointer).and_then(Node::as_map) {
            for (name, item) in items.iter() {
                walk_inline_schemas(
                    spec,
                    item,
                    &format!("components.{section}.{name}"),
                    problems,
                );
            }
        }
    }
    for operation in operations {
        let pointer = format!(
            "/paths/{}/{}",
            doc::escape_pointer_segment(&operation.path),
            operation.method
        );
        if let Some(node) = spec.pointer(&pointer) {
            walk_inline_schemas(spec, node, &operation.label(), problems);
        }
    }
    if let Some(paths) = spec.get("paths").and_then(Node::as_map) {
        for (path, item) in paths.iter() {
            if let Some(parameters) = item.get("parameters") {
                walk_inline_schemas(spec, parameters, &format!("{path} parameters"), problems);
            }
        }
    }
}

/// Whether a schema has a description, following `$ref`s.
fn is_described(spec: &Node, schema: &Node, depth: usize) -> bool {
    if schema
        .get_str("description")
        .is_some_and(|d| !d.trim().is_empty())
    {
        return true;
    }
    match schema.get_str("$ref") {
        Some(target) if depth < 32 => spec
            .pointer(target)
            .is_some_and(|t| is_described(spec, t, depth + 1)),
        _ => false,
    }
}

/// Finds the schemas inside an operation, parameter, response or request
/// body (under any `schema` key) and checks their properties.
fn walk_inline_schemas(spec: &Node, node: &Node, place: &str, problems: &mut Vec<Problem>) {
    match node {
        Node::Map(map) => {
            for (key, value) in map.iter() {
                let here = format!("{place}.{key}");
                if key == "schema" {
                    walk_properties(spec, value, &here, problems);
                } else {
                    walk_inline_schemas(spec, value, &here, problems);
                }
            }
        }
        Node::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_inline_schemas(spec, item, &format!("{place}.{i}"), problems);
            }
        }
        _ => {}
    }
}

/// Checks that every property in `schema` and the schemas nested in it is
/// described.
fn walk_properties(spec: &Node, schema: &Node, place: &str, problems: &mut Vec<Problem>) {
    let Some(map) = schema.as_map() else { return };
    if let Some(properties) = map.get("properties").and_then(Node::as_map) {
        for (name, property) in properties.iter() {
            let here = format!("{place}.properties.{name}");
            if !is_described(spec, property, 0) {
                let reason = match property.get_str("$ref") {
                    Some(target) if spec.pointer(target).is_none() => {
                        format!("property refers to `{target}`, which does not exist")
                    }
                    Some(target) => format!(
                        "property has no description, nor has `{target}`, which it refers to"
                    ),
                    None => "property has no description".to_string(),
                };
                problems.push(Problem {
                    place: here.clone(),
                    reason,
                });
            }
            walk_properties(spec, property, &here, problems);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(inner) = map.get(key) {
            walk_properties(spec, inner, &format!("{place}.{key}"), problems);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alternatives) = map.get(key).and_then(Node::as_seq) {
            for (i, inner) in alternatives.iter().enumerate() {
                walk_properties(spec, inner, &format!("{place}.{key}.{i}"), problems);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_the_operation_ids_in_snake_case() {
        assert_eq!(method_name("getButlerTasks"), "get_butler_tasks");
        assert_eq!(method_name("butlerPostSlash"), "butler_post_slash");
        assert_eq!(method_name("startTask"), "start_task");
        assert_eq!(method_name("get-HTTP-thing"), "get_http_thing");
        assert_eq!(method_name("type"), "type_");
    }
}
