//! What a command did on one server: one [`Report`] value, a variant per
//! command, kept in the server's [`Part`] as the command goes, so that the
//! output can always say it: at the end, after an error, after Ctrl-C or
//! when `--deadline` passes mid-call.

use std::time::{Duration, Instant};

use plex_butler::{Activity, Sessions, WaitProgress};

use crate::args::Command;
use crate::failure::{ErrorKind, Failure};
use crate::text::{human, sanitize};
use crate::views::{
    CurrentStep, ListedTask, SettingChange, SettingsView, StepResult, SwitchResult, TaskResult,
    WaitSummary, WindowView,
};

/// What a command reports, by command.
#[derive(Debug)]
pub enum Report {
    /// `list`: the tasks, once read.
    List {
        /// The tasks, sorted by name.
        tasks: Option<Vec<ListedTask>>,
    },
    /// `show`: the task, once read.
    Show {
        /// The task.
        task: Option<ListedTask>,
    },
    /// `start`: what was done, in order, and the wait.
    Start {
        /// One entry per task acted on.
        results: Vec<TaskResult>,
        /// `--wait`.
        wait: Wait,
    },
    /// `stop`: what was done, in order.
    Stop {
        /// One entry per task acted on.
        results: Vec<TaskResult>,
    },
    /// `start-all`: whether the server took it, and the wait.
    StartAll {
        /// The server took the request.
        accepted: bool,
        /// `--wait`.
        wait: Wait,
    },
    /// `stop-all`: whether the server took it.
    StopAll {
        /// The server took the request.
        accepted: bool,
    },
    /// `activities`: what the server works on, once read.
    Activities {
        /// The activities.
        activities: Option<Vec<Activity>>,
    },
    /// `settings`: the Butler's settings, once read.
    Settings {
        /// The settings.
        settings: Option<SettingsView>,
    },
    /// `window` and `window set`.
    Window {
        /// The window (after `set`, the one set); `Some(None)` when the
        /// server has none.
        window: Option<Option<WindowView>>,
        /// `window set`: the window before.
        previous: Option<WindowView>,
        /// `window set`: whether the server was changed.
        changed: Option<bool>,
    },
    /// `enable`: each task's switch.
    Enable {
        /// What became of each switch.
        switches: Vec<SwitchResult>,
    },
    /// `disable`: each task's switch.
    Disable {
        /// What became of each switch.
        switches: Vec<SwitchResult>,
    },
    /// `apply FILE`: the plan of changes and what became of it.
    Apply {
        /// The file, as given.
        file: String,
        /// Whether it is a dry run.
        dry_run: bool,
        /// The plan of changes, once made.
        changes: Option<Vec<SettingChange>>,
        /// Whether the changes were made.
        applied: bool,
    },
    /// `sessions`: what plays, once read.
    Sessions {
        /// The sessions.
        sessions: Option<Sessions>,
    },
    /// `run`: the steps that ended, and the one under way.
    Run {
        /// The steps that ended.
        steps: Vec<StepResult>,
        /// The step under way.
        current: Option<CurrentStep>,
    },
    /// `watch`: how many ended activities it reported (its lines are
    /// printed as they come).
    Watch {
        /// The ended activities reported.
        ended: u64,
    },
    /// A command that reports nothing of a server (`schema`,
    /// `completions`): only an error, if any.
    Nothing,
}

/// A wait (`--wait`): when it began and what it last saw, then how it
/// ended.
#[derive(Debug, Default)]
pub struct Wait {
    /// The wait under way.
    pub state: Option<WaitState>,
    /// How the wait ended, when it did.
    pub summary: Option<WaitSummary>,
}

/// A wait under way.
#[derive(Debug)]
pub struct WaitState {
    /// When the wait began.
    pub started: Instant,
    /// The last look at the server.
    pub last: Option<WaitProgress>,
}

impl Report {
    /// Nothing done yet of `command`.
    pub fn new(command: &Command) -> Self {
        match command {
            Command::List => Self::List { tasks: None },
            Command::Show { .. } => Self::Show { task: None },
            Command::Start { .. } => Self::Start {
                results: Vec::new(),
                wait: Wait::default(),
            },
            Command::Stop { .. } => Self::Stop {
                results: Vec::new(),
            },
            Command::StartAll { .. } => Self::StartAll {
                accepted: false,
                wait: Wait::default(),
            },
            Command::StopAll => Self::StopAll { accepted: false },
            Command::Activities => Self::Activities { activities: None },
            Command::Settings => Self::Settings { settings: None },
            Command::Window { .. } => Self::Window {
                window: None,
                previous: None,
                changed: None,
            },
            Command::Enable { .. } => Self::Enable {
                switches: Vec::new(),
            },
            Command::Disable { .. } => Self::Disable {
                switches: Vec::new(),
            },
            Command::Apply { file, dry_run } => Self::Apply {
                file: file.display().to_string(),
                dry_run: *dry_run,
                changes: None,
                applied: false,
            },
            Command::Sessions => Self::Sessions { sessions: None },
            Command::Run(_) => Self::Run {
                steps: Vec::new(),
                current: None,
            },
            Command::Watch(_) => Self::Watch { ended: 0 },
            Command::Schema | Command::Completions { .. } => Self::Nothing,
        }
    }

    /// The command's name, as typed.
    pub fn command(&self) -> &'static str {
        match self {
            Self::List { .. } => "list",
            Self::Show { .. } => "show",
            Self::Start { .. } => "start",
            Self::Stop { .. } => "stop",
            Self::StartAll { .. } => "start-all",
            Self::StopAll { .. } => "stop-all",
            Self::Activities { .. } => "activities",
            Self::Settings { .. } => "settings",
            Self::Window { .. } => "window",
            Self::Enable { .. } => "enable",
            Self::Disable { .. } => "disable",
            Self::Apply { .. } => "apply",
            Self::Sessions { .. } => "sessions",
            Self::Run { .. } => "run",
            Self::Watch { .. } => "watch",
            Self::Nothing => "",
        }
    }

    /// What `start` and `stop` did to each task.
    pub fn results(&self) -> &[TaskResult] {
        match self {
            Self::Start { results, .. } | Self::Stop { results } => results,
            _ => &[],
        }
    }

    /// The wait of `start` and `start-all`.
    pub fn wait_mut(&mut self) -> Option<&mut Wait> {
        match self {
            Self::Start { wait, .. } | Self::StartAll { wait, .. } => Some(wait),
            _ => None,
        }
    }

    /// The wait of `start` and `start-all`.
    pub fn wait(&self) -> Option<&Wait> {
        match self {
            Self::Start { wait, .. } | Self::StartAll { wait, .. } => Some(wait),
            _ => None,
        }
    }

    /// Whether the server took a `start-all` or `stop-all`.
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            Self::StartAll { accepted: true, .. } | Self::StopAll { accepted: true }
        )
    }
}

/// One server's part of the run.
#[derive(Debug)]
pub struct Part {
    /// The server's base URL.
    pub server: String,
    /// What the command did there.
    pub report: Report,
    /// What went wrong.
    pub failure: Option<Failure>,
    /// Whether the command began on this server: with more servers than
    /// `--jobs`, some wait for a turn.
    pub started: bool,
    /// Whether the command got to its end (with or without a failure).
    pub finished: bool,
}

impl Part {
    /// Nothing done yet of `command` on `server`.
    pub fn new(command: &Command, server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            report: Report::new(command),
            failure: None,
            started: false,
            finished: false,
        }
    }

    /// The exit code this server's part gives.
    pub fn code(&self) -> u8 {
        self.failure.as_ref().map_or(0, |f| f.code)
    }

    /// Ends a part that was still going when the run was stopped from
    /// outside: a signal (`Interrupted`) or `--deadline` (`Deadline`, after
    /// `limit`), exiting with `code` (130 for Ctrl-C, 143 for SIGTERM, 129
    /// for SIGHUP). The message says what was done and that the server's
    /// work goes on.
    pub fn cut_short(&mut self, kind: ErrorKind, limit: Option<Duration>, code: u8) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Report::Run { steps, current } = &mut self.report
            && let Some(step) = current.take()
        {
            steps.push(StepResult::interrupted(&step));
        }
        let stopped = match (kind, limit) {
            (ErrorKind::Deadline, Some(limit)) => {
                format!("the --deadline of {} passed", human(limit))
            }
            _ => "interrupted".to_string(),
        };
        let mut message = stopped;
        if let Some(wait) = self.report.wait_mut()
            && let Some(state) = &wait.state
        {
            let waited = state.started.elapsed();
            wait.summary = Some(WaitSummary::cut_short(
                waited,
                state.last.as_ref(),
                kind == ErrorKind::Interrupted,
            ));
            message.push_str(&format!(" after {} of waiting", human(waited)));
            if let Some(last) = &state.last {
                let seen: Vec<String> = last
                    .activities
                    .iter()
                    .map(|a| sanitize(&a.to_string()))
                    .collect();
                if !seen.is_empty() {
                    message.push_str(&format!(" (last seen: {})", seen.join(", ")));
                }
            }
        }
        let done = self.done_words();
        if !self.started {
            message.push_str(" before this server's turn (see --jobs): nothing was sent to it");
        } else if done.is_empty() {
            message.push_str(
                ": nothing was confirmed done; a request already sent may still take effect",
            );
        } else {
            message.push_str(&format!(
                ": {done}; the server's work goes on, only this command stopped"
            ));
        }
        let mut failure = Failure::new(kind, message);
        failure.code = code;
        self.failure = Some(failure);
    }

    /// What was done, in words, for a message.
    fn done_words(&self) -> String {
        let mut done: Vec<String> = self
            .report
            .results()
            .iter()
            .map(|r| format!("{} {}", sanitize(&r.task), r.outcome.words()))
            .collect();
        if self.report.accepted() {
            done.push(format!("{} accepted", self.report.command()));
        }
        if let Report::Run { steps, .. } = &self.report {
            done.extend(
                steps
                    .iter()
                    .map(|s| format!("{} {}", sanitize(&s.task), s.outcome.words())),
            );
        }
        done.join(", ")
    }
}
