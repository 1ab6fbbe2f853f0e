//! The server settings that concern the Butler (`/:/prefs`): the one table
//! of their ids, types and defaults, their current values, and the rules a
//! new value must follow.

use std::collections::BTreeMap;
use std::fmt;

/// A setting's type and default. The type is the default's: they cannot
/// disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultValue {
    Bool(bool),
    Int(i64),
    Text(&'static str),
}

/// One setting as the server describes it.
#[derive(Debug)]
pub(crate) struct Definition {
    pub id: &'static str,
    pub label: &'static str,
    pub summary: &'static str,
    pub default: DefaultValue,
    pub hidden: bool,
    pub advanced: bool,
    pub group: &'static str,
    /// The allowed values, `value:label|value:label`, when the choice is
    /// fixed.
    pub enum_values: Option<&'static str>,
}

impl Definition {
    /// The name the server gives the type.
    pub(crate) fn type_name(&self) -> &'static str {
        match self.default {
            DefaultValue::Bool(_) => "bool",
            DefaultValue::Int(_) => "int",
            DefaultValue::Text(_) => "text",
        }
    }

    /// The values of `enumValues`, without their labels.
    fn choices(&self) -> impl Iterator<Item = &'static str> {
        self.enum_values
            .into_iter()
            .flat_map(|list| list.split('|'))
            .map(|choice| choice.split_once(':').map_or(choice, |(value, _)| value))
    }
}

/// A setting's current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Value {
    fn of(default: DefaultValue) -> Self {
        match default {
            DefaultValue::Bool(b) => Value::Bool(b),
            DefaultValue::Int(n) => Value::Int(n),
            DefaultValue::Text(s) => Value::Text(s.to_owned()),
        }
    }

    /// As the XML answer writes it: `1`/`0`, digits, or the text.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Value::Int(n) => n.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
}

const HOURS: &str = "0:0꞉00|1:1꞉00|2:2꞉00|3:3꞉00|4:4꞉00|5:5꞉00|6:6꞉00|7:7꞉00|8:8꞉00|9:9꞉00|10:10꞉00|11:11꞉00|12:12꞉00|13:13꞉00|14:14꞉00|15:15꞉00|16:16꞉00|17:17꞉00|18:18꞉00|19:19꞉00|20:20꞉00|21:21꞉00|22:22꞉00|23:23꞉00";
const BEHAVIOR: &str =
    "never:never|scheduled:as a scheduled task|asap:as a scheduled task and when media is added";

/// A per-task switch of the `butler` group: on by default, shown, no
/// summary.
const fn switch(id: &'static str, label: &'static str) -> Definition {
    Definition {
        id,
        label,
        summary: "",
        default: DefaultValue::Bool(true),
        hidden: false,
        advanced: false,
        group: "butler",
        enum_values: None,
    }
}

const fn behavior(
    id: &'static str,
    label: &'static str,
    summary: &'static str,
    default: &'static str,
) -> Definition {
    Definition {
        id,
        label,
        summary,
        default: DefaultValue::Text(default),
        hidden: false,
        advanced: false,
        group: "library",
        enum_values: Some(BEHAVIOR),
    }
}

/// Every setting the simulator serves, in the order it lists them.
///
/// From the real server's answer in `fixtures/prefs/prefs-butler.json`
/// (labels, summaries, types, defaults, flags, groups and `enumValues` as
/// it gave them), plus four it did not have:
/// - `ButlerTaskUpdateServer`, as another real server's answer describes it;
/// - `GenerateCreditsMarkerBehavior`, `GenerateAdMarkerBehavior` and
///   `GenerateVADBehavior` of later servers, with the labels and defaults
///   that public references of the server's settings give them.
pub(crate) const TABLE: [Definition; 29] = [
    Definition {
        id: "FriendlyName",
        label: "Friendly name",
        summary: "This name will be used to identify this media server to other computers on your network. If you leave it blank, your computer's name will be used instead.",
        default: DefaultValue::Text(""),
        hidden: false,
        advanced: false,
        group: "general",
        enum_values: None,
    },
    Definition {
        id: "sendCrashReports",
        label: "Send crash reports to Plex",
        summary: "This helps us improve your experience.",
        default: DefaultValue::Bool(true),
        hidden: false,
        advanced: false,
        group: "general",
        enum_values: None,
    },
    Definition {
        id: "ButlerStartHour",
        label: "Time at which tasks start to run",
        summary: "The time at which the server starts running background maintenance tasks.",
        default: DefaultValue::Int(2),
        hidden: false,
        advanced: false,
        group: "butler",
        enum_values: Some(HOURS),
    },
    Definition {
        id: "ButlerEndHour",
        label: "Time at which tasks stop running",
        summary: "The time at which the background maintenance tasks stop running.",
        default: DefaultValue::Int(5),
        hidden: false,
        advanced: false,
        group: "butler",
        enum_values: Some(HOURS),
    },
    switch(
        "ButlerTaskBackupDatabase",
        "Backup database every three days",
    ),
    Definition {
        id: "ButlerDatabaseBackupPath",
        label: "Backup directory",
        summary: "The directory in which database backups are stored.",
        default: DefaultValue::Text(
            "/config/Library/Application Support/Plex Media Server/Plug-in Support/Databases",
        ),
        hidden: false,
        advanced: true,
        group: "butler",
        enum_values: None,
    },
    switch("ButlerTaskOptimizeDatabase", "Optimize database every week"),
    switch("ButlerTaskCleanOldBundles", "Remove old bundles every week"),
    switch(
        "ButlerTaskCleanOldCacheFiles",
        "Remove old cache files every week",
    ),
    switch(
        "ButlerTaskRefreshLocalMedia",
        "Refresh local metadata every three days",
    ),
    Definition {
        default: DefaultValue::Bool(false),
        ..switch(
            "ButlerTaskRefreshLibraries",
            "Update all libraries during maintenance",
        )
    },
    switch(
        "ButlerTaskUpgradeMediaAnalysis",
        "Upgrade media analysis during maintenance",
    ),
    switch(
        "ButlerTaskRefreshPeriodicMetadata",
        "Refresh library metadata periodically",
    ),
    switch(
        "ButlerTaskDeepMediaAnalysis",
        "Perform extensive media analysis during maintenance",
    ),
    Definition {
        hidden: true,
        ..switch(
            "ButlerTaskGarbageCollectBlobs",
            "Perform cleanup on blobs database",
        )
    },
    Definition {
        hidden: true,
        ..switch(
            "ButlerTaskRefreshEpgGuides",
            "Perform refresh of program guide data.",
        )
    },
    switch(
        "ButlerTaskReverseGeocode",
        "Fetch missing location names for items in photo sections",
    ),
    switch("ButlerTaskGenerateAutoTags", "Analyze and tag photos"),
    Definition {
        id: "ButlerUpdateChannel",
        label: "Server update Channel",
        summary: "",
        // Not among its enumValues: the real server said so.
        default: DefaultValue::Text("16"),
        hidden: false,
        advanced: false,
        group: "general",
        enum_values: Some("0:Public|8:Beta"),
    },
    Definition {
        id: "ButlerTaskUpdateServer",
        label: "Server version updates",
        summary: "",
        default: DefaultValue::Text("askme"),
        hidden: false,
        advanced: false,
        group: "general",
        enum_values: Some("askme:Ask me|always:Automatically during scheduled maintenance"),
    },
    Definition {
        id: "ButlerTaskGenerateMediaIndexFiles",
        label: "",
        summary: "",
        default: DefaultValue::Bool(false),
        hidden: true,
        advanced: false,
        group: "",
        enum_values: None,
    },
    behavior(
        "GenerateBIFBehavior",
        "Generate video preview thumbnails",
        "Video preview thumbnails provide live updates in Now Playing and while seeking on supported apps. Thumbnail generation may take a long time, cause high CPU usage, and consume additional disk space. You can turn off thumbnail generation for individual libraries in the library's advanced settings.",
        "never",
    ),
    behavior(
        "GenerateIntroMarkerBehavior",
        "Generate intro video markers",
        "Detects show intros, exposing the 'Skip Intro' button in clients.",
        "asap",
    ),
    behavior(
        "GenerateCreditsMarkerBehavior",
        "Generate credits video markers",
        "Detects movie and episode end credits.",
        "asap",
    ),
    behavior(
        "GenerateAdMarkerBehavior",
        "Generate ad video markers",
        "Detects movie and episode ads.",
        "scheduled",
    ),
    behavior(
        "GenerateVADBehavior",
        "Generate voice activity data",
        "Detects voice activity data for movies and episodes. This is used to help synchronize subtitles to the audio track.",
        "scheduled",
    ),
    behavior(
        "GenerateChapterThumbBehavior",
        "Generate chapter thumbnails",
        "Chapter thumbnails provide images in the chapter view on supported apps. They can take a long time to generate and consume additional disk space.",
        "scheduled",
    ),
    behavior(
        "LoudnessAnalysisBehavior",
        "Analyze audio tracks for loudness",
        "Loudness analysis allows various features, such as loudness leveling and smart transitions. It can take a long time to complete when analyzing many tracks, and cause high CPU usage.",
        "scheduled",
    ),
    behavior(
        "MusicAnalysisBehavior",
        "Analyze audio tracks for sonic features",
        "Sonic analysis allows various features, such as track radio. It can take a long time to complete when analyzing many tracks, and cause high CPU usage.",
        "scheduled",
    ),
];

/// The prefix of a per-task switch: `ButlerTask<Name>` governs the task
/// `<Name>`.
const SWITCH_PREFIX: &str = "ButlerTask";

/// Why a new value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SettingError {
    Unknown(String),
    BadValue {
        id: &'static str,
        value: String,
        expected: String,
    },
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingError::Unknown(id) => write!(f, "no setting is called {id:?}"),
            SettingError::BadValue {
                id,
                value,
                expected,
            } => write!(f, "setting {id}: {value:?} is not {expected}"),
        }
    }
}

fn index_of(id: &str) -> Option<usize> {
    TABLE.iter().position(|d| d.id == id)
}

/// Reads `text` as a value of `def`'s type, or says what was expected.
fn parse(def: &'static Definition, text: &str) -> Result<Value, SettingError> {
    let refuse = |expected: String| SettingError::BadValue {
        id: def.id,
        value: text.to_owned(),
        expected,
    };
    let choices = || def.choices().collect::<Vec<_>>().join(", ");
    match def.default {
        // python-plexapi sends `true`/`false`, plex-api.rs `1`/`0`.
        DefaultValue::Bool(_) => match text {
            "1" | "true" => Ok(Value::Bool(true)),
            "0" | "false" => Ok(Value::Bool(false)),
            _ => Err(refuse("a boolean (true, false, 1 or 0)".to_owned())),
        },
        DefaultValue::Int(_) => {
            let n: i64 = text.parse().map_err(|_| refuse("an integer".to_owned()))?;
            let listed = def.enum_values.is_none() || def.choices().any(|c| c == n.to_string());
            if listed {
                Ok(Value::Int(n))
            } else {
                Err(refuse(format!("one of {}", choices())))
            }
        }
        DefaultValue::Text(default) => {
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                return Err(refuse("text without control characters".to_owned()));
            }
            // A fixed choice also takes the default, even when the server
            // does not list it (the update channel's 16).
            let listed =
                def.enum_values.is_none() || text == default || def.choices().any(|c| c == text);
            if listed {
                Ok(Value::Text(text.to_owned()))
            } else {
                Err(refuse(format!("one of {}", choices())))
            }
        }
    }
}

/// The current value of every setting.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// In the order of [`TABLE`].
    values: Vec<Value>,
}

impl Settings {
    /// Every setting at its default.
    pub(crate) fn new() -> Self {
        Self {
            values: TABLE.iter().map(|d| Value::of(d.default)).collect(),
        }
    }

    /// Sets every `(id, value)` pair, or none of them: the first unknown id
    /// or unfit value refuses the lot. A later pair for the same id wins.
    pub(crate) fn set_all<'a>(
        &mut self,
        changes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), SettingError> {
        let mut parsed = Vec::new();
        for (id, text) in changes {
            let i = index_of(id).ok_or_else(|| SettingError::Unknown(id.to_owned()))?;
            parsed.push((i, parse(&TABLE[i], text)?));
        }
        for (i, value) in parsed {
            self.values[i] = value;
        }
        Ok(())
    }

    /// Every setting with its value, in table order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'static Definition, &Value)> {
        TABLE.iter().zip(&self.values)
    }

    /// The setting of that id with its value.
    pub(crate) fn entry(&self, id: &str) -> Option<(&'static Definition, &Value)> {
        index_of(id).map(|i| (&TABLE[i], &self.values[i]))
    }

    /// `ButlerStartHour` and `ButlerEndHour`.
    pub(crate) fn window(&self) -> (u32, u32) {
        let hour = |id| match self.entry(id) {
            Some((_, Value::Int(h))) => u32::try_from(*h).unwrap_or(0),
            _ => 0,
        };
        (hour("ButlerStartHour"), hour("ButlerEndHour"))
    }

    /// The switch of the task of that name (`ButlerTask<name>`), if it has
    /// one.
    pub(crate) fn switch(&self, task: &str) -> Option<bool> {
        self.values
            .iter()
            .zip(&TABLE)
            .find_map(|(value, def)| match value {
                Value::Bool(on) if switch_task(def.id) == Some(task) => Some(*on),
                _ => None,
            })
    }

    /// `FriendlyName`.
    pub(crate) fn friendly_name(&self) -> &str {
        match self.entry("FriendlyName") {
            Some((_, Value::Text(name))) => name,
            _ => "",
        }
    }

    /// Every id with its value as text.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, String> {
        self.entries()
            .map(|(def, value)| (def.id.to_owned(), value.to_text()))
            .collect()
    }
}

/// The task a setting switches on and off, if it is a per-task switch.
fn switch_task(id: &str) -> Option<&str> {
    let def = &TABLE[index_of(id)?];
    match def.default {
        DefaultValue::Bool(_) => id.strip_prefix(SWITCH_PREFIX),
        _ => None,
    }
}

/// The id of the switch of the task of that name, if there is one.
pub(crate) fn switch_of(task: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|def| switch_task(def.id) == Some(task))
        .map(|def| def.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = TABLE.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), TABLE.len());
    }

    #[test]
    fn every_default_fits_its_own_setting() {
        for def in &TABLE {
            let text = Value::of(def.default).to_text();
            assert_eq!(parse(def, &text), Ok(Value::of(def.default)), "{}", def.id);
        }
    }

    #[test]
    fn switches_govern_the_task_after_their_prefix_and_nothing_else_does() {
        assert_eq!(
            switch_of("BackupDatabase"),
            Some("ButlerTaskBackupDatabase")
        );
        assert_eq!(
            switch_of("RefreshLibraries"),
            Some("ButlerTaskRefreshLibraries")
        );
        // A text setting with the prefix is no switch.
        assert_eq!(switch_of("UpdateServer"), None);
        assert_eq!(switch_of("AutomaticUpdates"), None);
        assert_eq!(switch_of("ButlerTaskGenerateIntroMarkers"), None);
    }

    #[test]
    fn booleans_read_as_words_or_digits_and_nothing_else() {
        let def = &TABLE[index_of("sendCrashReports").expect("listed")];
        assert_eq!(parse(def, "false"), Ok(Value::Bool(false)));
        assert_eq!(parse(def, "1"), Ok(Value::Bool(true)));
        for bad in ["", "yes", "2", "True "] {
            assert!(parse(def, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hours_must_be_among_the_listed_ones() {
        let def = &TABLE[index_of("ButlerStartHour").expect("listed")];
        assert_eq!(parse(def, "23"), Ok(Value::Int(23)));
        for bad in ["24", "-1", "3.5", "three", ""] {
            let error = parse(def, bad).expect_err(bad);
            assert!(error.to_string().contains("ButlerStartHour"), "{error}");
        }
    }

    #[test]
    fn a_fixed_choice_takes_its_values_and_its_default_only() {
        let def = &TABLE[index_of("ButlerUpdateChannel").expect("listed")];
        for good in ["0", "8", "16"] {
            assert!(parse(def, good).is_ok(), "{good:?}");
        }
        let error = parse(def, "4").expect_err("not listed");
        assert_eq!(
            error.to_string(),
            r#"setting ButlerUpdateChannel: "4" is not one of 0, 8"#
        );
    }

    #[test]
    fn a_refused_change_leaves_every_setting_as_it_was() {
        let mut settings = Settings::new();
        let before = settings.snapshot();
        let result = settings.set_all([("ButlerStartHour", "7"), ("NoSuchSetting", "1")]);
        assert_eq!(result, Err(SettingError::Unknown("NoSuchSetting".into())));
        let result = settings.set_all([("ButlerStartHour", "7"), ("ButlerEndHour", "99")]);
        assert!(result.is_err());
        assert_eq!(settings.snapshot(), before);
        settings
            .set_all([("ButlerStartHour", "7"), ("ButlerEndHour", "9")])
            .expect("both fit");
        assert_eq!(settings.window(), (7, 9));
    }

    #[test]
    fn the_real_servers_task_flags_and_the_switch_defaults_agree() {
        let tasks = crate::task::Preset::Pms1_43_2.tasks();
        let mut switched = 0;
        for task in &tasks {
            let Some(id) = switch_of(&task.name) else {
                continue;
            };
            switched += 1;
            let def = &TABLE[index_of(id).expect("listed")];
            assert_eq!(def.default, DefaultValue::Bool(task.enabled), "{id}");
        }
        assert_eq!(switched, 12);
    }
}
