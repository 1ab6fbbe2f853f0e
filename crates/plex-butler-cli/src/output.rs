//! The `--output json` documents, and their schema (`plex-butler schema`).
//!
//! Every run prints exactly one document, errors included: a form per
//! command, whose `error` says what went wrong after the fields that show
//! what was done before; `servers` when several profiles ran; `error` for a
//! command line that could not be read.

use std::io::{self, Write};

use plex_butler::{Activity, Sessions, StartOutcome, StopOutcome, Task, WaitProgress, WaitReport};
use schemars::JsonSchema;
use serde::Serialize;

use crate::reports::{SettingChange, SettingsView, StepResult, SwitchResult, WindowView};

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
        /// What became of each task's switch.
        tasks: Vec<SwitchResult>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler disable`: as `enable`.
    Disable {
        /// What became of each task's switch.
        tasks: Vec<SwitchResult>,
        /// What went wrong, when something did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
    },
    /// `plex-butler run`: a report per step, in order; after Ctrl-C or
    /// `--deadline`, the steps so far.
    Run {
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
    /// Any command run against several profiles at once: one document per
    /// server, in the order of the profiles.
    Servers {
        /// The exit code of the run: the highest of the servers'.
        exit_code: u8,
        /// What happened on each server.
        servers: Vec<ServerDocument>,
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

/// What went wrong; stderr says the same in words.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorInfo {
    /// The kind of error, for programs.
    pub kind: ErrorKind,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The exit code it gives.
    pub exit_code: u8,
}

/// The kinds of error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A bad flag, task name syntax or command line (exit code 2).
    Usage,
    /// The config file, a token file or a profile is unusable (exit code 2).
    Config,
    /// The server refused the token (exit code 3).
    Unauthorized,
    /// A task name the server does not know (exit code 4).
    UnknownTask,
    /// A task the server's settings have no switch for, so that it cannot
    /// be turned on or off (exit code 4).
    NoTaskSwitch,
    /// No connection could be made, or it broke off (exit code 5).
    Unreachable,
    /// The server did not answer within `--timeout` (exit code 5).
    Timeout,
    /// `--wait-timeout` passed with Butler work still running (exit code 5).
    WaitTimedOut,
    /// `--deadline` passed (exit code 5).
    Deadline,
    /// Ctrl-C (exit code 130); the server's work goes on.
    Interrupted,
    /// The server answered with an unexpected status (exit code 1).
    Server,
    /// The server's answer could not be read (exit code 1).
    Decode,
    /// Anything else (exit code 1).
    Other,
}

/// A task as `list` and `show` print it: the server's fields and whether it
/// runs now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListedTask {
    /// The task as the server lists it.
    #[serde(flatten)]
    pub task: Task,
    /// Whether it runs now, from the server's activities.
    pub run_state: RunState,
    /// How far its run is, in percent, when it runs and the server says.
    pub progress: Option<u8>,
}

/// Whether a task runs now, as the server's activities tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// A Butler activity names it.
    Running,
    /// No Butler activity runs.
    NotRunning,
    /// Butler work runs that names no task (a server may show one activity
    /// for all of it), or the activities could not be read.
    Unknown,
}

impl RunState {
    /// The words people read.
    pub fn words(self, progress: Option<u8>) -> String {
        match (self, progress) {
            (RunState::Running, Some(percent)) => format!("yes ({percent}%)"),
            (RunState::Running, None) => "yes".into(),
            (RunState::NotRunning, _) => "no".into(),
            (RunState::Unknown, _) => "?".into(),
        }
    }
}

/// Pairs each task with whether it runs, as the facade reads the
/// activities ([`plex_butler::RunState::of_tasks`]); `None` for the
/// activities: they could not be read, and every task's state is unknown.
pub fn listed(tasks: Vec<Task>, activities: Option<&[Activity]>) -> Vec<ListedTask> {
    let states = match activities {
        Some(activities) => plex_butler::RunState::of_tasks(&tasks, activities),
        None => vec![plex_butler::RunState::Unknown; tasks.len()],
    };
    tasks
        .into_iter()
        .zip(states)
        .map(|(task, state)| {
            let (run_state, progress) = match state {
                plex_butler::RunState::Running { progress } => (RunState::Running, progress),
                plex_butler::RunState::NotRunning => (RunState::NotRunning, None),
                // Unknown, and any state a later facade adds.
                _ => (RunState::Unknown, None),
            };
            ListedTask {
                task,
                run_state,
                progress,
            }
        })
        .collect()
}

/// How `--wait` ended.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WaitSummary {
    /// `true` when no Butler activity was left; `false` when
    /// `--wait-timeout` or `--deadline` passed first, or the wait was
    /// interrupted (`error` says which).
    pub done: bool,
    /// `true` when Ctrl-C stopped the wait (exit code 130). The server's
    /// work goes on.
    pub interrupted: bool,
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
            interrupted: false,
            saw_activity: report.saw_activity,
            elapsed_ms: millis(report.elapsed),
            activities: report.seen.clone(),
        }
    }

    /// A wait that stopped before the work ended: `running` is what the
    /// last look saw.
    pub fn stopped(waited: std::time::Duration, running: &[Activity], interrupted: bool) -> Self {
        Self {
            done: false,
            interrupted,
            saw_activity: !running.is_empty(),
            elapsed_ms: millis(waited),
            activities: running.to_vec(),
        }
    }

    /// A wait stopped from outside (Ctrl-C, `--deadline`) after `last`.
    pub fn cut_short(
        waited: std::time::Duration,
        last: Option<&WaitProgress>,
        interrupted: bool,
    ) -> Self {
        let running = last.map(|p| p.activities.as_slice()).unwrap_or_default();
        Self::stopped(waited, running, interrupted)
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What happened to one task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
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
}

impl From<StartOutcome> for Outcome {
    fn from(outcome: StartOutcome) -> Self {
        match outcome {
            StartOutcome::AlreadyRunning => Outcome::AlreadyRunning,
            // Started, and any outcome a later facade adds: the task was
            // asked to start and the server took it.
            _ => Outcome::Started,
        }
    }
}

impl From<StopOutcome> for Outcome {
    fn from(outcome: StopOutcome) -> Self {
        match outcome {
            StopOutcome::NotRunning => Outcome::NotRunning,
            _ => Outcome::Stopped,
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
