//! Why a command failed, in words (stderr), as a kind (JSON) and as an exit
//! code; the facade's errors put in the terms of this command's flags.

use std::time::Duration;

use plex_butler::Error;
use schemars::JsonSchema;
use serde::Serialize;

use crate::args::exit;
use crate::config::ConfigError;
use crate::text::{human, sanitize};

/// The client's timeout per answer when `--timeout` is not given (the
/// facade's default, set explicitly so that messages can name it).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the command failed, and the exit code that says so.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong, for programs.
    pub kind: ErrorKind,
    /// The exit code.
    pub code: u8,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The HTTP status the server answered, when one caused it.
    pub status: Option<u16>,
}

/// What went wrong; stderr says the same in words.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorInfo {
    /// The kind of error, for programs.
    pub kind: ErrorKind,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The exit code it gives.
    pub exit_code: u8,
}

/// The kinds of error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A bad flag, task name syntax or command line (exit code 2).
    Usage,
    /// The config file, a token file or a profile is unusable (exit code 2).
    Config,
    /// The server refused the token (exit code 3).
    Unauthorized,
    /// A task name the server does not know (exit code 4).
    UnknownTask,
    /// A task the server's settings have no switch for, so that it cannot
    /// be turned on or off (exit code 4).
    NoTaskSwitch,
    /// The server answered a change of settings, but its settings, read
    /// back, do not hold it (exit code 6).
    SettingsNotApplied,
    /// The server lists settings whose ids differ only in case, and the
    /// change would touch one: nothing was sent (exit code 1).
    AmbiguousSetting,
    /// No connection could be made, or it broke off (exit code 5).
    Unreachable,
    /// The server did not answer within `--timeout` (exit code 5).
    Timeout,
    /// `--wait-timeout` passed with Butler work still running (exit code 5).
    WaitTimedOut,
    /// `--deadline` passed (exit code 5).
    Deadline,
    /// Ctrl-C (exit code 130), SIGTERM (143) or SIGHUP (129); the server's
    /// work goes on.
    Interrupted,
    /// The server answered with an unexpected status (exit code 1).
    Server,
    /// The server's answer could not be read (exit code 1).
    Decode,
    /// Anything else (exit code 1).
    Other,
}

impl Failure {
    /// A failure of `kind`, with the exit code of that kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let code = match kind {
            ErrorKind::Usage | ErrorKind::Config => exit::USAGE,
            ErrorKind::Unauthorized => exit::UNAUTHORIZED,
            ErrorKind::UnknownTask | ErrorKind::NoTaskSwitch => exit::UNKNOWN_TASK,
            ErrorKind::Unreachable
            | ErrorKind::Timeout
            | ErrorKind::WaitTimedOut
            | ErrorKind::Deadline => exit::UNREACHABLE,
            ErrorKind::Interrupted => exit::INTERRUPTED,
            ErrorKind::SettingsNotApplied => exit::NOT_APPLIED,
            ErrorKind::Server
            | ErrorKind::Decode
            | ErrorKind::AmbiguousSetting
            | ErrorKind::Other => exit::OTHER,
        };
        Self {
            kind,
            code,
            message: message.into(),
            status: None,
        }
    }

    /// The JSON form.
    pub fn info(&self) -> ErrorInfo {
        ErrorInfo {
            kind: self.kind,
            message: self.message.clone(),
            exit_code: self.code,
        }
    }

    /// A facade error of one call to `server`, which took `elapsed`, with
    /// `timeout` per answer.
    pub fn from_call(error: Error, server: &str, timeout: Duration, elapsed: Duration) -> Self {
        Self::described(&error, server, timeout, Some(elapsed))
    }

    /// A facade error met in the course of a longer operation (a step of a
    /// plan), whose calls' durations are not known one by one.
    pub fn of_call(error: &Error, server: &str, timeout: Duration) -> Self {
        Self::described(error, server, timeout, None)
    }

    fn described(
        error: &Error,
        server: &str,
        timeout: Duration,
        elapsed: Option<Duration>,
    ) -> Self {
        let status = error.status();
        let mut failure = match error {
            Error::Timeout { .. } => Failure::new(
                ErrorKind::Timeout,
                timeout_message(
                    server,
                    timeout,
                    error.attempts().map_or(1, |a| a.made),
                    elapsed,
                ),
            ),
            Error::Connect { .. } if dns_failed(error) => Failure::new(
                ErrorKind::Unreachable,
                format!(
                    "cannot find the server {}: its name does not resolve (DNS). Check the spelling of the address",
                    host_of(server)
                ),
            ),
            Error::Server {
                status: 300..=399,
                location: Some(location),
                ..
            } => Failure::new(ErrorKind::Server, redirect_message(error, location)),
            _ => Failure::from(error),
        };
        failure.status = status;
        failure
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::from(&error)
    }
}

impl From<&Error> for Failure {
    fn from(error: &Error) -> Self {
        let kind = match error {
            Error::Unauthorized { .. } => ErrorKind::Unauthorized,
            Error::UnknownTask { .. } => ErrorKind::UnknownTask,
            Error::NoTaskSwitch { .. } => ErrorKind::NoTaskSwitch,
            Error::SettingsNotApplied { .. } => ErrorKind::SettingsNotApplied,
            Error::AmbiguousSetting { .. } => ErrorKind::AmbiguousSetting,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Connect { .. } | Error::ConnectionLost { .. } => ErrorKind::Unreachable,
            Error::WaitTimedOut { .. } => ErrorKind::WaitTimedOut,
            Error::InvalidConfig { .. }
            | Error::InvalidTaskName { .. }
            | Error::ConflictingTaskSwitches { .. } => ErrorKind::Usage,
            Error::Server { .. } | Error::SettingsRefused { .. } => ErrorKind::Server,
            Error::Decode { .. } => ErrorKind::Decode,
            _ => ErrorKind::Other,
        };
        let mut message = error.to_string();
        if error.is_token_expired() {
            message.push_str(
                "; then pass it with PLEX_TOKEN, --token-file or `token` in the config file",
            );
        }
        Failure::new(kind, message)
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::new(ErrorKind::Config, error.0)
    }
}

fn timeout_message(
    server: &str,
    timeout: Duration,
    attempts: u32,
    elapsed: Option<Duration>,
) -> String {
    let tries = match attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let in_all = elapsed.map_or(String::new(), |e| format!(", {} in all", human(e)));
    format!(
        "the server at {server} did not answer within {} (--timeout, for each answer): \
         {tries}{in_all}. It may be busy: try again, raise --timeout, \
         or bound the whole command with --deadline",
        human(timeout),
    )
}

/// Whether a connection failed because the name did not resolve.
fn dns_failed(error: &Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return true;
        }
        source = e.source();
    }
    false
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_string()
}

/// The facade's words for a redirect, with the base URL to use: the
/// address the server points to, less the API path that was asked for
/// (`http://host/butler` means the base URL `http://host`).
fn redirect_message(error: &Error, location: &str) -> String {
    let location = sanitize(location);
    let trimmed = location.split(['?', '#']).next().unwrap_or(&location);
    let base = ["/butler", "/activities"]
        .iter()
        .find_map(|api| {
            let at = trimmed.find(api)?;
            let after = &trimmed[at + api.len()..];
            (after.is_empty() || after.starts_with('/')).then(|| &trimmed[..at])
        })
        .unwrap_or(trimmed);
    let status = error.status().unwrap_or_default();
    format!(
        "the server answered {status}: it redirects to {location}; use {base} as the server's base URL"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_base_urls() {
        assert_eq!(host_of("http://plex.invalid:32400/"), "plex.invalid:32400");
        assert_eq!(host_of("https://h"), "h");
    }
}
