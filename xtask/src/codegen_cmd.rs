//! `cargo xtask codegen`: the raw client as the build generates it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use similar::ChangeTag;

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
        let shown = check.display().to_string();
        let existing = std::fs::read_to_string(check)
            .map_err(|e| Failure(format!("cannot read {shown}: {e}")))?;
        let Some(diff) = line_diff(&existing, &code, &shown, &spec.shown) else {
            println!("{shown} is the code generated from {}.", spec.shown);
            return Ok(ExitCode::SUCCESS);
        };
        print!("{diff}");
        return Ok(ExitCode::FAILURE);
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
    let count = |tag| diff.iter_all_changes().filter(|c| c.tag() == tag).count();
    let (added, removed) = (count(ChangeTag::Insert), count(ChangeTag::Delete));
    let lines = |n: usize| format!("{n} line{}", if n == 1 { "" } else { "s" });
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
