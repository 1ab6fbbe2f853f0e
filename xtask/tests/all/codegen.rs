//! `cargo xtask codegen`.

use crate::common::{TempDir, assert_no_panic, fixture, xtask};

#[test]
fn codegen_prints_the_raw_client_generated_from_the_spec() {
    let run = xtask(["codegen"]);
    assert_eq!(run.code, 0, "{}", run.output());
    // The builder interface: a client method per operation returns its
    // builder, and the builder's `send()` makes the request.
    for expected in [
        "pub struct Client",
        "pub fn get_butler_tasks(&self) -> builder::GetButlerTasks<'_>",
        "pub struct GetButlerTasks<'a>",
        "pub async fn send(",
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
        "pub fn get_butler_tasks(&self)",
        "pub fn list_tasks(&self)",
        1,
    );
    assert!(
        code != edited,
        "the generated client has no get_butler_tasks method"
    );
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
        check.stdout.contains("-    pub fn list_tasks(&self)"),
        "{}",
        check.output()
    );
    assert!(
        check.stdout.contains("+    pub fn get_butler_tasks(&self)"),
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

#[test]
fn known_task_names_pairs_each_name_with_its_generated_variant() {
    let run = xtask(["codegen"]);
    assert_eq!(run.code, 0, "{}", run.output());
    // The facade maps a decoded known name to its own variant through
    // this pairing, without comparing strings.
    for expected in [
        r#"BackupDatabase = "BackupDatabase" => BackupDatabase,"#,
        r#"OptimizeDatabase = "OptimizeDatabase" => OptimizeDatabase,"#,
    ] {
        assert!(run.stdout.contains(expected), "{expected} missing");
    }
}

#[test]
fn a_task_name_that_is_no_identifier_is_paired_with_the_variant_serde_renames() {
    let spec = std::fs::read_to_string(crate::common::committed_spec()).expect("the spec");
    let edited = spec.replacen(
        "      - AutomaticUpdates\n",
        "      - AutomaticUpdates\n      - clean-up.things\n",
        1,
    );
    assert_ne!(spec, edited, "the KnownTaskName list moved");
    let dir = TempDir::new("codegen-renamed");
    let path = dir.path("butler.yaml");
    std::fs::write(&path, edited).expect("written");

    let run = xtask(["codegen".as_ref(), "--spec".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_no_panic(&run);
    // The generator names the variant itself and renames it for serde; the
    // pairing must use the generator's name, whatever it is.
    let renamed = r#"#[serde(rename = "clean-up.things")]"#;
    let at = run
        .stdout
        .find(renamed)
        .unwrap_or_else(|| panic!("no variant renamed to clean-up.things:\n{}", run.stdout));
    let variant: String = run.stdout[at + renamed.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert!(!variant.is_empty(), "no variant after the rename");
    let pairing = format!(r#"cleanupthings = "clean-up.things" => {variant},"#);
    assert!(run.stdout.contains(&pairing), "{pairing} missing");
}
