//! `cargo xtask public-api`: the facade's public API against its committed
//! snapshot. The first test is the check itself: it fails when the API
//! changed without `crates/plex-butler/public-api.txt` being regenerated.

use std::path::{Path, PathBuf};

use crate::common::{TempDir, xtask};

fn committed_snapshot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/plex-butler/public-api.txt")
}

#[test]
fn facade_public_api_matches_the_committed_snapshot() {
    let run = xtask(["public-api"]);
    assert_eq!(
        run.code,
        0,
        "the public API of plex-butler changed; if that is meant, run \
         `cargo xtask public-api --update` and commit the snapshot\n{}",
        run.output()
    );
}

#[test]
fn committed_snapshot_stands_for_the_specs_task_names_in_one_line() {
    let snapshot = std::fs::read_to_string(committed_snapshot()).expect("the snapshot reads");
    // One line for every name of the spec: a name added there changes
    // nothing here.
    assert!(
        !snapshot
            .lines()
            .any(|l| l == "pub plex_butler::TaskName::BackupDatabase"),
        "the snapshot lists the spec's names one by one"
    );
    for line in [
        "pub plex_butler::TaskName::<one variant per name of the spec's KnownTaskName>",
        "pub plex_butler::TaskName::Other(alloc::string::String)",
        "impl core::marker::Send for plex_butler::Client",
    ] {
        assert!(
            snapshot.lines().any(|l| l == line),
            "the snapshot has no line `{line}`"
        );
    }
}

#[test]
fn public_api_check_fails_and_shows_an_item_missing_from_the_snapshot() {
    let dir = TempDir::new("public-api-stale");
    let committed = std::fs::read_to_string(committed_snapshot()).expect("the snapshot reads");
    let stale: String = committed
        .lines()
        .filter(|line| *line != "pub fn plex_butler::TaskName::as_str(&self) -> &str")
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(stale, committed, "the item to remove is in the snapshot");
    let path = dir.path("public-api.txt");
    std::fs::write(&path, stale).expect("the stale snapshot writes");

    let shown = path.display().to_string();
    let run = xtask(["public-api", "--snapshot", &shown]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .lines()
            .any(|line| line == "+pub fn plex_butler::TaskName::as_str(&self) -> &str"),
        "{}",
        run.output()
    );
    assert!(
        run.stderr.contains("cargo xtask public-api --update"),
        "{}",
        run.output()
    );
}

#[test]
fn public_api_update_writes_the_snapshot_the_check_then_accepts() {
    let dir = TempDir::new("public-api-update");
    let path = dir.path("public-api.txt");
    let shown = path.display().to_string();

    let update = xtask(["public-api", "--update", "--snapshot", &shown]);
    assert_eq!(update.code, 0, "{}", update.output());
    let written = std::fs::read_to_string(&path).expect("the snapshot was written");
    assert!(written.contains("pub async fn plex_butler::Client::tasks(&self)"));

    let check = xtask(["public-api", "--snapshot", &shown]);
    assert_eq!(check.code, 0, "{}", check.output());
}
