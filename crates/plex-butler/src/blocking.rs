//! The same calls for programs without an async runtime (feature
//! `blocking`).
//!
//! ```no_run
//! # fn run() -> Result<(), plex_butler::Error> {
//! let client = plex_butler::blocking::Client::builder("http://127.0.0.1:32400")
//!     .token("your-plex-token")
//!     .build()?;
//! for task in client.tasks()? {
//!     println!("{}", task.name);
//! }
//! client.start(plex_butler::TaskName::BackupDatabase)?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::{
    Activity, AppliedSettings, ButlerSettings, CancelOutcome, DesiredSettings, Error,
    MaintenanceWindow, Plan, PlanReport, RetryPolicy, Sessions, Setting, SettingValue,
    StartOutcome, StopOutcome, Task, TaskName, TaskSwitch, WaitOptions, WaitReport,
};

/// A blocking client: [`crate::Client`] driven by a Tokio current-thread
/// runtime of its own.
///
/// It may be called where blocking is allowed: on a thread of its own, in
/// a `tokio::task::spawn_blocking` closure, inside
/// `tokio::task::block_in_place`. Called on an async runtime's thread
/// itself (in an `async fn`, a spawned task, the body of
/// `#[tokio::main]`), where blocking would stall every task of that
/// runtime, it returns [`Error::BlockingInAsyncContext`] instead: there,
/// use the async client ([`Client::as_async`]).
///
/// Tokio offers no way to ask whether the current thread may block, so
/// inside a runtime's context the client tries, and Tokio's refusal (a
/// panic, raised before anything is sent) is caught: its message still
/// reaches the panic hook. Under `panic = "abort"` nothing can be caught,
/// so there every call inside a runtime's context, even from
/// `spawn_blocking`, returns [`Error::BlockingInAsyncContext`] without
/// trying.
pub struct Client {
    inner: crate::Client,
    // `Option` so that `Drop` can shut it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner)
            .finish()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A plain drop blocks until the runtime's tasks end, and panics
        // inside an async context; nothing of ours needs to finish.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Client {
    /// Starts configuring a client of the server at `base_url`; see
    /// [`crate::Client::builder`].
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder(crate::Client::builder(base_url))
    }

    /// Wraps an async client, with a runtime of its own.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if the runtime cannot be made.
    pub fn from_async(client: crate::Client) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidConfig {
                message: "the blocking client's runtime cannot be made".to_owned(),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            inner: client,
            runtime: Some(runtime),
        })
    }

    /// The async client underneath.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The server's base URL; see [`crate::Client::base_url`].
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    /// The generated client underneath (feature `raw`, outside semver); see
    /// [`crate::Client::raw`].
    #[cfg(feature = "raw")]
    pub fn raw(&self) -> &plex_butler_raw::Client {
        self.inner.raw()
    }

    /// Lists the tasks; see [`crate::Client::tasks`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::tasks`], and [`Error::BlockingInAsyncContext`].
    pub fn tasks(&self) -> Result<Vec<Task>, Error> {
        self.block_on(self.inner.tasks())
    }

    /// Starts one task; see [`crate::Client::start`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::start`], and [`Error::BlockingInAsyncContext`].
    pub fn start(&self, task: impl Into<TaskName>) -> Result<StartOutcome, Error> {
        self.block_on(self.inner.start(task))
    }

    /// Stops one task; see [`crate::Client::stop`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::stop`], and [`Error::BlockingInAsyncContext`].
    pub fn stop(&self, task: impl Into<TaskName>) -> Result<StopOutcome, Error> {
        self.block_on(self.inner.stop(task))
    }

    /// Starts the enabled tasks; see [`crate::Client::start_all`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::start_all`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn start_all(&self) -> Result<(), Error> {
        self.block_on(self.inner.start_all())
    }

    /// Stops all tasks; see [`crate::Client::stop_all`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::stop_all`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn stop_all(&self) -> Result<(), Error> {
        self.block_on(self.inner.stop_all())
    }

    /// Lists the server's activities; see [`crate::Client::activities`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::activities`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn activities(&self) -> Result<Vec<Activity>, Error> {
        self.block_on(self.inner.activities())
    }

    /// Cancels an activity; see [`crate::Client::cancel_activity`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::cancel_activity`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn cancel_activity(&self, uuid: &str) -> Result<CancelOutcome, Error> {
        self.block_on(self.inner.cancel_activity(uuid))
    }

    /// Waits until no Butler activity is left; see
    /// [`crate::Client::wait_until_idle`]. The progress callback runs on
    /// this thread.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::wait_until_idle`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn wait_until_idle(&self, options: WaitOptions<'_>) -> Result<WaitReport, Error> {
        self.block_on(self.inner.wait_until_idle(options))
    }

    /// Starts a task, then waits until no Butler activity is left; see
    /// [`crate::Client::start_and_wait`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::start_and_wait`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn start_and_wait(
        &self,
        task: impl Into<TaskName>,
        options: WaitOptions<'_>,
    ) -> Result<(StartOutcome, WaitReport), Error> {
        self.block_on(self.inner.start_and_wait(task, options))
    }

    /// Lists every setting; see [`crate::Client::settings`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::settings`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn settings(&self) -> Result<Vec<Setting>, Error> {
        self.block_on(self.inner.settings())
    }

    /// Reads one setting; see [`crate::Client::setting`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::setting`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn setting(&self, id: &str) -> Result<Setting, Error> {
        self.block_on(self.inner.setting(id))
    }

    /// Changes settings in one request; see
    /// [`crate::Client::set_settings`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::set_settings`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn set_settings<K, V>(&self, changes: impl IntoIterator<Item = (K, V)>) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<SettingValue>,
    {
        self.block_on(self.inner.set_settings(changes))
    }

    /// Reads the Butler's settings, typed; see
    /// [`crate::Client::butler_settings`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::butler_settings`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn butler_settings(&self) -> Result<ButlerSettings, Error> {
        self.block_on(self.inner.butler_settings())
    }

    /// Moves the maintenance window; see [`crate::Client::set_window`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::set_window`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn set_window(&self, window: MaintenanceWindow) -> Result<MaintenanceWindow, Error> {
        self.block_on(self.inner.set_window(window))
    }

    /// Switches one task on or off; see
    /// [`crate::Client::set_task_enabled`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::set_task_enabled`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn set_task_enabled(
        &self,
        task: impl Into<TaskName>,
        enabled: bool,
    ) -> Result<TaskSwitch, Error> {
        self.block_on(self.inner.set_task_enabled(task, enabled))
    }

    /// Switches several tasks on or off in one change; see
    /// [`crate::Client::set_tasks_enabled`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::set_tasks_enabled`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn set_tasks_enabled<T: Into<TaskName>>(
        &self,
        tasks: impl IntoIterator<Item = (T, bool)>,
    ) -> Result<AppliedSettings, Error> {
        self.block_on(self.inner.set_tasks_enabled(tasks))
    }

    /// Brings the Butler's settings to a desired state, changing only
    /// what differs; see [`crate::Client::change_butler_settings`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::change_butler_settings`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn change_butler_settings(
        &self,
        desired: &DesiredSettings,
    ) -> Result<AppliedSettings, Error> {
        self.block_on(self.inner.change_butler_settings(desired))
    }

    /// Lists what is playing now; see [`crate::Client::sessions`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::sessions`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn sessions(&self) -> Result<Sessions, Error> {
        self.block_on(self.inner.sessions())
    }

    /// Runs a plan; see [`crate::Client::run_plan`]. Its callback runs on
    /// this thread.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::run_plan`], and
    /// [`Error::BlockingInAsyncContext`].
    pub fn run_plan(&self, plan: &Plan<'_>) -> Result<PlanReport, Error> {
        self.block_on(self.inner.run_plan(plan))
    }

    fn block_on<T>(&self, call: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        // Only `Drop` takes the runtime.
        let Some(runtime) = &self.runtime else {
            return Err(Error::BlockingInAsyncContext);
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return runtime.block_on(call);
        }
        block_on_in_context(runtime, call)
    }
}

/// Runs `call` from inside a runtime's context. Where the thread may block
/// (a `spawn_blocking` closure, `block_in_place`) that works; on the
/// runtime's own thread Tokio refuses with a panic before polling the
/// call. Tokio (1.x) offers no way to tell these apart without it, so the
/// panic is caught, and told from one of the call itself by whether the
/// call was polled.
#[cfg(panic = "unwind")]
fn block_on_in_context<T>(
    runtime: &tokio::runtime::Runtime,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    use std::cell::Cell;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

    let polled = Cell::new(false);
    let call = async {
        polled.set(true);
        call.await
    };
    match catch_unwind(AssertUnwindSafe(|| runtime.block_on(call))) {
        Ok(result) => result,
        Err(_) if !polled.get() => Err(Error::BlockingInAsyncContext),
        Err(panic) => resume_unwind(panic),
    }
}

/// Under `panic = "abort"` Tokio's refusal cannot be caught: every call
/// inside a runtime's context is refused without trying.
#[cfg(not(panic = "unwind"))]
fn block_on_in_context<T>(
    _runtime: &tokio::runtime::Runtime,
    _call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    Err(Error::BlockingInAsyncContext)
}

/// Configures a [`Client`]: the options of [`crate::ClientBuilder`].
///
/// Its `Debug` shows the token as `<redacted>`.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct ClientBuilder(crate::ClientBuilder);

/// Forwards builder options to [`crate::ClientBuilder`].
macro_rules! forward {
    ($($name:ident($arg:ident: $ty:ty);)*) => {
        $(
            #[doc = concat!("See [`crate::ClientBuilder::", stringify!($name), "`].")]
            pub fn $name(self, $arg: $ty) -> Self {
                Self(self.0.$name($arg))
            }
        )*
    };
}

impl ClientBuilder {
    forward! {
        token(token: impl Into<String>);
        client_identifier(identifier: impl Into<String>);
        product(product: impl Into<String>);
        version(version: impl Into<String>);
        device_name(name: impl Into<String>);
        platform(platform: impl Into<String>);
        timeout(timeout: Duration);
        connect_timeout(timeout: Duration);
        retry(policy: RetryPolicy);
    }

    /// See [`crate::ClientBuilder::http_client`]. Give each blocking
    /// client a `reqwest::Client` of its own (a clone counts as the same
    /// one): each runs its requests on a runtime of its own, and a pooled
    /// connection is driven only by the runtime that opened it, so a second
    /// blocking client reusing it waits for an answer nobody reads, until
    /// its timeout.
    pub fn http_client(self, client: reqwest::Client) -> Self {
        Self(self.0.http_client(client))
    }
    // No `shared_http_client`: each blocking client drives its requests on
    // a runtime of its own, and a pooled connection is driven only by the
    // runtime that opened it; a second client reusing it waits for an
    // answer nobody reads (until its timeout).

    /// Checks the configuration and makes the client.
    ///
    /// # Errors
    ///
    /// As [`crate::ClientBuilder::build`].
    pub fn build(self) -> Result<Client, Error> {
        Client::from_async(self.0.build()?)
    }
}
