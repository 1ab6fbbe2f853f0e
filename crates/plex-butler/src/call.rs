//! One call of the API, around its attempts: the tracing span, the timeout
//! of each attempt, and the retries between them.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use crate::operations::Operation;
use crate::retry::{Acted, Moment, passing_in};
use crate::{Client, Error, TaskName};

/// What may be repeated after a failure whose effect is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Repeating has the same effect as doing it once (or, for start-all,
    /// a harmless one).
    Safe,
    /// Repeating may change the answer: only retried when the server
    /// surely did not act.
    OnlyIfNotDone,
}

impl Repeat {
    fn allows(self, error: &Error, moment: Moment) -> bool {
        match passing_in(error, moment) {
            None => false,
            Some(Acted::No) => true,
            Some(Acted::Maybe) => self == Self::Safe,
        }
    }
}

/// What a call learnt along the way, for its span: recorded once at the
/// end, so that each field has one value. Atomics, so that the attempts
/// (borrowing it) stay `Send`.
#[derive(Default)]
pub(crate) struct Progress {
    /// The status of the latest attempt's answer; 0 for none.
    status: AtomicU32,
    attempts: AtomicU32,
}

impl Progress {
    pub(crate) fn saw(&self, status: u16) {
        self.status.store(u32::from(status), Ordering::Relaxed);
    }

    fn status(&self) -> Option<u32> {
        Some(self.status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }
}

impl Client {
    /// Runs one call inside its tracing span, recording how it ended.
    pub(crate) async fn traced<T>(
        &self,
        operation: &Operation,
        task: Option<&TaskName>,
        progress: &Progress,
        body: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let span = tracing::info_span!(
            "plex_butler",
            operation = operation.span,
            method = operation.method,
            server = %self.shared.base_url,
            task = tracing::field::Empty,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        if span.is_disabled() {
            // No subscriber wants it: nothing to time or record.
            return body.await;
        }
        if let Some(task) = task {
            span.record("task", tracing::field::display(task));
        }
        let started = Instant::now();
        let result = body.instrument(span.clone()).await;

        let status = match &result {
            Ok(_) => progress.status(),
            Err(error) => error.status().map(u32::from).or_else(|| progress.status()),
        };
        if let Some(status) = status {
            span.record("status", status);
        }
        span.record("attempts", progress.attempts.load(Ordering::Relaxed));
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("duration_ms", elapsed);
        let _entered = span.enter();
        match &result {
            Ok(_) => tracing::debug!("call done"),
            Err(error) => {
                span.record("error", tracing::field::display(error));
                tracing::debug!("call failed");
            }
        }
        result
    }

    /// Runs `attempt` until it succeeds, fails for good, or the policy
    /// gives up. Each attempt is given its deadline (the client's timeout
    /// from its start), past which it ends in [`Error::Timeout`].
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        operation: &Operation,
        progress: &Progress,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut(Instant) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let started = Instant::now();
        let mut schedule = self.shared.retry.schedule();
        loop {
            // Waiting for a turn is not part of the attempt's time. The
            // semaphore is never closed; were it, the attempt goes ahead.
            let turn = match &self.shared.in_flight {
                Some(limit) => limit.acquire().await.ok(),
                None => None,
            };
            progress.status.store(0, Ordering::Relaxed);
            progress.attempts.fetch_add(1, Ordering::Relaxed);
            let deadline = deadline_after(self.shared.timeout);
            let error = match timeout_at(deadline, attempt(deadline))?.await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_elapsed) => self.timeout_error(),
            };
            drop(turn);
            if !operation
                .repeat
                .allows(&error, self.shared.settings_changed.moment())
            {
                return Err(error.with_attempts(schedule.ended(None)));
            }
            let retry_after = match &error {
                Error::Server { retry_after, .. } => *retry_after,
                _ => None,
            };
            let wait = match schedule.next_wait(started.elapsed(), retry_after) {
                Ok(wait) => wait,
                Err(limit) => return Err(error.with_attempts(schedule.ended(Some(limit)))),
            };
            tracing::debug!(
                attempt = schedule.attempts(),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// `timeout` from now; a huge one ("never") must not overflow the clock.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

/// [`tokio::time::timeout_at`], or [`Error::InvalidConfig`] where Tokio
/// has no timer to give: outside any runtime, or on a runtime built
/// without `enable_time()`. Tokio (and reqwest, for its connect timeout)
/// would panic there.
pub(crate) fn timeout_at<F: Future>(
    deadline: Instant,
    future: F,
) -> Result<tokio::time::Timeout<F>, Error> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::invalid_config(
            "no Tokio runtime is running: call the client from inside one (#[tokio::main]), \
             or use plex_butler::blocking (feature `blocking`)",
        ));
    }
    // Tokio (1.54) cannot be asked whether a runtime has timers: its
    // `Handle` has no such method (one is proposed upstream, tokio issue
    // #8361). Making a timer panics at once when there are none, before
    // anything else happens, and that panic is caught here. The panic hook
    // still prints Tokio's message, and under `panic = "abort"` the
    // process aborts: documented on `Client` ("Runtime"), pinned by the
    // test `..._through_a_caught_panic_so_panic_abort_aborts`.
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        tokio::time::timeout_at(deadline.into(), future)
    }))
    .map_err(|_| {
        Error::invalid_config(
            "the Tokio runtime has no timers: build it with enable_time() or enable_all() \
             (#[tokio::main] does); each attempt's timeout needs them",
        )
    })
}
