//! `cargo xtask spec check`: is the spec fit to generate from, fully wrapped
//! by the facade, and described; and does it keep the house rules?
//!
//! - `KnownTaskName` never loses a name: not against the spec at the base
//!   revision, nor against the sources the names come from (listed once,
//!   in [`TASK_NAME_SOURCES`]). Adding a name needs no edit elsewhere.
//! - The facade's status table (`statuses.rs` in the facade's sources) and
//!   the spec agree: every status the facade reads as an outcome of its own
//!   is one the spec lists for that operation, and every status the spec
//!   lists is mapped or in the operation's `ERRORS`. So a change of meaning
//!   that still builds (202 "already running" becoming 409) fails here.
//!   `spec diff` applies the same rule ([`status_findings`]) to a new spec.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use heck::ToSnakeCase;

use crate::Failure;
use crate::doc::{self, Node, Operation, operations};
use crate::rust_api;
use crate::workspace::{self, Location};

/// Where `KnownTaskName`'s names come from: every name a source lists must
/// be in the spec. Paths are relative to the workspace root.
pub const TASK_NAME_SOURCES: &[(&str, Source)] = &[
    ("openapi/task-name-sources/legacy.txt", Source::Lines),
    ("fixtures/pms-1.43.2/butler.xml", Source::ButlerXml),
    (
        "xtask/tests/fixtures/upstream/plex-pms-openapi-1.1.1.yaml",
        Source::TaskParameterEnum,
    ),
];

/// How a source of task names is read.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// One name a line; blank lines and `#` comments skipped (the legacy
    /// documentation's list).
    Lines,
    /// A server's `GET /butler` answer as XML: the `name` of each
    /// `ButlerTask`.
    ButlerXml,
    /// An OpenAPI spec: the `enum` of every `task` parameter (Plex's
    /// official spec lists the names there).
    TaskParameterEnum,
}

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

pub fn run(
    spec: &Location,
    facade_src: &Location,
    base: Option<String>,
) -> Result<ExitCode, Failure> {
    let text = workspace::read(spec)?;
    let mut report = check(&text, facade_src);
    if let Ok(parsed) = doc::parse(&text) {
        let names = task_names(&parsed);
        check_task_name_sources(&names, &mut report.problems);
        match history(spec, base)? {
            History::Base { shown, names: old } => {
                check_no_name_lost(&names, &old, &shown, &mut report.problems)
            }
            History::Skipped(why) => println!("note: {why}"),
        }
    }
    if report.problems.is_empty() {
        println!(
            "{}: ok: OpenAPI {}, {} operations, each with a unique operationId, \
             wrapped by the facade ({}) and its statuses mapped; the generator accepts \
             it; every schema and property is described; no task name lost.",
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
    let api = if version_ok {
        check_generation(text, &mut report.problems)
    } else {
        None
    };
    // Without a generated client there are no method names to look for;
    // the generator's problem is reported already.
    if let Some(api) = api {
        check_wrapped(&operations, &api, facade_src, &mut report.problems);
    }
    check_statuses(&spec, &operations, facade_src, &mut report.problems);
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
/// cannot handle), and reads what it generated.
fn check_generation(text: &str, problems: &mut Vec<Problem>) -> Option<rust_api::Api> {
    match rust_api::generate(text) {
        Ok(api) => Some(api),
        Err(reason) => {
            problems.push(Problem {
                place: "the spec".to_string(),
                reason,
            });
            None
        }
    }
}

/// An operationId in snake case, made a valid identifier: the name of the
/// facade's status module for the operation (and of progenitor's method).
pub fn method_name(operation_id: &str) -> String {
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

/// Every operation's raw method (named as progenitor named it, read from
/// the generated code) is called somewhere in the facade: `.start_task(`,
/// as both `raw.start_task(name)` and `raw.start_task().task(name)` read.
fn check_wrapped(
    operations: &[Operation],
    api: &rust_api::Api,
    facade_src: &Location,
    problems: &mut Vec<Problem>,
) {
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
        let route = doc::route_key(&operation.path);
        let Some(name) = api.methods.iter().find_map(|(name, method)| {
            method
                .request
                .as_ref()
                .filter(|(m, p)| *m == operation.method && doc::route_key(p) == route)
                .map(|_| name)
        }) else {
            continue;
        };
        let call = format!(".{name}(");
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
        let pointer = doc::operation_pointer(&operation.path, &operation.method);
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

/// The spec's `KnownTaskName` values.
fn task_names(spec: &Node) -> Vec<String> {
    spec.pointer("/components/schemas/KnownTaskName/enum")
        .and_then(Node::as_seq)
        .map(|values| {
            values
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Every source's names are in the spec.
fn check_task_name_sources(names: &[String], problems: &mut Vec<Problem>) {
    let root = workspace::root();
    for (path, kind) in TASK_NAME_SOURCES {
        match read_source(&root.join(path), *kind) {
            Err(reason) => problems.push(Problem {
                place: format!("task name source {path}"),
                reason: format!(
                    "{reason}: cannot tell whether KnownTaskName keeps its names (restore the \
                     file, or change the list of sources, TASK_NAME_SOURCES in xtask/src/check.rs)"
                ),
            }),
            Ok(listed) => {
                let missing: Vec<&String> = listed.iter().filter(|n| !names.contains(n)).collect();
                if !missing.is_empty() {
                    problems.push(Problem {
                        place: "components.schemas.KnownTaskName".to_string(),
                        reason: format!(
                            "lacks {}, which {path} lists: add {} to the enum (it is the sorted \
                             union of every source's names, and never loses one)",
                            quoted(&missing),
                            if missing.len() == 1 { "it" } else { "them" }
                        ),
                    });
                }
            }
        }
    }
}

/// `` `A`, `B` ``.
fn quoted(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The task names a source lists.
pub fn read_source(path: &Path, kind: Source) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut names = Vec::new();
    match kind {
        Source::Lines => {
            for line in text.lines() {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    names.push(line.to_string());
                }
            }
        }
        Source::ButlerXml => {
            let mut reader = quick_xml::Reader::from_str(&text);
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(
                        quick_xml::events::Event::Start(element)
                        | quick_xml::events::Event::Empty(element),
                    ) if element.name().as_ref() == "ButlerTask" => {
                        for attribute in element.attributes().flatten() {
                            if attribute.key.as_ref() == "name" {
                                let value = attribute
                                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                    .map_err(|e| format!("{}: {e}", path.display()))?;
                                names.push(value.into_owned());
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("{} is not XML: {e}", path.display())),
                }
            }
        }
        Source::TaskParameterEnum => {
            let spec = doc::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            // The `enum` values of every parameter named `task`.
            spec.visit(&mut |_, node| {
                if node.get_str("name") == Some("task")
                    && node.get("in").is_some()
                    && let Some(values) = node.pointer("/schema/enum").and_then(Node::as_seq)
                {
                    for name in values.iter().filter_map(Node::as_str) {
                        if !names.iter().any(|n| n == name) {
                            names.push(name.to_string());
                        }
                    }
                }
            });
        }
    }
    if names.is_empty() {
        return Err(format!("{} lists no task name", path.display()));
    }
    Ok(names)
}

/// The spec at the base revision, to compare task names with.
enum History {
    Base {
        shown: String,
        names: Vec<String>,
    },
    /// Not compared, and why (printed as a note).
    Skipped(String),
}

/// The base revision's task names: at `--base`, or by default (for the
/// workspace's spec only: another file has no history of its own) the
/// revision `spec diff` compares with. No base by default is a note, not a
/// failure (a fresh clone with no `main`).
fn history(spec: &Location, base: Option<String>) -> Result<History, Failure> {
    let base = match base {
        Some(rev) => workspace::Base {
            rev,
            how: String::new(),
        },
        None => {
            let ours = workspace::root().join(workspace::SPEC);
            let same = match (spec.path.canonicalize(), ours.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if !same {
                return Ok(History::Skipped(format!(
                    "task names not compared with a base revision: {} is not {} (pass \
                     `--base REV` to compare it with {} at REV)",
                    spec.shown,
                    workspace::SPEC,
                    workspace::SPEC
                )));
            }
            match workspace::default_base() {
                Ok(base) => base,
                Err(Failure(why)) => {
                    return Ok(History::Skipped(format!(
                        "task names not compared with a base revision: {why}"
                    )));
                }
            }
        }
    };
    let text = workspace::spec_at(&base.rev)?;
    let old = doc::parse(&text)
        .map_err(|e| Failure(format!("{} at {}: {e}", workspace::SPEC, base.rev)))?;
    Ok(History::Base {
        shown: format!(
            "{} at {}{}",
            workspace::SPEC,
            workspace::short_rev(&base.rev),
            base.how
        ),
        names: task_names(&old),
    })
}

fn check_no_name_lost(names: &[String], old: &[String], shown: &str, problems: &mut Vec<Problem>) {
    let lost: Vec<&String> = old.iter().filter(|n| !names.contains(n)).collect();
    if !lost.is_empty() {
        problems.push(Problem {
            place: "components.schemas.KnownTaskName".to_string(),
            reason: format!(
                "lost {} against {shown}: put {} back (a known name is never removed: code \
                 naming it must keep compiling, and older servers still run the task)",
                quoted(&lost),
                if lost.len() == 1 { "it" } else { "them" }
            ),
        });
    }
}

/// One module of the facade's status table.
#[derive(Debug, Default)]
struct StatusModule {
    /// `(NAME, status)` for each status read as an outcome of its own.
    mapped: Vec<(String, u16)>,
    /// The statuses read as errors on purpose.
    errors: Vec<u16>,
}

/// A disagreement between the facade's status table and the spec.
#[derive(Debug, Clone)]
pub struct StatusFinding {
    pub problem: Problem,
    /// A short statement of it, for `spec diff`'s rows.
    pub short: String,
    /// Whether the facade now misreads answers: it maps a status the spec
    /// no longer lists. Otherwise the table only lacks or keeps an entry.
    pub misreads: bool,
}

fn check_statuses(
    spec: &Node,
    operations: &[Operation],
    facade_src: &Location,
    problems: &mut Vec<Problem>,
) {
    let findings = status_findings(spec, operations, facade_src);
    problems.extend(findings.into_iter().map(|f| f.problem));
}

/// The facade's status table and the spec agree, operation by operation:
/// the one rule `spec check` holds and `spec diff` applies to a new spec.
pub fn status_findings(
    spec: &Node,
    operations: &[Operation],
    facade_src: &Location,
) -> Vec<StatusFinding> {
    let mut findings = Vec::new();
    let mut push = |place: String, short: String, misreads: bool, reason: String| {
        findings.push(StatusFinding {
            problem: Problem { place, reason },
            short,
            misreads,
        })
    };
    let shown = format!("{}/statuses.rs", facade_src.shown.trim_end_matches('/'));
    let table = match read_status_table(&facade_src.path.join("statuses.rs")) {
        Ok(table) => table,
        Err(reason) => {
            push(
                "the facade".to_string(),
                "the status table cannot be read".to_string(),
                false,
                format!(
                    "{shown}: {reason}; it holds a module per operation, named by its \
                     operationId in snake case, with a `pub(crate) const NAME: u16` per status \
                     the facade reads as an outcome and `pub(crate) const ERRORS: &[u16]` for \
                     the statuses it reads as errors"
                ),
            );
            return findings;
        }
    };
    let mut modules_used = Vec::new();
    for operation in operations {
        let Some(id) = &operation.id else { continue };
        let module_name = method_name(id);
        modules_used.push(module_name.clone());
        let statuses = spec_statuses(spec, operation);
        let listed = statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let Some(module) = table.get(&module_name) else {
            push(
                operation.label(),
                format!("no module `{module_name}`"),
                false,
                format!(
                    "{shown} has no module `{module_name}`: add `pub(crate) mod {module_name}` \
                     with a const for each status the facade reads as an outcome and `ERRORS` \
                     for the others (the spec lists {listed})"
                ),
            );
            continue;
        };
        for (name, status) in &module.mapped {
            if !statuses.contains(status) {
                push(
                    operation.label(),
                    format!("`{module_name}::{name} = {status}`, which the spec no longer lists"),
                    true,
                    format!(
                        "{shown}: `{module_name}::{name} = {status}`, but the spec lists no \
                         {status} for this operation (it lists {listed}): the facade reads an \
                         answer the server no longer gives. Find which status now means \
                         {name} in the spec, then change the constant to it (and the facade \
                         code reading it, with its tests), or remove both"
                    ),
                );
            }
        }
        for status in &module.errors {
            if !statuses.contains(status) {
                push(
                    operation.label(),
                    format!("`{module_name}::ERRORS` has {status}, which the spec no longer lists"),
                    false,
                    format!(
                        "{shown}: `{module_name}::ERRORS` has {status}, which the spec does \
                         not list for this operation (it lists {listed}): remove it"
                    ),
                );
            }
        }
        for status in &statuses {
            let mapped = module.mapped.iter().any(|(_, s)| s == status);
            if !mapped && !module.errors.contains(status) {
                push(
                    operation.label(),
                    format!("{status} is neither mapped nor in `{module_name}::ERRORS`"),
                    false,
                    format!(
                        "the spec lists status {status}, which {shown} neither maps nor lists \
                         in `{module_name}::ERRORS`: decide what it means for the facade, then \
                         add a const to `{module_name}` and read it in the call, or add \
                         {status} to `{module_name}::ERRORS`"
                    ),
                );
            }
        }
    }
    for name in table.keys() {
        if !modules_used.contains(name) {
            push(
                "the facade".to_string(),
                format!("module `{name}` is named after no operation"),
                false,
                format!(
                    "{shown}: module `{name}` is named after no operationId of the spec: \
                     rename it after its operation's operationId (in snake case) or remove it"
                ),
            );
        }
    }
    findings
}

/// The numeric statuses an operation's responses list (not `default`).
fn spec_statuses(spec: &Node, operation: &Operation) -> Vec<u16> {
    let pointer = format!(
        "{}/responses",
        doc::operation_pointer(&operation.path, &operation.method)
    );
    let mut statuses: Vec<u16> = spec
        .pointer(&pointer)
        .and_then(Node::as_map)
        .map(|responses| responses.keys().filter_map(|k| k.parse().ok()).collect())
        .unwrap_or_default();
    statuses.sort_unstable();
    statuses
}

/// Reads `statuses.rs`: its modules, their `u16` consts and `ERRORS`.
fn read_status_table(path: &Path) -> Result<BTreeMap<String, StatusModule>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let file = syn::parse_file(&text).map_err(|e| format!("not valid Rust: {e}"))?;
    let mut table = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        let Some((_, items)) = &module.content else {
            continue;
        };
        let mut entry = StatusModule::default();
        for item in items {
            let syn::Item::Const(constant) = item else {
                continue;
            };
            let name = constant.ident.to_string();
            let place = format!("`{}::{name}`", module.ident);
            if name == "ERRORS" {
                entry.errors = status_list(&constant.expr)
                    .ok_or_else(|| format!("{place} is not a list of status numbers (`&[401]`)"))?;
            } else {
                let status = status_number(&constant.expr)
                    .ok_or_else(|| format!("{place} is not a status number"))?;
                entry.mapped.push((name, status));
            }
        }
        table.insert(module.ident.to_string(), entry);
    }
    Ok(table)
}

fn status_number(expr: &syn::Expr) -> Option<u16> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse().ok(),
        _ => None,
    }
}

/// `&[401, 403]`.
fn status_list(expr: &syn::Expr) -> Option<Vec<u16>> {
    let syn::Expr::Reference(reference) = expr else {
        return None;
    };
    let syn::Expr::Array(array) = reference.expr.as_ref() else {
        return None;
    };
    array.elems.iter().map(status_number).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_modules_are_the_operation_ids_in_snake_case() {
        assert_eq!(method_name("getButlerTasks"), "get_butler_tasks");
        assert_eq!(method_name("startTask"), "start_task");
        assert_eq!(method_name("get-HTTP-thing"), "get_http_thing");
        assert_eq!(method_name("type"), "type_");
    }

    #[test]
    fn the_status_table_is_read_module_by_module() {
        let dir = std::env::temp_dir().join(format!("xtask-statuses-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path = dir.join("statuses.rs");
        std::fs::write(
            &path,
            "pub(crate) mod start_task {\n\
             pub(crate) const STARTED: u16 = 200;\n\
             pub(crate) const ALREADY_RUNNING: u16 = 202;\n\
             pub(crate) const ERRORS: &[u16] = &[401, 403];\n}\n",
        )
        .expect("writes");
        let table = read_status_table(&path);
        let _ = std::fs::remove_dir_all(&dir);
        let table = table.expect("reads");
        let module = &table["start_task"];
        assert_eq!(
            module.mapped,
            vec![
                ("STARTED".to_string(), 200),
                ("ALREADY_RUNNING".to_string(), 202)
            ]
        );
        assert_eq!(module.errors, vec![401, 403]);
    }

    #[test]
    fn the_task_name_sources_each_list_names() {
        let root = workspace::root();
        for (path, kind) in TASK_NAME_SOURCES {
            let names = read_source(&root.join(path), *kind).expect("the source reads");
            assert!(names.len() >= 14, "{path}: {names:?}");
        }
    }
}
