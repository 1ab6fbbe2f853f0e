//! `cargo xtask spec diff`: what changed between two versions of the spec,
//! and whether it breaks what was built on the old one: each change on the
//! wire (`wire.rs`), the generated client's public API for Rust source
//! (`rust_api.rs`), and the facade built against the new spec
//! (`verify.rs`). A facade that does not build makes the whole change
//! breaking, whatever the rows say.
//!
//! With `--new FILE` alone, FILE is an upstream spec (Plex's, OpenAPI 3.1,
//! one file or several): it is compared in the operations we hold
//! (`upstream.rs`), so the report says what taking upstream's version of
//! each would change. Carrying a change over is a hand edit that the next
//! `spec diff` judges.
//!
//! Exit codes: see the command's `--help` (`after_help` in `main.rs`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

use crate::verify::{self, Build};
use crate::wire::{About, Class, Report};
use crate::{Failure, rust_api, spec, upstream, workspace};

/// What to compare.
pub enum Sides {
    /// Two files.
    Files { old: PathBuf, new: PathBuf },
    /// The working tree's spec and an upstream spec, in our operations.
    Upstream { file: PathBuf },
    /// The spec at a git revision (default: the merge-base with `main`, or
    /// else `origin/main`) and in the working tree.
    Revision { base: Option<String> },
}

/// How `spec diff` prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// A markdown table per operation, to paste into a review.
    Markdown,
    /// Plain text.
    Text,
}

/// A side of the comparison: its text, its document, its name in headings.
struct Side {
    text: String,
    doc: Value,
    name: String,
}

impl Side {
    fn read(text: String, name: String) -> Result<Self, Failure> {
        let doc = spec::parse(&text).map_err(|e| Failure(format!("{name}: {e}")))?;
        Ok(Side { text, doc, name })
    }

    /// A file the user named, or (`None`) the working tree's spec.
    fn file(path: Option<PathBuf>) -> Result<Self, Failure> {
        let file = workspace::input_or_default(path, workspace::SPEC);
        Side::read(workspace::read(&file)?, format!("`{}`", file.shown))
    }
}

/// `spec diff`: prints the judgement; exit 0 when nothing breaks, 1 when
/// something does (or needs a reviewer's decision), `Err` (exit 2) when it
/// cannot judge.
pub fn run(sides: Sides, format: Format, build: bool) -> Result<ExitCode, Failure> {
    let (old, new, notes) = match sides {
        Sides::Files { old, new } => (Side::file(Some(old))?, Side::file(Some(new))?, Vec::new()),
        Sides::Upstream { file } => {
            let old = Side::file(None)?;
            let (doc, notes) = upstream::ours_from(&file, &old.doc)?;
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Failure(format!("cannot write the compared spec: {e}")))?;
            let name = format!("`{}` in our operations", file.display());
            (old, Side { text, doc, name }, notes)
        }
        Sides::Revision { base } => {
            let base = match base {
                Some(rev) => workspace::Base {
                    rev,
                    how: String::new(),
                },
                None => workspace::default_base()?,
            };
            let name = format!(
                "`{}` at {}{}",
                workspace::SPEC,
                workspace::short_rev(&base.rev),
                base.how
            );
            let old = Side::read(workspace::spec_at(&base.rev)?, name)?;
            let ours = workspace::read(&workspace::input_or_default(None, workspace::SPEC))?;
            let new = Side::read(ours, format!("`{}` in the working tree", workspace::SPEC))?;
            (old, new, Vec::new())
        }
    };
    let judgement = judge(&old, &new, build)?;
    print!(
        "{}",
        render(&judgement, format, &old.name, &new.name, &notes)
    );
    Ok(ExitCode::from(u8::from(judgement.is_breaking())))
}

/// The verdicts on a change of the spec.
pub struct Judgement {
    pub report: Report,
    /// Why the Rust source was not judged, if it was not.
    pub rust_not_judged: Option<String>,
    pub build: Build,
}

impl Judgement {
    /// Whether code or clients written for the old spec may break (or a
    /// change needs a reviewer's decision). A facade that does not build
    /// is always breaking.
    pub fn is_breaking(&self) -> bool {
        self.report.count(Class::Breaking) + self.report.count(Class::Review) > 0
            || self.build.failed()
    }
}

fn judge(old: &Side, new: &Side, build: bool) -> Result<Judgement, Failure> {
    let mut report = crate::wire::compare(&old.doc, &new.doc);
    let not_run = |why: &str| {
        Ok(Judgement {
            report: report.clone(),
            rust_not_judged: Some(why.to_string()),
            build: Build::NotRun(why.to_string()),
        })
    };
    if old.text == new.text || old.doc == new.doc {
        return not_run("the spec did not change");
    }
    // A spec the generator rejects cannot be judged for Rust source.
    for side in [old, new] {
        crate::codegen::generate(&side.text).map_err(|e| {
            Failure(format!(
                "{}: the generator cannot turn it into a client: {e}; so its Rust side cannot \
                 be judged",
                side.name.replace('`', "")
            ))
        })?;
    }
    if !build {
        return not_run("--no-build was given");
    }
    let old_api = verify::raw_api_json(&old.text, "raw-old.json")?.map_err(|errors| {
        Failure(format!(
            "{}: its raw client does not compile ({}), so nothing can be judged against it",
            old.name.replace('`', ""),
            errors
                .first()
                .map(|(place, e)| format!("{place}: {e}"))
                .unwrap_or_default()
        ))
    })?;
    let facade = verify::check_facade(&new.text)?;
    let rows = match verify::raw_api_json(&new.text, "raw-new.json")? {
        Ok(new_api) => rust_api::rows(&old_api, &new_api)?,
        // Code written against the old client cannot build on it at all.
        Err(errors) => vec![crate::wire::Row {
            change: format!(
                "the raw client generated from the new spec does not compile: {} error{} \
                 (first: {})",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors
                    .first()
                    .map(|(place, e)| format!("{place}: {e}"))
                    .unwrap_or_default()
            ),
            about: About::Rust,
            class: Class::Breaking,
            why: "the generator's output for this spec is not valid Rust: no code builds on it"
                .to_string(),
        }],
    };
    report.push(crate::wire::rust_group(rows));
    Ok(Judgement {
        report,
        rust_not_judged: None,
        build: facade,
    })
}

/// The judgement, as markdown to paste into a review or as plain text.
fn render(judgement: &Judgement, format: Format, old: &str, new: &str, notes: &[String]) -> String {
    let report = &judgement.report;
    let markdown = format == Format::Markdown;
    let plain = |s: &str| {
        if markdown {
            s.to_string()
        } else {
            s.replace('`', "")
        }
    };
    let mut out = String::new();
    if markdown {
        out.push_str("## Spec changes\n\n");
    }
    let arrow = if markdown { "→" } else { "->" };
    let summary = if report.is_empty() {
        "no changes to the API".to_string()
    } else {
        format!(
            "{} breaking on the wire, {} breaking for Rust source, {} not breaking, {} to review",
            report.breaking_about(About::Wire),
            report.breaking_about(About::Rust),
            report.count(Class::NotBreaking),
            report.count(Class::Review),
        )
    };
    let _ = writeln!(out, "{} {arrow} {}: {summary}.", plain(old), plain(new));
    let verdict = if !judgement.is_breaking() {
        "not breaking"
    } else if report.count(Class::Breaking) == 0 && !judgement.build.failed() {
        "TO REVIEW (a change could not be classified)"
    } else {
        "BREAKING"
    };
    let _ = writeln!(out, "Verdict: {verdict}.");
    if let Some(why) = &judgement.rust_not_judged {
        let _ = writeln!(out, "Rust source not judged: {why}.");
    }
    out.push_str(&verify::describe(&judgement.build, &new.replace('`', "")));
    for note in notes {
        let _ = writeln!(out, "Note: {}", plain(note));
    }
    for group in &report.groups {
        let users = group.used_by.as_ref().map(|users| {
            if users.is_empty() {
                "no operation".to_string()
            } else {
                users.join(", ")
            }
        });
        match format {
            Format::Markdown => {
                let _ = writeln!(out, "\n### {}\n", group.title);
                if let Some(users) = users {
                    let _ = writeln!(out, "Used by {users}.\n");
                }
                out.push_str("| Change | Wire | Rust | Why |\n|---|---|---|---|\n");
                for row in &group.rows {
                    let class = match row.class {
                        Class::Breaking => "**breaking**",
                        Class::Review => "**review**",
                        Class::NotBreaking => "no",
                    };
                    let (wire, rust) = match row.about {
                        About::Wire => (class, ""),
                        About::Rust => ("", class),
                    };
                    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
                    let _ = writeln!(
                        out,
                        "| {} | {wire} | {rust} | {} |",
                        cell(&row.change),
                        cell(&row.why)
                    );
                }
            }
            Format::Text => {
                let _ = writeln!(out, "\n{}", plain(&group.title));
                if let Some(users) = users {
                    let _ = writeln!(out, "  (used by {users})");
                }
                for row in &group.rows {
                    let class = match row.class {
                        Class::Breaking => "BREAKING",
                        Class::Review => "REVIEW",
                        Class::NotBreaking => "ok",
                    };
                    let about = match row.about {
                        About::Wire => "wire",
                        About::Rust => "Rust",
                    };
                    let _ = writeln!(
                        out,
                        "  {:<13}  {}: {}",
                        format!("{class} {about}"),
                        plain(&row.change),
                        plain(&row.why)
                    );
                }
            }
        }
    }
    out
}
