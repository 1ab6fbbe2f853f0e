//! The wire side of `spec diff`: what changed between two versions of the
//! spec, and whether each change breaks clients on the wire.
//!
//! The comparison is `drift`'s (operations, parameters, request and
//! response schemas, each with a compatibility class). This module adds
//! what `drift` 0.2 lacks or gets wrong for this API:
//!
//! - enum values (a task name) and object properties, one row each, where
//!   `drift` says only "string schema changed" or "object properties
//!   changed";
//! - renamed operationIds and path parameters, documentation, named
//!   schemas, `info.version`;
//! - statuses: `drift` calls every added status breaking, though clients
//!   read an unlisted error status as the error it is;
//! - media types, on which `drift` panics;
//! - the token's security scheme and requirements, each parameter's
//!   serialisation and the base path, which `drift` does not look at.
//!
//! **The rule: both directions.** A change is *breaking* when a client
//! built on the old spec can fail against a server that follows the new
//! one, or when a client built on the new spec cannot read an answer that
//! the servers users run today give. The regenerated client decides how
//! it reads answers (its callers cannot opt out), so an answer's property
//! made required, or a success status dropped, breaks it against older
//! servers; what a client sends stays its caller's choice, so an input
//! made optional does not. Additions old clients can ignore are not
//! breaking: an operation, an optional input, an error status, a property
//! of an answer, a value of an open enum (`TaskName` admits any string), a
//! value only clients send. What `drift` cannot classify is for review.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use serde_json::{Map, Value, json};

use crate::spec::{self, METHODS, Operation, escape, resolve, route, segments, str_of, strings};

/// Whether a change breaks clients.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Class {
    Breaking,
    /// Not classified: read it and decide.
    Review,
    NotBreaking,
}

use Class::{Breaking, NotBreaking, Review};

/// Which verdict a row gives: on the wire, or for Rust source written
/// against the generated client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum About {
    Wire,
    Rust,
}

/// One change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Row {
    pub change: String,
    pub about: About,
    pub class: Class,
    pub why: String,
}

/// What a group of rows is about; groups are shown in this order.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Topic {
    Document,
    /// An operation: its route and method.
    Operation(String, String),
    /// A path item's shared parts.
    PathItem(String),
    /// A named component: section (`schemas`) and name.
    Component(String, String),
    /// The generated Rust client.
    Rust,
}

/// The rows about one topic.
#[derive(Clone, Debug)]
pub struct Group {
    pub topic: Topic,
    pub title: String,
    /// For a named component: the operations using it.
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

    pub fn count(&self, class: Class) -> usize {
        self.rows().filter(|r| r.class == class).count()
    }

    pub fn breaking_about(&self, about: About) -> usize {
        self.rows()
            .filter(|r| r.class == Breaking && r.about == about)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| g.rows.is_empty())
    }

    /// Adds a group (rows of the generated Rust), keeping the order.
    pub fn push(&mut self, group: Group) {
        if !group.rows.is_empty() {
            self.groups.push(group);
            self.groups.sort_by(|a, b| a.topic.cmp(&b.topic));
        }
    }
}

/// Which way data flows through a schema: a set of these bits.
type Flow = u8;
/// Clients send it.
const INPUT: Flow = 1;
/// Servers send it.
const OUTPUT: Flow = 2;

/// An operation of either side, matched by route and method.
struct Pair {
    route: String,
    method: String,
    old: Option<Operation>,
    new: Option<Operation>,
}

/// Both documents, their operations paired, and how each side's named
/// components are used: pointer -> (operation labels, flow).
struct Context<'a> {
    old: &'a Value,
    new: &'a Value,
    pairs: Vec<Pair>,
    usage: [BTreeMap<String, (BTreeSet<String>, Flow)>; 2],
}

/// What the comparison found: the wire rows by topic, and where it
/// compared in detail what `drift` only summarises.
#[derive(Default)]
struct Rows {
    by_topic: BTreeMap<Topic, Vec<Row>>,
    /// String schemas whose only difference is their enum values.
    enums: BTreeSet<String>,
    /// Objects whose properties were compared one by one.
    objects: BTreeSet<String>,
}

impl Rows {
    /// Adds a row, unless the topic has it already.
    fn add(&mut self, topic: &Topic, class: Class, change: impl Into<String>, why: &str) {
        let list = self.by_topic.entry(topic.clone()).or_default();
        let row = Row {
            change: change.into(),
            about: About::Wire,
            class,
            why: why.to_string(),
        };
        if !list.contains(&row) {
            list.push(row);
        }
    }
}

impl<'a> Context<'a> {
    fn new(old: &'a Value, new: &'a Value) -> Self {
        let mut pairs: Vec<Pair> = Vec::new();
        for (is_new, doc) in [(true, new), (false, old)] {
            for op in spec::operations(doc) {
                let key = route(&op.path);
                let found = pairs
                    .iter()
                    .position(|p| p.route == key && p.method == op.method);
                let i = found.unwrap_or_else(|| {
                    pairs.push(Pair {
                        route: key,
                        method: op.method.clone(),
                        old: None,
                        new: None,
                    });
                    pairs.len() - 1
                });
                *if is_new {
                    &mut pairs[i].new
                } else {
                    &mut pairs[i].old
                } = Some(op);
            }
        }
        let usage = [
            usage(old, pairs.iter().filter_map(|p| p.old.as_ref())),
            usage(new, pairs.iter().filter_map(|p| p.new.as_ref())),
        ];
        Context {
            old,
            new,
            pairs,
            usage,
        }
    }

    /// The operations both sides have, with their topic.
    fn kept(&self) -> impl Iterator<Item = (Topic, &Operation, &Operation)> {
        self.pairs.iter().filter_map(|p| {
            let topic = Topic::Operation(p.route.clone(), p.method.clone());
            Some((topic, p.old.as_ref()?, p.new.as_ref()?))
        })
    }

    /// The topic a pointer of either document belongs to.
    fn topic(&self, pointer: &str) -> Topic {
        match segments(pointer).as_slice() {
            [first, path, rest @ ..] if first == "paths" => match rest.first() {
                Some(method) if METHODS.contains(&method.as_str()) => {
                    Topic::Operation(route(path), method.clone())
                }
                _ => Topic::PathItem(path.clone()),
            },
            [first, section, name, ..] if first == "components" => {
                Topic::Component(section.clone(), name.clone())
            }
            _ => Topic::Document,
        }
    }

    /// How data flows through the new document's schema at `pointer`; a
    /// schema no operation uses is judged as if it flowed both ways.
    fn flow(&self, pointer: &str) -> Flow {
        let flow = match segments(pointer).as_slice() {
            [first, _, method, part, ..]
                if first == "paths" && METHODS.contains(&method.as_str()) =>
            {
                if part == "responses" { OUTPUT } else { INPUT }
            }
            [first, _, ..] if first == "paths" => INPUT,
            [first, section, name, ..] if first == "components" => self.usage[1]
                .get(&format!("/components/{section}/{}", escape(name)))
                .map_or(0, |(_, flow)| *flow),
            _ => 0,
        };
        if flow == 0 { INPUT | OUTPUT } else { flow }
    }

    fn group(&self, topic: Topic, rows: Vec<Row>) -> Group {
        let (title, used_by) = match &topic {
            Topic::Document => ("the document".to_string(), None),
            Topic::Operation(key, method) => {
                let op = self
                    .pairs
                    .iter()
                    .find(|p| &p.route == key && &p.method == method)
                    .and_then(|p| p.new.as_ref().or(p.old.as_ref()));
                let id = op.and_then(|op| op.id.as_ref());
                let path = op.map_or(key, |op| &op.path);
                let id = id.map(|id| format!(" ({id})")).unwrap_or_default();
                (format!("`{} {path}`{id}", method.to_uppercase()), None)
            }
            Topic::PathItem(path) => (format!("`{path}` (all its operations)"), None),
            Topic::Component(section, name) => {
                let pointer = format!("/components/{section}/{}", escape(name));
                let users: BTreeSet<&String> = (self.usage.iter())
                    .filter_map(|side| side.get(&pointer))
                    .flat_map(|(ops, _)| ops)
                    .collect();
                let kind = match section.as_str() {
                    "securitySchemes" => "security scheme",
                    "requestBodies" => "request body",
                    other => other.trim_end_matches('s'),
                };
                let users = users.into_iter().cloned().collect();
                (format!("{kind} `{name}`"), Some(users))
            }
            Topic::Rust => ("the generated client (plex-butler-raw)".to_string(), None),
        };
        Group {
            topic,
            title,
            used_by,
            rows,
        }
    }
}

/// Which named components each operation uses, and whether in its inputs
/// or its answers, following `$ref`s through components.
fn usage<'o>(
    doc: &Value,
    operations: impl Iterator<Item = &'o Operation>,
) -> BTreeMap<String, (BTreeSet<String>, Flow)> {
    let mut usage: BTreeMap<String, (BTreeSet<String>, Flow)> = BTreeMap::new();
    for op in operations {
        let item = &doc["paths"][&op.path];
        let node = &item[&op.method];
        let (mut inputs, mut outputs) = (BTreeSet::new(), BTreeSet::new());
        for part in [
            &item["parameters"],
            &node["parameters"],
            &node["requestBody"],
        ] {
            collect_refs(doc, part, &mut inputs);
        }
        collect_refs(doc, &node["responses"], &mut outputs);
        for scheme in requirements(doc, node).into_iter().flatten() {
            inputs.insert(format!("/components/securitySchemes/{}", escape(&scheme)));
        }
        let name = op.id.clone().unwrap_or_else(|| op.label());
        for (refs, flow) in [(inputs, INPUT), (outputs, OUTPUT)] {
            for target in refs {
                let entry = usage.entry(target).or_default();
                entry.0.insert(name.clone());
                entry.1 |= flow;
            }
        }
    }
    usage
}

/// Every local `$ref` target reachable from `node` (pointers without `#`).
fn collect_refs(doc: &Value, node: &Value, found: &mut BTreeSet<String>) {
    let mut targets = Vec::new();
    spec::visit(node, "", &mut |_, n| {
        if let Some(target) = str_of(n, "$ref").and_then(|t| t.strip_prefix('#')) {
            targets.push(target.to_string());
        }
    });
    for target in targets {
        if found.insert(target.clone())
            && let Some(next) = doc.pointer(&target)
        {
            collect_refs(doc, next, found);
        }
    }
}

/// Compares two specs on the wire.
pub fn compare(old: &Value, new: &Value) -> Report {
    let context = Context::new(old, new);
    let mut rows = Rows::default();
    // What drift compares: media types changed are hidden from it.
    let mut for_drift = [old.clone(), new.clone()];
    compare_document(&context, &mut rows);
    compare_operations(&context, &mut rows, &mut for_drift);
    compare_named_schemas(&context, &mut rows);
    compare_security(&context, &mut rows);
    compare_serialisation(&context, &mut rows);
    let old_paths = old["paths"].as_object();
    for (new_path, new_item) in new["paths"].as_object().into_iter().flatten() {
        let found = old_paths
            .into_iter()
            .flatten()
            .find(|(p, _)| route(p) == route(new_path));
        if let Some((old_path, old_item)) = found {
            let [o, n] = [old_path, new_path].map(|p| format!("/paths/{}", escape(p)));
            walk(&context, &mut rows, old_item, new_item, &o, &n);
        }
    }
    let (o, n) = (&old["components"], &new["components"]);
    walk(&context, &mut rows, o, n, "/components", "/components");
    let [old_json, new_json] = &for_drift;
    add_drift_rows(&context, old_json, new_json, &mut rows);

    let mut report = Report::default();
    for (topic, mut list) in rows.by_topic {
        list.sort_by_key(|r| r.class);
        report.groups.push(context.group(topic, list));
    }
    report
}

/// A group of the generated Rust's rows, titled like the others.
pub fn rust_group(rows: Vec<Row>) -> Group {
    let empty = Value::Null;
    Context::new(&empty, &empty).group(Topic::Rust, rows)
}

/// `a`, `b`: each item in backquotes; `none` when there is none.
fn quoted<T: Display>(items: impl IntoIterator<Item = T>, separator: &str) -> String {
    let items: Vec<String> = items.into_iter().map(|i| format!("`{i}`")).collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(separator)
    }
}

/// `info.version`, `openapi`, and the base path: every request is sent
/// under the servers' path.
fn compare_document(context: &Context<'_>, rows: &mut Rows) {
    let version = |doc: &Value| match &doc["info"]["version"] {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let (old, new) = (version(context.old), version(context.new));
    if old != new {
        rows.add(
            &Topic::Document,
            NotBreaking,
            format!("`info.version` changed from `{old}` to `{new}`"),
            "clients send it as `X-Plex-Pms-Api-Version`; old clients keep sending theirs, \
             and the server answers each as its version asks",
        );
    }
    let [old, new] =
        [context.old, context.new].map(|doc| str_of(doc, "openapi").unwrap_or_default());
    if old != new {
        rows.add(
            &Topic::Document,
            Review,
            format!("`openapi` changed from `{old}` to `{new}`"),
            "the generator reads OpenAPI 3.0.x only",
        );
    }
    let bases = |doc: &Value| -> BTreeSet<String> {
        let urls = doc["servers"].as_array().into_iter().flatten();
        let mut out: BTreeSet<String> = urls
            .filter_map(|s| str_of(s, "url"))
            .map(|url| {
                let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
                let path = rest.find('/').map_or("", |i| &rest[i..]);
                path.trim_end_matches('/').to_string()
            })
            .collect();
        if out.is_empty() {
            out.insert(String::new());
        }
        out
    };
    let (old, new) = (bases(context.old), bases(context.new));
    if old.is_disjoint(&new) {
        let shown = |b: &BTreeSet<String>| {
            quoted(b.iter().map(|p| if p.is_empty() { "/" } else { p }), ", ")
        };
        rows.add(
            &Topic::Document,
            Breaking,
            format!("base path changed from {} to {}", shown(&old), shown(&new)),
            "old clients send every request under the old base path",
        );
    }
}

/// What drift does not see of an operation: its name, its path parameters'
/// names, its documentation, its statuses and its media types. drift
/// panics on a change of media types: those are hidden in `for_drift`.
fn compare_operations(context: &Context<'_>, rows: &mut Rows, for_drift: &mut [Value; 2]) {
    for (topic, old, new) in context.kept() {
        if old.id != new.id {
            rows.add(
                &topic,
                NotBreaking,
                format!(
                    "operationId changed from {} to {}",
                    quoted(&old.id, ""),
                    quoted(&new.id, "")
                ),
                "the same request on the wire; the raw client's method is renamed (see the \
                 Rust rows)",
            );
        }
        if old.path != new.path {
            rows.add(
                &topic,
                NotBreaking,
                format!(
                    "path parameter renamed: `{}` is now `{}`",
                    old.path, new.path
                ),
                "the same request on the wire; the raw client's setter is renamed (see the \
                 Rust rows)",
            );
        }
        let o = context.old.pointer(&old.pointer()).unwrap_or(&Value::Null);
        let n = context.new.pointer(&new.pointer()).unwrap_or(&Value::Null);
        if o["summary"] != n["summary"] || o["description"] != n["description"] {
            rows.add(
                &topic,
                NotBreaking,
                "summary or description changed",
                "documentation only",
            );
        }
        if let (Some(o), Some(n)) = (o["responses"].as_object(), n["responses"].as_object()) {
            let missing = |a: &Map<String, Value>, b: &Map<String, Value>| -> Vec<String> {
                a.keys().filter(|s| !b.contains_key(*s)).cloned().collect()
            };
            compare_statuses(&topic, &missing(o, n), &missing(n, o), rows);
        }
        // Where the answers (or the request body) changed media types or
        // gained or lost a schema.
        let statuses = n["responses"].as_object().into_iter().flatten();
        let places =
            statuses.map(|(s, _)| (format!("/responses/{}", escape(s)), format!("response {s}")));
        for (suffix, label) in [("/requestBody".to_string(), "request body".to_string())]
            .into_iter()
            .chain(places)
        {
            let media = |doc: &Value, op: &Operation| -> Option<BTreeMap<String, bool>> {
                let node = resolve(doc, doc.pointer(&format!("{}{suffix}", op.pointer()))?)?;
                let content = node["content"].as_object().into_iter().flatten();
                Some(
                    content
                        .map(|(k, v)| (k.clone(), v.get("schema").is_some()))
                        .collect(),
                )
            };
            let (Some(o), Some(n)) = (media(context.old, old), media(context.new, new)) else {
                continue;
            };
            let change = if o.keys().ne(n.keys()) {
                format!(
                    "media types changed from {} to {}",
                    quoted(o.keys(), ", "),
                    quoted(n.keys(), ", ")
                )
            } else if let Some((media_type, has)) = n.iter().find(|(t, has)| o.get(*t) != Some(has))
            {
                format!(
                    "schema of `{media_type}` {}",
                    if *has { "added" } else { "removed" }
                )
            } else {
                continue;
            };
            rows.add(
                &topic,
                Breaking,
                format!("{label}: {change}"),
                "clients decode the body as the media types they were built for say",
            );
            for (doc, op) in for_drift.iter_mut().zip([old, new]) {
                if let Some(slot) = doc.pointer_mut(&format!("{}{suffix}", op.pointer())) {
                    *slot = json!({"description": "", "content": {}});
                }
            }
        }
    }
}

/// Statuses added and removed, judged by what a client does with a status
/// it was not told about: it reads it as an error.
fn compare_statuses(topic: &Topic, gone: &[String], added: &[String], rows: &mut Rows) {
    let (gone_list, added_list) = (gone.join(", "), added.join(", "));
    if !gone.is_empty() && !added.is_empty() {
        return rows.add(
            topic,
            Breaking,
            format!("status {gone_list} replaced by {added_list}"),
            &format!("an answer changed meaning: {gone_list} gone and {added_list} new"),
        );
    }
    let added = added.iter().map(|s| (s, "added"));
    for (status, what) in added.chain(gone.iter().map(|s| (s, "removed"))) {
        let success = status.starts_with(['2', '3']);
        let (class, why) = match what {
            "added" if success => (
                Breaking,
                "a success status: old clients read it as an error",
            ),
            "added" if status.starts_with(['4', '5']) => (
                NotBreaking,
                "an error status: old clients read it as an error, as any unlisted status",
            ),
            "added" => (Review, "neither a success nor an error status"),
            _ if success => (
                Breaking,
                "clients built on the new spec read it as an error, and older servers still \
                 answer it",
            ),
            _ => (
                NotBreaking,
                "an error status: clients built on the new spec still read it as an error",
            ),
        };
        rows.add(topic, class, format!("status {status} {what}"), why);
    }
}

fn compare_named_schemas(context: &Context<'_>, rows: &mut Rows) {
    let names = |doc: &Value| -> BTreeSet<String> {
        let schemas = doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten();
        schemas.map(|(name, _)| name.clone()).collect()
    };
    let (old, new) = (names(context.old), names(context.new));
    let removed = old.difference(&new).map(|n| (n, "removed", "was"));
    for (name, what, was) in removed.chain(new.difference(&old).map(|n| (n, "added", "is"))) {
        rows.add(
            &Topic::Component("schemas".into(), name.clone()),
            NotBreaking,
            format!("schema {what}"),
            &format!("where it {was} used is compared on its own"),
        );
    }
}

/// Walks both documents side by side and compares enums and properties
/// where both have them.
fn walk(
    context: &Context<'_>,
    rows: &mut Rows,
    old: &Value,
    new: &Value,
    old_pointer: &str,
    new_pointer: &str,
) {
    // Where one side refers to a named schema and the other does not (or
    // to another), what they stand for is compared, in this place.
    let (old, new) = if old.get("$ref") != new.get("$ref") && new_pointer.len() < 2048 {
        match (resolve(context.old, old), resolve(context.new, new)) {
            (Some(o), Some(n)) => (o, n),
            _ => return,
        }
    } else {
        (old, new)
    };
    let children: Vec<(String, &Value, &Value)> = match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            compare_enum(context, rows, old, new, new_pointer);
            compare_properties(context, rows, old, new, new_pointer);
            n.iter()
                .filter(|(_, v)| v.is_object() || v.is_array())
                .filter_map(|(key, v)| Some((escape(key), o.get(key)?, v)))
                .collect()
        }
        (Value::Array(o), Value::Array(n)) => (o.iter().zip(n).enumerate())
            .map(|(i, (o, n))| (i.to_string(), o, n))
            .collect(),
        _ => Vec::new(),
    };
    for (key, o, n) in children {
        let [op, np] = [old_pointer, new_pointer].map(|p| format!("{p}/{key}"));
        walk(context, rows, o, n, &op, &np);
    }
}

fn compare_enum(context: &Context<'_>, rows: &mut Rows, old: &Value, new: &Value, pointer: &str) {
    let (Some(old_values), Some(new_values)) = (old["enum"].as_array(), new["enum"].as_array())
    else {
        return;
    };
    if ["type", "format", "pattern", "minLength", "maxLength"]
        .iter()
        .all(|k| old.get(k) == new.get(k))
    {
        rows.enums.insert(pointer.to_string());
    }
    let topic = context.topic(pointer);
    let names = pointer.ends_with("/KnownTaskName");
    let what = if names { "task name" } else { "enum value" };
    for value in old_values.iter().filter(|v| !new_values.contains(v)) {
        let why = if names {
            "code naming this task by its known name stops compiling; `KnownTaskName` never \
             loses a name, so older servers stay supported"
        } else {
            "clients that send or match this value lose it"
        };
        let change = format!("{what} {} dropped", shown(value));
        rows.add(&topic, Breaking, change, why);
    }
    let open = is_open_enum(context.new, pointer);
    for value in new_values.iter().filter(|v| !old_values.contains(v)) {
        let closed_answer = !open && context.flow(pointer) & OUTPUT != 0;
        let class = if closed_answer { Breaking } else { NotBreaking };
        let why = if open {
            "the set is open (any other string is accepted too): old clients read it as an \
             unlisted name"
        } else if closed_answer {
            "the enum is closed and in answers: old clients cannot read an answer carrying it"
        } else {
            "only clients send it; old clients just do not know it"
        };
        rows.add(&topic, class, format!("{what} {} added", shown(value)), why);
    }
}

/// A value in backquotes: a string as it is, anything else as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// Whether the enum at `pointer` is open: every place that uses it is an
/// alternative of a `oneOf`/`anyOf` that also admits any string (as
/// `TaskName` does with `KnownTaskName`).
fn is_open_enum(doc: &Value, pointer: &str) -> bool {
    let target = format!("#{pointer}");
    let mut uses = Vec::new();
    spec::visit(doc, "", &mut |here, node| {
        if str_of(node, "$ref") == Some(target.as_str()) {
            uses.push(here.to_string());
        }
    });
    if !(pointer.starts_with("/components/schemas/") && segments(pointer).len() == 3) {
        uses.push(pointer.to_string());
    }
    let any_string = |alt: &Value| {
        str_of(alt, "type") == Some("string")
            && ["enum", "pattern", "format", "maxLength", "minLength"]
                .iter()
                .all(|k| alt.get(k).is_none())
    };
    !uses.is_empty()
        && uses.iter().all(|used| {
            let Some((parent, index)) = used.rsplit_once('/') else {
                return false;
            };
            let alternatives = doc.pointer(parent).and_then(Value::as_array);
            (parent.ends_with("/oneOf") || parent.ends_with("/anyOf"))
                && (alternatives.into_iter().flatten().enumerate())
                    .any(|(i, alt)| i.to_string() != index && any_string(alt))
        })
}

fn compare_properties(
    context: &Context<'_>,
    rows: &mut Rows,
    old: &Value,
    new: &Value,
    pointer: &str,
) {
    let (Some(old_properties), Some(new_properties)) =
        (old["properties"].as_object(), new["properties"].as_object())
    else {
        return;
    };
    rows.objects.insert(pointer.to_string());
    let topic = context.topic(pointer);
    let (input, output) = (
        context.flow(pointer) & INPUT != 0,
        context.flow(pointer) & OUTPUT != 0,
    );
    let (old_required, new_required) = (strings(old, "required"), strings(new, "required"));
    let place = place_in(pointer);
    for name in old_properties
        .keys()
        .filter(|n| !new_properties.contains_key(*n))
    {
        let change = format!("property `{name}` removed{place}");
        rows.add(
            &topic,
            Breaking,
            change,
            "clients that read or send it lose it",
        );
    }
    for name in new_properties.keys() {
        let was_there = old_properties.contains_key(name);
        let required = new_required.contains(name);
        if was_there && old_required.contains(name) == required {
            continue;
        }
        // Required breaks either way; optional, only where old clients
        // read it in every answer.
        let class = if required || was_there && output {
            Breaking
        } else {
            NotBreaking
        };
        let why = match (was_there, required) {
            (false, true) if input => "required from clients, and old clients do not send it",
            (false, true) => {
                "clients built on the new spec refuse answers without it, and older servers do \
                 not send it"
            }
            (false, false) => "old clients ignore it in answers, and need not send it",
            (true, true) if input => "old clients may not send it",
            (true, true) => {
                "clients built on the new spec refuse answers without it, as the servers users \
                 run give them"
            }
            (true, false) if output => "old clients expect it in every answer and fail without it",
            (true, false) => "callers may still send it, as older servers require",
        };
        let state = if required { "required" } else { "optional" };
        let change = if was_there {
            format!("property `{name}` is now {state}{place}")
        } else {
            format!("{state} property `{name}` added{place}")
        };
        rows.add(&topic, class, change, why);
    }
}

/// ` (at `responses/200/...`)` for a schema inside an operation or below a
/// named schema's root; empty at a named schema's root.
fn place_in(pointer: &str) -> String {
    let rest: Vec<String> = segments(pointer).into_iter().skip(3).collect();
    if rest.is_empty() {
        String::new()
    } else {
        format!(" (at `{}`)", rest.join("/"))
    }
}

/// The security requirements an operation ends up with (its own, or the
/// document's): each alternative as the set of scheme names it needs.
fn requirements(doc: &Value, operation: &Value) -> BTreeSet<BTreeSet<String>> {
    let list = operation.get("security").unwrap_or(&doc["security"]);
    let alternatives = list.as_array().into_iter().flatten();
    alternatives
        .map(|a| {
            a.as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .collect()
        })
        .collect()
}

/// Where a scheme puts the credentials: `apiKey in header X-Plex-Token`.
fn scheme_shape(scheme: &Value) -> String {
    match str_of(scheme, "type") {
        Some("apiKey") => {
            let place = match str_of(scheme, "in") {
                Some("query") => "query parameter",
                Some(other) => other,
                None => "nowhere",
            };
            format!(
                "{place} `{}`",
                str_of(scheme, "name").unwrap_or("(unnamed)")
            )
        }
        Some("http") => format!(
            "HTTP {} authentication",
            str_of(scheme, "scheme").unwrap_or("?")
        ),
        Some(other) => other.to_string(),
        None => "no type".to_string(),
    }
}

/// The token's schemes and the requirements of each operation: none of
/// them is a schema, both decide whether a server sees what clients send.
/// Schemes are compared by what they ask for (their shape), whatever their
/// names.
fn compare_security(context: &Context<'_>, rows: &mut Rows) {
    let shape = |doc: &Value, name: &str| {
        doc.pointer(&format!("/components/securitySchemes/{}", escape(name)))
            .and_then(|s| resolve(doc, s))
            .map(scheme_shape)
    };
    let schemes = |doc: &Value| -> BTreeMap<String, String> {
        let names = doc["components"]["securitySchemes"]
            .as_object()
            .into_iter()
            .flatten();
        names
            .filter_map(|(n, _)| Some((n.clone(), shape(doc, n)?)))
            .collect()
    };
    let (old, new) = (schemes(context.old), schemes(context.new));
    let scheme = |name: &String| Topic::Component("securitySchemes".into(), name.clone());
    for (name, old_shape) in &old {
        match new.get(name) {
            None => rows.add(
                &scheme(name),
                Breaking,
                "security scheme removed",
                "old clients authenticate with it; a server that follows the new spec no \
                 longer accepts it",
            ),
            Some(new_shape) if new_shape != old_shape => rows.add(
                &scheme(name),
                Breaking,
                format!("the token moved: {old_shape} is now {new_shape}"),
                "a server that follows the new spec never sees the credentials old clients \
                 send where they always did",
            ),
            Some(_) => {}
        }
    }
    let asked =
        |doc: &Value, op: &Operation| requirements(doc, &doc["paths"][&op.path][&op.method]);
    for (name, shape) in new.iter().filter(|(n, _)| !old.contains_key(*n)) {
        // Required when some operation accepts no way in without it, and
        // new unless an old scheme puts the same credentials in the same
        // place.
        let required = !old.values().any(|old_shape| old_shape == shape)
            && (context.pairs.iter().filter_map(|p| p.new.as_ref())).any(|op| {
                let asked = asked(context.new, op);
                !asked.is_empty() && asked.iter().all(|a| a.contains(name))
            });
        let class = if required { Breaking } else { NotBreaking };
        let why = if required {
            "an operation now requires it, and old clients do not send it"
        } else {
            "no operation requires it, or old clients send what it asks for already"
        };
        rows.add(&scheme(name), class, "security scheme added", why);
    }
    for (topic, o, n) in context.kept() {
        let (old_req, new_req) = (asked(context.old, o), asked(context.new, n));
        let shapes =
            |doc: &Value, req: &BTreeSet<BTreeSet<String>>| -> BTreeSet<BTreeSet<String>> {
                let shape = |name: &String| {
                    shape(doc, name).unwrap_or_else(|| format!("an unknown scheme `{name}`"))
                };
                req.iter().map(|a| a.iter().map(shape).collect()).collect()
            };
        let (old_shapes, new_shapes) =
            (shapes(context.old, &old_req), shapes(context.new, &new_req));
        if old_shapes == new_shapes {
            continue;
        }
        let shown = |r: &BTreeSet<BTreeSet<String>>| {
            let alternatives = r.iter().map(|a| {
                if a.is_empty() {
                    "no credentials".to_string()
                } else {
                    quoted(a, " + ")
                }
            });
            let shown = alternatives.collect::<Vec<_>>().join(" or ");
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown
            }
        };
        // Each way old clients authenticated must still meet a requirement.
        let kept = new_shapes.is_empty()
            || !old_shapes.is_empty()
                && (old_shapes.iter())
                    .all(|sent| new_shapes.iter().any(|asked| asked.is_subset(sent)));
        let class = if kept { NotBreaking } else { Breaking };
        let why = if kept {
            "every way old clients authenticate is still accepted"
        } else {
            "a way old clients authenticate is no longer accepted"
        };
        let change = format!(
            "security requirements changed from {} to {}",
            shown(&old_req),
            shown(&new_req)
        );
        rows.add(&topic, class, change, why);
    }
}

/// Each parameter's serialisation (`style`, `explode`, `allowReserved`,
/// OpenAPI's defaults filled in), for parameters on both sides.
fn compare_serialisation(context: &Context<'_>, rows: &mut Rows) {
    let parameters = |doc: &Value, op: &Operation| -> BTreeMap<(String, String), String> {
        let item = &doc["paths"][&op.path];
        let lists = [&item["parameters"], &item[&op.method]["parameters"]];
        let parameters = lists.into_iter().filter_map(Value::as_array).flatten();
        let mut out = BTreeMap::new();
        for p in parameters.filter_map(|p| resolve(doc, p)) {
            let (Some(name), Some(place)) = (str_of(p, "name"), str_of(p, "in")) else {
                continue;
            };
            let form = matches!(place, "query" | "cookie");
            let style = str_of(p, "style").unwrap_or(if form { "form" } else { "simple" });
            let explode = p["explode"].as_bool().unwrap_or(style == "form");
            let reserved = p["allowReserved"].as_bool().unwrap_or(false);
            out.insert(
                (place.to_string(), name.to_string()),
                format!("style {style}, explode {explode}, allowReserved {reserved}"),
            );
        }
        out
    };
    for (topic, o, n) in context.kept() {
        let (old, new) = (parameters(context.old, o), parameters(context.new, n));
        for ((place, name), before) in &old {
            if let Some(after) = new.get(&(place.clone(), name.clone()))
                && after != before
            {
                rows.add(
                    &topic,
                    Breaking,
                    format!(
                        "{place} parameter `{name}` serialised differently: {before} -> {after}"
                    ),
                    "old clients write the parameter the old way, which a server that follows \
                     the new spec reads differently",
                );
            }
        }
    }
}

/// Runs drift and adds its changes, but for what this module detailed.
fn add_drift_rows(context: &Context<'_>, old: &Value, new: &Value, rows: &mut Rows) {
    let compared = crate::codegen::quietly(|| drift::compare(old, new));
    let changes = match compared.and_then(|c| c.map_err(|e| format!("{e:#}"))) {
        Ok(changes) => changes,
        Err(problem) => {
            return rows.add(
                &Topic::Document,
                Review,
                format!("drift could not compare the specs: {problem}"),
                "compare them by hand",
            );
        }
    };
    for change in changes {
        let Some(path) = change.paths.first() else {
            continue;
        };
        for info in &change.changes {
            // An operation removed is at the old document's place.
            let (new_base, _) = path.new.base_and_subpath();
            let (base, subpath) = if new_base == "#/paths" {
                (path.old.base_and_subpath().0, info.old_subpath.as_str())
            } else {
                (new_base, info.new_subpath.as_str())
            };
            let base = base.strip_prefix('#').unwrap_or(base);
            let (pointer, place) = if subpath.is_empty() {
                (base.to_string(), String::new())
            } else {
                let shown = segments(&format!("/{subpath}")).join("/");
                (format!("{base}/{subpath}"), format!(" (at `{shown}`)"))
            };
            let message = info.message.as_str();
            let detailed = message.starts_with("operation added a new response code")
                || message.starts_with("operation no longer responds with status")
                || (message == "string schema changed" && rows.enums.contains(&pointer))
                || (message.starts_with("object ") && rows.objects.contains(&pointer));
            if detailed {
                continue;
            }
            let (class, why) = match info.class {
                drift::ChangeClass::BackwardIncompatible | drift::ChangeClass::Incompatible => (
                    Breaking,
                    "old clients can fail against a server that follows the new spec",
                ),
                drift::ChangeClass::ForwardIncompatible => (
                    NotBreaking,
                    "an addition or a relaxation: old clients keep working; new callers of it \
                     need a server that has it",
                ),
                // Documentation: the spec's own diff shows it.
                drift::ChangeClass::Trivial => continue,
                drift::ChangeClass::Unhandled => {
                    (Review, "drift does not classify this change: review it")
                }
            };
            let text: String = (message.chars().take(1).flat_map(char::to_lowercase))
                .chain(message.chars().skip(1))
                .collect();
            rows.add(
                &context.topic(&pointer),
                class,
                format!("{text}{place}"),
                why,
            );
        }
    }
}
