//! What a command did on one server, kept as it goes, so that the output
//! can always say it: at the end, after an error, after Ctrl-C or when
//! `--deadline` passes mid-call.

use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use plex_butler::{Activity, Sessions, WaitProgress};

use crate::failure::{Failure, human};
use crate::output::{ErrorKind, JsonOutput, ListedTask, Outcome, TaskResult, WaitSummary};
use crate::reports::{SettingChange, SettingsView, StepResult, SwitchResult, WindowView};
use crate::table;

/// One server's part of the run.
#[derive(Debug)]
pub struct Record {
    /// The command's name (`list`, `start`, ...).
    pub command: &'static str,
    /// The server's base URL.
    pub server: String,
    /// `list`: the tasks.
    pub tasks: Option<Vec<ListedTask>>,
    /// `show`: the task.
    pub task: Option<ListedTask>,
    /// `start`, `stop`: what was done, in order.
    pub results: Vec<TaskResult>,
    /// `start-all`, `stop-all`: the server took the request.
    pub accepted: bool,
    /// `activities`: what the server works on.
    pub activities: Option<Vec<Activity>>,
    /// `--wait`: when it began and what it last saw.
    pub wait: Option<WaitState>,
    /// How the wait ended, when it did.
    pub summary: Option<WaitSummary>,
    /// `settings`: the Butler's settings.
    pub settings: Option<SettingsView>,
    /// `window`: the window (after `set`, the one set); `Some(None)` when
    /// the server has none.
    pub window: Option<Option<WindowView>>,
    /// `window set`: the window before.
    pub previous_window: Option<WindowView>,
    /// `window set`: whether the server was changed.
    pub window_changed: Option<bool>,
    /// `enable`, `disable`: each task's switch.
    pub switches: Vec<SwitchResult>,
    /// `apply`: the plan of changes, once made.
    pub changes: Option<Vec<SettingChange>>,
    /// `apply`: whether the changes were made.
    pub applied: bool,
    /// `apply`: whether it was a dry run.
    pub dry_run: bool,
    /// `apply`: the file.
    pub file: String,
    /// `sessions`: what plays.
    pub sessions: Option<Sessions>,
    /// `run`: the steps that ended.
    pub steps: Vec<StepResult>,
    /// `run`: the step under way.
    pub current_step: Option<CurrentStep>,
    /// What went wrong.
    pub failure: Option<Failure>,
    /// Whether the command got to its end (with or without a failure).
    pub finished: bool,
}

/// A wait under way.
#[derive(Debug)]
pub struct WaitState {
    /// When the wait began.
    pub started: Instant,
    /// The last look at the server.
    pub last: Option<WaitProgress>,
}

/// A step of `run` under way.
#[derive(Debug)]
pub struct CurrentStep {
    /// Its task.
    pub task: String,
    /// When it began.
    pub started: Instant,
    /// When it began, by the wall clock.
    pub started_at: SystemTime,
    /// What the start answered, once it did: a step cut short while it
    /// waits for its work was started all the same.
    pub start: Option<Outcome>,
    /// Whether its Butler work was seen running.
    pub saw_activity: bool,
}

impl CurrentStep {
    /// A step that has just begun: not started, nothing seen.
    pub fn new(task: impl Into<String>) -> Self {
        Self {
            task: task.into(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            start: None,
            saw_activity: false,
        }
    }
}

impl Record {
    /// Nothing done yet.
    pub fn new(command: &'static str, server: impl Into<String>) -> Self {
        Self {
            command,
            server: server.into(),
            tasks: None,
            task: None,
            results: Vec::new(),
            accepted: false,
            activities: None,
            wait: None,
            summary: None,
            settings: None,
            window: None,
            previous_window: None,
            window_changed: None,
            switches: Vec::new(),
            changes: None,
            applied: false,
            dry_run: false,
            file: String::new(),
            sessions: None,
            steps: Vec::new(),
            current_step: None,
            failure: None,
            finished: false,
        }
    }

    /// The exit code this server's part gives.
    pub fn code(&self) -> u8 {
        self.failure.as_ref().map_or(0, |f| f.code)
    }

    /// Ends a part that was still going when the run was stopped from
    /// outside: Ctrl-C (`Interrupted`) or `--deadline` (`Deadline`, after
    /// `limit`). The message says what was done and that the server's
    /// work goes on.
    pub fn cut_short(&mut self, kind: ErrorKind, limit: Option<Duration>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(step) = self.current_step.take() {
            self.steps.push(StepResult::interrupted(&step));
        }
        let stopped = match (kind, limit) {
            (ErrorKind::Deadline, Some(limit)) => {
                format!("the --deadline of {} passed", human(limit))
            }
            _ => "interrupted".to_string(),
        };
        let mut message = stopped;
        if let Some(wait) = &self.wait {
            let waited = wait.started.elapsed();
            self.summary = Some(WaitSummary::cut_short(
                waited,
                wait.last.as_ref(),
                kind == ErrorKind::Interrupted,
            ));
            message.push_str(&format!(" after {} of waiting", human(waited)));
            if let Some(last) = &wait.last {
                let seen: Vec<String> = last
                    .activities
                    .iter()
                    .map(|a| table::sanitize(&a.to_string()))
                    .collect();
                if !seen.is_empty() {
                    message.push_str(&format!(" (last seen: {})", seen.join(", ")));
                }
            }
        }
        let done = self.done_words();
        if done.is_empty() {
            message.push_str(
                ": nothing was confirmed done; a request already sent may still take effect",
            );
        } else {
            message.push_str(&format!(
                ": {done}; the server's work goes on, only this command stopped"
            ));
        }
        self.failure = Some(Failure::new(kind, message));
    }

    /// What was done, in words, for a message.
    fn done_words(&self) -> String {
        let mut done: Vec<String> = self
            .results
            .iter()
            .map(|r| format!("{} {}", table::sanitize(&r.task), r.outcome.words()))
            .collect();
        if self.accepted {
            done.push(format!("{} accepted", self.command));
        }
        done.extend(
            self.steps
                .iter()
                .map(|s| format!("{} {}", table::sanitize(&s.task), s.outcome.words())),
        );
        done.join(", ")
    }

    /// The JSON document of this part.
    pub fn to_json(&self) -> JsonOutput {
        let error = self.failure.as_ref().map(Failure::info);
        match self.command {
            "list" => JsonOutput::List {
                tasks: self.tasks.clone(),
                error,
            },
            "show" => JsonOutput::Show {
                task: self.task.clone(),
                error,
            },
            "start" => JsonOutput::Start {
                results: self.results.clone(),
                wait: self.summary.clone(),
                error,
            },
            "stop" => JsonOutput::Stop {
                results: self.results.clone(),
                error,
            },
            "start-all" => JsonOutput::StartAll {
                server: self.server.clone(),
                wait: self.summary.clone(),
                error,
            },
            "stop-all" => JsonOutput::StopAll {
                server: self.server.clone(),
                error,
            },
            "activities" => JsonOutput::Activities {
                activities: self.activities.clone(),
                error,
            },
            "settings" => JsonOutput::Settings {
                settings: self.settings.clone(),
                error,
            },
            "window" => JsonOutput::Window {
                window: self.window,
                previous: self.previous_window,
                changed: self.window_changed,
                error,
            },
            "enable" => JsonOutput::Enable {
                tasks: self.switches.clone(),
                error,
            },
            "disable" => JsonOutput::Disable {
                tasks: self.switches.clone(),
                error,
            },
            "apply" => JsonOutput::Apply {
                file: self.file.clone(),
                dry_run: self.dry_run,
                changes: self.changes.clone(),
                applied: self.applied,
                error,
            },
            "sessions" => JsonOutput::Sessions {
                sessions: self.sessions.clone(),
                error,
            },
            "run" => JsonOutput::Run {
                steps: self.steps.clone(),
                error,
            },
            _ => JsonOutput::Error {
                error: error
                    .unwrap_or_else(|| Failure::new(ErrorKind::Other, "nothing to report").info()),
            },
        }
    }

    /// The lines said as soon as they happen: what each task did, and
    /// that the server took a start-all or stop-all.
    pub fn event_lines(&self, out: &mut impl Write) -> io::Result<()> {
        table::print_results(out, &self.results)?;
        if self.accepted {
            match self.command {
                "start-all" => writeln!(
                    out,
                    "start-all: the server starts or schedules its enabled tasks by its own criteria"
                )?,
                "stop-all" => writeln!(
                    out,
                    "stop-all: running tasks stopped, scheduled tasks cleared"
                )?,
                _ => {}
            }
        }
        Ok(())
    }

    /// What is printed once the part has ended: the data, or the wait's
    /// last line.
    pub fn end_lines(&self, out: &mut impl Write, quiet: bool) -> io::Result<()> {
        if let Some(tasks) = &self.tasks {
            table::print_tasks(out, tasks)?;
        }
        if let Some(task) = &self.task {
            table::print_task(out, task)?;
        }
        if let Some(activities) = &self.activities {
            table::print_activities(out, activities)?;
        }
        if let Some(settings) = &self.settings {
            table::print_settings(out, settings)?;
        }
        if let Some(window) = &self.window {
            table::print_window(
                out,
                *window,
                self.previous_window,
                self.window_changed,
                quiet,
            )?;
        }
        if !quiet {
            table::print_switches(out, &self.switches)?;
        }
        if let Some(changes) = &self.changes {
            table::print_changes(out, changes, &self.file, self.dry_run, self.applied, quiet)?;
        }
        if let Some(sessions) = &self.sessions {
            table::print_sessions(out, sessions)?;
        }
        if !self.steps.is_empty() && !quiet {
            table::print_steps(out, &self.steps)?;
        }
        if let Some(summary) = &self.summary
            && summary.done
            && !quiet
        {
            let said = if summary.saw_activity {
                "done: no Butler work is left"
            } else {
                "done: no Butler work was seen (it ended before the first look, or never started)"
            };
            writeln!(out, "{said}")?;
        }
        Ok(())
    }
}
