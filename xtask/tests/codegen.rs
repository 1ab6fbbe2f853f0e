//! `cargo xtask codegen`.

mod common;

use common::{TempDir, assert_no_panic, fixture, xtask};

#[test]
fn codegen_prints_the_raw_client_generated_from_the_spec() {
    let run = xtask(["codegen"]);
    assert_eq!(run.code, 0, "{}", run.output());
    for expected in [
        "pub struct Client",
        "pub async fn get_butler_tasks",
        "macro_rules! known_task_names",
    ] {
        assert!(run.stdout.contains(expected), "{expected} missing");
    }
}

#[test]
fn check_passes_against_the_code_codegen_wrote() {
    let dir = TempDir::new("codegen-same");
    let out = dir.path("butler.rs");
    let write = xtask(["codegen".as_ref(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(write.code, 0, "{}", write.output());
    let check = xtask(["codegen".as_ref(), "--check".as_ref(), out.as_os_str()]);
    assert_eq!(check.code, 0, "{}", check.output());
}

#[test]
fn check_fails_with_a_diff_when_the_file_differs() {
    let dir = TempDir::new("codegen-differs");
    let out = dir.path("butler.rs");
    let write = xtask(["codegen".as_ref(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(write.code, 0, "{}", write.output());
    let code = std::fs::read_to_string(&out).expect("written");
    let edited = code.replacen(
        "pub async fn get_butler_tasks",
        "pub async fn list_tasks",
        1,
    );
    assert_ne!(code, edited);
    std::fs::write(&out, edited).expect("rewritten");

    let check = xtask(["codegen".as_ref(), "--check".as_ref(), out.as_os_str()]);
    assert_eq!(check.code, 1, "{}", check.output());
    assert!(
        check.stdout.contains(
            "differs from the code generated from openapi/butler.yaml: 1 line removed, 1 line added"
        ),
        "{}",
        check.output()
    );
    assert!(
        check.stdout.contains("-    pub async fn list_tasks"),
        "{}",
        check.output()
    );
    assert!(
        check.stdout.contains("+    pub async fn get_butler_tasks"),
        "{}",
        check.output()
    );
}

#[test]
fn codegen_of_a_spec_the_generator_rejects_is_a_readable_error() {
    let run = xtask([
        "codegen".as_ref(),
        "--spec".as_ref(),
        fixture("check/generator-rejects.yaml").as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_no_panic(&run);
    assert!(
        run.stderr
            .contains("generator-rejects.yaml cannot be turned into a client")
            && run.stderr.contains("DELETE /butler (stopAllTasks)"),
        "{}",
        run.output()
    );
}
