//! `cargo xtask spec diff`.

mod common;

use common::{assert_no_panic, fixture, xtask};

/// Compares `diff/base.yaml` with `diff/<new>` in the given format.
fn diff_from_base(new: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "spec".to_string(),
        "diff".to_string(),
        "--old".to_string(),
        fixture("diff/base.yaml").display().to_string(),
        "--new".to_string(),
        fixture(&format!("diff/{new}")).display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    xtask(args)
}

#[test]
fn identical_specs_report_no_changes() {
    let run = diff_from_base("base.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("no changes to the API"),
        "{}",
        run.output()
    );
}

#[test]
fn an_added_task_name_is_not_breaking() {
    let run = diff_from_base("task-name-added.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains("| task name `GenerateBlurHashes` added | no |"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout
            .contains("0 breaking, 1 not breaking, 0 to review"),
        "drift's unclassified \"string schema changed\" is replaced: {}",
        run.output()
    );
}

#[test]
fn a_removed_task_name_is_breaking() {
    let run = diff_from_base("task-name-removed.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("| task name `CleanOldBundles` dropped | **yes** |"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout
            .contains("### schema `KnownTaskName`\n\nUsed by getButlerTasks, startTask."),
        "{}",
        run.output()
    );
}

#[test]
fn a_removed_operation_is_breaking_and_grouped_under_it() {
    let run = diff_from_base("operation-removed.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "### `DELETE /butler` (stopAllTasks)\n\n| Change | Breaking | Why |\n|---|---|---|\n\
             | the operation stopAllTasks was removed | **yes** |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_changed_status_is_breaking_for_the_status_clients_do_not_expect() {
    let run = diff_from_base("status-changed.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("| operation added a new response code 409 | **yes** |"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout
            .contains("| operation no longer responds with status 202 | no |"),
        "{}",
        run.output()
    );
}

#[test]
fn an_added_property_of_an_answer_is_not_breaking() {
    let run = diff_from_base("property-added.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| optional property `lastRun` added | no | old clients ignore it in answers |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_removed_property_is_breaking() {
    let run = diff_from_base("property-removed.yaml", &["--fail-on-breaking"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("| property `interval` removed | **yes** |"),
        "{}",
        run.output()
    );
}

#[test]
fn a_renamed_operation_id_is_breaking() {
    let run = diff_from_base("operation-id-renamed.yaml", &[]);
    assert_eq!(run.code, 0, "without --fail-on-breaking: {}", run.output());
    assert!(
        run.stdout
            .contains("| operationId changed from `startTask` to `butlerPostTask` | **yes** |"),
        "{}",
        run.output()
    );
}

#[test]
fn a_changed_media_type_is_reported_rather_than_crashing_the_comparison() {
    let run = diff_from_base("media-type-changed.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_no_panic(&run);
    assert!(
        run.stdout
            .contains("| response 200: media types changed from none to `text/html` | **yes** |"),
        "{}",
        run.output()
    );
}

#[test]
fn the_text_format_lists_changes_by_operation() {
    let run = diff_from_base("status-changed.yaml", &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "\nPOST /butler/{task} (startTask)\n  BREAKING  operation added a new response code 409: "
        ),
        "{}",
        run.output()
    );
    assert!(!run.stdout.contains('|'), "{}", run.output());
}

#[test]
fn old_without_new_is_a_usage_error() {
    let run = xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--old".as_ref(),
        fixture("diff/base.yaml").as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.output());
}

#[test]
fn a_base_revision_is_compared_with_the_working_tree() {
    let run = xtask(["spec", "diff", "--base", "HEAD"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .starts_with("## Spec changes\n\n`openapi/butler.yaml` at "),
        "{}",
        run.output()
    );
}

#[test]
fn an_unknown_base_revision_is_a_clear_error() {
    let run = xtask(["spec", "diff", "--base", "no-such-revision-anywhere"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr
            .contains("cannot read openapi/butler.yaml at revision no-such-revision-anywhere"),
        "{}",
        run.output()
    );
}
