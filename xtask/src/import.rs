//! `cargo xtask spec import`: folds Plex's OpenAPI spec (the official one,
//! or the community's) into ours.
//!
//! What it covers: the Butler's areas (`/butler...` and `/activities...`),
//! new operations there included, and elsewhere exactly the routes our spec
//! holds (the settings, the sessions), whose answers' schemas stay ours. Upstream's operations there are matched to ours by
//! method and path, path parameters by position whatever their names, never
//! by operationId, which upstream renames between versions; the renames are
//! reported, and ours stay.
//!
//! What comes from upstream: its task names (the union with ours, sorted; a
//! name is never dropped, so older servers stay supported), its version
//! (`info.version`), and what it has that we lack: an operation, a status, a
//! parameter, a request body, a property of an answer. A new status takes
//! the shape our operation already gives that side (successes one shape,
//! errors one shape: the generator accepts no more) and must then be placed
//! in the facade's status table, which the verdict's facade rows name. What stays ours: operationIds, path
//! parameter names, open task names (`TaskName`), the statuses and bodies
//! real servers send, descriptions, and the parameters the client manages
//! itself (`Accept` and its stand-in `accepts`, the `X-Plex-*` identity
//! headers, the token), which are dropped with a note.
//!
//! A spec split into several files is bundled first (see [`bundle`]).
//!
//! A new operation is named by the house name for its route when there is
//! one and it is free (`GET /butler` is `getButlerTasks`, ...), otherwise by
//! upstream's operationId. Either way the facade must then wrap it, which
//! `cargo xtask spec check` reports until it does.
//!
//! Exit codes: see the command's `--help` (`after_help` in `main.rs`).

mod bundle;

use std::collections::BTreeSet;
use std::process::ExitCode;

use crate::Failure;
use crate::codegen;
use crate::convert::Converter;
use crate::diff::{self, Format};
use crate::doc::{self, Map, Node, operation_pointer};
use crate::verify::Build;
use crate::workspace::{self, Location};
use crate::yaml;

/// The house operationIds, by route and method: the legacy SDK names, and
/// names made the same way (verb, object) for the activities.
const HOUSE_NAMES: [(&str, &str, &str); 7] = [
    ("/butler", "get", "getButlerTasks"),
    ("/butler", "post", "startAllTasks"),
    ("/butler", "delete", "stopAllTasks"),
    ("/butler/{}", "post", "startTask"),
    ("/butler/{}", "delete", "stopTask"),
    ("/activities", "get", "getActivities"),
    ("/activities/{}", "delete", "cancelActivity"),
];

/// How to import.
pub struct Options {
    /// Show the changes, write nothing.
    pub dry_run: bool,
    pub format: Format,
    /// Build the facade against the result, to name a change that breaks it.
    pub build: bool,
}

/// `spec import`: `Err` (exit code 2) when nothing could be imported.
pub fn run(upstream: &Location, ours: &Location, options: Options) -> Result<ExitCode, Failure> {
    let format = options.format;
    let upstream_text =
        workspace::read(upstream).map_err(|Failure(e)| Failure(format!("{e}; nothing written")))?;
    let upstream_doc = doc::parse(&upstream_text)
        .map_err(|e| e.to_string())
        .and_then(|node| bundle::bundle(&upstream.path, &upstream.shown, node))
        .map_err(|e| Failure(format!("{}: {e}; nothing written", upstream.shown)))?;
    let ours_text = std::fs::read_to_string(&ours.path).map_err(|e| {
        Failure(format!(
            "cannot read our spec {}: {e} (import merges into an existing spec)",
            ours.shown
        ))
    })?;
    let ours_doc = doc::parse(&ours_text)
        .map_err(|e| Failure(format!("our spec {}: {e}; nothing written", ours.shown)))?;
    let imported = import(&upstream_doc, &ours_doc)
        .map_err(|e| Failure(format!("{}: {e}; nothing written", upstream.shown)))?;
    let text =
        yaml::write_spec(&imported.spec).map_err(|e| Failure(format!("{e}; nothing written")))?;
    codegen::generate(&text).map_err(|e| {
        Failure(format!(
            "the spec imported from {} cannot be turned into a client: {e}; nothing written",
            upstream.shown
        ))
    })?;

    let judgement = judge(&ours_text, &ours_doc, &text, &imported.spec, options.build)?;
    let mut out = diff::render_judgement(
        &judgement,
        format,
        &format!("`{}` before", ours.shown),
        &format!("the spec with `{}` imported", upstream.shown),
    );
    out.push_str(&render_notes(&imported.notes, format));
    out.push('\n');
    if text == ours_text {
        out.push_str(&format!("{} is unchanged.\n", ours.shown));
    } else if options.dry_run {
        out.push_str(&format!("Dry run: {} not written.\n", ours.shown));
    } else {
        std::fs::write(&ours.path, &text).map_err(|e| {
            Failure(format!(
                "cannot write {}: {e}; it may be partly written",
                ours.shown
            ))
        })?;
        out.push_str(&format!("Wrote {}.\n", ours.shown));
    }
    out.push_str(&plain(
        "Next: run `cargo xtask spec check` and `cargo xtask spec diff`.\n",
        format,
    ));
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The verdict on going from our spec to the imported one, as `spec diff`
/// gives it: with the facade built against the result unless `build` is
/// off. A build that cannot run does not stop the import: the verdict then
/// says the facade was not built, and why.
fn judge(
    ours_text: &str,
    ours: &Node,
    imported_text: &str,
    imported: &Node,
    build: bool,
) -> Result<diff::Judgement, Failure> {
    let without_build = |why: String| -> Result<diff::Judgement, Failure> {
        let report = diff::compare_specs(ours, imported)
            .map_err(|Failure(e)| Failure(format!("{e}; nothing written")))?;
        Ok(diff::Judgement {
            report,
            build: Build::NotRun(why),
        })
    };
    if !build {
        return without_build("--no-build was given".to_string());
    }
    match diff::judge(ours_text, imported_text) {
        Ok(judgement) => Ok(judgement),
        Err(Failure(e)) => without_build(format!("it could not be judged in full: {e}")),
    }
}

/// The notes, as a markdown list under a heading or as plain text.
fn render_notes(notes: &[String], format: Format) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    match format {
        Format::Markdown => {
            out.push_str("\n## Import notes\n\n");
            for note in notes {
                out.push_str(&format!("- {note}\n"));
            }
        }
        Format::Text => {
            out.push_str("\nNotes:\n");
            for note in notes {
                out.push_str(&format!("  - {}\n", plain(note, format)));
            }
        }
    }
    out
}

/// Text without markdown's code spans in the plain-text format, as
/// `spec diff` prints it.
fn plain(text: &str, format: Format) -> String {
    match format {
        Format::Markdown => text.to_string(),
        Format::Text => text.replace('`', ""),
    }
}

/// Our spec with upstream folded in, and what a reviewer should know.
#[derive(Debug)]
pub struct Imported {
    pub spec: Node,
    pub notes: Vec<String>,
}

/// Folds the operations of `upstream` (Plex's spec) in the areas our spec
/// covers into `ours`.
pub fn import(upstream: &Node, ours: &Node) -> Result<Imported, String> {
    check_upstream(upstream)?;
    check_ours(ours)?;
    let covered = covered_paths(upstream, ours)?;
    let version = upstream_version(upstream)?;
    let mut importer = Importer {
        converter: Converter::new(upstream),
        spec: ours.clone(),
        notes: Vec::new(),
        version,
        dropped: Vec::new(),
        renames: Vec::new(),
    };
    importer.fold_task_names(&covered)?;
    for (path, item) in &covered {
        importer.fold_path(path, item)?;
    }
    importer.note_kept_operations(&covered);
    importer.note_dropped_parameters();
    importer.set_version();
    // Renames first: they are what a reader comparing the two specs by
    // name needs before the rest.
    let mut notes = importer.renames;
    notes.extend(importer.notes);
    Ok(Imported {
        spec: importer.spec,
        notes,
    })
}

fn check_upstream(upstream: &Node) -> Result<(), String> {
    if upstream.as_map().is_none() {
        return Err("not an OpenAPI document (its top level is not a map)".to_string());
    }
    match upstream.get("openapi") {
        None => return Err("not an OpenAPI document: no `openapi` field".to_string()),
        Some(Node::String(v)) if v.starts_with("3.1.") || v.starts_with("3.0.") => {}
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| format!("{other:?}"), str::to_string);
            return Err(format!(
                "OpenAPI `{shown}` is not supported: import reads Plex's spec as OpenAPI 3.1 (or 3.0)"
            ));
        }
    }
    let title = upstream.pointer("/info/title").and_then(Node::as_str);
    match title {
        Some(title) if title.to_ascii_lowercase().contains("plex") => Ok(()),
        Some(title) => Err(format!(
            "not a Plex spec: its title is `{title}`; import reads Plex Media Server's OpenAPI spec"
        )),
        None => Err(
            "not a Plex spec: it has no `info.title`; import reads Plex Media Server's OpenAPI spec"
                .to_string(),
        ),
    }
}

/// The first segment of a path: `butler` for `/butler/{task}`.
fn area(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

/// Whether a path is the Butler's (`/butler`, `/butler/...`), where path
/// parameters are task names.
fn is_butler(path: &str) -> bool {
    area(path) == "butler"
}

/// The areas whose new operations import brings in: the Butler's own.
/// Elsewhere (the settings, the sessions) it covers exactly the routes our
/// spec holds: upstream has hundreds of operations under `/:` and
/// `/status`, which this client does not wrap.
const GROWING_AREAS: &[&str] = &["activities", "butler"];

/// Upstream's paths that our spec covers: every path in the Butler's areas
/// (`/butler...`, `/activities...`), and elsewhere the routes our spec
/// holds, with their path items (refs resolved).
fn covered_paths(upstream: &Node, ours: &Node) -> Result<Vec<(String, Node)>, String> {
    let our_routes: BTreeSet<String> = ours
        .get("paths")
        .and_then(Node::as_map)
        .map(|paths| paths.keys().map(doc::route_key).collect())
        .unwrap_or_default();
    let shown = GROWING_AREAS
        .iter()
        .map(|a| format!("`/{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let paths = upstream
        .get("paths")
        .and_then(Node::as_map)
        .ok_or_else(|| format!("none of our paths ({shown}, ...): it has no `paths` at all"))?;
    let converter = Converter::new(upstream);
    let mut out = Vec::new();
    for (path, item) in paths.iter() {
        if GROWING_AREAS.contains(&area(path)) || our_routes.contains(&doc::route_key(path)) {
            out.push((path.to_string(), converter.resolve(item)?));
        }
    }
    if out.is_empty() {
        return Err(format!("none of our paths ({shown}, or below them) in it"));
    }
    Ok(out)
}

fn check_ours(ours: &Node) -> Result<(), String> {
    let problem = |what: &str| Err(format!("our spec {what}; import keeps its conventions"));
    match ours.get_str("openapi") {
        Some(v) if v.starts_with("3.0.") => {}
        _ => return problem("is not OpenAPI 3.0.x"),
    }
    if ours
        .pointer("/components/schemas/KnownTaskName/enum")
        .and_then(Node::as_seq)
        .is_none()
    {
        return problem("has no `KnownTaskName` enum (components.schemas) to fold task names into");
    }
    if ours.get("paths").and_then(Node::as_map).is_none() {
        return problem("has no `paths`");
    }
    Ok(())
}

fn upstream_version(upstream: &Node) -> Result<String, String> {
    match upstream.pointer("/info/version") {
        Some(Node::String(v)) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Some(Node::Number(n)) => Ok(n.to_string()),
        _ => Err("it has no `info.version`".to_string()),
    }
}

struct Importer<'u> {
    converter: Converter<'u>,
    spec: Node,
    notes: Vec<String>,
    version: String,
    /// Parameters left to the client: why, upstream's name, and the
    /// operation's label.
    dropped: Vec<(Managed, String, String)>,
    /// Names upstream gives otherwise (operationIds, path parameters).
    renames: Vec<String>,
}

/// Why a parameter upstream declares is not one here: the client manages
/// it on every request.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Managed {
    /// `Accept`, or the community spec's stand-in `accepts`.
    Accept,
    /// `X-Plex-Client-Identifier`, `X-Plex-Product`, ...
    Identity,
    /// `X-Plex-Token`, as a header or in the query.
    Token,
}

/// Whether the client manages this (converted) parameter itself.
fn managed_by_client(parameter: &Node) -> Option<Managed> {
    let name = parameter.get_str("name")?.to_ascii_lowercase();
    match parameter.get_str("in")? {
        "header" if name == "accept" || name == "accepts" => Some(Managed::Accept),
        "header" | "query" if name == "x-plex-token" => Some(Managed::Token),
        "header" if name.starts_with("x-plex-") => Some(Managed::Identity),
        _ => None,
    }
}

impl Importer<'_> {
    fn fold_task_names(&mut self, covered: &[(String, Node)]) -> Result<(), String> {
        let mut upstream_names = Vec::new();
        for (_, item) in covered.iter().filter(|(path, _)| is_butler(path)) {
            for parameter in all_parameters(item) {
                let parameter = self.converter.resolve(parameter)?;
                if parameter.get_str("in") == Some("path")
                    && let Some(schema) = parameter.get("schema")
                {
                    self.enum_strings(schema, &mut upstream_names, 0)?;
                }
            }
        }
        let Some(Node::Seq(known)) = self
            .spec
            .pointer_mut("/components/schemas/KnownTaskName/enum")
        else {
            return Err("our spec has no `KnownTaskName` enum".to_string());
        };
        let mut names: Vec<String> = known
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect();
        let mut added = Vec::new();
        for name in upstream_names {
            if !names.contains(&name) {
                names.push(name.clone());
                added.push(name);
            }
        }
        names.sort();
        names.dedup();
        *known = names.into_iter().map(Node::String).collect();
        if !added.is_empty() {
            added.sort();
            self.notes.push(format!(
                "task names new from upstream, added to `KnownTaskName`: {}",
                added.join(", ")
            ));
        }
        Ok(())
    }

    /// The strings of a schema's enum (or const), through refs and
    /// `oneOf`/`anyOf` alternatives.
    fn enum_strings(
        &self,
        schema: &Node,
        out: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 16 {
            return Ok(());
        }
        let schema = self.converter.resolve(schema)?;
        if let Some(values) = schema.get("enum").and_then(Node::as_seq) {
            out.extend(values.iter().filter_map(Node::as_str).map(str::to_string));
        }
        if let Some(value) = schema.get_str("const") {
            out.push(value.to_string());
        }
        for key in ["oneOf", "anyOf"] {
            for alternative in schema.get(key).and_then(Node::as_seq).unwrap_or_default() {
                self.enum_strings(alternative, out, depth + 1)?;
            }
        }
        Ok(())
    }

    /// Our path for a route, if we have one.
    fn our_path(&self, route: &str) -> Option<String> {
        self.spec
            .get("paths")
            .and_then(Node::as_map)?
            .keys()
            .find(|p| doc::route_key(p) == route)
            .map(str::to_string)
    }

    fn fold_path(&mut self, upstream_path: &str, item: &Node) -> Result<(), String> {
        let route = doc::route_key(upstream_path);
        if let Some(our_path) = self.our_path(&route) {
            self.note_path_parameter_renames(upstream_path, &our_path);
        }
        for method in doc::METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let operation = self.converter.resolve(operation)?;
            let our_path = self.our_path(&route);
            let ours_has_it = our_path
                .as_ref()
                .is_some_and(|p| self.spec.pointer(&operation_pointer(p, method)).is_some());
            match our_path {
                Some(our_path) if ours_has_it => {
                    self.note_operation_id_rename(&our_path, method, &operation);
                    self.fold_operation(&our_path, method, item, &operation)?;
                }
                _ => self.add_operation(upstream_path, method, item, &operation)?,
            }
        }
        Ok(())
    }

    /// Notes the path parameters upstream names otherwise (by position in
    /// the path): ours stay, as the raw client's setters carry their names.
    fn note_path_parameter_renames(&mut self, upstream_path: &str, our_path: &str) {
        let upstream_names = path_parameter_names(upstream_path);
        let our_names = path_parameter_names(our_path);
        for (theirs, ours) in upstream_names.iter().zip(&our_names) {
            if theirs != ours {
                self.renames.push(format!(
                    "upstream names the path parameter `{theirs}` (`{upstream_path}`); \
                     ours stays `{ours}` (`{our_path}`)"
                ));
            }
        }
    }

    /// Notes an operationId upstream gives otherwise: ours stays, as the
    /// raw client's method carries it.
    fn note_operation_id_rename(&mut self, our_path: &str, method: &str, upstream_op: &Node) {
        let ours = self
            .spec
            .pointer(&operation_pointer(our_path, method))
            .and_then(|o| o.get_str("operationId"));
        if let (Some(ours), Some(theirs)) = (ours, upstream_op.get_str("operationId"))
            && ours != theirs
        {
            self.renames.push(format!(
                "upstream calls {} {our_path} `{theirs}`; ours stays `{ours}`",
                method.to_uppercase()
            ));
        }
    }

    /// Adds to one of our operations what upstream has and we lack.
    fn fold_operation(
        &mut self,
        our_path: &str,
        method: &str,
        upstream_item: &Node,
        upstream_op: &Node,
    ) -> Result<(), String> {
        let pointer = operation_pointer(our_path, method);
        let label = self.label(our_path, method);

        // Statuses we lack.
        if let Some(responses) = upstream_op.get("responses").and_then(Node::as_map) {
            for (status, response) in responses.iter() {
                let response_pointer = format!(
                    "{pointer}/responses/{}",
                    doc::escape_pointer_segment(status)
                );
                match self.spec.pointer(&response_pointer) {
                    None => self.add_status(our_path, method, status, response)?,
                    // Outside the Butler's areas our answers' schemas are
                    // deliberately the part this client reads (upstream's
                    // session has some sixty properties, two of them
                    // `rating` and `Rating`, which one Rust struct cannot
                    // hold).
                    Some(_) if GROWING_AREAS.contains(&area(our_path)) => {
                        self.fold_response_properties(&response_pointer, response)?;
                    }
                    Some(_) => {}
                }
            }
        }

        // Parameters we lack (path parameters are ours; identity headers
        // are sent by the client on every request).
        let mut ours_named = Vec::new();
        for parameter in self.our_parameters(our_path, method) {
            let resolved = self.resolve_ours(&parameter);
            if let (Some(name), Some(place)) = (resolved.get_str("name"), resolved.get_str("in")) {
                ours_named.push((name.to_string(), place.to_string()));
            }
        }
        let mut parameters = item_parameters(upstream_item);
        parameters.extend(
            upstream_op
                .get("parameters")
                .and_then(Node::as_seq)
                .unwrap_or_default(),
        );
        for parameter in parameters {
            let converted = self.converter.parameter(parameter)?;
            let (Some(name), Some(place)) = (converted.get_str("name"), converted.get_str("in"))
            else {
                continue;
            };
            if let Some(why) = managed_by_client(&converted) {
                self.dropped.push((why, name.to_string(), label.clone()));
                continue;
            }
            if place == "path" || ours_named.iter().any(|(n, p)| n == name && p == place) {
                continue;
            }
            let required = converted.get("required") == Some(&Node::Bool(true));
            let note = if required {
                format!(
                    "{label}: required {place} parameter `{name}` added from upstream: \
                     existing callers do not set it (`cargo xtask spec diff` calls it breaking)"
                )
            } else {
                format!("{label}: optional {place} parameter `{name}` added from upstream")
            };
            ours_named.push((name.to_string(), place.to_string()));
            if let Some(Node::Map(op)) = self.spec.pointer_mut(&pointer) {
                match op.get_mut("parameters") {
                    Some(Node::Seq(list)) => list.push(converted),
                    _ => op.insert("parameters", Node::Seq(vec![converted])),
                }
                self.notes.push(note);
            }
        }

        // A request body we lack.
        if let Some(body) = upstream_op.get("requestBody")
            && self
                .spec
                .pointer(&format!("{pointer}/requestBody"))
                .is_none()
        {
            let converted = self.request_body(body)?;
            if let Some(Node::Map(op)) = self.spec.pointer_mut(&pointer) {
                op.insert("requestBody", converted);
                self.notes
                    .push(format!("{label}: request body added from upstream"));
            }
        }
        Ok(())
    }

    /// Adds a status upstream answers and our operation lacks. Its body
    /// takes the shape our operation gives the other statuses of its side
    /// (success or error), when it has one: the generator accepts one shape
    /// per side, and ours is what servers send.
    fn add_status(
        &mut self,
        our_path: &str,
        method: &str,
        status: &str,
        upstream: &Node,
    ) -> Result<(), String> {
        let pointer = operation_pointer(our_path, method);
        let label = self.label(our_path, method);
        let mut converted = self.response(upstream)?;
        let side = Side::of(status);
        let shape = self.shape_of_side(&pointer, side);
        let mut note = format!("{label}: response {status} added from upstream");
        if let (Some(shape), Node::Map(response)) = (shape, &mut converted) {
            let theirs = response.get("content").cloned();
            if theirs.as_ref() != shape.as_ref() {
                note.push_str(&format!(
                    ", its body described as the operation's other {}: {} (upstream: {}), \
                     one shape per side",
                    side.plural(),
                    media_types(shape.as_ref()),
                    media_types(theirs.as_ref()),
                ));
            }
            match shape {
                Some(content) => response.insert("content", content),
                None => {
                    let kept: Map = response
                        .iter()
                        .filter(|(k, _)| *k != "content")
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect();
                    *response = kept;
                }
            }
        }
        if let Some(Node::Map(our_responses)) =
            self.spec.pointer_mut(&format!("{pointer}/responses"))
        {
            our_responses.insert(status, converted);
            self.notes.push(note);
        }
        Ok(())
    }

    /// The content (`None`: no body) our operation's responses on `side`
    /// share, refs to our components followed; `None` outside when it has
    /// no status on that side.
    fn shape_of_side(&self, operation_pointer: &str, side: Side) -> Option<Option<Node>> {
        let responses = self
            .spec
            .pointer(&format!("{operation_pointer}/responses"))
            .and_then(Node::as_map)?;
        let (_, response) = responses
            .iter()
            .find(|(status, _)| Side::of(status) == side)?;
        let resolved = self.resolve_ours(response);
        Some(resolved.get("content").cloned())
    }

    /// Adds the properties upstream's JSON answer has and ours (the
    /// response at `pointer`) lacks.
    fn fold_response_properties(&mut self, pointer: &str, upstream: &Node) -> Result<(), String> {
        let upstream = self.converter.resolve(upstream)?;
        let Some(upstream_schema) = upstream.pointer("/content/application~1json/schema") else {
            return Ok(());
        };
        let pointer = self.follow_refs(pointer);
        let schema_pointer = format!("{pointer}/content/application~1json/schema");
        if self.spec.pointer(&schema_pointer).is_some() {
            self.fold_properties(&schema_pointer, upstream_schema, 0)?;
        }
        Ok(())
    }

    /// Walks our schema (at `pointer`, following refs into our components)
    /// beside upstream's, adding upstream's properties we lack.
    fn fold_properties(
        &mut self,
        pointer: &str,
        upstream: &Node,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 32 {
            return Ok(());
        }
        let pointer = self.follow_refs(pointer);
        let upstream = self.converter.resolve(upstream)?;
        let Some(ours) = self.spec.pointer(&pointer).cloned() else {
            return Ok(());
        };
        let upstream_properties = self.properties(&upstream, 0)?;
        if let (Some(ours_properties), Some(upstream_properties)) = (
            ours.get("properties").and_then(Node::as_map),
            upstream_properties.as_ref(),
        ) {
            for (name, property) in upstream_properties.iter() {
                let property_pointer =
                    format!("{pointer}/properties/{}", doc::escape_pointer_segment(name));
                if ours_properties.contains_key(name) {
                    self.fold_properties(&property_pointer, property, depth + 1)?;
                    continue;
                }
                let mut converted = self.converter.schema(property)?;
                self.describe(&mut converted);
                if let Some(Node::Map(properties)) =
                    self.spec.pointer_mut(&format!("{pointer}/properties"))
                {
                    properties.insert(name, converted);
                    self.notes.push(format!(
                        "property `{name}` added from upstream to `{}`",
                        place_name(&pointer)
                    ));
                }
            }
        }
        if ours.get("items").is_some()
            && let Some(items) = upstream.get("items")
        {
            self.fold_properties(&format!("{pointer}/items"), items, depth + 1)?;
        }
        Ok(())
    }

    /// A schema's properties, with those of its `allOf` parts (the official
    /// spec writes containers so); `None` when it declares none.
    fn properties(&self, schema: &Node, depth: usize) -> Result<Option<Map>, String> {
        let schema = self.converter.resolve(schema)?;
        let mut out: Option<Map> = schema.get("properties").and_then(Node::as_map).cloned();
        if depth < 16 {
            for part in schema
                .get("allOf")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                if let Some(more) = self.properties(part, depth + 1)? {
                    let all = out.get_or_insert_with(Map::new);
                    for (name, property) in more.iter() {
                        if !all.contains_key(name) {
                            all.insert(name, property.clone());
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Gives a schema taken from upstream without a description one, and
    /// its properties too: every property is described here.
    fn describe(&self, schema: &mut Node) {
        if let Node::Map(map) = schema
            && !map.contains_key("description")
            && !map.contains_key("$ref")
        {
            map.insert(
                "description",
                Node::string(format!(
                    "Listed by Plex's specification {}, which does not describe it.",
                    self.version
                )),
            );
        }
        if let Some(items) = schema.as_map_mut().and_then(|m| m.get_mut("items")) {
            self.describe_nested(items);
        }
        self.describe_nested(schema);
    }

    /// Nested schemas (items) need descriptions only for their properties.
    fn describe_nested(&self, schema: &mut Node) {
        if let Some(Node::Map(properties)) =
            schema.as_map_mut().and_then(|m| m.get_mut("properties"))
        {
            let names: Vec<String> = properties.keys().map(str::to_string).collect();
            for name in names {
                if let Some(property) = properties.get_mut(&name) {
                    self.describe(property);
                }
            }
        }
    }

    /// A Butler operation we do not have, in house style.
    fn add_operation(
        &mut self,
        upstream_path: &str,
        method: &str,
        upstream_item: &Node,
        upstream_op: &Node,
    ) -> Result<(), String> {
        let route = doc::route_key(upstream_path);
        let our_path = self.our_path(&route);
        let path = our_path
            .clone()
            .unwrap_or_else(|| upstream_path.to_string());
        let shown = format!("{} {upstream_path}", method.to_uppercase());

        let used: Vec<String> = doc::operations(&self.spec)
            .into_iter()
            .filter_map(|o| o.id)
            .collect();
        let house = HOUSE_NAMES
            .iter()
            .find(|(r, m, id)| *r == route && *m == method && !used.iter().any(|u| u == id))
            .map(|(_, _, id)| id.to_string());
        let upstream_id = upstream_op.get_str("operationId").map(str::to_string);
        let (id, why) = match (house, upstream_id) {
            (Some(house), _) => (house, "the house name for this route"),
            (None, Some(id)) => (id, "upstream's operationId: no house name exists for it"),
            (None, None) => {
                return Err(format!(
                    "upstream's {shown} has no operationId and no house name exists for it"
                ));
            }
        };
        if used.contains(&id) {
            return Err(format!(
                "upstream's {shown} has operationId `{id}`, which our spec already uses \
                 for another operation"
            ));
        }

        let mut op = Map::new();
        op.insert("tags", Node::Seq(vec![Node::string("Butler")]));
        op.insert("operationId", Node::string(id.clone()));
        let summary = upstream_op.get_str("summary").map(str::trim).unwrap_or("");
        if !summary.is_empty() {
            op.insert("summary", Node::string(summary));
        }
        let description = upstream_op
            .get_str("description")
            .unwrap_or("")
            .trim_end()
            .to_string();
        op.insert(
            "description",
            Node::string(if description.is_empty() {
                format!("Listed by Plex's specification {}.\n", self.version)
            } else {
                format!("{description}\n")
            }),
        );

        // Path parameters: a path item of ours declares them for all its
        // operations; on a new path, they come from upstream, a task name
        // as our open `TaskName`.
        let ours_declares_path_parameters = our_path.as_ref().is_some_and(|p| {
            self.spec
                .pointer(&format!(
                    "/paths/{}/parameters",
                    doc::escape_pointer_segment(p)
                ))
                .and_then(Node::as_seq)
                .is_some_and(|s| !s.is_empty())
        });
        let mut parameters = Vec::new();
        let mut upstream_parameters = item_parameters(upstream_item);
        upstream_parameters.extend(
            upstream_op
                .get("parameters")
                .and_then(Node::as_seq)
                .unwrap_or_default(),
        );
        let label = format!("{} {path} ({id})", method.to_uppercase());
        for parameter in upstream_parameters {
            let mut converted = self.converter.parameter(parameter)?;
            if let Some(why) = managed_by_client(&converted) {
                let name = converted.get_str("name").unwrap_or("").to_string();
                self.dropped.push((why, name, label.clone()));
                continue;
            }
            if converted.get_str("in") == Some("path") {
                if ours_declares_path_parameters {
                    continue;
                }
                // Task names are open here: `TaskName`, not upstream's enum.
                if !is_butler(&path) {
                    parameters.push(converted);
                    continue;
                }
                let mut names = Vec::new();
                if let Some(schema) = self.converter.resolve(parameter)?.get("schema") {
                    self.enum_strings(schema, &mut names, 0)?;
                }
                if !names.is_empty()
                    && let Some(map) = converted.as_map_mut()
                {
                    let mut reference = Map::new();
                    reference.insert("$ref", Node::string("#/components/schemas/TaskName"));
                    map.insert("schema", Node::Map(reference));
                }
            }
            parameters.push(converted);
        }
        if !parameters.is_empty() {
            op.insert("parameters", Node::Seq(parameters));
        }
        if let Some(body) = upstream_op.get("requestBody") {
            op.insert("requestBody", self.request_body(body)?);
        }

        let mut responses = Map::new();
        if let Some(upstream_responses) = upstream_op.get("responses").and_then(Node::as_map) {
            for (status, response) in upstream_responses.iter() {
                responses.insert(status, self.response(response)?);
            }
        }
        // A missing or wrong token gets 401 on every Butler path.
        if !responses.contains_key("401")
            && self
                .spec
                .pointer("/components/responses/Unauthorized")
                .is_some()
        {
            let mut reference = Map::new();
            reference.insert("$ref", Node::string("#/components/responses/Unauthorized"));
            responses.insert("401", Node::Map(reference));
        }
        op.insert("responses", Node::Map(responses));

        let Some(Node::Map(paths)) = self.spec.as_map_mut().and_then(|m| m.get_mut("paths")) else {
            return Err("our spec has no `paths`".to_string());
        };
        let Some(item) = paths.map_entry(&path) else {
            return Err(format!("our path item `{path}` is not a map"));
        };
        item.insert(method, Node::Map(op));
        self.notes.push(format!(
            "new operation {} {path} added as `{id}` ({why}); the facade must wrap it \
             (`cargo xtask spec check` names it until it does)",
            method.to_uppercase()
        ));
        Ok(())
    }

    /// A response in house style: `text/html` bodies are our `HtmlBody`;
    /// other bodies converted to 3.0; headers and links left out.
    fn response(&self, response: &Node) -> Result<Node, String> {
        let resolved = self.converter.resolve(response)?;
        let mut out = Map::new();
        let description = resolved
            .get_str("description")
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or("No description upstream.");
        out.insert("description", Node::string(description));
        if let Some(content) = resolved.get("content").and_then(Node::as_map) {
            out.insert("content", Node::Map(self.content(content)?));
        }
        Ok(Node::Map(out))
    }

    fn request_body(&self, body: &Node) -> Result<Node, String> {
        let resolved = self.converter.resolve(body)?;
        let mut out = Map::new();
        for key in ["description", "required"] {
            if let Some(value) = resolved.get(key) {
                out.insert(key, value.clone());
            }
        }
        if let Some(content) = resolved.get("content").and_then(Node::as_map) {
            out.insert("content", Node::Map(self.content(content)?));
        }
        Ok(Node::Map(out))
    }

    fn content(&self, content: &Map) -> Result<Map, String> {
        let has_html_body = self.spec.pointer("/components/schemas/HtmlBody").is_some();
        let mut out = Map::new();
        for (media_type, media) in content.iter() {
            let mut converted = Map::new();
            if media_type == "text/html" && has_html_body {
                let mut reference = Map::new();
                reference.insert("$ref", Node::string("#/components/schemas/HtmlBody"));
                converted.insert("schema", Node::Map(reference));
            } else if let Some(schema) = media.get("schema") {
                let mut schema = self.converter.schema(schema)?;
                self.describe_nested(&mut schema);
                converted.insert("schema", schema);
            }
            out.insert(media_type, Node::Map(converted));
        }
        Ok(out)
    }

    /// Our parameters for an operation: its path item's and its own.
    fn our_parameters(&self, path: &str, method: &str) -> Vec<Node> {
        let item_pointer = format!("/paths/{}", doc::escape_pointer_segment(path));
        let mut out = Vec::new();
        for pointer in [
            format!("{item_pointer}/parameters"),
            format!("{item_pointer}/{method}/parameters"),
        ] {
            if let Some(list) = self.spec.pointer(&pointer).and_then(Node::as_seq) {
                out.extend(list.iter().cloned());
            }
        }
        out
    }

    /// Where the `$ref`s starting at `pointer` in our spec lead (a few at
    /// most, so a loop ends).
    fn follow_refs(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_string();
        for _ in 0..16 {
            match self.spec.pointer(&pointer).and_then(|n| n.get_str("$ref")) {
                Some(target) => pointer = target.trim_start_matches('#').to_string(),
                None => break,
            }
        }
        pointer
    }

    fn resolve_ours(&self, node: &Node) -> Node {
        doc::resolve(&self.spec, node).unwrap_or(node).clone()
    }

    fn label(&self, path: &str, method: &str) -> String {
        let operation = self.spec.pointer(&operation_pointer(path, method));
        doc::Operation {
            path: path.to_string(),
            method: method.to_string(),
            id: operation
                .and_then(|o| o.get_str("operationId"))
                .map(str::to_string),
        }
        .label()
    }

    /// Notes our operations that upstream does not list: kept.
    fn note_kept_operations(&mut self, covered: &[(String, Node)]) {
        let upstream: Vec<(String, &str)> = covered
            .iter()
            .flat_map(|(path, item)| {
                doc::METHODS
                    .iter()
                    .filter(|m| item.get(m).is_some())
                    .map(|m| (doc::route_key(path), *m))
                    .collect::<Vec<_>>()
            })
            .collect();
        for operation in doc::operations(&self.spec) {
            let route = doc::route_key(&operation.path);
            if !upstream
                .iter()
                .any(|(r, m)| *r == route && *m == operation.method)
            {
                self.notes.push(format!(
                    "upstream does not list {}; kept",
                    operation.label()
                ));
            }
        }
    }

    /// One note per kind of parameter the client manages, naming the
    /// parameters and where upstream declares them.
    fn note_dropped_parameters(&mut self) {
        for why in [Managed::Accept, Managed::Identity, Managed::Token] {
            let names: BTreeSet<&str> = self
                .dropped
                .iter()
                .filter(|(w, _, _)| *w == why)
                .map(|(_, name, _)| name.as_str())
                .collect();
            if names.is_empty() {
                continue;
            }
            let mut operations: Vec<&str> = Vec::new();
            for (w, _, label) in &self.dropped {
                if *w == why && !operations.contains(&label.as_str()) {
                    operations.push(label);
                }
            }
            let names = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let operations = operations.join(", ");
            let note = match why {
                Managed::Accept => format!(
                    "parameter {names} dropped (upstream declares it on {operations}): \
                     the client sets the `Accept` header itself"
                ),
                Managed::Identity => format!(
                    "identity headers {names} dropped (upstream declares them on {operations}): \
                     the client sends them on every request"
                ),
                Managed::Token => format!(
                    "token parameter {names} dropped (upstream declares it on {operations}): \
                     the client sends the token, as a header, on every request"
                ),
            };
            self.notes.push(note);
        }
    }

    fn set_version(&mut self) {
        if let Some(Node::Map(info)) = self.spec.as_map_mut().and_then(|m| m.get_mut("info")) {
            let old = info.get("version").cloned();
            if old.as_ref().and_then(Node::as_str) != Some(self.version.as_str()) {
                self.notes.push(format!(
                    "`info.version` is now {}: review the descriptions that name the \
                     upstream version (`info.description`, `KnownTaskName`)",
                    self.version
                ));
            }
            info.insert("version", Node::string(self.version.clone()));
        }
    }
}

/// A path item's own parameters (shared by its operations).
fn item_parameters(item: &Node) -> Vec<&Node> {
    item.get("parameters")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .collect()
}

/// The parameters of a path item and of all its operations.
fn all_parameters(item: &Node) -> Vec<&Node> {
    let mut out = item_parameters(item);
    for method in doc::METHODS {
        if let Some(list) = item
            .get(method)
            .and_then(|o| o.get("parameters"))
            .and_then(Node::as_seq)
        {
            out.extend(list.iter());
        }
    }
    out
}

/// The names of a path template's parameters, in order: `["task"]` for
/// `/butler/{task}`.
fn path_parameter_names(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

/// The two sides of an operation's answers, each of one shape for the
/// generator: successes (2xx) and errors (the rest).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Success,
    Error,
}

impl Side {
    fn of(status: &str) -> Side {
        if status.starts_with('2') {
            Side::Success
        } else {
            Side::Error
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Side::Success => "successes",
            Side::Error => "errors",
        }
    }
}

/// `text/html`, `application/json`: a response's media types, for notes.
fn media_types(content: Option<&Node>) -> String {
    match content.and_then(Node::as_map) {
        Some(map) if !map.is_empty() => map
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "no body".to_string(),
    }
}

/// `ButlerTask` for `/components/schemas/ButlerTask`, else the pointer.
fn place_name(pointer: &str) -> String {
    pointer
        .strip_prefix("/components/schemas/")
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .unwrap_or_else(|| pointer.to_string())
}
