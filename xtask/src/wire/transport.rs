//! What `drift` 0.2 does not compare at all: how a request is addressed,
//! authenticated and serialised, apart from its schemas. A change here
//! leaves every schema as it was, yet a server that follows the new spec
//! looks for the token, a parameter or the whole request somewhere old
//! clients do not put it.
//!
//! - security schemes: `type`, `in`, `name` and (for `http`) `scheme`;
//!   schemes added and removed;
//! - security requirements, as each operation ends up with them (its own
//!   `security`, or the document's);
//! - each parameter's serialisation: `style`, `explode` and
//!   `allowReserved`, with OpenAPI's defaults filled in;
//! - the path part of `servers[].url` (the base path every request is sent
//!   under); scheme, host and port are the user's to choose.

use std::collections::BTreeSet;

use super::{Class, Context, GroupKey, Rows};
use crate::doc::{self, Node, resolve};

pub(super) fn compare(context: &Context<'_>, rows: &mut Rows) {
    compare_security_schemes(context, rows);
    compare_security_requirements(context, rows);
    compare_parameter_serialisation(context, rows);
    compare_base_paths(context, rows);
}

/// The names of the schemes an operation requires in any of its
/// alternatives (for the report's "used by").
pub(super) fn required_schemes(spec: &Node, operation: &Node) -> BTreeSet<String> {
    effective_requirements(spec, operation)
        .into_iter()
        .flatten()
        .map(|(scheme, _)| scheme)
        .collect()
}

/// A field's value in backquotes, or `none` when it is missing.
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_string(), |v| format!("`{v}`"))
}

fn security_schemes(spec: &Node) -> Vec<(&str, &Node)> {
    spec.pointer("/components/securitySchemes")
        .and_then(Node::as_map)
        .map(|schemes| {
            schemes
                .iter()
                .filter_map(|(name, scheme)| Some((name, resolve(spec, scheme)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Where a client puts an API key: `header `X-Plex-Token``.
fn key_place(scheme: &Node) -> String {
    let place = match scheme.get_str("in") {
        Some("query") => "query parameter",
        Some(other) => other,
        None => "an unnamed place",
    };
    format!("{place} {}", shown(scheme.get_str("name")))
}

fn compare_security_schemes(context: &Context<'_>, rows: &mut Rows) {
    let old_schemes = security_schemes(context.old);
    let new_schemes = security_schemes(context.new);
    let group = |name: &str| GroupKey::Component("securitySchemes".to_string(), name.to_string());
    for (name, old_scheme) in &old_schemes {
        let Some((_, new_scheme)) = new_schemes.iter().find(|(n, _)| n == name) else {
            rows.add(
                group(name),
                Class::Breaking,
                "security scheme removed".to_string(),
                "old clients authenticate with it; a server that follows the new spec no \
                 longer accepts it",
            );
            continue;
        };
        let old_type = old_scheme.get_str("type");
        let new_type = new_scheme.get_str("type");
        if old_type != new_type {
            // Every other field means something else under another type.
            rows.add(
                group(name),
                Class::Breaking,
                format!(
                    "`type` changed from {} to {}",
                    shown(old_type),
                    shown(new_type)
                ),
                "old clients authenticate the old way; a server that follows the new spec \
                 expects the new one, and never sees their credentials",
            );
            continue;
        }
        let moved = ["in", "name"]
            .iter()
            .any(|field| old_scheme.get_str(field) != new_scheme.get_str(field));
        if old_type == Some("apiKey") && moved {
            rows.add(
                group(name),
                Class::Breaking,
                format!(
                    "the token moved: {} is now {}",
                    key_place(old_scheme),
                    key_place(new_scheme)
                ),
                "a server that follows the new spec never sees the token old clients send \
                 where they always did, and answers them as if they sent none",
            );
        }
        let (old_auth, new_auth) = (old_scheme.get_str("scheme"), new_scheme.get_str("scheme"));
        // RFC 7235: the auth-scheme is case-insensitive.
        let same_auth = match (old_auth, new_auth) {
            (Some(o), Some(n)) => o.eq_ignore_ascii_case(n),
            _ => old_auth == new_auth,
        };
        if old_type == Some("http") && !same_auth {
            rows.add(
                group(name),
                Class::Breaking,
                format!(
                    "`scheme` changed from {} to {}",
                    shown(old_auth),
                    shown(new_auth)
                ),
                "old clients send `Authorization` with the old scheme; a server that follows \
                 the new spec expects the new one, and never sees their credentials",
            );
        }
    }
    for (name, _) in &new_schemes {
        if old_schemes.iter().any(|(n, _)| n == name) {
            continue;
        }
        let (class, why) = if is_required_anywhere(context.new, name) {
            (
                Class::Breaking,
                "operations require it, and old clients do not send it",
            )
        } else {
            (
                Class::NotBreaking,
                "no operation requires it: old clients need not send it",
            )
        };
        rows.add(group(name), class, "security scheme added".to_string(), why);
    }
}

fn is_required_anywhere(spec: &Node, scheme: &str) -> bool {
    let mut lists: Vec<&Node> = spec.get("security").into_iter().collect();
    for operation in doc::operations(spec) {
        if let Some(list) = spec
            .pointer(&doc::operation_pointer(&operation.path, &operation.method))
            .and_then(|op| op.get("security"))
        {
            lists.push(list);
        }
    }
    lists
        .into_iter()
        .flat_map(requirement_list)
        .flatten()
        .any(|(name, _)| name == scheme)
}

/// One way to authenticate: every scheme named (with its sorted scopes)
/// together; empty for "no credentials".
type Requirement = BTreeSet<(String, Vec<String>)>;

/// A `security` list as a set of alternatives. An empty list asks for no
/// credentials, as an empty requirement does.
fn requirement_list(list: &Node) -> BTreeSet<Requirement> {
    let mut alternatives: BTreeSet<Requirement> = list
        .as_seq()
        .unwrap_or_default()
        .iter()
        .map(|alternative| {
            alternative
                .as_map()
                .map(|schemes| {
                    schemes
                        .iter()
                        .map(|(name, scopes)| {
                            let mut scopes: Vec<String> = scopes
                                .as_seq()
                                .unwrap_or_default()
                                .iter()
                                .filter_map(Node::as_str)
                                .map(str::to_string)
                                .collect();
                            scopes.sort_unstable();
                            (name.to_string(), scopes)
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    if alternatives.is_empty() {
        alternatives.insert(Requirement::new());
    }
    alternatives
}

/// The document's requirements; none stated asks for no credentials.
fn document_requirements(spec: &Node) -> BTreeSet<Requirement> {
    spec.get("security")
        .map(requirement_list)
        .unwrap_or_else(|| BTreeSet::from([Requirement::new()]))
}

/// An operation's own requirements, or else the document's.
fn effective_requirements(spec: &Node, operation: &Node) -> BTreeSet<Requirement> {
    match operation.get("security") {
        Some(list) => requirement_list(list),
        None => document_requirements(spec),
    }
}

fn shown_requirements(alternatives: &BTreeSet<Requirement>) -> String {
    alternatives
        .iter()
        .map(|requirement| {
            if requirement.is_empty() {
                return "no credentials".to_string();
            }
            requirement
                .iter()
                .map(|(name, scopes)| {
                    if scopes.is_empty() {
                        format!("`{name}`")
                    } else {
                        format!("`{name}` (scopes {})", scopes.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Whether credentials sent for `sent` meet `asked`: every scheme asked
/// for is sent, with at least the scopes asked.
fn meets(sent: &Requirement, asked: &Requirement) -> bool {
    asked.iter().all(|(name, scopes)| {
        sent.iter()
            .any(|(s, sent_scopes)| s == name && scopes.iter().all(|x| sent_scopes.contains(x)))
    })
}

/// A row for a change of requirements: breaking unless what old clients
/// send, whichever alternative they chose, still meets one of the new
/// ones (a requirement dropped, or an alternative added, breaks nobody).
fn requirement_row(
    rows: &mut Rows,
    group: GroupKey,
    what: &str,
    old: &BTreeSet<Requirement>,
    new: &BTreeSet<Requirement>,
) {
    let still_met = old
        .iter()
        .all(|sent| new.iter().any(|asked| meets(sent, asked)));
    let (class, why) = if still_met {
        (
            Class::NotBreaking,
            "what old clients send still meets what the new spec asks for".to_string(),
        )
    } else {
        (
            Class::Breaking,
            format!(
                "old clients authenticate with {}; a server that follows the new spec asks for \
                 {}",
                shown_requirements(old),
                shown_requirements(new)
            ),
        )
    };
    rows.add(
        group,
        class,
        format!(
            "{what} changed from {} to {}",
            shown_requirements(old),
            shown_requirements(new)
        ),
        &why,
    );
}

fn compare_security_requirements(context: &Context<'_>, rows: &mut Rows) {
    let old_document = document_requirements(context.old);
    let new_document = document_requirements(context.new);
    let mut inherited = false;
    for (index, entry) in context.operations.iter().enumerate() {
        let (Some(old_path), Some(new_path)) = (&entry.old_path, &entry.new_path) else {
            continue;
        };
        let old_op = context
            .old
            .pointer(&doc::operation_pointer(old_path, &entry.method));
        let new_op = context
            .new
            .pointer(&doc::operation_pointer(new_path, &entry.method));
        let (Some(old_op), Some(new_op)) = (old_op, new_op) else {
            continue;
        };
        let states_its_own = old_op.get("security").is_some() || new_op.get("security").is_some();
        if !states_its_own {
            // The document's row says it once for all of these.
            inherited = true;
            continue;
        }
        let old = effective_requirements(context.old, old_op);
        let new = effective_requirements(context.new, new_op);
        if old != new {
            requirement_row(
                rows,
                GroupKey::Operation(index),
                "security requirement",
                &old,
                &new,
            );
        }
    }
    if old_document != new_document {
        if inherited {
            requirement_row(
                rows,
                GroupKey::Document,
                "the document's security requirement (`security`)",
                &old_document,
                &new_document,
            );
        } else {
            rows.add(
                GroupKey::Document,
                Class::NotBreaking,
                format!(
                    "the document's security requirement (`security`) changed from {} to {}",
                    shown_requirements(&old_document),
                    shown_requirements(&new_document)
                ),
                "every operation states its own, so it applies to none",
            );
        }
    }
}

/// How a parameter goes on the wire, OpenAPI's defaults filled in.
#[derive(PartialEq, Eq)]
struct Serialisation {
    style: String,
    style_is_default: bool,
    explode: bool,
    allow_reserved: bool,
}

impl Serialisation {
    /// None for a parameter described by `content` (a media type, not a
    /// style) or of an unknown place.
    fn of(parameter: &Node) -> Option<Self> {
        if parameter.get("content").is_some() {
            return None;
        }
        let default_style = match parameter.get_str("in")? {
            "query" | "cookie" => "form",
            "path" | "header" => "simple",
            _ => return None,
        };
        let style = parameter.get_str("style").unwrap_or(default_style);
        let flag = |key: &str| match parameter.get(key) {
            Some(Node::Bool(b)) => Some(*b),
            _ => None,
        };
        Some(Serialisation {
            style: style.to_string(),
            style_is_default: parameter.get_str("style").is_none(),
            explode: flag("explode").unwrap_or(style == "form"),
            allow_reserved: flag("allowReserved").unwrap_or(false),
        })
    }

    fn shown_style(&self) -> String {
        if self.style_is_default {
            format!("`{}` (the default)", self.style)
        } else {
            format!("`{}`", self.style)
        }
    }
}

/// A parameter of an operation, its path item's merged in.
struct Parameter<'n> {
    /// `(in, name)`, a path parameter's name replaced by its place in the
    /// template, so a renamed one still matches.
    key: (String, String),
    name: String,
    place: String,
    node: &'n Node,
    /// Declared on the path item, for all its operations.
    shared: bool,
}

fn parameters<'n>(spec: &'n Node, path: &str, method: &str) -> Vec<Parameter<'n>> {
    let item_pointer = format!("/paths/{}", doc::escape_pointer_segment(path));
    let Some(item) = spec.pointer(&item_pointer) else {
        return Vec::new();
    };
    let templated: Vec<&str> = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect();
    let mut found: Vec<Parameter<'n>> = Vec::new();
    let lists = [
        (item.get("parameters"), true),
        (item.get(method).and_then(|op| op.get("parameters")), false),
    ];
    for (list, shared) in lists {
        for parameter in list.and_then(Node::as_seq).unwrap_or_default() {
            let Some(node) = resolve(spec, parameter) else {
                continue;
            };
            let (Some(name), Some(place)) = (node.get_str("name"), node.get_str("in")) else {
                continue;
            };
            let key_name = match templated.iter().position(|t| *t == name) {
                Some(position) if place == "path" => format!("#{position}"),
                _ => name.to_string(),
            };
            let key = (place.to_string(), key_name);
            // An operation's own parameter overrides its path item's.
            found.retain(|p| p.key != key);
            found.push(Parameter {
                key,
                name: name.to_string(),
                place: place.to_string(),
                node,
                shared,
            });
        }
    }
    found
}

fn compare_parameter_serialisation(context: &Context<'_>, rows: &mut Rows) {
    for (index, entry) in context.operations.iter().enumerate() {
        let (Some(old_path), Some(new_path)) = (&entry.old_path, &entry.new_path) else {
            continue;
        };
        let old_parameters = parameters(context.old, old_path, &entry.method);
        for new in parameters(context.new, new_path, &entry.method) {
            let Some(old) = old_parameters.iter().find(|p| p.key == new.key) else {
                continue;
            };
            let (Some(was), Some(is)) = (Serialisation::of(old.node), Serialisation::of(new.node))
            else {
                continue;
            };
            if was == is {
                continue;
            }
            let group = if old.shared && new.shared {
                GroupKey::PathItem(new_path.clone())
            } else {
                GroupKey::Operation(index)
            };
            let label = format!("parameter `{}` ({})", new.name, new.place);
            serialisation_rows(rows, &group, &label, &was, &is);
        }
    }
}

fn serialisation_rows(
    rows: &mut Rows,
    group: &GroupKey,
    label: &str,
    was: &Serialisation,
    is: &Serialisation,
) {
    if was.style != is.style {
        rows.add(
            group.clone(),
            Class::Breaking,
            format!(
                "{label}: `style` changed from {} to {}",
                was.shown_style(),
                is.shown_style()
            ),
            &format!(
                "old clients serialise it in the `{}` style; a server that follows the new spec \
                 parses the `{}` style, and misreads theirs",
                was.style, is.style
            ),
        );
    }
    if was.explode != is.explode {
        let form = |explode: bool| {
            if explode {
                "exploded (each item or entry on its own)"
            } else {
                "not exploded (all items and entries in one value)"
            }
        };
        rows.add(
            group.clone(),
            Class::Breaking,
            format!(
                "{label}: `explode` changed from {} to {}",
                was.explode, is.explode
            ),
            &format!(
                "old clients send it {}; a server that follows the new spec expects it {}, and \
                 misreads theirs",
                form(was.explode),
                form(is.explode)
            ),
        );
    }
    if was.allow_reserved != is.allow_reserved {
        let why = if is.allow_reserved {
            "old clients percent-encode reserved characters (`/`, `?`, `&`, `=`, ...) in it, \
             which the new spec sends as they are; a server that follows it may read the \
             escapes literally"
        } else {
            "old clients send reserved characters (`/`, `?`, `&`, `=`, ...) in it as they are; \
             a server that follows the new spec expects them percent-encoded, and an `&` or `=` \
             of theirs splits the value"
        };
        rows.add(
            group.clone(),
            Class::Breaking,
            format!(
                "{label}: `allowReserved` changed from {} to {}",
                was.allow_reserved, is.allow_reserved
            ),
            why,
        );
    }
}

/// The path part of each server's URL, its variables replaced by their
/// defaults; `/` when the document lists no server (OpenAPI's default).
fn base_paths(spec: &Node) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for server in spec
        .get("servers")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        let Some(url) = server.get_str("url") else {
            continue;
        };
        // `{protocol}://{host}:{port}/api`: the authority ends at the first
        // `/` after the scheme; a URL that starts with `/` is all path.
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
            None if url.starts_with('{') => url.find('/').map_or("", |i| &url[i..]),
            None => url,
        };
        let mut path = path.to_string();
        if let Some(variables) = server.get("variables").and_then(Node::as_map) {
            for (name, variable) in variables.iter() {
                if let Some(default) = variable.get_str("default") {
                    path = path.replace(&format!("{{{name}}}"), default);
                }
            }
        }
        let trimmed = path.trim_end_matches('/');
        paths.insert(if trimmed.is_empty() {
            "/".to_string()
        } else if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        });
    }
    if paths.is_empty() {
        paths.insert("/".to_string());
    }
    paths
}

fn compare_base_paths(context: &Context<'_>, rows: &mut Rows) {
    let old = base_paths(context.old);
    let new = base_paths(context.new);
    if old == new {
        return;
    }
    let list = |paths: &BTreeSet<String>| {
        paths
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (class, why) = if old.is_subset(&new) {
        (
            Class::NotBreaking,
            "the base path old clients use is still listed".to_string(),
        )
    } else {
        (
            Class::Breaking,
            "old clients send every request under the old base path, where a server that \
             follows the new spec has no operation"
                .to_string(),
        )
    };
    rows.add(
        GroupKey::Document,
        class,
        format!(
            "base path of `servers` changed from {} to {}",
            list(&old),
            list(&new)
        ),
        &why,
    );
}

#[cfg(test)]
mod tests {
    use super::super::{Row, compare};
    use crate::doc::parse;

    /// A spec with `GET /x/{id}` taking a query parameter and a path
    /// parameter, each with the extra lines given.
    fn spec(query: &str, path: &str) -> crate::doc::Node {
        parse(&spec_text(query, path)).expect("parses")
    }

    fn spec_text(query: &str, path: &str) -> String {
        format!(
            "openapi: 3.0.3
info: {{title: t, version: '1'}}
paths:
  /x/{{id}}:
    parameters:
      - {{name: id, in: path, required: true, schema: {{type: string}}{path}}}
    get:
      operationId: getX
      parameters:
        - {{name: ids, in: query, schema: {{type: array, items: {{type: string}}}}{query}}}
      responses:
        '204': {{description: done}}
"
        )
    }

    fn rows(old: &crate::doc::Node, new: &crate::doc::Node) -> Vec<Row> {
        compare(old, new)
            .expect("compares")
            .rows()
            .cloned()
            .collect()
    }

    #[test]
    fn a_query_style_changed_from_its_default_is_breaking() {
        let rows = rows(&spec("", ""), &spec(", style: spaceDelimited", ""));
        let changes: Vec<&str> = rows.iter().map(|r| r.change.as_str()).collect();
        assert_eq!(
            changes,
            [
                "parameter `ids` (query): `style` changed from `form` (the default) to \
                 `spaceDelimited`",
                // form explodes by default, every other style does not.
                "parameter `ids` (query): `explode` changed from true to false",
            ],
            "{rows:#?}"
        );
        assert!(
            rows.iter().all(|r| r.class == super::Class::Breaking),
            "{rows:#?}"
        );
    }

    #[test]
    fn the_defaults_written_out_are_no_change() {
        let rows = rows(
            &spec("", ""),
            &spec(
                ", style: form, explode: true, allowReserved: false",
                ", style: simple, explode: false",
            ),
        );
        assert!(rows.is_empty(), "{rows:#?}");
    }

    #[test]
    fn a_renamed_path_parameter_exploded_is_reported_on_its_path() {
        let renamed = spec_text("", ", explode: true")
            .replace("/x/{id}", "/x/{key}")
            .replace("name: id", "name: key");
        let rows = rows(&spec("", ""), &parse(&renamed).expect("parses"));
        let row = rows
            .iter()
            .find(|r| r.change.contains("explode"))
            .unwrap_or_else(|| panic!("no explode row in {rows:#?}"));
        assert_eq!(
            row.change,
            "parameter `key` (path): `explode` changed from false to true"
        );
        assert_eq!(row.class, super::Class::Breaking);
    }
}
