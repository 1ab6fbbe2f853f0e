//! Plans: tasks run one after another, each waited for, optionally only
//! while nobody watches, with a report of what ran.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use crate::wait::{Look, Polled, Polling};
use crate::{Activity, Client, Error, StartOutcome, TaskName, WaitOptions, WaitProgress};

/// The callback of a plan.
type OnEvent<'a> = Box<dyn Fn(&PlanEvent<'_>) + Send + Sync + 'a>;

/// Tasks to run one after another, each until the server's Butler work
/// has ended: what [`Client::run_plan`] runs.
///
/// Each step starts its task ([`Client::start`]) and waits until no Butler
/// activity is left ([`Client::wait_until_idle`]); with
/// [`Plan::when_idle`], it first waits until nobody watches and no Butler
/// work runs. By default the plan stops at the first step that fails;
/// [`Plan::keep_going`] runs the rest anyway.
///
/// ```no_run
/// # async fn run(client: plex_butler::Client) -> Result<(), plex_butler::Error> {
/// use std::time::Duration;
/// use plex_butler::{Plan, PlanEvent, TaskName};
///
/// let plan = Plan::new([TaskName::BackupDatabase, TaskName::OptimizeDatabase])
///     .when_idle(true)
///     .wait_timeout(Duration::from_secs(2 * 60 * 60))
///     .on_event(|event| {
///         if let PlanEvent::StepFinished { report } = event {
///             eprintln!("{report}");
///         }
///     });
/// let report = client.run_plan(&plan).await?;
/// if !report.succeeded() {
///     eprintln!("{} step(s) did not run to their end", report.failures().count());
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "a plan does nothing until passed to Client::run_plan"]
pub struct Plan<'a> {
    steps: Vec<TaskName>,
    keep_going: bool,
    when_idle: bool,
    /// Each wait's: the same options, defaults and rules as
    /// [`WaitOptions`].
    polling: Polling,
    on_event: Option<OnEvent<'a>>,
}

impl fmt::Debug for Plan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("steps", &self.steps)
            .field("keep_going", &self.keep_going)
            .field("when_idle", &self.when_idle)
            .field("wait_timeout", &self.polling.timeout)
            .field("poll_interval", &self.polling.poll_interval)
            .field("max_poll_interval", &self.polling.max_poll_interval)
            .field("grace", &self.polling.grace)
            .field("polling_only", &!self.polling.events)
            .field("on_event", &self.on_event.as_ref().map(|_| "set"))
            .finish()
    }
}

impl<'a> Plan<'a> {
    /// A plan of these tasks, in this order. Stops at the first failure,
    /// starts at once, and waits as [`WaitOptions::default`] does: up to
    /// 1 hour per wait, looking every 500 ms at first and every 5 s at
    /// most.
    pub fn new<T: Into<TaskName>>(tasks: impl IntoIterator<Item = T>) -> Self {
        Self {
            steps: tasks.into_iter().map(Into::into).collect(),
            keep_going: false,
            when_idle: false,
            polling: Polling::default(),
            on_event: None,
        }
    }

    /// Adds a step at the end.
    pub fn then(mut self, task: impl Into<TaskName>) -> Self {
        self.steps.push(task.into());
        self
    }

    /// The tasks, in order.
    pub fn tasks(&self) -> &[TaskName] {
        &self.steps
    }

    /// Whether to run the remaining steps after one fails. Default:
    /// `false`, the rest is [skipped](StepOutcome::Skipped). A refused
    /// token or an unusable configuration stops the plan either way:
    /// every later step would fail alike.
    pub fn keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// Whether each step first waits until nobody watches
    /// ([`Client::sessions`]) and no Butler work runs
    /// ([`Client::activities`]). Nothing is started while someone
    /// watches: when the [wait](Plan::wait_timeout) runs out, the step is
    /// [`StepOutcome::NotStartedBusy`]. Default: `false`.
    pub fn when_idle(mut self, when_idle: bool) -> Self {
        self.when_idle = when_idle;
        self
    }

    /// How long each wait of a step may last: the wait until idle before
    /// it, and the wait for its work to end; see [`WaitOptions::timeout`].
    /// Default: 1 hour.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.polling.timeout = timeout;
        self
    }

    /// The wait between the first two looks at the server; see
    /// [`WaitOptions::poll_interval`]. Default: 500 ms (at least 1 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.polling.set_poll_interval(interval);
        self
    }

    /// The longest wait between two looks; see
    /// [`WaitOptions::max_poll_interval`]. Default: 5 s (at least 1 ms).
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.polling.set_max_poll_interval(interval);
        self
    }

    /// How long to look for a task's work after its start while none is
    /// listed; see [`WaitOptions::grace`]. Default: 3 s.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.polling.grace = grace;
        self
    }

    /// `true`: the plan's waits look at the poll intervals only, without
    /// the server's events; see [`WaitOptions::polling_only`]. Default:
    /// `false`.
    ///
    /// ```
    /// let plan = plex_butler::Plan::new(["BackupDatabase"]).polling_only(true);
    /// # drop(plan);
    /// ```
    pub fn polling_only(mut self, polling_only: bool) -> Self {
        self.polling.events = !polling_only;
        self
    }

    /// Called as the plan goes: a step starts, waits for the server to be
    /// idle, sees its work progress, ends.
    pub fn on_event(mut self, callback: impl Fn(&PlanEvent<'_>) + Send + Sync + 'a) -> Self {
        self.on_event = Some(Box::new(callback));
        self
    }

    fn tell(&self, event: &PlanEvent<'_>) {
        if let Some(callback) = &self.on_event {
            callback(event);
        }
    }
}

/// What a plan tells its [callback](Plan::on_event) as it goes. Steps are
/// numbered from 0.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlanEvent<'r> {
    /// A step begins.
    StepStarting {
        /// The step's number.
        index: usize,
        /// Its task.
        task: &'r TaskName,
    },
    /// The step waits: someone watches, or Butler work runs
    /// ([`Plan::when_idle`]).
    Busy {
        /// The step's number.
        index: usize,
        /// Its task.
        task: &'r TaskName,
        /// How many playbacks there are.
        watching: u32,
        /// The Butler activities running.
        running: &'r [Activity],
    },
    /// The step's task was started (or found running).
    Started {
        /// The step's number.
        index: usize,
        /// Its task.
        task: &'r TaskName,
        /// What the server answered.
        outcome: StartOutcome,
    },
    /// The step's task runs: one look at the server.
    Progress {
        /// The step's number.
        index: usize,
        /// Its task.
        task: &'r TaskName,
        /// What the look found.
        progress: &'r WaitProgress,
    },
    /// A step ended (or was skipped).
    StepFinished {
        /// How it went.
        report: &'r StepReport,
    },
}

/// How a step of a plan ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum StepOutcome {
    /// The task started, and the Butler work had ended when the step did.
    Started,
    /// The task was already running; the step waited for it to end.
    AlreadyRunning,
    /// The start, or the wait for its end, failed.
    Failed(Error),
    /// The server stayed busy (someone watching, or Butler work running)
    /// for the whole [wait](Plan::wait_timeout) before the step, so the
    /// task was not started. The error says what kept it busy
    /// ([`Error::WaitTimedOut`]).
    NotStartedBusy(Error),
    /// Not run: an earlier step failed and the plan does not
    /// [keep going](Plan::keep_going).
    Skipped,
}

impl StepOutcome {
    /// Whether the step ran to its end: started (or already running) and
    /// waited for.
    pub fn succeeded(&self) -> bool {
        matches!(self, Self::Started | Self::AlreadyRunning)
    }

    /// The error of a step that failed or was not started.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Self::Failed(error) | Self::NotStartedBusy(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Started => f.write_str("done"),
            Self::AlreadyRunning => f.write_str("was already running; done"),
            Self::Failed(error) => write!(f, "failed: {error}"),
            Self::NotStartedBusy(error) => write!(f, "not started: {error}"),
            Self::Skipped => f.write_str("skipped"),
        }
    }
}

/// One step of a plan, as it went.
#[derive(Debug)]
#[non_exhaustive]
pub struct StepReport {
    /// The step's number, from 0.
    pub index: usize,
    /// Its task.
    pub task: TaskName,
    /// How it ended.
    pub outcome: StepOutcome,
    /// What the start answered, when the step got that far: a step that
    /// [failed](StepOutcome::Failed) while waiting for its work has one.
    pub start: Option<StartOutcome>,
    /// When the step began (its wait until idle included).
    pub started_at: SystemTime,
    /// How long it lasted, from its beginning to the end of its work (or
    /// its failure).
    pub duration: Duration,
    /// Whether any Butler activity was seen while it ran, a step that
    /// [failed](StepOutcome::Failed) while waiting for its work included;
    /// `false` means the work ended before the first look, or never
    /// started (see [`crate::WaitReport::saw_activity`]).
    pub saw_activity: bool,
}

impl fmt::Display for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.task,
            self.outcome,
            crate::error::format_duration(self.duration)
        )
    }
}

/// What [`Client::run_plan`] did: one report per step, in order.
#[derive(Debug)]
#[non_exhaustive]
pub struct PlanReport {
    /// Every step, skipped ones included.
    pub steps: Vec<StepReport>,
    /// How long the plan lasted.
    pub elapsed: Duration,
}

impl PlanReport {
    /// Whether every step ran to its end.
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| s.outcome.succeeded())
    }

    /// The steps that failed or were not started (skipped ones aside).
    pub fn failures(&self) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().filter(|s| s.outcome.error().is_some())
    }
}

/// Errors that every later step would meet alike.
fn stops_everything(error: &Error) -> bool {
    matches!(
        error,
        Error::Unauthorized { .. } | Error::InvalidConfig { .. } | Error::BlockingInAsyncContext
    )
}

impl Client {
    /// Runs a [`Plan`]: for each step, (when idle) start its task, then
    /// wait until the server's Butler work has ended.
    ///
    /// A server may show one activity for all its Butler work, so a step
    /// ends when *all* Butler work has, not only its task's (see
    /// [`Client::wait_until_idle`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTaskName`] for a step whose name cannot be sent,
    /// before anything is started. Every other failure is a step's
    /// [outcome](StepOutcome), in the report.
    pub async fn run_plan(&self, plan: &Plan<'_>) -> Result<PlanReport, Error> {
        for task in &plan.steps {
            task.check_sendable()?;
        }
        let began = Instant::now();
        let mut steps = Vec::with_capacity(plan.steps.len());
        let mut stopped = false;
        for (index, task) in plan.steps.iter().enumerate() {
            let report = if stopped {
                StepReport {
                    index,
                    task: task.clone(),
                    outcome: StepOutcome::Skipped,
                    start: None,
                    started_at: SystemTime::now(),
                    duration: Duration::ZERO,
                    saw_activity: false,
                }
            } else {
                self.run_step(plan, index, task).await
            };
            if let Some(error) = report.outcome.error() {
                stopped |= !plan.keep_going || stops_everything(error);
            }
            plan.tell(&PlanEvent::StepFinished { report: &report });
            steps.push(report);
        }
        Ok(PlanReport {
            steps,
            elapsed: began.elapsed(),
        })
    }

    async fn run_step(&self, plan: &Plan<'_>, index: usize, task: &TaskName) -> StepReport {
        let started_at = SystemTime::now();
        let began = Instant::now();
        plan.tell(&PlanEvent::StepStarting { index, task });
        let mut report = StepReport {
            index,
            task: task.clone(),
            outcome: StepOutcome::Skipped,
            start: None,
            started_at,
            duration: Duration::ZERO,
            saw_activity: false,
        };
        report.outcome = match self
            .step_outcome(
                plan,
                index,
                task,
                &mut report.start,
                &mut report.saw_activity,
            )
            .await
        {
            Ok(outcome) | Err(outcome) => outcome,
        };
        report.duration = began.elapsed();
        report
    }

    /// The step's outcome. `start` and `saw_activity` are filled in as the
    /// step goes, so that a step failing while it waits still says that
    /// its task was started and its work seen.
    async fn step_outcome(
        &self,
        plan: &Plan<'_>,
        index: usize,
        task: &TaskName,
        start: &mut Option<StartOutcome>,
        saw_activity: &mut bool,
    ) -> Result<StepOutcome, StepOutcome> {
        if plan.when_idle {
            self.until_idle(plan, index, task)
                .await
                .map_err(|error| match error {
                    Error::WaitTimedOut { .. } => StepOutcome::NotStartedBusy(error),
                    other => StepOutcome::Failed(other),
                })?;
        }
        let started = self
            .start(task.clone())
            .await
            .map_err(StepOutcome::Failed)?;
        *start = Some(started);
        plan.tell(&PlanEvent::Started {
            index,
            task,
            outcome: started,
        });
        let mut options = WaitOptions::new().on_progress(|progress| {
            *saw_activity |= !progress.activities.is_empty();
            plan.tell(&PlanEvent::Progress {
                index,
                task,
                progress,
            });
        });
        options.polling = plan.polling;
        let waited = self
            .wait_until_idle(options)
            .await
            .map_err(StepOutcome::Failed)?;
        *saw_activity |= waited.saw_activity;
        Ok(match started {
            StartOutcome::AlreadyRunning => StepOutcome::AlreadyRunning,
            _ => StepOutcome::Started,
        })
    }

    /// Waits until nobody watches and no Butler work runs, or the plan's
    /// wait runs out ([`Error::WaitTimedOut`], saying what kept the server
    /// busy).
    async fn until_idle(
        &self,
        plan: &Plan<'_>,
        index: usize,
        task: &TaskName,
    ) -> Result<(), Error> {
        let mut watching = 0;
        let mut running = Vec::new();
        // The first look that finds the server idle ends the wait: nothing
        // was started that could be listed late.
        let polling = Polling {
            grace: Duration::ZERO,
            ..plan.polling
        };
        let polled = self
            .poll_until_idle(&polling, async |_| {
                let sessions = self.sessions().await?;
                let activities = self.activities().await?;
                watching = sessions.count;
                running = activities.into_iter().filter(Activity::is_butler).collect();
                if watching == 0 && running.is_empty() {
                    return Ok(Look::Idle);
                }
                plan.tell(&PlanEvent::Busy {
                    index,
                    task,
                    watching,
                    running: &running,
                });
                Ok(Look::Busy)
            })
            .await?;
        match polled {
            Polled::Idle { .. } => Ok(()),
            Polled::TimedOut { waited } => Err(Error::WaitTimedOut {
                waited,
                running,
                watching,
            }),
        }
    }
}
