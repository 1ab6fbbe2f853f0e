//! Where things are in the workspace, and the git questions `spec diff` and
//! `spec check` ask.
//!
//! The workspace is found from the current directory, as cargo finds it:
//! never from where the xtask binary was built, which a shared
//! `CARGO_TARGET_DIR` would point at another checkout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Failure;

/// The spec, relative to the workspace root.
pub const SPEC: &str = "openapi/butler.yaml";

/// The root found by [`locate`].
static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Finds the workspace root from the current directory and remembers it
/// for [`root`]. Fails, saying where to run, outside a workspace.
pub fn locate() -> Result<PathBuf, Failure> {
    let here = std::env::current_dir()
        .map_err(|e| Failure(format!("cannot read the current directory: {e}")))?;
    let root = find_root(&here).ok_or_else(|| {
        Failure(format!(
            "{} is not inside a cargo workspace: run `cargo xtask` in the plex-butler \
             repository (or a directory below it)",
            here.display()
        ))
    })?;
    Ok(ROOT.get_or_init(|| root).clone())
}

/// The workspace root: the nearest directory at or above `start` whose
/// `Cargo.toml` has a `[workspace]` table.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

/// The workspace root found by [`locate`] (which `main` calls first); in
/// unit tests, the one above the current directory.
pub fn root() -> PathBuf {
    ROOT.get_or_init(|| {
        std::env::current_dir()
            .ok()
            .and_then(|here| find_root(&here))
            .unwrap_or_else(|| PathBuf::from("."))
    })
    .clone()
}

/// The workspace's target directory: `CARGO_TARGET_DIR` (relative to the
/// root when relative), else `target`.
pub fn target_dir() -> PathBuf {
    let root = root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The cargo that runs this tool (`CARGO`), else the one on the path.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A file or directory the user named, or a default in the workspace.
#[derive(Debug, Clone)]
pub struct Location {
    pub path: PathBuf,
    /// How messages name it: as the user wrote it, or relative to the
    /// workspace root for a default.
    pub shown: String,
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

/// A revision to compare with, and how it was chosen (for headings).
#[derive(Debug, Clone)]
pub struct Base {
    pub rev: String,
    /// ` (merge-base with origin/main)` and the like; empty when given.
    pub how: String,
}

/// The revision compared with when none is given: `HEAD` on `main`;
/// otherwise the merge-base of `HEAD` with the local `main`, or else with
/// `origin/main` (a CI clone often has no local `main`). Fails, saying what
/// to pass, when there is neither.
pub fn default_base() -> Result<Base, Failure> {
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"])?;
    if branch.trim() == "main" {
        return Ok(Base {
            rev: "HEAD".to_string(),
            how: " (HEAD, on main)".to_string(),
        });
    }
    for candidate in ["main", "origin/main"] {
        let exists = git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{candidate}^{{commit}}"),
        ]);
        if exists.is_err() {
            continue;
        }
        if let Ok(base) = git(&["merge-base", "HEAD", candidate]) {
            return Ok(Base {
                rev: base.trim().to_string(),
                how: format!(" (merge-base with {candidate})"),
            });
        }
    }
    Err(Failure(
        "no base revision to compare with: there is no `main` nor `origin/main` sharing \
         history with HEAD; pass one with `--base REV` (e.g. `--base origin/main`, or \
         `--base HEAD~1` for the last commit)"
            .to_string(),
    ))
}

/// The spec's text at a revision.
pub fn spec_at(rev: &str) -> Result<String, Failure> {
    git(&["show", &format!("{rev}:{SPEC}")]).map_err(|e| {
        Failure(format!(
            "cannot read {SPEC} at revision {rev} (is it a commit of this repository?): {}",
            e.0
        ))
    })
}

/// A short name for a revision, for headings.
pub fn short_rev(rev: &str) -> String {
    git(&["rev-parse", "--short", rev])
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| rev.to_string())
}
