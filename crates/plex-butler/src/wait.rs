//! Waiting for Butler work to end, by watching the server's activities.
//!
//! Starting a task is fire-and-forget on the wire: the answer says only that
//! the task started. The work then shows in `GET /activities` while it runs,
//! and leaves it when it ends. Waiting therefore means looking at the
//! activities now and then until no Butler activity is left.
//!
//! What the wire can and cannot tell:
//!
//! - A server may show **one aggregate activity** for all its running Butler
//!   work (a PMS 1.43.2 titles it "Butler tasks") rather than one per task.
//!   Waiting for a given task is waiting for all Butler work to end.
//! - A task that finished before the first look is indistinguishable from
//!   one that never started: [`WaitReport::saw_activity`] says whether any
//!   Butler activity was seen at all.
//! - Right after a start the activity may not be listed yet: while none has
//!   been seen, the wait keeps looking for [`WaitOptions::grace`] before it
//!   concludes that nothing runs.
//! - `progress` 100 does not mean done; the activity leaving the list does.
//!
//! The server's events make the looks timely and rare: a wait that does
//! not end at its first look opens the event stream ([`Client::events`])
//! and looks again as soon as Butler work starts or ends (or the stream
//! connects, having reported what ran before). The looks, not the
//! events, decide that the work is over, so a stream that misses an event
//! costs time, never a wrong answer. Until the stream has shown Butler
//! work, the wait also looks at its poll intervals, as without events: a
//! server whose stream is open but quiet about Butler work is watched as
//! closely as one without. Once it has, and while only Butler work keeps
//! the wait going, the looks between events are a safety net, at most
//! every 60 s (`EVENTS_SAFETY_INTERVAL`, or the maximum poll interval,
//! if longer), and the progress the stream tells reaches
//! [`WaitOptions::on_progress`] without a look. A server without events
//! (404), or a stream that fails, leaves the wait polling;
//! [`WaitOptions::polling_only`] never opens it.

use std::fmt;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::future::Either;

use crate::events::{ActivityEventKind, Event, EventOptions, Events};
use crate::{Activity, Client, Error, StartOutcome, TaskName};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
const DEFAULT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_GRACE: Duration = Duration::from_secs(3);
/// The shortest wait between two looks: a zero interval would hammer the
/// server.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(1);
/// The longest wait between two looks while the event stream is up and
/// has shown Butler work, and only Butler work keeps the wait going: the
/// stream wakes the wait for a look when work starts or ends, so the looks
/// between are a safety net (a stream that went quiet is found dead and
/// reconnected within three ping intervals, 30 s by default).
pub(crate) const EVENTS_SAFETY_INTERVAL: Duration = Duration::from_secs(60);

/// The progress callback of a wait.
type OnProgress<'a> = Box<dyn FnMut(&WaitProgress) + Send + 'a>;

/// How often a wait looks at the server and for how long: what
/// [`WaitOptions`] and a [`crate::Plan`]'s waits share, with one set of
/// defaults and one rule for each setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Polling {
    pub(crate) timeout: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) max_poll_interval: Duration,
    pub(crate) grace: Duration,
    /// Whether to listen to the server's events, to look again as soon
    /// as Butler work starts or ends.
    pub(crate) events: bool,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_poll_interval: DEFAULT_MAX_POLL_INTERVAL,
            grace: DEFAULT_GRACE,
            events: true,
        }
    }
}

impl Polling {
    pub(crate) fn set_poll_interval(&mut self, interval: Duration) {
        self.poll_interval = interval.max(MIN_POLL_INTERVAL);
    }

    pub(crate) fn set_max_poll_interval(&mut self, interval: Duration) {
        self.max_poll_interval = interval.max(MIN_POLL_INTERVAL);
    }
}

/// What one look at the server found.
pub(crate) enum Look {
    /// Nothing to wait for.
    Idle,
    /// Something the event stream does not tell the end of (someone
    /// watching) to wait for: looked at on the poll intervals.
    Busy,
    /// Only Butler work to wait for (these activities, by `uuid`), whose
    /// start and end the event stream tells: once the stream has shown
    /// Butler work, looked at only when it starts or ends, or on the
    /// safety interval.
    Working(Vec<String>),
}

/// Why the poll loop calls its look.
pub(crate) enum Prompt {
    /// A look at the server, the `n`th (from 1).
    Look(u32),
    /// The stream told that a Butler activity changed (its progress, its
    /// subtitle), between looks; nothing is to be asked of the server.
    /// Only after a look that found [`Look::Working`].
    Update(crate::events::ActivityEvent),
}

/// How a poll loop ended, when no look failed.
pub(crate) enum Polled {
    /// A look found the server idle, after the grace when nothing was
    /// ever busy; or the time ran out inside the grace.
    Idle {
        /// How the loop learnt when to look.
        method: WaitMethod,
    },
    /// The time ran out while the server was busy, or before the first
    /// look came back.
    TimedOut {
        /// How long the loop lasted.
        waited: Duration,
    },
}

impl Client {
    /// The one poll loop of the crate: looks at the server (`look`, given
    /// the number of the look, from 1) at once, then after waits that start at the poll
    /// interval and double up to its maximum, until a look finds it idle
    /// or the time is up. While no look has found it busy, the loop keeps
    /// looking for the grace (a task just started may be listed a moment
    /// later).
    pub(crate) async fn poll_until_idle(
        &self,
        polling: &Polling,
        mut look: impl AsyncFnMut(Prompt) -> Result<Look, Error>,
    ) -> Result<Polled, Error> {
        let started = Instant::now();
        let deadline = crate::call::deadline_after(polling.timeout);
        let mut interval = polling.poll_interval;
        let max_interval = polling.max_poll_interval.max(polling.poll_interval);
        // Opened before the first wait between looks, not before the first
        // look: a wait that ends at once needs none. Nothing is missed in
        // between: once connected, the stream wakes the loop for a look.
        let mut events = None;
        let mut listen = polling.events;
        let mut polls = 0;
        let mut busy = false;
        let mut saw_busy = false;
        // The activities the stream said ended, while a look still lists
        // them: the list lags the event.
        let mut ended: Vec<String> = Vec::new();
        loop {
            let looked = crate::call::timeout_at(deadline, look(Prompt::Look(polls + 1)))?.await;
            let Ok(found) = looked else {
                if polls > 0 && !busy {
                    // The time ran out inside the grace, during a look:
                    // the looks before found the server idle.
                    return Ok(Polled::Idle {
                        method: method(&events),
                    });
                }
                return Ok(Polled::TimedOut {
                    waited: started.elapsed(),
                });
            };
            polls += 1;
            let found = found?;
            busy = !matches!(found, Look::Idle);
            let working = matches!(found, Look::Working(_));
            if let Look::Working(listed) = &found {
                ended.retain(|uuid| listed.contains(uuid));
            } else {
                ended.clear();
            }
            saw_busy |= busy;
            let elapsed = started.elapsed();
            let in_grace = !saw_busy && elapsed < polling.grace;
            if !busy && !in_grace {
                return Ok(Polled::Idle {
                    method: method(&events),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                if !busy {
                    // The time ran out inside the grace: nothing was
                    // found busy.
                    return Ok(Polled::Idle {
                        method: method(&events),
                    });
                }
                return Ok(Polled::TimedOut {
                    waited: started.elapsed(),
                });
            }
            // An activity the stream said ended is still listed: the list
            // lags the event, so the looks come at the poll interval until
            // it lets go, not at the safety net's.
            let lagging = !ended.is_empty();
            if lagging {
                interval = polling.poll_interval;
            }
            let stretched = working && !lagging && events.as_ref().is_some_and(|e| e.showed_work);
            let mut wait = if stretched {
                max_interval.max(EVENTS_SAFETY_INTERVAL)
            } else {
                interval
            }
            .min(deadline - now);
            if in_grace {
                // Look again when the grace ends, not a long interval later.
                wait = wait.min(polling.grace.saturating_sub(elapsed));
            }
            if std::mem::take(&mut listen) {
                events = Some(WaitEvents::new(
                    self.events(EventOptions::new().butler_only(true)),
                ));
            }
            let next_look = tokio::time::Instant::now() + wait.max(MIN_POLL_INTERVAL);
            // Changes the stream tells between looks: to the look, as
            // progress, while only Butler work keeps the wait going.
            loop {
                match sleep_or_wake(&mut events, next_look, working).await {
                    Wake::Update(change) => {
                        let told =
                            crate::call::timeout_at(deadline, look(Prompt::Update(change)))?.await;
                        if let Ok(told) = told {
                            told?;
                        }
                    }
                    Wake::Timer => {
                        interval = interval.saturating_mul(2).min(max_interval);
                        break;
                    }
                    Wake::Event(end) => {
                        ended.extend(end);
                        break;
                    }
                }
            }
        }
    }
}

/// The stream of a wait, while it is usable: `None` once it failed.
struct WaitEvents {
    stream: Events,
    /// Whether it has connected (and reported what ran before).
    connected: bool,
    /// Whether it has told of Butler work since it connected: then the
    /// server's stream is known to carry it.
    showed_work: bool,
}

impl WaitEvents {
    fn new(stream: Events) -> Self {
        Self {
            stream,
            connected: false,
            showed_work: false,
        }
    }
}

/// Why [`sleep_or_wake`] returned.
enum Wake {
    /// Time for the planned look.
    Timer,
    /// Time for a look: Butler work started or ended (the `uuid` of an
    /// activity that ended), or the stream (re)connected.
    Event(Option<String>),
    /// A Butler activity changed (progress, subtitle): no look needed.
    Update(crate::events::ActivityEvent),
}

fn method(events: &Option<WaitEvents>) -> WaitMethod {
    match events {
        Some(WaitEvents {
            connected: true, ..
        }) => WaitMethod::Events,
        _ => WaitMethod::Polling,
    }
}

/// Sleeps until `until`, or less: until the stream says Butler work (or
/// an activity of unknown type) started or ended, or it (re)connected; or,
/// with `updates`, that a Butler activity changed. A stream that fails (no
/// events on this server, ...) is dropped, and the loop goes on polling.
async fn sleep_or_wake(
    events: &mut Option<WaitEvents>,
    until: tokio::time::Instant,
    updates: bool,
) -> Wake {
    let mut sleep = std::pin::pin!(tokio::time::sleep_until(until));
    loop {
        let Some(listening) = events.as_mut() else {
            sleep.await;
            return Wake::Timer;
        };
        match futures_util::future::select(&mut sleep, listening.stream.next()).await {
            Either::Left(_) => return Wake::Timer,
            Either::Right((item, _)) => match item {
                Some(Ok(Event::Connected { .. })) => {
                    listening.connected = true;
                    listening.showed_work = false;
                    // What ran before the stream opened is known only
                    // from a look.
                    return Wake::Event(None);
                }
                Some(Ok(Event::Activity(change))) => {
                    let butler = change.activity.as_ref().is_none_or(Activity::is_butler);
                    if !butler {
                        continue;
                    }
                    if change.live && listening.connected {
                        listening.showed_work = true;
                    }
                    match change.kind {
                        ActivityEventKind::Started => return Wake::Event(None),
                        ActivityEventKind::Ended => return Wake::Event(Some(change.uuid)),
                        ActivityEventKind::Updated if updates && change.activity.is_some() => {
                            return Wake::Update(change);
                        }
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::debug!(error = %error, "no events: polling only");
                    *events = None;
                }
                None => *events = None,
            },
        }
    }
}

/// How a wait learnt when to look at the server ([`WaitReport::method`]).
///
/// ```
/// # fn show(report: &plex_butler::WaitReport) {
/// if report.method == plex_butler::WaitMethod::Polling {
///     eprintln!("the server's events were not used: polling only");
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitMethod {
    /// The wait listened to the server's event stream (connected, or
    /// reconnecting after a loss) rather than falling back to polling: it
    /// looked again as soon as the stream told of Butler work ending.
    Events,
    /// It looked now and then only: the server has no event stream, the
    /// stream failed, or it was switched off
    /// ([`WaitOptions::polling_only`]).
    Polling,
}

/// How [`Client::wait_until_idle`] waits: how often it looks, for how long,
/// and whom it tells.
///
/// The first look is at once; the waits between looks start at
/// [`WaitOptions::poll_interval`] and double up to
/// [`WaitOptions::max_poll_interval`].
///
/// ```
/// use std::time::Duration;
/// use plex_butler::WaitOptions;
///
/// let options = WaitOptions::new()
///     .timeout(Duration::from_secs(600))
///     .poll_interval(Duration::from_millis(250))
///     .on_progress(|progress| {
///         for activity in &progress.activities {
///             println!("{activity}"); // "Butler tasks: 40%"
///         }
///     });
/// # drop(options);
/// ```
#[must_use = "options do nothing until passed to a wait"]
pub struct WaitOptions<'a> {
    pub(crate) polling: Polling,
    on_progress: Option<OnProgress<'a>>,
}

impl fmt::Debug for WaitOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOptions")
            .field("timeout", &self.polling.timeout)
            .field("poll_interval", &self.polling.poll_interval)
            .field("max_poll_interval", &self.polling.max_poll_interval)
            .field("grace", &self.polling.grace)
            .field("polling_only", &!self.polling.events)
            .field("on_progress", &self.on_progress.as_ref().map(|_| "set"))
            .finish()
    }
}

impl Default for WaitOptions<'_> {
    /// Up to 1 hour, looking every 500 ms at first and every 5 s at most,
    /// with 3 s of grace, and no callback.
    fn default() -> Self {
        Self {
            polling: Polling::default(),
            on_progress: None,
        }
    }
}

impl<'a> WaitOptions<'a> {
    /// The defaults; see [`WaitOptions::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait in all before giving up with
    /// [`Error::WaitTimedOut`]. Default: 1 hour. The work itself goes on.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.polling.timeout = timeout;
        self
    }

    /// The wait before the second look; each later wait doubles, up to
    /// [`WaitOptions::max_poll_interval`]. Default: 500 ms (at least 1 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.polling.set_poll_interval(interval);
        self
    }

    /// The longest wait between two looks. Default: 5 s (at least 1 ms).
    /// While the event stream has shown Butler work and only Butler work
    /// keeps the wait going, the stream prompts the looks, and this (or
    /// 60 s, if longer) is only the longest wait of the safety net.
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.polling.set_max_poll_interval(interval);
        self
    }

    /// How long to keep looking while no Butler activity has been seen,
    /// since the server may list a task it just started a moment later.
    /// Default: 3 s. Zero ends the wait at the first look that finds the
    /// server idle (to wait for work that is surely listed already).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.polling.grace = grace;
        self
    }

    /// `true`: do not listen to the server's events; look at the
    /// activities at the poll intervals only. Default: `false`: the wait
    /// listens to the server's event stream ([`Client::events`]) and
    /// looks again as soon as Butler work starts or ends (an end is seen
    /// within milliseconds, not at the next interval); a server without
    /// events, or a stream that fails, leaves the wait polling.
    ///
    /// ```
    /// let options = plex_butler::WaitOptions::new().polling_only(true);
    /// # drop(options);
    /// ```
    pub fn polling_only(mut self, polling_only: bool) -> Self {
        self.polling.events = !polling_only;
        self
    }

    /// Called after every look at the server (the last one included, with
    /// no activities), with the Butler activities it found.
    pub fn on_progress(mut self, callback: impl FnMut(&WaitProgress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(callback));
        self
    }
}

/// One look at the server during a wait, as [`WaitOptions::on_progress`]
/// sees it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WaitProgress {
    /// The time since the wait began.
    pub elapsed: Duration,
    /// How many looks so far, this one included.
    pub polls: u32,
    /// The Butler activities running now, in the server's order: one per
    /// task, or one for all (see [`Activity`]). Empty when none runs.
    pub activities: Vec<Activity>,
}

/// How a wait ended: no Butler activity was left.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WaitReport {
    /// How long the wait lasted.
    pub elapsed: Duration,
    /// How many times it looked at the server.
    pub polls: u32,
    /// Whether any Butler activity was seen. `false` means the work ended
    /// before the first look, or never started: the server's answers do not
    /// tell these apart.
    pub saw_activity: bool,
    /// Every Butler activity seen, in the order first seen, each as last
    /// seen (its progress then).
    pub seen: Vec<Activity>,
    /// Whether the server's events told the wait when to look, or it
    /// polled only.
    pub method: WaitMethod,
}

impl Client {
    /// Waits until no Butler activity is left on the server (looking at
    /// [`Client::activities`] with backoff), or the time is up.
    ///
    /// Returns at the first look that finds no Butler activity once one
    /// has been seen, or, if none is seen, once the
    /// [grace](WaitOptions::grace) has passed. Other work (activities of
    /// other types) is not waited for.
    ///
    /// ```no_run
    /// # async fn run(client: plex_butler::Client) -> Result<(), plex_butler::Error> {
    /// use plex_butler::WaitOptions;
    ///
    /// let report = client
    ///     .wait_until_idle(WaitOptions::new().on_progress(|p| {
    ///         for activity in &p.activities {
    ///             eprintln!("{activity}");
    ///         }
    ///     }))
    ///     .await?;
    /// if !report.saw_activity {
    ///     eprintln!("no Butler work was seen: it ended at once, or never started");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// See [the crate docs](crate#waiting-for-the-work-to-end) for what
    /// the server's answers can and cannot tell.
    ///
    /// # Errors
    ///
    /// [`Error::WaitTimedOut`] when Butler work still runs at the
    /// [timeout](WaitOptions::timeout); the errors of
    /// [`Client::activities`] when a look fails (after its retries).
    pub async fn wait_until_idle(&self, mut options: WaitOptions<'_>) -> Result<WaitReport, Error> {
        let mut report = WaitReport {
            elapsed: Duration::ZERO,
            polls: 0,
            saw_activity: false,
            seen: Vec::new(),
            method: WaitMethod::Polling,
        };
        let mut running: Vec<Activity> = Vec::new();
        let started = Instant::now();
        let polled = self
            .poll_until_idle(&options.polling, async |prompt| {
                let polls = match prompt {
                    Prompt::Look(polls) => {
                        running = self
                            .activities()
                            .await?
                            .into_iter()
                            .filter(Activity::is_butler)
                            .collect();
                        polls
                    }
                    Prompt::Update(change) => {
                        // Told by the stream between looks: the activity
                        // as it is now, no request.
                        if let Some(activity) = change.activity {
                            match running.iter_mut().find(|a| a.uuid == activity.uuid) {
                                Some(known) => *known = activity,
                                None => running.push(activity),
                            }
                        }
                        report.polls
                    }
                };
                let elapsed = started.elapsed();
                report.polls = polls;
                report.elapsed = elapsed;
                for activity in &running {
                    match report.seen.iter_mut().find(|a| a.uuid == activity.uuid) {
                        Some(seen) => *seen = activity.clone(),
                        None => report.seen.push(activity.clone()),
                    }
                }
                report.saw_activity |= !running.is_empty();
                if let Some(callback) = options.on_progress.as_mut() {
                    callback(&WaitProgress {
                        elapsed,
                        polls,
                        activities: running.clone(),
                    });
                }
                Ok(if running.is_empty() {
                    Look::Idle
                } else {
                    Look::Working(running.iter().map(|a| a.uuid.clone()).collect())
                })
            })
            .await?;
        match polled {
            Polled::Idle { method } => {
                report.method = method;
                report.elapsed = started.elapsed();
                Ok(report)
            }
            Polled::TimedOut { waited } => Err(Error::WaitTimedOut {
                waited,
                running,
                watching: 0,
            }),
        }
    }

    /// Starts a task ([`Client::start`]), then waits until no Butler
    /// activity is left ([`Client::wait_until_idle`]). A task that was
    /// already running is waited for too.
    ///
    /// The wait ends when *all* Butler work has ended, not only this
    /// task's: a server may show one activity for all of it, so the
    /// answers cannot tell one task's end from another's.
    ///
    /// # Errors
    ///
    /// Those of [`Client::start`], then those of
    /// [`Client::wait_until_idle`].
    pub async fn start_and_wait(
        &self,
        task: impl Into<TaskName>,
        options: WaitOptions<'_>,
    ) -> Result<(StartOutcome, WaitReport), Error> {
        let outcome = self.start(task).await?;
        let report = self.wait_until_idle(options).await?;
        Ok((outcome, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_at_least_a_millisecond() {
        let options = WaitOptions::new()
            .poll_interval(Duration::ZERO)
            .max_poll_interval(Duration::ZERO);
        assert_eq!(options.polling.poll_interval, MIN_POLL_INTERVAL);
        assert_eq!(options.polling.max_poll_interval, MIN_POLL_INTERVAL);
    }

    #[test]
    fn debug_says_whether_a_callback_is_set_without_calling_it() {
        let plain = format!("{:?}", WaitOptions::new());
        assert!(plain.contains("on_progress: None"), "{plain}");
        let with = format!("{:?}", WaitOptions::new().on_progress(|_| {}));
        assert!(with.contains("on_progress: Some(\"set\")"), "{with}");
    }
}
