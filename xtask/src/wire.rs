//! The wire side of `cargo xtask spec diff`: what changed between two
//! versions of the spec, and whether each change breaks existing clients
//! on the wire. The generated Rust's changes (`rust_api.rs`) are added to
//! the same report, grouped with the operation or schema they come from.
//!
//! The comparison is `drift`'s (oxidecomputer): operations added and
//! removed, parameters, statuses, request and response schemas, each with a
//! compatibility class. This module adds what `drift` 0.2 lacks:
//!
//! - enum values: `drift` reports a changed string enum as one unclassified
//!   "string schema changed"; here each value added or dropped (a task name)
//!   is a change of its own, classed by the rule below;
//! - object properties: `drift` reports "object properties changed" and
//!   "object required properties changed" without naming them; here each
//!   property added, removed, made required or optional is named and
//!   classed;
//! - renamed operationIds and path parameters (the same request on the
//!   wire; the Rust rows say what it does to the raw client), changed summaries and descriptions, named schemas
//!   added or removed, and `info.version` (sent as `X-Plex-Pms-Api-Version`);
//! - statuses added and removed: `drift` calls every added status breaking,
//!   though old clients read an unlisted error status as the error it is;
//!   see `compare_statuses`;
//! - a change of a response's (or request's) media types: `drift` panics on
//!   it (`assert!`/`todo!`), so it is reported here and hidden from `drift`.
//! - what `drift` does not look at, in `transport`: the security schemes
//!   (`type`, `in`, `name`, `scheme`; added and removed) and the security
//!   requirements of each operation, each parameter's `style`, `explode`
//!   and `allowReserved` (OpenAPI's defaults filled in), and the path part
//!   of `servers[].url`. These change no schema, yet a server that follows
//!   the new spec looks for the token, a parameter or the request
//!   somewhere old clients do not put it.
//!
//! **The rule.** A change is *breaking* when a client built on the old spec
//! can fail against a server that follows the new one, or loses something
//! it may use: an operation, a parameter, a property, an enum value (a task
//! name) removed; a success status, or a value of a closed enum, added to
//! answers; a status replaced by another; an input newly required; an
//! answer's property no longer required; the token, a parameter's
//! serialisation or the base path sent differently; a way to authenticate
//! no longer accepted. Additions old clients can ignore
//! are not breaking: an operation, an optional input, an error status (read
//! as an error, as any unlisted status is), a property of an answer, a
//! value of an open enum (a task name:
//! `TaskName` admits any string, so old clients read a new name as "another
//! name"), or a value only clients send. `drift`'s forward-incompatible
//! changes (new clients against older servers) are not breaking for
//! existing clients; what `drift` cannot classify is marked for review.

use std::collections::{BTreeMap, BTreeSet};

use crate::doc::{self, Node, resolve};
use crate::rust_api;

mod transport;

/// Whether a change breaks existing clients.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Class {
    Breaking,
    /// Not classified: read it and decide.
    Review,
    /// Not breaking, but asks for an edit (the facade's status table).
    ToDo,
    NotBreaking,
}

/// Which verdict a row gives: on the wire (does a client built on the old
/// spec work against a server that follows the new one?) or for Rust
/// source (does code written against the old generated client still
/// compile and run?).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum About {
    Wire,
    Rust,
    /// Does the facade still read every answer as it means to?
    Facade,
}

/// One change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Row {
    pub change: String,
    pub about: About,
    pub class: Class,
    pub why: String,
}

/// What a group of changes is about; the order of groups in the report.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum GroupKey {
    Document,
    /// An operation, by its place in the list of operations.
    Operation(usize),
    /// A path item's shared parts (its parameters).
    PathItem(String),
    /// A named component: section (`schemas`) and name.
    Component(String, String),
    /// A generated Rust item of no operation or schema (its title).
    RustItem(String),
    /// The facade's status table.
    Facade,
}

/// The changes about one operation, path or named schema.
#[derive(Clone, Debug)]
pub struct Group {
    key: GroupKey,
    pub title: String,
    /// The operations a named schema is used by.
    pub used_by: Option<Vec<String>>,
    pub rows: Vec<Row>,
}

/// All the changes, grouped.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub groups: Vec<Group>,
}

impl Report {
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.groups.iter().flat_map(|g| g.rows.iter())
    }

    /// How many changes have this class.
    pub fn count(&self, class: Class) -> usize {
        self.rows().filter(|r| r.class == class).count()
    }

    /// The breaking changes about one verdict.
    pub fn breaking_about(&self, about: About) -> usize {
        self.rows()
            .filter(|r| r.class == Class::Breaking && r.about == about)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// An operation of either side, matched by route and method.
#[derive(Debug, Clone)]
struct OperationEntry {
    route: String,
    method: String,
    old_path: Option<String>,
    new_path: Option<String>,
    old_id: Option<String>,
    new_id: Option<String>,
}

impl OperationEntry {
    /// `POST /butler/{task}`, as the newer side has it.
    fn request(&self) -> String {
        let path = self.new_path.as_deref().or(self.old_path.as_deref());
        format!("{} {}", self.method.to_uppercase(), path.unwrap_or("?"))
    }

    fn title(&self) -> String {
        match self.new_id.as_deref().or(self.old_id.as_deref()) {
            Some(id) => format!("`{}` ({id})", self.request()),
            None => format!("`{}`", self.request()),
        }
    }

    fn name(&self) -> String {
        let id = self.new_id.clone().or_else(|| self.old_id.clone());
        id.unwrap_or_else(|| self.request())
    }
}

/// Which way data flows through a schema.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Flow {
    /// Clients send it (parameters, request bodies).
    input: bool,
    /// Servers send it (responses).
    output: bool,
}

impl Flow {
    const INPUT: Flow = Flow {
        input: true,
        output: false,
    };
    const OUTPUT: Flow = Flow {
        input: false,
        output: true,
    };
    const BOTH: Flow = Flow {
        input: true,
        output: true,
    };

    fn or(self, other: Flow) -> Flow {
        Flow {
            input: self.input || other.input,
            output: self.output || other.output,
        }
    }

    /// A schema no operation uses is judged as if used both ways.
    fn or_both_when_unused(self) -> Flow {
        if self.input || self.output {
            self
        } else {
            Flow::BOTH
        }
    }
}

/// How one side's named components are used.
#[derive(Default, Debug)]
struct Usage {
    /// `/components/schemas/X` -> the operations (indices) using it, and how.
    components: BTreeMap<String, (BTreeSet<usize>, Flow)>,
}

/// Everything the comparison needs to know about both sides.
struct Context<'a> {
    old: &'a Node,
    new: &'a Node,
    operations: Vec<OperationEntry>,
    old_usage: Usage,
    new_usage: Usage,
}

/// Which document a pointer is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Old,
    New,
}

impl<'a> Context<'a> {
    fn new(old: &'a Node, new: &'a Node) -> Self {
        let mut operations: Vec<OperationEntry> = Vec::new();
        for (side, spec) in [(Side::New, new), (Side::Old, old)] {
            for op in doc::operations(spec) {
                let route = doc::route_key(&op.path);
                let entry = match operations
                    .iter_mut()
                    .find(|e| e.route == route && e.method == op.method)
                {
                    Some(entry) => entry,
                    None => {
                        operations.push(OperationEntry {
                            route: route.clone(),
                            method: op.method.clone(),
                            old_path: None,
                            new_path: None,
                            old_id: None,
                            new_id: None,
                        });
                        let last = operations.len() - 1;
                        &mut operations[last]
                    }
                };
                match side {
                    Side::Old => {
                        entry.old_path = Some(op.path);
                        entry.old_id = op.id;
                    }
                    Side::New => {
                        entry.new_path = Some(op.path);
                        entry.new_id = op.id;
                    }
                }
            }
        }
        let old_usage = usage(old, &operations, Side::Old);
        let new_usage = usage(new, &operations, Side::New);
        Context {
            old,
            new,
            operations,
            old_usage,
            new_usage,
        }
    }

    fn usage(&self, side: Side) -> &Usage {
        match side {
            Side::Old => &self.old_usage,
            Side::New => &self.new_usage,
        }
    }

    /// The group a pointer (in the given side's document) belongs to.
    fn group_of(&self, side: Side, pointer: &str) -> GroupKey {
        let segments = pointer_segments(pointer);
        match segments.as_slice() {
            [first, path, rest @ ..] if first == "paths" => {
                let route = doc::route_key(path);
                match rest.first() {
                    Some(method) if doc::METHODS.contains(&method.as_str()) => {
                        match self.operations.iter().position(|e| {
                            e.route == route
                                && e.method == *method
                                && match side {
                                    Side::Old => e.old_path.is_some(),
                                    Side::New => e.new_path.is_some(),
                                }
                        }) {
                            Some(i) => GroupKey::Operation(i),
                            None => GroupKey::PathItem(path.clone()),
                        }
                    }
                    _ => GroupKey::PathItem(path.clone()),
                }
            }
            [first, section, name, ..] if first == "components" => {
                GroupKey::Component(section.clone(), name.clone())
            }
            _ => GroupKey::Document,
        }
    }

    /// How data flows through the schema at `pointer`.
    fn flow_of(&self, side: Side, pointer: &str) -> Flow {
        let segments = pointer_segments(pointer);
        match segments.as_slice() {
            [first, _, method, part, ..]
                if first == "paths" && doc::METHODS.contains(&method.as_str()) =>
            {
                match part.as_str() {
                    "responses" => Flow::OUTPUT,
                    _ => Flow::INPUT,
                }
            }
            [first, _, part, ..] if first == "paths" && part == "parameters" => Flow::INPUT,
            [first, section, name, ..] if first == "components" => self
                .usage(side)
                .components
                .get(&format!("/components/{section}/{name}"))
                .map(|(_, flow)| *flow)
                .unwrap_or_default(),
            _ => Flow::default(),
        }
    }

    fn group_title(&self, key: &GroupKey) -> (String, Option<Vec<String>>) {
        match key {
            GroupKey::Document => ("the document".to_string(), None),
            GroupKey::Operation(i) => (
                self.operations
                    .get(*i)
                    .map(OperationEntry::title)
                    .unwrap_or_default(),
                None,
            ),
            GroupKey::PathItem(path) => (format!("`{path}` (all its operations)"), None),
            GroupKey::RustItem(title) => (title.clone(), None),
            GroupKey::Facade => (
                format!(
                    "the facade's status table (`{}`)",
                    crate::workspace::STATUS_TABLE
                ),
                None,
            ),
            GroupKey::Component(section, name) => {
                let kind = match section.as_str() {
                    "schemas" => "schema",
                    "responses" => "response",
                    "parameters" => "parameter",
                    "requestBodies" => "request body",
                    "securitySchemes" => "security scheme",
                    "headers" => "header",
                    other => other,
                };
                let pointer = format!("/components/{section}/{name}");
                let mut users = BTreeSet::new();
                for side in [Side::New, Side::Old] {
                    if let Some((ops, _)) = self.usage(side).components.get(&pointer) {
                        users.extend(ops.iter().copied());
                    }
                }
                let names = users
                    .into_iter()
                    .filter_map(|i| self.operations.get(i).map(OperationEntry::name))
                    .collect();
                (format!("{kind} `{name}`"), Some(names))
            }
        }
    }
}

/// Which named components each operation uses, and whether in its inputs
/// or its answers, following `$ref`s through components.
fn usage(spec: &Node, operations: &[OperationEntry], side: Side) -> Usage {
    let mut usage = Usage::default();
    for (index, entry) in operations.iter().enumerate() {
        let path = match side {
            Side::Old => entry.old_path.as_deref(),
            Side::New => entry.new_path.as_deref(),
        };
        let Some(path) = path else { continue };
        let item_pointer = format!("/paths/{}", doc::escape_pointer_segment(path));
        let Some(item) = spec.pointer(&item_pointer) else {
            continue;
        };
        let Some(operation) = item.get(&entry.method) else {
            continue;
        };
        let mut inputs = BTreeSet::new();
        let mut outputs = BTreeSet::new();
        for part in [item.get("parameters"), operation.get("parameters")]
            .into_iter()
            .chain([operation.get("requestBody")])
            .flatten()
        {
            collect_refs(spec, part, &mut inputs);
        }
        if let Some(responses) = operation.get("responses") {
            collect_refs(spec, responses, &mut outputs);
        }
        // A security requirement names its scheme, without a `$ref`.
        for scheme in transport::required_schemes(spec, operation) {
            inputs.insert(format!(
                "/components/securitySchemes/{}",
                doc::escape_pointer_segment(&scheme)
            ));
        }
        for (refs, flow) in [(inputs, Flow::INPUT), (outputs, Flow::OUTPUT)] {
            for target in refs {
                let entry = usage.components.entry(target).or_default();
                entry.0.insert(index);
                entry.1 = entry.1.or(flow);
            }
        }
    }
    usage
}

/// Every local `$ref` target reachable from `node` (pointers without `#`).
fn collect_refs(spec: &Node, node: &Node, found: &mut BTreeSet<String>) {
    let mut targets = Vec::new();
    node.visit(&mut |_, n| {
        if let Some(pointer) = n.get_str("$ref").and_then(|t| t.strip_prefix('#')) {
            targets.push(pointer.to_string());
        }
    });
    for pointer in targets {
        if found.insert(pointer.clone())
            && let Some(resolved) = spec.pointer(&pointer)
        {
            collect_refs(spec, resolved, found);
        }
    }
}

fn pointer_segments(pointer: &str) -> Vec<String> {
    doc::pointer_segments(pointer).unwrap_or_default()
}

/// Places where this module compared in detail what `drift` reports only
/// in summary; `drift`'s summary rows there are dropped.
#[derive(Default)]
struct Covered {
    /// String schemas whose only difference is their enum values.
    enums: BTreeSet<String>,
    /// Objects whose properties were compared one by one.
    properties: BTreeSet<String>,
    /// Objects whose required properties were compared one by one.
    required: BTreeSet<String>,
}

/// The rows found so far, by group.
#[derive(Default)]
struct Rows {
    by_group: BTreeMap<GroupKey, Vec<Row>>,
}

impl Rows {
    /// Adds a change on the wire.
    fn add(&mut self, group: GroupKey, class: Class, change: String, why: &str) {
        self.add_about(group, About::Wire, class, change, why);
    }

    fn add_about(
        &mut self,
        group: GroupKey,
        about: About,
        class: Class,
        change: String,
        why: &str,
    ) {
        let rows = self.by_group.entry(group).or_default();
        let row = Row {
            change,
            about,
            class,
            why: why.to_string(),
        };
        if !rows.contains(&row) {
            rows.push(row);
        }
    }
}

/// Compares two specs.
pub fn compare(old: &Node, new: &Node) -> Result<Report, String> {
    let context = Context::new(old, new);
    let mut rows = Rows::default();
    let mut covered = Covered::default();

    compare_document(&context, &mut rows);
    compare_operations(&context, &mut rows);
    compare_named_schemas(&context, &mut rows);
    transport::compare(&context, &mut rows);
    walk_both(&context, &mut rows, &mut covered);

    // drift panics on a change of media types; report those here and give
    // drift documents where they agree.
    let mut old_json = old.to_json();
    let mut new_json = new.to_json();
    align_media_types(&context, &mut old_json, &mut new_json, &mut rows);
    add_drift_rows(&context, &old_json, &new_json, &covered, &mut rows);

    let mut report = Report::default();
    merge_groups(&mut report, &context, rows);
    Ok(report)
}

/// Adds rows to the report's groups (a group per operation, schema or
/// item, in their order), breaking rows first in each.
fn merge_groups(report: &mut Report, context: &Context<'_>, rows: Rows) {
    let mut by_group: BTreeMap<GroupKey, Vec<Row>> = std::mem::take(&mut report.groups)
        .into_iter()
        .map(|g| (g.key, g.rows))
        .collect();
    for (key, group_rows) in rows.by_group {
        by_group.entry(key).or_default().extend(group_rows);
    }
    for (key, mut group_rows) in by_group {
        group_rows.sort_by_key(|r| r.class);
        let (title, used_by) = context.group_title(&key);
        report.groups.push(Group {
            key,
            title,
            used_by,
            rows: group_rows,
        });
    }
}

fn compare_document(context: &Context<'_>, rows: &mut Rows) {
    let old_version = version_text(context.old);
    let new_version = version_text(context.new);
    if old_version != new_version {
        rows.add(
            GroupKey::Document,
            Class::NotBreaking,
            format!(
                "`info.version` changed from `{}` to `{}`",
                old_version.unwrap_or_default(),
                new_version.unwrap_or_default()
            ),
            "clients send it as `X-Plex-Pms-Api-Version`; old clients keep sending theirs, and the server answers each as its version asks",
        );
    }
    let old_openapi = context.old.get_str("openapi");
    let new_openapi = context.new.get_str("openapi");
    if old_openapi != new_openapi {
        rows.add(
            GroupKey::Document,
            Class::Review,
            format!(
                "`openapi` changed from `{}` to `{}`",
                old_openapi.unwrap_or_default(),
                new_openapi.unwrap_or_default()
            ),
            "the generator reads OpenAPI 3.0.x only",
        );
    }
}

fn version_text(spec: &Node) -> Option<String> {
    match spec.pointer("/info/version")? {
        Node::String(s) => Some(s.trim().to_string()),
        Node::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn compare_operations(context: &Context<'_>, rows: &mut Rows) {
    for (index, entry) in context.operations.iter().enumerate() {
        let (Some(old_path), Some(new_path)) = (&entry.old_path, &entry.new_path) else {
            continue;
        };
        let group = GroupKey::Operation(index);
        if entry.old_id != entry.new_id {
            let shown = |id: &Option<String>| match id {
                Some(id) => format!("`{id}`"),
                None => "none".to_string(),
            };
            rows.add(
                group.clone(),
                Class::NotBreaking,
                format!(
                    "operationId changed from {} to {}",
                    shown(&entry.old_id),
                    shown(&entry.new_id)
                ),
                "the same request on the wire; the raw client's method is renamed (see the \
                 Rust rows)",
            );
        }
        if old_path != new_path {
            rows.add(
                group.clone(),
                Class::NotBreaking,
                format!("path parameter renamed: `{old_path}` is now `{new_path}`"),
                "the same request on the wire; the raw client's setter is renamed (see the \
                 Rust rows)",
            );
        }
        let pointer = |path: &str| doc::operation_pointer(path, &entry.method);
        let old_op = context.old.pointer(&pointer(old_path));
        let new_op = context.new.pointer(&pointer(new_path));
        if let (Some(old_op), Some(new_op)) = (old_op, new_op) {
            for field in ["summary", "description"] {
                if old_op.get_str(field) != new_op.get_str(field) {
                    rows.add(
                        group.clone(),
                        Class::NotBreaking,
                        format!("{field} changed"),
                        "documentation only",
                    );
                }
            }
            let old_responses = old_op.get("responses").and_then(Node::as_map);
            let new_responses = new_op.get("responses").and_then(Node::as_map);
            if let (Some(old_responses), Some(new_responses)) = (old_responses, new_responses) {
                compare_statuses(&group, old_responses, new_responses, rows);
                for (status, new_response) in new_responses.iter() {
                    let Some(old_response) = old_responses.get(status) else {
                        continue;
                    };
                    let describe = |spec: &Node, r: &Node| {
                        resolve(spec, r)
                            .and_then(|r| r.get_str("description"))
                            .map(str::to_string)
                    };
                    if describe(context.old, old_response) != describe(context.new, new_response) {
                        rows.add(
                            group.clone(),
                            Class::NotBreaking,
                            format!("description of response {status} changed"),
                            "documentation only",
                        );
                    }
                }
            }
        }
    }
}

/// Statuses added and removed, judged by what an old client does with an
/// answer it was not told about: it reads an unlisted status as an error.
/// So a new error status changes nothing for it, a new success may be
/// misread, and a status that replaces another changes what an answer
/// means. (drift calls every added status breaking; its rows are dropped.)
fn compare_statuses(group: &GroupKey, old: &doc::Map, new: &doc::Map, rows: &mut Rows) {
    let gone: Vec<&str> = old.keys().filter(|s| !new.contains_key(s)).collect();
    let added: Vec<&str> = new.keys().filter(|s| !old.contains_key(s)).collect();
    let list = |statuses: &[&str]| statuses.join(", ");
    if !gone.is_empty() && !added.is_empty() {
        let (is, are) = (
            if gone.len() == 1 { "is" } else { "are" },
            if added.len() == 1 { "is" } else { "are" },
        );
        rows.add(
            group.clone(),
            Class::Breaking,
            format!("status {} replaced by {}", list(&gone), list(&added)),
            &format!(
                "an answer changed meaning: {} {is} gone and {} {are} new",
                list(&gone),
                list(&added)
            ),
        );
        return;
    }
    for status in added {
        let (class, why) = match status.chars().next() {
            Some('4' | '5') => (
                Class::NotBreaking,
                "an error status: old clients read it as an error, as they read any unlisted \
                 status",
            ),
            Some('2' | '3') => (
                Class::Breaking,
                "a success status: old clients may misread a success",
            ),
            _ => (
                Class::Review,
                "neither a success nor an error status: review it",
            ),
        };
        rows.add(group.clone(), class, format!("status {status} added"), why);
    }
    for status in gone {
        rows.add(
            group.clone(),
            Class::NotBreaking,
            format!("status {status} removed"),
            "old clients no longer get it; clients built on the new spec can fail against \
             older servers that still send it",
        );
    }
}

fn compare_named_schemas(context: &Context<'_>, rows: &mut Rows) {
    let names = |spec: &Node| -> Vec<String> {
        spec.pointer("/components/schemas")
            .and_then(Node::as_map)
            .map(|m| m.keys().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let old_names = names(context.old);
    let new_names = names(context.new);
    for name in &old_names {
        if !new_names.contains(name) {
            rows.add(
                GroupKey::Component("schemas".to_string(), name.clone()),
                Class::NotBreaking,
                "schema removed".to_string(),
                "where it was used is compared on its own; its Rust type in the Rust rows",
            );
        }
    }
    for name in &new_names {
        if !old_names.contains(name) {
            rows.add(
                GroupKey::Component("schemas".to_string(), name.clone()),
                Class::NotBreaking,
                "schema added".to_string(),
                "where it is used is compared on its own",
            );
        }
    }
}

/// Walks both documents side by side, path items matched by route, and
/// compares enums, properties and required properties where both have them.
fn walk_both(context: &Context<'_>, rows: &mut Rows, covered: &mut Covered) {
    let mut walker = Walker {
        context,
        rows,
        covered,
    };
    if let (Some(old_paths), Some(new_paths)) = (
        context.old.get("paths").and_then(Node::as_map),
        context.new.get("paths").and_then(Node::as_map),
    ) {
        for (new_path, new_item) in new_paths.iter() {
            let route = doc::route_key(new_path);
            if let Some((old_path, old_item)) =
                old_paths.iter().find(|(p, _)| doc::route_key(p) == route)
            {
                walker.walk(
                    old_item,
                    new_item,
                    &format!("/paths/{}", doc::escape_pointer_segment(old_path)),
                    &format!("/paths/{}", doc::escape_pointer_segment(new_path)),
                );
            }
        }
    }
    if let (Some(old_components), Some(new_components)) =
        (context.old.get("components"), context.new.get("components"))
    {
        walker.walk(old_components, new_components, "/components", "/components");
    }
}

struct Walker<'c, 'a> {
    context: &'c Context<'a>,
    rows: &'c mut Rows,
    covered: &'c mut Covered,
}

impl Walker<'_, '_> {
    fn walk(&mut self, old: &Node, new: &Node, old_pointer: &str, new_pointer: &str) {
        match (old, new) {
            (Node::Map(old_map), Node::Map(new_map)) => {
                self.compare_enum(old, new, old_pointer, new_pointer);
                self.compare_properties(old, new, new_pointer);
                for (key, new_value) in new_map.iter() {
                    if let Some(old_value) = old_map.get(key)
                        && matches!(new_value, Node::Map(_) | Node::Seq(_))
                    {
                        let segment = doc::escape_pointer_segment(key);
                        self.walk(
                            old_value,
                            new_value,
                            &format!("{old_pointer}/{segment}"),
                            &format!("{new_pointer}/{segment}"),
                        );
                    }
                }
            }
            (Node::Seq(old_items), Node::Seq(new_items)) => {
                for (i, (old_item, new_item)) in old_items.iter().zip(new_items).enumerate() {
                    self.walk(
                        old_item,
                        new_item,
                        &format!("{old_pointer}/{i}"),
                        &format!("{new_pointer}/{i}"),
                    );
                }
            }
            _ => {}
        }
    }

    fn compare_enum(&mut self, old: &Node, new: &Node, old_pointer: &str, new_pointer: &str) {
        let (Some(old_values), Some(new_values)) = (
            old.get("enum").and_then(Node::as_seq),
            new.get("enum").and_then(Node::as_seq),
        ) else {
            return;
        };
        // drift's "string schema changed" covers format, pattern, lengths
        // and enum; when only the enum differs, the rows here say it all.
        let others_equal = ["type", "format", "pattern", "minLength", "maxLength"]
            .iter()
            .all(|k| old.get(k) == new.get(k));
        if others_equal {
            self.covered.enums.insert(new_pointer.to_string());
        }
        let group = self.context.group_of(Side::New, new_pointer);
        let task_names = new_pointer.ends_with("/KnownTaskName");
        let what = if task_names {
            "task name"
        } else {
            "enum value"
        };
        for value in old_values {
            if !new_values.contains(value) {
                let why = if task_names {
                    "clients that name this task by its known name lose it; \
                     `KnownTaskName` must never lose a name, so older servers stay supported"
                } else {
                    "clients that send or match this value lose it"
                };
                self.rows.add(
                    group.clone(),
                    Class::Breaking,
                    format!("{what} {} dropped", shown_value(value)),
                    why,
                );
            }
        }
        let flow = self
            .context
            .flow_of(Side::New, new_pointer)
            .or(self.context.flow_of(Side::Old, old_pointer))
            .or_both_when_unused();
        let open = is_open_enum(self.context.new, new_pointer);
        for value in new_values {
            if old_values.contains(value) {
                continue;
            }
            let (class, why) = if open {
                (
                    Class::NotBreaking,
                    "the set is open (any other string is accepted too): old clients \
                     read it as an unlisted name",
                )
            } else if flow.output {
                (
                    Class::Breaking,
                    "the enum is closed and in answers: old clients cannot read an answer \
                     carrying it",
                )
            } else {
                (
                    Class::NotBreaking,
                    "only clients send it; old clients just do not know it",
                )
            };
            self.rows.add(
                group.clone(),
                class,
                format!("{what} {} added", shown_value(value)),
                why,
            );
        }
    }

    fn compare_properties(&mut self, old: &Node, new: &Node, new_pointer: &str) {
        let old_properties = old.get("properties").and_then(Node::as_map);
        let new_properties = new.get("properties").and_then(Node::as_map);
        let required = |n: &Node| -> Vec<String> {
            n.get("required")
                .and_then(Node::as_seq)
                .map(|s| {
                    s.iter()
                        .filter_map(Node::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let old_required = required(old);
        let new_required = required(new);
        let (Some(old_properties), Some(new_properties)) = (old_properties, new_properties) else {
            return;
        };
        self.covered.properties.insert(new_pointer.to_string());
        self.covered.required.insert(new_pointer.to_string());
        let group = self.context.group_of(Side::New, new_pointer);
        let flow = self
            .context
            .flow_of(Side::New, new_pointer)
            .or_both_when_unused();
        let place = schema_place(new_pointer);
        for name in old_properties.keys() {
            if !new_properties.contains_key(name) {
                self.rows.add(
                    group.clone(),
                    Class::Breaking,
                    format!("property `{name}` removed{place}"),
                    "clients that read or send it lose it",
                );
            }
        }
        for name in new_properties.keys() {
            if old_properties.contains_key(name) {
                continue;
            }
            let is_required = new_required.iter().any(|r| r == name);
            let (class, why) = if is_required && flow.input {
                (
                    Class::Breaking,
                    "required from clients, and old clients do not send it",
                )
            } else if flow.output {
                (Class::NotBreaking, "old clients ignore it in answers")
            } else {
                (Class::NotBreaking, "optional: old clients need not send it")
            };
            let kind = if is_required { "required" } else { "optional" };
            self.rows.add(
                group.clone(),
                class,
                format!("{kind} property `{name}` added{place}"),
                why,
            );
        }
        for name in new_properties.keys() {
            if !old_properties.contains_key(name) {
                continue;
            }
            let was = old_required.iter().any(|r| r == name);
            let is = new_required.iter().any(|r| r == name);
            if !was && is {
                let (class, why) = if flow.input {
                    (Class::Breaking, "old clients may not send it")
                } else {
                    (Class::NotBreaking, "answers now always carry it")
                };
                self.rows.add(
                    group.clone(),
                    class,
                    format!("property `{name}` is now required{place}"),
                    why,
                );
            } else if was && !is {
                let (class, why) = if flow.output {
                    (
                        Class::Breaking,
                        "old clients expect it in every answer and fail without it",
                    )
                } else {
                    (Class::NotBreaking, "clients may now leave it out")
                };
                self.rows.add(
                    group.clone(),
                    class,
                    format!("property `{name}` is now optional{place}"),
                    why,
                );
            }
        }
    }
}

/// ` (at responses/200/...)` for an inline schema inside an operation or
/// below a named schema's root; empty at a named schema's root.
fn schema_place(pointer: &str) -> String {
    let segments = pointer_segments(pointer);
    let rest: Vec<&str> = match segments.first().map(String::as_str) {
        Some("paths") => segments.iter().skip(3).map(String::as_str).collect(),
        Some("components") => segments.iter().skip(3).map(String::as_str).collect(),
        _ => segments.iter().map(String::as_str).collect(),
    };
    if rest.is_empty() {
        String::new()
    } else {
        format!(" (at `{}`)", rest.join("/"))
    }
}

fn shown_value(value: &Node) -> String {
    match value {
        Node::String(s) => format!("`{s}`"),
        other => format!("`{}`", other.to_json()),
    }
}

/// Whether the enum schema at `pointer` is open: every place that uses it
/// is an alternative of a `oneOf`/`anyOf` that also admits any string (as
/// `TaskName` does with `KnownTaskName`).
fn is_open_enum(spec: &Node, pointer: &str) -> bool {
    let target = format!("#{pointer}");
    let mut uses = Vec::new();
    spec.visit(&mut |here, node| {
        if node.get_str("$ref") == Some(target.as_str()) {
            uses.push(here.to_string());
        }
    });
    if !pointer.starts_with("/components/schemas/") || pointer_segments(pointer).len() != 3 {
        uses.push(pointer.to_string());
    }
    !uses.is_empty() && uses.iter().all(|u| is_alternative_to_any_string(spec, u))
}

fn is_alternative_to_any_string(spec: &Node, pointer: &str) -> bool {
    let Some((parent, index)) = pointer.rsplit_once('/') else {
        return false;
    };
    if !(parent.ends_with("/oneOf") || parent.ends_with("/anyOf")) {
        return false;
    }
    let Some(alternatives) = spec.pointer(parent).and_then(Node::as_seq) else {
        return false;
    };
    alternatives.iter().enumerate().any(|(i, alt)| {
        i.to_string() != index
            && alt.get_str("type") == Some("string")
            && ["enum", "pattern", "format", "maxLength", "minLength"]
                .iter()
                .all(|k| alt.get(k).is_none())
    })
}

/// Where an operation's response (or request body) has different media
/// types, or a schema on one side only, reports it and makes the two agree
/// in the documents given to drift, which cannot compare them.
fn align_media_types(
    context: &Context<'_>,
    old_json: &mut serde_json::Value,
    new_json: &mut serde_json::Value,
    rows: &mut Rows,
) {
    for (index, entry) in context.operations.iter().enumerate() {
        let (Some(old_path), Some(new_path)) = (&entry.old_path, &entry.new_path) else {
            continue;
        };
        let op_pointer = |path: &str| doc::operation_pointer(path, &entry.method);
        let old_op = op_pointer(old_path);
        let new_op = op_pointer(new_path);
        let mut places: Vec<(String, String)> = Vec::new();
        if let Some(statuses) = context
            .new
            .pointer(&format!("{new_op}/responses"))
            .and_then(Node::as_map)
        {
            for status in statuses.keys() {
                places.push((
                    format!("response {status}"),
                    format!("/responses/{}", doc::escape_pointer_segment(status)),
                ));
            }
        }
        places.push(("request body".to_string(), "/requestBody".to_string()));
        for (label, suffix) in places {
            let old_at = format!("{old_op}{suffix}");
            let new_at = format!("{new_op}{suffix}");
            let (Some(old_node), Some(new_node)) =
                (context.old.pointer(&old_at), context.new.pointer(&new_at))
            else {
                continue;
            };
            let (Some(old_resolved), Some(new_resolved)) = (
                resolve(context.old, old_node),
                resolve(context.new, new_node),
            ) else {
                continue;
            };
            let media = |n: &Node| -> Vec<(String, bool)> {
                n.get("content")
                    .and_then(Node::as_map)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.to_string(), v.get("schema").is_some()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let old_media = media(old_resolved);
            let new_media = media(new_resolved);
            let old_types: Vec<&str> = old_media.iter().map(|(t, _)| t.as_str()).collect();
            let new_types: Vec<&str> = new_media.iter().map(|(t, _)| t.as_str()).collect();
            let mut differs = false;
            let mut old_sorted = old_types.clone();
            old_sorted.sort_unstable();
            let mut new_sorted = new_types.clone();
            new_sorted.sort_unstable();
            if old_sorted != new_sorted {
                differs = true;
                let list = |v: &[&str]| {
                    if v.is_empty() {
                        "none".to_string()
                    } else {
                        v.iter()
                            .map(|t| format!("`{t}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                rows.add(
                    GroupKey::Operation(index),
                    Class::Breaking,
                    format!(
                        "{label}: media types changed from {} to {}",
                        list(&old_types),
                        list(&new_types)
                    ),
                    "old clients decode the old media types",
                );
            } else {
                for (media_type, new_has_schema) in &new_media {
                    let old_has_schema = old_media.iter().any(|(t, has)| t == media_type && *has);
                    if old_has_schema != *new_has_schema {
                        differs = true;
                        let what = if *new_has_schema { "added" } else { "removed" };
                        rows.add(
                            GroupKey::Operation(index),
                            Class::Breaking,
                            format!("{label}: schema of `{media_type}` {what}"),
                            "old clients decode the body the old way",
                        );
                    }
                }
            }
            if differs {
                for (json, at) in [(&mut *old_json, &old_at), (&mut *new_json, &new_at)] {
                    if let Some(slot) = json.pointer_mut(at) {
                        *slot = serde_json::json!({ "description": "", "content": {} });
                    }
                }
            }
        }
    }
}

/// Runs drift and adds its changes, except the summaries this module has
/// detailed.
fn add_drift_rows(
    context: &Context<'_>,
    old_json: &serde_json::Value,
    new_json: &serde_json::Value,
    covered: &Covered,
    rows: &mut Rows,
) {
    let changes = match run_drift(old_json, new_json) {
        Ok(changes) => changes,
        Err(problem) => {
            rows.add(
                GroupKey::Document,
                Class::Review,
                format!("drift could not compare the specs: {problem}"),
                "compare them by hand",
            );
            return;
        }
    };
    for change in changes {
        let Some(path) = change.paths.first() else {
            continue;
        };
        for info in &change.changes {
            // An operation removed is reported at the old document's
            // operation, everything else at the new document's place.
            let (new_base, _) = path.new.base_and_subpath();
            let (side, base, subpath) = if new_base == "#/paths" {
                let (old_base, _) = path.old.base_and_subpath();
                (Side::Old, old_base, info.old_subpath.as_str())
            } else {
                (Side::New, new_base, info.new_subpath.as_str())
            };
            let base = base.strip_prefix('#').unwrap_or(base);
            let pointer = if subpath.is_empty() {
                base.to_string()
            } else {
                format!("{base}/{subpath}")
            };
            // Statuses are judged by `compare_statuses`.
            if info
                .message
                .starts_with("operation added a new response code")
                || info
                    .message
                    .starts_with("operation no longer responds with status")
            {
                continue;
            }
            let summarised = match info.message.as_str() {
                "string schema changed" => covered.enums.contains(&pointer),
                "object properties changed" => covered.properties.contains(&pointer),
                "object required properties changed" => covered.required.contains(&pointer),
                _ => false,
            };
            if summarised {
                continue;
            }
            let (class, why) = match info.class {
                drift::ChangeClass::BackwardIncompatible => (
                    Class::Breaking,
                    "old clients can fail against a server that follows the new spec",
                ),
                drift::ChangeClass::Incompatible => (
                    Class::Breaking,
                    "old clients can fail against the new server, and new clients against old servers",
                ),
                drift::ChangeClass::ForwardIncompatible => (
                    Class::NotBreaking,
                    "not for existing clients; clients built on the new spec can fail \
                     against older servers",
                ),
                drift::ChangeClass::Trivial => (Class::NotBreaking, "documentation only"),
                drift::ChangeClass::Unhandled => (
                    Class::Review,
                    "drift does not classify this change: review it",
                ),
            };
            let place = if subpath.is_empty() {
                String::new()
            } else {
                let shown = pointer_segments(&format!("/{subpath}")).join("/");
                format!(" (at `{shown}`)")
            };
            rows.add(
                context.group_of(side, &pointer),
                class,
                format!("{}{place}", sentence_case(&info.message)),
                why,
            );
        }
    }
}

fn sentence_case(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// drift, with its panics (it asserts on cases it does not handle) turned
/// into errors.
fn run_drift(
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Result<Vec<drift::Change>, String> {
    let result = crate::codegen::quietly(|| drift::compare(old, new));
    match result {
        Ok(Ok(changes)) => Ok(changes),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(message) => Err(message),
    }
}

/// Adds the changes of the generated Rust to the report, each in the group
/// of its operation or schema.
pub fn add_rust_rows(report: &mut Report, old: &Node, new: &Node, changes: &[rust_api::Change]) {
    let context = Context::new(old, new);
    let mut rows = Rows::default();
    for change in changes {
        let group = match &change.place {
            rust_api::Place::Method(name, request) => request
                .as_ref()
                .and_then(|(method, path)| {
                    let route = doc::route_key(path);
                    context
                        .operations
                        .iter()
                        .position(|e| e.route == route && e.method == *method)
                })
                .map(GroupKey::Operation)
                .unwrap_or_else(|| GroupKey::RustItem(format!("method `Client::{name}`"))),
            rust_api::Place::Type(name) => {
                let pointer = format!("/components/schemas/{name}");
                if old.pointer(&pointer).is_some() || new.pointer(&pointer).is_some() {
                    GroupKey::Component("schemas".to_string(), name.clone())
                } else {
                    GroupKey::RustItem(format!("generated type `{name}`"))
                }
            }
        };
        rows.add_about(
            group,
            About::Rust,
            change.class,
            change.change.clone(),
            change.why,
        );
    }
    merge_groups(report, &context, rows);
}

/// Adds the facade's rows (`About::Facade`) to the report, in a group of
/// their own.
pub fn add_facade_rows(report: &mut Report, old: &Node, new: &Node, rows: Vec<Row>) {
    let context = Context::new(old, new);
    let mut grouped = Rows::default();
    for row in rows {
        grouped
            .by_group
            .entry(GroupKey::Facade)
            .or_default()
            .push(row);
    }
    merge_groups(report, &context, grouped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse;

    /// A spec with one operation: `GET /x` answering a `Thing` and taking
    /// a `kind` query parameter, each with an enum.
    fn spec(answer_values: &str, query_values: &str, required: &str) -> Node {
        parse(&format!(
            "openapi: 3.0.3
info: {{title: t, version: '1'}}
paths:
  /x:
    get:
      operationId: getX
      parameters:
        - {{name: kind, in: query, schema: {{$ref: '#/components/schemas/Kind'}}}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Thing'}}
components:
  schemas:
    Thing:
      type: object
      required: [{required}]
      properties:
        state: {{type: string, enum: [{answer_values}]}}
        size: {{type: integer}}
    Kind: {{type: string, enum: [{query_values}]}}
"
        ))
        .expect("parses")
    }

    fn rows(old: &Node, new: &Node) -> Vec<Row> {
        compare(old, new)
            .expect("compares")
            .rows()
            .cloned()
            .collect()
    }

    fn class_of(rows: &[Row], change: &str) -> Class {
        rows.iter()
            .find(|r| r.change.contains(change))
            .unwrap_or_else(|| panic!("no `{change}` in {rows:#?}"))
            .class
    }

    #[test]
    fn a_value_added_to_a_closed_enum_in_answers_is_breaking() {
        let rows = rows(&spec("a", "p", "state"), &spec("a, b", "p", "state"));
        assert_eq!(class_of(&rows, "enum value `b` added"), Class::Breaking);
    }

    #[test]
    fn a_value_added_to_an_enum_only_clients_send_is_not_breaking() {
        let rows = rows(&spec("a", "p", "state"), &spec("a", "p, q", "state"));
        assert_eq!(class_of(&rows, "enum value `q` added"), Class::NotBreaking);
        assert!(
            !rows
                .iter()
                .any(|r| r.change.contains("string schema changed")),
            "{rows:#?}"
        );
    }

    #[test]
    fn a_property_answers_no_longer_promise_is_breaking() {
        let rows = rows(&spec("a", "p", "state, size"), &spec("a", "p", "state"));
        assert_eq!(
            class_of(&rows, "property `size` is now optional"),
            Class::Breaking
        );
    }

    #[test]
    fn a_property_answers_now_promise_is_not_breaking() {
        let rows = rows(&spec("a", "p", "state"), &spec("a", "p", "state, size"));
        assert_eq!(
            class_of(&rows, "property `size` is now required"),
            Class::NotBreaking
        );
        assert!(
            !rows.iter().any(|r| r.class == Class::Review),
            "drift's summary is replaced: {rows:#?}"
        );
    }
}
