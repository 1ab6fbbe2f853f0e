//! What a Butler task is, and the task lists of known servers.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// One Butler task as the server is configured with it.
///
/// Build one with [`TaskSpec::new`] and the chainable setters, or with a
/// struct literal. Every field but `name` has a default: daily, not
/// randomized, enabled, no title or description, the simulator's run
/// duration, never run.
///
/// ```
/// use plex_butler_sim::TaskSpec;
/// let weekly = TaskSpec::new("OptimizeDatabase").interval_days(7).enabled(false);
/// assert_eq!(weekly.interval_days, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// The task's name, as `GET /butler` lists it and `/butler/{task}` takes
    /// it (compared exactly, case included).
    pub name: String,
    /// Days between runs: 1 daily, 3 every three days, 7 weekly. 0 means the
    /// task is due whenever it is asked to start.
    pub interval_days: u32,
    /// Whether the task runs at a random time within the maintenance window
    /// (`scheduleRandomized`).
    pub randomized: bool,
    /// Whether the task is enabled in the server's settings. For a task
    /// with a `ButlerTask<Name>` switch, the switch's value at start; the
    /// switch decides from then on (see the crate's "Settings").
    pub enabled: bool,
    /// A user-friendly title; most tasks of a real server have none.
    pub title: Option<String>,
    /// A user-friendly description; most tasks of a real server have none.
    pub description: Option<String>,
    /// How long one run takes; `None` uses the simulator's
    /// [`task_duration`](crate::SimulatorBuilder::task_duration).
    pub duration: Option<Duration>,
    /// When the task last finished a run, if ever. Decides whether it is due.
    pub last_run: Option<DateTime<Utc>>,
}

impl TaskSpec {
    /// A daily, enabled, non-randomized task that has never run.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            interval_days: 1,
            randomized: false,
            enabled: true,
            title: None,
            description: None,
            duration: None,
            last_run: None,
        }
    }

    /// Sets the days between runs.
    #[must_use]
    pub fn interval_days(mut self, days: u32) -> Self {
        self.interval_days = days;
        self
    }

    /// Sets whether the task runs at a random time within the window.
    #[must_use]
    pub fn randomized(mut self, randomized: bool) -> Self {
        self.randomized = randomized;
        self
    }

    /// Sets whether the task is enabled.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets how long one run of this task takes.
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Sets when the task last finished a run.
    #[must_use]
    pub fn last_run(mut self, at: DateTime<Utc>) -> Self {
        self.last_run = Some(at);
        self
    }
}

/// A ready-made task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Preset {
    /// The 23 tasks of a real Plex Media Server 1.43.2, with the intervals,
    /// flags, titles and descriptions it reported (only `BackupDatabase` has
    /// a title and description). The default.
    #[default]
    Pms1_43_2,
    /// The 14 task names of Plex's legacy documentation: `BackupDatabase`
    /// every 3 days; `OptimizeDatabase`, `CleanOldBundles` and
    /// `CleanOldCacheFiles` weekly; the others daily. All enabled, none
    /// randomized, no titles.
    Legacy,
}

impl Preset {
    /// The preset's tasks, in the order the server lists them.
    pub fn tasks(self) -> Vec<TaskSpec> {
        match self {
            Preset::Pms1_43_2 => PMS_1_43_2
                .iter()
                .map(|&(name, interval, randomized, enabled)| {
                    let task = TaskSpec::new(name)
                        .interval_days(interval)
                        .randomized(randomized)
                        .enabled(enabled);
                    if name == "BackupDatabase" {
                        task.title("Backup Database").description(
                            "Create a backup copy of the server's database in the configured backup directory",
                        )
                    } else {
                        task
                    }
                })
                .collect(),
            Preset::Legacy => LEGACY
                .iter()
                .map(|&(name, interval)| TaskSpec::new(name).interval_days(interval))
                .collect(),
        }
    }

    /// The preset's name on the command line: `pms-1.43.2` or `legacy`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Pms1_43_2 => "pms-1.43.2",
            Preset::Legacy => "legacy",
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pms-1.43.2" => Ok(Preset::Pms1_43_2),
            "legacy" => Ok(Preset::Legacy),
            _ => Err(format!(
                "unknown preset {s:?}: expected \"pms-1.43.2\" or \"legacy\""
            )),
        }
    }
}

/// (name, interval in days, randomized, enabled), as PMS 1.43.2 lists them.
const PMS_1_43_2: [(&str, u32, bool, bool); 23] = [
    ("AutomaticUpdates", 1, false, false),
    ("BackupDatabase", 3, false, true),
    ("ButlerTaskCleanSupplementalLogFiles", 1, false, false),
    ("ButlerTaskGenerateAdMarkers", 1, false, false),
    ("ButlerTaskGenerateCreditsMarkers", 1, true, true),
    ("ButlerTaskGenerateIntroMarkers", 1, false, true),
    ("ButlerTaskGenerateVoiceActivity", 1, true, false),
    ("CleanOldBundles", 7, false, true),
    ("CleanOldCacheFiles", 7, false, true),
    ("DeepMediaAnalysis", 1, false, true),
    ("GarbageCollectBlobs", 7, false, true),
    ("GarbageCollectLibraryMedia", 1, false, true),
    ("GenerateChapterThumbs", 1, false, true),
    ("GenerateMediaIndexFiles", 1, false, false),
    ("LoudnessAnalysis", 1, false, true),
    ("MusicAnalysis", 1, false, true),
    ("OptimizeDatabase", 7, false, true),
    ("ProcessAssets", 1, false, true),
    ("RefreshEpgGuides", 1, true, true),
    ("RefreshLibraries", 1, false, false),
    ("RefreshLocalMedia", 3, false, true),
    ("RefreshPeriodicMetadata", 1, true, true),
    ("UpgradeMediaAnalysis", 1, false, true),
];

/// (name, interval in days) of the legacy documentation's tasks.
const LEGACY: [(&str, u32); 14] = [
    ("BackupDatabase", 3),
    ("BuildGracenoteCollections", 1),
    ("CheckForUpdates", 1),
    ("CleanOldBundles", 7),
    ("CleanOldCacheFiles", 7),
    ("DeepMediaAnalysis", 1),
    ("GenerateAutoTags", 1),
    ("GenerateChapterThumbs", 1),
    ("GenerateMediaIndexFiles", 1),
    ("OptimizeDatabase", 7),
    ("RefreshLibraries", 1),
    ("RefreshLocalMedia", 1),
    ("RefreshPeriodicMetadata", 1),
    ("UpgradeMediaAnalysis", 1),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_preset_has_23_tasks_and_one_title() {
        let tasks = Preset::Pms1_43_2.tasks();
        assert_eq!(tasks.len(), 23);
        let titled: Vec<_> = tasks.iter().filter(|t| t.title.is_some()).collect();
        assert_eq!(titled.len(), 1);
        assert_eq!(titled[0].name, "BackupDatabase");
    }

    #[test]
    fn the_legacy_preset_has_14_tasks_with_weekly_maintenance() {
        let tasks = Preset::Legacy.tasks();
        assert_eq!(tasks.len(), 14);
        let weekly: Vec<_> = tasks
            .iter()
            .filter(|t| t.interval_days == 7)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(
            weekly,
            ["CleanOldBundles", "CleanOldCacheFiles", "OptimizeDatabase"]
        );
    }

    #[test]
    fn presets_parse_from_their_names() {
        for preset in [Preset::Pms1_43_2, Preset::Legacy] {
            assert_eq!(preset.name().parse::<Preset>(), Ok(preset));
        }
        assert!("pms".parse::<Preset>().is_err());
    }
}
