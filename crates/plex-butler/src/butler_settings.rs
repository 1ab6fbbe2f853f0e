//! The Butler's own settings, typed: its maintenance window, the switch of
//! each task, the `*Behavior` settings of the analysis tasks, and the
//! backup and update settings.

use std::collections::HashMap;
use std::fmt;

use crate::{Client, Error, Setting, SettingValue, TaskName};

const START_HOUR: &str = MaintenanceWindow::START_SETTING;
const END_HOUR: &str = MaintenanceWindow::END_SETTING;
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
/// Made from two hours, or parsed from `START-END` (`"23-4"`): the same
/// rule of hours holds for both.
///
/// ```
/// use plex_butler::MaintenanceWindow;
///
/// let window = MaintenanceWindow::new(23, 4)?;
/// assert!(window.spans_midnight());
/// assert_eq!(window.to_string(), "23:00-04:00");
/// assert_eq!("23-4".parse::<MaintenanceWindow>()?, window);
/// assert!(MaintenanceWindow::new(2, 24).is_err());
/// assert!("2-24".parse::<MaintenanceWindow>().is_err());
/// # Ok::<(), plex_butler::WindowError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct MaintenanceWindow {
    start_hour: u8,
    end_hour: u8,
}

/// Why a [`MaintenanceWindow`] cannot be made: an hour that is not a
/// whole hour from 0 to 23, or text that is not `START-END`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// The start hour, as given, is not a whole hour from 0 to 23.
    #[error("{0:?} is not an hour from 0 to 23")]
    StartHour(String),
    /// The end hour, as given, is not a whole hour from 0 to 23.
    #[error("{0:?} is not an hour from 0 to 23")]
    EndHour(String),
    /// The text is not two hours joined by `-`.
    #[error("give START-END, two hours from 0 to 23, such as 1-6 or 22-4")]
    NotStartEnd,
}

/// The one rule of the window's hours: whole hours from 0 to 23.
fn hour(value: u32) -> Option<u8> {
    u8::try_from(value).ok().filter(|h| (0..=23).contains(h))
}

impl MaintenanceWindow {
    /// The id of the setting that holds the hour the window starts.
    pub const START_SETTING: &str = "ButlerStartHour";
    /// The id of the setting that holds the hour the window ends.
    pub const END_SETTING: &str = "ButlerEndHour";

    /// A window from `start_hour` to `end_hour`, each 0 to 23. A start
    /// later than the end spans midnight. (Equal hours are accepted; what
    /// the server makes of them is not documented.)
    ///
    /// # Errors
    ///
    /// [`WindowError::StartHour`] or [`WindowError::EndHour`] for an
    /// hour past 23.
    pub fn new(start_hour: u32, end_hour: u32) -> Result<Self, WindowError> {
        let start = hour(start_hour).ok_or_else(|| WindowError::StartHour(start_hour.to_string()));
        let end = hour(end_hour).ok_or_else(|| WindowError::EndHour(end_hour.to_string()));
        Ok(Self {
            start_hour: start?,
            end_hour: end?,
        })
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

impl std::str::FromStr for MaintenanceWindow {
    type Err = WindowError;

    /// Reads `START-END`, two whole hours from 0 to 23 (`1-6`, `22-4`,
    /// ` 0 - 23 `).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (start, end) = text.split_once('-').ok_or(WindowError::NotStartEnd)?;
        let read = |part: &str| part.trim().parse::<u32>().ok();
        let (start, end) = (start.trim(), end.trim());
        match (read(start), read(end)) {
            (None, _) => Err(WindowError::StartHour(start.to_owned())),
            (_, None) => Err(WindowError::EndHour(end.to_owned())),
            (Some(start), Some(end)) => Self::new(start, end),
        }
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
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
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
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
    /// The ids the server lists more than once, the same but for case,
    /// by their lowercase form: a change touching one is refused
    /// ([`Error::AmbiguousSetting`]).
    #[serde(skip)]
    #[cfg_attr(feature = "schemars", schemars(skip))]
    ambiguous: HashMap<String, Vec<String>>,
}

/// The ids listed more than once, the same but for case, by their
/// lowercase form, each group in the server's order.
fn ambiguous_ids(settings: &[Setting]) -> HashMap<String, Vec<String>> {
    let mut by_id: HashMap<String, Vec<String>> = HashMap::with_capacity(settings.len());
    for setting in settings {
        by_id
            .entry(setting.id.to_ascii_lowercase())
            .or_default()
            .push(setting.id.clone());
    }
    by_id.retain(|_, ids| ids.len() > 1);
    by_id
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
            ambiguous: ambiguous_ids(settings),
        }
    }

    /// The value these settings hold for a Butler setting they read: an
    /// hour of the window, a task's switch, the backup directory, the
    /// update policy or channel. `None` for another id, or one the server
    /// did not list (or not as its kind).
    pub fn held(&self, id: &str) -> Option<SettingValue> {
        let hour = |h: fn(&MaintenanceWindow) -> u8| {
            self.window
                .as_ref()
                .map(|w| SettingValue::Int(i64::from(h(w))))
        };
        let text = |t: &Option<String>| t.clone().map(SettingValue::Text);
        match id {
            START_HOUR => hour(MaintenanceWindow::start_hour),
            END_HOUR => hour(MaintenanceWindow::end_hour),
            BACKUP_DIRECTORY => text(&self.backup_directory),
            UPDATE_POLICY => text(&self.update_policy),
            UPDATE_CHANNEL => text(&self.update_channel),
            _ => self
                .tasks
                .iter()
                .find(|s| s.setting == id)
                .map(|s| SettingValue::Bool(s.enabled)),
        }
    }

    /// The switch of a task, if it has one and it can be told apart; see
    /// [`ButlerSettings::switch_for`].
    pub fn switch(&self, task: &TaskName) -> Option<&TaskSwitch> {
        self.switch_for(task).ok()
    }

    /// The switch of a task: the one rule of which setting switches which
    /// task, used by every change this crate makes.
    ///
    /// A task's switch is the bool setting `ButlerTask<Name>` the server
    /// lists (`GET /:/prefs`), whatever `GET /butler` lists: some servers
    /// keep switches of tasks their task list no longer names
    /// (`ButlerTaskReverseGeocode`, `ButlerTaskGenerateAutoTags`). The
    /// name is matched without regard to ASCII case (`optimizedatabase`
    /// finds `ButlerTaskOptimizeDatabase`), as the server's task names are.
    ///
    /// # Errors
    ///
    /// [`Error::NoTaskSwitch`], naming the tasks that have one, when no
    /// switch matches; [`Error::AmbiguousSetting`] when the switch's id is
    /// listed more than once, the same but for case (even one that
    /// matches the name exactly: which one the server would change is
    /// unknown).
    pub fn switch_for(&self, task: &TaskName) -> Result<&TaskSwitch, Error> {
        let found = self
            .tasks
            .iter()
            .find(|s| s.task.as_str().eq_ignore_ascii_case(task.as_str()));
        self.checked_switch(task, found, None)
    }

    /// A switch found for `task`, refused when missing or ambiguous.
    fn checked_switch<'a>(
        &'a self,
        task: &TaskName,
        found: Option<&'a TaskSwitch>,
        secret: Option<&str>,
    ) -> Result<&'a TaskSwitch, Error> {
        let Some(switch) = found else {
            return Err(Error::NoTaskSwitch {
                task: task.clone(),
                switchable: self.tasks.iter().map(|s| s.task.clone()).collect(),
            });
        };
        self.unambiguous(&switch.setting, secret)?;
        Ok(switch)
    }

    /// Refuses an id the server lists more than once, the same but for
    /// case ([`Error::AmbiguousSetting`]). The ids are shown with `secret`
    /// (the client's token) blanked out: they are the server's words.
    fn unambiguous(&self, id: &str, secret: Option<&str>) -> Result<(), Error> {
        match self.ambiguous.get(&id.to_ascii_lowercase()) {
            None => Ok(()),
            Some(ids) => Err(Error::AmbiguousSetting {
                ids: ids
                    .iter()
                    .map(|id| crate::response::excerpt(id.as_bytes(), secret))
                    .collect(),
            }),
        }
    }

    /// The changes of settings that bring these settings to `desired`:
    /// both hours of the window when it differs (as a pair, so that two
    /// clients changing it at once leave one window, not a mix), then each
    /// task's switch that differs, in the order the tasks were given (a task
    /// given twice, the same but for case, with the same value counts
    /// once; with two values it is refused). Empty when the settings
    /// match.
    /// Pass them to [`Client::set_settings`] to make them, in one
    /// request; [`Client::change_butler_settings`] does both.
    ///
    /// ```
    /// use plex_butler::{ButlerSettings, DesiredSettings, MaintenanceWindow, TaskName};
    ///
    /// # fn plan(settings: &ButlerSettings) -> Result<(), Box<dyn std::error::Error>> {
    /// let desired = DesiredSettings::new()
    ///     .window(MaintenanceWindow::new(1, 6)?)
    ///     .task(TaskName::OptimizeDatabase, false);
    /// for change in settings.changes_to(&desired)? {
    ///     println!("{change}"); // "ButlerStartHour: 2 -> 1"
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Each task's switch is found as [`ButlerSettings::switch_for`]
    /// finds it.
    ///
    /// # Errors
    ///
    /// [`Error::ConflictingTaskSwitches`] for a task wanted both on and
    /// off (see [`DesiredSettings::task`]);
    /// [`Error::NoTaskSwitch`] for the first task that has no switch
    /// among these settings; [`Error::AmbiguousSetting`] when a setting
    /// the change reads or would send (either hour of the window, a
    /// task's switch) is listed more than once, the same but for case.
    pub fn changes_to(&self, desired: &DesiredSettings) -> Result<Vec<SettingChange>, Error> {
        self.changes_shown_with(desired, None)
    }

    /// [`ButlerSettings::changes_to`], the server's ids in its errors
    /// shown with `secret` (the client's token) blanked out.
    fn changes_shown_with(
        &self,
        desired: &DesiredSettings,
        secret: Option<&str>,
    ) -> Result<Vec<SettingChange>, Error> {
        desired.check()?;
        let mut changes = Vec::new();
        if let Some(wanted) = desired.window {
            self.unambiguous(START_HOUR, secret)?;
            self.unambiguous(END_HOUR, secret)?;
            let hours = [
                (
                    START_HOUR,
                    wanted.start_hour,
                    self.window.map(|w| w.start_hour),
                ),
                (END_HOUR, wanted.end_hour, self.window.map(|w| w.end_hour)),
            ];
            // The window is sent as a pair whenever it changes: two
            // clients setting windows at once then leave one of them, not
            // the start of one and the end of the other.
            let window_changes = self.window != Some(wanted);
            for (setting, wanted, now) in hours {
                if window_changes {
                    changes.push(SettingChange {
                        setting: setting.to_owned(),
                        task: None,
                        from: now.map(|h| SettingValue::Int(i64::from(h))),
                        to: SettingValue::Int(i64::from(wanted)),
                    });
                }
            }
        }
        // By name, so that a desired state of many tasks is read in time in
        // proportion to its size; found as `switch_for` finds them.
        let mut switches = HashMap::with_capacity(self.tasks.len());
        for switch in &self.tasks {
            switches
                .entry(switch.task.as_str().to_ascii_lowercase())
                .or_insert(switch);
        }
        let mut seen = std::collections::HashSet::with_capacity(desired.tasks.len());
        for (task, enabled) in &desired.tasks {
            let key = task.as_str().to_ascii_lowercase();
            let found = switches.get(&key).copied();
            if !seen.insert(key) {
                continue;
            }
            let switch = self.checked_switch(task, found, secret)?;
            if switch.enabled != *enabled {
                changes.push(SettingChange {
                    setting: switch.setting.clone(),
                    task: Some(switch.task.clone()),
                    from: Some(SettingValue::Bool(switch.enabled)),
                    to: SettingValue::Bool(*enabled),
                });
            }
        }
        Ok(changes)
    }
}

/// What the Butler's settings should be: a maintenance window and task
/// switches, any of them. What [`ButlerSettings::changes_to`] and
/// [`Client::change_butler_settings`] compare with the server's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use = "a desired state changes nothing until compared or applied"]
pub struct DesiredSettings {
    window: Option<MaintenanceWindow>,
    tasks: Vec<(TaskName, bool)>,
}

impl DesiredSettings {
    /// Nothing in particular: no change.
    pub fn new() -> Self {
        Self::default()
    }

    /// The maintenance window.
    pub fn window(mut self, window: MaintenanceWindow) -> Self {
        self.window = Some(window);
        self
    }

    /// A task's switch: on (`true`) or off. Task names are matched
    /// without regard to case: the same task given twice with the same
    /// value is one wish, with two values it is refused
    /// ([`Error::ConflictingTaskSwitches`]) when the settings are
    /// compared or applied.
    pub fn task(mut self, task: impl Into<TaskName>, enabled: bool) -> Self {
        self.tasks.push((task.into(), enabled));
        self
    }

    /// Several tasks' switches, in order; see [`DesiredSettings::task`].
    pub fn tasks<T: Into<TaskName>>(mut self, tasks: impl IntoIterator<Item = (T, bool)>) -> Self {
        self.tasks
            .extend(tasks.into_iter().map(|(task, on)| (task.into(), on)));
        self
    }

    /// Refuses a task wanted both on and off, the same but for case
    /// ([`Error::ConflictingTaskSwitches`]): the one rule for a desired
    /// state, whoever builds it.
    fn check(&self) -> Result<(), Error> {
        let mut wanted: HashMap<String, (&TaskName, bool)> =
            HashMap::with_capacity(self.tasks.len());
        for (task, enabled) in &self.tasks {
            let key = task.as_str().to_ascii_lowercase();
            match wanted.get(&key) {
                Some((first, on)) if on != enabled => {
                    return Err(Error::ConflictingTaskSwitches {
                        first: (*first).clone(),
                        second: task.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    wanted.insert(key, (task, *enabled));
                }
            }
        }
        Ok(())
    }
}

/// One setting to change, from its value on the server to the one
/// wanted: what [`ButlerSettings::changes_to`] finds. Its `Display` is
/// `ButlerStartHour: 2 -> 1`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SettingChange {
    /// The setting's id, such as `ButlerStartHour`.
    pub setting: String,
    /// The task whose switch this is; `None` for the window's hours.
    pub task: Option<TaskName>,
    /// The value on the server; `None` when it holds none that reads as
    /// its kind.
    pub from: Option<SettingValue>,
    /// The value wanted.
    pub to: SettingValue,
}

impl fmt::Display for SettingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.from {
            Some(from) => write!(f, "{}: {from} -> {}", self.setting, self.to),
            None => write!(f, "{}: - -> {}", self.setting, self.to),
        }
    }
}

/// A setting that does not hold the value a change asked for, as read
/// back after the change: what [`Error::SettingsNotApplied`] lists. Its
/// `Display` is `ButlerStartHour = 2 (asked 1)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SettingMismatch {
    /// The setting's id, such as `ButlerStartHour`.
    pub setting: String,
    /// The value the change asked for.
    pub asked: SettingValue,
    /// The value the server holds now; `None` when it no longer lists
    /// the setting.
    pub held: Option<SettingValue>,
}

impl fmt::Display for SettingMismatch {
    /// The id and the value held are the server's: kept escaped, cut
    /// short and with the token blanked out, as other excerpts of answers
    /// are (see `mismatches`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let setting = &self.setting;
        match &self.held {
            Some(held) => write!(f, "{setting} = {held} (asked {})", self.asked),
            None => write!(f, "no {setting} at all (asked {})", self.asked),
        }
    }
}

/// What [`Client::change_butler_settings`] did: the changes it sent, and
/// the Butler's settings before them and as the server holds them after.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct AppliedSettings {
    /// The changes sent, from the values read before to those asked;
    /// empty when the settings already matched (nothing was sent).
    pub changes: Vec<SettingChange>,
    /// The settings as read before the change.
    pub before: ButlerSettings,
    /// The settings as the server holds them after the change, read back
    /// (the same as `before` when nothing was sent). Every change holds
    /// here: one that does not is [`Error::SettingsNotApplied`].
    pub settings: ButlerSettings,
}

/// The changes that do not hold in `held`, the server's settings read
/// back. A value holds when it is sent as the one asked would be (a
/// flag read from `1` holds `true`; an hour the server types as text
/// holds as its digits). The server's id and value are kept as excerpts,
/// `secret` (the client's token) blanked out: a value read back may echo
/// it.
fn mismatches(
    changes: &[SettingChange],
    held: &[Setting],
    secret: Option<&str>,
) -> Vec<SettingMismatch> {
    let shown = |text: &str| crate::response::excerpt(text.as_bytes(), secret);
    changes
        .iter()
        .filter_map(|change| {
            let now = held
                .iter()
                .find(|s| s.id == change.setting)
                .map(|s| &s.value);
            let holds = now.is_some_and(|now| now.to_string() == change.to.to_string());
            (!holds).then(|| SettingMismatch {
                setting: shown(&change.setting),
                asked: change.to.clone(),
                held: now.map(|now| match now {
                    SettingValue::Text(text) => SettingValue::Text(shown(text)),
                    other => other.clone(),
                }),
            })
        })
        .collect()
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

    /// Moves the maintenance window, as [`Client::change_butler_settings`]
    /// does: both hours in one change when it differs, nothing when it
    /// does not, then read back. Returns the window the server holds.
    ///
    /// # Errors
    ///
    /// As [`Client::change_butler_settings`].
    pub async fn set_window(&self, window: MaintenanceWindow) -> Result<MaintenanceWindow, Error> {
        let applied = self
            .change_butler_settings(&DesiredSettings::new().window(window))
            .await?;
        // Both hours were read back as asked (or already were), so the
        // server's window is this one.
        Ok(applied.settings.window.unwrap_or(window))
    }

    /// Switches one task on or off (its `ButlerTask<Name>` setting). A
    /// task that is off is not run on schedule, nor by
    /// [`Client::start_all`]; [`Client::start`] still starts it.
    ///
    /// Reads the settings first, to find the task's switch
    /// ([`ButlerSettings::switch_for`]), and again after the change, as
    /// [`Client::change_butler_settings`] does. Returns the switch as the
    /// server holds it.
    ///
    /// # Errors
    ///
    /// [`Error::NoTaskSwitch`], before anything is changed, for a task
    /// that has no switch among the server's settings: some have none
    /// (`AutomaticUpdates`, `ButlerTaskCleanSupplementalLogFiles`,
    /// `ProcessAssets`, ...) and cannot be switched; the analysis tasks
    /// have a `*Behavior` setting instead. Otherwise those of
    /// [`Client::change_butler_settings`].
    pub async fn set_task_enabled(
        &self,
        task: impl Into<TaskName>,
        enabled: bool,
    ) -> Result<TaskSwitch, Error> {
        let task = task.into();
        let applied = self.set_tasks_enabled([(task.clone(), enabled)]).await?;
        applied.settings.switch_for(&task).cloned()
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
    ) -> Result<AppliedSettings, Error> {
        self.change_butler_settings(&DesiredSettings::new().tasks(tasks))
            .await
    }

    /// Brings the Butler's settings to `desired`: reads them
    /// ([`Client::butler_settings`]), finds what differs
    /// ([`ButlerSettings::changes_to`]), changes that in one request
    /// ([`Client::set_settings`]), then reads the settings back and
    /// checks that each one changed holds the value asked. Nothing is
    /// sent, nor read back, when nothing differs. Returns the changes and
    /// the settings the server holds ([`AppliedSettings`]), so that what
    /// is reported is the server's state, not the request.
    ///
    /// A server that answers 200 and changes nothing (or a proxy that
    /// answers 200 with its login page) is caught by the reading back.
    /// So is another client changing one of the same settings in
    /// between: the change is then not done as asked either, and the
    /// error says what the server holds.
    ///
    /// # Errors
    ///
    /// [`Error::ConflictingTaskSwitches`], before anything is read, for a
    /// task wanted both on and off;
    /// [`Error::NoTaskSwitch`], before anything is changed, for a task
    /// without a switch; [`Error::AmbiguousSetting`], before anything is
    /// changed, when a setting to read or change is listed twice, the same
    /// but for case (or, found on reading back, the same after the
    /// change); [`Error::SettingsNotApplied`] when a setting read back
    /// does not hold the value asked; otherwise those of
    /// [`Client::settings`] and [`Client::set_settings`]. An error of the
    /// reading back says nothing of whether the change was made.
    pub async fn change_butler_settings(
        &self,
        desired: &DesiredSettings,
    ) -> Result<AppliedSettings, Error> {
        desired.check()?;
        let secret = self.secret();
        let before = self.butler_settings().await?;
        let changes = before.changes_shown_with(desired, secret)?;
        if changes.is_empty() {
            return Ok(AppliedSettings {
                changes,
                settings: before.clone(),
                before,
            });
        }
        self.set_settings(
            changes
                .iter()
                .map(|change| (change.setting.as_str(), change.to.clone())),
        )
        .await?;
        let held = self.settings().await?;
        let settings = ButlerSettings::from_settings(&held);
        for change in &changes {
            settings.unambiguous(&change.setting, secret)?;
        }
        let mismatches = mismatches(&changes, &held, secret);
        if !mismatches.is_empty() {
            return Err(Error::SettingsNotApplied { mismatches });
        }
        Ok(AppliedSettings {
            changes,
            before,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_as_two_hours_and_refuse_anything_else_saying_which_part() {
        let parse = |text: &str| text.parse::<MaintenanceWindow>();
        assert_eq!(parse("1-6"), MaintenanceWindow::new(1, 6));
        assert_eq!(parse(" 0 - 23 "), MaintenanceWindow::new(0, 23));
        assert!(parse("22-4").is_ok_and(|w| w.spans_midnight()));
        for bad in ["", "5", "1:00-6:00", "a-b"] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(parse("6"), Err(WindowError::NotStartEnd));
        assert_eq!(parse("-1-6"), Err(WindowError::StartHour(String::new())));
        assert_eq!(parse("1-6-7"), Err(WindowError::EndHour("6-7".into())));
        assert_eq!(parse("24-1"), Err(WindowError::StartHour("24".into())));
        assert_eq!(parse("1-24"), Err(WindowError::EndHour("24".into())));
        assert_eq!(
            WindowError::EndHour("24".into()).to_string(),
            "\"24\" is not an hour from 0 to 23"
        );
    }

    fn settings() -> ButlerSettings {
        let setting = |id: &str, value: SettingValue| Setting {
            id: id.into(),
            label: String::new(),
            summary: String::new(),
            kind: match value {
                SettingValue::Bool(_) => crate::SettingKind::Bool,
                _ => crate::SettingKind::Int,
            },
            default: value.clone(),
            value,
            hidden: false,
            advanced: false,
            group: "butler".into(),
            choices: Vec::new(),
        };
        ButlerSettings::from_settings(&[
            setting(START_HOUR, SettingValue::Int(2)),
            setting(END_HOUR, SettingValue::Int(5)),
            setting("ButlerTaskBackupDatabase", SettingValue::Bool(true)),
            setting("ButlerTaskOptimizeDatabase", SettingValue::Bool(true)),
        ])
    }

    #[test]
    fn a_desired_state_of_twenty_thousand_tasks_is_compared_in_time_in_proportion_to_its_size() {
        let tasks: Vec<TaskSwitch> = (0..20_000)
            .map(|i| TaskSwitch {
                task: TaskName::from(format!("Task{i}")),
                setting: format!("ButlerTaskTask{i}"),
                enabled: true,
            })
            .collect();
        let butler = ButlerSettings {
            tasks,
            ..settings()
        };
        let desired = (0..20_000).fold(DesiredSettings::new(), |d, i| {
            d.task(TaskName::from(format!("Task{i}")), i % 2 == 0)
        });
        let started = std::time::Instant::now();
        let changes = butler
            .changes_to(&desired)
            .expect("every task has a switch");
        assert_eq!(changes.len(), 10_000);
        // Comparing each task with every other took many seconds.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_changes_to_a_desired_state_are_the_window_as_a_pair_and_the_switches_that_differ() {
        let butler = settings();
        let desired = DesiredSettings::new()
            .window(MaintenanceWindow::new(2, 6).expect("hours"))
            .task(TaskName::OptimizeDatabase, false)
            .task(TaskName::BackupDatabase, true)
            .task(TaskName::OptimizeDatabase, false);
        let changes = butler.changes_to(&desired).expect("switches exist");
        let conflicting = desired.clone().task("optimizedatabase", true);
        assert!(matches!(
            butler.changes_to(&conflicting),
            Err(Error::ConflictingTaskSwitches { .. })
        ));
        let said: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "ButlerStartHour: 2 -> 2",
                "ButlerEndHour: 5 -> 6",
                "ButlerTaskOptimizeDatabase: true -> false"
            ]
        );
        assert_eq!(changes[0].task, None);
        assert_eq!(changes[2].task, Some(TaskName::OptimizeDatabase));
        let same = DesiredSettings::new()
            .window(MaintenanceWindow::default())
            .task(TaskName::BackupDatabase, true);
        assert_eq!(butler.changes_to(&same).map(|c| c.len()).ok(), Some(0));
    }

    #[test]
    fn a_desired_task_without_a_switch_refuses_the_lot() {
        let desired = DesiredSettings::new()
            .task(TaskName::OptimizeDatabase, false)
            .task(TaskName::AutomaticUpdates, false);
        let refused = settings().changes_to(&desired);
        assert!(
            matches!(&refused, Err(Error::NoTaskSwitch { task, switchable })
                if *task == TaskName::AutomaticUpdates && switchable.len() == 2),
            "{refused:?}"
        );
    }

    #[test]
    fn a_switch_is_found_among_the_settings_without_regard_to_case_and_held_values_read() {
        let butler = settings();
        let lower = TaskName::from("optimizedatabase".to_string());
        let found = butler.switch_for(&lower).map(|s| s.setting.as_str());
        assert_eq!(found.ok(), Some("ButlerTaskOptimizeDatabase"));
        let changes = butler
            .changes_to(&DesiredSettings::new().task(lower, false))
            .expect("the switch is found");
        assert_eq!(changes[0].task, Some(TaskName::OptimizeDatabase));
        assert_eq!(butler.held(START_HOUR), Some(SettingValue::Int(2)));
        assert_eq!(
            butler.held("ButlerTaskBackupDatabase"),
            Some(SettingValue::Bool(true))
        );
        assert_eq!(butler.held("FriendlyName"), None);
    }

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
