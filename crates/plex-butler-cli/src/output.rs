//! What the commands print: tables for people, JSON for programs.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use plex_butler::{Activity, StartOutcome, StopOutcome, Task, WaitReport};
use schemars::JsonSchema;
use serde::Serialize;

/// Every `--output json` document. `command` says which form it is.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "command", rename_all = "kebab-case")]
#[schemars(title = "plex-butler --output json")]
pub enum JsonOutput {
    /// `plex-butler list`: the server's tasks, sorted by name.
    List {
        /// The tasks.
        tasks: Vec<Task>,
    },
    /// `plex-butler start`: what happened to each task, in the order given.
    Start {
        /// One entry per task named.
        results: Vec<TaskResult>,
        /// With `--wait`: how the wait ended.
        #[serde(skip_serializing_if = "Option::is_none")]
        wait: Option<WaitSummary>,
    },
    /// `plex-butler stop`: what happened to each task, in the order given.
    Stop {
        /// One entry per task named.
        results: Vec<TaskResult>,
    },
    /// `plex-butler start-all`: the server accepted the request.
    StartAll {
        /// The server's base URL.
        server: String,
        /// With `--wait`: how the wait ended.
        #[serde(skip_serializing_if = "Option::is_none")]
        wait: Option<WaitSummary>,
    },
    /// `plex-butler stop-all`: the server stopped its tasks and cleared its queue.
    StopAll {
        /// The server's base URL.
        server: String,
    },
    /// `plex-butler activities`: what the server is working on, in its order.
    Activities {
        /// The activities; Butler tasks have the type `butler`.
        activities: Vec<Activity>,
    },
}

/// How `--wait` ended.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WaitSummary {
    /// `true` when no Butler activity was left; `false` when --wait-timeout
    /// passed first (the exit code is then 5).
    pub done: bool,
    /// Whether any Butler activity was seen. `false` with `done`: the work
    /// ended before the first look, or never started; the server's answers
    /// do not tell which.
    pub saw_activity: bool,
    /// How long the wait took, in milliseconds.
    pub elapsed_ms: u64,
    /// Every Butler activity seen, each as last seen. A server may show one
    /// activity for all its Butler work rather than one per task.
    pub activities: Vec<Activity>,
}

impl WaitSummary {
    /// A wait that ended with no Butler work left.
    pub fn done(report: &WaitReport) -> Self {
        Self {
            done: true,
            saw_activity: report.saw_activity,
            elapsed_ms: millis(report.elapsed),
            activities: report.seen.clone(),
        }
    }

    /// A wait that ran out of time with `running` still running.
    pub fn timed_out(waited: std::time::Duration, running: &[Activity]) -> Self {
        Self {
            done: false,
            saw_activity: !running.is_empty(),
            elapsed_ms: millis(waited),
            activities: running.to_vec(),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What happened to one task.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskResult {
    /// The task's name as the server knows it.
    pub task: String,
    /// The outcome.
    pub outcome: Outcome,
}

/// The outcome of starting or stopping one task.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The task started.
    Started,
    /// The task was already running; nothing changed.
    AlreadyRunning,
    /// The task was stopped, or removed from the schedule.
    Stopped,
    /// The task was neither running nor scheduled; nothing changed.
    NotRunning,
}

impl Outcome {
    /// The words people read.
    pub fn words(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::AlreadyRunning => "already running",
            Outcome::Stopped => "stopped",
            Outcome::NotRunning => "not running",
        }
    }

    fn style(self) -> Style {
        match self {
            Outcome::Started | Outcome::Stopped => AnsiColor::Green.on_default(),
            Outcome::AlreadyRunning | Outcome::NotRunning => AnsiColor::Yellow.on_default(),
        }
    }
}

impl From<StartOutcome> for Outcome {
    fn from(outcome: StartOutcome) -> Self {
        match outcome {
            StartOutcome::Started => Outcome::Started,
            StartOutcome::AlreadyRunning => Outcome::AlreadyRunning,
        }
    }
}

impl From<StopOutcome> for Outcome {
    fn from(outcome: StopOutcome) -> Self {
        match outcome {
            StopOutcome::Stopped => Outcome::Stopped,
            StopOutcome::NotRunning => Outcome::NotRunning,
        }
    }
}

/// The JSON Schema of every `--output json` form.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(JsonOutput)).unwrap_or_default()
}

/// Prints one JSON document and a newline.
pub fn print_json(out: &mut impl Write, value: &JsonOutput) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// A readable name for a task the server gives no title: its identifier
/// with the `ButlerTask` prefix dropped and words split at capitals
/// (`ButlerTaskGenerateAdMarkers` -> `Generate Ad Markers`).
pub fn readable_name(name: &str) -> String {
    let core = name
        .strip_prefix("ButlerTask")
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name);
    let mut words = String::with_capacity(core.len() + 8);
    let chars: Vec<char> = core.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase()
                || chars.get(i + 1).is_some_and(|next| next.is_lowercase())
                    && chars[i - 1].is_uppercase());
        if boundary {
            words.push(' ');
        }
        words.push(c);
    }
    words
}

/// The task list as aligned columns, sorted by name.
pub fn print_table(out: &mut impl Write, tasks: &[Task]) -> io::Result<()> {
    let header = ["NAME", "TITLE", "ENABLED", "EVERY", "RANDOMIZED"];
    let rows: Vec<[String; 5]> = tasks
        .iter()
        .map(|task| {
            let name = task.name.to_string();
            let title = task
                .title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| readable_name(&name));
            let every = match task.interval_days {
                1 => "1 day".to_string(),
                n => format!("{n} days"),
            };
            [
                name,
                sanitize(&title),
                yes_no(task.enabled).into(),
                every,
                yes_no(task.schedule_randomized).into(),
            ]
        })
        .collect();
    print_columns(out, header, &rows)
}

/// The activities as aligned columns, in the server's order.
pub fn print_activities(out: &mut impl Write, activities: &[Activity]) -> io::Result<()> {
    if activities.is_empty() {
        return writeln!(out, "no activities: the server is idle");
    }
    let header = ["UUID", "TYPE", "TITLE", "SUBTITLE", "PROGRESS"];
    let rows: Vec<[String; 5]> = activities
        .iter()
        .map(|activity| {
            [
                sanitize(&activity.uuid),
                sanitize(&activity.kind),
                sanitize(&activity.title),
                sanitize(&activity.subtitle),
                match activity.progress {
                    Some(percent) => format!("{percent}%"),
                    None => "unknown".to_string(),
                },
            ]
        })
        .collect();
    print_columns(out, header, &rows)
}

/// Rows under a bold header, each column as wide as its widest cell.
fn print_columns(out: &mut impl Write, header: [&str; 5], rows: &[[String; 5]]) -> io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let bold = Style::new().bold();
    write_row(out, &header.map(String::from), &widths, Some(bold))?;
    for row in rows {
        write_row(out, row, &widths, None)?;
    }
    Ok(())
}

fn write_row(
    out: &mut impl Write,
    cells: &[String; 5],
    widths: &[usize; 5],
    style: Option<Style>,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            line.push_str(cell);
        } else {
            let pad = width.saturating_sub(cell.chars().count());
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', pad + 2));
        }
    }
    match style {
        Some(style) => writeln!(out, "{style}{line}{style:#}"),
        None => writeln!(out, "{line}"),
    }
}

/// One line per task result: `BackupDatabase: started`.
pub fn print_results(out: &mut impl Write, results: &[TaskResult]) -> io::Result<()> {
    for result in results {
        let style = result.outcome.style();
        writeln!(
            out,
            "{}: {style}{}{style:#}",
            sanitize(&result.task),
            result.outcome.words()
        )?;
    }
    Ok(())
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// Text from the server, made safe for a terminal: control characters
/// (escape sequences among them) are shown escaped, not obeyed.
pub fn sanitize(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_names_split_words_and_drop_the_butler_prefix() {
        assert_eq!(readable_name("BackupDatabase"), "Backup Database");
        assert_eq!(
            readable_name("ButlerTaskGenerateAdMarkers"),
            "Generate Ad Markers"
        );
        assert_eq!(readable_name("RefreshEpgGuides"), "Refresh Epg Guides");
        assert_eq!(readable_name("CheckForUpdates"), "Check For Updates");
        assert_eq!(readable_name("ButlerTask"), "Butler Task");
        assert_eq!(readable_name("HTTPCleanup"), "HTTP Cleanup");
        assert_eq!(readable_name(""), "");
    }

    #[test]
    fn control_characters_from_the_server_are_escaped() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(sanitize("two\nlines"), "two\\nlines");
    }

    #[test]
    fn schema_names_every_json_form() {
        let schema = schema().to_string();
        for form in [
            "list",
            "start",
            "stop",
            "start-all",
            "stop-all",
            "activities",
        ] {
            assert!(schema.contains(&format!("\"{form}\"")), "{form} missing");
        }
    }
}
