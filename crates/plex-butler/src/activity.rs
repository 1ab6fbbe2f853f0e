//! The server's activities: what it is working on now, with a progress.

use std::fmt;

use plex_butler_raw::types as raw;

use crate::Task;
use crate::response::excerpt;
use crate::settings::Lenient;

/// The `type` of Butler work in the activity list.
const BUTLER: &str = "butler";

/// One piece of work the server is doing now, as `GET /activities` lists
/// it.
///
/// Running Butler tasks show here with [`Activity::is_butler`]. What the
/// server shows is its own choice: a PMS 1.43.2 shows **one aggregate
/// activity** titled "Butler tasks" for all its running Butler work, not
/// one per task, so an activity cannot in general be tied to a task. An
/// activity leaves the list when its work ends; a `progress` of 100 does
/// not mean it has ended.
///
/// Its JSON form (through [`serde::Serialize`]) is stable and uses
/// snake_case field names, `type` for [`Activity::kind`]; `progress` is
/// `null` when indeterminate, `context` an object (empty when the server
/// sent none):
///
/// ```json
/// {"uuid":"4221855c-8f07-4471-b01c-a13f5266c301","type":"butler","cancellable":false,
///  "user_id":1,"title":"Butler tasks","subtitle":"","progress":40,"context":{}}
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Activity {
    /// The activity's id, which [`crate::Client::cancel_activity`] takes.
    /// New for every run of the work.
    pub uuid: String,
    /// The type of work: `butler` for Butler tasks; others (such as
    /// `library.update.section` or `media.generate.bif`) for other work.
    /// An open set: compare with strings, or use [`Activity::is_butler`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether [`crate::Client::cancel_activity`] may cancel it. Butler
    /// activities of a PMS 1.43.2 are not cancellable (stop the task
    /// instead).
    pub cancellable: bool,
    /// The user the activity belongs to (1 is the server's owner), when
    /// the server says.
    pub user_id: Option<u64>,
    /// A user-friendly title, such as `Butler tasks`; empty when the server
    /// gave none.
    pub title: String,
    /// A user-friendly sub-title; often empty.
    pub subtitle: String,
    /// How far the work is, in percent (0 to 100), or `None` when the
    /// server cannot tell (it sends -1: indeterminate). Fractions are
    /// rounded down.
    pub progress: Option<u8>,
    /// Additional values, free-form: which keys there are depends on the
    /// type of work. Empty when the server sent none.
    pub context: serde_json::Map<String, serde_json::Value>,
}

impl Activity {
    /// Whether this is Butler work (`type` `butler`).
    ///
    /// ```
    /// let mut activity: plex_butler::Activity = serde_json::from_str(
    ///     r#"{"uuid":"4221855c-8f07-4471-b01c-a13f5266c301","type":"butler","cancellable":false,
    ///         "user_id":1,"title":"Butler tasks","subtitle":"","progress":40,"context":{}}"#,
    /// )?;
    /// assert!(activity.is_butler());
    /// assert_eq!(activity.to_string(), "Butler tasks: 40%");
    /// activity.kind = "media.generate.bif".into();
    /// assert!(!activity.is_butler());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn is_butler(&self) -> bool {
        self.kind == BUTLER
    }
}

impl fmt::Display for Activity {
    /// `Butler tasks: 40%`, `Butler tasks` when the progress is
    /// indeterminate; the type stands in for an empty title.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = if self.title.trim().is_empty() {
            &self.kind
        } else {
            &self.title
        };
        match self.progress {
            Some(percent) => write!(f, "{title}: {percent}%"),
            None => f.write_str(title),
        }
    }
}

/// Whether a task runs now, as the server's activities tell:
/// [`RunState::of_tasks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunState {
    /// A Butler activity names the task; its progress in percent, when
    /// the server says.
    Running {
        /// How far the run is, in percent.
        progress: Option<u8>,
    },
    /// No Butler activity runs.
    NotRunning,
    /// Butler work runs that names no task (a server may show one
    /// activity for all of it), so whether this task is part of it cannot
    /// be told.
    Unknown,
}

impl RunState {
    /// The run state of each task, in the order given, from the server's
    /// activities.
    ///
    /// A Butler activity belongs to a task when its title is the task's
    /// title or name, in any case (as the simulator and some servers
    /// title them). Each task is matched against all of `tasks`: an
    /// activity that matches none of them (a PMS 1.43.2's aggregate
    /// "Butler tasks") leaves every task it does not name
    /// [`RunState::Unknown`].
    pub fn of_tasks(tasks: &[Task], activities: &[Activity]) -> Vec<RunState> {
        let butler: Vec<&Activity> = activities.iter().filter(|a| a.is_butler()).collect();
        let names = |task: &Task, activity: &Activity| {
            let title = activity.title.trim();
            title.eq_ignore_ascii_case(task.name.as_str())
                || task
                    .title
                    .as_deref()
                    .is_some_and(|t| !t.trim().is_empty() && t.trim().eq_ignore_ascii_case(title))
        };
        let unattributed = butler
            .iter()
            .any(|activity| !tasks.iter().any(|task| names(task, activity)));
        tasks
            .iter()
            .map(
                |task| match butler.iter().find(|activity| names(task, activity)) {
                    Some(activity) => RunState::Running {
                        progress: activity.progress,
                    },
                    None if unattributed => RunState::Unknown,
                    None => RunState::NotRunning,
                },
            )
            .collect()
    }
}

/// What [`crate::Client::cancel_activity`] did.
///
/// Serializes as `"cancelled"` or `"not_found"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelOutcome {
    /// The activity was cancelled (the server answered 200).
    Cancelled,
    /// The server has no activity with that id (404): it ended, was
    /// cancelled already, or never existed. The answer does not say which.
    NotFound,
}

impl fmt::Display for CancelOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cancelled => "cancelled",
            Self::NotFound => "not found",
        })
    }
}

/// Maps the generated list to activities, one entry at a time and
/// leniently, so that one odd entry (often of work that is not Butler's)
/// cannot hide the others from a wait:
///
/// - an entry that cannot be used (its `uuid` or `type` blank) is skipped;
/// - a field that does not fit is dropped and the entry kept: the flag must
///   be a boolean, 0/1 or "0"/"1"/"true"/"false" (else `false`); the user
///   id a whole number (else `None`); the progress a number from -1 to 100,
///   a trailing `%` allowed (else `None`, indeterminate). A number a little
///   out of range is clamped: it says how far the work is, not whether it
///   runs.
///
/// Each skip or drop is said at debug level, with `secret` blanked out.
pub(crate) fn activities_from_raw(
    list: raw::ActivitiesResponse,
    secret: Option<&str>,
) -> Result<Vec<Activity>, Lenient> {
    Ok(list
        .media_container
        .activity
        .into_iter()
        .enumerate()
        .filter_map(|(index, activity)| activity_from_raw(index + 1, activity, secret))
        .collect())
}

pub(crate) fn activity_from_raw(
    position: usize,
    activity: raw::Activity,
    secret: Option<&str>,
) -> Option<Activity> {
    let uuid = excerpt(activity.uuid.as_bytes(), secret);
    if activity.uuid.trim().is_empty() || activity.type_.trim().is_empty() {
        tracing::debug!(
            position,
            entry = %excerpt(&serde_json::to_vec(&activity).unwrap_or_default(), secret),
            "activity skipped: its uuid or type is blank"
        );
        return None;
    }
    let dropped = |field: &str, problem: String| {
        tracing::debug!(position, uuid = %uuid, "activity field `{field}` dropped: {problem}");
    };
    let cancellable = match &activity.cancellable {
        Some(flag) => crate::task::flag(flag, secret).unwrap_or_else(|p| {
            dropped("cancellable", p);
            false
        }),
        None => false,
    };
    let user_id = activity
        .user_id
        .as_ref()
        .and_then(|id| user_id(id, secret).map_err(|p| dropped("userID", p)).ok());
    let progress = activity.progress.as_ref().and_then(|value| {
        progress(value, secret)
            .map_err(|p| dropped("progress", p))
            .ok()
            .flatten()
    });
    Some(Activity {
        uuid: activity.uuid,
        kind: activity.type_,
        cancellable,
        user_id,
        title: activity.title.unwrap_or_default(),
        subtitle: activity.subtitle.unwrap_or_default(),
        progress,
        context: activity.context,
    })
}

fn user_id(value: &raw::PlexInteger, secret: Option<&str>) -> Result<u64, String> {
    let not_an_id = |shown: String| format!("is {shown}, not a user id");
    match value {
        raw::PlexInteger::Integer(n) => u64::try_from(*n).map_err(|_| not_an_id(n.to_string())),
        raw::PlexInteger::String(s) => {
            let digits = s.trim();
            let parsed = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse().ok()
            } else {
                None
            };
            parsed.ok_or_else(|| not_an_id(format!("{:?}", excerpt(s.as_bytes(), secret))))
        }
    }
}

/// `Some(0..=100)`, or `None` for indeterminate (-1 or below).
fn progress(value: &raw::ActivityProgress, secret: Option<&str>) -> Result<Option<u8>, String> {
    let number = match value {
        raw::ActivityProgress::Number(n) => *n,
        raw::ActivityProgress::String(s) => {
            let trimmed = s.trim();
            trimmed
                .strip_suffix('%')
                .unwrap_or(trimmed)
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("is {:?}, not a percentage", excerpt(s.as_bytes(), secret)))?
        }
    };
    if number.is_nan() {
        return Err("is not a number".to_owned());
    }
    if number <= -1.0 {
        return Ok(None);
    }
    // Clamped to 0..=100 first, so the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let percent = number.clamp(0.0, 100.0).floor() as u8;
    Ok(Some(percent))
}

/// The most bytes of an activity's type, title or subtitle that the event
/// stream and [`crate::ActivityLog`] keep; and of its context, as JSON
/// (a larger context is not kept).
pub(crate) const KEPT_TEXT_BYTES: usize = 1024;

/// `text` cut to at most [`KEPT_TEXT_BYTES`], on a character boundary.
pub(crate) fn clip(text: &str) -> String {
    if text.len() <= KEPT_TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = KEPT_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The copy of `activity` that is kept for later: its texts clipped
/// ([`clip`]), its context dropped when larger than [`KEPT_TEXT_BYTES`].
pub(crate) fn kept(activity: &Activity) -> Activity {
    let context_fits = serde_json::to_string(&activity.context)
        .map(|json| json.len() <= KEPT_TEXT_BYTES)
        .unwrap_or(false);
    Activity {
        uuid: activity.uuid.clone(),
        kind: clip(&activity.kind),
        cancellable: activity.cancellable,
        user_id: activity.user_id,
        title: clip(&activity.title),
        subtitle: clip(&activity.subtitle),
        progress: activity.progress,
        context: if context_fits {
            activity.context.clone()
        } else {
            serde_json::Map::new()
        },
    }
}

/// The longest activity id the event stream and [`crate::ActivityLog`]
/// follow; news of an activity with a longer one is passed over (a real
/// server's ids are 36-character UUIDs).
pub(crate) const MAX_UUID_BYTES: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<Vec<Activity>, String> {
        let list: raw::ActivitiesResponse =
            serde_json::from_str(json).map_err(|e| format!("serde: {e}"))?;
        activities_from_raw(list, None).map_err(|e| e.to_string())
    }

    fn one(fields: &str) -> Result<Activity, String> {
        let json = format!(
            r#"{{"MediaContainer":{{"size":1,"Activity":[{{"uuid":"u-1","type":"butler",{fields}}}]}}}}"#
        );
        decode(&json)?
            .into_iter()
            .next()
            .ok_or_else(|| "no activity".to_owned())
    }

    #[test]
    fn the_real_capture_reads_as_one_butler_activity() {
        let activity = one(
            r#""cancellable":"0","userID":"1","title":"Butler tasks","subtitle":"","progress":"100""#,
        )
        .expect("decodes");
        assert!(activity.is_butler());
        assert!(!activity.cancellable);
        assert_eq!(activity.user_id, Some(1));
        assert_eq!(activity.title, "Butler tasks");
        assert_eq!(activity.progress, Some(100));
        assert_eq!(activity.to_string(), "Butler tasks: 100%");
    }

    #[test]
    fn minus_one_is_indeterminate_and_fractions_round_down() {
        for (progress, expected) in [
            ("-1", None),
            (r#""-1""#, None),
            ("0", Some(0)),
            ("12.9", Some(12)),
            (r#"" 40 ""#, Some(40)),
            (r#""50%""#, Some(50)),
            (r#"" 12.5 % ""#, Some(12)),
            ("100", Some(100)),
            ("100.5", Some(100)),
            ("-0.5", Some(0)),
            ("-7", None),
        ] {
            let activity = one(&format!(r#""progress":{progress}"#))
                .unwrap_or_else(|e| panic!("progress {progress}: {e}"));
            assert_eq!(activity.progress, expected, "progress {progress}");
        }
    }

    #[test]
    fn progress_that_is_no_number_is_dropped_and_the_activity_kept() {
        for progress in [r#""half""#, r#""""#, r#""NaN""#, r#""%""#] {
            let activity = one(&format!(r#""progress":{progress}"#))
                .unwrap_or_else(|e| panic!("progress {progress}: {e}"));
            assert_eq!(activity.uuid, "u-1");
            assert_eq!(activity.progress, None, "progress {progress}");
        }
    }

    #[test]
    fn absent_fields_take_their_plain_defaults() {
        let activity = one(r#""subtitle":"""#).expect("decodes");
        assert!(!activity.cancellable);
        assert_eq!(activity.user_id, None);
        assert_eq!(activity.title, "");
        assert_eq!(activity.progress, None);
        assert!(activity.context.is_empty());
        assert_eq!(activity.to_string(), "butler");
    }

    #[test]
    fn a_negative_user_id_or_odd_flag_is_dropped_and_the_activity_kept() {
        let activity = one(r#""userID":-1,"progress":7"#).expect("negative id");
        assert_eq!(activity.user_id, None);
        assert_eq!(activity.progress, Some(7));
        let activity = one(r#""cancellable":"maybe","userID":"1""#).expect("odd flag");
        assert!(!activity.cancellable);
        assert_eq!(activity.user_id, Some(1));
    }

    #[test]
    fn an_entry_with_a_blank_uuid_or_type_is_skipped_and_the_others_kept() {
        let activities = decode(
            r#"{"MediaContainer":{"Activity":[
                {"uuid":" ","type":"butler"},
                {"uuid":"u-2","type":""},
                {"uuid":"u-3","type":"butler","progress":"50%"}
            ]}}"#,
        )
        .expect("decodes");
        let uuids: Vec<&str> = activities.iter().map(|a| a.uuid.as_str()).collect();
        assert_eq!(uuids, ["u-3"]);
        assert_eq!(activities[0].progress, Some(50));
    }

    #[test]
    fn an_activity_without_a_uuid_does_not_decode() {
        assert!(decode(r#"{"MediaContainer":{"Activity":[{"type":"butler"}]}}"#).is_err());
    }

    #[test]
    fn the_json_form_names_the_kind_type() {
        let activity = one(r#""progress":40,"Context":{"k":"v"}"#).expect("decodes");
        let json = serde_json::to_value(&activity).expect("serializes");
        assert_eq!(json["type"], "butler");
        assert_eq!(json["progress"], 40);
        assert_eq!(json["context"]["k"], "v");
        let back: Activity = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, activity);
    }

    #[test]
    fn a_task_runs_when_an_activity_names_it_and_is_unknown_beside_unnamed_work() {
        let task = |name: &str, title: Option<&str>| Task {
            name: name.parse().expect("a name"),
            title: title.map(str::to_owned),
            description: None,
            enabled: true,
            interval_days: 1,
            schedule_randomized: false,
        };
        let activity = |kind: &str, title: &str, progress| Activity {
            uuid: title.to_owned(),
            kind: kind.to_owned(),
            cancellable: false,
            user_id: None,
            title: title.to_owned(),
            subtitle: String::new(),
            progress,
            context: serde_json::Map::new(),
        };
        let tasks = [
            task("BackupDatabase", Some("Backup Database")),
            task("OptimizeDatabase", None),
        ];
        let by_title = [activity("butler", "backup database", Some(40))];
        assert_eq!(
            RunState::of_tasks(&tasks, &by_title),
            [
                RunState::Running { progress: Some(40) },
                RunState::NotRunning
            ]
        );
        let by_name = [
            activity("butler", "OptimizeDatabase", None),
            activity("media.generate.bif", "Butler tasks", None),
        ];
        assert_eq!(
            RunState::of_tasks(&tasks, &by_name),
            [RunState::NotRunning, RunState::Running { progress: None }]
        );
        let aggregate = [activity("butler", "Butler tasks", Some(10))];
        assert_eq!(
            RunState::of_tasks(&tasks, &aggregate),
            [RunState::Unknown, RunState::Unknown]
        );
        assert_eq!(
            RunState::of_tasks(&tasks, &[]),
            [RunState::NotRunning, RunState::NotRunning]
        );
    }
}
