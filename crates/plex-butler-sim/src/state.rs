//! Snapshots of the Butler's state, for tests to inspect.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The Butler as it is at one instant: every task and every activity.
/// Returned by [`Simulator::state`](crate::Simulator::state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButlerState {
    /// The clock's time when the snapshot was taken; the tasks are brought up
    /// to this time first.
    pub now: DateTime<Utc>,
    /// The tasks, in the order `GET /butler` lists them.
    pub tasks: Vec<TaskState>,
    /// The activities `GET /activities` shows: one per running task or,
    /// with [`aggregate_activity`](Self::aggregate_activity), one for all.
    pub activities: Vec<Activity>,
    /// Whether running Butler work shows as one "Butler tasks" activity
    /// ([`SimulatorBuilder::aggregate_butler_activity`](crate::SimulatorBuilder::aggregate_butler_activity)).
    pub aggregate_activity: bool,
}

/// One task and what it is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// The task's name.
    pub name: String,
    /// Days between runs.
    pub interval_days: u32,
    /// Whether it runs at a random time within the window.
    pub randomized: bool,
    /// Whether it is enabled.
    pub enabled: bool,
    /// How long one run takes.
    pub duration: Duration,
    /// When it last finished a run (stopped runs do not count).
    pub last_run: Option<DateTime<Utc>>,
    /// Idle, scheduled or running: always exactly one.
    pub status: TaskStatus,
}

/// What a task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Neither running nor scheduled.
    Idle,
    /// Queued to start at `at` (by start-all, inside the window).
    Scheduled {
        /// When it starts.
        at: DateTime<Utc>,
    },
    /// Running since `started`.
    Running {
        /// When the run started.
        started: DateTime<Utc>,
        /// How far along it is, 0..=99 (it finishes on reaching 100).
        progress: u8,
    },
}

impl TaskStatus {
    /// Whether the task is idle.
    pub fn is_idle(&self) -> bool {
        matches!(self, TaskStatus::Idle)
    }

    /// Whether the task is scheduled.
    pub fn is_scheduled(&self) -> bool {
        matches!(self, TaskStatus::Scheduled { .. })
    }

    /// Whether the task is running.
    pub fn is_running(&self) -> bool {
        matches!(self, TaskStatus::Running { .. })
    }
}

/// A running task as `GET /activities` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The activity's id, new for every run (derived from the seed).
    pub uuid: String,
    /// The name of the task that runs (aggregate: the first running task
    /// in list order, whose progress it shows).
    pub task: String,
    /// The activity's title: the task's title, or its name when it has none
    /// (aggregate: "Butler tasks").
    pub title: String,
    /// The activity's subtitle: empty (aggregate: the title of the task it
    /// names).
    pub subtitle: String,
    /// Progress, 0..=99.
    pub progress: u8,
    /// Whether `DELETE /activities/{uuid}` may cancel it.
    pub cancellable: bool,
}

impl ButlerState {
    /// The task of that name.
    pub fn task(&self, name: &str) -> Option<&TaskState> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The status of the task of that name.
    pub fn status(&self, name: &str) -> Option<TaskStatus> {
        self.task(name).map(|t| t.status)
    }

    /// The names of the running tasks, in list order.
    pub fn running(&self) -> Vec<&str> {
        self.names_where(TaskStatus::is_running)
    }

    /// The names of the scheduled tasks, in list order.
    pub fn scheduled(&self) -> Vec<&str> {
        self.names_where(TaskStatus::is_scheduled)
    }

    fn names_where(&self, keep: impl Fn(&TaskStatus) -> bool) -> Vec<&str> {
        self.tasks
            .iter()
            .filter(|t| keep(&t.status))
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Checks what must hold at every instant, as long as the clock does not
    /// go backwards:
    /// - task names are unique;
    /// - a running task started at or before `now` and its run has not yet
    ///   lasted its duration; its progress is below 100;
    /// - a scheduled task starts after `now` (at `now` it would be running);
    /// - no last run lies in the future;
    /// - activities and running tasks match one to one (same task, same
    ///   progress), with distinct ids; in aggregate mode, one activity while
    ///   any task runs, naming a running task with its progress.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let fail = |what: String| Err(InvariantViolation(what));
        let mut names = HashSet::new();
        for task in &self.tasks {
            let name = &task.name;
            if !names.insert(name.as_str()) {
                return fail(format!("task {name:?} is listed twice"));
            }
            if task.last_run.is_some_and(|t| t > self.now) {
                return fail(format!("task {name:?} last ran in the future"));
            }
            match task.status {
                TaskStatus::Idle => {}
                TaskStatus::Scheduled { at } => {
                    if at <= self.now {
                        return fail(format!("task {name:?} is scheduled at {at}, not after now"));
                    }
                }
                TaskStatus::Running { started, progress } => {
                    if started > self.now {
                        return fail(format!("task {name:?} started in the future"));
                    }
                    let elapsed = (self.now - started).to_std().unwrap_or_default();
                    if elapsed >= task.duration {
                        return fail(format!("task {name:?} runs past its duration"));
                    }
                    if progress > 99 {
                        return fail(format!("task {name:?} runs at {progress}%"));
                    }
                }
            }
        }
        let mut ids = HashSet::new();
        for activity in &self.activities {
            if !ids.insert(activity.uuid.as_str()) {
                return fail(format!("activity {} is listed twice", activity.uuid));
            }
            match self.status(&activity.task) {
                Some(TaskStatus::Running { progress, .. }) if progress == activity.progress => {}
                other => {
                    return fail(format!(
                        "activity for {:?} does not match its task ({other:?})",
                        activity.task
                    ));
                }
            }
        }
        let running = self.tasks.iter().filter(|t| t.status.is_running()).count();
        let expected = if self.aggregate_activity {
            running.min(1)
        } else {
            running
        };
        if expected != self.activities.len() {
            return fail(format!(
                "{running} running tasks but {} activities",
                self.activities.len()
            ));
        }
        Ok(())
    }
}

/// A rule of [`ButlerState::check_invariants`] that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Butler invariant violated: {}", self.0)
    }
}

impl std::error::Error for InvariantViolation {}
