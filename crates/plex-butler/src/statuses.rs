//! How the facade reads each status the spec lists, one module per
//! operation, named as the operation's `operationId` in snake case.
//!
//! Each `const NAME: u16` is a status the facade turns into an outcome of
//! its own; `ERRORS` lists the statuses the spec names that the facade
//! reads as an error on purpose. The calls use these constants, and
//! `cargo xtask spec check` holds this table against the spec: a status
//! mapped here that the spec no longer lists, or a status the spec lists
//! that is neither mapped nor in `ERRORS`, fails the check. That is how a
//! change of the spec's meaning (say, "already running" moving from 202 to
//! 409) cannot go unnoticed while the code still builds.
//!
//! A success the spec does not list (a 204, say) is still read as success
//! by the calls that carry no document; see `Client::status_of`.

// The success constants are read by `spec check`, not by the code: the
// calls take any 2xx without a constant of its own as their plain success.
#![allow(dead_code)]

/// `GET /butler` (`getButlerTasks`).
pub(crate) mod get_butler_tasks {
    /// The list, decoded.
    pub(crate) const LISTED: u16 = 200;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `POST /butler` (`startAllTasks`).
pub(crate) mod start_all_tasks {
    /// The server applied its criteria and started what was due.
    pub(crate) const STARTED: u16 = 200;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `DELETE /butler` (`stopAllTasks`).
pub(crate) mod stop_all_tasks {
    /// Everything stopped, the schedule emptied.
    pub(crate) const STOPPED: u16 = 200;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `POST /butler/{task}` (`startTask`).
pub(crate) mod start_task {
    /// [`crate::StartOutcome::Started`].
    pub(crate) const STARTED: u16 = 200;
    /// [`crate::StartOutcome::AlreadyRunning`].
    pub(crate) const ALREADY_RUNNING: u16 = 202;
    /// No task of that name: [`crate::Error::UnknownTask`].
    pub(crate) const NO_SUCH_TASK: u16 = 404;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `DELETE /butler/{task}` (`stopTask`).
pub(crate) mod stop_task {
    /// [`crate::StopOutcome::Stopped`].
    pub(crate) const STOPPED: u16 = 200;
    /// No such task, or it was not running: the list tells which.
    pub(crate) const NOT_FOUND: u16 = 404;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `GET /activities` (`getActivities`).
pub(crate) mod get_activities {
    /// The activities, decoded.
    pub(crate) const LISTED: u16 = 200;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `DELETE /activities/{activityId}` (`cancelActivity`).
pub(crate) mod cancel_activity {
    /// [`crate::CancelOutcome::Cancelled`].
    pub(crate) const CANCELLED: u16 = 200;
    /// [`crate::Error::NotCancellable`].
    pub(crate) const NOT_CANCELLABLE: u16 = 400;
    /// [`crate::CancelOutcome::NotFound`].
    pub(crate) const NOT_FOUND: u16 = 404;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `GET /:/prefs` (`getPreferences`).
pub(crate) mod get_preferences {
    /// The settings, decoded.
    pub(crate) const LISTED: u16 = 200;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `PUT /:/prefs` (`setPreferences`).
pub(crate) mod set_preferences {
    /// Every setting changed.
    pub(crate) const CHANGED: u16 = 200;
    /// An id does not exist, or a value does not fit:
    /// [`crate::Error::SettingsRefused`].
    pub(crate) const REFUSED: u16 = 400;
    /// An id does not exist (some servers answer 403):
    /// [`crate::Error::SettingsRefused`].
    pub(crate) const REFUSED_FORBIDDEN: u16 = 403;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `GET /:/prefs/get` (`getPreference`).
pub(crate) mod get_preference {
    /// The setting, decoded.
    pub(crate) const LISTED: u16 = 200;
    /// No setting of that id: [`crate::Error::UnknownSetting`].
    pub(crate) const NO_SUCH_SETTING: u16 = 404;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}

/// `GET /status/sessions` (`getSessions`).
pub(crate) mod get_sessions {
    /// The playbacks, decoded.
    pub(crate) const LISTED: u16 = 200;
    /// Read as errors: 401 is [`crate::Error::Unauthorized`].
    pub(crate) const ERRORS: &[u16] = &[401];
}
