//! `cargo xtask spec diff`. These compare small specs made for the tests,
//! which the facade does not wrap, so they do not build it
//! (`--no-build`); `spec_corpus.rs` judges changes of the real spec with the
//! build.

use std::process::Command;

use serde_json::json;

use crate::common::{
    Run, TempDir, assert_no_panic, committed_spec, committed_spec_json, fixture, write_spec, xtask,
    xtask_in,
};

/// Compares `diff/base.yaml` with `diff/<new>`, without the build.
fn diff_from_base(new: &str, extra: &[&str]) -> crate::common::Run {
    let mut args = vec![
        "spec".to_string(),
        "diff".to_string(),
        "--no-build".to_string(),
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
    let run = diff_from_base("base.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("no changes to the API"),
        "{}",
        run.output()
    );
}

#[test]
fn an_added_task_name_is_not_breaking_on_the_wire_nor_for_rust_source() {
    let run = diff_from_base("task-name-added.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains("| task name `RefreshSections` added | no |  |"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout.contains(
            "0 breaking on the wire, 0 breaking for Rust source, 1 not breaking, 0 to review"
        ),
        "drift's unclassified \"string schema changed\" is replaced: {}",
        run.output()
    );
    assert!(
        run.stdout.contains("Verdict: not breaking.")
            && run.stdout.contains("The facade was not built against")
            && run
                .stdout
                .contains("Rust source not judged: --no-build was given."),
        "{}",
        run.output()
    );
}

#[test]
fn a_removed_task_name_is_breaking() {
    let run = diff_from_base("task-name-removed.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("| task name `CleanOldBundles` dropped | **breaking** |  |"),
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
    let run = diff_from_base("operation-removed.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "### `DELETE /butler` (stopAllTasks)\n\n| Change | Wire | Rust | Why |\n\
             |---|---|---|---|\n| the operation stopAllTasks was removed | **breaking** |  |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_status_replaced_by_another_is_one_breaking_row_naming_both() {
    let run = diff_from_base("status-changed.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| status 202 replaced by 409 | **breaking** |  | an answer changed meaning: \
             202 gone and 409 new |"
        ),
        "{}",
        run.output()
    );
    assert!(
        !run.stdout.contains("response code") && !run.stdout.contains("no longer responds"),
        "drift's own status rows are replaced: {}",
        run.output()
    );
}

/// Compares `diff/base.yaml` with a copy whose start (`POST /butler/{task}`)
/// answers `statuses` in place of its 202.
fn diff_with_start_statuses(name: &str, statuses: &str) -> crate::common::Run {
    let from = "        \"202\":\n          description: Already running.\n";
    diff_with_base_edited(name, from, statuses)
}

/// Compares `diff/base.yaml` with a copy where `from` is replaced by `to`.
fn diff_with_base_edited(name: &str, from: &str, to: &str) -> crate::common::Run {
    let dir = TempDir::new(name);
    let base = std::fs::read_to_string(fixture("diff/base.yaml")).expect("reads");
    assert!(base.contains(from), "{from:?} moved in base.yaml");
    let new = dir.path("new.yaml");
    std::fs::write(&new, base.replacen(from, to, 1)).expect("writes");
    xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--no-build".as_ref(),
        "--old".as_ref(),
        fixture("diff/base.yaml").as_os_str(),
        "--new".as_ref(),
        new.as_os_str(),
    ])
}

#[test]
fn an_added_error_status_is_not_breaking_as_old_clients_read_it_as_an_error() {
    let run = diff_with_start_statuses(
        "error-added",
        "        \"202\":\n          description: Already running.\n        \"503\":\n          \
         description: Busy.\n",
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| status 503 added | no |  | an error status: old clients read it as an error, \
             as any unlisted status |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn an_added_success_status_is_breaking_as_old_clients_read_it_as_an_error() {
    let run = diff_with_start_statuses(
        "success-added",
        "        \"202\":\n          description: Already running.\n        \"204\":\n          \
         description: Queued.\n",
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| status 204 added | **breaking** |  | a success status: old clients read it as \
             an error |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_success_status_removed_is_breaking_as_new_clients_misread_older_servers() {
    let run = diff_with_start_statuses("removed", "");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| status 202 removed | **breaking** |  | clients built on the new spec read it as \
             an error, and older servers still answer it |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn an_error_status_removed_is_not_breaking() {
    let from = "        \"404\":\n          description: No such task.\n";
    let run = diff_with_base_edited("error-removed", from, "");
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("| status 404 removed | no |"),
        "{}",
        run.output()
    );
}

#[test]
fn an_added_property_of_an_answer_is_not_breaking() {
    let run = diff_from_base("property-added.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| optional property `lastRun` added | no |  | old clients ignore it in answers, and \
             need not send it |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_removed_property_is_breaking() {
    let run = diff_from_base("property-removed.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("| property `interval` removed | **breaking** |  |"),
        "{}",
        run.output()
    );
}

#[test]
fn a_renamed_operation_id_is_the_same_on_the_wire() {
    let run = diff_from_base("operation-id-renamed.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let row = "| operationId changed from `startTask` to `butlerPostTask` | no |  |";
    assert!(run.stdout.contains(row), "{row}\n{}", run.output());
}

#[test]
fn a_changed_media_type_is_reported_rather_than_crashing_the_comparison() {
    let run = diff_from_base("media-type-changed.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_no_panic(&run);
    assert!(
        run.stdout.contains(
            "| response 200: media types changed from none to `text/html` | **breaking** |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn the_text_format_lists_changes_by_operation() {
    let run = diff_from_base("status-changed.yaml", &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "\nPOST /butler/{task} (startTask)\n  BREAKING wire  status 202 replaced by 409: "
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
    let run = xtask(["spec", "diff", "--no-build", "--base", "HEAD"]);
    // The working tree's spec may differ from HEAD's: any verdict will do.
    assert_ne!(run.code, 2, "{}", run.output());
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
    assert_eq!(run.code, 2, "the tool could not judge: {}", run.output());
    assert!(
        run.stderr
            .contains("cannot read openapi/butler.yaml at revision no-such-revision-anywhere"),
        "{}",
        run.output()
    );
}

#[test]
fn a_spec_the_generator_rejects_cannot_be_judged_and_exits_with_2() {
    let run = xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--no-build".as_ref(),
        "--old".as_ref(),
        fixture("diff/base.yaml").as_os_str(),
        "--new".as_ref(),
        fixture("check/generator-rejects.yaml").as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_no_panic(&run);
    assert!(
        run.stderr
            .contains("the generator cannot turn it into a client"),
        "{}",
        run.output()
    );
}

#[test]
fn an_unreadable_spec_cannot_be_judged_and_exits_with_2() {
    let run = diff_from_base("no-such-spec.yaml", &[]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.contains("error: cannot read"),
        "{}",
        run.output()
    );
}

/// A small git repository that is a cargo workspace, holding the committed
/// spec, with one commit on the branch `feature`.
fn temporary_workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.path("Cargo.toml"), "[workspace]\nmembers = []\n").expect("writes");
    std::fs::create_dir_all(dir.path("openapi")).expect("creates");
    dir.copy(&committed_spec(), "openapi/butler.yaml");
    for args in [
        &["init", "--quiet", "--initial-branch", "feature"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "--quiet",
            "-m",
            "spec",
        ],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir.root())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }
    dir
}

#[test]
fn the_workspace_is_the_one_around_the_current_directory() {
    let dir = temporary_workspace("diff-cwd");
    let spec = dir.path("openapi/butler.yaml");
    let text = std::fs::read_to_string(&spec).expect("reads");
    let changed = text.replacen(
        "      - AutomaticUpdates\n",
        "      - AutomaticUpdates\n      - OnlyInThisCopy\n",
        1,
    );
    assert_ne!(changed, text, "the names are listed as expected");
    std::fs::write(&spec, changed).expect("writes");
    std::fs::create_dir_all(dir.path("openapi/deeper")).expect("creates");

    let run = xtask_in(
        &dir.path("openapi/deeper"),
        [
            "spec",
            "diff",
            "--no-build",
            "--format",
            "text",
            "--base",
            "HEAD",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("task name OnlyInThisCopy added"),
        "compares the spec of the workspace it runs in: {}",
        run.output()
    );
}

#[test]
fn without_main_nor_origin_main_the_diff_says_which_base_to_pass_and_exits_with_2() {
    let dir = temporary_workspace("diff-no-main");
    let run = xtask_in(dir.root(), ["spec", "diff", "--no-build"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.contains("no `main` nor `origin/main`") && run.stderr.contains("--base REV"),
        "{}",
        run.output()
    );
}

#[test]
fn outside_any_workspace_the_diff_says_where_to_run_and_exits_with_2() {
    let dir = TempDir::new("diff-outside");
    let run = xtask_in(dir.root(), ["spec", "diff", "--no-build"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.contains("is not inside a cargo workspace"),
        "{}",
        run.output()
    );
}

/// Compares the committed spec with a copy changed by `change`, without the
/// build: these changes leave every schema, and so the Rust, as it was.
fn diff_committed_with(name: &str, change: impl FnOnce(&mut serde_json::Value)) -> Run {
    let dir = TempDir::new(name);
    let mut spec = committed_spec_json();
    change(&mut spec);
    let new = write_spec(&dir, "new.yaml", &spec);
    xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--no-build".as_ref(),
        "--old".as_ref(),
        committed_spec().as_os_str(),
        "--new".as_ref(),
        new.as_os_str(),
    ])
}

/// The committed spec's token scheme, to change.
fn token_scheme(spec: &mut serde_json::Value) -> &mut serde_json::Value {
    spec.pointer_mut("/components/securitySchemes/PlexToken")
        .expect("the committed spec has the PlexToken scheme")
}

/// The exploded `prefs` query parameter of `PUT /:/prefs`, to change.
fn prefs_parameter(spec: &mut serde_json::Value) -> &mut serde_json::Value {
    spec.pointer_mut("/paths/~1:~1prefs/put/parameters/0")
        .filter(|p| p["name"] == "prefs")
        .expect("PUT /:/prefs takes `prefs` first")
}

fn assert_breaking_with_row(run: &Run, row: &str) {
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.stdout.contains(row), "{row}\n{}", run.output());
}

#[test]
fn a_renamed_token_header_is_breaking_as_servers_no_longer_see_the_token() {
    let run = diff_committed_with("token-renamed", |spec| {
        token_scheme(spec)["name"] = json!("X-Plex-Tokn");
    });
    assert_breaking_with_row(&run, "### security scheme `PlexToken`\n\nUsed by ");
    assert!(
        run.stdout.contains(" getButlerTasks,") && run.stdout.contains(" setPreferences,"),
        "the operations that send the token: {}",
        run.output()
    );
    assert_breaking_with_row(
        &run,
        "| the token moved: header `X-Plex-Token` is now header `X-Plex-Tokn` | **breaking** \
         |  | a server that follows the new spec never sees the credentials old clients send \
         where they always did |",
    );
}

#[test]
fn a_token_moved_from_header_to_query_is_breaking() {
    let run = diff_committed_with("token-in-query", |spec| {
        token_scheme(spec)["in"] = json!("query");
    });
    assert_breaking_with_row(
        &run,
        "| the token moved: header `X-Plex-Token` is now query parameter `X-Plex-Token` | \
         **breaking** |",
    );
}

#[test]
fn a_removed_security_scheme_is_breaking_though_dropping_the_requirement_is_not() {
    let run = diff_committed_with("scheme-removed", |spec| {
        spec["components"]["securitySchemes"] = json!({});
        spec.as_object_mut().expect("a map").remove("security");
    });
    assert_breaking_with_row(&run, "| security scheme removed | **breaking** |");
    assert_breaking_with_row(
        &run,
        "| security requirements changed from `PlexToken` to none | no |  | every way old \
         clients authenticate is still accepted |",
    );
}

#[test]
fn a_security_scheme_no_operation_requires_is_not_breaking() {
    let run = diff_committed_with("scheme-added", |spec| {
        spec["components"]["securitySchemes"]["Basic"] = json!({"type": "http", "scheme": "basic"});
    });
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| security scheme added | no |  | no operation requires it, or old clients send what \
             it asks for already |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn an_operation_requiring_another_scheme_is_breaking() {
    let run = diff_committed_with("requirement-changed", |spec| {
        spec["components"]["securitySchemes"]["Basic"] = json!({"type": "http", "scheme": "basic"});
        spec["paths"]["/butler"]["delete"]["security"] = json!([{"Basic": []}]);
    });
    assert_breaking_with_row(&run, "| security scheme added | **breaking** |");
    assert_breaking_with_row(
        &run,
        "| security requirements changed from `PlexToken` to `Basic` | **breaking** |  | a way \
         old clients authenticate is no longer accepted |",
    );
}

#[test]
fn an_operation_accepting_one_more_way_to_authenticate_is_not_breaking() {
    let run = diff_committed_with("requirement-widened", |spec| {
        spec["paths"]["/butler"]["get"]["security"] = json!([{"PlexToken": []}, {}]);
    });
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "| security requirements changed from `PlexToken` to no credentials or `PlexToken` | \
             no |  | every way old clients authenticate is still accepted |"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn a_parameter_no_longer_exploded_is_breaking() {
    let run = diff_committed_with("prefs-not-exploded", |spec| {
        prefs_parameter(spec)["explode"] = json!(false);
    });
    assert_breaking_with_row(&run, "### `PUT /:/prefs` (setPreferences)");
    assert_breaking_with_row(
        &run,
        "| query parameter `prefs` serialised differently: style form, explode true, \
         allowReserved false -> style form, explode false, allowReserved false | **breaking** |",
    );
}

#[test]
fn a_parameter_allowing_reserved_characters_is_breaking() {
    let run = diff_committed_with("prefs-reserved", |spec| {
        prefs_parameter(spec)["allowReserved"] = json!(true);
    });
    assert_breaking_with_row(
        &run,
        "| query parameter `prefs` serialised differently: style form, explode true, \
         allowReserved false -> style form, explode true, allowReserved true | **breaking** |",
    );
}

#[test]
fn defaults_written_out_are_no_change() {
    let run = diff_committed_with("defaults-written", |spec| {
        let parameter = spec
            .pointer_mut("/paths/~1butler~1{task}/parameters/0")
            .expect("the task path parameter");
        parameter["style"] = json!("simple");
        parameter["explode"] = json!(false);
        parameter["allowReserved"] = json!(false);
    });
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("no changes to the API"),
        "{}",
        run.output()
    );
}

#[test]
fn a_base_path_added_to_the_server_url_is_breaking() {
    let run = diff_committed_with("base-path", |spec| {
        let url = spec
            .pointer_mut("/servers/0/url")
            .expect("the committed spec has a server");
        *url = json!(format!("{}/api/v2", url.as_str().expect("a string")));
    });
    assert_breaking_with_row(
        &run,
        "| base path changed from `/` to `/api/v2` | **breaking** |  | old clients send every \
         request under the old base path |",
    );
}

#[test]
fn a_changed_server_host_is_no_change_to_the_api() {
    let run = diff_committed_with("host", |spec| {
        spec["servers"][0]["variables"]["host"]["default"] = json!("plex.example");
    });
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        !run.stdout.contains("base path"),
        "the host is the user's to choose: {}",
        run.output()
    );
}

/// Both directions: real PMS 1.43.2 sends no `title` for 22 of its 23
/// tasks, so a client built on a spec that requires it refuses the servers
/// users run.
#[test]
fn a_property_of_an_answer_made_required_is_breaking() {
    let run = diff_committed_with("title-required", |spec| {
        spec.pointer_mut("/components/schemas/ButlerTask/required")
            .and_then(serde_json::Value::as_array_mut)
            .expect("ButlerTask has required properties")
            .push(json!("title"));
    });
    assert_breaking_with_row(
        &run,
        "| property `title` is now required | **breaking** |  | clients built on the new spec \
         refuse answers without it, as the servers users run give them |",
    );
}

#[test]
fn a_property_of_a_request_made_optional_is_not_breaking() {
    let run = diff_committed_with("id-optional", |spec| {
        let parameters = spec
            .pointer_mut("/paths/~1:~1prefs~1get/get/parameters/0")
            .expect("GET /:/prefs/get takes its id");
        parameters["required"] = json!(false);
    });
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains("the parameter 'id' was required and is now optional"),
        "{}",
        run.output()
    );
}
