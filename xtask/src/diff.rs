//! `cargo xtask spec diff`: what changed between two versions of the spec,
//! and whether it breaks what was built on the old one. Each change gets a
//! verdict on the wire (`wire.rs`: does a client built on the old spec work
//! against a server that follows the new one?) or for Rust source
//! (`rust_api.rs`: does code written against the old generated client still
//! compile, and run?), and the facade is built against the new spec
//! (`verify.rs`). A facade that does not build makes the whole change
//! breaking, whatever the rows say, and the report names the code to change.
//!
//! Exit codes: see the command's `--help` (`after_help` in `main.rs`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::doc::Node;
use crate::verify::{self, Build};
use crate::{Failure, check, doc, rust_api, workspace};

pub use crate::wire::{About, Class, Report, Row, compare};

/// What to compare.
pub enum Sides {
    /// Two files.
    Files { old: PathBuf, new: PathBuf },
    /// The spec at a git revision (default: the merge-base with `main`, or
    /// else `origin/main`) and in the working tree.
    Revision { base: Option<String> },
}

/// How `spec diff` and `spec import` print.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// A markdown table per operation, to paste into a review.
    Markdown,
    /// Plain text.
    Text,
}

/// `spec diff`: prints the judgement; exit 0 when nothing breaks, 1 when
/// something does (or needs a reviewer's decision), and `Err` (exit 2) when
/// it cannot judge.
pub fn run(sides: Sides, format: Format, build: bool) -> Result<ExitCode, Failure> {
    let (old_text, new_text, old_name, new_name) = match sides {
        Sides::Files { old, new } => {
            let old = workspace::input_or_default(Some(old), workspace::SPEC);
            let new = workspace::input_or_default(Some(new), workspace::SPEC);
            (
                workspace::read(&old)?,
                workspace::read(&new)?,
                format!("`{}`", old.shown),
                format!("`{}`", new.shown),
            )
        }
        Sides::Revision { base } => {
            let base = match base {
                Some(rev) => workspace::Base {
                    rev,
                    how: String::new(),
                },
                None => workspace::default_base()?,
            };
            let old_text = workspace::spec_at(&base.rev)?;
            let new = workspace::input_or_default(None, workspace::SPEC);
            let new_text = workspace::read(&new)?;
            (
                old_text,
                new_text,
                format!(
                    "`{}` at {}{}",
                    workspace::SPEC,
                    workspace::short_rev(&base.rev),
                    base.how
                ),
                format!("`{}` in the working tree", workspace::SPEC),
            )
        }
    };
    let judgement = judge_with(&old_text, &new_text, build, &old_name, &new_name)?;
    print!(
        "{}",
        render_judgement(&judgement, format, &old_name, &new_name)
    );
    Ok(if judgement.is_breaking() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The verdicts on a change of the spec: each change on the wire and for
/// Rust source, and whether the facade builds against the new spec.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub report: Report,
    pub build: Build,
}

impl Judgement {
    /// Whether code or clients written for the old spec may break (or a
    /// change needs a reviewer's decision). A facade that does not build
    /// is always breaking, whatever the rows say.
    pub fn is_breaking(&self) -> bool {
        self.report.count(Class::Breaking) + self.report.count(Class::Review) > 0
            || self.build.failed()
    }
}

/// Judges a change of the spec from `old_text` to `new_text`: compares
/// them on the wire and in the generated Rust, and builds the facade against
/// the new one. `Err` when it cannot judge (a spec that does not parse or
/// generate, a build that cannot run).
pub fn judge(old_text: &str, new_text: &str) -> Result<Judgement, Failure> {
    judge_with(old_text, new_text, true, "the old spec", "the new spec")
}

fn judge_with(
    old_text: &str,
    new_text: &str,
    build: bool,
    old_name: &str,
    new_name: &str,
) -> Result<Judgement, Failure> {
    let old = doc::parse(old_text).map_err(|e| Failure(format!("{old_name}: {e}")))?;
    let new = doc::parse(new_text).map_err(|e| Failure(format!("{new_name}: {e}")))?;
    let mut report = compare_specs(&old, &new)?;
    let old_api = generated_api(old_text, old_name)?;
    let new_api = generated_api(new_text, new_name)?;
    crate::wire::add_rust_rows(
        &mut report,
        &old,
        &new,
        &rust_api::compare(&old_api, &new_api),
    );
    let build = if old_text == new_text {
        Build::NotRun("the spec did not change".to_string())
    } else if !build {
        Build::NotRun("--no-build was given".to_string())
    } else {
        verify::build_facade(new_text)?
    };
    Ok(Judgement { report, build })
}

/// The specs compared on the wire, and the facade's status table held
/// against the new one (`spec check`'s rule): what the change asks of the
/// facade, in a group of its own. Only what the change brings is reported:
/// a disagreement the old spec had already is `spec check`'s to report.
pub fn compare_specs(old: &Node, new: &Node) -> Result<Report, Failure> {
    let mut report = compare(old, new).map_err(|e| Failure(format!("cannot compare: {e}")))?;
    let facade = workspace::input_or_default(None, workspace::FACADE_SRC);
    let findings = |spec: &Node| check::status_findings(spec, &doc::operations(spec), &facade);
    let change = |f: &check::StatusFinding| format!("{}: {}", f.problem.place, f.short);
    let before: Vec<String> = findings(old).iter().map(change).collect();
    let rows = findings(new)
        .into_iter()
        .filter(|f| !before.contains(&change(f)))
        .map(|f| Row {
            change: change(&f),
            about: About::Facade,
            // A mapped status gone: the facade still builds, but misreads
            // answers.
            class: if f.misreads {
                Class::Breaking
            } else {
                Class::ToDo
            },
            why: f.problem.reason,
        })
        .collect();
    crate::wire::add_facade_rows(&mut report, old, new, rows);
    Ok(report)
}

/// The raw client's surface generated from a spec.
fn generated_api(text: &str, name: &str) -> Result<rust_api::Api, Failure> {
    rust_api::generate(text).map_err(|e| {
        Failure(format!(
            "{}: {e}, so its Rust side cannot be judged",
            name.replace('`', "")
        ))
    })
}

/// The judgement, as markdown to paste into a review or as plain text:
/// the changes, the verdict, and the facade's build. `old_name` and
/// `new_name` say what was compared (markdown: code spans allowed).
pub fn render_judgement(
    judgement: &Judgement,
    format: Format,
    old_name: &str,
    new_name: &str,
) -> String {
    let report = &judgement.report;
    let mut out = String::new();
    let totals = format!(
        "{} breaking on the wire, {} breaking for Rust source, {} not breaking, {} to review, \
         {} breaking for the facade, {} to do",
        report.breaking_about(About::Wire),
        report.breaking_about(About::Rust),
        report.count(Class::NotBreaking),
        report.count(Class::Review),
        report.breaking_about(About::Facade),
        report.count(Class::ToDo)
    );
    let verdict = if !judgement.is_breaking() && report.count(Class::ToDo) > 0 {
        "not breaking (the facade's status table has edits to do)"
    } else if !judgement.is_breaking() {
        "not breaking"
    } else if report.count(Class::Review) > 0
        && report.count(Class::Breaking) == 0
        && !judgement.build.failed()
    {
        "TO REVIEW (a change could not be classified)"
    } else {
        "BREAKING"
    };
    let build = verify::describe(&judgement.build, &new_name.replace('`', ""));
    let (old_name, new_name) = match format {
        Format::Markdown => (old_name.to_string(), new_name.to_string()),
        Format::Text => (old_name.replace('`', ""), new_name.replace('`', "")),
    };
    let arrow = match format {
        Format::Markdown => "→",
        Format::Text => "->",
    };
    if format == Format::Markdown {
        let _ = writeln!(out, "## Spec changes\n");
    }
    if report.is_empty() {
        let _ = writeln!(out, "{old_name} {arrow} {new_name}: no changes to the API.");
    } else {
        let _ = writeln!(out, "{old_name} {arrow} {new_name}: {totals}.");
    }
    let _ = writeln!(out, "Verdict: {verdict}.");
    let _ = write!(out, "{build}");
    for group in &report.groups {
        match format {
            Format::Markdown => {
                let _ = writeln!(out, "\n### {}\n", group.title);
                if let Some(used_by) = &group.used_by {
                    if used_by.is_empty() {
                        let _ = writeln!(out, "Used by no operation.\n");
                    } else {
                        let _ = writeln!(out, "Used by {}.\n", used_by.join(", "));
                    }
                }
                let _ = writeln!(out, "| Change | Wire | Rust | Facade | Why |");
                let _ = writeln!(out, "|---|---|---|---|---|");
                for row in &group.rows {
                    let class = match row.class {
                        Class::Breaking => "**breaking**",
                        Class::Review => "**review**",
                        Class::ToDo => "to do",
                        Class::NotBreaking => "no",
                    };
                    let columns = match row.about {
                        About::Wire => [class, "", ""],
                        About::Rust => ["", class, ""],
                        About::Facade => ["", "", class],
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} |",
                        cell(&row.change),
                        columns.join(" | "),
                        cell(&row.why)
                    );
                }
            }
            Format::Text => {
                let _ = writeln!(out, "\n{}", group.title.replace('`', ""));
                if let Some(used_by) = &group.used_by {
                    if used_by.is_empty() {
                        let _ = writeln!(out, "  (used by no operation)");
                    } else {
                        let _ = writeln!(out, "  (used by {})", used_by.join(", "));
                    }
                }
                for row in &group.rows {
                    let class = match row.class {
                        Class::Breaking => "BREAKING",
                        Class::Review => "REVIEW",
                        Class::ToDo => "TO DO",
                        Class::NotBreaking => "ok",
                    };
                    let about = match row.about {
                        About::Wire => "wire",
                        About::Rust => "Rust",
                        About::Facade => "facade",
                    };
                    let _ = writeln!(
                        out,
                        "  {:<15}  {}: {}",
                        format!("{class} {about}"),
                        row.change.replace('`', ""),
                        row.why.replace('`', "")
                    );
                }
            }
        }
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
