//! The spec the build reads (`butler.yaml` in this crate, which `cargo
//! package` packs) is the workspace's `openapi/butler.yaml`, the file
//! reviewers edit.

use std::path::Path;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn packaged_spec_has_the_content_of_the_workspace_spec() {
    let packaged = std::fs::read(crate_dir().join("butler.yaml"))
        .expect("crates/plex-butler-raw/butler.yaml is readable");
    if packaged == b"../../openapi/butler.yaml" {
        // A checkout without symbolic links (git on Windows, by default)
        // writes the link as a file naming its target; the build follows it.
        return;
    }
    let workspace = std::fs::read(crate_dir().join("../../openapi/butler.yaml"))
        .expect("openapi/butler.yaml is readable");
    assert!(
        packaged == workspace,
        "crates/plex-butler-raw/butler.yaml differs from openapi/butler.yaml; restore the link: \
         ln -sf ../../openapi/butler.yaml crates/plex-butler-raw/butler.yaml"
    );
}

/// A link, not a copy: a copy would need a manual step on every spec change.
#[cfg(unix)]
#[test]
fn packaged_spec_is_a_link_to_the_workspace_spec() {
    let link = crate_dir().join("butler.yaml");
    let target = std::fs::read_link(&link).unwrap_or_else(|e| {
        panic!(
            "crates/plex-butler-raw/butler.yaml is not a symbolic link ({e}); restore it: \
             ln -sf ../../openapi/butler.yaml crates/plex-butler-raw/butler.yaml"
        )
    });
    assert_eq!(target, Path::new("../../openapi/butler.yaml"));
}
