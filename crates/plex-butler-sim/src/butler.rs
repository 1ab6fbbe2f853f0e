//! The Butler's state machine. Pure: every operation takes the current time,
//! so the server, the tests and the clock agree on what happened when.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::state::{Activity, ButlerState, TaskState, TaskStatus};
use crate::task::TaskSpec;
use crate::window::Window;

/// What `POST /butler/{task}` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartOutcome {
    Started,
    AlreadyRunning,
    UnknownTask,
}

/// What `DELETE /butler/{task}` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopOutcome {
    Stopped,
    Unscheduled,
    NotRunning,
    UnknownTask,
}

/// What `DELETE /activities/{uuid}` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelOutcome {
    Cancelled,
    NotCancellable,
    UnknownActivity,
}

#[derive(Debug, Clone)]
enum Status {
    Idle,
    // The activity id is drawn when the run is decided, not when it starts,
    // so ids depend only on the order of requests, never on when the state
    // happens to be looked at.
    Scheduled {
        at: DateTime<Utc>,
        activity: String,
    },
    Running {
        started: DateTime<Utc>,
        activity: String,
    },
}

#[derive(Debug)]
struct Task {
    spec: TaskSpec,
    duration: TimeDelta,
    last_run: Option<DateTime<Utc>>,
    status: Status,
}

fn ends(started: DateTime<Utc>, duration: TimeDelta) -> DateTime<Utc> {
    started
        .checked_add_signed(duration)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Task {
    /// Brings the task up to `now`: a scheduled run whose time has come
    /// starts, a run that has lasted its duration finishes.
    fn advance(&mut self, now: DateTime<Utc>) {
        let duration = self.duration;
        loop {
            match &mut self.status {
                Status::Scheduled { at, activity } if *at <= now => {
                    self.status = Status::Running {
                        started: *at,
                        activity: std::mem::take(activity),
                    };
                }
                Status::Running { started, .. } if ends(*started, duration) <= now => {
                    self.last_run = Some(ends(*started, duration));
                    self.status = Status::Idle;
                }
                _ => return,
            }
        }
    }

    fn progress(&self, started: DateTime<Utc>, now: DateTime<Utc>) -> u8 {
        let total = self.duration.num_milliseconds();
        let done = (now - started).num_milliseconds();
        if total <= 0 || done <= 0 {
            return 0;
        }
        let percent = i128::from(done) * 100 / i128::from(total);
        u8::try_from(percent.clamp(0, 99)).unwrap_or(99)
    }

    fn title(&self) -> &str {
        self.spec.title.as_deref().unwrap_or(&self.spec.name)
    }
}

/// Settings of the Butler that do not change while it runs.
#[derive(Debug, Clone)]
pub(crate) struct ButlerConfig {
    pub tasks: Vec<TaskSpec>,
    pub window: Window,
    pub task_duration: Duration,
    pub seed: u64,
    pub cancellable_activities: bool,
    /// One "Butler tasks" activity for all running work, as a real server
    /// shows it, instead of one per task.
    pub aggregate_activity: bool,
}

/// All the tasks and what they are doing.
#[derive(Debug)]
pub(crate) struct Butler {
    tasks: Vec<Task>,
    by_name: HashMap<String, usize>,
    window: Window,
    cancellable: bool,
    schedule_rng: fastrand::Rng,
    id_rng: fastrand::Rng,
    /// In aggregate mode: the id of the one activity while any task runs.
    aggregate: Option<AggregateId>,
}

/// The aggregate activity's id: drawn when the first task starts, kept
/// while any task runs, dropped when the last ends.
#[derive(Debug)]
struct AggregateId {
    current: Option<String>,
    rng: fastrand::Rng,
}

/// The aggregate activity's title, as a real server shows it.
pub(crate) const AGGREGATE_TITLE: &str = "Butler tasks";

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Butler {
    /// A Butler with every task idle. Names must be unique (the builder
    /// checks); a later duplicate would be unreachable by name.
    pub(crate) fn new(config: ButlerConfig) -> Self {
        let tasks: Vec<Task> = config
            .tasks
            .into_iter()
            .map(|spec| Task {
                duration: to_delta(spec.duration.unwrap_or(config.task_duration)),
                last_run: spec.last_run,
                status: Status::Idle,
                spec,
            })
            .collect();
        let mut by_name = HashMap::with_capacity(tasks.len());
        for (i, task) in tasks.iter().enumerate() {
            by_name.entry(task.spec.name.clone()).or_insert(i);
        }
        Self {
            tasks,
            by_name,
            window: config.window,
            cancellable: config.cancellable_activities,
            schedule_rng: fastrand::Rng::with_seed(config.seed),
            // A second stream, so that drawing ids never shifts schedules.
            id_rng: fastrand::Rng::with_seed(config.seed ^ 0x9e37_79b9_7f4a_7c15),
            // A third stream, so that the aggregate's ids shift no other.
            aggregate: config.aggregate_activity.then(|| AggregateId {
                current: None,
                rng: fastrand::Rng::with_seed(config.seed ^ 0x2545_f491_4f6c_dd1d),
            }),
        }
    }

    /// Keeps the aggregate activity's id in step with the running tasks.
    fn settle(&mut self) {
        let running = self
            .tasks
            .iter()
            .any(|t| matches!(t.status, Status::Running { .. }));
        if let Some(aggregate) = &mut self.aggregate {
            match (&aggregate.current, running) {
                (None, true) => aggregate.current = Some(uuid(&mut aggregate.rng)),
                (Some(_), false) => aggregate.current = None,
                _ => {}
            }
        }
    }

    /// Moves the maintenance window (`ButlerStartHour`/`ButlerEndHour`
    /// changed). Runs already scheduled keep their times.
    pub(crate) fn set_window(&mut self, start_hour: u32, end_hour: u32) {
        self.window = self.window.with_hours(start_hour, end_hour);
    }

    /// Switches a task on or off (its `ButlerTask<Name>` setting changed):
    /// what start-all starts from now on. A run already running or
    /// scheduled is left alone.
    pub(crate) fn set_enabled(&mut self, name: &str, enabled: bool) {
        if let Some(&i) = self.by_name.get(name) {
            self.tasks[i].spec.enabled = enabled;
        }
    }

    /// The tasks as configured, in list order.
    pub(crate) fn specs(&self) -> impl Iterator<Item = &TaskSpec> {
        self.tasks.iter().map(|task| &task.spec)
    }

    /// Brings every task up to `now`.
    pub(crate) fn advance(&mut self, now: DateTime<Utc>) {
        for task in &mut self.tasks {
            task.advance(now);
        }
        self.settle();
    }

    fn new_activity_id(&mut self) -> String {
        uuid(&mut self.id_rng)
    }

    fn is_due(&self, task: &Task, now: DateTime<Utc>) -> bool {
        let Some(last_run) = task.last_run else {
            return true;
        };
        let today = self.window.local_date(now);
        let last_day = self.window.local_date(last_run);
        match last_day.checked_add_days(chrono::Days::new(u64::from(task.spec.interval_days))) {
            Some(next_day) => next_day <= today,
            None => false,
        }
    }

    fn run_now(&mut self, i: usize, now: DateTime<Utc>) {
        let activity = self.new_activity_id();
        self.tasks[i].status = Status::Running {
            started: now,
            activity,
        };
    }

    /// `POST /butler`: the four documented criteria. Disabled tasks, tasks
    /// not due today, and tasks already running or scheduled are left alone.
    /// Inside the window, randomized tasks are scheduled at a random whole
    /// second after `now` and before the window closes; every other task
    /// starts now.
    pub(crate) fn start_all(&mut self, now: DateTime<Utc>) {
        self.advance(now);
        let closes = self.window.closes_after(now);
        for i in 0..self.tasks.len() {
            let task = &self.tasks[i];
            if !task.spec.enabled || !matches!(task.status, Status::Idle) || !self.is_due(task, now)
            {
                continue;
            }
            let spread = match closes {
                Some(closes) if task.spec.randomized => (closes - now).num_seconds(),
                _ => 0,
            };
            if spread > 1 {
                let offset = self.schedule_rng.i64(1..spread);
                let activity = self.new_activity_id();
                self.tasks[i].status = Status::Scheduled {
                    at: now + TimeDelta::seconds(offset),
                    activity,
                };
            } else {
                self.run_now(i, now);
            }
        }
        self.settle();
    }

    /// `DELETE /butler`: stops every running task and empties the queue.
    pub(crate) fn stop_all(&mut self, now: DateTime<Utc>) {
        self.advance(now);
        for task in &mut self.tasks {
            task.status = Status::Idle;
        }
        self.settle();
    }

    /// `POST /butler/{task}`: starts the task now, whatever its schedule,
    /// window or `enabled` flag; a scheduled task starts now instead.
    pub(crate) fn start(&mut self, name: &str, now: DateTime<Utc>) -> StartOutcome {
        let outcome = self.start_unsettled(name, now);
        self.settle();
        outcome
    }

    fn start_unsettled(&mut self, name: &str, now: DateTime<Utc>) -> StartOutcome {
        self.advance(now);
        let Some(&i) = self.by_name.get(name) else {
            return StartOutcome::UnknownTask;
        };
        match &mut self.tasks[i].status {
            Status::Running { .. } => StartOutcome::AlreadyRunning,
            Status::Scheduled { activity, .. } => {
                let activity = std::mem::take(activity);
                self.tasks[i].status = Status::Running {
                    started: now,
                    activity,
                };
                StartOutcome::Started
            }
            Status::Idle => {
                self.run_now(i, now);
                StartOutcome::Started
            }
        }
    }

    /// `DELETE /butler/{task}`: stops a running task or unschedules a
    /// scheduled one. A stopped run records no last run.
    pub(crate) fn stop(&mut self, name: &str, now: DateTime<Utc>) -> StopOutcome {
        self.advance(now);
        let Some(&i) = self.by_name.get(name) else {
            return StopOutcome::UnknownTask;
        };
        let task = &mut self.tasks[i];
        let outcome = match task.status {
            Status::Idle => return StopOutcome::NotRunning,
            Status::Scheduled { .. } => StopOutcome::Unscheduled,
            Status::Running { .. } => StopOutcome::Stopped,
        };
        task.status = Status::Idle;
        self.settle();
        outcome
    }

    /// `DELETE /activities/{uuid}`.
    pub(crate) fn cancel_activity(&mut self, uuid: &str, now: DateTime<Utc>) -> CancelOutcome {
        self.advance(now);
        let cancellable = self.cancellable;
        if let Some(aggregate) = &self.aggregate {
            // The aggregate stands for all running work: cancelling it
            // stops every running task.
            if aggregate.current.as_deref() != Some(uuid) {
                return CancelOutcome::UnknownActivity;
            }
            if !cancellable {
                return CancelOutcome::NotCancellable;
            }
            for task in &mut self.tasks {
                if matches!(task.status, Status::Running { .. }) {
                    task.status = Status::Idle;
                }
            }
            self.settle();
            return CancelOutcome::Cancelled;
        }
        let running = self
            .tasks
            .iter_mut()
            .find(|t| matches!(&t.status, Status::Running { activity, .. } if activity == uuid));
        match running {
            None => CancelOutcome::UnknownActivity,
            Some(_) if !cancellable => CancelOutcome::NotCancellable,
            Some(task) => {
                task.status = Status::Idle;
                self.settle();
                CancelOutcome::Cancelled
            }
        }
    }

    /// The activities of the running tasks, brought up to `now`: one per
    /// task or, in aggregate mode, one for all of them.
    pub(crate) fn activities(&mut self, now: DateTime<Utc>) -> Vec<Activity> {
        self.advance(now);
        let mut running = self.tasks.iter().filter_map(|task| match &task.status {
            Status::Running { started, activity } => Some((task, *started, activity)),
            _ => None,
        });
        if let Some(aggregate) = &self.aggregate {
            // The first running task in list order names the work and
            // gives its progress.
            let (Some(uuid), Some((task, started, _))) = (&aggregate.current, running.next())
            else {
                return Vec::new();
            };
            return vec![Activity {
                uuid: uuid.clone(),
                task: task.spec.name.clone(),
                title: AGGREGATE_TITLE.to_owned(),
                subtitle: task.title().to_owned(),
                progress: task.progress(started, now),
                cancellable: self.cancellable,
            }];
        }
        running
            .map(|(task, started, activity)| Activity {
                uuid: activity.clone(),
                task: task.spec.name.clone(),
                title: task.title().to_owned(),
                subtitle: String::new(),
                progress: task.progress(started, now),
                cancellable: self.cancellable,
            })
            .collect()
    }

    /// A snapshot brought up to `now`.
    pub(crate) fn snapshot(&mut self, now: DateTime<Utc>) -> ButlerState {
        let activities = self.activities(now);
        let tasks = self
            .tasks
            .iter()
            .map(|task| TaskState {
                name: task.spec.name.clone(),
                interval_days: task.spec.interval_days,
                randomized: task.spec.randomized,
                enabled: task.spec.enabled,
                duration: task.duration.to_std().unwrap_or(Duration::MAX),
                last_run: task.last_run,
                status: match &task.status {
                    Status::Idle => TaskStatus::Idle,
                    Status::Scheduled { at, .. } => TaskStatus::Scheduled { at: *at },
                    Status::Running { started, .. } => TaskStatus::Running {
                        started: *started,
                        progress: task.progress(*started, now),
                    },
                },
            })
            .collect();
        ButlerState {
            now,
            tasks,
            activities,
            aggregate_activity: self.aggregate.is_some(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A version 4 (random) UUID drawn from `rng`, as the real server's look.
fn uuid(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = rng.u8(..);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 10, hour, minute, 0)
            .single()
            .expect("valid")
    }

    fn config(tasks: Vec<TaskSpec>) -> ButlerConfig {
        ButlerConfig {
            tasks,
            window: Window::new(2, 5, FixedOffset::east_opt(0).expect("valid")),
            task_duration: Duration::from_secs(60),
            seed: 7,
            cancellable_activities: false,
            aggregate_activity: false,
        }
    }

    fn butler(tasks: Vec<TaskSpec>) -> Butler {
        Butler::new(config(tasks))
    }

    #[test]
    fn a_run_finishes_after_its_duration_and_records_its_end() {
        let mut b = butler(vec![TaskSpec::new("A")]);
        assert_eq!(b.start("A", at(12, 0)), StartOutcome::Started);
        let state = b.snapshot(at(12, 0) + TimeDelta::seconds(59));
        assert!(state.tasks[0].status.is_running());
        let state = b.snapshot(at(12, 1));
        assert_eq!(state.tasks[0].status, TaskStatus::Idle);
        assert_eq!(state.tasks[0].last_run, Some(at(12, 1)));
    }

    #[test]
    fn a_scheduled_run_that_came_and_went_while_nobody_looked_is_recorded() {
        let mut b = butler(vec![TaskSpec::new("R").randomized(true)]);
        b.start_all(at(2, 0));
        let TaskStatus::Scheduled { at: start } = b.snapshot(at(2, 0)).tasks[0].status else {
            panic!("expected a scheduled task");
        };
        let state = b.snapshot(at(12, 0));
        assert_eq!(state.tasks[0].status, TaskStatus::Idle);
        assert_eq!(
            state.tasks[0].last_run,
            Some(start + TimeDelta::seconds(60))
        );
    }

    #[test]
    fn progress_grows_with_time_and_stays_below_100() {
        let mut b = butler(vec![TaskSpec::new("A")]);
        b.start("A", at(12, 0));
        let half = b.activities(at(12, 0) + TimeDelta::seconds(30));
        assert_eq!(half[0].progress, 50);
        let nearly = b.activities(at(12, 0) + TimeDelta::milliseconds(59_999));
        assert_eq!(nearly[0].progress, 99);
    }

    #[test]
    fn activity_ids_are_uuids_and_new_for_every_run() {
        let mut b = butler(vec![TaskSpec::new("A")]);
        b.start("A", at(12, 0));
        let first = b.activities(at(12, 0))[0].uuid.clone();
        b.stop("A", at(12, 0));
        b.start("A", at(12, 0));
        let second = b.activities(at(12, 0))[0].uuid.clone();
        assert_ne!(first, second);
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
    }

    #[test]
    fn the_same_seed_draws_the_same_schedule() {
        let tasks = || vec![TaskSpec::new("R").randomized(true)];
        let (mut one, mut two) = (butler(tasks()), butler(tasks()));
        one.start_all(at(3, 0));
        two.start_all(at(3, 0));
        assert_eq!(one.snapshot(at(3, 0)), two.snapshot(at(3, 0)));
    }

    #[test]
    fn a_task_is_due_on_the_day_its_interval_comes_round() {
        let last = at(23, 0) - TimeDelta::days(3);
        let mut b = butler(vec![TaskSpec::new("B").interval_days(3).last_run(last)]);
        b.start_all(at(0, 30) - TimeDelta::days(1));
        assert!(
            b.snapshot(at(0, 30) - TimeDelta::days(1))
                .running()
                .is_empty()
        );
        b.start_all(at(0, 30));
        assert_eq!(b.snapshot(at(0, 30)).running(), ["B"]);
    }

    #[test]
    fn the_aggregate_activity_keeps_its_id_while_any_task_runs_and_cancels_them_all() {
        let mut b = Butler::new(ButlerConfig {
            cancellable_activities: true,
            aggregate_activity: true,
            ..config(vec![TaskSpec::new("A"), TaskSpec::new("B").title("Bee")])
        });
        b.start("A", at(12, 0));
        let first = b.activities(at(12, 0));
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].title.as_str(), first[0].subtitle.as_str()),
            (AGGREGATE_TITLE, "A")
        );
        b.start("B", at(12, 0) + TimeDelta::seconds(30));
        let both = b.activities(at(12, 0) + TimeDelta::seconds(45));
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].uuid, first[0].uuid);
        let later = b.activities(at(12, 1) + TimeDelta::seconds(10));
        assert_eq!(
            (later[0].uuid.as_str(), later[0].subtitle.as_str()),
            (first[0].uuid.as_str(), "Bee")
        );
        assert!(
            b.snapshot(at(12, 1) + TimeDelta::seconds(10))
                .check_invariants()
                .is_ok()
        );
        assert_eq!(
            b.cancel_activity(&later[0].uuid, at(12, 1) + TimeDelta::seconds(10)),
            CancelOutcome::Cancelled
        );
        assert!(b.activities(at(12, 1) + TimeDelta::seconds(10)).is_empty());
        b.start("A", at(12, 2));
        assert_ne!(
            b.activities(at(12, 2))[0].uuid,
            first[0].uuid,
            "a new id for new work"
        );
    }
}
