//! Workspace-level integration tests; see `tests/`.
//!
//! The Rust examples of the READMEs are compiled here as doctests, so that
//! they cannot drift from the real API.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

#[cfg(doctest)]
#[doc = include_str!("../../crates/plex-butler/README.md")]
struct FacadeReadme;

#[cfg(doctest)]
#[doc = include_str!("../../crates/plex-butler-sim/README.md")]
struct SimulatorReadme;

/// The reports in `docs/` name the tests that pin each behaviour; a renamed
/// or moved test must not leave them pointing at nothing.
#[cfg(test)]
mod cited_tests {
    use std::path::{Path, PathBuf};

    const DOCS: [&str; 2] = ["docs/reliability.md", "docs/performance.md"];

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The test references of a document: `path.rs::name`,
    /// `path.rs::module::name`, and `::name` for another test in the path
    /// named before it. The document's own legend (`a.rs::...`) is skipped.
    fn references(text: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut last_path = None;
        for quoted in text.split('`').skip(1).step_by(2) {
            if let Some(name) = quoted.strip_prefix("::") {
                if let Some(path) = &last_path {
                    found.push((String::clone(path), name.to_owned()));
                }
                continue;
            }
            let Some((path, rest)) = quoted.split_once(".rs::") else {
                continue;
            };
            if path == "a" {
                continue;
            }
            let path = format!("{path}.rs");
            let name = rest.rsplit("::").next().unwrap_or(rest).to_owned();
            last_path = Some(path.clone());
            found.push((path, name));
        }
        found
    }

    #[test]
    fn every_test_the_reports_cite_exists_where_they_say() {
        let mut missing = Vec::new();
        let mut cited = 0;
        for doc in DOCS {
            let text = std::fs::read_to_string(root().join(doc)).expect("the report reads");
            for (path, name) in references(&text) {
                cited += 1;
                let source = std::fs::read_to_string(root().join(&path)).unwrap_or_default();
                let defined = source.contains(&format!("fn {name}("))
                    || source.contains(&format!("fn {name}<"))
                    || source.contains(&format!("mod {name} "));
                if !defined {
                    missing.push(format!("{doc}: {path}::{name}"));
                }
            }
        }
        assert!(
            cited > 50,
            "only {cited} test references found: the parser is off"
        );
        assert!(
            missing.is_empty(),
            "cited tests that do not exist:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn references_are_read_with_their_module_and_shorthand_forms() {
        let text = "`x/a.rs::m::one` and `::two`; `a.rs::legend`; `y/b.rs::three`";
        assert_eq!(
            references(text),
            [
                ("x/a.rs".to_owned(), "one".to_owned()),
                ("x/a.rs".to_owned(), "two".to_owned()),
                ("y/b.rs".to_owned(), "three".to_owned()),
            ]
        );
    }
}
