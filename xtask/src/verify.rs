//! `cargo xtask spec verify`: builds the facade against a spec, the proof
//! that code written against the facade keeps compiling with it.
//!
//! The workspace's sources (not `target/`, not `.git`) are mirrored into
//! `target/spec-verify/workspace/`, the spec is written to its
//! `openapi/butler.yaml`, and `cargo check` runs there with a target
//! directory of its own (`target/spec-verify/target/`): a `cargo test`
//! around this command holds the workspace target's lock, and waiting for it
//! would never end. Files whose content is unchanged are not rewritten, so
//! builds after the first are incremental. A lock file keeps two runs from
//! mirroring into the same directory at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::Failure;
use crate::workspace::{self, Location};

/// The crate built, and how: the facade's library with the blocking client,
/// no TLS backend (TLS adds minutes and nothing the spec can break).
const CHECK_ARGS: &[&str] = &[
    "check",
    "--offline",
    "--locked",
    "-p",
    "plex-butler",
    "--no-default-features",
    "--features",
    "blocking",
    "--lib",
    "--message-format=json",
];

/// What building the facade against a spec gave.
#[derive(Debug, Clone)]
pub enum Build {
    /// Not built; the reason.
    NotRun(String),
    Passed {
        took: Duration,
    },
    /// The facade does not compile: the errors, each with its place.
    Failed {
        took: Duration,
        errors: Vec<CompileError>,
    },
}

impl Build {
    pub fn failed(&self) -> bool {
        matches!(self, Build::Failed { .. })
    }
}

/// A compiler error in the workspace's code.
#[derive(Debug, Clone)]
pub struct CompileError {
    /// `crates/plex-butler/src/client.rs:120:10`, relative to the workspace.
    pub place: String,
    pub message: String,
}

/// `spec verify FILE`: builds the facade against the spec and says so.
/// Exit 0 when it compiles, 1 when it does not, 2 when it could not run.
pub fn run(spec: &Location) -> Result<ExitCode, Failure> {
    let text = workspace::read(spec)?;
    let build = build_facade(&text)?;
    print!("{}", describe(&build, &spec.shown));
    Ok(if build.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Plain text about a build, naming the facade code to change when it
/// failed.
pub fn describe(build: &Build, spec_name: &str) -> String {
    match build {
        Build::NotRun(reason) => {
            format!("The facade was not built against {spec_name}: {reason}.\n")
        }
        Build::Passed { took } => format!(
            "The facade builds against {spec_name} (cargo check, {:.0?}).\n",
            took
        ),
        Build::Failed { took, errors } => {
            let mut out = format!(
                "The facade does NOT build against {spec_name} (cargo check, {:.0?}): \
                 {} error{}; change this facade code (or the spec):\n",
                took,
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            for error in errors {
                out.push_str(&format!("  {}: {}\n", error.place, error.message));
            }
            out
        }
    }
}

/// Builds the facade against `spec_text`. `Err` when the build could not
/// run at all (cargo missing, dependencies not available offline, ...).
pub fn build_facade(spec_text: &str) -> Result<Build, Failure> {
    let root = workspace::root();
    let dir = root.join("target/spec-verify");
    let copy = dir.join("workspace");
    std::fs::create_dir_all(&copy)
        .map_err(|e| Failure(format!("cannot create {}: {e}", copy.display())))?;
    let lock = File::create(dir.join("lock"))
        .map_err(|e| Failure(format!("cannot create {}: {e}", dir.join("lock").display())))?;
    lock.lock()
        .map_err(|e| Failure(format!("cannot lock {}: {e}", dir.display())))?;

    let spec = copy.join(workspace::SPEC);
    mirror(&root, &copy, &root.join(workspace::SPEC))?;
    write_if_changed(&spec, spec_text.as_bytes())?;

    let cargo = workspace::cargo();
    let started = Instant::now();
    let output = Command::new(&cargo)
        .args(CHECK_ARGS)
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|e| Failure(format!("cannot run cargo: {e}")))?;
    let took = started.elapsed();
    drop(lock);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let errors = compile_errors(&stdout);
    if output.status.success() {
        return Ok(Build::Passed { took });
    }
    if errors.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(Failure(format!(
            "the facade's build could not run (`cargo {}` in {}):\n{}",
            CHECK_ARGS.join(" "),
            copy.display(),
            tail.join("\n")
        )));
    }
    Ok(Build::Failed { took, errors })
}

/// The errors among cargo's JSON messages, at their primary place.
fn compile_errors(json_lines: &str) -> Vec<CompileError> {
    let mut out = Vec::new();
    for line in json_lines.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-message" || message["message"]["level"] != "error" {
            continue;
        }
        let diagnostic = &message["message"];
        let text = diagnostic["message"].as_str().unwrap_or_default();
        // "aborting due to N previous errors" has no place: not an error of
        // its own.
        let Some(span) = diagnostic["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["is_primary"] == true))
        else {
            continue;
        };
        let place = format!(
            "{}:{}:{}",
            span["file_name"].as_str().unwrap_or("?"),
            span["line_start"],
            span["column_start"]
        );
        let label = span["label"].as_str().filter(|l| !l.is_empty());
        out.push(CompileError {
            place,
            message: match label {
                Some(label) => format!("{text} ({label})"),
                None => text.to_string(),
            },
        });
    }
    out
}

/// Makes `to` hold what `from` holds (files, directories, symbolic links),
/// leaving unchanged files untouched. `target` and `.git` are skipped, and
/// so is the spec (`spec`), which the caller writes.
fn mirror(from: &Path, to: &Path, spec: &Path) -> Result<(), Failure> {
    let entries = read_dir(from)?;
    let names: Vec<_> = entries.iter().map(|(name, _)| name.clone()).collect();
    // What the source no longer has goes, so the copy builds as the source.
    for (name, path) in read_dir(to)? {
        if !names.contains(&name) {
            remove(&path)?;
        }
    }
    for (name, source) in entries {
        if name == "target" || name == ".git" || source == spec {
            continue;
        }
        let dest = to.join(&name);
        let kind = std::fs::symlink_metadata(&source)
            .map_err(|e| Failure(format!("cannot read {}: {e}", source.display())))?
            .file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&source)
                .map_err(|e| Failure(format!("cannot read the link {}: {e}", source.display())))?;
            if std::fs::read_link(&dest).ok().as_ref() != Some(&target) {
                remove(&dest)?;
                symlink(&target, &dest)?;
            }
        } else if kind.is_dir() {
            if std::fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir()) {
                remove(&dest)?;
            }
            std::fs::create_dir_all(&dest)
                .map_err(|e| Failure(format!("cannot create {}: {e}", dest.display())))?;
            mirror(&source, &dest, spec)?;
        } else {
            let bytes = std::fs::read(&source)
                .map_err(|e| Failure(format!("cannot read {}: {e}", source.display())))?;
            if std::fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir() || m.is_symlink()) {
                remove(&dest)?;
            }
            write_if_changed(&dest, &bytes)?;
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<(std::ffi::OsString, PathBuf)>, Failure> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Failure(format!("cannot list {}: {e}", dir.display())))?;
        out.push((entry.file_name(), entry.path()));
    }
    Ok(out)
}

/// Writes `bytes` unless the file already holds them (an untouched file
/// keeps its time, and cargo does not rebuild what depends on it).
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes)
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
}

fn remove(path: &Path) -> Result<(), Failure> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|e| Failure(format!("cannot remove {}: {e}", path.display())))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<(), Failure> {
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| Failure(format!("cannot create the link {}: {e}", link.display())))
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> Result<(), Failure> {
    // Without symbolic links, git writes a link as a file holding its
    // target; the raw crate's build script follows such files.
    std::fs::write(link, target.to_string_lossy().as_bytes())
        .map_err(|e| Failure(format!("cannot write {}: {e}", link.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_errors_are_read_with_their_place_and_label() {
        let lines = r#"{"reason":"compiler-artifact","package_id":"x"}
{"reason":"compiler-message","message":{"level":"warning","message":"unused","spans":[]}}
{"reason":"compiler-message","message":{"level":"error","message":"no method named `start_task` found","spans":[{"file_name":"crates/plex-butler/src/client.rs","line_start":120,"column_start":14,"is_primary":true,"label":"method not found"}]}}
{"reason":"compiler-message","message":{"level":"error","message":"aborting due to 1 previous error","spans":[]}}
"#;
        let errors = compile_errors(lines);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].place, "crates/plex-butler/src/client.rs:120:14");
        assert_eq!(
            errors[0].message,
            "no method named `start_task` found (method not found)"
        );
    }
}
