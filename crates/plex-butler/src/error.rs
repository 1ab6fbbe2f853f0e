//! The one error type of the crate, in the user's terms.

use std::fmt::Write as _;
use std::time::Duration;

use crate::operations::{cancel_activity, get_preference, start_task};
use crate::retry::Attempts;
use crate::{Activity, TaskName};

/// The status of servers whose tokens expire (newer servers' tokens last
/// seven days): "Token expired", an unofficial code several clients read.
const TOKEN_EXPIRED: u16 = 498;

/// Everything that can go wrong, each variant saying what to do next.
///
/// Messages never contain the token: it is sent only as a header, and no
/// header is ever shown. [`Error::source`](std::error::Error::source) gives
/// the underlying error where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client's configuration is unusable: a base URL that is not
    /// `http(s)://host[:port][/path]`, or a header value (token, identity)
    /// with characters a header cannot carry. Also a call made outside a
    /// Tokio runtime, or on one built without timers (see
    /// [`crate::Client`], "Runtime": under `panic = "abort"` the latter
    /// aborts instead).
    #[error("invalid configuration: {message}")]
    #[non_exhaustive]
    InvalidConfig {
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A task name that cannot be sent: empty, or one that would not travel
    /// as one path segment (`.`, `..`, or containing `\`).
    #[error("invalid task name {name:?}: {reason}")]
    #[non_exhaustive]
    InvalidTaskName {
        /// The name as given.
        name: String,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// An activity id that cannot be sent: empty, or one that would not
    /// travel as one path segment (`.`, `..`, or containing `\`).
    #[error("invalid activity id {id:?}: {reason}")]
    #[non_exhaustive]
    InvalidActivityId {
        /// The id as given, cut short.
        id: String,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// The server refused to cancel the activity (400): it is not
    /// cancellable. Butler activities of a PMS 1.43.2 are not; stop the
    /// task instead.
    #[error(
        "the activity {activity:?} cannot be cancelled: the server says it is not cancellable (for a Butler task, stop the task instead)"
    )]
    #[non_exhaustive]
    NotCancellable {
        /// The activity's id.
        activity: String,
    },

    /// Butler work was still running when the wait's time was up
    /// ([`crate::WaitOptions::timeout`]), or, for a [plan](crate::Plan)
    /// that waits until the server is idle, someone was still watching.
    /// The work goes on; only the waiting stopped.
    #[error("{}", wait_timed_out_message(*.waited, .running, *.watching))]
    #[non_exhaustive]
    WaitTimedOut {
        /// How long the wait lasted.
        waited: Duration,
        /// The Butler activities of the last look at the server.
        running: Vec<Activity>,
        /// How many playbacks the last look found: 0 unless the wait
        /// watched the sessions too (a plan's idle guard).
        watching: u32,
    },

    /// The server offers no event stream (404 on
    /// `/:/eventsource/notifications`): an older server, or a proxy that
    /// does not pass it. [`crate::Client::events`] ends with it; the waits
    /// fall back to looking at the activities now and then.
    ///
    /// ```
    /// # fn show(error: &plex_butler::Error) {
    /// if matches!(error, plex_butler::Error::EventsUnsupported) {
    ///     eprintln!("no events from this server: polling instead");
    /// }
    /// # }
    /// ```
    #[error(
        "the server offers no event stream (404 on /:/eventsource/notifications): an older server, or a proxy that does not pass it"
    )]
    EventsUnsupported,

    /// The server has no setting of that id (404 on reading one).
    #[error("the server has no setting {id:?}: list the settings to see the ids it knows")]
    #[non_exhaustive]
    UnknownSetting {
        /// The id that was asked for, cut short.
        id: String,
    },

    /// The server refused a change of settings (400 or 403): one of the
    /// ids does not exist, or a value does not fit its setting. Nothing
    /// was changed (a real server checks the lot; the answer does not say
    /// which one).
    #[error("{}", settings_refused_message(*.status, .ids))]
    #[non_exhaustive]
    SettingsRefused {
        /// 400 or 403.
        status: u16,
        /// The ids that were sent, in the order given, cut short.
        ids: Vec<String>,
    },

    /// A change of settings that cannot be sent: an empty id.
    #[error("invalid setting {id:?}: {reason}")]
    #[non_exhaustive]
    InvalidSetting {
        /// The id as given, cut short.
        id: String,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// The task has no switch among the server's settings
    /// (`ButlerTask<Name>`), so it cannot be turned on or off. Some tasks
    /// have none (`AutomaticUpdates`, `ButlerTaskCleanSupplementalLogFiles`,
    /// `ProcessAssets`, ...), and some are governed by a three-way
    /// `*Behavior` setting instead ([`crate::ButlerSettings::behaviors`]).
    /// Nothing was changed.
    #[error("{}", no_task_switch_message(.task, .switchable))]
    #[non_exhaustive]
    NoTaskSwitch {
        /// The task that was asked for.
        task: TaskName,
        /// The tasks the server's settings do have a switch for.
        switchable: Vec<TaskName>,
    },

    /// The server refused the request (401 or 403): the token is missing,
    /// wrong or expired; or the token has expired (498, from servers whose
    /// tokens expire: [`Error::is_token_expired`]).
    #[error("{}", unauthorized_message(*.status, *.token_sent, .server_message.as_deref()))]
    #[non_exhaustive]
    Unauthorized {
        /// 401, 403 or 498.
        status: u16,
        /// Whether a token was sent.
        token_sent: bool,
        /// The server's own words, when its body said any (a JSON
        /// `errors[].message`, or the HTML page's title).
        server_message: Option<String>,
    },

    /// A change of settings that the server answered as done but does not
    /// hold: read back after the change, each setting named here holds
    /// another value than the one asked. A server that ignores the change
    /// (or a proxy that answers 200 with its own login page) does this.
    ///
    /// Another client changing the same setting between this change and
    /// its reading back is a mismatch too: what is reported is what the
    /// server holds, whoever put it there. Either way the change cannot be
    /// called done; read the settings and decide again.
    #[error("{}", settings_not_applied_message(.mismatches))]
    #[non_exhaustive]
    SettingsNotApplied {
        /// Each setting that does not hold the value asked, in the order
        /// the change sent them.
        mismatches: Vec<crate::SettingMismatch>,
    },

    /// The server lists settings whose ids are the same but for case
    /// (`ButlerStartHour` and `butlerstarthour`), or the same id twice,
    /// and a change would touch one of them. Which one the server would
    /// change is unknown (its matching of ids is not documented), so
    /// even an id that matches one of them exactly is refused. Nothing
    /// was changed.
    #[error("{}", ambiguous_setting_message(.ids))]
    #[non_exhaustive]
    AmbiguousSetting {
        /// The ids that collide, as the server lists them, cut short.
        ids: Vec<String>,
    },

    /// A desired state ([`crate::DesiredSettings`]) that wants one task
    /// both on and off: two names the same but for case (task names are
    /// matched without regard to case), with different values. Refused
    /// before anything is read or sent; keep one of them.
    #[error("{}", conflicting_switches_message(.first, .second))]
    #[non_exhaustive]
    ConflictingTaskSwitches {
        /// The task as first given.
        first: TaskName,
        /// The same task, given again with the other value.
        second: TaskName,
    },

    /// The server has no task of that name (404 on start or stop).
    #[error("{}", unknown_task_message(.name, .suggestion.as_ref()))]
    #[non_exhaustive]
    UnknownTask {
        /// The name that was asked for.
        name: TaskName,
        /// The closest name, if one is close: from the server's own list
        /// when the call read it (stop), otherwise from the known names
        /// (start).
        suggestion: Option<TaskName>,
    },

    /// No answer within the timeout. The request may have reached the
    /// server.
    #[error("{}", timeout_message(.url, *.timeout))]
    #[non_exhaustive]
    Timeout {
        /// The server's base URL.
        url: String,
        /// The timeout that elapsed: the client's, or `None` when a
        /// supplied HTTP client's own timeout elapsed.
        timeout: Option<Duration>,
        /// How many requests the call made, and the limit of its
        /// [`crate::RetryPolicy`] that ended them, if one did.
        attempts: Attempts,
        /// The HTTP client's error, when it was the one that timed out.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// No connection could be made: refused, name not resolved, TLS
    /// handshake failed, or the connect timeout elapsed. Nothing was sent.
    #[error(
        "cannot connect to {url}: is the server running at {url}? (check the address, the port and, for https, the certificate)"
    )]
    #[non_exhaustive]
    Connect {
        /// The server's base URL.
        url: String,
        /// How many requests the call made, and the limit of its
        /// [`crate::RetryPolicy`] that ended them, if one did.
        attempts: Attempts,
        /// The HTTP client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The connection broke after the request was sent, before the whole
    /// answer came back (closed, reset, or a body cut short). The request
    /// may have reached the server.
    #[error("the connection to {url} broke off before the answer was complete: try again")]
    #[non_exhaustive]
    ConnectionLost {
        /// The server's base URL.
        url: String,
        /// How many requests the call made, and the limit of its
        /// [`crate::RetryPolicy`] that ended them, if one did.
        attempts: Attempts,
        /// The HTTP client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The server answered with a status the call does not expect: a
    /// server error (5xx), too many requests (429), a redirect, or another
    /// client error.
    #[error("{}", server_message(*.status, .body, *.retry_after, .location.as_deref()))]
    #[non_exhaustive]
    Server {
        /// The HTTP status.
        status: u16,
        /// The start of the body: short, with control characters escaped.
        body: String,
        /// How long the server asked to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
        /// Where a redirect points (`Location`), for a 3xx.
        location: Option<String>,
        /// How many requests the call made, and the limit of its
        /// [`crate::RetryPolicy`] that ended them, if one did.
        attempts: Attempts,
    },

    /// The answer could not be read as what the call expects: not JSON
    /// (often XML or HTML, from something that is not a Plex Media Server
    /// or a proxy that drops the `Accept` header), or JSON of another shape.
    #[error("{}", decode_message(.content_type.as_deref(), .excerpt))]
    #[non_exhaustive]
    Decode {
        /// The media type of what came back: the `Content-Type` header when
        /// the answer kept it, otherwise what the body looks like
        /// (`text/xml`, `text/html`, `application/json`), or `None` when
        /// neither tells.
        content_type: Option<String>,
        /// The start of the body: short, with control characters escaped.
        excerpt: String,
        /// What did not fit.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The blocking client was called on an async runtime's own thread,
    /// where blocking would stall it. Use the async [`crate::Client`]
    /// there, or call from `spawn_blocking` (see
    /// `plex_butler::blocking::Client`; under `panic = "abort"`, any call
    /// inside a runtime's context).
    #[error(
        "the blocking client cannot run on an async runtime's thread: use plex_butler::Client (async) there, \
         or call it from spawn_blocking"
    )]
    BlockingInAsyncContext,
}

impl Error {
    /// Whether trying again later may succeed: no connection, a timeout, a
    /// broken connection, or 429, 502, 503, 504.
    ///
    /// The client already retries these per its [`crate::RetryPolicy`]
    /// where that is safe. Note that after [`Error::Timeout`] and
    /// [`Error::ConnectionLost`] the request may have been carried out.
    pub fn is_retryable(&self) -> bool {
        crate::retry::passing(self).is_some()
    }

    /// Whether the server said the token has expired (498): newer servers
    /// issue tokens that expire after a few days, and a job that kept an
    /// old one needs a new one, not a retry.
    pub fn is_token_expired(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized {
                status: TOKEN_EXPIRED,
                ..
            }
        )
    }

    /// How many requests the call made before it failed, and the limit
    /// of its [`crate::RetryPolicy`] that ended them, if one did: for the
    /// failures that may pass ([`Error::Timeout`], [`Error::Connect`],
    /// [`Error::ConnectionLost`], [`Error::Server`]), which are the ones
    /// retried. `None` for the others.
    ///
    /// Each error carries its own count, so that calls made side by side
    /// (to one server or several) each tell their own.
    pub fn attempts(&self) -> Option<Attempts> {
        match self {
            Self::Timeout { attempts, .. }
            | Self::Connect { attempts, .. }
            | Self::ConnectionLost { attempts, .. }
            | Self::Server { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// The same error, saying how many requests its call made.
    pub(crate) fn with_attempts(mut self, made: Attempts) -> Self {
        match &mut self {
            Self::Timeout { attempts, .. }
            | Self::Connect { attempts, .. }
            | Self::ConnectionLost { attempts, .. }
            | Self::Server { attempts, .. } => *attempts = made,
            _ => {}
        }
        self
    }

    /// The HTTP status the server answered, for errors that come from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { status, .. } | Self::Server { status, .. } => Some(*status),
            // Start's status; stop's (`stop_task::NOT_FOUND`) is the same.
            Self::UnknownTask { .. } => Some(start_task::NO_SUCH_TASK),
            Self::NotCancellable { .. } => Some(cancel_activity::NOT_CANCELLABLE),
            Self::UnknownSetting { .. } => Some(get_preference::NO_SUCH_SETTING),
            Self::SettingsRefused { status, .. } => Some(*status),
            Self::EventsUnsupported => Some(404),
            _ => None,
        }
    }

    pub(crate) fn invalid_config(message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            message: message.into(),
            source: None,
        }
    }
}

fn unauthorized_message(status: u16, token_sent: bool, server: Option<&str>) -> String {
    if status == TOKEN_EXPIRED {
        return "the token has expired (498): get a new token (sign in to Plex again) \
                and use it in place of the old one"
            .to_owned();
    }
    let mut message = format!("the server refused access ({status}");
    if let Some(server) = server {
        let _ = write!(message, ": {server}");
    }
    message.push_str("): ");
    message.push_str(if token_sent {
        "check the token; it may be wrong or expired"
    } else {
        "this server needs a token; set one (X-Plex-Token)"
    });
    message
}

fn timeout_message(url: &str, timeout: Option<Duration>) -> String {
    let within = match timeout {
        Some(timeout) => format!("within {}", format_duration(timeout)),
        None => "in time".to_owned(),
    };
    format!(
        "the server at {url} did not answer {within}: it may be busy; try again, or raise the timeout"
    )
}

fn wait_timed_out_message(waited: Duration, running: &[Activity], watching: u32) -> String {
    if watching > 0 {
        let who = if watching == 1 {
            "someone was still watching (1 playback)".to_owned()
        } else {
            format!("someone was still watching ({watching} playbacks)")
        };
        let work = if running.is_empty() {
            ""
        } else {
            " and Butler work was running"
        };
        return format!(
            "the server was not idle after {}: {who}{work}; nothing was started. Try later, or wait longer",
            format_duration(waited)
        );
    }
    if running.is_empty() {
        // The first look itself did not come back in time.
        return format!(
            "the server did not say within {} whether Butler work is running: wait longer, or look at the server's activities",
            format_duration(waited)
        );
    }
    let mut message = format!(
        "Butler work was still running after {}",
        format_duration(waited)
    );
    let shown: Vec<String> = running
        .iter()
        .map(|a| crate::response::excerpt(a.to_string().as_bytes(), None))
        .collect();
    let _ = write!(message, " ({})", shown.join(", "));
    message.push_str(": it goes on; wait longer, or look at the server's activities");
    message
}

fn settings_refused_message(status: u16, ids: &[String]) -> String {
    let sent = ids
        .iter()
        .map(|id| format!("{id:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut message = format!(
        "the server refused the change of {sent} ({status}): one of these settings does not exist or its value does not fit it; nothing was changed. List the settings to see their ids and choices"
    );
    if status == 403 {
        message.push_str(" (a 403 may also mean that this token may not change settings)");
    }
    message
}

fn settings_not_applied_message(mismatches: &[crate::SettingMismatch]) -> String {
    let held: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
    format!(
        "the server answered the change but still holds {}: it ignored the change \
         (a proxy's login page also answers 200), or another client changed it since; \
         read the settings again before deciding what to change",
        held.join(", ")
    )
}

fn ambiguous_setting_message(ids: &[String]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    format!(
        "the server lists settings whose ids differ only in case ({}): which of them a change \
         would reach is unknown, so nothing was changed",
        ids.join(", ")
    )
}

fn no_task_switch_message(task: &TaskName, switchable: &[TaskName]) -> String {
    let mut message = format!(
        "the task {:?} has no switch among the server's settings, so it cannot be turned on or off",
        task.as_str()
    );
    if switchable.is_empty() {
        message.push_str(" (the server has no task switches at all)");
    } else {
        let names: Vec<&str> = switchable.iter().map(TaskName::as_str).collect();
        let _ = write!(message, "; tasks with a switch: {}", names.join(", "));
    }
    message
}

fn unknown_task_message(name: &TaskName, suggestion: Option<&TaskName>) -> String {
    let mut message = format!("the server has no task named {:?}", name.as_str());
    match suggestion {
        Some(suggestion) => {
            let _ = write!(message, "; did you mean {:?}?", suggestion.as_str());
        }
        None => message.push_str("; list the tasks to see the names it knows"),
    }
    message
}

fn server_message(
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
    location: Option<&str>,
) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut message = format!("the server answered {status} {reason}")
        .trim_end()
        .to_owned();
    let advice = match status {
        300..=399 => match location {
            Some(location) => format!(
                "it redirects to {}: use that address as the base URL",
                crate::response::excerpt(location.as_bytes(), None)
            ),
            None => "it redirects: check the base URL".to_owned(),
        },
        404 => "is this the address of a Plex Media Server?".to_owned(),
        429 => match retry_after {
            Some(wait) => format!("it asks to wait {}; try again then", format_duration(wait)),
            None => "too many requests; try again later".to_owned(),
        },
        500..=599 => match retry_after {
            Some(wait) => format!("try again in {}", format_duration(wait)),
            None => "try again later, or check the server's logs".to_owned(),
        },
        _ => "check the request and the server's logs".to_owned(),
    };
    let _ = write!(message, ": {advice}");
    if !body.is_empty() {
        let _ = write!(message, " (body: {body})");
    }
    message
}

fn decode_message(content_type: Option<&str>, excerpt: &str) -> String {
    let kind = content_type.map(|c| c.to_ascii_lowercase());
    let mut message = match kind.as_deref() {
        Some(c) if c.contains("xml") => "the server answered XML where JSON was asked: \
             is this a Plex Media Server, or does a proxy drop the Accept header?"
            .to_owned(),
        Some(c) if c.contains("html") => "the server answered an HTML page where JSON was asked: \
             is this the address of a Plex Media Server?"
            .to_owned(),
        _ if excerpt.is_empty() => "the server answered an empty body where JSON was asked: \
             try again, or check the server's logs"
            .to_owned(),
        _ => "the server's answer is not the JSON this client expects: \
             check that this is a Plex Media Server"
            .to_owned(),
    };
    if let Some(content_type) = content_type {
        let _ = write!(message, " (content type {content_type})");
    }
    if !excerpt.is_empty() {
        let _ = write!(message, " (body: {excerpt})");
    }
    message
}

pub(crate) fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// The words of [`Error::ConflictingTaskSwitches`]: both names when they
/// differ (in case).
fn conflicting_switches_message(first: &TaskName, second: &TaskName) -> String {
    let named = if first.as_str() == second.as_str() {
        format!("'{}' is", first.as_str())
    } else {
        format!(
            "'{}' and '{}' (the same task: names are matched without regard to case) are",
            first.as_str(),
            second.as_str()
        )
    };
    format!("{named} wanted both on and off: keep one; nothing was changed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5 s");
    }
}
