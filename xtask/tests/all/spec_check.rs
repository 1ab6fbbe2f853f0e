//! `cargo xtask spec check`.

use crate::common::{TempDir, assert_no_panic, committed_spec_json, fixture, write_spec, xtask};

fn check(spec: &str, facade: &str) -> crate::common::Run {
    let spec = if spec.contains('/') {
        fixture(spec)
    } else {
        fixture(&format!("check/{spec}"))
    };
    xtask([
        "spec".as_ref(),
        "check".as_ref(),
        spec.as_os_str(),
        "--facade-src".as_ref(),
        fixture(&format!("check/{facade}")).as_os_str(),
    ])
}

#[test]
fn a_sound_spec_whose_operations_are_all_wrapped_passes() {
    let run = check("diff/base.yaml", "facade-complete");
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("ok: OpenAPI 3.0.3, 3 operations"),
        "{}",
        run.output()
    );
}

/// The committed spec against the real facade: what CI checks. An
/// operation added to the spec fails this until the facade wraps it and
/// maps its statuses, which is the point; no count is pinned here.
#[test]
fn the_committed_spec_passes_with_the_real_facade() {
    let run = xtask(["spec", "check"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("ok: OpenAPI 3.0.3, ") && run.stdout.contains("wrapped by the facade"),
        "{}",
        run.output()
    );
}

#[test]
fn a_spec_that_is_not_openapi_3_0_fails_naming_its_version() {
    let run = check("not-3-0.yaml", "facade-complete");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("openapi: version 3.1.0: the generator reads OpenAPI 3.0.x only"),
        "{}",
        run.output()
    );
}

#[test]
fn a_missing_operation_id_names_the_operation() {
    let run = check("operation-id-missing.yaml", "facade-complete");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("DELETE /butler: no operationId"),
        "{}",
        run.output()
    );
}

#[test]
fn a_repeated_operation_id_names_both_operations() {
    let run = check("operation-id-repeated.yaml", "facade-complete");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "POST /butler/{task} (startTask): operationId `startTask` is repeated: \
             DELETE /butler (startTask) has it too"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_spec_the_generator_rejects_fails_with_a_readable_reason_and_no_backtrace() {
    let run = check("generator-rejects.yaml", "facade-complete");
    assert_eq!(run.code, 1, "{}", run.output());
    assert_no_panic(&run);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("the generator cannot turn it into a client"))
        .unwrap_or_else(|| panic!("no generator error in\n{}", run.output()));
    assert!(
        line.contains("generator-rejects.yaml"),
        "names the spec: {line}"
    );
    assert!(
        line.contains("DELETE /butler (stopAllTasks)"),
        "names the operation: {line}"
    );
    assert!(
        line.contains("more than one shape"),
        "says what is wrong: {line}"
    );
}

#[test]
fn a_schema_or_property_without_a_description_is_named() {
    let run = check("description-missing.yaml", "facade-complete");
    assert_eq!(run.code, 1, "{}", run.output());
    for expected in [
        "components.schemas.TaskName: schema has no description",
        "components.schemas.ButlerTask.properties.interval: property has no description",
        // A `$ref` property is described when its target is; here it is not.
        "components.schemas.ButlerTask.properties.name: property has no description, \
         nor has `#/components/schemas/TaskName`",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected}\n{}",
            run.output()
        );
    }
    assert!(run.stdout.contains("3 problems found"), "{}", run.output());
}

#[test]
fn a_ref_property_counts_as_described_when_its_target_is() {
    // In base.yaml, `ButlerTask.name` is a bare `$ref` to a described schema.
    let run = check("diff/base.yaml", "facade-complete");
    assert!(!run.stdout.contains("properties.name"), "{}", run.output());
}

#[test]
fn an_operation_the_facade_does_not_call_is_named() {
    let run = check("diff/base.yaml", "facade-partial");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("DELETE /butler (stopAllTasks): not wrapped by the facade: nothing under")
            && run
                .stdout
                .contains("calls the raw method `.stop_all_tasks(`"),
        "{}",
        run.output()
    );
    // Called in a nested module, across lines: wrapped.
    assert!(!run.stdout.contains("startTask"), "{}", run.output());
    assert!(run.stdout.contains("1 problem found"), "{}", run.output());
}

#[test]
fn a_missing_facade_directory_fails_the_check() {
    let run = check("diff/base.yaml", "no-such-facade");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("the facade: no facade source directory"),
        "{}",
        run.output()
    );
}

#[test]
fn an_unreadable_spec_is_an_error_not_a_panic() {
    let run = check("no-such-spec.yaml", "facade-complete");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr.contains("error: cannot read"),
        "{}",
        run.output()
    );
    assert_no_panic(&run);
}

/// Checks a spec with the workspace's own facade.
fn check_with_the_facade(spec: &std::path::Path) -> crate::common::Run {
    xtask(["spec".as_ref(), "check".as_ref(), spec.as_os_str()])
}

#[test]
fn a_status_the_facade_maps_that_the_spec_no_longer_lists_names_the_status_table() {
    let dir = TempDir::new("check-409");
    let mut spec = committed_spec_json();
    let responses = spec
        .pointer_mut("/paths/~1butler~1{task}/post/responses")
        .and_then(serde_json::Value::as_object_mut)
        .expect("the start's responses");
    let already_running = responses.remove("202").expect("a 202");
    responses.insert("409".to_string(), already_running);
    let path = write_spec(&dir, "409.yaml", &spec);

    let run = check_with_the_facade(&path);
    assert_eq!(run.code, 1, "{}", run.output());
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("`start_task::ALREADY_RUNNING = 202`"))
        .unwrap_or_else(|| panic!("the constant is not named\n{}", run.output()));
    assert!(
        line.contains("crates/plex-butler/src/statuses.rs")
            && line.contains("POST /butler/{task} (startTask)")
            && line.contains("change the constant"),
        "names the file, the operation and what to do: {line}"
    );
    assert!(
        run.stdout.contains(
            "the spec lists status 409, which crates/plex-butler/src/statuses.rs neither maps \
             nor lists in `start_task::ERRORS`"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn an_operation_with_no_status_module_names_the_module_to_add() {
    let dir = TempDir::new("check-no-module");
    for file in ["lib.rs", "statuses.rs"] {
        dir.copy(&fixture(&format!("check/facade-complete/{file}")), file);
    }
    let statuses = std::fs::read_to_string(dir.path("statuses.rs")).expect("reads");
    let start = statuses
        .find("pub(crate) mod stop_all_tasks")
        .expect("the module");
    let end = start + statuses[start..].find("}\n").expect("its end") + 2;
    let without = format!("{}{}", &statuses[..start], &statuses[end..]);
    std::fs::write(dir.path("statuses.rs"), without).expect("writes");

    let run = xtask([
        "spec".as_ref(),
        "check".as_ref(),
        fixture("diff/base.yaml").as_os_str(),
        "--facade-src".as_ref(),
        dir.root().as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("DELETE /butler (stopAllTasks): ")
            && run
                .stdout
                .contains("has no module `stop_all_tasks`: add `pub(crate) mod stop_all_tasks`"),
        "{}",
        run.output()
    );
    assert!(run.stdout.contains("1 problem found"), "{}", run.output());
}

#[test]
fn a_facade_without_a_status_table_fails_saying_what_it_holds() {
    let run = check("diff/base.yaml", "facade-no-statuses");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("statuses.rs: cannot read it")
            && run.stdout.contains("a module per operation"),
        "{}",
        run.output()
    );
}

#[test]
fn a_task_name_a_source_lists_cannot_leave_the_spec() {
    let dir = TempDir::new("check-source-name");
    let text = std::fs::read_to_string(fixture("diff/base.yaml")).expect("reads");
    let without = text.replace("        - CheckForUpdates\n", "");
    assert_ne!(without, text);
    std::fs::write(dir.path("spec.yaml"), without).expect("writes");
    let run = xtask([
        "spec".as_ref(),
        "check".as_ref(),
        dir.path("spec.yaml").as_os_str(),
        "--facade-src".as_ref(),
        fixture("check/facade-complete").as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "components.schemas.KnownTaskName: lacks `CheckForUpdates`, which \
             openapi/task-name-sources/legacy.txt lists: add it"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_task_name_the_base_revision_has_cannot_leave_the_spec() {
    let dir = TempDir::new("check-history");
    let mut spec = committed_spec_json();
    let names = spec
        .pointer_mut("/components/schemas/KnownTaskName/enum")
        .and_then(serde_json::Value::as_array_mut)
        .expect("the names");
    let lost = names.pop().expect("a name");
    let path = write_spec(&dir, "spec.yaml", &spec);
    let run = xtask([
        "spec".as_ref(),
        "check".as_ref(),
        path.as_os_str(),
        "--base".as_ref(),
        "HEAD".as_ref(),
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    let lost = lost.as_str().expect("a string");
    assert!(
        run.stdout.contains(&format!(
            "components.schemas.KnownTaskName: lost `{lost}` against openapi/butler.yaml at "
        )) && run.stdout.contains("put it back"),
        "{}",
        run.output()
    );
}

#[test]
fn another_file_is_not_compared_with_a_base_revision_unless_asked() {
    let run = check("diff/base.yaml", "facade-complete");
    assert!(
        run.stdout
            .contains("note: task names not compared with a base revision"),
        "{}",
        run.output()
    );
}
