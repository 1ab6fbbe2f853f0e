//! Time as the simulator sees it: the real clock, or a manual one that tests
//! move by hand.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Notify;

/// The simulator's clock: a cheap handle (clones share one clock).
///
/// Two kinds exist:
/// - the **system** clock ([`Clock::system`], the default): the machine's
///   time, plus a skew that [`Clock::advance`] and [`Clock::set`] move;
/// - a **manual** clock ([`Clock::manual`], or [`ManualClock::at`]): time
///   stands still until [`Clock::advance`] or [`Clock::set`] moves it.
///
/// The simulator keeps no timers for its tasks: every request and every
/// [`Simulator::state`](crate::Simulator::state) brings the tasks up to the
/// clock's current time (running tasks finish, scheduled ones start). With a
/// manual clock, tests are therefore deterministic and need no sleeps.
///
/// Times are [`chrono::DateTime<Utc>`]; the maintenance window is read in the
/// server's configured UTC offset (see
/// [`SimulatorBuilder::utc_offset`](crate::SimulatorBuilder::utc_offset)).
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Mutex<Source>>,
    /// Told when the clock is moved, so that event streams report at once.
    moved: Arc<Notify>,
}

#[derive(Clone, Copy)]
enum Source {
    System { skew: TimeDelta },
    Manual { now: DateTime<Utc> },
}

impl Clock {
    /// The machine's clock.
    pub fn system() -> Self {
        Self::from_source(Source::System {
            skew: TimeDelta::zero(),
        })
    }

    /// A clock that shows `now` until it is moved.
    pub fn manual(now: DateTime<Utc>) -> Self {
        Self::from_source(Source::Manual { now })
    }

    fn from_source(source: Source) -> Self {
        Self {
            inner: Arc::new(Mutex::new(source)),
            moved: Arc::new(Notify::new()),
        }
    }

    fn source(&self) -> std::sync::MutexGuard<'_, Source> {
        // The guarded value is plain data, always valid: a panic elsewhere
        // while holding the lock leaves nothing half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current time, kept two days inside chrono's range so that the
    /// local time at any UTC offset, and the next day, can be computed.
    pub fn now(&self) -> DateTime<Utc> {
        let (earliest, latest) = representable();
        self.unclamped().clamp(earliest, latest)
    }

    fn unclamped(&self) -> DateTime<Utc> {
        match *self.source() {
            Source::System { skew } => {
                Utc::now()
                    .checked_add_signed(skew)
                    .unwrap_or(if skew < TimeDelta::zero() {
                        DateTime::<Utc>::MIN_UTC
                    } else {
                        DateTime::<Utc>::MAX_UTC
                    })
            }
            Source::Manual { now } => now,
        }
    }

    /// Waits until the clock is next moved.
    pub(crate) async fn moved(&self) {
        self.moved.notified().await;
    }

    /// Moves the clock forward by `by` (for the system clock: adds to its
    /// skew). Durations beyond chrono's range saturate at its maximum.
    pub fn advance(&self, by: Duration) {
        self.advance_quietly(by);
        self.moved.notify_waiters();
    }

    fn advance_quietly(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut source = self.source();
        match &mut *source {
            Source::System { skew } => *skew = skew.checked_add(&by).unwrap_or(TimeDelta::MAX),
            Source::Manual { now } => {
                *now = now
                    .checked_add_signed(by)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    /// Sets the clock to `now` (for the system clock: sets its skew so that it
    /// shows `now` at this instant, and runs on from there). Time may go
    /// backwards; tasks already finished stay finished.
    pub fn set(&self, now: DateTime<Utc>) {
        {
            let mut source = self.source();
            match &mut *source {
                Source::System { skew } => *skew = now - Utc::now(),
                Source::Manual { now: current } => *current = now,
            }
        }
        self.moved.notify_waiters();
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(*self.source(), Source::Manual { .. })
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.source() {
            Source::System { skew } => f
                .debug_struct("Clock::System")
                .field("skew", &skew)
                .finish(),
            Source::Manual { now } => f.debug_struct("Clock::Manual").field("now", &now).finish(),
        }
    }
}

/// Where manual clocks come from: `ManualClock::at(t)` is [`Clock::manual`]
/// under the name tests read best.
///
/// ```
/// use plex_butler_sim::ManualClock;
/// use chrono::{TimeZone, Utc};
///
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).single().expect("a valid date");
/// let clock = ManualClock::at(t);
/// clock.advance(std::time::Duration::from_secs(60));
/// assert_eq!(clock.now(), t + chrono::TimeDelta::seconds(60));
/// ```
#[derive(Debug)]
pub enum ManualClock {}

impl ManualClock {
    /// A manual [`Clock`] that shows `now` until it is moved.
    pub fn at(now: DateTime<Utc>) -> Clock {
        Clock::manual(now)
    }
}

/// The range the clock shows: chrono's, less two days at each end.
fn representable() -> (DateTime<Utc>, DateTime<Utc>) {
    let margin = TimeDelta::days(2);
    let earliest = DateTime::<Utc>::MIN_UTC
        .checked_add_signed(margin)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let latest = DateTime::<Utc>::MAX_UTC
        .checked_sub_signed(margin)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (earliest, latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn manual_clock_stands_still_until_advanced() {
        let clock = ManualClock::at(noon());
        assert_eq!(clock.now(), noon());
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), noon() + TimeDelta::seconds(90));
    }

    #[test]
    fn clones_of_a_clock_share_its_time() {
        let clock = ManualClock::at(noon());
        let other = clock.clone();
        other.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), noon() + TimeDelta::seconds(5));
    }

    #[test]
    fn advancing_the_system_clock_skews_it_forward() {
        let clock = Clock::system();
        clock.advance(Duration::from_secs(86_400));
        let ahead = clock.now() - Utc::now();
        assert!(ahead > TimeDelta::hours(23), "skew was {ahead}");
        assert!(!clock.is_manual());
    }

    #[test]
    fn advancing_a_clock_beyond_all_dates_saturates() {
        for clock in [Clock::system(), Clock::manual(noon())] {
            clock.advance(Duration::MAX);
            clock.advance(Duration::MAX);
            assert_eq!(clock.now(), representable().1);
            // The local day at the largest offset, and the next, exist.
            let offset = chrono::FixedOffset::east_opt(14 * 3600).expect("offset");
            let day = clock.now().with_timezone(&offset).date_naive();
            assert!(day.checked_add_signed(TimeDelta::days(1)).is_some());
        }
    }

    #[test]
    fn setting_a_manual_clock_moves_it_anywhere() {
        let clock = Clock::manual(noon());
        let earlier = noon() - TimeDelta::days(2);
        clock.set(earlier);
        assert_eq!(clock.now(), earlier);
        assert!(clock.is_manual());
    }
}
