//! The server's event stream, `GET /:/eventsource/notifications`: pings and
//! the starts, changes and ends of activities, as server-sent events.
//!
//! One ticker per simulator compares snapshots of the activities while any
//! stream is open (every [`TICK`], and at once when a request changes the
//! Butler or the clock is moved) and broadcasts what changed. Each stream
//! reads the broadcast through a queue of [`EVENT_QUEUE`] events and sends its
//! own pings.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::Stream;
use hyper::body::Bytes;
use tokio::sync::{Notify, broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::render;
use crate::request::{BadEncoding, query_pairs};
use crate::server::Shared;
use crate::state::Activity;

/// How often an event stream sends `ping` unless told otherwise
/// ([`SimulatorBuilder::ping_interval`](crate::SimulatorBuilder::ping_interval)),
/// as the real server does.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);
/// How often the activities are compared while a stream is open.
const TICK: Duration = Duration::from_millis(10);
/// The least time between two `updated` events of one activity.
const UPDATE_GAP: Duration = Duration::from_millis(250);
/// How many events a stream may fall behind before it is closed.
pub const EVENT_QUEUE: usize = 256;
/// What a stream sends in place of an event spoilt by the fault plan.
const NOT_JSON: &str = "{not json";

/// One event, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    name: &'static str,
    frame: Bytes,
}

impl Event {
    fn new(name: &'static str, data: &str) -> Self {
        Self {
            name,
            frame: Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        }
    }

    fn activity(event: &str, activity: &Activity) -> Self {
        Self::new("activity", &render::activity_event(event, activity))
    }
}

/// An activity as the streams last heard of it.
#[derive(Debug)]
struct Tracked {
    /// As last seen (what `ended` carries).
    last: Activity,
    /// As last reported in `started` or `updated`.
    reported: Activity,
    reported_at: Instant,
}

/// The broadcast and what the ticker knows.
pub(crate) struct Hub {
    sender: broadcast::Sender<Event>,
    /// Wakes the ticker: a stream opened, or a request changed the Butler.
    wake: Notify,
    /// The activities as of the last comparison, while a stream is open;
    /// `None` while none is. Locked before the Butler.
    seen: Mutex<Option<Vec<Tracked>>>,
    shutdown: watch::Receiver<bool>,
    pub ping_interval: Duration,
    pub enabled: bool,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("streams", &self.sender.receiver_count())
            .field("ping_interval", &self.ping_interval)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub(crate) fn new(
        enabled: bool,
        ping_interval: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            sender: broadcast::channel(EVENT_QUEUE).0,
            wake: Notify::new(),
            seen: Mutex::new(None),
            shutdown,
            ping_interval,
            enabled,
        }
    }

    fn seen(&self) -> MutexGuard<'_, Option<Vec<Tracked>>> {
        // Replaced whole or not at all: never half-written.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Something may have changed: compare at once.
    pub(crate) fn poke(&self) {
        self.wake.notify_one();
    }

    /// Forgets the activities when no stream is open; whether none is.
    fn idle(&self) -> bool {
        let mut seen = self.seen();
        let idle = self.sender.receiver_count() == 0;
        if idle {
            *seen = None;
        }
        idle
    }
}

/// Compares the activities with the last look and broadcasts what changed.
fn compare(shared: &Shared) {
    let hub = &shared.events;
    let mut seen = hub.seen();
    let Some(tracked) = seen.as_mut() else {
        return;
    };
    let current = {
        let (mut butler, now) = shared.butler_now();
        butler.activities(now)
    };
    let now = Instant::now();
    let mut events = Vec::new();
    tracked.retain(|t| {
        let gone = !current.iter().any(|a| a.uuid == t.last.uuid);
        if gone {
            events.push(Event::activity("ended", &t.last));
        }
        !gone
    });
    for activity in current {
        match tracked.iter_mut().find(|t| t.last.uuid == activity.uuid) {
            None => {
                events.push(Event::activity("started", &activity));
                tracked.push(Tracked {
                    last: activity.clone(),
                    reported: activity,
                    reported_at: now,
                });
            }
            Some(t) => {
                if t.reported != activity && now.duration_since(t.reported_at) >= UPDATE_GAP {
                    events.push(Event::activity("updated", &activity));
                    t.reported = activity.clone();
                    t.reported_at = now;
                }
                t.last = activity;
            }
        }
    }
    for event in events {
        // No receiver: the last stream just closed.
        let _ = hub.sender.send(event);
    }
}

/// Compares while any stream is open, until the simulator shuts down.
pub(crate) async fn tick(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let idle = shared.events.idle();
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
            () = shared.events.wake.notified() => {}
            () = shared.clock.moved() => {}
            () = tokio::time::sleep(TICK), if !idle => {}
        }
        compare(&shared);
    }
}

/// Which events a stream gets (`filters`); pings always come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Only(Vec<String>),
    Except(Vec<String>),
}

impl Filter {
    /// Reads the `filters` query parameter: absent, every event but `log`;
    /// empty, every event; `-a,b`, all but `a` and `b`; `a,b`, only those.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Self, BadEncoding> {
        let pairs = query_pairs(query)?;
        let Some((_, filters)) = pairs.iter().find(|(key, _)| key == "filters") else {
            return Ok(Filter::Except(vec!["log".to_owned()]));
        };
        let names = |list: &str| {
            list.split(',')
                .map(|name| name.trim().trim_start_matches('-').to_owned())
                .filter(|name| !name.is_empty())
                .collect()
        };
        Ok(match filters.strip_prefix('-') {
            Some(rest) => Filter::Except(names(rest)),
            None if filters.trim().is_empty() => Filter::Except(Vec::new()),
            None => Filter::Only(names(filters)),
        })
    }

    fn lets(&self, name: &str) -> bool {
        match self {
            _ if name == "ping" => true,
            Filter::Only(names) => names.iter().any(|n| n == name),
            Filter::Except(names) => !names.iter().any(|n| n == name),
        }
    }
}

/// How the fault plan spoils one stream, fixed when it opens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamFaults {
    pub close_after: Option<u32>,
    pub close_after_time: Option<Duration>,
    pub silent_after: Option<u32>,
}

/// A stream's body: the frames to send, until it ends.
pub(crate) struct Frames(Pin<Box<dyn Stream<Item = Bytes> + Send>>);

impl fmt::Debug for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Frames")
    }
}

impl Frames {
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Bytes>> {
        self.0.as_mut().poll_next(cx)
    }
}

struct Listener {
    shared: Arc<Shared>,
    events: broadcast::Receiver<Event>,
    filter: Filter,
    ping: tokio::time::Interval,
    shutdown: watch::Receiver<bool>,
    faults: StreamFaults,
    closes_at: Option<Instant>,
    sent: u32,
}

impl Listener {
    /// The next frame, or `None` when the stream ends.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.faults.close_after.is_some_and(|n| self.sent >= n) || *self.shutdown.borrow() {
                return None;
            }
            let silent = self.faults.silent_after.is_some_and(|n| self.sent >= n);
            let event = tokio::select! {
                () = sleep_until(self.closes_at) => return None,
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    continue;
                }
                _ = self.ping.tick(), if !silent => Event::new("ping", "{}"),
                received = self.events.recv(), if !silent => match received {
                    Ok(event) if self.filter.lets(event.name) => event,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "event stream closed: its reader fell behind");
                        return None;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            self.sent = self.sent.saturating_add(1);
            if self
                .shared
                .faults_on
                .load(std::sync::atomic::Ordering::Relaxed)
                && self.shared.faults().garbage_event()
            {
                return Some(Event::new(event.name, NOT_JSON).frame);
            }
            return Some(event.frame);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Opens a stream: from now on it gets every event that passes `filter`.
pub(crate) fn open(shared: &Arc<Shared>, filter: Filter, faults: StreamFaults) -> Frames {
    let hub = &shared.events;
    let events = {
        let mut seen = hub.seen();
        if seen.is_none() {
            // The first stream: what runs now is where changes count from.
            let (mut butler, now) = shared.butler_now();
            let current = butler.activities(now);
            let at = Instant::now();
            *seen = Some(
                current
                    .into_iter()
                    .map(|a| Tracked {
                        last: a.clone(),
                        reported: a,
                        reported_at: at,
                    })
                    .collect(),
            );
        }
        hub.sender.subscribe()
    };
    hub.poke();
    let period = hub.ping_interval;
    let mut ping = tokio::time::interval_at(Instant::now() + period, period);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let listener = Listener {
        shared: shared.clone(),
        events,
        filter,
        ping,
        shutdown: hub.shutdown.clone(),
        faults,
        closes_at: faults.close_after_time.map(|d| Instant::now() + d),
        sent: 0,
    };
    let frames = futures_util::stream::unfold(listener, |mut listener| async move {
        let frame = listener.next().await?;
        Some((frame, listener))
    });
    Frames(Box::pin(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_as_the_server_reads_them() {
        let filter = |q: Option<&str>| Filter::from_query(q).expect("well-formed");
        let none = filter(None);
        assert!(none.lets("activity") && !none.lets("log") && none.lets("ping"));
        let empty = filter(Some("filters="));
        assert!(empty.lets("log") && empty.lets("activity"));
        let only = filter(Some("filters=activity"));
        assert!(only.lets("activity") && !only.lets("playing") && only.lets("ping"));
        let except = filter(Some("filters=-activity,log"));
        assert!(!except.lets("activity") && !except.lets("log") && except.lets("timeline"));
        assert!(Filter::from_query(Some("filters=%zz")).is_err());
    }
}
