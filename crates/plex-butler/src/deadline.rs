//! Deadlines for calls, kept by one watchdog thread for the whole process.
//!
//! Every attempt of a call runs under a deadline (the client's timeout).
//! A Tokio timer per attempt would do, but registering a timer that expires
//! earlier than anything the runtime waits for wakes the runtime's parked
//! time driver, and with a 30 s timeout on an otherwise timer-free runtime
//! that is every attempt: a thread wake-up per call, which measured as most
//! of what the facade added to a call over loopback (see
//! `docs/performance.md`).
//!
//! Here a registration is an entry in a table under a mutex (one table
//! per thread of the caller, shared round robin past eight, so that a
//! runtime's workers do not contend for one lock). One thread, started on
//! first use, sleeps until the earliest deadline in the tables and wakes
//! the task of each attempt whose deadline has passed. A new deadline
//! later than the thread's planned wake-up (the common case: the same
//! timeout, started later) does not wake it. When the tables stay empty,
//! the thread looks at them every [`IDLE_TICK`] for [`LINGER`], then
//! sleeps until the next registration wakes it. (With no entry left but
//! recent registrations, it looks again by the latest registered deadline
//! if that comes sooner, so that short timeouts do not wake it either.)
//!
//! The thread serves every client and every runtime of the process: a
//! waker wakes its task on whatever runtime it belongs to. Should the
//! thread fail to start, deadlines fall back to Tokio's timers.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::thread::Thread;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// How often the idle thread looks at empty tables before it sleeps until
/// woken; a registration whose deadline is later than the next look does
/// not need to wake it.
const IDLE_TICK: Duration = Duration::from_millis(100);
/// How long the thread keeps looking at empty tables.
const LINGER: Duration = Duration::from_secs(2);

/// The deadline passed before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired;

/// Runs `future` until it finishes or `deadline` passes, whichever comes
/// first. Like `tokio::time::timeout_at`, a future that is ready when
/// polled wins over a deadline that has passed.
pub(crate) fn within<F: Future>(deadline: Instant, future: F) -> Within<F> {
    Within {
        future,
        watch: match watchdog() {
            Some(watchdog) => Watcher::Thread(Watch {
                watchdog,
                deadline,
                registered: None,
            }),
            None => Watcher::Tokio(Box::pin(tokio::time::sleep_until(deadline.into()))),
        },
    }
}

pin_project_lite::pin_project! {
    /// The future of [`within`]. A struct rather than an `async fn`, so that
    /// the future it times is stored once, not once as an argument and
    /// again where it is awaited (calls are large futures).
    pub(crate) struct Within<F> {
        #[pin]
        future: F,
        watch: Watcher,
    }
}

/// Who keeps the deadline.
enum Watcher {
    /// The watchdog thread.
    Thread(Watch),
    /// A Tokio timer, should the thread not have started.
    Tokio(std::pin::Pin<Box<tokio::time::Sleep>>),
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, Expired>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // Armed before the first poll of the call: that poll hands the
        // request to the connection's task, which runs only once this task
        // yields, so work done after it would delay the request itself.
        if let Watcher::Thread(watch) = this.watch {
            watch.arm(cx);
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let expired = match this.watch {
            Watcher::Thread(watch) => watch.poll_expired(cx),
            Watcher::Tokio(sleep) => sleep.as_mut().poll(cx),
        };
        expired.map(|()| Err(Expired))
    }
}

/// One attempt's deadline, removed from its table when dropped.
struct Watch {
    watchdog: &'static Watchdog,
    deadline: Instant,
    registered: Option<(Key, Arc<Signal>)>,
}

impl Watch {
    /// Registers the deadline, once; the signal the thread fires.
    fn arm(&mut self, cx: &Context<'_>) -> &Signal {
        let (_, signal) = self.registered.get_or_insert_with(|| {
            let signal = Arc::new(Signal::default());
            signal.waker.register(cx.waker());
            let key = self.watchdog.register(self.deadline, Arc::clone(&signal));
            (key, signal)
        });
        signal
    }

    /// Ready once the deadline has passed; keeps the waker current.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let signal = self.arm(cx);
        signal.waker.register(cx.waker());
        // Checked after registering, so a firing in between is not missed.
        if signal.fired.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some((key, _)) = self.registered.take() {
            self.watchdog.unregister(key);
        }
    }
}

/// What the thread sets and wakes when a deadline passes.
#[derive(Default)]
struct Signal {
    fired: AtomicBool,
    waker: AtomicWaker,
}

struct Entry {
    deadline: Instant,
    signal: Arc<Signal>,
}

/// Where an entry is: its table and its slot there.
#[derive(Clone, Copy)]
struct Key {
    table: usize,
    slot: usize,
}

/// One of the tables. Each thread registers in a table of its own (threads
/// share them round robin past [`TABLES`]), so that the runtime's workers
/// do not contend for one lock.
#[derive(Default)]
struct Table {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// Registrations so far: the thread tells an idle table from a busy
    /// one whose entries come and go between its looks.
    registrations: u64,
    /// The deadline of the latest registration. With no entry left, the
    /// thread looks next no later than this: the next call's deadline
    /// (same timeout, started later) then comes after that look and does
    /// not need to wake it, even for timeouts shorter than [`IDLE_TICK`].
    latest: Option<Instant>,
}

/// How many tables.
const TABLES: usize = 8;

/// `planned` when the thread sleeps until woken.
const NEVER: u64 = u64::MAX;

struct Watchdog {
    tables: [Mutex<Table>; TABLES],
    /// When the thread looks next on its own, in nanoseconds since
    /// `epoch`; [`NEVER`] while it sleeps until woken. A registration whose
    /// deadline comes earlier lowers it and wakes the thread.
    planned: AtomicU64,
    epoch: Instant,
    thread: OnceLock<Thread>,
}

fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();
    *WATCHDOG.get_or_init(|| {
        let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            tables: Default::default(),
            planned: AtomicU64::new(NEVER),
            epoch: Instant::now(),
            thread: OnceLock::new(),
        }));
        let handle = std::thread::Builder::new()
            .name("plex-butler-deadlines".to_owned())
            .spawn(move || watchdog.run())
            .ok()?;
        // Set before any registration can need it: `get_or_init` returns
        // only after this closure.
        let _ = watchdog.thread.set(handle.thread().clone());
        Some(watchdog)
    })
}

/// The table of the calling thread.
fn my_table() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static TABLE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % TABLES;
    }
    // During the thread's teardown its own table is gone: share the first.
    TABLE.try_with(|table| *table).unwrap_or(0)
}

impl Watchdog {
    fn lock(&self, table: usize) -> MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave a table
        // inconsistent (each change is one push, pop or assignment).
        self.tables[table % TABLES]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(NEVER - 1)
    }

    fn register(&self, deadline: Instant, signal: Arc<Signal>) -> Key {
        let table_index = my_table();
        let mut table = self.lock(table_index);
        let entry = Some(Entry { deadline, signal });
        let slot = match table.free.pop() {
            Some(slot) => {
                if let Some(place) = table.slots.get_mut(slot) {
                    *place = entry;
                }
                slot
            }
            None => {
                table.slots.push(entry);
                table.slots.len() - 1
            }
        };
        table.registrations = table.registrations.wrapping_add(1);
        table.latest = Some(deadline);
        drop(table);
        // Read after the entry is in: a look that missed the entry began
        // by setting `planned` to NEVER, which this read then sees (or a
        // lower value, whose wake-up will find the entry).
        let at = self.nanos(deadline);
        if at < self.planned.load(Ordering::SeqCst) {
            self.planned.fetch_min(at, Ordering::SeqCst);
            if let Some(thread) = self.thread.get() {
                thread.unpark();
            }
        }
        Key {
            table: table_index,
            slot,
        }
    }

    fn unregister(&self, key: Key) {
        let mut table = self.lock(key.table);
        if let Some(place) = table.slots.get_mut(key.slot)
            && place.take().is_some()
        {
            table.free.push(key.slot);
        }
    }

    fn run(&self) {
        let mut seen = [0u64; TABLES];
        let mut idle_since: Option<Instant> = None;
        let mut expired: Vec<Arc<Signal>> = Vec::new();
        loop {
            // Registrations from here on wake the thread again, unless
            // this look finds them.
            self.planned.store(NEVER, Ordering::SeqCst);
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            let mut latest: Option<Instant> = None;
            let mut busy = false;
            for (index, seen) in seen.iter_mut().enumerate() {
                let table = self.lock(index);
                for entry in table.slots.iter().flatten() {
                    if entry.signal.fired.load(Ordering::Relaxed) {
                        continue;
                    }
                    if entry.deadline <= now {
                        entry.signal.fired.store(true, Ordering::Release);
                        expired.push(Arc::clone(&entry.signal));
                    } else {
                        next = Some(next.map_or(entry.deadline, |n| n.min(entry.deadline)));
                    }
                }
                if table.registrations != *seen {
                    busy = true;
                    latest = latest.max(table.latest);
                }
                *seen = table.registrations;
            }
            // Woken with no table locked: a woken task goes on to remove
            // its entry, and a waker is code of the task's runtime. One
            // that panics must not end the thread, or no deadline would
            // fire again.
            for signal in expired.drain(..) {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    signal.waker.wake();
                }));
            }
            busy |= next.is_some();
            if busy {
                idle_since = None;
            }
            let idle_for = now.duration_since(*idle_since.get_or_insert(now));
            let wake = match next {
                Some(deadline) => Some(deadline),
                None if idle_for < LINGER => {
                    let tick = now + IDLE_TICK;
                    Some(
                        latest
                            .filter(|at| *at > now)
                            .map_or(tick, |at| at.min(tick)),
                    )
                }
                None => None,
            };
            if let Some(wake) = wake {
                self.planned.fetch_min(self.nanos(wake), Ordering::SeqCst);
            }
            // A registration may have lowered it since.
            match self.planned.load(Ordering::SeqCst) {
                NEVER => std::thread::park(),
                at => {
                    let at = self.epoch + Duration::from_nanos(at);
                    std::thread::park_timeout(at.saturating_duration_since(Instant::now()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    }

    /// Runs `future` on a runtime of its own, failing (not hanging) when it
    /// takes longer than 10 s: a deadline that never fires must fail the
    /// test. The bound uses the runtime's own timer, not the thread.
    fn bounded<F: Future>(future: F) -> F::Output {
        runtime()
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), future).await })
            .expect("hung: a deadline did not fire")
    }

    /// Pending until `ready_at`, without ever waking its task: only the
    /// deadline's wake-up polls it again.
    fn ready_at(ready_at: Instant) -> impl Future<Output = ()> {
        std::future::poll_fn(move |_| {
            if Instant::now() >= ready_at {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    #[test]
    fn a_ready_future_never_expires() {
        let result = bounded(within(Instant::now(), async { 7 }));
        assert_eq!(result, Ok(7));
    }

    #[test]
    fn a_future_that_never_ends_expires_at_its_deadline() {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(50);
        let result = bounded(within(deadline, std::future::pending::<()>()));
        assert_eq!(result, Err(Expired));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(50), "expired early: {took:?}");
        assert!(took < Duration::from_secs(5), "expired late: {took:?}");
    }

    #[test]
    fn a_future_that_ends_first_wins() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let result = bounded(within(deadline, async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            "done"
        }));
        assert_eq!(result, Ok("done"));
    }

    #[test]
    fn a_future_ready_when_the_deadline_wakes_it_wins_over_the_deadline() {
        // Ready from 30 ms on, but polled again only when the deadline
        // (40 ms) wakes the task: both hold at that poll, and the answer
        // that came wins, as with Tokio's timeout.
        let started = Instant::now();
        let result = bounded(within(
            started + Duration::from_millis(40),
            ready_at(started + Duration::from_millis(30)),
        ));
        assert_eq!(result, Ok(()));
        assert!(started.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn deadlines_earlier_than_the_planned_look_wake_the_thread() {
        // An hour-long deadline, pending, and time for the thread to see
        // it: its next look is then an hour away. Shorter deadlines
        // registered after, and one already past, must still fire: the
        // registration wakes the thread (else: an hour, and `bounded`
        // fails).
        bounded(async {
            let long = tokio::spawn(within(
                Instant::now() + Duration::from_secs(3600),
                std::future::pending::<()>(),
            ));
            tokio::time::sleep(IDLE_TICK * 3).await;

            let started = Instant::now();
            let short = within(
                started + Duration::from_millis(40),
                std::future::pending::<()>(),
            )
            .await;
            assert_eq!(short, Err(Expired));
            assert!(started.elapsed() >= Duration::from_millis(40));

            let past = within(Instant::now(), std::future::pending::<()>()).await;
            assert_eq!(past, Err(Expired));
            long.abort();
        });
    }

    #[test]
    fn a_deadline_after_a_long_idle_time_still_fires() {
        // Past LINGER with nothing to watch, the thread sleeps until a
        // registration wakes it (other tests may keep it busy meanwhile;
        // the deadline must fire either way).
        std::thread::sleep(LINGER + IDLE_TICK * 5);
        let started = Instant::now();
        let result = bounded(within(
            started + Duration::from_millis(40),
            std::future::pending::<()>(),
        ));
        assert_eq!(result, Err(Expired));
    }

    #[test]
    fn the_tokio_fallback_expires_too() {
        let result = bounded(async {
            let deadline = Instant::now() + Duration::from_millis(30);
            Within {
                future: std::future::pending::<()>(),
                watch: Watcher::Tokio(Box::pin(tokio::time::sleep_until(deadline.into()))),
            }
            .await
        });
        assert_eq!(result, Err(Expired));
        let ready = bounded(async {
            Within {
                future: async { 3 },
                watch: Watcher::Tokio(Box::pin(tokio::time::sleep_until(Instant::now().into()))),
            }
            .await
        });
        assert_eq!(ready, Ok(3));
    }

    #[test]
    fn dropped_watches_leave_the_table() {
        bounded(async {
            for _ in 0..1000 {
                let deadline = Instant::now() + Duration::from_secs(3600);
                // Pending once, then dropped.
                let mut first = true;
                let future = std::future::poll_fn(|cx| {
                    if std::mem::take(&mut first) {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    } else {
                        Poll::Ready(())
                    }
                });
                assert_eq!(within(deadline, future).await, Ok(()));
            }
        });
        let watchdog = watchdog().expect("the thread runs here");
        let table = watchdog.lock(my_table());
        // Other tests run at the same time; what matters is that 1000
        // registrations did not leave 1000 entries.
        let live = table.slots.iter().flatten().count();
        assert!(live < 100, "{live} entries left");
        assert!(table.slots.len() < 100, "{} slots", table.slots.len());
    }

    #[test]
    fn deadlines_fire_across_runtimes_and_threads() {
        let handles: Vec<_> = (0..4u64)
            .map(|i| {
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_millis(20 + 10 * i);
                    bounded(within(deadline, std::future::pending::<()>()))
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().expect("no panic"), Err(Expired));
        }
    }
}
