//! When and how long to wait before trying a call again.

use std::time::{Duration, SystemTime};

use crate::Error;

/// The longest a single `Retry-After` is waited by default.
const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How the client retries a call that failed for a passing reason.
///
/// A call is tried again after: no connection (nothing was sent), 429, 502,
/// 503 or 504, and, for the calls that are safe to repeat, a timeout or a
/// connection that broke after the request was sent. Which calls are safe
/// to repeat is documented on each method of [`crate::Client`].
///
/// The wait before attempt `n + 1` is drawn at random between zero and
/// `min(max_delay, base_delay × 2ⁿ⁻¹)` ("full jitter"), so that clients that
/// failed together do not come back together. A `Retry-After` header (in
/// seconds or as an HTTP date) replaces that wait, cut to
/// `max_retry_after` (default 60 s) so that one answer cannot hold a call
/// for as long as its budget allows. The call gives up when
/// `max_attempts` are used or when the next wait would end past
/// `max_elapsed` from the start of the call, returning the last error.
///
/// ```
/// use std::time::Duration;
/// use plex_butler::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .base_delay(Duration::from_millis(100))
///     .max_elapsed(Duration::from_secs(10));
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_elapsed: Duration,
    max_retry_after: Duration,
    jitter: Jitter,
}

/// Where the random part of a wait comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Jitter {
    /// Full jitter from a fresh random source for each call.
    Random,
    /// Full jitter from a source seeded with this value: the same waits on
    /// every call.
    Seeded(u64),
    /// No jitter: the full exponential wait.
    None,
}

impl Default for RetryPolicy {
    /// 3 attempts, waits from 200 ms doubling up to 5 s, at most 30 s in
    /// all, with full jitter; a `Retry-After` waited at most 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            jitter: Jitter::Random,
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is tried once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The number of attempts in all, the first one included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry, before jitter; each later wait
    /// doubles it.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait between two attempts, before jitter. A
    /// `Retry-After` longer than this is still honoured, up to
    /// [`RetryPolicy::max_retry_after`] and within
    /// [`RetryPolicy::max_elapsed`].
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The time budget of a call, from its first attempt: no retry starts
    /// whose wait would end after it. Attempts themselves are bounded by
    /// the client's timeout.
    pub fn max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = budget;
        self
    }

    /// The longest a single `Retry-After` is waited. Default: 60 s. A
    /// server asking for more (an hour, say) is retried after this long
    /// instead, so that a long [`RetryPolicy::max_elapsed`] cannot turn one
    /// answer into an hour's sleep.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Draws the jitter from a source seeded with `seed`, so that the waits
    /// are the same on every run (for tests and reproducible scripts).
    pub fn seeded(mut self, seed: u64) -> Self {
        self.jitter = Jitter::Seeded(seed);
        self
    }

    /// Waits the full exponential delay, with no jitter.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = Jitter::None;
        self
    }

    /// The number of attempts in all, the first one included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The state of the waits of one call.
    pub(crate) fn schedule(&self) -> Schedule<'_> {
        let rng = match self.jitter {
            Jitter::Random => Some(fastrand::Rng::new()),
            Jitter::Seeded(seed) => Some(fastrand::Rng::with_seed(seed)),
            Jitter::None => None,
        };
        Schedule {
            policy: self,
            rng,
            attempts: 1,
        }
    }
}

/// How many requests a call made, and which limit of its [`RetryPolicy`]
/// ended them, if one did: what the errors that may pass carry
/// ([`Error::attempts`]).
///
/// ```
/// # fn show(error: &plex_butler::Error) {
/// use plex_butler::RetryLimit;
///
/// if let Some(attempts) = error.attempts() {
///     match attempts.limit {
///         Some(RetryLimit::MaxAttempts(n)) => eprintln!("gave up after all {n} attempts"),
///         Some(RetryLimit::MaxElapsed(budget)) => eprintln!("gave up: no time left of {budget:?}"),
///         _ => eprintln!("{} attempt(s), not retried", attempts.made),
///     }
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempts {
    /// The requests made, the first one included (at least 1).
    pub made: u32,
    /// The limit that ended the retries; `None` when no retry was due:
    /// the failure does not pass, or the call is not safe to repeat after
    /// it (see [`RetryPolicy`]).
    pub limit: Option<RetryLimit>,
}

impl Attempts {
    /// One request, nothing more planned: what an error says until its
    /// call's retries are over.
    pub(crate) fn first() -> Self {
        Self {
            made: 1,
            limit: None,
        }
    }
}

/// The limit of a [`RetryPolicy`] that ended a call's retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryLimit {
    /// Every attempt was used ([`RetryPolicy::max_attempts`]).
    MaxAttempts(u32),
    /// The next wait would have ended past the call's time budget
    /// ([`RetryPolicy::max_elapsed`]): a long `Retry-After`, or the
    /// time spent already.
    MaxElapsed(Duration),
}

/// One call's progress through its [`RetryPolicy`].
pub(crate) struct Schedule<'a> {
    policy: &'a RetryPolicy,
    rng: Option<fastrand::Rng>,
    attempts: u32,
}

impl Schedule<'_> {
    /// Attempts made so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before the next attempt, or the limit that says to give
    /// up: attempts used up, or the wait would end past the budget.
    /// `elapsed` is the time since the call began; `retry_after` the
    /// server's own wait.
    pub(crate) fn next_wait(
        &mut self,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Result<Duration, RetryLimit> {
        if self.attempts >= self.policy.max_attempts {
            return Err(RetryLimit::MaxAttempts(self.policy.max_attempts));
        }
        let wait = match retry_after {
            Some(wait) => wait.min(self.policy.max_retry_after),
            None => self.backoff(),
        };
        if elapsed.saturating_add(wait) > self.policy.max_elapsed {
            return Err(RetryLimit::MaxElapsed(self.policy.max_elapsed));
        }
        self.attempts += 1;
        Ok(wait)
    }

    /// What the errors of a call that ends now say: the attempts made,
    /// and `limit` when one ended them.
    pub(crate) fn ended(&self, limit: Option<RetryLimit>) -> Attempts {
        Attempts {
            made: self.attempts,
            limit,
        }
    }

    fn backoff(&mut self) -> Duration {
        let exponent = self.attempts.saturating_sub(1).min(31);
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.policy.max_delay);
        match &mut self.rng {
            Some(rng) => {
                let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
                Duration::from_millis(rng.u64(0..=ceiling_ms))
            }
            None => ceiling,
        }
    }
}

/// Reads a `Retry-After` value: a number of seconds, or an HTTP date from
/// which the wait is counted from `now`. A date in the past means no wait.
/// Other forms are ignored (the backoff applies).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Beyond u64 seconds is "never"; the budget refuses it anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether the server may have acted on a request whose attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acted {
    /// Surely not: nothing was sent, or the server says it did nothing.
    No,
    /// Perhaps: the request may have been carried out before the answer
    /// was lost.
    Maybe,
}

/// The one rule of which failures may pass: `None` for those that will not
/// (trying again gives the same answer), otherwise whether the server may
/// have acted. [`crate::Error::is_retryable`] and the retry loop both read
/// it.
pub(crate) fn passing(error: &Error) -> Option<Acted> {
    passing_in(error, Moment::Usual)
}

/// What the client knows of the server's state when a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Moment {
    Usual,
    /// This client changed settings a moment ago: a real server may
    /// answer 400 to the requests that follow for a short while, and
    /// processes none of them (plex-api.rs retries these too).
    JustAfterSettingsChange,
}

/// [`passing`], knowing the moment: right after a change of settings a
/// 400, whatever the call reads it as, passes too, and the server did not
/// act on it.
pub(crate) fn passing_in(error: &Error, moment: Moment) -> Option<Acted> {
    if moment == Moment::JustAfterSettingsChange && error.status() == Some(400) {
        return Some(Acted::No);
    }
    match error {
        Error::Connect { .. } => Some(Acted::No),
        Error::Timeout { .. } | Error::ConnectionLost { .. } => Some(Acted::Maybe),
        Error::Server { status, .. } => match status {
            // "Not now", from the server itself.
            429 | 503 => Some(Acted::No),
            // From a gateway, whose server may have done it.
            502 | 504 => Some(Acted::Maybe),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(
            parse_retry_after("7", UNIX_EPOCH),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(" 0 ", UNIX_EPOCH), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", UNIX_EPOCH), None);
        assert_eq!(parse_retry_after("soon", UNIX_EPOCH), None);
    }

    #[test]
    fn retry_after_reads_an_http_date_relative_to_now() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770);
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            // The two obsolete forms RFC 9110 asks recipients to read.
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(7)),
                "{date}"
            );
        }
        let later = UNIX_EPOCH + Duration::from_secs(784_111_800);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn malformed_dates_are_ignored() {
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, UNIX_EPOCH), None, "{bad}");
        }
    }

    #[test]
    fn only_not_now_statuses_pass_and_only_gateways_may_have_acted() {
        let server = |status| Error::Server {
            status,
            body: String::new(),
            retry_after: None,
            location: None,
            attempts: Attempts::first(),
        };
        for status in 100..600 {
            let expected = match status {
                429 | 503 => Some(Acted::No),
                502 | 504 => Some(Acted::Maybe),
                _ => None,
            };
            let error = server(status);
            assert_eq!(passing(&error), expected, "{status}");
            assert_eq!(error.is_retryable(), expected.is_some(), "{status}");
        }
        assert_eq!(passing(&Error::BlockingInAsyncContext), None);
        // Right after a change of settings, a 400 passes, and nothing
        // else changes.
        for status in 100..600 {
            let expected = match status {
                400 | 429 | 503 => Some(Acted::No),
                502 | 504 => Some(Acted::Maybe),
                _ => None,
            };
            let moment = Moment::JustAfterSettingsChange;
            assert_eq!(passing_in(&server(status), moment), expected, "{status}");
        }
        let refused = Error::SettingsRefused {
            status: 400,
            ids: vec!["ButlerStartHour".into()],
        };
        assert_eq!(passing(&refused), None);
        assert_eq!(
            passing_in(&refused, Moment::JustAfterSettingsChange),
            Some(Acted::No)
        );
        assert_eq!(passing(&Error::invalid_config("no")), None);
    }

    #[test]
    fn waits_double_up_to_the_maximum_without_jitter() {
        let policy = RetryPolicy::default()
            .max_attempts(6)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350))
            .max_elapsed(Duration::from_secs(60))
            .without_jitter();
        let mut schedule = policy.schedule();
        let waits: Vec<_> =
            std::iter::from_fn(|| schedule.next_wait(Duration::ZERO, None).ok()).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 350, 350, 350]);
    }

    #[test]
    fn jittered_waits_stay_under_the_exponential_ceiling_and_repeat_with_a_seed() {
        let policy = RetryPolicy::default().max_attempts(4).seeded(7);
        let draw = || {
            let mut schedule = policy.schedule();
            std::iter::from_fn(|| schedule.next_wait(Duration::ZERO, None).ok()).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        for (i, wait) in first.iter().enumerate() {
            assert!(*wait <= Duration::from_millis(200 << i), "{wait:?}");
        }
    }

    #[test]
    fn retry_after_wins_but_not_past_the_budget() {
        let policy = RetryPolicy::default().max_elapsed(Duration::from_secs(10));
        let mut schedule = policy.schedule();
        assert_eq!(
            schedule.next_wait(Duration::from_secs(1), Some(Duration::from_secs(8))),
            Ok(Duration::from_secs(8))
        );
        assert_eq!(
            schedule.next_wait(Duration::from_secs(9), Some(Duration::from_secs(2))),
            Err(RetryLimit::MaxElapsed(Duration::from_secs(10)))
        );
        assert_eq!(
            schedule.ended(Some(RetryLimit::MaxElapsed(Duration::from_secs(10)))),
            Attempts {
                made: 2,
                limit: Some(RetryLimit::MaxElapsed(Duration::from_secs(10)))
            }
        );
    }

    #[test]
    fn a_long_retry_after_is_waited_only_up_to_its_cap() {
        let policy = RetryPolicy::default().max_elapsed(Duration::from_secs(7200));
        let mut schedule = policy.schedule();
        assert_eq!(
            schedule.next_wait(Duration::ZERO, Some(Duration::from_secs(3600))),
            Ok(Duration::from_secs(60))
        );
        let policy = policy.max_retry_after(Duration::from_millis(200));
        let mut schedule = policy.schedule();
        assert_eq!(
            schedule.next_wait(Duration::ZERO, Some(Duration::from_secs(3600))),
            Ok(Duration::from_millis(200))
        );
        assert_eq!(
            schedule.next_wait(Duration::ZERO, Some(Duration::from_millis(50))),
            Ok(Duration::from_millis(50))
        );
    }

    #[test]
    fn no_retry_policy_gives_up_at_once_naming_its_one_attempt() {
        let policy = RetryPolicy::none();
        let mut schedule = policy.schedule();
        assert_eq!(
            schedule.next_wait(Duration::ZERO, None),
            Err(RetryLimit::MaxAttempts(1))
        );
        assert_eq!(schedule.ended(None), Attempts::first());
    }
}
