//! Where things are in the workspace, and the git questions `spec diff` asks.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Failure;

/// The spec, relative to the workspace root.
pub const SPEC: &str = "openapi/butler.yaml";
/// The facade's source directory, relative to the workspace root.
pub const FACADE_SRC: &str = "crates/plex-butler/src";

/// A file or directory the user named, or a default in the workspace.
#[derive(Debug, Clone)]
pub struct Location {
    pub path: PathBuf,
    /// How messages name it: as the user wrote it, or relative to the
    /// workspace root for a default.
    pub shown: String,
}

/// The workspace root: the parent of this crate's directory.
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The path the user gave (relative to where they are), or `default`
/// (relative to the workspace root).
pub fn input_or_default(given: Option<PathBuf>, default: &str) -> Location {
    match given {
        Some(path) => Location {
            shown: path.display().to_string(),
            path,
        },
        None => Location {
            path: root().join(default),
            shown: default.to_string(),
        },
    }
}

pub fn read(location: &Location) -> Result<String, Failure> {
    std::fs::read_to_string(&location.path)
        .map_err(|e| Failure(format!("cannot read {}: {e}", location.shown)))
}

/// Runs git in the workspace root and returns its standard output.
pub fn git(args: &[&str]) -> Result<String, Failure> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(args)
        .output()
        .map_err(|e| Failure(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        return Err(Failure(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(|_| {
        Failure(format!(
            "`git {}` printed text that is not UTF-8",
            args.join(" ")
        ))
    })
}

/// The revision `spec diff` compares with by default: `HEAD` on `main`,
/// otherwise the merge-base of `HEAD` and `main`.
pub fn default_base() -> Result<String, Failure> {
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"])?;
    if branch.trim() == "main" {
        return Ok("HEAD".to_string());
    }
    let base = git(&["merge-base", "HEAD", "main"])?;
    Ok(base.trim().to_string())
}

/// A short name for a revision, for headings.
pub fn short_rev(rev: &str) -> String {
    git(&["rev-parse", "--short", rev])
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| rev.to_string())
}
