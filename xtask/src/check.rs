//! `cargo xtask spec check`: is the spec fit to generate from, described,
//! true to the answers of real servers, and does it keep the house rules?
//!
//! - OpenAPI 3.0.x, operations each with a unique `operationId`, and the
//!   generator accepts it.
//! - Every named schema and every property is described.
//! - Every real answer in `fixtures/` decodes with its schema
//!   (`fixtures.rs`).
//! - `KnownTaskName` never loses a name: not against the spec at the base
//!   revision, nor against the sources the names come from
//!   ([`TASK_NAME_SOURCES`]). Adding a name needs no edit elsewhere.
//!
//! That the facade maps every status the spec lists is the facade's own
//! test, next to its table of operations.

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::spec::{self, resolve, str_of, strings};
use crate::workspace::{self, Location};
use crate::{Failure, fixtures};

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
    /// One name a line; blank lines and `#` comments skipped.
    Lines,
    /// A server's `GET /butler` answer as XML: each `ButlerTask`'s `name`.
    ButlerXml,
    /// An OpenAPI spec: the `enum` of every `task` parameter.
    TaskParameterEnum,
}

/// `spec check`: exit 0 when the spec keeps every rule, 1 when it does not.
pub fn run(spec_file: &Location, base: Option<String>) -> Result<ExitCode, Failure> {
    let text = workspace::read(spec_file)?;
    let mut problems = Vec::new();
    let mut summary = String::new();
    match spec::parse(&text) {
        Err(e) => problems.push(format!("the file: {e}")),
        Ok(doc) => {
            let operations = spec::operations(&doc);
            check_document(&doc, &text, &mut problems);
            check_descriptions(&doc, &mut problems);
            let root = workspace::root();
            for (file, method, path) in fixtures::ANSWERS {
                match std::fs::read_to_string(root.join(file)) {
                    Err(e) => problems.push(format!("the real answer {file}: cannot read it: {e}")),
                    Ok(answer) => {
                        let found =
                            fixtures::decode(&doc, method, path, &answer).unwrap_or_default();
                        for problem in found.into_iter().take(5) {
                            problems.push(format!(
                                "the real answer {file} ({} {path}) does not decode: {problem}",
                                method.to_uppercase()
                            ));
                        }
                    }
                }
            }
            let names = known_names(&doc);
            check_sources(&names, &mut problems);
            if let Some((shown, old)) = history(spec_file, base)?
                && let Some(lost) = lacking(&names, &old)
            {
                problems.push(format!(
                    "components.schemas.KnownTaskName: lost {lost} against {shown}: put them \
                     back (a known name is never removed: code naming it must keep compiling, \
                     and older servers still run the task)"
                ));
            }
            summary = format!(
                "OpenAPI {}, {} operations, each with a unique operationId; the generator \
                 accepts it; every schema and property is described; the real answers of its \
                 operations decode ({}); no task name lost.",
                str_of(&doc, "openapi").unwrap_or("?"),
                operations.len(),
                fixtures::ANSWERS
                    .iter()
                    .map(|(f, _, _)| *f)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if problems.is_empty() {
        println!("{}: ok: {summary}", spec_file.shown);
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        println!("error: {}: {problem}", spec_file.shown);
    }
    let s = if problems.len() == 1 { "" } else { "s" };
    println!("{}: {} problem{s} found.", spec_file.shown, problems.len());
    Ok(ExitCode::FAILURE)
}

fn check_document(doc: &Value, text: &str, problems: &mut Vec<String>) {
    let version_ok = match str_of(doc, "openapi") {
        Some(v) if v.starts_with("3.0.") => true,
        Some(v) => {
            problems.push(format!(
                "openapi: version {v}: the generator reads OpenAPI 3.0.x only (compare an \
                 upstream 3.1 spec with `cargo xtask spec diff --new FILE`)"
            ));
            false
        }
        None => {
            problems.push("openapi: no `openapi` field: this is not an OpenAPI document".into());
            false
        }
    };
    let operations = spec::operations(doc);
    if operations.is_empty() {
        problems.push("paths: the spec has no operations".into());
    }
    for (i, op) in operations.iter().enumerate() {
        match &op.id {
            None => problems.push(format!(
                "{}: no operationId: the generator names the raw client's method after it",
                op.label()
            )),
            Some(id) => {
                if let Some(first) = operations[..i].iter().find(|o| o.id.as_ref() == Some(id)) {
                    problems.push(format!(
                        "{}: operationId `{id}` is repeated: {} has it too",
                        op.label(),
                        first.label()
                    ));
                }
            }
        }
    }
    if version_ok && let Err(e) = crate::codegen::generate(text) {
        problems.push(format!(
            "the spec: the generator cannot turn it into a client: {e}"
        ));
    }
}

/// Every named schema, and every property of every schema (named or inline
/// anywhere), needs a description; a `$ref` is described when its target
/// is.
fn check_descriptions(doc: &Value, problems: &mut Vec<String>) {
    let has = |node: &Value| str_of(node, "description").is_some_and(|d| !d.trim().is_empty());
    let described = |node: &Value| has(node) || resolve(doc, node).is_some_and(has);
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for (name, schema) in schemas.into_iter().flatten() {
        if !described(schema) {
            problems.push(format!(
                "components.schemas.{name}: schema has no description"
            ));
        }
    }
    spec::visit(doc, "", &mut |pointer, node| {
        let Some(properties) = node.get("properties").and_then(Value::as_object) else {
            return;
        };
        // `properties` as a keyword, not a property of that name.
        if pointer.ends_with("/properties") {
            return;
        }
        for (name, property) in properties {
            if !described(property) {
                let place = spec::segments(pointer).join(".");
                let reason = match str_of(property, "$ref") {
                    Some(target) if resolve(doc, property).is_none() => {
                        format!("property refers to `{target}`, which does not exist")
                    }
                    Some(target) => format!("property has no description, nor has `{target}`"),
                    None => "property has no description".to_string(),
                };
                problems.push(format!("{place}.properties.{name}: {reason}"));
            }
        }
    });
}

/// The names of `listed` that `names` lacks, in backquotes; `None` when
/// it lacks none.
fn lacking(names: &[String], listed: &[String]) -> Option<String> {
    let missing: Vec<String> = (listed.iter().filter(|n| !names.contains(n)))
        .map(|n| format!("`{n}`"))
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// `KnownTaskName`'s names.
fn known_names(doc: &Value) -> Vec<String> {
    strings(&doc["components"]["schemas"]["KnownTaskName"], "enum")
}

/// Every source's names are in the spec.
fn check_sources(names: &[String], problems: &mut Vec<String>) {
    for (path, kind) in TASK_NAME_SOURCES {
        match read_source(&workspace::root().join(path), *kind) {
            Err(reason) => problems.push(format!(
                "task name source {path}: {reason}: cannot tell whether KnownTaskName keeps its \
                 names (restore the file, or change TASK_NAME_SOURCES in xtask/src/check.rs)"
            )),
            Ok(listed) => {
                if let Some(missing) = lacking(names, &listed) {
                    problems.push(format!(
                        "components.schemas.KnownTaskName: lacks {missing}, which {path} lists: \
                         add them to the enum (the sorted union of every source's names)"
                    ));
                }
            }
        }
    }
}

/// The task names a source lists.
pub fn read_source(path: &Path, kind: Source) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut names: Vec<String> = Vec::new();
    match kind {
        Source::Lines => {
            let lines = text.lines().map(str::trim);
            let lines = lines.filter(|l| !l.is_empty() && !l.starts_with('#'));
            names.extend(lines.map(str::to_string));
        }
        Source::ButlerXml => {
            let mut reader = quick_xml::Reader::from_str(&text);
            loop {
                use quick_xml::events::Event;
                match reader.read_event() {
                    Ok(Event::Eof) => break,
                    Ok(Event::Start(e) | Event::Empty(e)) if e.name().as_ref() == "ButlerTask" => {
                        for attribute in e
                            .attributes()
                            .flatten()
                            .filter(|a| a.key.as_ref() == "name")
                        {
                            let value = attribute
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(|e| format!("{}: {e}", path.display()))?;
                            names.push(value.into_owned());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("{} is not XML: {e}", path.display())),
                }
            }
        }
        Source::TaskParameterEnum => {
            let doc = spec::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            spec::visit(&doc, "", &mut |_, node| {
                if str_of(node, "name") == Some("task") && node.get("in").is_some() {
                    for name in strings(&node["schema"], "enum") {
                        if !names.contains(&name) {
                            names.push(name);
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

/// The base revision's task names, and how to name it; `None`, with a
/// note, when there is nothing to compare with: another file than the
/// workspace's spec without `--base`, or no `main` (a fresh clone).
fn history(
    spec_file: &Location,
    base: Option<String>,
) -> Result<Option<(String, Vec<String>)>, Failure> {
    let note = |why: String| {
        println!("note: task names not compared with a base revision: {why}");
        Ok(None)
    };
    let base = match base {
        Some(rev) => workspace::Base {
            rev,
            how: String::new(),
        },
        None => {
            let ours = workspace::root().join(workspace::SPEC);
            let same = matches!((spec_file.path.canonicalize(), ours.canonicalize()), (Ok(a), Ok(b)) if a == b);
            if !same {
                return note(format!(
                    "{} is not {} (pass `--base REV` to compare it with {} at REV)",
                    spec_file.shown,
                    workspace::SPEC,
                    workspace::SPEC
                ));
            }
            match workspace::default_base() {
                Ok(base) => base,
                Err(Failure(why)) => return note(why),
            }
        }
    };
    let text = workspace::spec_at(&base.rev)?;
    let old = spec::parse(&text)
        .map_err(|e| Failure(format!("{} at {}: {e}", workspace::SPEC, base.rev)))?;
    let shown = format!(
        "{} at {}{}",
        workspace::SPEC,
        workspace::short_rev(&base.rev),
        base.how
    );
    Ok(Some((shown, known_names(&old))))
}
