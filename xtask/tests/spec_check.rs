//! `cargo xtask spec check`.

mod common;

use common::{assert_no_panic, committed_spec, fixture, xtask};

fn check(spec: &str, facade: &str) -> common::Run {
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

#[test]
fn the_committed_spec_passes_with_a_facade_that_wraps_its_seven_operations() {
    let run = xtask([
        "spec".as_ref(),
        "check".as_ref(),
        committed_spec().as_os_str(),
        "--facade-src".as_ref(),
        fixture("check/facade-butler").as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(run.stdout.contains("7 operations"), "{}", run.output());
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
        .find(|l| l.contains("the generator cannot handle it"))
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
