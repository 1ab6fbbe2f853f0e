//! Faults the server can inject, for testing how clients cope.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::events::StreamFaults;

/// Which requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Every request.
    Always,
    /// The next `n` requests that reach this fault, then no more.
    Next(u32),
    /// Each request with this probability (0.0..=1.0), drawn from the
    /// simulator's seed.
    Share(f64),
}

impl Trigger {
    fn check(self) -> Result<(), String> {
        match self {
            Trigger::Share(p) if !(0.0..=1.0).contains(&p) => {
                Err(format!("a share must lie in 0..=1, not {p}"))
            }
            _ => Ok(()),
        }
    }
}

impl FromStr for Trigger {
    type Err = String;

    /// Reads `always`, `next:N` or `share:P` (P in 0..=1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected always, next:N or share:P, not {s:?}");
        let trigger = match s.split_once(':') {
            None if s == "always" => Trigger::Always,
            Some(("next", n)) => Trigger::Next(n.parse().map_err(|_| bad())?),
            Some(("share", p)) => Trigger::Share(p.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        trigger.check().map(|()| trigger)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Always => f.write_str("always"),
            Trigger::Next(n) => write!(f, "next:{n}"),
            Trigger::Share(p) => write!(f, "share:{p}"),
        }
    }
}

/// A status the server answers instead of serving the request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusFault {
    /// The HTTP status, 200..=599.
    pub status: u16,
    /// Which requests get it.
    pub when: Trigger,
    /// A `Retry-After` header to send with it, in whole seconds (rounded up).
    pub retry_after: Option<Duration>,
}

/// The faults a simulator injects. Off by default ([`FaultPlan::none`]).
///
/// Each request goes through them in this order: the latency is waited out;
/// then the connection may be dropped (no answer at all); then, for a few
/// requests after each change of settings, 400 may replace the answer (see
/// [`bad_request_after_settings_change`](FaultPlan::bad_request_after_settings_change));
/// then the fault status may replace the answer (before the token is even checked, as a
/// proxy or an overloaded server would); then the answer's body may be cut
/// short (the connection closes after half the promised `Content-Length`)
/// or replaced with bytes that are neither XML nor JSON (status and
/// `Content-Type` kept). A request stopped by one fault does not count
/// towards the later ones' [`Trigger::Next`].
///
/// The event stream (`GET /:/eventsource/notifications`) has faults of its
/// own, after those of its request: it may close after N events or after a
/// while, go silent with the connection open, or send `data: {not json` in
/// place of an event. Each stream follows the plan in force when it opened,
/// except for the last, which is drawn for each event sent on any stream.
///
/// ```
/// use plex_butler_sim::{FaultPlan, Trigger};
/// use std::time::Duration;
///
/// let plan = FaultPlan::none()
///     .latency(Duration::from_millis(20))
///     .status(503, Trigger::Next(2))
///     .retry_after(Duration::from_secs(1));
/// assert!(!plan.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    latency: Duration,
    status: Option<StatusFault>,
    drop_connection: Option<Trigger>,
    truncate_body: Option<Trigger>,
    garbage_body: Option<Trigger>,
    bad_requests_after_settings_change: u32,
    events_close_after: Option<u32>,
    events_close_after_time: Option<Duration>,
    events_silent_after: Option<u32>,
    events_garbage: Option<Trigger>,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether this plan injects nothing.
    pub fn is_none(&self) -> bool {
        *self == Self::none()
    }

    /// Waits this long before answering each request (real time, whatever
    /// the simulator's clock).
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Answers `status` (200..=599) to the requests `when` picks.
    #[must_use]
    pub fn status(mut self, status: u16, when: Trigger) -> Self {
        let retry_after = self.status.and_then(|s| s.retry_after);
        self.status = Some(StatusFault {
            status,
            when,
            retry_after,
        });
        self
    }

    /// Sends `Retry-After` with the fault status (set the status first; has
    /// no effect without one).
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        if let Some(status) = &mut self.status {
            status.retry_after = Some(after);
        }
        self
    }

    /// Closes the connection without answering the requests `when` picks.
    #[must_use]
    pub fn drop_connection(mut self, when: Trigger) -> Self {
        self.drop_connection = Some(when);
        self
    }

    /// Cuts the body of the answers `when` picks in half, then closes the
    /// connection.
    #[must_use]
    pub fn truncate_body(mut self, when: Trigger) -> Self {
        self.truncate_body = Some(when);
        self
    }

    /// Replaces the body of the answers `when` picks with garbage.
    #[must_use]
    pub fn garbage_body(mut self, when: Trigger) -> Self {
        self.garbage_body = Some(when);
        self
    }

    /// Answers 400 to the next `n` requests after each successful
    /// `PUT /:/prefs` (whatever their path, before the token is checked),
    /// as a server may do for a short while after its settings change
    /// (seen by the plex-api.rs client, which retries them). A later change
    /// starts the count again; 0 turns it off.
    #[must_use]
    pub fn bad_request_after_settings_change(mut self, n: u32) -> Self {
        self.bad_requests_after_settings_change = n;
        self
    }

    /// Closes each event stream after it has sent `n` events (pings
    /// included), as a server that restarts or a proxy that gives up does.
    #[must_use]
    pub fn events_close_after(mut self, n: u32) -> Self {
        self.events_close_after = Some(n);
        self
    }

    /// Closes each event stream this long after it opened (real time).
    #[must_use]
    pub fn events_close_after_time(mut self, after: Duration) -> Self {
        self.events_close_after_time = Some(after);
        self
    }

    /// After `n` events (pings included), each event stream sends nothing
    /// more, no pings either, while its connection stays open: a dead
    /// stream that only silence gives away.
    #[must_use]
    pub fn events_silent_after(mut self, n: u32) -> Self {
        self.events_silent_after = Some(n);
        self
    }

    /// Sends `data: {not json` in place of the data of the events `when`
    /// picks (pings included; counted over all streams), keeping the
    /// `event:` line and the stream open.
    #[must_use]
    pub fn events_garbage(mut self, when: Trigger) -> Self {
        self.events_garbage = Some(when);
        self
    }

    /// How many requests after each change of settings get 400.
    pub fn bad_requests_after_settings_change(&self) -> u32 {
        self.bad_requests_after_settings_change
    }

    /// The added latency.
    pub fn added_latency(&self) -> Duration {
        self.latency
    }

    /// The status fault, if any.
    pub fn status_fault(&self) -> Option<StatusFault> {
        self.status
    }

    /// Checks the statuses and shares.
    pub(crate) fn check(&self) -> Result<(), String> {
        if let Some(status) = &self.status {
            if !(200..=599).contains(&status.status) {
                return Err(format!(
                    "a fault status must lie in 200..=599, not {}",
                    status.status
                ));
            }
            status.when.check()?;
        }
        if self.events_close_after_time.is_some_and(|d| d.is_zero()) {
            return Err("an event stream cannot close after no time at all".to_owned());
        }
        for trigger in [
            self.drop_connection,
            self.truncate_body,
            self.garbage_body,
            self.events_garbage,
        ]
        .into_iter()
        .flatten()
        {
            trigger.check()?;
        }
        Ok(())
    }
}

/// How one answer is to be spoiled, decided when the request arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub latency: Duration,
    pub drop_connection: bool,
    pub status: Option<(u16, Option<u64>)>,
    pub truncate_body: bool,
    pub garbage_body: bool,
}

/// A plan and how much of it is used up.
#[derive(Debug)]
pub(crate) struct Faults {
    plan: FaultPlan,
    used: [u32; 5],
    /// Requests still to be answered 400 since the last change of settings.
    after_settings_change: u32,
    rng: fastrand::Rng,
}

impl Faults {
    pub(crate) fn new(plan: FaultPlan, seed: u64) -> Self {
        Self {
            plan,
            used: [0; 5],
            after_settings_change: 0,
            rng: fastrand::Rng::with_seed(seed ^ 0x5bd1_e995_5bd1_e995),
        }
    }

    pub(crate) fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Installs a new plan; `Next` counts start afresh.
    pub(crate) fn replace(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.used = [0; 5];
        self.after_settings_change = 0;
    }

    /// A `PUT /:/prefs` succeeded: the next requests may get 400.
    pub(crate) fn settings_changed(&mut self) {
        self.after_settings_change = self.plan.bad_requests_after_settings_change;
    }

    fn fires(&mut self, slot: usize, trigger: Option<Trigger>) -> bool {
        let fires = match trigger {
            None => false,
            Some(Trigger::Always) => true,
            Some(Trigger::Next(n)) => self.used[slot] < n,
            Some(Trigger::Share(p)) => self.rng.f64() < p,
        };
        if fires {
            self.used[slot] = self.used[slot].saturating_add(1);
        }
        fires
    }

    /// How a stream opened now is spoilt.
    pub(crate) fn stream_faults(&self) -> StreamFaults {
        StreamFaults {
            close_after: self.plan.events_close_after,
            close_after_time: self.plan.events_close_after_time,
            silent_after: self.plan.events_silent_after,
        }
    }

    /// Whether the next event sent is replaced with data that is not JSON.
    pub(crate) fn garbage_event(&mut self) -> bool {
        self.fires(4, self.plan.events_garbage)
    }

    /// Decides what happens to the next request.
    pub(crate) fn judge(&mut self) -> Verdict {
        let mut verdict = Verdict {
            latency: self.plan.latency,
            ..Verdict::default()
        };
        if self.fires(0, self.plan.drop_connection) {
            verdict.drop_connection = true;
            return verdict;
        }
        if self.after_settings_change > 0 {
            self.after_settings_change -= 1;
            verdict.status = Some((400, None));
            return verdict;
        }
        if let Some(fault) = self.plan.status
            && self.fires(1, Some(fault.when))
        {
            let retry_after = fault
                .retry_after
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
            verdict.status = Some((fault.status, retry_after));
            return verdict;
        }
        verdict.truncate_body = self.fires(2, self.plan.truncate_body);
        verdict.garbage_body = !verdict.truncate_body && self.fires(3, self.plan.garbage_body);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_from_their_display() {
        for trigger in [Trigger::Always, Trigger::Next(3), Trigger::Share(0.25)] {
            assert_eq!(trigger.to_string().parse::<Trigger>(), Ok(trigger));
        }
    }

    #[test]
    fn malformed_triggers_are_refused() {
        for bad in [
            "",
            "sometimes",
            "next:",
            "next:-1",
            "share:1.5",
            "share:x",
            "always:1",
        ] {
            assert!(bad.parse::<Trigger>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_status_for_the_next_two_requests_hits_exactly_two() {
        let mut faults = Faults::new(FaultPlan::none().status(503, Trigger::Next(2)), 1);
        let hits: Vec<bool> = (0..4).map(|_| faults.judge().status.is_some()).collect();
        assert_eq!(hits, [true, true, false, false]);
    }

    #[test]
    fn after_each_change_of_settings_the_next_requests_get_400() {
        let mut faults = Faults::new(FaultPlan::none().bad_request_after_settings_change(2), 1);
        let statuses =
            |faults: &mut Faults| (0..3).map(|_| faults.judge().status).collect::<Vec<_>>();
        assert_eq!(statuses(&mut faults), [None, None, None]);
        faults.settings_changed();
        let bad = Some((400, None));
        assert_eq!(statuses(&mut faults), [bad, bad, None]);
        faults.settings_changed();
        assert_eq!(statuses(&mut faults)[0], bad);
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let plan = FaultPlan::none()
            .status(429, Trigger::Always)
            .retry_after(Duration::from_millis(1500));
        assert_eq!(Faults::new(plan, 1).judge().status, Some((429, Some(2))));
    }

    #[test]
    fn a_share_of_requests_is_roughly_that_share() {
        let mut faults = Faults::new(FaultPlan::none().garbage_body(Trigger::Share(0.25)), 9);
        let hits = (0..4000).filter(|_| faults.judge().garbage_body).count();
        assert!((800..1200).contains(&hits), "{hits} hits of 4000");
    }

    #[test]
    fn plans_with_impossible_statuses_are_refused() {
        assert!(
            FaultPlan::none()
                .status(700, Trigger::Always)
                .check()
                .is_err()
        );
        assert!(
            FaultPlan::none()
                .status(101, Trigger::Always)
                .check()
                .is_err()
        );
        assert!(
            FaultPlan::none()
                .status(503, Trigger::Share(-1.0))
                .check()
                .is_err()
        );
        assert!(
            FaultPlan::none()
                .status(503, Trigger::Always)
                .check()
                .is_ok()
        );
    }
}
