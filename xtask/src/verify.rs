//! Builds against a spec: `spec verify` (does the facade compile?) and the
//! raw client's public API for `spec diff`'s Rust verdict.
//!
//! The workspace is built as it is, with the raw client generated from the
//! candidate spec (the build script reads the file `PLEX_BUTLER_SPEC`
//! names), in a target directory of its own (`target/spec-verify/`): a
//! `cargo test` around this command holds the workspace target's lock, and
//! waiting for it would never end. Builds after the first are incremental.
//!
//! Every cargo run here sets `RUSTC_BOOTSTRAP=1`: rustdoc writes JSON only
//! with `-Z unstable-options` (see `public_api.rs`), and the same setting on
//! the check keeps both runs on one set of compiled dependencies.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};

use crate::Failure;
use crate::workspace::{self, Location};

/// The packages and features of every run: the facade with its blocking
/// client, no TLS backend (TLS adds minutes and nothing the spec can
/// break). The raw client is documented with the same selection, so both
/// runs share their dependencies.
const SELECTION: &[&str] = &[
    "--offline",
    "--locked",
    "-p",
    "plex-butler",
    "--no-default-features",
    "--features",
    "blocking",
];

/// What building the facade against a spec gave.
#[derive(Debug, Clone)]
pub enum Build {
    /// Not built; the reason.
    NotRun(String),
    Passed {
        took: Duration,
    },
    /// The facade does not compile: each error's place and message.
    Failed {
        took: Duration,
        errors: Vec<(String, String)>,
    },
}

impl Build {
    pub fn failed(&self) -> bool {
        matches!(self, Build::Failed { .. })
    }
}

/// `spec verify FILE`: exit 0 when the facade compiles, 1 when it does
/// not, 2 when the build could not run.
pub fn run(spec: &Location) -> Result<ExitCode, Failure> {
    let build = check_facade(&workspace::read(spec)?)?;
    print!("{}", describe(&build, &spec.shown));
    Ok(ExitCode::from(u8::from(build.failed())))
}

/// Plain text about a build, naming the facade code to change when it
/// failed.
pub fn describe(build: &Build, spec_name: &str) -> String {
    match build {
        Build::NotRun(reason) => {
            format!("The facade was not built against {spec_name}: {reason}.\n")
        }
        Build::Passed { took } => {
            format!("The facade builds against {spec_name} (cargo check, {took:.0?}).\n")
        }
        Build::Failed { took, errors } => {
            let s = if errors.len() == 1 { "" } else { "s" };
            // Places outside the workspace's crates are in generated code.
            let what = if errors.iter().any(|(place, _)| place.starts_with("crates/")) {
                "change this facade code (or the spec)"
            } else {
                "the raw client generated from it does not compile"
            };
            let mut out = format!(
                "The facade does NOT build against {spec_name} (cargo check, {took:.0?}): {} \
                 error{s}; {what}:\n",
                errors.len()
            );
            for (place, message) in errors {
                out.push_str(&format!("  {place}: {message}\n"));
            }
            out
        }
    }
}

fn dir() -> PathBuf {
    workspace::target_dir().join("spec-verify")
}

/// Runs cargo on the workspace with the raw client generated from
/// `spec_text` (kept in a file named by its content, so that runs at once
/// do not overwrite each other's).
fn cargo(spec_text: &str, args: &[&str]) -> Result<Output, Failure> {
    let mut hasher = std::hash::DefaultHasher::new();
    spec_text.hash(&mut hasher);
    let spec = dir().join(format!("spec-{:016x}.yaml", hasher.finish()));
    std::fs::create_dir_all(dir())
        .and_then(|()| std::fs::write(&spec, spec_text))
        .map_err(|e| Failure(format!("cannot write {}: {e}", spec.display())))?;
    Command::new(workspace::cargo())
        .args(args)
        .args(SELECTION)
        .current_dir(workspace::root())
        .env("PLEX_BUTLER_SPEC", &spec)
        .env("CARGO_TARGET_DIR", dir().join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json")
        .output()
        .map_err(|e| Failure(format!("cannot run cargo: {e}")))
}

fn could_not_run(args: &[&str], output: &Output) -> Failure {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    Failure(format!(
        "the build could not run (`cargo {} {}`):\n{tail}",
        args.join(" "),
        SELECTION.join(" ")
    ))
}

/// `cargo check`s the facade against `spec_text`. `Err` when the build
/// could not run at all (dependencies not available offline, ...).
pub fn check_facade(spec_text: &str) -> Result<Build, Failure> {
    let started = Instant::now();
    let args = ["check", "--lib", "--message-format=json"];
    let output = cargo(spec_text, &args)?;
    let took = started.elapsed();
    if output.status.success() {
        return Ok(Build::Passed { took });
    }
    let errors = compile_errors(&String::from_utf8_lossy(&output.stdout));
    if errors.is_empty() {
        return Err(could_not_run(&args, &output));
    }
    Ok(Build::Failed { took, errors })
}

/// The raw client generated from `spec_text`, described by rustdoc as
/// JSON; the file is kept under `name`. `Ok(Err(errors))` when the
/// generated client does not compile. The facade is documented too (so
/// that both runs resolve features alike); it may not compile against this
/// spec, hence `--keep-going`: what counts is the raw client's file.
pub fn raw_api_json(
    spec_text: &str,
    name: &str,
) -> Result<Result<PathBuf, Vec<(String, String)>>, Failure> {
    let json = dir().join("target/doc/plex_butler_raw.json");
    let _ = std::fs::remove_file(&json);
    let args = [
        "doc",
        "--keep-going",
        "--no-deps",
        "--message-format=json",
        "-p",
        "plex-butler-raw",
    ];
    let output = cargo(spec_text, &args)?;
    let kept = dir().join(name);
    if std::fs::rename(&json, &kept).is_ok() {
        return Ok(Ok(kept));
    }
    let errors = compile_errors(&String::from_utf8_lossy(&output.stdout));
    if errors.is_empty() {
        return Err(could_not_run(&args, &output));
    }
    Ok(Err(errors))
}

/// The errors among cargo's JSON messages, at their primary place.
fn compile_errors(json_lines: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in json_lines.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let diagnostic = &message["message"];
        if message["reason"] != "compiler-message" || diagnostic["level"] != "error" {
            continue;
        }
        // "aborting due to N previous errors" has no place.
        let Some(span) = diagnostic["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["is_primary"] == true))
        else {
            continue;
        };
        // Code generated into the build directory is named by its file.
        let file = span["file_name"].as_str().unwrap_or("?");
        let file = file
            .rsplit_once("/out/")
            .map_or(file, |(_, generated)| generated);
        let place = format!("{}:{}:{}", file, span["line_start"], span["column_start"]);
        let text = diagnostic["message"].as_str().unwrap_or_default();
        out.push(match span["label"].as_str().filter(|l| !l.is_empty()) {
            Some(label) => (place, format!("{text} ({label})")),
            None => (place, text.to_string()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn compiler_errors_are_read_with_their_place_and_label() {
        let lines = r#"{"reason":"compiler-artifact","package_id":"x"}
{"reason":"compiler-message","message":{"level":"warning","message":"unused","spans":[]}}
{"reason":"compiler-message","message":{"level":"error","message":"no method named `start_task` found","spans":[{"file_name":"crates/plex-butler/src/client.rs","line_start":120,"column_start":14,"is_primary":true,"label":"method not found"}]}}
{"reason":"compiler-message","message":{"level":"error","message":"aborting due to 1 previous error","spans":[]}}
"#;
        let errors = super::compile_errors(lines);
        assert_eq!(
            errors,
            [(
                "crates/plex-butler/src/client.rs:120:14".to_string(),
                "no method named `start_task` found (method not found)".to_string()
            )]
        );
    }
}
