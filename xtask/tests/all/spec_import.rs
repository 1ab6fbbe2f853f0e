//! `cargo xtask spec import`.

use std::path::Path;

use crate::common::{TempDir, assert_no_panic, committed_spec, fixture, xtask};

/// Runs `spec import`, judging without building the facade unless `extra`
/// says otherwise (the build is the diff's, tested once below).
fn import(upstream: &Path, out: &Path, extra: &[&str]) -> crate::common::Run {
    import_with(upstream, out, &[&["--no-build"], extra].concat())
}

fn import_with(upstream: &Path, out: &Path, extra: &[&str]) -> crate::common::Run {
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
    // Built in full: an unchanged spec needs no build of the facade.
    let run = import_with(&fixture("upstream/plex-pms-openapi-1.1.1.yaml"), &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(read(&spec), read(&committed_spec()), "{}", run.output());
    assert!(
        run.stdout.contains("no changes to the API"),
        "{}",
        run.output()
    );
    assert!(run.stdout.contains("is unchanged"), "{}", run.output());
    // The activities are covered too: matched by path, their names kept.
    for note in [
        "upstream calls GET /activities `activitiesGetSlash`; ours stays `getActivities`",
        "upstream calls DELETE /activities/{activityId} `activitiesDeleteActivity`; \
         ours stays `cancelActivity`",
        "upstream calls POST /butler/{task} `butlerPostTask`; ours stays `startTask`",
        "identity headers `X-Plex-Client-Identifier`,",
    ] {
        assert!(run.stdout.contains(note), "{note}\n{}", run.output());
    }
    assert!(
        !run.stdout.contains("upstream does not list"),
        "every operation of ours is matched: {}",
        run.output()
    );
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
        codegen.stdout.contains("fn get_task"),
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
    assert_eq!(run.code, 2, "{}", run.output());
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
        "none of our paths (`/activities`, `/butler`, or below them) in it",
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
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.contains("cannot read our spec"),
        "{}",
        run.output()
    );
    assert!(!dir.path("butler.yaml").exists());
}

#[test]
fn importing_the_community_shaped_spec_keeps_our_names_and_says_what_it_renamed() {
    let dir = TempDir::new("community-names");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(
        &fixture("upstream/community-shaped.yaml"),
        &spec,
        &["--format", "text"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let after = parse(&spec);
    for (path, method, ours, theirs) in [
        ("/butler", "get", "getButlerTasks", "getTasks"),
        ("/butler", "post", "startAllTasks", "startTasks"),
        ("/butler", "delete", "stopAllTasks", "stopTasks"),
        ("/activities", "get", "getActivities", "listActivities"),
    ] {
        assert_eq!(after["paths"][path][method]["operationId"], ours);
        let note = format!(
            "upstream calls {} {path} {theirs}; ours stays {ours}",
            method.to_uppercase()
        );
        assert!(run.stdout.contains(&note), "{note}\n{}", run.output());
    }
    // Same names upstream and here: nothing to say.
    assert!(!run.stdout.contains("calls POST /butler/{task} startTask"));
    assert!(
        !run.stdout
            .contains("calls DELETE /activities/{activityId} cancelActivity")
    );

    assert!(after["paths"]["/butler/{task}"].is_object());
    assert!(after["paths"].get("/butler/{taskName}").is_none());
    assert!(
        run.stdout.contains(
            "upstream names the path parameter taskName (/butler/{taskName}); \
             ours stays task (/butler/{task})"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn importing_the_community_shaped_spec_drops_the_parameters_the_client_manages() {
    let dir = TempDir::new("community-parameters");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(
        &fixture("upstream/community-shaped.yaml"),
        &spec,
        &["--format", "text"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let mut all_keys = Vec::new();
    let after = parse(&spec);
    for path in [
        "/butler",
        "/butler/{task}",
        "/activities",
        "/activities/{activityId}",
    ] {
        for (method, operation) in after["paths"][path].as_object().expect("a path item") {
            if method == "parameters" {
                continue;
            }
            assert!(
                operation.get("parameters").is_none(),
                "{method} {path} has parameters: {operation}"
            );
        }
    }
    keys(&after, &mut all_keys);
    assert!(!all_keys.iter().any(|k| k == "accepts"));
    for note in [
        "parameter accepts dropped (upstream declares it on GET /butler (getButlerTasks), \
         POST /butler (startAllTasks)",
        "the client sets the Accept header itself",
        "identity headers X-Plex-Client-Identifier, X-Plex-Product dropped",
        "token parameter X-Plex-Token dropped (upstream declares it on \
         DELETE /activities/{activityId} (cancelActivity))",
    ] {
        assert!(run.stdout.contains(note), "{note}\n{}", run.output());
    }
}

#[test]
fn importing_the_community_shaped_spec_brings_its_400_in_with_our_error_shape() {
    let dir = TempDir::new("community-statuses");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(
        &fixture("upstream/community-shaped.yaml"),
        &spec,
        &["--format", "text"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let before = parse(&committed_spec());
    let after = parse(&spec);
    for method in ["get", "post", "delete"] {
        let responses = &after["paths"]["/butler"][method]["responses"];
        assert_eq!(
            responses["400"]["description"],
            "The server could not read the request"
        );
        // Upstream's JSON error body would be a second error shape, which
        // the generator refuses: the 400 reads like the 401.
        assert_eq!(
            responses["400"]["content"]["text/html"]["schema"]["$ref"],
            "#/components/schemas/HtmlBody",
            "{method}"
        );
        assert_eq!(
            responses["401"],
            before["paths"]["/butler"][method]["responses"]["401"]
        );
    }
    // Ours already had every status of the other operations.
    assert_eq!(
        after["paths"]["/butler/{task}"],
        before["paths"]["/butler/{task}"]
    );
    assert_eq!(
        after["paths"]["/activities"],
        before["paths"]["/activities"]
    );
    for note in [
        "GET /butler (getButlerTasks): response 400 added from upstream, its body described \
         as the operation's other errors: text/html (upstream: application/json)",
        // The verdict's rows name what the status table needs.
        "TO DO facade     GET /butler (getButlerTasks): 400 is neither mapped nor in \
         get_butler_tasks::ERRORS",
        "TO DO facade     DELETE /butler (stopAllTasks): 400 is neither mapped nor in \
         stop_all_tasks::ERRORS",
    ] {
        assert!(run.stdout.contains(note), "{note}\n{}", run.output());
    }
}

#[test]
fn importing_the_community_shaped_spec_folds_its_task_name_in_and_loses_none() {
    let dir = TempDir::new("community-tasks");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(&fixture("upstream/community-shaped.yaml"), &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let before = parse(&committed_spec());
    let after = parse(&spec);
    let old_names = strings(&before["components"]["schemas"]["KnownTaskName"]["enum"]);
    let new_names = strings(&after["components"]["schemas"]["KnownTaskName"]["enum"]);
    for name in &old_names {
        assert!(new_names.contains(name), "{name} was lost");
    }
    // The fixture's one name beyond the official lists, folded in once
    // (the committed spec may list it already).
    assert!(new_names.contains(&"RefreshSections".to_string()));
    let mut expected = old_names.clone();
    if !expected.contains(&"RefreshSections".to_string()) {
        expected.push("RefreshSections".to_string());
    }
    assert_eq!(new_names.len(), expected.len());
    let mut sorted = new_names.clone();
    sorted.sort();
    assert_eq!(new_names, sorted);
    assert_eq!(
        after["components"]["schemas"]["TaskName"], before["components"]["schemas"]["TaskName"],
        "task names stay open"
    );
}

#[test]
fn the_community_shaped_import_is_openapi_3_0_3_that_generates_a_client() {
    let dir = TempDir::new("community-generates");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import(&fixture("upstream/community-shaped.yaml"), &spec, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let after = parse(&spec);
    assert_eq!(after["openapi"], "3.0.3");
    assert_eq!(after["info"]["version"], "1.2.2");
    let codegen = xtask(["codegen".as_ref(), "--spec".as_ref(), spec.as_os_str()]);
    assert_eq!(codegen.code, 0, "{}", codegen.output());
    for method in ["fn get_butler_tasks", "fn start_task", "fn cancel_activity"] {
        assert!(
            codegen.stdout.contains(method),
            "{method}\n{}",
            codegen.output()
        );
    }
}

#[test]
fn the_output_ends_with_the_next_steps_in_either_format() {
    let dir = TempDir::new("next-steps");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let upstream = fixture("upstream/community-shaped.yaml");

    let markdown = import(&upstream, &spec, &["--dry-run"]);
    assert_eq!(markdown.code, 0, "{}", markdown.output());
    assert!(
        markdown.stdout.contains("## Spec changes"),
        "{}",
        markdown.output()
    );
    assert!(
        markdown.stdout.contains("## Import notes"),
        "{}",
        markdown.output()
    );
    assert!(
        markdown
            .stdout
            .contains("upstream calls GET /butler `getTasks`; ours stays `getButlerTasks`"),
        "{}",
        markdown.output()
    );
    assert!(
        markdown
            .stdout
            .trim_end()
            .ends_with("Next: run `cargo xtask spec check` and `cargo xtask spec diff`."),
        "{}",
        markdown.output()
    );

    let text = import(&upstream, &spec, &["--dry-run", "--format", "text"]);
    assert_eq!(text.code, 0, "{}", text.output());
    assert!(!text.stdout.contains('`'), "{}", text.output());
    assert!(!text.stdout.contains("## "), "{}", text.output());
    assert!(text.stdout.contains("\nNotes:\n"), "{}", text.output());
    assert!(
        text.stdout
            .trim_end()
            .ends_with("Next: run cargo xtask spec check and cargo xtask spec diff."),
        "{}",
        text.output()
    );
    assert_eq!(
        read(&spec),
        read(&committed_spec()),
        "a dry run writes nothing"
    );
}

#[test]
fn the_verdict_names_the_facade_build_against_the_imported_spec() {
    let dir = TempDir::new("verdict");
    let spec = dir.copy(&committed_spec(), "butler.yaml");
    let run = import_with(
        &fixture("upstream/community-shaped.yaml"),
        &spec,
        &["--dry-run", "--format", "text"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    // Its 400s are error statuses, which old clients read as errors: not
    // breaking, but the facade's status table has them to place.
    assert!(
        run.stdout
            .contains("Verdict: not breaking (the facade's status table has edits to do)."),
        "{}",
        run.output()
    );
    assert!(
        run.stdout.contains(
            "TO DO facade     GET /butler (getButlerTasks): 400 is neither mapped nor in \
             get_butler_tasks::ERRORS"
        ),
        "{}",
        run.output()
    );
    assert!(
        run.stdout.contains("The facade"),
        "the build is described: {}",
        run.output()
    );
    assert!(
        !run.stdout.contains("--no-build was given"),
        "{}",
        run.output()
    );
}

#[test]
fn a_spec_split_into_files_imports_as_its_single_file_equivalent_does() {
    let dir = TempDir::new("multi-file");
    let split = dir.copy(&committed_spec(), "split.yaml");
    let whole = dir.copy(&committed_spec(), "whole.yaml");
    let run_split = import(&fixture("upstream/multi-file/openapi.yaml"), &split, &[]);
    assert_eq!(run_split.code, 0, "{}", run_split.output());
    let run_whole = import(&fixture("upstream/multi-file.yaml"), &whole, &[]);
    assert_eq!(run_whole.code, 0, "{}", run_whole.output());
    assert_eq!(read(&split), read(&whole));
    assert_ne!(
        read(&split),
        read(&committed_spec()),
        "the import changed something"
    );

    let after = parse(&split);
    let names = strings(&after["components"]["schemas"]["KnownTaskName"]["enum"]);
    assert!(names.contains(&"AaaTaskOfASplitSpec".to_string()));
    let task = &after["components"]["schemas"]["ButlerTask"]["properties"];
    assert_eq!(task["lastRun"]["type"], "integer");
    assert_eq!(task["lastRun"]["nullable"], true);
    assert!(
        run_split.stdout.contains(
            "upstream calls POST /butler/{task} `butlerPostTask`; ours stays `startTask`"
        ),
        "{}",
        run_split.output()
    );
    assert!(
        run_split.stdout.contains("parameter `accepts` dropped"),
        "{}",
        run_split.output()
    );
}

#[test]
fn a_reference_to_a_missing_file_is_refused_naming_the_reference_and_the_file() {
    refused(
        "import/multi-file-missing.yaml",
        "`$ref: ./paths/nowhere.yaml#/butler` in",
    );
    refused("import/multi-file-missing.yaml", "cannot read ");
    refused(
        "import/multi-file-missing.yaml",
        "fixtures/import/paths/nowhere.yaml",
    );
}

#[test]
fn a_reference_to_the_web_is_refused_with_the_way_to_bundle_first() {
    refused(
        "import/multi-file-web.yaml",
        "`$ref: https://example.com/plex/paths.yaml#/butler`",
    );
    refused("import/multi-file-web.yaml", "npx @redocly/cli bundle");
}

#[test]
fn references_in_a_loop_are_refused_naming_each_step() {
    refused(
        "import/multi-file-loop.yaml",
        "the references `multi-file-loop-paths.yaml#/a`",
    );
    refused("import/multi-file-loop.yaml", "form a loop");
    refused("import/multi-file-loop.yaml", "`#/a` (in ");
}

#[test]
fn the_help_documents_the_exit_codes() {
    let run = xtask(["spec", "import", "--help"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("Exit codes: 0 imported"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout.contains("2 nothing imported"),
        "{}",
        run.output()
    );
    assert!(run.stdout.contains("--format"), "{}", run.output());
}
