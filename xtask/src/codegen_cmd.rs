//! `cargo xtask codegen`: the raw client as the build generates it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::Failure;
use crate::codegen;
use crate::workspace::{self, Location};

/// How many changed lines `--check` shows before it summarises the rest.
const MAX_SHOWN_LINES: usize = 200;

pub fn run(spec: &Location, out: Option<&Path>, check: Option<&Path>) -> Result<ExitCode, Failure> {
    let text = workspace::read(spec)?;
    let code = codegen::generate(&text).map_err(|e| {
        Failure(format!(
            "the spec {} cannot be turned into a client: {e}",
            spec.shown
        ))
    })?;
    if let Some(check) = check {
        let existing = std::fs::read_to_string(check)
            .map_err(|e| Failure(format!("cannot read {}: {e}", check.display())))?;
        return Ok(
            match line_diff(&existing, &code, &check.display().to_string(), &spec.shown) {
                None => {
                    println!(
                        "{} is the code generated from {}.",
                        check.display(),
                        spec.shown
                    );
                    ExitCode::SUCCESS
                }
                Some(diff) => {
                    print!("{diff}");
                    ExitCode::FAILURE
                }
            },
        );
    }
    match out {
        Some(out) => std::fs::write(out, &code)
            .map_err(|e| Failure(format!("cannot write {}: {e}", out.display())))?,
        None => print!("{code}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A unified diff from `old` to `new`, cut short after
/// [`MAX_SHOWN_LINES`] changed lines; `None` when they are equal.
pub fn line_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    let lines = |n: usize| {
        if n == 1 {
            "1 line".to_string()
        } else {
            format!("{n} lines")
        }
    };
    let mut out = format!(
        "{old_name} differs from the code generated from {new_name}: {} removed, {} added.\n",
        lines(removed),
        lines(added)
    );
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(old_name, &format!("generated from {new_name}"))
        .to_string();
    let mut shown = 0;
    for line in unified.lines() {
        if shown >= MAX_SHOWN_LINES {
            let _ = writeln!(out, "... (diff cut short)");
            break;
        }
        let _ = writeln!(out, "{line}");
        if line.starts_with(['+', '-']) && !line.starts_with("+++") && !line.starts_with("---") {
            shown += 1;
        }
    }
    Some(out)
}
