//! A spec split into several files, made one document before import.
//!
//! Specs are often written as a root file whose `$ref`s point into other
//! files (`./paths/butler.yaml#/butler`, `schemas.yaml#/Task`), each
//! relative to the directory of the file that holds the reference. Import
//! reads one document, so those references are resolved here first:
//!
//! - a schema, or anything at `#/components/<section>/<name>` of another
//!   file, moves to the root's `components` under its name, and the
//!   reference becomes local; a schema that refers to itself (directly or
//!   through others) stays a reference, so recursion is kept, not unrolled;
//! - anything else (a path item, a parameter, a response) is inlined, with
//!   the siblings of the `$ref` laid over it; a loop of such references
//!   cannot be inlined and is an error naming its steps.
//!
//! A `#/...` reference inside another file points into that file, and is
//! treated as a reference to it. Only local files are read: a web address
//! is refused, with the way to bundle such a spec first. This is a small
//! resolver for what specs written by hand do, not a general one.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::doc::{self, Map, Node};

/// How deep inlined references may nest: deeper is taken as runaway.
const MAX_DEPTH: usize = 64;

/// `root` (read from `shown`, at `path`) with the references to other
/// files resolved. A document without such references comes back as it was.
pub fn bundle(path: &Path, shown: &str, root: Node) -> Result<Node, String> {
    let root_file = File {
        key: identity_of(path),
        shown: PathBuf::from(shown),
        path: path.to_path_buf(),
    };
    let mut taken: Vec<(String, String)> = Vec::new();
    if let Some(components) = root.get("components").and_then(Node::as_map) {
        for (section, names) in components.iter() {
            for name in names.as_map().map(Map::keys).into_iter().flatten() {
                taken.push((section.to_string(), name.to_string()));
            }
        }
    }
    let mut bundler = Bundler {
        root_key: root_file.key.clone(),
        files: HashMap::new(),
        moved: HashMap::new(),
        taken,
        added: Vec::new(),
        inlining: Vec::new(),
    };
    let mut out = bundler.walk(&root, &root_file, false)?;
    if bundler.added.is_empty() {
        return Ok(out);
    }
    let Some(top) = out.as_map_mut() else {
        return Ok(out);
    };
    let Some(components) = top.map_entry("components") else {
        return Err("its `components` is not a map".to_string());
    };
    for (section, name, node) in bundler.added {
        let Some(section_map) = components.map_entry(&section) else {
            return Err(format!("its `components.{section}` is not a map"));
        };
        section_map.insert(name, node);
    }
    Ok(out)
}

/// A file of the spec: how it is known, shown and read.
#[derive(Clone)]
struct File {
    /// Its canonical path when it exists, so that two spellings of one
    /// file are one file.
    key: PathBuf,
    /// As the user would name it: the root as given, others joined to it.
    shown: PathBuf,
    path: PathBuf,
}

struct Bundler {
    root_key: PathBuf,
    /// Files read so far, by key.
    files: HashMap<PathBuf, Node>,
    /// Targets already moved to `components`, by `file#pointer`: their
    /// local reference.
    moved: HashMap<String, String>,
    /// `(section, name)` pairs in use in the root's `components`.
    taken: Vec<(String, String)>,
    /// What to add to `components`, in the order first met.
    added: Vec<(String, String, Node)>,
    /// The references being inlined, outermost first, to name a loop: as
    /// shown, and as `file#pointer`.
    inlining: Vec<(String, String)>,
}

impl Bundler {
    /// A copy of `node` (which is in `file`) with its references resolved.
    fn walk(&mut self, node: &Node, file: &File, in_schema: bool) -> Result<Node, String> {
        match node {
            Node::Map(map) => {
                if let Some(reference) = map.get("$ref").and_then(Node::as_str) {
                    return self.reference(reference, map, file, in_schema);
                }
                let mut out = Map::new();
                for (key, value) in map.iter() {
                    // Below `schema` (a parameter's or a media type's) and
                    // `components.schemas`, everything is a schema.
                    let child_in_schema = in_schema || key == "schema" || key == "schemas";
                    out.insert(key, self.walk(value, file, child_in_schema)?);
                }
                Ok(Node::Map(out))
            }
            Node::Seq(items) => Ok(Node::Seq(
                items
                    .iter()
                    .map(|item| self.walk(item, file, in_schema))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(other.clone()),
        }
    }

    fn reference(
        &mut self,
        reference: &str,
        map: &Map,
        file: &File,
        in_schema: bool,
    ) -> Result<Node, String> {
        let here = file.shown.display();
        if reference.contains("://") || reference.starts_with("//") {
            return Err(format!(
                "`$ref: {reference}` in {here} points to the web, and import reads local \
                 files only: bundle the spec into one file first (for example with \
                 `npx @redocly/cli bundle`)"
            ));
        }
        let (file_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let pointer = percent_decode(fragment);
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "`$ref: {reference}` in {here}: `#{fragment}` is not a JSON pointer \
                 (it must start with `/`)"
            ));
        }
        let target = if file_part.is_empty() {
            file.clone()
        } else {
            self.locate(file, file_part, reference)?
        };

        // Into the root: a local reference, as the root's own are.
        if target.key == self.root_key {
            let mut out = self.siblings(map, file, in_schema)?;
            out.insert("$ref", Node::string(format!("#{pointer}")));
            return Ok(Node::Map(out));
        }

        let identity = format!("{}#{pointer}", target.key.display());
        let section = match components_place(&pointer) {
            Some((section, _)) => Some(section),
            None if in_schema => Some("schemas".to_string()),
            None => None,
        };
        let Some(section) = section else {
            return self.inline(
                reference, &identity, &pointer, map, file, &target, in_schema,
            );
        };

        let local = match self.moved.get(&identity) {
            Some(local) => local.clone(),
            None => {
                let wanted = match components_place(&pointer) {
                    Some((_, name)) => name,
                    None => name_for(&pointer, &target.path),
                };
                let name = self.free_name(&section, &wanted);
                let local = format!(
                    "#/components/{}/{}",
                    doc::escape_pointer_segment(&section),
                    doc::escape_pointer_segment(&name)
                );
                // Known before its content is walked: a schema that refers
                // back to itself then finds this reference.
                self.moved.insert(identity.clone(), local.clone());
                self.taken.push((section.clone(), name.clone()));
                let found = self.target(&target, &pointer, reference, file)?;
                // Its place is taken now, so components come in the order
                // they are first met, a schema before those it refers to.
                let slot = self.added.len();
                self.added.push((section.clone(), name, Node::Null));
                let walked = self.walk(&found, &target, section == "schemas")?;
                if let Some(entry) = self.added.get_mut(slot) {
                    entry.2 = walked;
                }
                local
            }
        };
        let mut out = self.siblings(map, file, in_schema)?;
        out.insert("$ref", Node::string(local));
        Ok(Node::Map(out))
    }

    /// The referenced node, inlined, with the reference's siblings over it.
    #[allow(clippy::too_many_arguments)]
    fn inline(
        &mut self,
        reference: &str,
        identity: &str,
        pointer: &str,
        map: &Map,
        file: &File,
        target: &File,
        in_schema: bool,
    ) -> Result<Node, String> {
        let step = format!("`{reference}` (in {})", file.shown.display());
        if let Some(start) = self.inlining.iter().position(|(_, id)| id == identity) {
            let mut steps: Vec<String> = self.inlining[start..]
                .iter()
                .map(|(shown, _)| shown.clone())
                .collect();
            steps.push(step);
            return Err(format!(
                "the references {} form a loop, which cannot be inlined; \
                 refer to a component instead",
                steps.join(" -> ")
            ));
        }
        if self.inlining.len() >= MAX_DEPTH {
            return Err(format!(
                "`$ref: {reference}` in {}: references nest more than {MAX_DEPTH} deep",
                file.shown.display()
            ));
        }
        let found = self.target(target, pointer, reference, file)?;
        self.inlining.push((step, identity.to_string()));
        let walked = self.walk(&found, target, in_schema);
        self.inlining.pop();
        let mut walked = walked?;
        let siblings = self.siblings(map, file, in_schema)?;
        if let Node::Map(out) = &mut walked {
            for (key, value) in siblings.iter() {
                out.insert(key, value.clone());
            }
        }
        Ok(walked)
    }

    /// A reference's other keys (3.1 allows `description`, `summary`),
    /// resolved in the referring file.
    fn siblings(&mut self, map: &Map, file: &File, in_schema: bool) -> Result<Map, String> {
        let mut out = Map::new();
        for (key, value) in map.iter() {
            if key != "$ref" {
                out.insert(key, self.walk(value, file, in_schema)?);
            }
        }
        Ok(out)
    }

    /// The file a reference names, relative to the referring file's
    /// directory, read once.
    fn locate(&mut self, from: &File, file_part: &str, reference: &str) -> Result<File, String> {
        let relative = percent_decode(file_part);
        let path = from.path.parent().unwrap_or(Path::new("")).join(&relative);
        let shown = normalize(&from.shown.parent().unwrap_or(Path::new("")).join(&relative));
        let key = identity_of(&path);
        let target = File { key, shown, path };
        if target.key == self.root_key || self.files.contains_key(&target.key) {
            return Ok(target);
        }
        let text = std::fs::read_to_string(&target.path).map_err(|e| {
            format!(
                "`$ref: {reference}` in {}: cannot read {}: {e}",
                from.shown.display(),
                target.shown.display()
            )
        })?;
        let node = doc::parse(&text).map_err(|e| {
            format!(
                "`$ref: {reference}` in {}: {}: {e}",
                from.shown.display(),
                target.shown.display()
            )
        })?;
        self.files.insert(target.key.clone(), node);
        Ok(target)
    }

    /// The node at `pointer` in `target` (another file, already read).
    fn target(
        &self,
        target: &File,
        pointer: &str,
        reference: &str,
        from: &File,
    ) -> Result<Node, String> {
        self.files
            .get(&target.key)
            .and_then(|document| document.pointer(pointer))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "`$ref: {reference}` in {}: {} has nothing at `#{pointer}`",
                    from.shown.display(),
                    target.shown.display()
                )
            })
    }

    /// `wanted`, or `wanted2`, `wanted3`, ...: the first name free in
    /// `section`.
    fn free_name(&self, section: &str, wanted: &str) -> String {
        let is_taken = |name: &str| self.taken.iter().any(|(s, n)| s == section && n == name);
        if !is_taken(wanted) {
            return wanted.to_string();
        }
        (2..)
            .map(|n| format!("{wanted}{n}"))
            .find(|name| !is_taken(name))
            .unwrap_or_else(|| wanted.to_string())
    }
}

/// `Some(("schemas", "Task"))` for `/components/schemas/Task`.
fn components_place(pointer: &str) -> Option<(String, String)> {
    let rest = pointer.strip_prefix("/components/")?;
    let (section, name) = rest.split_once('/')?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some((unescape(section), unescape(name)))
}

/// A component name for a schema at `pointer` of `file`: the pointer's
/// last segment, or the file's stem for a whole file; only the characters
/// OpenAPI allows in component names.
fn name_for(pointer: &str, file: &Path) -> String {
    let raw = match pointer.rsplit('/').next().filter(|s| !s.is_empty()) {
        Some(last) => unescape(last),
        None => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "Schema".to_string()
    } else {
        cleaned
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// `%7B` -> `{`: references are URIs, and may escape what a path holds.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The canonical path of an existing file, else the path as given.
fn identity_of(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `a/./b/../c` -> `a/c`, without reading the file system: for messages.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse;

    /// A directory of files for one test, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let dir =
                std::env::temp_dir().join(format!("xtask-bundle-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for (file, text) in files {
                let path = dir.join(file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).expect("a directory");
                }
                std::fs::write(path, text).expect("a file");
            }
            Dir(dir)
        }

        fn bundle(&self, root: &str) -> Result<Node, String> {
            let path = self.0.join(root);
            let text = std::fs::read_to_string(&path).expect("the root reads");
            bundle(&path, root, parse(&text).expect("the root parses"))
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_document_without_external_references_comes_back_unchanged() {
        let dir = Dir::new(
            "local",
            &[(
                "root.yaml",
                "paths: {/x: {$ref: '#/components/pathItems/X'}}\ncomponents: {pathItems: {X: {}}}\n",
            )],
        );
        let root = parse(&std::fs::read_to_string(dir.0.join("root.yaml")).expect("reads"))
            .expect("parses");
        assert_eq!(dir.bundle("root.yaml").expect("bundles"), root);
    }

    #[test]
    fn a_recursive_schema_in_another_file_stays_a_reference_to_a_component() {
        let dir = Dir::new(
            "recursive",
            &[
                (
                    "root.yaml",
                    "paths: {/x: {get: {responses: {'200': {content: {application/json: {schema: {$ref: 'schemas.yaml#/Node'}}}}}}}}\n",
                ),
                (
                    "schemas.yaml",
                    "Node: {type: object, properties: {children: {type: array, items: {$ref: '#/Node'}}}}\n",
                ),
            ],
        );
        let out = dir.bundle("root.yaml").expect("bundles");
        assert_eq!(
            out.pointer("/components/schemas/Node/properties/children/items/$ref"),
            Some(&Node::string("#/components/schemas/Node"))
        );
        assert_eq!(
            out.pointer("/paths/~1x/get/responses/200/content/application~1json/schema/$ref"),
            Some(&Node::string("#/components/schemas/Node"))
        );
    }

    #[test]
    fn a_name_already_used_by_the_root_gets_a_number() {
        let dir = Dir::new(
            "clash",
            &[
                (
                    "root.yaml",
                    "paths: {/x: {get: {parameters: [{name: a, in: query, schema: {$ref: 'other.yaml#/Task'}}]}}}\ncomponents: {schemas: {Task: {type: integer}}}\n",
                ),
                ("other.yaml", "Task: {type: string}\n"),
            ],
        );
        let out = dir.bundle("root.yaml").expect("bundles");
        assert_eq!(
            out.pointer("/components/schemas/Task2/type"),
            Some(&Node::string("string"))
        );
        assert_eq!(
            out.pointer("/components/schemas/Task/type"),
            Some(&Node::string("integer"))
        );
    }

    #[test]
    fn the_split_fixture_bundles_into_its_single_file_equivalent() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream");
        let read = |path: &Path| {
            parse(&std::fs::read_to_string(path).expect("the fixture reads"))
                .expect("the fixture parses")
        };
        let root = fixtures.join("multi-file/openapi.yaml");
        let bundled = bundle(&root, "openapi.yaml", read(&root)).expect("bundles");
        let whole = read(&fixtures.join("multi-file.yaml"));
        // Compared as JSON values: the same content, whatever the key order.
        assert_eq!(bundled.to_json(), whole.to_json());
        // And the components in the order they are first met.
        let names: Vec<&str> = bundled
            .pointer("/components/schemas")
            .and_then(Node::as_map)
            .expect("schemas")
            .keys()
            .collect();
        assert_eq!(
            names,
            [
                "ButlerTasksResponse",
                "ButlerTask",
                "TaskName",
                "ActivitiesResponse"
            ]
        );
    }

    #[test]
    fn percent_escapes_and_dot_segments_are_undone() {
        assert_eq!(
            percent_decode("/paths/~1butler~1%7Btask%7D"),
            "/paths/~1butler~1{task}"
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(
            normalize(Path::new("a/./paths/../schemas.yaml")),
            PathBuf::from("a/schemas.yaml")
        );
        assert_eq!(
            normalize(Path::new("../x.yaml")),
            PathBuf::from("../x.yaml")
        );
    }
}
