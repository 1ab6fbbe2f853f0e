//! `cargo xtask spec diff --new UPSTREAM`: an upstream spec (OpenAPI 3.1,
//! one file or several) compared with ours in the operations we hold. The
//! wire only here (`--no-build`); the corpus step judges it with the build.

use crate::common::{Run, assert_no_panic, fixture, xtask};

fn compare(upstream: &str) -> Run {
    xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--no-build".as_ref(),
        "--format".as_ref(),
        "text".as_ref(),
        "--new".as_ref(),
        fixture(upstream).as_os_str(),
    ])
}

/// The report without the lines that name the file compared.
fn rows(run: &Run) -> String {
    let lines = run.stdout.lines().filter(|l| !l.contains("multi-file"));
    lines.collect::<Vec<_>>().join("\n")
}

#[test]
fn the_official_spec_is_compared_in_the_operations_we_hold() {
    let run = compare("upstream/plex-pms-openapi-1.1.1.yaml");
    assert_no_panic(&run);
    assert_eq!(run.code, 1, "upstream differs from ours: {}", run.output());
    for expected in [
        "GET /butler (butlerGetSlash)",
        "operationId changed from getButlerTasks to butlerGetSlash",
        "Note: left out upstream's identity headers",
        "X-Plex-Client-Identifier",
        "other operations, not compared",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected}\n{}",
            run.output()
        );
    }
    assert!(
        !run.stdout.contains("REVIEW wire  drift could not compare"),
        "drift compares the converted operations: {}",
        run.output()
    );
}

#[test]
fn a_spec_split_into_files_reads_as_the_same_spec_in_one_file() {
    let split = compare("upstream/multi-file/openapi.yaml");
    let whole = compare("upstream/multi-file.yaml");
    assert_ne!(split.code, 2, "{}", split.output());
    assert_eq!(
        rows(&split),
        rows(&whole),
        "{}\n{}",
        split.output(),
        whole.output()
    );
    assert!(
        split.stdout.contains("optional property lastRun added"),
        "the schemas of the other files are read: {}",
        split.output()
    );
}

#[test]
fn a_renamed_path_parameter_still_matches_our_operation() {
    let run = compare("upstream/plex-pms-renamed.yaml");
    assert_ne!(run.code, 2, "{}", run.output());
    assert!(
        run.stdout
            .contains("path parameter renamed: /butler/{task} is now /butler/{butlerTask}"),
        "{}",
        run.output()
    );
}

#[test]
fn a_ref_to_the_web_or_in_a_loop_cannot_be_judged_and_says_why() {
    for (file, says) in [
        ("bad-upstream/multi-file-web.yaml", "points to the web"),
        ("bad-upstream/multi-file-loop.yaml", "leads back to itself"),
        ("bad-upstream/multi-file-missing.yaml", "cannot read"),
        ("bad-upstream/broken.yaml", "not valid YAML"),
    ] {
        let run = compare(file);
        assert_eq!(run.code, 2, "{file}: {}", run.output());
        assert_no_panic(&run);
        assert!(
            run.stderr.contains(says),
            "{file}: {says}\n{}",
            run.output()
        );
    }
}
