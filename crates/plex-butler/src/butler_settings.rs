//! The Butler's own settings, typed: its maintenance window, the switch of
//! each task, the `*Behavior` settings of the analysis tasks, and the
//! backup and update settings.

use std::fmt;

use crate::{Client, Error, Setting, SettingValue, TaskName};

const START_HOUR: &str = "ButlerStartHour";
const END_HOUR: &str = "ButlerEndHour";
/// A per-task switch is the bool setting `ButlerTask<Name>`.
const SWITCH_PREFIX: &str = "ButlerTask";
const BACKUP_DIRECTORY: &str = "ButlerDatabaseBackupPath";
const UPDATE_POLICY: &str = "ButlerTaskUpdateServer";
const UPDATE_CHANNEL: &str = "ButlerUpdateChannel";

/// Which task each `*Behavior` setting governs. No source states it: it is
/// read from the names (`GenerateBIFBehavior` generates the index files,
/// "BIF" being their format).
const BEHAVIORS: [(&str, TaskName); 8] = [
    ("GenerateBIFBehavior", TaskName::GenerateMediaIndexFiles),
    (
        "GenerateChapterThumbBehavior",
        TaskName::GenerateChapterThumbs,
    ),
    ("LoudnessAnalysisBehavior", TaskName::LoudnessAnalysis),
    ("MusicAnalysisBehavior", TaskName::MusicAnalysis),
    (
        "GenerateIntroMarkerBehavior",
        TaskName::ButlerTaskGenerateIntroMarkers,
    ),
    (
        "GenerateCreditsMarkerBehavior",
        TaskName::ButlerTaskGenerateCreditsMarkers,
    ),
    (
        "GenerateAdMarkerBehavior",
        TaskName::ButlerTaskGenerateAdMarkers,
    ),
    (
        "GenerateVADBehavior",
        TaskName::ButlerTaskGenerateVoiceActivity,
    ),
];

/// The daily hours in which the Butler runs its tasks
/// (`ButlerStartHour`, `ButlerEndHour`), in the server's local time.
///
/// ```
/// use plex_butler::MaintenanceWindow;
///
/// let window = MaintenanceWindow::new(23, 4)?;
/// assert!(window.spans_midnight());
/// assert_eq!(window.to_string(), "23:00-04:00");
/// assert!(MaintenanceWindow::new(2, 24).is_err());
/// # Ok::<(), plex_butler::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, schemars::JsonSchema)]
pub struct MaintenanceWindow {
    start_hour: u8,
    end_hour: u8,
}

impl MaintenanceWindow {
    /// A window from `start_hour` to `end_hour`, each 0 to 23. A start
    /// later than the end spans midnight. (Equal hours are accepted; what
    /// the server makes of them is not documented.)
    ///
    /// # Errors
    ///
    /// [`Error::InvalidWindow`] for an hour past 23.
    pub fn new(start_hour: u32, end_hour: u32) -> Result<Self, Error> {
        let hour = |h: u32| u8::try_from(h).ok().filter(|h| *h <= 23);
        match (hour(start_hour), hour(end_hour)) {
            (Some(start_hour), Some(end_hour)) => Ok(Self {
                start_hour,
                end_hour,
            }),
            _ => Err(Error::InvalidWindow {
                start_hour,
                end_hour,
            }),
        }
    }

    /// The hour the window starts, 0 to 23.
    pub fn start_hour(&self) -> u8 {
        self.start_hour
    }

    /// The hour the window ends, 0 to 23.
    pub fn end_hour(&self) -> u8 {
        self.end_hour
    }

    /// Whether the window runs past midnight (its start is later than its
    /// end).
    pub fn spans_midnight(&self) -> bool {
        self.start_hour > self.end_hour
    }
}

impl Default for MaintenanceWindow {
    /// The server's defaults: 2 to 5.
    fn default() -> Self {
        Self {
            start_hour: 2,
            end_hour: 5,
        }
    }
}

impl fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:00-{:02}:00", self.start_hour, self.end_hour)
    }
}

/// A task's switch: whether the Butler runs it (`ButlerTask<Name>`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TaskSwitch {
    /// The task it switches, `<Name>` of the setting's id.
    pub task: TaskName,
    /// The setting's id, such as `ButlerTaskBackupDatabase`.
    pub setting: String,
    /// Whether the task is on.
    pub enabled: bool,
}

/// A three-way `*Behavior` setting of an analysis task: `never`,
/// `scheduled` (during maintenance), or `asap` (during maintenance and
/// when media is added).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TaskBehavior {
    /// The setting's id, such as `GenerateBIFBehavior`.
    pub setting: String,
    /// The task it governs, as read from the setting's name (no source
    /// states it): `GenerateBIFBehavior` is `GenerateMediaIndexFiles`,
    /// `GenerateChapterThumbBehavior` `GenerateChapterThumbs`,
    /// `LoudnessAnalysisBehavior` `LoudnessAnalysis`,
    /// `MusicAnalysisBehavior` `MusicAnalysis`, and the marker and voice
    /// activity settings the `ButlerTaskGenerate...` tasks. `None` for a
    /// `*Behavior` setting of the `library` group this crate does not
    /// know.
    pub task: Option<TaskName>,
    /// The current value: `never`, `scheduled`, `asap`, or another the
    /// server lists.
    pub value: String,
}

/// The Butler's settings, typed: what [`Client::butler_settings`] reads.
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ButlerSettings {
    /// The maintenance window; `None` when the server lacks either hour
    /// or its value is not an hour.
    pub window: Option<MaintenanceWindow>,
    /// One switch per `ButlerTask<Name>` flag the server has, in its
    /// order. A task missing here cannot be switched on or off.
    pub tasks: Vec<TaskSwitch>,
    /// The `*Behavior` settings, in the server's order.
    pub behaviors: Vec<TaskBehavior>,
    /// Where database backups go (`ButlerDatabaseBackupPath`).
    pub backup_directory: Option<String>,
    /// Whether updates are installed during maintenance
    /// (`ButlerTaskUpdateServer`: `askme` or `always`).
    pub update_policy: Option<String>,
    /// The update channel (`ButlerUpdateChannel`: `0` public, `8` beta).
    pub update_channel: Option<String>,
}

impl ButlerSettings {
    /// Reads the Butler's settings out of all of a server's settings.
    pub fn from_settings(settings: &[Setting]) -> Self {
        let find = |id: &str| settings.iter().find(|s| s.id == id);
        let text = |id: &str| find(id).map(|s| s.value.to_string());
        let hour = |id: &str| match find(id).map(|s| &s.value) {
            Some(SettingValue::Int(h)) => u32::try_from(*h).ok(),
            _ => None,
        };
        let window = match (hour(START_HOUR), hour(END_HOUR)) {
            (Some(start), Some(end)) => MaintenanceWindow::new(start, end).ok(),
            _ => None,
        };
        let tasks = settings
            .iter()
            .filter_map(|s| {
                let enabled = s.value.as_bool()?;
                let task = s.id.strip_prefix(SWITCH_PREFIX)?.parse().ok()?;
                Some(TaskSwitch {
                    task,
                    setting: s.id.clone(),
                    enabled,
                })
            })
            .collect();
        let behaviors = settings
            .iter()
            .filter(|s| s.id.ends_with("Behavior"))
            .filter(|s| s.group == "library" || BEHAVIORS.iter().any(|(id, _)| *id == s.id))
            .map(|s| TaskBehavior {
                setting: s.id.clone(),
                task: BEHAVIORS
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map(|(_, task)| task.clone()),
                value: s.value.to_string(),
            })
            .collect();
        Self {
            window,
            tasks,
            behaviors,
            backup_directory: text(BACKUP_DIRECTORY),
            update_policy: text(UPDATE_POLICY),
            update_channel: text(UPDATE_CHANNEL),
        }
    }

    /// The switch of a task, if it has one.
    pub fn switch(&self, task: &TaskName) -> Option<&TaskSwitch> {
        self.tasks.iter().find(|s| &s.task == task)
    }
}

impl Client {
    /// Reads the Butler's settings, typed ([`ButlerSettings`]): one
    /// [`Client::settings`] call.
    ///
    /// # Errors
    ///
    /// As [`Client::settings`].
    pub async fn butler_settings(&self) -> Result<ButlerSettings, Error> {
        Ok(ButlerSettings::from_settings(&self.settings().await?))
    }

    /// Moves the maintenance window: both hours in one change.
    ///
    /// # Errors
    ///
    /// As [`Client::set_settings`].
    pub async fn set_window(&self, window: MaintenanceWindow) -> Result<(), Error> {
        self.set_settings([
            (START_HOUR, u32::from(window.start_hour)),
            (END_HOUR, u32::from(window.end_hour)),
        ])
        .await
    }

    /// Switches one task on or off (its `ButlerTask<Name>` setting). A
    /// task that is off is not run on schedule, nor by
    /// [`Client::start_all`]; [`Client::start`] still starts it.
    ///
    /// Reads the settings first, to find the task's switch.
    ///
    /// # Errors
    ///
    /// [`Error::NoTaskSwitch`], before anything is changed, for a task
    /// that has no switch among the server's settings: some have none
    /// (`AutomaticUpdates`, `ButlerTaskCleanSupplementalLogFiles`,
    /// `ProcessAssets`, ...) and cannot be switched; the analysis tasks
    /// have a `*Behavior` setting instead. Otherwise those of
    /// [`Client::settings`] and [`Client::set_settings`].
    pub async fn set_task_enabled(
        &self,
        task: impl Into<TaskName>,
        enabled: bool,
    ) -> Result<(), Error> {
        self.set_tasks_enabled([(task.into(), enabled)]).await
    }

    /// Switches several tasks on or off in one change; see
    /// [`Client::set_task_enabled`]. A task without a switch refuses the
    /// lot before anything is changed.
    ///
    /// # Errors
    ///
    /// As [`Client::set_task_enabled`].
    pub async fn set_tasks_enabled<T: Into<TaskName>>(
        &self,
        tasks: impl IntoIterator<Item = (T, bool)>,
    ) -> Result<(), Error> {
        let tasks: Vec<(TaskName, bool)> =
            tasks.into_iter().map(|(t, on)| (t.into(), on)).collect();
        if tasks.is_empty() {
            return Ok(());
        }
        let butler = self.butler_settings().await?;
        let mut changes = Vec::with_capacity(tasks.len());
        for (task, enabled) in tasks {
            let Some(switch) = butler.switch(&task) else {
                return Err(Error::NoTaskSwitch {
                    task,
                    switchable: butler.tasks.iter().map(|s| s.task.clone()).collect(),
                });
            };
            changes.push((switch.setting.clone(), enabled));
        }
        self.set_settings(changes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_past_23_are_refused_and_a_late_start_spans_midnight() {
        assert!(MaintenanceWindow::new(24, 5).is_err());
        assert!(MaintenanceWindow::new(2, u32::MAX).is_err());
        let night = MaintenanceWindow::new(2, 5).ok();
        assert_eq!(night, Some(MaintenanceWindow::default()));
        assert!(night.is_some_and(|w| !w.spans_midnight()));
        assert!(MaintenanceWindow::new(22, 1).is_ok_and(|w| w.spans_midnight()));
    }
}
