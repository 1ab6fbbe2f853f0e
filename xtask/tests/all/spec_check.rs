//! `cargo xtask spec check`.

use crate::common::{TempDir, assert_no_panic, committed_spec_json, fixture, write_spec, xtask};

fn check(spec: &str) -> crate::common::Run {
    let spec = if spec.contains('/') {
        fixture(spec)
    } else {
        fixture(&format!("check/{spec}"))
    };
    xtask(["spec".as_ref(), "check".as_ref(), spec.as_os_str()])
}

#[test]
fn a_sound_spec_passes() {
    let run = check("diff/base.yaml");
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("ok: OpenAPI 3.0.3, 3 operations"),
        "{}",
        run.output()
    );
}

/// The committed spec, with the real answers in `fixtures/`: what CI
/// checks. No count is pinned here.
#[test]
fn the_committed_spec_passes_and_decodes_the_real_answers() {
    let run = xtask(["spec", "check"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("ok: OpenAPI 3.0.3, ")
            && run.stdout.contains("fixtures/pms-1.43.2/butler.xml"),
        "{}",
        run.output()
    );
}

/// Real PMS 1.43.2 sends a title for 1 of its 23 tasks: a spec that
/// requires it would give a client that refuses the servers users run.
#[test]
fn a_property_real_answers_lack_cannot_be_required() {
    let dir = TempDir::new("check-title-required");
    let mut spec = committed_spec_json();
    spec.pointer_mut("/components/schemas/ButlerTask/required")
        .and_then(serde_json::Value::as_array_mut)
        .expect("ButlerTask has required properties")
        .push(serde_json::json!("title"));
    let path = write_spec(&dir, "spec.yaml", &spec);
    let run = xtask(["spec".as_ref(), "check".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "the real answer fixtures/pms-1.43.2/butler.xml (GET /butler) does not decode: \
             ButlerTasks/ButlerTask/0: required property `title` missing"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_value_real_answers_hold_cannot_leave_a_closed_enum() {
    let dir = TempDir::new("check-activity-type");
    let mut spec = committed_spec_json();
    spec.pointer_mut("/components/schemas/Activity/properties/type")
        .expect("Activity has a type")["enum"] = serde_json::json!(["library.refresh"]);
    let path = write_spec(&dir, "spec.yaml", &spec);
    let run = xtask(["spec".as_ref(), "check".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("fixtures/pms-1.43.2/activities.xml (GET /activities) does not decode: MediaContainer/Activity/0/type: `butler`"),
        "{}",
        run.output()
    );
}

#[test]
fn a_spec_that_is_not_openapi_3_0_fails_naming_its_version() {
    let run = check("not-3-0.yaml");
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
    let run = check("operation-id-missing.yaml");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("DELETE /butler: no operationId"),
        "{}",
        run.output()
    );
}

#[test]
fn a_repeated_operation_id_names_both_operations() {
    let run = check("operation-id-repeated.yaml");
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
    let run = check("generator-rejects.yaml");
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
    let run = check("description-missing.yaml");
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
    let run = check("diff/base.yaml");
    assert!(!run.stdout.contains("properties.name"), "{}", run.output());
}

#[test]
fn an_unreadable_spec_is_an_error_not_a_panic() {
    let run = check("no-such-spec.yaml");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr.contains("error: cannot read"),
        "{}",
        run.output()
    );
    assert_no_panic(&run);
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
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "components.schemas.KnownTaskName: lacks `CheckForUpdates`, which \
             openapi/task-name-sources/legacy.txt lists: add them"
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
        )) && run.stdout.contains("put them back"),
        "{}",
        run.output()
    );
}

#[test]
fn another_file_is_not_compared_with_a_base_revision_unless_asked() {
    let run = check("diff/base.yaml");
    assert!(
        run.stdout
            .contains("note: task names not compared with a base revision"),
        "{}",
        run.output()
    );
}
