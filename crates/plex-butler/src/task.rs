//! A Butler task as the server lists it, and the outcomes of start and stop.

use std::fmt;

use plex_butler_raw::types as raw;

use crate::TaskName;
use crate::response::{DecodeProblem, excerpt};

/// One Butler task and its schedule, as `GET /butler` lists it.
///
/// Its JSON form (through [`serde::Serialize`]) is stable and uses
/// snake_case field names; `title` and `description` are always present,
/// `null` when the server gave none:
///
/// ```json
/// {"name":"BackupDatabase","title":"Backup Database","description":"Create a backup of the database.",
///  "enabled":true,"interval_days":3,"schedule_randomized":false}
/// ```
///
/// With the `schemars` feature, its `schemars::JsonSchema` describes that
/// form.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Task {
    /// The task's name, which [`crate::Client::start`] and
    /// [`crate::Client::stop`] take.
    pub name: TaskName,
    /// A user-friendly title. Most tasks have none.
    pub title: Option<String>,
    /// A user-friendly description. Most tasks have none.
    pub description: Option<String>,
    /// Whether the task is enabled in the server's settings
    /// (`ButlerTask<Name>`). Only enabled tasks run on schedule or through
    /// [`crate::Client::start_all`].
    pub enabled: bool,
    /// Days between scheduled runs: 1 is daily, 3 every three days, 7 weekly.
    /// An interval the server gives past `u32::MAX` reads as `u32::MAX`.
    pub interval_days: u32,
    /// Whether the task runs at a random time within the server's daily
    /// maintenance window rather than at its start.
    pub schedule_randomized: bool,
}

/// What [`crate::Client::start`] did.
///
/// Serializes as `"started"` or `"already_running"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StartOutcome {
    /// The task started (the server answered 200). It runs in the
    /// background; the Butler API reports no progress.
    Started,
    /// The task was already running; nothing changed (the server answered
    /// 202).
    AlreadyRunning,
}

impl fmt::Display for StartOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Started => "started",
            Self::AlreadyRunning => "already running",
        })
    }
}

/// What [`crate::Client::stop`] did.
///
/// Serializes as `"stopped"` or `"not_running"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopOutcome {
    /// The task was running and stopped, or was scheduled and left the
    /// schedule (the server answered 200).
    Stopped,
    /// The server has the task, but it was neither running nor scheduled:
    /// nothing to stop.
    NotRunning,
}

impl fmt::Display for StopOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stopped => "stopped",
            Self::NotRunning => "not running",
        })
    }
}

/// Why a listed task could not be read, in the terms of its fields.
#[derive(Debug, thiserror::Error)]
#[error("task {position} ({name}): {problem}")]
pub(crate) struct TaskDecodeError {
    position: usize,
    name: String,
    problem: String,
    /// The task's entry, as JSON, cut short.
    pub(crate) excerpt: String,
}

impl DecodeProblem for TaskDecodeError {
    fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

/// Maps the generated list to tasks, checking what the spec leaves open:
/// flags must be a boolean, 0/1 or "0"/"1"/"true"/"false"; the interval a
/// whole number of days, at most `u32::MAX`. What an error shows of the
/// answer has `secret` blanked out.
pub(crate) fn tasks_from_raw(
    list: raw::ButlerTasksResponse,
    secret: Option<&str>,
) -> Result<Vec<Task>, TaskDecodeError> {
    list.butler_tasks
        .butler_task
        .into_iter()
        .enumerate()
        .map(|(index, task)| task_from_raw(index + 1, task, secret))
        .collect()
}

fn task_from_raw(
    position: usize,
    task: raw::ButlerTask,
    secret: Option<&str>,
) -> Result<Task, TaskDecodeError> {
    let shown = |bytes: &[u8]| excerpt(bytes, secret);
    let fail = |problem: String| TaskDecodeError {
        position,
        name: shown(task.name.to_string().as_bytes()),
        problem,
        excerpt: shown(&serde_json::to_vec(&task).unwrap_or_default()),
    };
    let name = TaskName::from_raw(&task.name).map_err(|_| fail("the name is empty".to_owned()))?;
    let enabled = flag(&task.enabled, secret).map_err(|p| fail(format!("`enabled` {p}")))?;
    let schedule_randomized = flag(&task.schedule_randomized, secret)
        .map_err(|p| fail(format!("`scheduleRandomized` {p}")))?;
    let interval_days =
        days(&task.interval, secret).map_err(|p| fail(format!("`interval` {p}")))?;
    Ok(Task {
        name,
        title: task.title,
        description: task.description,
        enabled,
        interval_days,
        schedule_randomized,
    })
}

/// A Plex flag, as servers send it.
pub(crate) fn flag(value: &raw::PlexBoolean, secret: Option<&str>) -> Result<bool, String> {
    match value {
        raw::PlexBoolean::Boolean(b) => Ok(*b),
        raw::PlexBoolean::Integer(0) => Ok(false),
        raw::PlexBoolean::Integer(1) => Ok(true),
        raw::PlexBoolean::String(s) => match s.trim() {
            "0" | "false" => Ok(false),
            "1" | "true" => Ok(true),
            _ => Err(format!(
                "is {:?}, not a flag (true/false, 0/1)",
                excerpt(s.as_bytes(), secret)
            )),
        },
        raw::PlexBoolean::Integer(n) => Err(format!("is {n}, not a flag (true/false, 0/1)")),
    }
}

/// Days between runs. An interval past `u32::MAX` days (some 11 million
/// years: a server's "never") is read as `u32::MAX` rather than failing
/// the whole list for one task's field; a negative or non-numeric one is
/// still an error, as it says nothing of the schedule.
fn days(value: &raw::PlexInteger, secret: Option<&str>) -> Result<u32, String> {
    let not_days = |shown: &str| format!("is {shown}, not a number of days");
    match value {
        raw::PlexInteger::Integer(n) if *n < 0 => Err(not_days(&n.to_string())),
        raw::PlexInteger::Integer(n) => Ok(u32::try_from(*n).unwrap_or(u32::MAX)),
        raw::PlexInteger::String(s) => {
            let digits = s.trim();
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                // Only digits: a parse can fail by overflow alone.
                Ok(digits.parse::<u32>().unwrap_or(u32::MAX))
            } else {
                Err(not_days(&format!("{:?}", excerpt(s.as_bytes(), secret))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<Vec<Task>, String> {
        let list: raw::ButlerTasksResponse =
            serde_json::from_str(json).map_err(|e| format!("serde: {e}"))?;
        tasks_from_raw(list, None).map_err(|e| e.to_string())
    }

    fn one(fields: &str) -> Result<Task, String> {
        let json =
            format!(r#"{{"ButlerTasks":{{"ButlerTask":[{{"name":"BackupDatabase",{fields}}}]}}}}"#);
        decode(&json)?
            .into_iter()
            .next()
            .ok_or_else(|| "no task".to_owned())
    }

    #[test]
    fn flags_accept_booleans_numbers_and_digit_strings() {
        for (enabled, expected) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            (r#""1""#, true),
            (r#""0""#, false),
            (r#""true""#, true),
        ] {
            let task = one(&format!(
                r#""interval":3,"scheduleRandomized":false,"enabled":{enabled}"#
            ))
            .unwrap_or_else(|e| panic!("enabled {enabled}: {e}"));
            assert_eq!(task.enabled, expected, "enabled {enabled}");
        }
    }

    #[test]
    fn flag_of_another_word_or_number_is_a_decode_error() {
        for enabled in [r#""yes""#, "2", "-1", r#""""#] {
            let error = one(&format!(
                r#""interval":3,"scheduleRandomized":false,"enabled":{enabled}"#
            ))
            .expect_err(enabled);
            assert!(error.contains("`enabled`"), "{error}");
        }
    }

    #[test]
    fn interval_accepts_numbers_and_numeric_strings() {
        for (interval, expected) in [("3", 3), (r#""7""#, 7), (r#"" 1 ""#, 1), ("0", 0)] {
            let task = one(&format!(
                r#""interval":{interval},"scheduleRandomized":0,"enabled":1"#
            ))
            .unwrap_or_else(|e| panic!("interval {interval}: {e}"));
            assert_eq!(task.interval_days, expected);
        }
    }

    #[test]
    fn an_interval_past_u32_reads_as_u32_max_rather_than_failing_the_list() {
        for interval in ["4294967296", r#""99999999999""#, "9223372036854775807"] {
            let task = one(&format!(
                r#""interval":{interval},"scheduleRandomized":0,"enabled":1"#
            ))
            .unwrap_or_else(|e| panic!("interval {interval}: {e}"));
            assert_eq!(task.interval_days, u32::MAX, "{interval}");
        }
        assert_eq!(
            one(r#""interval":4294967295,"scheduleRandomized":0,"enabled":1"#)
                .map(|t| t.interval_days),
            Ok(u32::MAX)
        );
    }

    #[test]
    fn negative_or_non_numeric_interval_is_a_decode_error() {
        for interval in ["-1", r#""-3""#, r#""3 days""#, r#""""#] {
            let error = one(&format!(
                r#""interval":{interval},"scheduleRandomized":0,"enabled":1"#
            ))
            .expect_err(interval);
            assert!(error.contains("`interval`"), "{error}");
        }
    }
}
