//! What the upkeep commands (`settings`, `window`, `enable`, `disable`,
//! `apply`, `run`) report, in the shapes their JSON forms promise. Built
//! from the facade's types rather than serializing them, so that the
//! command's documents stay as `plex-butler schema` describes them when the
//! library grows.

use std::time::{Duration, SystemTime};

use plex_butler::{ButlerSettings, MaintenanceWindow, SettingValue, StepOutcome, StepReport};
use schemars::JsonSchema;
use serde::Serialize;

use crate::failure::Failure;
use crate::output::{ErrorInfo, Outcome};
use crate::record::CurrentStep;

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
}

impl From<plex_butler::SettingChange> for SettingChange {
    fn from(change: plex_butler::SettingChange) -> Self {
        Self {
            setting: change.setting,
            from: change.from,
            to: change.to,
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

/// `2025-01-01T03:00:00Z`: UTC, whole seconds.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// A duration in whole milliseconds.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
