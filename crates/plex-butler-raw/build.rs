//! Generates the raw client from the Butler OpenAPI spec on every build that
//! sees the spec change. Nothing generated is committed.
//!
//! The spec is read from `butler.yaml` in this crate's directory. In the
//! repository that file is a symbolic link to the workspace's
//! `openapi/butler.yaml`, the one file reviewers edit; `cargo package`
//! follows the link and packs the spec's content, so a packaged crate (from a
//! registry, or verified by `cargo package`) carries its own copy and needs
//! nothing outside itself.
//!
//! With `PLEX_BUTLER_SPEC=PATH` set, the spec at PATH is read instead: the
//! workspace's tools build the facade against a candidate spec that way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[path = "codegen.rs"]
mod codegen;

/// The spec inside this crate: a link in the repository, a file in a package.
const IN_CRATE_SPEC: &str = "butler.yaml";

/// The path of another spec to generate from instead, when set: how
/// `cargo xtask spec verify` and `spec diff` build the facade against a
/// candidate spec (in a target directory of their own).
const SPEC_OVERRIDE: &str = "PLEX_BUTLER_SPEC";

fn main() -> ExitCode {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let spec = match Spec::find(&manifest_dir) {
        Ok(spec) => spec,
        Err(message) => return fail(&message),
    };
    for path in &spec.watched {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    println!("cargo::rerun-if-changed=codegen.rs");

    let code = match codegen::generate(&spec.text) {
        Ok(code) => code,
        Err(e) => {
            return fail(&format!(
                "the spec {} cannot be turned into a client: {e}",
                spec.shown
            ));
        }
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("butler.rs");
    if let Err(e) = std::fs::write(&out, code) {
        return fail(&format!("cannot write {}: {e}", out.display()));
    }
    ExitCode::SUCCESS
}

/// The spec's text, where it was found and how messages name it.
struct Spec {
    text: String,
    shown: &'static str,
    /// Every path whose change must rerun this script: the link and the file
    /// it leads to (Cargo may look at the link's own time).
    watched: Vec<PathBuf>,
}

impl Spec {
    fn find(manifest_dir: &Path) -> Result<Self, String> {
        println!("cargo::rerun-if-env-changed={SPEC_OVERRIDE}");
        if let Some(path) = std::env::var_os(SPEC_OVERRIDE).map(PathBuf::from) {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "cannot read the spec {} named by {SPEC_OVERRIDE}: {e}",
                    path.display()
                )
            })?;
            return Ok(Self {
                text,
                shown: "the spec named by PLEX_BUTLER_SPEC",
                watched: vec![path],
            });
        }
        let in_crate = manifest_dir.join(IN_CRATE_SPEC);
        let is_link = std::fs::symlink_metadata(&in_crate)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        let text = std::fs::read_to_string(&in_crate).map_err(|e| {
            format!(
                "cannot read the spec {IN_CRATE_SPEC} of plex-butler-raw \
                 (in the repository, a link to openapi/butler.yaml): {e}"
            )
        })?;
        let mut watched = vec![in_crate.clone()];
        if let Some(target) = link_stub_target(&text) {
            // A checkout without symbolic links (git on Windows, by default)
            // writes the link as a small file holding the target's path.
            let followed = manifest_dir.join(target);
            let text = std::fs::read_to_string(&followed).map_err(|e| {
                format!("cannot read the spec openapi/butler.yaml through {IN_CRATE_SPEC}: {e}")
            })?;
            watched.push(followed);
            return Ok(Self {
                text,
                shown: "openapi/butler.yaml",
                watched,
            });
        }
        if is_link {
            if let Ok(target) = std::fs::canonicalize(&in_crate) {
                watched.push(target);
            }
            return Ok(Self {
                text,
                shown: "openapi/butler.yaml",
                watched,
            });
        }
        Ok(Self {
            text,
            shown: IN_CRATE_SPEC,
            watched,
        })
    }
}

/// The target path, when `text` is a symbolic link written out as a file:
/// one line naming a relative `.yaml` path, where a spec has many lines.
fn link_stub_target(text: &str) -> Option<&str> {
    let line = text.trim_end();
    let looks_like_path =
        !line.is_empty() && !line.contains('\n') && !line.contains(':') && line.ends_with(".yaml");
    looks_like_path.then_some(line)
}

fn fail(message: &str) -> ExitCode {
    println!("cargo::error={message}");
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
