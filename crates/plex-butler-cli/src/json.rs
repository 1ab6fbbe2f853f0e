//! The `--output json` documents, and their schema (`plex-butler schema`).
//!
//! Every run prints exactly one document, errors included: a form per
//! command, whose `error` says what went wrong after the fields that show
//! what was done before; `servers` when several profiles ran; `error` for a
//! command line that could not be read. `watch` alone prints JSON Lines:
//! one compact `watch` document per line, as things happen.

use std::io::{self, Write};

use plex_butler::{Activity, Sessions};
use schemars::JsonSchema;
use serde::Serialize;

use crate::failure::{ErrorInfo, ErrorKind, Failure};
use crate::report::{Part, Report, Wait};
use crate::views::{
    ListedTask, SettingChange, SettingsView, StepResult, SwitchResult, TaskResult, WaitSummary,
    WatchLine, WatchRecord, WindowView,
};

/// Every `--output json` document. `command` says which form it is.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "command", rename_all = "kebab-case")]
#[schemars(title = "plex-butler --output json")]
pub enum JsonOutput {
    /// `plex-butler list`: the server's tasks, sorted by name.
    List {
        /// The tasks; absent when they could not be read (see `error`).
        #[serde(skip_serializing_if = "Option::is_none")]
        tasks: Option<Vec<ListedTask>>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler show TASK`: one task in full.
    Show {
        /// The task; absent when it could not be read (see `error`).
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<ListedTask>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler start`: what happened to each task, in the order given.
    Start {
        /// The server's base URL: the server changed (empty when the
        /// command failed before any server was chosen).
        server: String,
        /// One entry per task acted on; after an error, the ones before it.
        results: Vec<TaskResult>,
        /// With `--wait`: how the wait ended.
        #[serde(skip_serializing_if = "Option::is_none")]
        wait: Option<WaitSummary>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler stop`: what happened to each task, in the order given.
    Stop {
        /// The server's base URL: the server changed (empty when the
        /// command failed before any server was chosen).
        server: String,
        /// One entry per task acted on; after an error, the ones before it.
        results: Vec<TaskResult>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler start-all`: the server accepted the request (unless
    /// `error` says otherwise).
    StartAll {
        /// The server's base URL.
        server: String,
        /// With `--wait`: how the wait ended.
        #[serde(skip_serializing_if = "Option::is_none")]
        wait: Option<WaitSummary>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler stop-all`: the server stopped its tasks and cleared its
    /// queue (unless `error` says otherwise).
    StopAll {
        /// The server's base URL.
        server: String,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler activities`: what the server is working on, in its order.
    Activities {
        /// The activities; Butler tasks have the type `butler`. Absent when
        /// they could not be read (see `error`).
        #[serde(skip_serializing_if = "Option::is_none")]
        activities: Option<Vec<Activity>>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler settings`: the Butler's settings.
    Settings {
        /// The settings; absent when they could not be read (see `error`).
        #[serde(flatten)]
        settings: Option<SettingsView>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler window` and `window set`: the maintenance window.
    Window {
        /// The server's base URL.
        server: String,
        /// The window (after `set`, the one set); absent when it could not
        /// be read, null when the server has none.
        #[serde(skip_serializing_if = "Option::is_none")]
        window: Option<Option<WindowView>>,
        /// `window set`: the window before, when the server had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        previous: Option<WindowView>,
        /// `window set`: whether the server was changed (`false`: the window
        /// was so already, or the change failed).
        #[serde(skip_serializing_if = "Option::is_none")]
        changed: Option<bool>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler enable`: each task named, in the order given; empty when
    /// a name or a switch was refused before any change.
    Enable {
        /// The server's base URL: the server changed (empty when the
        /// command failed before any server was chosen).
        server: String,
        /// What became of each task's switch.
        tasks: Vec<SwitchResult>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler disable`: as `enable`.
    Disable {
        /// The server's base URL: the server changed (empty when the
        /// command failed before any server was chosen).
        server: String,
        /// What became of each task's switch.
        tasks: Vec<SwitchResult>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler run`: a report per step, in order; after Ctrl-C or
    /// `--deadline`, the steps so far.
    Run {
        /// The server's base URL: the server changed (empty when the
        /// command failed before any server was chosen).
        server: String,
        /// The steps.
        steps: Vec<StepResult>,
        /// What went wrong, when something did: the step that failed (the
        /// one with the highest exit code when several did), or what
        /// stopped the run.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler apply FILE`: the plan of changes, and whether it was
    /// applied.
    Apply {
        /// The server's base URL: the server changed (empty when the
        /// command failed before any server was chosen).
        server: String,
        /// The file, as given.
        file: String,
        /// Whether `--dry-run` was given.
        dry_run: bool,
        /// The settings to change, window first; empty when the server
        /// already matches the file. Absent when the plan could not be
        /// made (see `error`).
        #[serde(skip_serializing_if = "Option::is_none")]
        changes: Option<Vec<SettingChange>>,
        /// Whether the changes were made (in one request): `false` for a
        /// dry run, nothing to change, or a failure.
        applied: bool,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler sessions`: what is playing now.
    Sessions {
        /// `count` and `playing`; absent when they could not be read (see
        /// `error`).
        #[serde(flatten)]
        sessions: Option<Sessions>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler watch`: one such object per line (JSON Lines), as
    /// things happen; `event` says what happened, `profile` which profile
    /// when several are watched.
    Watch(WatchLine),
    /// Any command run against several profiles at once: one document per
    /// server, in the order of the profiles.
    Servers {
        /// What happened on each server.
        servers: Vec<ServerDocument>,
        /// The exit code of the run: the highest of the servers'. Last:
        /// the servers are written as they are done, and it is known at
        /// the end.
        exit_code: u8,
    },
    /// The command line could not be read: nothing was done.
    Error {
        /// What is wrong with it.
        error: ErrorInfo,
    },
}

/// What one server of a run over several profiles did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerDocument {
    /// The profile's name.
    pub profile: String,
    /// The server's base URL.
    pub server: String,
    /// The exit code this server alone would have given.
    pub exit_code: u8,
    /// The command's document for this server, as a run against it alone
    /// prints it.
    pub document: JsonOutput,
}

impl JsonOutput {
    /// The document of one server's part.
    pub fn of(part: &Part) -> Self {
        let error = part.failure.as_ref().map(Failure::info);
        let summary = |wait: &Wait| wait.summary.clone();
        match &part.report {
            Report::List { tasks } => Self::List {
                tasks: tasks.clone(),
                error,
            },
            Report::Show { task } => Self::Show {
                task: task.clone(),
                error,
            },
            Report::Start { results, wait } => Self::Start {
                server: part.server.clone(),
                results: results.clone(),
                wait: summary(wait),
                error,
            },
            Report::Stop { results } => Self::Stop {
                server: part.server.clone(),
                results: results.clone(),
                error,
            },
            Report::StartAll { wait, .. } => Self::StartAll {
                server: part.server.clone(),
                wait: summary(wait),
                error,
            },
            Report::StopAll { .. } => Self::StopAll {
                server: part.server.clone(),
                error,
            },
            Report::Activities { activities } => Self::Activities {
                activities: activities.clone(),
                error,
            },
            Report::Settings { settings } => Self::Settings {
                settings: settings.clone(),
                error,
            },
            Report::Window {
                window,
                previous,
                changed,
            } => Self::Window {
                server: part.server.clone(),
                window: *window,
                previous: *previous,
                changed: *changed,
                error,
            },
            Report::Enable { switches } => Self::Enable {
                server: part.server.clone(),
                tasks: switches.clone(),
                error,
            },
            Report::Disable { switches } => Self::Disable {
                server: part.server.clone(),
                tasks: switches.clone(),
                error,
            },
            Report::Apply {
                file,
                dry_run,
                changes,
                applied,
            } => Self::Apply {
                server: part.server.clone(),
                file: file.clone(),
                dry_run: *dry_run,
                changes: changes.clone(),
                applied: *applied,
                error,
            },
            Report::Sessions { sessions } => Self::Sessions {
                sessions: sessions.clone(),
                error,
            },
            Report::Run { steps, .. } => Self::Run {
                server: part.server.clone(),
                steps: steps.clone(),
                error,
            },
            Report::Watch { .. } => Self::Watch(WatchLine {
                profile: None,
                server: part.server.clone(),
                record: WatchRecord::Error {
                    error: error.unwrap_or_else(|| {
                        Failure::new(ErrorKind::Other, "the watch ended").info()
                    }),
                },
            }),
            Report::Nothing => Self::Error {
                error: error
                    .unwrap_or_else(|| Failure::new(ErrorKind::Other, "nothing to report").info()),
            },
        }
    }
}

/// The JSON Schema of every `--output json` form.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(JsonOutput)).unwrap_or_default()
}

/// Prints one JSON document and a newline; a `watch` line compact, on
/// one line.
pub fn print_json(out: &mut impl Write, value: &JsonOutput) -> io::Result<()> {
    if matches!(value, JsonOutput::Watch(_)) {
        let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        return out.flush();
    }
    // Whole, then written at once: stdout is line-buffered, so written
    // piece by piece the document took a system call per line, hundreds
    // of thousands for 1,000 servers and most of such a run's time.
    let mut document = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    document.push(b'\n');
    out.write_all(&document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_every_json_form() {
        let schema = schema().to_string();
        for form in [
            "list",
            "show",
            "start",
            "stop",
            "start-all",
            "stop-all",
            "activities",
            "settings",
            "window",
            "enable",
            "disable",
            "run",
            "apply",
            "sessions",
            "watch",
            "reconciled",
            "no_task_switch",
            "not_started_busy",
            "servers",
            "error",
            "interrupted",
            "run_state",
        ] {
            assert!(schema.contains(&format!("\"{form}\"")), "{form} missing");
        }
    }
}
