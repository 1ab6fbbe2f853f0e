//! The pieces of what a command reports, in the shapes its JSON forms
//! promise (`plex-butler schema`) and its tables show. Built from the
//! facade's types rather than serializing them, so that the command's
//! documents stay as the schema describes them when the library grows.

use std::time::{Duration, Instant, SystemTime};

use plex_butler::{
    Activity, ButlerSettings, MaintenanceWindow, SettingValue, StartOutcome, StepOutcome,
    StepReport, StopOutcome, Task, WaitProgress, WaitReport,
};
use schemars::JsonSchema;
use serde::Serialize;

use crate::failure::{ErrorInfo, Failure};
use crate::text::{millis, rfc3339, rfc3339_millis};

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
    /// `true` when Ctrl-C (exit code 130), SIGTERM (143) or SIGHUP (129)
    /// stopped the wait. The server's work goes on.
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
    pub fn stopped(waited: Duration, running: &[Activity], interrupted: bool) -> Self {
        Self {
            done: false,
            interrupted,
            saw_activity: !running.is_empty(),
            elapsed_ms: millis(waited),
            activities: running.to_vec(),
        }
    }

    /// A wait stopped from outside (Ctrl-C, `--deadline`) after `last`.
    pub fn cut_short(waited: Duration, last: Option<&WaitProgress>, interrupted: bool) -> Self {
        let running = last.map(|p| p.activities.as_slice()).unwrap_or_default();
        Self::stopped(waited, running, interrupted)
    }
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

/// The maintenance window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct WindowView {
    /// The hour the Butler starts, 0 to 23, in the server's local time.
    pub start_hour: u8,
    /// The hour it stops, 0 to 23.
    pub end_hour: u8,
    /// Whether the window runs past midnight (its start is later than its
    /// end).
    pub spans_midnight: bool,
}

impl From<MaintenanceWindow> for WindowView {
    fn from(window: MaintenanceWindow) -> Self {
        Self {
            start_hour: window.start_hour(),
            end_hour: window.end_hour(),
            spans_midnight: window.spans_midnight(),
        }
    }
}

impl WindowView {
    /// `02:00-05:00`, with `(spans midnight)` when it does.
    pub fn words(&self) -> String {
        let hours = format!("{:02}:00-{:02}:00", self.start_hour, self.end_hour);
        if self.spans_midnight {
            format!("{hours} (spans midnight)")
        } else {
            hours
        }
    }
}

/// The Butler's settings, as `settings` shows them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SettingsView {
    /// The maintenance window; null when the server has no usable
    /// `ButlerStartHour` and `ButlerEndHour`.
    pub window: Option<WindowView>,
    /// One switch per task that has one (`ButlerTask<Name>`), in the
    /// server's order. A task missing here cannot be switched on or off.
    pub tasks: Vec<SwitchView>,
    /// The `*Behavior` settings of the analysis tasks (`never`,
    /// `scheduled`, `asap`), in the server's order.
    pub behaviors: Vec<BehaviorView>,
    /// Where database backups go (`ButlerDatabaseBackupPath`).
    pub backup_directory: Option<String>,
    /// Whether updates are installed during maintenance
    /// (`ButlerTaskUpdateServer`: `askme` or `always`).
    pub update_policy: Option<String>,
    /// The update channel (`ButlerUpdateChannel`: `0` public, `8` beta).
    pub update_channel: Option<String>,
}

/// A task's switch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SwitchView {
    /// The task's name.
    pub name: String,
    /// The setting that switches it, such as `ButlerTaskBackupDatabase`.
    pub setting: String,
    /// Whether the Butler runs it.
    pub enabled: bool,
}

/// A `*Behavior` setting.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BehaviorView {
    /// The setting's id, such as `GenerateBIFBehavior`.
    pub setting: String,
    /// The task it governs, as read from the setting's name (no source
    /// states it); null when that is not known.
    pub task: Option<String>,
    /// `never`, `scheduled`, `asap`, or another value the server holds.
    pub value: String,
}

impl From<&ButlerSettings> for SettingsView {
    fn from(settings: &ButlerSettings) -> Self {
        Self {
            window: settings.window.map(WindowView::from),
            tasks: settings
                .tasks
                .iter()
                .map(|s| SwitchView {
                    name: s.task.to_string(),
                    setting: s.setting.clone(),
                    enabled: s.enabled,
                })
                .collect(),
            behaviors: settings
                .behaviors
                .iter()
                .map(|b| BehaviorView {
                    setting: b.setting.clone(),
                    task: b.task.as_ref().map(ToString::to_string),
                    value: b.value.clone(),
                })
                .collect(),
            backup_directory: settings.backup_directory.clone(),
            update_policy: settings.update_policy.clone(),
            update_channel: settings.update_channel.clone(),
        }
    }
}

/// What `enable` or `disable` did to one task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SwitchResult {
    /// The task's name as the server knows it.
    pub task: String,
    /// Its switch, such as `ButlerTaskBackupDatabase`.
    pub setting: String,
    /// Whether it is on now (when `error` is absent).
    pub enabled: bool,
    /// Whether this run changed it (`false`: it was so already).
    pub changed: bool,
}

/// One setting a plan of changes (`apply`) changes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SettingChange {
    /// The setting's id, such as `ButlerStartHour`.
    pub setting: String,
    /// Its value on the server; null when the server does not hold one
    /// that reads as its kind.
    pub from: Option<SettingValue>,
    /// The value the file asks for.
    pub to: SettingValue,
    /// The value the server holds after the change, read back; absent
    /// for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<SettingValue>,
}

impl From<plex_butler::SettingChange> for SettingChange {
    fn from(change: plex_butler::SettingChange) -> Self {
        Self {
            setting: change.setting,
            from: change.from,
            to: change.to,
            held: None,
        }
    }
}

/// One step of `run`, as it went.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepResult {
    /// The task.
    pub task: String,
    /// How the step ended.
    pub outcome: StepState,
    /// What the start answered, when the step got that far.
    pub start: Option<Outcome>,
    /// When the step began (its wait until idle included), RFC 3339, UTC.
    pub started_at: String,
    /// How long it lasted, in milliseconds.
    pub duration_ms: u64,
    /// Whether any Butler work was seen while it ran. `false` with `done`:
    /// the work ended before the first look, or never started.
    pub saw_activity: bool,
    /// Why the step failed or was not started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// How a step of `run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// The task ran, and the Butler work had ended when the step did.
    Done,
    /// The task was running already; the step waited for it to end.
    AlreadyRunning,
    /// The start, or the wait for its end, failed (see `error`).
    Failed,
    /// The server stayed busy (someone watching, or Butler work running)
    /// for the whole `--wait-timeout`: the task was not started.
    NotStartedBusy,
    /// Not run: an earlier step failed, without `--keep-going`.
    Skipped,
    /// Ctrl-C or `--deadline` stopped the run during this step; its work,
    /// if started, goes on.
    Interrupted,
}

impl StepState {
    /// The words people read.
    pub fn words(self) -> &'static str {
        match self {
            StepState::Done => "done",
            StepState::AlreadyRunning => "was running; done",
            StepState::Failed => "failed",
            StepState::NotStartedBusy => "not started (busy)",
            StepState::Skipped => "skipped",
            StepState::Interrupted => "interrupted",
        }
    }
}

impl StepResult {
    /// A step the plan reported; `server` and `timeout` put its error in
    /// this command's terms.
    pub fn from_report(report: &StepReport, server: &str, timeout: Duration) -> Self {
        let (outcome, error) = match &report.outcome {
            StepOutcome::Started => (StepState::Done, None),
            StepOutcome::AlreadyRunning => (StepState::AlreadyRunning, None),
            StepOutcome::Failed(error) => (StepState::Failed, Some(error)),
            StepOutcome::NotStartedBusy(error) => (StepState::NotStartedBusy, Some(error)),
            StepOutcome::Skipped => (StepState::Skipped, None),
            // An outcome a later library adds: its error, if any, says it.
            other => (StepState::Failed, other.error()),
        };
        Self {
            task: report.task.to_string(),
            outcome,
            start: report.start.map(Outcome::from),
            started_at: rfc3339(report.started_at),
            duration_ms: millis(report.duration),
            saw_activity: report.saw_activity,
            error: error.map(|e| Failure::of_call(e, server, timeout).info()),
        }
    }

    /// The step under way when the run was stopped from outside, with
    /// what it got to: a script must not start again a task that runs.
    pub fn interrupted(step: &CurrentStep) -> Self {
        Self {
            task: step.task.clone(),
            outcome: StepState::Interrupted,
            start: step.start,
            started_at: rfc3339(step.started_at),
            duration_ms: millis(step.started.elapsed()),
            saw_activity: step.saw_activity,
            error: None,
        }
    }
}

/// A step of `run` under way.
#[derive(Debug)]
pub struct CurrentStep {
    /// Its task.
    pub task: String,
    /// When it began.
    pub started: Instant,
    /// When it began, by the wall clock.
    pub started_at: SystemTime,
    /// What the start answered, once it did: a step cut short while it
    /// waits for its work was started all the same.
    pub start: Option<Outcome>,
    /// Whether its Butler work was seen running.
    pub saw_activity: bool,
}

impl CurrentStep {
    /// A step that has just begun: not started, nothing seen.
    pub fn new(task: impl Into<String>) -> Self {
        Self {
            task: task.into(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            start: None,
            saw_activity: false,
        }
    }
}

/// One line of `watch` (JSON Lines: one object per line): which server
/// it is about, and what happened there.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WatchLine {
    /// The profile, when several profiles are watched at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The server's base URL.
    pub server: String,
    /// What happened.
    #[serde(flatten)]
    pub record: WatchRecord,
}

/// What a line of `watch` says; `event` says which.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchRecord {
    /// An activity started (or, `live` false, was found running when the
    /// stream (re)connected: it started earlier).
    Started {
        /// When it was seen, RFC 3339, UTC.
        at: String,
        /// The activity as the server showed it. A server may show one
        /// activity for all its Butler work ("Butler tasks"), not one per
        /// task.
        activity: Activity,
        /// Whether the server's event said it (`false`: found after a
        /// (re)connect).
        live: bool,
    },
    /// An activity ended: the whole record of its run, as far as seen.
    Ended {
        /// The activity's id.
        uuid: String,
        /// The activity as last seen, when any event carried it.
        activity: Option<Activity>,
        /// When it was first seen (its start when `start_seen_live`), RFC
        /// 3339, UTC; null when it was never seen running.
        started: Option<String>,
        /// When its end was seen (for a reconciled end: when it was found
        /// gone; it ended earlier), RFC 3339, UTC.
        ended: String,
        /// From `started` to `ended`, in milliseconds; null without
        /// `started`.
        duration_ms: Option<u64>,
        /// Its last progress, in percent, when known.
        last_progress: Option<u8>,
        /// The subtitles it showed, in order, repeats in a row dropped.
        subtitles: Vec<String>,
        /// Whether its start came as a live event.
        start_seen_live: bool,
        /// Whether its end came as a live event.
        end_seen_live: bool,
        /// `true` when its end was not seen live but found by reading the
        /// activities after the stream was lost and opened again.
        reconciled: bool,
    },
    /// The stream was lost and opened again; what changed meanwhile is
    /// reported before this line (`live` false, `reconciled` true).
    Reconnected {
        /// When, RFC 3339, UTC.
        at: String,
        /// How many times the stream tried to open again so far, failed
        /// attempts included.
        reconnects: u32,
    },
    /// `--until-idle`: no Butler work is left; the watch ends.
    Idle {
        /// When, RFC 3339, UTC.
        at: String,
    },
    /// The watch of this server ended on an error (or was interrupted);
    /// the exit code says so.
    Error {
        /// What went wrong.
        error: ErrorInfo,
    },
}

impl WatchRecord {
    /// The start of `activity`, seen `live` or not, now.
    pub fn started(activity: &Activity, live: bool) -> Self {
        Self::Started {
            at: rfc3339_millis(SystemTime::now()),
            activity: activity.clone(),
            live,
        }
    }

    /// The record of an ended activity.
    pub fn ended(ended: &plex_butler::EndedActivity) -> Self {
        Self::Ended {
            uuid: ended.uuid.clone(),
            activity: ended.activity.clone(),
            started: ended.started.map(rfc3339_millis),
            ended: rfc3339_millis(ended.ended),
            duration_ms: ended.duration.map(millis),
            last_progress: ended.last_progress,
            subtitles: ended.subtitles.clone(),
            start_seen_live: ended.start_seen_live,
            end_seen_live: ended.end_seen_live,
            reconciled: !ended.end_seen_live,
        }
    }

    /// The stream opened again, now.
    pub fn reconnected(reconnects: u32) -> Self {
        Self::Reconnected {
            at: rfc3339_millis(SystemTime::now()),
            reconnects,
        }
    }

    /// No Butler work left, now.
    pub fn idle() -> Self {
        Self::Idle {
            at: rfc3339_millis(SystemTime::now()),
        }
    }
}
