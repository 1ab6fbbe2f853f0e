//! The client and its calls: what each sends, and which answers are its
//! outcomes. What each operation is (its statuses, span name and retry
//! rule) is in `operations`, the configuration in `builder`, the span,
//! timeout and retries around each call in `call`, the reading of answers
//! in `response`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plex_butler_raw::types as raw_types;

use crate::activity::activities_from_raw;
use crate::builder::Redacted;
use crate::call::Progress;
use crate::operations::{
    self, CANCEL_ACTIVITY, GET_ACTIVITIES, GET_BUTLER_TASKS, START_ALL_TASKS, START_TASK,
    STOP_ALL_TASKS, STOP_TASK,
};
use crate::response::{RawAnswer, excerpt};
use crate::task::tasks_from_raw;
use crate::{
    Activity, CancelOutcome, ClientBuilder, Error, RetryPolicy, StartOutcome, StopOutcome, Task,
    TaskName,
};

/// A client of one Plex Media Server's Butler API.
///
/// Cheap to clone (clones share the connection pool). Its `Debug` shows
/// the token as `<redacted>`.
///
/// # Retries
///
/// Each call is tried again per the [`RetryPolicy`] after a failure that
/// may pass. Every call is retried when no connection could be made
/// (nothing was sent) and on 429 and 503 (the server says it did not do
/// it). After a timeout, a broken connection, 502 or 504 the request may
/// have been carried out; each method says whether repeating it is safe.
///
/// # Runtime
///
/// The calls need a Tokio runtime with its timers (`#[tokio::main]` has
/// them, as does a runtime built with `enable_all()`): each attempt's
/// timeout and the waits between retries are Tokio timers. Called outside
/// a runtime, or on one built without `enable_time()`, a call returns
/// [`Error::InvalidConfig`] instead of panicking (Tokio's own message about
/// the missing timers still goes to the panic hook, so it may show on
/// stderr). Without an async runtime, use the `blocking` feature's client.
///
/// **Under `panic = "abort"`, a call on a runtime without timers aborts
/// the process** instead: Tokio offers no way to ask whether a runtime has
/// timers, so the client makes a timer and catches the panic Tokio raises
/// when there are none, and under `panic = "abort"` no panic can be
/// caught. Such programs must build their runtime with `enable_time()`
/// (or `enable_all()`). A call outside any runtime is refused without a
/// panic in every build.
///
/// One client may be used on several runtimes, at once or one after
/// another: each attempt's timer belongs to the runtime it runs on.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a client shares.
pub(crate) struct Shared {
    pub(crate) raw: plex_butler_raw::Client,
    pub(crate) base_url: String,
    pub(crate) client_identifier: String,
    pub(crate) token: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// When this client last changed settings: real servers may answer
    /// 400 for a short while after.
    pub(crate) settings_changed: crate::settings::ChangeClock,
    /// Bounds the requests in flight at once, when set
    /// ([`crate::ClientBuilder::max_concurrent_requests`]).
    pub(crate) in_flight: Option<tokio::sync::Semaphore>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("Client")
            .field("base_url", &shared.base_url)
            .field("token", &shared.token.as_ref().map(|_| Redacted))
            .field("client_identifier", &shared.client_identifier)
            .field("timeout", &shared.timeout)
            .field("retry", &shared.retry)
            .finish_non_exhaustive()
    }
}

/// What one stop attempt learnt.
enum StopReply {
    Stopped,
    /// 404: no such task, or it was not running.
    NotFound,
}

impl Client {
    /// Starts configuring a client of the server at `base_url`, such as
    /// `http://127.0.0.1:32400` or `https://192-168-1-2.<id>.plex.direct:32400`.
    /// A path is kept (`https://example.com/plex` for a server behind a
    /// reverse proxy).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url.into())
    }

    /// The server's base URL, as requests use it (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The `X-Plex-Client-Identifier` this client sends.
    pub fn client_identifier(&self) -> &str {
        &self.shared.client_identifier
    }

    /// The generated client underneath (feature `raw`, outside semver):
    /// every operation of the spec as the spec says it, with the same
    /// headers (token, identity, `Accept`), but no retries, timeouts or
    /// error mapping. Its operations take `raw::types::TaskName`, which
    /// converts from [`TaskName`] with `From`.
    #[cfg(feature = "raw")]
    pub fn raw(&self) -> &plex_butler_raw::Client {
        &self.shared.raw
    }

    /// Lists the server's Butler tasks (`GET /butler`).
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthorized`], [`Error::Decode`] for an answer that is
    /// not the expected JSON, and the transport errors
    /// ([`Error::Connect`], [`Error::Timeout`], [`Error::ConnectionLost`],
    /// [`Error::Server`]).
    pub async fn tasks(&self) -> Result<Vec<Task>, Error> {
        let progress = &Progress::default();
        self.traced(&GET_BUTLER_TASKS, None, progress, async {
            self.with_retries(&GET_BUTLER_TASKS, progress, |deadline| {
                self.list_attempt(deadline, progress)
            })
            .await
        })
        .await
    }

    /// Starts one task now, whatever its schedule (`POST /butler/{task}`).
    ///
    /// Retried only when the server surely did not act (no connection, 429,
    /// 503): had a lost answer been retried, the repeat would see the task
    /// running and report [`StartOutcome::AlreadyRunning`] for a start this
    /// call made. After a timeout or a broken connection the error is
    /// returned, and the task may have started.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTask`] when the server has no such task (404), with
    /// the closest known name as a suggestion; [`Error::InvalidTaskName`]
    /// for a name that cannot be sent; and the errors of
    /// [`Client::tasks`].
    pub async fn start(&self, task: impl Into<TaskName>) -> Result<StartOutcome, Error> {
        let task = task.into();
        let progress = &Progress::default();
        self.traced(&START_TASK, Some(&task), progress, async {
            task.check_sendable()?;
            let raw_name = task.to_raw();
            let found = self
                .with_retries(&START_TASK, progress, |deadline| {
                    self.start_attempt(&raw_name, deadline, progress)
                })
                .await?;
            found.ok_or_else(|| Error::UnknownTask {
                suggestion: TaskName::suggest(task.as_str()),
                name: task.clone(),
            })
        })
        .await
    }

    /// Stops one task if it runs, or takes it off the schedule if it is
    /// scheduled (`DELETE /butler/{task}`).
    ///
    /// The server answers 404 both for a task it does not have and for one
    /// that was not running; on 404 this call reads the server's list to
    /// tell them apart: [`StopOutcome::NotRunning`] for a listed task,
    /// [`Error::UnknownTask`] otherwise, with the closest listed name as a
    /// suggestion.
    ///
    /// Retried on every passing failure: stopping twice leaves the task
    /// stopped. (After a lost answer, the repeat may report
    /// [`StopOutcome::NotRunning`] for a task this call did stop.)
    ///
    /// # Errors
    ///
    /// As [`Client::start`].
    pub async fn stop(&self, task: impl Into<TaskName>) -> Result<StopOutcome, Error> {
        let task = task.into();
        let progress = &Progress::default();
        self.traced(&STOP_TASK, Some(&task), progress, async {
            task.check_sendable()?;
            let raw_name = task.to_raw();
            let reply = self
                .with_retries(&STOP_TASK, progress, |deadline| {
                    self.stop_attempt(&raw_name, deadline, progress)
                })
                .await?;
            match reply {
                StopReply::Stopped => Ok(StopOutcome::Stopped),
                StopReply::NotFound => {
                    let listed = self
                        .with_retries(&GET_BUTLER_TASKS, progress, |deadline| {
                            self.list_attempt(deadline, progress)
                        })
                        .await?;
                    if listed.iter().any(|t| t.name == task) {
                        Ok(StopOutcome::NotRunning)
                    } else {
                        Err(Error::UnknownTask {
                            suggestion: TaskName::suggest_among(
                                task.as_str(),
                                listed.iter().map(|t| &t.name),
                            ),
                            name: task.clone(),
                        })
                    }
                }
            }
        })
        .await
    }

    /// Starts the tasks that are enabled in the server's settings
    /// (`POST /butler`), with the server's criteria: tasks not due today
    /// are skipped, and inside the maintenance window a task set to run at
    /// a random time is scheduled rather than started.
    ///
    /// Retried on every passing failure: the server's criteria make a
    /// repeat harmless (running tasks keep running, the answer is the same);
    /// at worst a task scheduled at a random time is scheduled again.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn start_all(&self) -> Result<(), Error> {
        let progress = &Progress::default();
        self.traced(&START_ALL_TASKS, None, progress, async {
            self.with_retries(&START_ALL_TASKS, progress, |deadline| async move {
                let result = self.shared.raw.start_all_tasks().send().await;
                self.no_content(result, deadline, progress).await
            })
            .await
        })
        .await
    }

    /// Stops every running task and empties the schedule
    /// (`DELETE /butler`).
    ///
    /// Retried on every passing failure: stopping twice leaves everything
    /// stopped.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn stop_all(&self) -> Result<(), Error> {
        let progress = &Progress::default();
        self.traced(&STOP_ALL_TASKS, None, progress, async {
            self.with_retries(&STOP_ALL_TASKS, progress, |deadline| async move {
                let result = self.shared.raw.stop_all_tasks().send().await;
                self.no_content(result, deadline, progress).await
            })
            .await
        })
        .await
    }

    /// Lists what the server is working on now (`GET /activities`):
    /// running Butler tasks show here ([`Activity::is_butler`]), with their
    /// progress, among the server's other work.
    ///
    /// A server may show one aggregate activity for all its running Butler
    /// tasks (a PMS 1.43.2 does, titled "Butler tasks") rather than one per
    /// task; see [`Activity`].
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn activities(&self) -> Result<Vec<Activity>, Error> {
        let progress = &Progress::default();
        self.traced(&GET_ACTIVITIES, None, progress, async {
            self.with_retries(&GET_ACTIVITIES, progress, |deadline| {
                self.activities_attempt(deadline, progress)
            })
            .await
        })
        .await
    }

    /// Cancels a running activity by its [`Activity::uuid`]
    /// (`DELETE /activities/{activityId}`).
    ///
    /// [`CancelOutcome::NotFound`] when the server has no such activity
    /// (it may have ended). Butler activities of a PMS 1.43.2 are not
    /// cancellable: to stop a Butler task, use [`Client::stop`].
    ///
    /// Retried on every passing failure: cancelling twice leaves the
    /// activity cancelled. (After a lost answer, the repeat may report
    /// [`CancelOutcome::NotFound`] for an activity this call did cancel.)
    ///
    /// # Errors
    ///
    /// [`Error::NotCancellable`] when the server refuses (400);
    /// [`Error::InvalidActivityId`] for an id that cannot be sent (empty,
    /// `.` or `..`); and the errors of [`Client::tasks`].
    pub async fn cancel_activity(&self, uuid: &str) -> Result<CancelOutcome, Error> {
        let progress = &Progress::default();
        self.traced(&CANCEL_ACTIVITY, None, progress, async {
            check_activity_id(uuid)?;
            self.with_retries(&CANCEL_ACTIVITY, progress, |deadline| {
                self.cancel_attempt(uuid, deadline, progress)
            })
            .await
        })
        .await
    }

    async fn activities_attempt(
        &self,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Vec<Activity>, Error> {
        let result = self.shared.raw.get_activities().send().await;
        self.decoded(
            result,
            activities_from_raw,
            "the activities",
            deadline,
            progress,
        )
        .await
    }

    async fn cancel_attempt(
        &self,
        uuid: &str,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<CancelOutcome, Error> {
        let result = self
            .shared
            .raw
            .cancel_activity()
            .activity_id(uuid)
            .send()
            .await;
        use operations::cancel_activity::{NOT_CANCELLABLE, NOT_FOUND};
        match self
            .status_of(result, &[NOT_CANCELLABLE, NOT_FOUND], deadline, progress)
            .await?
        {
            NOT_CANCELLABLE => Err(Error::NotCancellable {
                activity: excerpt(uuid.as_bytes(), None),
            }),
            NOT_FOUND => Ok(CancelOutcome::NotFound),
            _ => Ok(CancelOutcome::Cancelled),
        }
    }

    async fn list_attempt(
        &self,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Vec<Task>, Error> {
        let result = self.shared.raw.get_butler_tasks().send().await;
        self.decoded(result, tasks_from_raw, "the list", deadline, progress)
            .await
    }

    /// One start: `Some(outcome)`, or `None` for 404.
    async fn start_attempt(
        &self,
        name: &raw_types::TaskName,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Option<StartOutcome>, Error> {
        let result = self.shared.raw.start_task().task(name.clone()).send().await;
        use operations::start_task::{ALREADY_RUNNING, NO_SUCH_TASK};
        // A success the spec does not list (204, ...) still started it.
        Ok(
            match self
                .status_of(result, &[NO_SUCH_TASK], deadline, progress)
                .await?
            {
                NO_SUCH_TASK => None,
                ALREADY_RUNNING => Some(StartOutcome::AlreadyRunning),
                _ => Some(StartOutcome::Started),
            },
        )
    }

    async fn stop_attempt(
        &self,
        name: &raw_types::TaskName,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<StopReply, Error> {
        let result = self.shared.raw.stop_task().task(name.clone()).send().await;
        use operations::stop_task::NOT_FOUND;
        Ok(
            match self
                .status_of(result, &[NOT_FOUND], deadline, progress)
                .await?
            {
                NOT_FOUND => StopReply::NotFound,
                _ => StopReply::Stopped,
            },
        )
    }

    /// The end of start-all and stop-all, whose answers carry nothing.
    async fn no_content(
        &self,
        result: RawAnswer,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<(), Error> {
        self.status_of(result, &[], deadline, progress)
            .await
            .map(|_| ())
    }
}

/// Refuses activity ids that would not reach `/activities/{id}` as one
/// path segment.
fn check_activity_id(uuid: &str) -> Result<(), Error> {
    let reason = if uuid.trim().is_empty() {
        "an activity id cannot be empty"
    } else if uuid == "." || uuid == ".." {
        "`.` and `..` are not activity ids (they would change the request's path)"
    } else if uuid.contains('\\') {
        "an activity id cannot contain `\\` (it would change the request's path)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidActivityId {
        id: excerpt(uuid.as_bytes(), None),
        reason,
    })
}
