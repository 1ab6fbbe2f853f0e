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

use serde_json::{Value, json};

use crate::spec::{self, METHODS, Operation, escape, resolve, route, segments, str_of, strings};

/// Whether a change breaks clients.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Class {
    Breaking,
    /// Not classified: read it and decide.
    Review,
    NotBreaking,
}

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
            .filter(|r| r.class == Class::Breaking && r.about == about)
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

/// Which way data flows through a schema.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Flow {
    /// Clients send it.
    input: bool,
    /// Servers send it.
    output: bool,
}

const INPUT: Flow = Flow {
    input: true,
    output: false,
};
const OUTPUT: Flow = Flow {
    input: false,
    output: true,
};

impl Flow {
    fn or(self, other: Flow) -> Flow {
        Flow {
            input: self.input || other.input,
            output: self.output || other.output,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Old,
    New,
}

/// An operation of either side, matched by route and method.
struct Pair {
    route: String,
    method: String,
    old: Option<Operation>,
    new: Option<Operation>,
}

impl Pair {
    fn either(&self) -> &Operation {
        match (&self.new, &self.old) {
            (Some(op), _) | (None, Some(op)) => op,
            (None, None) => unreachable!("a pair has a side"),
        }
    }

    fn side(&self, side: Side) -> Option<&Operation> {
        match side {
            Side::Old => self.old.as_ref(),
            Side::New => self.new.as_ref(),
        }
    }
}

/// Both documents, their operations paired, and how each side's named
/// components are used: pointer -> (operation labels, flow).
struct Context<'a> {
    old: &'a Value,
    new: &'a Value,
    pairs: Vec<Pair>,
    usage: [BTreeMap<String, (BTreeSet<String>, Flow)>; 2],
}

type Rows = BTreeMap<Topic, Vec<Row>>;

fn add(rows: &mut Rows, topic: Topic, class: Class, change: String, why: &str) {
    let list = rows.entry(topic).or_default();
    let row = Row {
        change,
        about: About::Wire,
        class,
        why: why.to_string(),
    };
    if !list.contains(&row) {
        list.push(row);
    }
}

impl<'a> Context<'a> {
    fn new(old: &'a Value, new: &'a Value) -> Self {
        let mut pairs: Vec<Pair> = Vec::new();
        for (side, doc) in [(Side::New, new), (Side::Old, old)] {
            for op in spec::operations(doc) {
                let key = route(&op.path);
                let index = match pairs
                    .iter()
                    .position(|p| p.route == key && p.method == op.method)
                {
                    Some(i) => i,
                    None => {
                        pairs.push(Pair {
                            route: key,
                            method: op.method.clone(),
                            old: None,
                            new: None,
                        });
                        pairs.len() - 1
                    }
                };
                match side {
                    Side::Old => pairs[index].old = Some(op),
                    Side::New => pairs[index].new = Some(op),
                }
            }
        }
        let usage = [usage(old, &pairs, Side::Old), usage(new, &pairs, Side::New)];
        Context {
            old,
            new,
            pairs,
            usage,
        }
    }

    fn doc(&self, side: Side) -> &'a Value {
        match side {
            Side::Old => self.old,
            Side::New => self.new,
        }
    }

    /// The topic a pointer of one side's document belongs to.
    fn topic(&self, side: Side, pointer: &str) -> Topic {
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
            _ => {
                let _ = side;
                Topic::Document
            }
        }
    }

    /// How data flows through the schema at `pointer`; a schema no
    /// operation uses is judged as if it flowed both ways.
    fn flow(&self, side: Side, pointer: &str) -> Flow {
        let flow = match segments(pointer).as_slice() {
            [first, _, method, part, ..]
                if first == "paths" && METHODS.contains(&method.as_str()) =>
            {
                if part == "responses" { OUTPUT } else { INPUT }
            }
            [first, _, ..] if first == "paths" => INPUT,
            [first, section, name, ..] if first == "components" => self.usage[side as usize]
                .get(&format!("/components/{section}/{}", escape(name)))
                .map(|(_, flow)| *flow)
                .unwrap_or_default(),
            _ => Flow::default(),
        };
        if flow == Flow::default() {
            INPUT.or(OUTPUT)
        } else {
            flow
        }
    }

    fn group(&self, topic: Topic, rows: Vec<Row>) -> Group {
        let (title, used_by) = match &topic {
            Topic::Document => ("the document".to_string(), None),
            Topic::Operation(key, method) => {
                let title = self
                    .pairs
                    .iter()
                    .find(|p| &p.route == key && &p.method == method)
                    .map(|p| {
                        let op = p.either();
                        match &op.id {
                            Some(id) => format!("`{} {}` ({id})", method.to_uppercase(), op.path),
                            None => format!("`{} {}`", method.to_uppercase(), op.path),
                        }
                    })
                    .unwrap_or_else(|| format!("`{} {key}`", method.to_uppercase()));
                (title, None)
            }
            Topic::PathItem(path) => (format!("`{path}` (all its operations)"), None),
            Topic::Component(section, name) => {
                let pointer = format!("/components/{section}/{}", escape(name));
                let mut users = BTreeSet::new();
                for side in &self.usage {
                    if let Some((ops, _)) = side.get(&pointer) {
                        users.extend(ops.iter().cloned());
                    }
                }
                let kind = match section.as_str() {
                    "securitySchemes" => "security scheme",
                    "requestBodies" => "request body",
                    other => other.trim_end_matches('s'),
                };
                (
                    format!("{kind} `{name}`"),
                    Some(users.into_iter().collect()),
                )
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
fn usage(doc: &Value, pairs: &[Pair], side: Side) -> BTreeMap<String, (BTreeSet<String>, Flow)> {
    let mut usage: BTreeMap<String, (BTreeSet<String>, Flow)> = BTreeMap::new();
    for pair in pairs {
        let Some(op) = pair.side(side) else { continue };
        let item = &doc["paths"][&op.path];
        let node = &item[&op.method];
        let mut inputs = BTreeSet::new();
        let mut outputs = BTreeSet::new();
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
                entry.1 = entry.1.or(flow);
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

/// Where this module compared in detail what `drift` only summarises.
#[derive(Default)]
struct Covered {
    /// String schemas whose only difference is their enum values.
    enums: BTreeSet<String>,
    /// Objects whose properties were compared one by one.
    objects: BTreeSet<String>,
}

/// Compares two specs on the wire.
pub fn compare(old: &Value, new: &Value) -> Report {
    let context = Context::new(old, new);
    let mut rows = Rows::new();
    let mut covered = Covered::default();
    compare_document(&context, &mut rows);
    compare_operations(&context, &mut rows);
    compare_named_schemas(&context, &mut rows);
    compare_security(&context, &mut rows);
    compare_serialisation(&context, &mut rows);
    if let (Some(old_paths), Some(new_paths)) = (old["paths"].as_object(), new["paths"].as_object())
    {
        for (new_path, new_item) in new_paths {
            if let Some((old_path, old_item)) =
                old_paths.iter().find(|(p, _)| route(p) == route(new_path))
            {
                let (o, n) = (
                    format!("/paths/{}", escape(old_path)),
                    format!("/paths/{}", escape(new_path)),
                );
                walk(
                    &context,
                    &mut rows,
                    &mut covered,
                    old_item,
                    new_item,
                    &o,
                    &n,
                );
            }
        }
    }
    walk(
        &context,
        &mut rows,
        &mut covered,
        &old["components"],
        &new["components"],
        "/components",
        "/components",
    );
    // drift panics on a change of media types: those are reported by
    // `compare_operations` and hidden from drift.
    let (mut old_json, mut new_json) = (old.clone(), new.clone());
    for pair in &context.pairs {
        let (Some(o), Some(n)) = (&pair.old, &pair.new) else {
            continue;
        };
        for (suffix, _) in media_differences(&context, o, n) {
            for (json, op) in [(&mut old_json, o), (&mut new_json, n)] {
                if let Some(slot) = json.pointer_mut(&format!("{}{suffix}", op.pointer())) {
                    *slot = json!({"description": "", "content": {}});
                }
            }
        }
    }
    add_drift_rows(&context, &old_json, &new_json, &covered, &mut rows);

    let mut report = Report::default();
    for (topic, mut list) in rows {
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

fn version(doc: &Value) -> String {
    match &doc["info"]["version"] {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn compare_document(context: &Context<'_>, rows: &mut Rows) {
    let (old, new) = (version(context.old), version(context.new));
    if old != new {
        add(
            rows,
            Topic::Document,
            Class::NotBreaking,
            format!("`info.version` changed from `{old}` to `{new}`"),
            "clients send it as `X-Plex-Pms-Api-Version`; old clients keep sending theirs, \
             and the server answers each as its version asks",
        );
    }
    let (old, new) = (
        str_of(context.old, "openapi"),
        str_of(context.new, "openapi"),
    );
    if old != new {
        add(
            rows,
            Topic::Document,
            Class::Review,
            format!(
                "`openapi` changed from `{}` to `{}`",
                old.unwrap_or_default(),
                new.unwrap_or_default()
            ),
            "the generator reads OpenAPI 3.0.x only",
        );
    }
}

fn compare_operations(context: &Context<'_>, rows: &mut Rows) {
    for pair in &context.pairs {
        let (Some(old), Some(new)) = (&pair.old, &pair.new) else {
            continue;
        };
        let topic = Topic::Operation(pair.route.clone(), pair.method.clone());
        let shown = |id: &Option<String>| id.as_deref().map_or("none".into(), |i| format!("`{i}`"));
        if old.id != new.id {
            add(
                rows,
                topic.clone(),
                Class::NotBreaking,
                format!(
                    "operationId changed from {} to {}",
                    shown(&old.id),
                    shown(&new.id)
                ),
                "the same request on the wire; the raw client's method is renamed (see the \
                 Rust rows)",
            );
        }
        if old.path != new.path {
            add(
                rows,
                topic.clone(),
                Class::NotBreaking,
                format!(
                    "path parameter renamed: `{}` is now `{}`",
                    old.path, new.path
                ),
                "the same request on the wire; the raw client's setter is renamed (see the \
                 Rust rows)",
            );
        }
        let (o, n) = (
            &context.old.pointer(&old.pointer()).unwrap_or(&Value::Null),
            &context.new.pointer(&new.pointer()).unwrap_or(&Value::Null),
        );
        if o["summary"] != n["summary"] || o["description"] != n["description"] {
            add(
                rows,
                topic.clone(),
                Class::NotBreaking,
                "summary or description changed".to_string(),
                "documentation only",
            );
        }
        if let (Some(o), Some(n)) = (o["responses"].as_object(), n["responses"].as_object()) {
            let gone: Vec<&str> = o
                .keys()
                .filter(|s| !n.contains_key(*s))
                .map(|s| s.as_str())
                .collect();
            let added: Vec<&str> = n
                .keys()
                .filter(|s| !o.contains_key(*s))
                .map(|s| s.as_str())
                .collect();
            compare_statuses(&topic, &gone, &added, rows);
        }
        for (suffix, change) in media_differences(context, old, new) {
            let _ = suffix;
            add(
                rows,
                topic.clone(),
                Class::Breaking,
                change,
                "clients decode the body as the media types they were built for say",
            );
        }
    }
}

/// Statuses added and removed, judged by what a client does with a status
/// it was not told about: it reads it as an error.
fn compare_statuses(topic: &Topic, gone: &[&str], added: &[&str], rows: &mut Rows) {
    if !gone.is_empty() && !added.is_empty() {
        add(
            rows,
            topic.clone(),
            Class::Breaking,
            format!(
                "status {} replaced by {}",
                gone.join(", "),
                added.join(", ")
            ),
            &format!(
                "an answer changed meaning: {} gone and {} new",
                gone.join(", "),
                added.join(", ")
            ),
        );
        return;
    }
    let success = |s: &str| s.starts_with('2') || s.starts_with('3');
    for status in added {
        let (class, why) = if success(status) {
            (
                Class::Breaking,
                "a success status: old clients read it as an error",
            )
        } else if status.starts_with('4') || status.starts_with('5') {
            (
                Class::NotBreaking,
                "an error status: old clients read it as an error, as any unlisted status",
            )
        } else {
            (Class::Review, "neither a success nor an error status")
        };
        add(
            rows,
            topic.clone(),
            class,
            format!("status {status} added"),
            why,
        );
    }
    for status in gone {
        let (class, why) = if success(status) {
            (
                Class::Breaking,
                "clients built on the new spec read it as an error, and older servers still \
                 answer it",
            )
        } else {
            (
                Class::NotBreaking,
                "an error status: clients built on the new spec still read it as an error",
            )
        };
        add(
            rows,
            topic.clone(),
            class,
            format!("status {status} removed"),
            why,
        );
    }
}

/// Where an operation's answers (or request body) changed media types or
/// gained or lost a schema: `(pointer suffix, change)`.
fn media_differences(
    context: &Context<'_>,
    old: &Operation,
    new: &Operation,
) -> Vec<(String, String)> {
    let mut places = vec![("/requestBody".to_string(), "request body".to_string())];
    if let Some(statuses) = context
        .new
        .pointer(&format!("{}/responses", new.pointer()))
        .and_then(Value::as_object)
    {
        for status in statuses.keys() {
            places.push((
                format!("/responses/{}", escape(status)),
                format!("response {status}"),
            ));
        }
    }
    let media = |doc: &Value, op: &Operation, suffix: &str| -> Option<BTreeMap<String, bool>> {
        let node = resolve(doc, doc.pointer(&format!("{}{suffix}", op.pointer()))?)?;
        Some(
            node["content"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.get("schema").is_some()))
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    let mut out = Vec::new();
    for (suffix, label) in places {
        let (Some(o), Some(n)) = (
            media(context.old, old, &suffix),
            media(context.new, new, &suffix),
        ) else {
            continue;
        };
        let list = |m: &BTreeMap<String, bool>| {
            let names: Vec<String> = m.keys().map(|t| format!("`{t}`")).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        if o.keys().ne(n.keys()) {
            out.push((
                suffix,
                format!(
                    "{label}: media types changed from {} to {}",
                    list(&o),
                    list(&n)
                ),
            ));
        } else if let Some((media_type, has)) = n.iter().find(|(t, has)| o.get(*t) != Some(has)) {
            let what = if *has { "added" } else { "removed" };
            out.push((suffix, format!("{label}: schema of `{media_type}` {what}")));
        }
    }
    out
}

fn compare_named_schemas(context: &Context<'_>, rows: &mut Rows) {
    let names = |doc: &Value| -> BTreeSet<String> {
        doc.pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (old, new) = (names(context.old), names(context.new));
    for (name, what, why) in old
        .difference(&new)
        .map(|n| (n, "removed", "where it was used is compared on its own"))
        .chain(
            new.difference(&old)
                .map(|n| (n, "added", "where it is used is compared on its own")),
        )
    {
        add(
            rows,
            Topic::Component("schemas".into(), name.clone()),
            Class::NotBreaking,
            format!("schema {what}"),
            why,
        );
    }
}

/// Walks both documents side by side and compares enums and properties
/// where both have them.
fn walk(
    context: &Context<'_>,
    rows: &mut Rows,
    covered: &mut Covered,
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
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            compare_enum(context, rows, covered, old, new, new_pointer);
            compare_properties(context, rows, covered, old, new, new_pointer);
            for (key, new_value) in n {
                if let Some(old_value) = o.get(key)
                    && (new_value.is_object() || new_value.is_array())
                {
                    let key = escape(key);
                    let (op, np) = (
                        format!("{old_pointer}/{key}"),
                        format!("{new_pointer}/{key}"),
                    );
                    walk(context, rows, covered, old_value, new_value, &op, &np);
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            for (i, (old_item, new_item)) in o.iter().zip(n).enumerate() {
                let (op, np) = (format!("{old_pointer}/{i}"), format!("{new_pointer}/{i}"));
                walk(context, rows, covered, old_item, new_item, &op, &np);
            }
        }
        _ => {}
    }
}

fn compare_enum(
    context: &Context<'_>,
    rows: &mut Rows,
    covered: &mut Covered,
    old: &Value,
    new: &Value,
    pointer: &str,
) {
    let (Some(old_values), Some(new_values)) = (old["enum"].as_array(), new["enum"].as_array())
    else {
        return;
    };
    if ["type", "format", "pattern", "minLength", "maxLength"]
        .iter()
        .all(|k| old.get(k) == new.get(k))
    {
        covered.enums.insert(pointer.to_string());
    }
    let topic = context.topic(Side::New, pointer);
    let names = pointer.ends_with("/KnownTaskName");
    let what = if names { "task name" } else { "enum value" };
    let flow = context.flow(Side::New, pointer);
    let open = is_open_enum(context.new, pointer);
    for value in old_values.iter().filter(|v| !new_values.contains(v)) {
        let why = if names {
            "code naming this task by its known name stops compiling; `KnownTaskName` never \
             loses a name, so older servers stay supported"
        } else {
            "clients that send or match this value lose it"
        };
        let value = shown(value);
        add(
            rows,
            topic.clone(),
            Class::Breaking,
            format!("{what} {value} dropped"),
            why,
        );
    }
    for value in new_values.iter().filter(|v| !old_values.contains(v)) {
        let (class, why) = if open {
            (
                Class::NotBreaking,
                "the set is open (any other string is accepted too): old clients read it as \
                 an unlisted name",
            )
        } else if flow.output {
            (
                Class::Breaking,
                "the enum is closed and in answers: old clients cannot read an answer carrying it",
            )
        } else {
            (
                Class::NotBreaking,
                "only clients send it; old clients just do not know it",
            )
        };
        add(
            rows,
            topic.clone(),
            class,
            format!("{what} {} added", shown(value)),
            why,
        );
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
    !uses.is_empty()
        && uses.iter().all(|used| {
            let Some((parent, index)) = used.rsplit_once('/') else {
                return false;
            };
            (parent.ends_with("/oneOf") || parent.ends_with("/anyOf"))
                && doc
                    .pointer(parent)
                    .and_then(Value::as_array)
                    .is_some_and(|alternatives| {
                        alternatives.iter().enumerate().any(|(i, alt)| {
                            i.to_string() != index
                                && str_of(alt, "type") == Some("string")
                                && ["enum", "pattern", "format", "maxLength", "minLength"]
                                    .iter()
                                    .all(|k| alt.get(k).is_none())
                        })
                    })
        })
}

fn compare_properties(
    context: &Context<'_>,
    rows: &mut Rows,
    covered: &mut Covered,
    old: &Value,
    new: &Value,
    pointer: &str,
) {
    let (Some(old_properties), Some(new_properties)) =
        (old["properties"].as_object(), new["properties"].as_object())
    else {
        return;
    };
    covered.objects.insert(pointer.to_string());
    let topic = context.topic(Side::New, pointer);
    let flow = context.flow(Side::New, pointer);
    let (old_required, new_required) = (strings(old, "required"), strings(new, "required"));
    let place = place_in(pointer);
    for name in old_properties
        .keys()
        .filter(|n| !new_properties.contains_key(*n))
    {
        add(
            rows,
            topic.clone(),
            Class::Breaking,
            format!("property `{name}` removed{place}"),
            "clients that read or send it lose it",
        );
    }
    for name in new_properties.keys() {
        let (was_there, was, is) = (
            old_properties.contains_key(name),
            old_required.contains(name),
            new_required.contains(name),
        );
        let (class, change, why) = match (was_there, was, is) {
            (false, _, true) if flow.input => (
                Class::Breaking,
                "required property",
                "required from clients, and old clients do not send it",
            ),
            (false, _, true) => (
                Class::Breaking,
                "required property",
                "clients built on the new spec refuse answers without it, and older servers \
                 do not send it",
            ),
            (false, _, false) => (
                Class::NotBreaking,
                "optional property",
                "old clients ignore it in answers, and need not send it",
            ),
            (true, false, true) if flow.input => (
                Class::Breaking,
                "now required:",
                "old clients may not send it",
            ),
            (true, false, true) => (
                Class::Breaking,
                "now required:",
                "clients built on the new spec refuse answers without it, as the servers users \
                 run give them",
            ),
            (true, true, false) if flow.output => (
                Class::Breaking,
                "now optional:",
                "old clients expect it in every answer and fail without it",
            ),
            (true, true, false) => (
                Class::NotBreaking,
                "now optional:",
                "callers may still send it, as older servers require",
            ),
            _ => continue,
        };
        let text = match change.strip_suffix(':') {
            Some(state) => format!("property `{name}` is {state}{place}"),
            None => format!("{change} `{name}` added{place}"),
        };
        add(rows, topic.clone(), class, text, why);
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
    let list = match operation.get("security") {
        Some(list) => list,
        None => &doc["security"],
    };
    list.as_array()
        .map(|alternatives| {
            alternatives
                .iter()
                .map(|a| {
                    a.as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where a scheme puts the credentials: `apiKey in header X-Plex-Token`.
fn scheme_shape(scheme: &Value) -> String {
    match str_of(scheme, "type") {
        Some("apiKey") => format!(
            "{} `{}`",
            match str_of(scheme, "in") {
                Some("query") => "query parameter",
                Some(other) => other,
                None => "nowhere",
            },
            str_of(scheme, "name").unwrap_or("(unnamed)")
        ),
        Some("http") => format!(
            "HTTP {} authentication",
            str_of(scheme, "scheme").unwrap_or("?")
        ),
        Some(other) => other.to_string(),
        None => "no type".to_string(),
    }
}

/// The token's schemes, the requirements of each operation, and the base
/// path: none of them is a schema, all of them decide whether a server
/// sees what clients send.
fn compare_security(context: &Context<'_>, rows: &mut Rows) {
    let schemes = |doc: &'_ Value| -> BTreeMap<String, String> {
        doc.pointer("/components/securitySchemes")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(name, s)| Some((name.clone(), scheme_shape(resolve(doc, s)?))))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (schemes(context.old), schemes(context.new));
    for (name, old_shape) in &old {
        let topic = Topic::Component("securitySchemes".into(), name.clone());
        match new.get(name) {
            None => add(
                rows,
                topic,
                Class::Breaking,
                "security scheme removed".into(),
                "old clients authenticate with it; a server that follows the new spec no \
                 longer accepts it",
            ),
            Some(new_shape) if new_shape != old_shape => add(
                rows,
                topic,
                Class::Breaking,
                format!("the token moved: {old_shape} is now {new_shape}"),
                "a server that follows the new spec never sees the credentials old clients \
                 send where they always did",
            ),
            Some(_) => {}
        }
    }
    for (name, shape) in new.iter().filter(|(n, _)| !old.contains_key(*n)) {
        // Required when some operation accepts no way in without it, and
        // new unless an old scheme puts the same credentials in the same
        // place.
        let known = old.values().any(|old_shape| old_shape == shape);
        let required = !known
            && context
                .pairs
                .iter()
                .filter_map(|p| p.new.as_ref())
                .any(|op| {
                    let asked =
                        requirements(context.new, &context.new["paths"][&op.path][&op.method]);
                    !asked.is_empty() && asked.iter().all(|a| a.contains(name))
                });
        add(
            rows,
            Topic::Component("securitySchemes".into(), name.clone()),
            if required {
                Class::Breaking
            } else {
                Class::NotBreaking
            },
            "security scheme added".into(),
            if required {
                "an operation now requires it, and old clients do not send it"
            } else {
                "no operation requires it, or old clients send what it asks for already"
            },
        );
    }
    for pair in &context.pairs {
        let (Some(o), Some(n)) = (&pair.old, &pair.new) else {
            continue;
        };
        let old_req = requirements(context.old, &context.old["paths"][&o.path][&o.method]);
        let new_req = requirements(context.new, &context.new["paths"][&n.path][&n.method]);
        // Compared by what each scheme asks for, whatever its name.
        let shapes =
            |doc: &Value, req: &BTreeSet<BTreeSet<String>>| -> BTreeSet<BTreeSet<String>> {
                let shape = |name: &String| {
                    doc.pointer(&format!("/components/securitySchemes/{}", escape(name)))
                        .and_then(|s| resolve(doc, s))
                        .map_or_else(|| format!("an unknown scheme `{name}`"), scheme_shape)
                };
                req.iter().map(|a| a.iter().map(shape).collect()).collect()
            };
        let (old_shapes, new_shapes) =
            (shapes(context.old, &old_req), shapes(context.new, &new_req));
        if old_shapes == new_shapes {
            continue;
        }
        let shown = |r: &BTreeSet<BTreeSet<String>>| {
            if r.is_empty() {
                return "none".to_string();
            }
            r.iter()
                .map(|a| {
                    if a.is_empty() {
                        "no credentials".to_string()
                    } else {
                        a.iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    }
                })
                .collect::<Vec<_>>()
                .join(" or ")
        };
        // Each way old clients authenticated must still meet a requirement.
        let kept = new_shapes.is_empty()
            || old_shapes
                .iter()
                .all(|sent| new_shapes.iter().any(|asked| asked.is_subset(sent)))
                && !old_shapes.is_empty();
        add(
            rows,
            Topic::Operation(pair.route.clone(), pair.method.clone()),
            if kept {
                Class::NotBreaking
            } else {
                Class::Breaking
            },
            format!(
                "security requirements changed from {} to {}",
                shown(&old_req),
                shown(&new_req)
            ),
            if kept {
                "every way old clients authenticate is still accepted"
            } else {
                "a way old clients authenticate is no longer accepted"
            },
        );
    }
    let bases = |doc: &Value| -> BTreeSet<String> {
        let mut out: BTreeSet<String> = doc["servers"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|s| str_of(s, "url"))
                    .map(|url| {
                        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
                        let path = rest.find('/').map_or("", |i| &rest[i..]);
                        path.trim_end_matches('/').to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        if out.is_empty() {
            out.insert(String::new());
        }
        out
    };
    let (old, new) = (bases(context.old), bases(context.new));
    if old.is_disjoint(&new) {
        let shown = |b: &BTreeSet<String>| {
            b.iter()
                .map(|p| format!("`{}`", if p.is_empty() { "/" } else { p }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        add(
            rows,
            Topic::Document,
            Class::Breaking,
            format!("base path changed from {} to {}", shown(&old), shown(&new)),
            "old clients send every request under the old base path",
        );
    }
}

/// Each parameter's serialisation (`style`, `explode`, `allowReserved`,
/// OpenAPI's defaults filled in), for parameters on both sides.
fn compare_serialisation(context: &Context<'_>, rows: &mut Rows) {
    let parameters = |side: Side, op: &Operation| -> BTreeMap<(String, String), String> {
        let doc = context.doc(side);
        let item = &doc["paths"][&op.path];
        let mut out = BTreeMap::new();
        for list in [&item["parameters"], &item[&op.method]["parameters"]] {
            for p in list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| resolve(doc, p))
            {
                let (Some(name), Some(place)) = (str_of(p, "name"), str_of(p, "in")) else {
                    continue;
                };
                let default_style = if matches!(place, "query" | "cookie") {
                    "form"
                } else {
                    "simple"
                };
                let style = str_of(p, "style").unwrap_or(default_style);
                let explode = p["explode"].as_bool().unwrap_or(style == "form");
                let reserved = p["allowReserved"].as_bool().unwrap_or(false);
                out.insert(
                    (place.to_string(), name.to_string()),
                    format!("style {style}, explode {explode}, allowReserved {reserved}"),
                );
            }
        }
        out
    };
    for pair in &context.pairs {
        let (Some(o), Some(n)) = (&pair.old, &pair.new) else {
            continue;
        };
        let (old, new) = (parameters(Side::Old, o), parameters(Side::New, n));
        for ((place, name), before) in &old {
            if let Some(after) = new.get(&(place.clone(), name.clone()))
                && after != before
            {
                add(
                    rows,
                    Topic::Operation(pair.route.clone(), pair.method.clone()),
                    Class::Breaking,
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
fn add_drift_rows(
    context: &Context<'_>,
    old: &Value,
    new: &Value,
    covered: &Covered,
    rows: &mut Rows,
) {
    let changes = match crate::codegen::quietly(|| drift::compare(old, new)) {
        Ok(Ok(changes)) => changes,
        Ok(Err(e)) => return drift_failed(rows, &format!("{e:#}")),
        Err(panic) => return drift_failed(rows, &panic),
    };
    for change in changes {
        let Some(path) = change.paths.first() else {
            continue;
        };
        for info in &change.changes {
            // An operation removed is at the old document's place.
            let (new_base, _) = path.new.base_and_subpath();
            let (side, base, subpath) = if new_base == "#/paths" {
                (
                    Side::Old,
                    path.old.base_and_subpath().0,
                    info.old_subpath.as_str(),
                )
            } else {
                (Side::New, new_base, info.new_subpath.as_str())
            };
            let base = base.strip_prefix('#').unwrap_or(base);
            let pointer = if subpath.is_empty() {
                base.to_string()
            } else {
                format!("{base}/{subpath}")
            };
            let message = info.message.as_str();
            let detailed = message.starts_with("operation added a new response code")
                || message.starts_with("operation no longer responds with status")
                || (message == "string schema changed" && covered.enums.contains(&pointer))
                || (message.starts_with("object ") && covered.objects.contains(&pointer));
            if detailed {
                continue;
            }
            let (class, why) = match info.class {
                drift::ChangeClass::BackwardIncompatible | drift::ChangeClass::Incompatible => (
                    Class::Breaking,
                    "old clients can fail against a server that follows the new spec",
                ),
                drift::ChangeClass::ForwardIncompatible => (
                    Class::NotBreaking,
                    "an addition or a relaxation: old clients keep working; new callers of it \
                     need a server that has it",
                ),
                // Documentation: the spec's own diff shows it.
                drift::ChangeClass::Trivial => continue,
                drift::ChangeClass::Unhandled => (
                    Class::Review,
                    "drift does not classify this change: review it",
                ),
            };
            let place = if subpath.is_empty() {
                String::new()
            } else {
                format!(" (at `{}`)", segments(&format!("/{subpath}")).join("/"))
            };
            let mut text: String = message
                .chars()
                .take(1)
                .flat_map(char::to_lowercase)
                .collect();
            text.extend(message.chars().skip(1));
            add(
                rows,
                context.topic(side, &pointer),
                class,
                format!("{text}{place}"),
                why,
            );
        }
    }
}

fn drift_failed(rows: &mut Rows, problem: &str) {
    add(
        rows,
        Topic::Document,
        Class::Review,
        format!("drift could not compare the specs: {problem}"),
        "compare them by hand",
    );
}
