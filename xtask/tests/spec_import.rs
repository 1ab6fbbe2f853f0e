//! `cargo xtask spec import`.

mod common;

use std::path::Path;

use common::{TempDir, assert_no_panic, committed_spec, fixture, xtask};

fn import(upstream: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "spec".to_string(),
        "import".to_string(),
        upstream.display().to_string(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    xtask(args)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the spec reads")
}

fn parse(path: &Path) -> serde_json::Value {
    serde_yaml_ng::from_str(&read(path)).expect("the spec parses")
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// Every key anywhere in the document.
fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn importing_the_official_1_1_1_spec_into_the_committed_spec_changes_no_byte() {
    let dir = TempDir::new("fixed-point");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(&fixture("upstream/plex-pms-openapi-1.1.1.yaml"), &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(read(&spec), read(&committed_spec()), "{}", run.output());
    assert!(
        run.stdout.contains("no changes to the API"),
        "{}",
        run.output()
    );
    assert!(run.stdout.contains("is unchanged"), "{}", run.output());
}

#[test]
fn importing_a_renamed_variant_keeps_our_names_and_picks_up_what_is_new() {
    let dir = TempDir::new("renamed");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(&fixture("upstream/plex-pms-renamed.yaml"), &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let before = parse(&committed_spec());
    let after = parse(&spec);

    assert_eq!(after["openapi"], "3.0.3");
    assert_eq!(
        after["info"]["version"], "1.2.0",
        "upstream's version, trimmed"
    );
    assert_eq!(after["info"]["description"], before["info"]["description"]);

    // Our paths and operationIds, matched by path whatever upstream's names.
    let paths = after["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/butler/{task}"));
    assert!(!paths.contains_key("/butler/{butlerTask}"));
    assert!(
        !paths.contains_key("/identity"),
        "only Butler paths are taken"
    );
    for (path, method, id) in [
        ("/butler", "get", "getButlerTasks"),
        ("/butler", "post", "startAllTasks"),
        ("/butler", "delete", "stopAllTasks"),
        ("/butler/{task}", "post", "startTask"),
        ("/butler/{task}", "delete", "stopTask"),
        // New upstream, with no house name: upstream's id.
        ("/butler/{task}", "get", "getTask"),
    ] {
        assert_eq!(
            after["paths"][path][method]["operationId"], id,
            "{method} {path}"
        );
    }
    // Our statuses and bodies stay; the new operation gets the house 401.
    assert_eq!(
        after["paths"]["/butler/{task}"]["post"]["responses"],
        before["paths"]["/butler/{task}"]["post"]["responses"]
    );
    assert_eq!(
        after["paths"]["/butler/{task}"]["get"]["responses"]["401"]["$ref"],
        "#/components/responses/Unauthorized"
    );

    // Task names: the union, sorted; none dropped.
    let old_names = strings(&before["components"]["schemas"]["KnownTaskName"]["enum"]);
    let new_names = strings(&after["components"]["schemas"]["KnownTaskName"]["enum"]);
    for name in &old_names {
        assert!(new_names.contains(name), "{name} was dropped");
    }
    for name in ["AaaInventedTaskForTests", "ZzzInventedTaskForTests"] {
        assert!(new_names.contains(&name.to_string()), "{name} missing");
    }
    let mut sorted = new_names.clone();
    sorted.sort();
    assert_eq!(new_names, sorted);
    assert_eq!(
        after["components"]["schemas"]["TaskName"], before["components"]["schemas"]["TaskName"],
        "task names stay open"
    );

    // A new property of the task, converted from 3.1.
    let task = &after["components"]["schemas"]["ButlerTask"]["properties"];
    assert_eq!(task["lastRun"]["type"], "integer");
    assert_eq!(task["lastRun"]["nullable"], true);
    assert_eq!(task["kind"]["enum"], serde_json::json!(["butler"]));
    assert!(
        task["kind"]["description"].is_string(),
        "every property is described"
    );
    // A new query parameter; identity headers are not parameters here.
    let start = &after["paths"]["/butler/{task}"]["post"]["parameters"];
    assert_eq!(start[0]["name"], "force");
    assert_eq!(start[0]["schema"]["nullable"], true);
    assert_eq!(start.as_array().map(Vec::len), Some(1));

    let mut all_keys = Vec::new();
    keys(&after, &mut all_keys);
    for gone in ["examples", "const", "$schema"] {
        assert!(!all_keys.iter().any(|k| k == gone), "`{gone}` left in");
    }
    for note in [
        "new operation GET /butler/{task} added as `getTask`",
        "the facade must wrap it",
        "task names new from upstream",
    ] {
        assert!(run.stdout.contains(note), "{note}\n{}", run.output());
    }
    assert!(
        run.stdout
            .contains("| task name `AaaInventedTaskForTests` added | no |"),
        "prints the semantic diff: {}",
        run.output()
    );

    // What it wrote generates a client.
    let codegen = xtask(["codegen".as_ref(), "--spec".as_ref(), spec.as_os_str()]);
    assert_eq!(codegen.code, 0, "{}", codegen.output());
    assert!(
        codegen.stdout.contains("pub async fn get_task"),
        "{}",
        codegen.output()
    );
}

#[test]
fn importing_twice_writes_identical_bytes_and_reports_no_changes() {
    let dir = TempDir::new("twice");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let upstream = fixture("upstream/plex-pms-renamed.yaml");
    let first = import(&upstream, &spec, &[]);
    assert_eq!(first.code, 0, "{}", first.output());
    assert!(first.stdout.contains("Wrote"), "{}", first.output());
    let after_first = read(&spec);

    let second = import(&upstream, &spec, &[]);
    assert_eq!(second.code, 0, "{}", second.output());
    assert_eq!(read(&spec), after_first);
    assert!(
        second.stdout.contains("no changes to the API"),
        "{}",
        second.output()
    );
    assert!(
        second.stdout.contains("is unchanged"),
        "{}",
        second.output()
    );
}

#[test]
fn a_dry_run_prints_the_changes_and_writes_nothing() {
    let dir = TempDir::new("dry-run");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(
        &fixture("upstream/plex-pms-renamed.yaml"),
        &spec,
        &["--dry-run"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains("`info.version` changed from `1.1.1` to `1.2.0`"),
        "{}",
        run.output()
    );
    assert!(run.stdout.contains("Dry run"), "{}", run.output());
    assert_eq!(read(&spec), read(&committed_spec()));
}

/// Runs an import that must fail, and checks that nothing was written.
fn refused(upstream: &str, expected: &str) {
    let dir = TempDir::new("refused");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(&fixture(upstream), &spec, &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_no_panic(&run);
    assert!(
        run.stderr.contains(expected),
        "{expected}\n{}",
        run.output()
    );
    assert!(run.stderr.contains("nothing written"), "{}", run.output());
    assert_eq!(read(&spec), read(&committed_spec()), "the spec was written");
}

#[test]
fn a_file_that_is_not_a_plex_spec_is_refused_and_nothing_is_written() {
    refused(
        "import/not-plex.yaml",
        "not a Plex spec: its title is `Swagger Petstore`",
    );
}

#[test]
fn a_plex_spec_without_butler_paths_is_refused_and_nothing_is_written() {
    refused(
        "import/no-butler-paths.yaml",
        "no Butler paths (`/butler`, `/butler/{...}`) in it",
    );
}

#[test]
fn a_file_that_does_not_parse_is_refused_and_nothing_is_written() {
    refused("import/broken.yaml", "not valid YAML or JSON");
}

#[test]
fn an_import_the_generator_cannot_use_is_refused_and_nothing_is_written() {
    refused(
        "import/generator-rejects.yaml",
        "cannot be turned into a client",
    );
}

#[test]
fn importing_into_a_missing_spec_is_an_error() {
    let dir = TempDir::new("missing");
    let run = import(
        &fixture("upstream/plex-pms-openapi-1.1.1.yaml"),
        &dir.path("butler.yaml"),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr.contains("cannot read our spec"),
        "{}",
        run.output()
    );
    assert!(!dir.path("butler.yaml").exists());
}
