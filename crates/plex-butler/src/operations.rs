//! One entry per operation of the spec, and everything the facade knows
//! about it: its operationId, method and path, the name its tracing span
//! gives it, whether repeating it is safe, the statuses it reads as
//! outcomes of its own and the statuses it reads as errors on purpose.
//!
//! Each entry is a `const Operation` named after its operationId in upper
//! snake case (`START_TASK` for `startTask`); its named statuses live in a
//! module named after the operationId in snake case (`start_task::
//! ALREADY_RUNNING = 202`), declared with `outcomes!`, which lists them
//! for the entry too. The calls match on those constants and take their
//! span and retry rule from the entry; nothing about an operation is
//! written anywhere else.
//!
//! The test at the end of this file holds the table against the spec
//! (`openapi/butler.yaml`): every operation of the spec has one entry in
//! [`ALL`], with the same method and path; a status mapped here that the
//! spec does not list for the operation, or a status the spec lists that
//! is neither mapped nor in the entry's `errors`, fails it, naming the
//! entry and the status. That is how a change of the spec's meaning (say,
//! "already running" moving from 202 to 409) cannot go unnoticed while the
//! code still builds.
//!
//! A success the spec does not list (a 204, say) is still read as success
//! by the calls that carry no document; see `Client::status_of`.

use crate::call::Repeat;

/// One operation of the spec, as the facade calls it.
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "id, path, outcomes and errors are read by the test against the spec"
    )
)]
pub(crate) struct Operation {
    /// The spec's `operationId`.
    pub(crate) id: &'static str,
    /// The HTTP method, in capitals; the span's `method` field.
    pub(crate) method: &'static str,
    /// The path, as the spec writes it.
    pub(crate) path: &'static str,
    /// The span's `operation` field: the name users and tests read in the
    /// traces, which stays as it is whatever the spec calls the operation.
    pub(crate) span: &'static str,
    /// Whether the call may be repeated after a failure whose effect is
    /// unknown.
    pub(crate) repeat: Repeat,
    /// The statuses read as outcomes of the operation's own, by name: the
    /// `OUTCOMES` of its module.
    pub(crate) outcomes: &'static [Outcome],
    /// The statuses the spec lists that the facade reads as errors on
    /// purpose (401 is [`crate::Error::Unauthorized`]).
    pub(crate) errors: &'static [u16],
}

/// A status an operation reads as an outcome of its own.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "read by the test against the spec")
)]
pub(crate) struct Outcome {
    /// The name of its constant in the operation's module.
    pub(crate) name: &'static str,
    /// The status.
    pub(crate) status: u16,
}

/// Declares an operation's named statuses, each a `pub(crate) const NAME:
/// u16` the calls match on, and `OUTCOMES`, the same list by name for the
/// operation's entry: a status cannot be named without being in the table.
macro_rules! outcomes {
    ($($(#[$doc:meta])* $name:ident = $status:literal,)+) => {
        $($(#[$doc])* pub(crate) const $name: u16 = $status;)+
        /// The statuses above, by name, for the operation's entry.
        pub(crate) const OUTCOMES: &[super::Outcome] = &[
            $(super::Outcome { name: stringify!($name), status: $name },)+
        ];
    };
}

/// Every operation of the spec, in the spec's order.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "read by the test against the spec")
)]
pub(crate) const ALL: &[&Operation] = &[
    &GET_BUTLER_TASKS,
    &START_ALL_TASKS,
    &STOP_ALL_TASKS,
    &START_TASK,
    &STOP_TASK,
    &GET_ACTIVITIES,
    &CANCEL_ACTIVITY,
    &GET_PREFERENCES,
    &SET_PREFERENCES,
    &GET_PREFERENCE,
    &GET_SESSIONS,
    &GET_NOTIFICATIONS,
];

/// `GET /butler`: the tasks ([`crate::Client::tasks`]). Reading has no
/// effect.
pub(crate) const GET_BUTLER_TASKS: Operation = Operation {
    id: "getButlerTasks",
    method: "GET",
    path: "/butler",
    span: "tasks",
    repeat: Repeat::Safe,
    outcomes: get_butler_tasks::OUTCOMES,
    errors: &[401],
};

/// The statuses `getButlerTasks` reads as outcomes.
pub(crate) mod get_butler_tasks {
    outcomes! {
        /// The list, decoded.
        LISTED = 200,
    }
}

/// `POST /butler`: start what is due ([`crate::Client::start_all`]). The
/// server's criteria make a repeat harmless.
pub(crate) const START_ALL_TASKS: Operation = Operation {
    id: "startAllTasks",
    method: "POST",
    path: "/butler",
    span: "start_all",
    repeat: Repeat::Safe,
    outcomes: start_all_tasks::OUTCOMES,
    errors: &[401],
};

/// The statuses `startAllTasks` reads as outcomes.
pub(crate) mod start_all_tasks {
    outcomes! {
        /// The server applied its criteria and started what was due.
        STARTED = 200,
    }
}

/// `DELETE /butler`: stop everything ([`crate::Client::stop_all`]).
/// Stopping twice leaves everything stopped.
pub(crate) const STOP_ALL_TASKS: Operation = Operation {
    id: "stopAllTasks",
    method: "DELETE",
    path: "/butler",
    span: "stop_all",
    repeat: Repeat::Safe,
    outcomes: stop_all_tasks::OUTCOMES,
    errors: &[401],
};

/// The statuses `stopAllTasks` reads as outcomes.
pub(crate) mod stop_all_tasks {
    outcomes! {
        /// Everything stopped, the schedule emptied.
        STOPPED = 200,
    }
}

/// `POST /butler/{task}`: start one task ([`crate::Client::start`]). A
/// start that found the task running would report "already running" for
/// its own start: never repeated once sent.
pub(crate) const START_TASK: Operation = Operation {
    id: "startTask",
    method: "POST",
    path: "/butler/{task}",
    span: "start",
    repeat: Repeat::OnlyIfNotDone,
    outcomes: start_task::OUTCOMES,
    errors: &[401],
};

/// The statuses `startTask` reads as outcomes.
pub(crate) mod start_task {
    outcomes! {
        /// [`crate::StartOutcome::Started`].
        STARTED = 200,
        /// [`crate::StartOutcome::AlreadyRunning`].
        ALREADY_RUNNING = 202,
        /// No task of that name: [`crate::Error::UnknownTask`].
        NO_SUCH_TASK = 404,
    }
}

/// `DELETE /butler/{task}`: stop one task ([`crate::Client::stop`]).
/// Stopping twice leaves the task stopped.
pub(crate) const STOP_TASK: Operation = Operation {
    id: "stopTask",
    method: "DELETE",
    path: "/butler/{task}",
    span: "stop",
    repeat: Repeat::Safe,
    outcomes: stop_task::OUTCOMES,
    errors: &[401],
};

/// The statuses `stopTask` reads as outcomes.
pub(crate) mod stop_task {
    outcomes! {
        /// [`crate::StopOutcome::Stopped`].
        STOPPED = 200,
        /// No such task, or it was not running: the list tells which.
        NOT_FOUND = 404,
    }
}

/// `GET /activities`: what the server is working on
/// ([`crate::Client::activities`]). Reading has no effect.
pub(crate) const GET_ACTIVITIES: Operation = Operation {
    id: "getActivities",
    method: "GET",
    path: "/activities",
    span: "activities",
    repeat: Repeat::Safe,
    outcomes: get_activities::OUTCOMES,
    errors: &[401],
};

/// The statuses `getActivities` reads as outcomes.
pub(crate) mod get_activities {
    outcomes! {
        /// The activities, decoded.
        LISTED = 200,
    }
}

/// `DELETE /activities/{activityId}`: cancel one
/// ([`crate::Client::cancel_activity`]). Cancelling twice leaves the
/// activity cancelled.
pub(crate) const CANCEL_ACTIVITY: Operation = Operation {
    id: "cancelActivity",
    method: "DELETE",
    path: "/activities/{activityId}",
    span: "cancel_activity",
    repeat: Repeat::Safe,
    outcomes: cancel_activity::OUTCOMES,
    errors: &[401],
};

/// The statuses `cancelActivity` reads as outcomes.
pub(crate) mod cancel_activity {
    outcomes! {
        /// [`crate::CancelOutcome::Cancelled`].
        CANCELLED = 200,
        /// [`crate::Error::NotCancellable`].
        NOT_CANCELLABLE = 400,
        /// [`crate::CancelOutcome::NotFound`].
        NOT_FOUND = 404,
    }
}

/// `GET /:/prefs`: every setting ([`crate::Client::settings`]). Reading
/// has no effect.
pub(crate) const GET_PREFERENCES: Operation = Operation {
    id: "getPreferences",
    method: "GET",
    path: "/:/prefs",
    span: "settings",
    repeat: Repeat::Safe,
    outcomes: get_preferences::OUTCOMES,
    errors: &[401],
};

/// The statuses `getPreferences` reads as outcomes.
pub(crate) mod get_preferences {
    outcomes! {
        /// The settings, decoded.
        LISTED = 200,
    }
}

/// `PUT /:/prefs`: change settings ([`crate::Client::set_settings`]).
/// Setting the same values twice leaves them set.
pub(crate) const SET_PREFERENCES: Operation = Operation {
    id: "setPreferences",
    method: "PUT",
    path: "/:/prefs",
    span: "set_settings",
    repeat: Repeat::Safe,
    outcomes: set_preferences::OUTCOMES,
    errors: &[401],
};

/// The statuses `setPreferences` reads as outcomes.
pub(crate) mod set_preferences {
    outcomes! {
        /// Every setting changed.
        CHANGED = 200,
        /// An id does not exist, or a value does not fit:
        /// [`crate::Error::SettingsRefused`].
        REFUSED = 400,
        /// An id does not exist (some servers answer 403):
        /// [`crate::Error::SettingsRefused`].
        REFUSED_FORBIDDEN = 403,
    }
}

/// `GET /:/prefs/get`: one setting ([`crate::Client::setting`]). Reading
/// has no effect.
pub(crate) const GET_PREFERENCE: Operation = Operation {
    id: "getPreference",
    method: "GET",
    path: "/:/prefs/get",
    span: "setting",
    repeat: Repeat::Safe,
    outcomes: get_preference::OUTCOMES,
    errors: &[401],
};

/// The statuses `getPreference` reads as outcomes.
pub(crate) mod get_preference {
    outcomes! {
        /// The setting, decoded.
        LISTED = 200,
        /// No setting of that id: [`crate::Error::UnknownSetting`].
        NO_SUCH_SETTING = 404,
    }
}

/// `GET /status/sessions`: who is watching ([`crate::Client::sessions`]).
/// Reading has no effect.
pub(crate) const GET_SESSIONS: Operation = Operation {
    id: "getSessions",
    method: "GET",
    path: "/status/sessions",
    span: "sessions",
    repeat: Repeat::Safe,
    outcomes: get_sessions::OUTCOMES,
    errors: &[401],
};

/// The statuses `getSessions` reads as outcomes.
pub(crate) mod get_sessions {
    outcomes! {
        /// The playbacks, decoded.
        LISTED = 200,
    }
}

/// `GET /:/eventsource/notifications`: the server's event stream
/// (`Client::events`). Opening it has no effect; it is opened
/// again after it breaks.
pub(crate) const GET_NOTIFICATIONS: Operation = Operation {
    id: "getNotifications",
    method: "GET",
    path: "/:/eventsource/notifications",
    span: "events",
    repeat: Repeat::Safe,
    outcomes: get_notifications::OUTCOMES,
    errors: &[400, 401],
};

/// The statuses `getNotifications` reads as outcomes.
pub(crate) mod get_notifications {
    outcomes! {
        /// The stream is open.
        OPEN = 200,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The spec, read at test time from the repository.
    const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/butler.yaml");

    /// The keys of a path item that are operations.
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// An operation as the spec describes it.
    struct SpecOperation {
        id: String,
        /// In capitals, as the table writes it.
        method: String,
        path: String,
        /// The numeric statuses its responses list (not `default`), sorted.
        statuses: Vec<u16>,
    }

    impl SpecOperation {
        /// `startTask (POST /butler/{task})`.
        fn label(&self) -> String {
            format!("{} ({} {})", self.id, self.method, self.path)
        }

        fn listed(&self) -> String {
            let listed: Vec<String> = self.statuses.iter().map(u16::to_string).collect();
            listed.join(", ")
        }
    }

    /// The spec's operations, in its order.
    fn spec_operations(spec: &Value) -> Result<Vec<SpecOperation>, String> {
        let paths = spec
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the spec has no `paths`")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let method = method.to_ascii_uppercase();
                let id = operation
                    .get("operationId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{method} {path} has no operationId"))?;
                // YAML reads `200:` as an integer and `'200':` as a string;
                // both arrive here as the key's text.
                let mut statuses: Vec<u16> = operation
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|responses| responses.keys().filter_map(|k| k.parse().ok()).collect())
                    .unwrap_or_default();
                statuses.sort_unstable();
                operations.push(SpecOperation {
                    id: id.to_owned(),
                    method,
                    path: path.clone(),
                    statuses,
                });
            }
        }
        Ok(operations)
    }

    /// The name of an operation's entry: `startTask` is `START_TASK`.
    fn entry_name(id: &str) -> String {
        let mut name = String::new();
        let mut previous_lower = false;
        for c in id.chars() {
            if c.is_ascii_uppercase() && previous_lower {
                name.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            name.push(c.to_ascii_uppercase());
        }
        name
    }

    /// The name of the module of an operation's statuses: `start_task`.
    fn module_name(id: &str) -> String {
        entry_name(id).to_ascii_lowercase()
    }

    /// What disagrees between `table` and the spec in `spec_text`, one
    /// message per problem, each naming the operation and what to change.
    fn problems(spec_text: &str, table: &[&Operation]) -> Vec<String> {
        let spec: Value = match serde_yaml_ng::from_str(spec_text) {
            Ok(spec) => spec,
            Err(e) => return vec![format!("the spec cannot be read: {e}")],
        };
        let operations = match spec_operations(&spec) {
            Ok(operations) => operations,
            Err(e) => return vec![format!("the spec cannot be read: {e}")],
        };
        let mut problems = Vec::new();
        for (i, entry) in table.iter().enumerate() {
            let name = entry_name(entry.id);
            if table[..i].iter().any(|e| e.id == entry.id) {
                problems.push(format!(
                    "`ALL` lists {} more than once: keep one entry, `{name}`",
                    entry.id
                ));
            } else if !operations.iter().any(|o| o.id == entry.id) {
                problems.push(format!(
                    "`{name}` is for {}, which is no operationId of the spec: give it the \
                     operationId the spec now uses for {} {}, or remove it from `ALL` with \
                     the call that uses it",
                    entry.id, entry.method, entry.path
                ));
            }
        }
        for operation in &operations {
            let label = operation.label();
            let name = entry_name(&operation.id);
            let module = module_name(&operation.id);
            let listed = operation.listed();
            let Some(entry) = table.iter().find(|e| e.id == operation.id) else {
                problems.push(format!(
                    "{label}: no entry in `ALL`: add `pub(crate) const {name}: Operation` with \
                     a module `{module}` naming the statuses it reads as outcomes and `errors` \
                     for the others (the spec lists {listed}), and list it in `ALL`"
                ));
                continue;
            };
            if (entry.method, entry.path) != (operation.method.as_str(), operation.path.as_str()) {
                problems.push(format!(
                    "{label}: `{name}` says {} {}: change its `method` and `path` to the \
                     spec's",
                    entry.method, entry.path
                ));
            }
            for (i, outcome) in entry.outcomes.iter().enumerate() {
                let constant = format!("{module}::{}", outcome.name);
                let status = outcome.status;
                if !operation.statuses.contains(&status) {
                    problems.push(format!(
                        "{label}: `{name}` reads {status} as `{constant}`, but the spec lists \
                         no {status} for this operation (it lists {listed}): the facade reads \
                         an answer the server no longer gives. Find which status now means \
                         {} in the spec, then change `{constant}` to it (and the call reading \
                         it, with its tests), or remove both",
                        outcome.name
                    ));
                }
                if entry.errors.contains(&status) {
                    problems.push(format!(
                        "{label}: `{name}` reads {status} both as `{constant}` and as an error \
                         (its `errors`): keep one"
                    ));
                }
                if let Some(other) = entry.outcomes[..i].iter().find(|o| o.status == status) {
                    problems.push(format!(
                        "{label}: `{name}` reads {status} both as `{module}::{}` and as \
                         `{constant}`: keep one",
                        other.name
                    ));
                }
            }
            for status in entry.errors {
                if !operation.statuses.contains(status) {
                    problems.push(format!(
                        "{label}: `{name}.errors` has {status}, which the spec does not list \
                         for this operation (it lists {listed}): remove it"
                    ));
                }
            }
            for status in &operation.statuses {
                let mapped = entry.outcomes.iter().any(|o| o.status == *status);
                if !mapped && !entry.errors.contains(status) {
                    problems.push(format!(
                        "{label}: the spec lists {status}, which `{name}` neither reads as an \
                         outcome nor lists in its `errors`: decide what it means for the \
                         facade, then name it in `{module}` and read it in the call, or add \
                         {status} to `{name}.errors`"
                    ));
                }
            }
        }
        problems
    }

    fn spec_text() -> String {
        std::fs::read_to_string(SPEC).unwrap_or_else(|e| panic!("cannot read {SPEC}: {e}"))
    }

    #[test]
    fn the_table_agrees_with_the_spec() {
        let problems = problems(&spec_text(), ALL);
        assert!(
            problems.is_empty(),
            "the operations' table (crates/plex-butler/src/operations.rs) disagrees with \
             openapi/butler.yaml:\n- {}",
            problems.join("\n- ")
        );
    }

    #[test]
    fn a_status_that_changes_meaning_fails_naming_the_entry_and_both_statuses() {
        // startTask's "already running" moves from 202 to 409, written as
        // an integer key.
        let text = spec_text();
        let start = text
            .find("operationId: startTask")
            .expect("the spec has startTask");
        let at = start + text[start..].find("'202':").expect("startTask lists 202");
        let changed = format!("{}409:{}", &text[..at], &text[at + "'202':".len()..]);

        let problems = problems(&changed, ALL);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with("startTask (POST /butler/{task}): `START_TASK` reads 202 as `start_task::ALREADY_RUNNING`, but the spec lists no 202")
                && problems[0].contains("it lists 200, 401, 404, 409"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with(
                "startTask (POST /butler/{task}): the spec lists 409, which `START_TASK` neither"
            ) && problems[1].contains("add 409 to `START_TASK.errors`"),
            "{problems:#?}"
        );
    }

    #[test]
    fn each_operation_needs_one_entry_at_its_method_and_path() {
        let text = spec_text().replacen("operationId: getSessions", "operationId: getPlaybacks", 1);
        let moved = Operation {
            method: "PUT",
            ..START_TASK
        };
        let table: Vec<&Operation> = ALL
            .iter()
            .copied()
            .filter(|e| e.id != "startTask")
            .chain([&moved, &STOP_TASK])
            .collect();

        let problems = problems(&text, &table);
        let expected = [
            "`ALL` lists stopTask more than once",
            "`GET_SESSIONS` is for getSessions, which is no operationId of the spec",
            "startTask (POST /butler/{task}): `START_TASK` says PUT /butler/{task}: change its \
             `method` and `path`",
            "getPlaybacks (GET /status/sessions): no entry in `ALL`: add `pub(crate) const \
             GET_PLAYBACKS: Operation` with a module `get_playbacks`",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for start in expected {
            assert!(
                problems.iter().any(|p| p.starts_with(start)),
                "no problem starts with {start:?}: {problems:#?}"
            );
        }
    }

    #[test]
    fn entries_and_modules_are_named_after_the_operation_ids() {
        assert_eq!(entry_name("getButlerTasks"), "GET_BUTLER_TASKS");
        assert_eq!(module_name("cancelActivity"), "cancel_activity");
    }
}
