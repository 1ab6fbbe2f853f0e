//! The server's event stream (`GET /:/eventsource/notifications`): what it
//! does as it happens, activity starts, changes and ends first.
//!
//! The stream is long-lived and lossy: events sent while the client was
//! away are gone. So after every (re)connect the stream reads
//! `GET /activities` and reports what changed in the gap (an end it did
//! not see live, a start it did not see live): no end is lost.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
use plex_butler_raw::ClientInfo as _;
use plex_butler_raw::types as raw;
use reqwest::header::{self, HeaderValue};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::activity::{MAX_UUID_BYTES, kept};
use crate::operations::GET_NOTIFICATIONS;
use crate::response::excerpt;
use crate::{Activity, Client, Error};

const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);
/// A stream silent for this many ping intervals is dead.
const SILENT_PINGS: u32 = 3;
const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;
const MIN_MAX_EVENT_BYTES: usize = 1024;
const DEFAULT_RECONNECT_DELAY: Duration = Duration::from_millis(500);
const DEFAULT_MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);
const MIN_DELAY: Duration = Duration::from_millis(1);
/// How many activities the stream keeps track of at once, and how many
/// recent ends it remembers (to pass over late news of them).
const KNOWN_ACTIVITIES: usize = 1024;
/// Events waiting for the reader; the stream waits when it is full.
const QUEUE: usize = 64;

/// How [`Client::events`] listens: which events, how long a silence means
/// a dead stream, how big one event may be, and how it reconnects.
///
/// ```
/// use std::time::Duration;
/// use plex_butler::EventOptions;
///
/// let options = EventOptions::new()
///     .all_events(true)
///     .ping_interval(Duration::from_secs(10))
///     .reconnect_delay(Duration::from_secs(1));
/// # drop(options);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "options do nothing until passed to Client::events"]
pub struct EventOptions {
    all_events: bool,
    butler_only: bool,
    ping_interval: Duration,
    max_event_bytes: usize,
    reconnect_delay: Duration,
    max_reconnect_delay: Duration,
}

impl Default for EventOptions {
    /// Activity events only, pings every 10 s (30 s of silence is a dead
    /// stream), events up to 1 MiB, reconnecting after 500 ms, doubling
    /// up to 30 s.
    fn default() -> Self {
        Self {
            all_events: false,
            butler_only: false,
            ping_interval: DEFAULT_PING_INTERVAL,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            reconnect_delay: DEFAULT_RECONNECT_DELAY,
            max_reconnect_delay: DEFAULT_MAX_RECONNECT_DELAY,
        }
    }
}

impl EventOptions {
    /// The defaults; see [`EventOptions::default`].
    ///
    /// ```
    /// assert_eq!(plex_butler::EventOptions::new(), plex_butler::EventOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// `false` (the default): ask the server for `activity` events only
    /// (and pass over any other it sends, pings aside). `true`: every
    /// event the server sends (its default set, which leaves out `log`),
    /// the ones this crate does not know as [`Event::Other`].
    ///
    /// ```
    /// let options = plex_butler::EventOptions::new().all_events(true);
    /// # drop(options);
    /// ```
    pub fn all_events(mut self, all: bool) -> Self {
        self.all_events = all;
        self
    }

    /// `true`: pass on the activity events of Butler work only
    /// ([`ActivityEvent::is_butler`]; an event whose activity is not
    /// known is passed on too). Default: `false`, every activity's.
    ///
    /// ```
    /// let options = plex_butler::EventOptions::new().butler_only(true);
    /// # drop(options);
    /// ```
    pub fn butler_only(mut self, butler_only: bool) -> Self {
        self.butler_only = butler_only;
        self
    }

    /// Whether `change` is passed on.
    fn passes(&self, change: &ActivityEvent) -> bool {
        !self.butler_only || change.activity.as_ref().is_none_or(Activity::is_butler)
    }

    /// How often the server pings (10 s for a Plex Media Server). A
    /// stream that brings no event, pings included, for three intervals
    /// is taken for dead and opened again. At least 1 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = plex_butler::EventOptions::new().ping_interval(Duration::from_secs(5));
    /// # drop(options);
    /// ```
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval.max(MIN_DELAY);
        self
    }

    /// The most bytes one event may take (its lines together; a line
    /// ends at `\n`, `\r\n` or a bare `\r`). A longer event, or a line
    /// that never ends, closes the connection, which is opened again (and
    /// what changed meanwhile read from the activities). With what the
    /// stream keeps of the activities (1024 running, 1024 ended uuids,
    /// each clipped, see [`ActivityEvent`]: a few MiB at most), memory
    /// stays bounded whatever the server sends. Default: 1 MiB; at least
    /// 1 KiB.
    ///
    /// ```
    /// let options = plex_butler::EventOptions::new().max_event_bytes(64 * 1024);
    /// # drop(options);
    /// ```
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes.max(MIN_MAX_EVENT_BYTES);
        self
    }

    /// The wait before the first reconnect; each further one in a row
    /// doubles, up to [`EventOptions::max_reconnect_delay`]. A stream that
    /// stayed open for three ping intervals starts the waits over.
    /// Default: 500 ms; at least 1 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = plex_butler::EventOptions::new().reconnect_delay(Duration::from_secs(1));
    /// # drop(options);
    /// ```
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay.max(MIN_DELAY);
        self
    }

    /// The longest wait between two reconnects. Default: 30 s; at least
    /// 1 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = plex_butler::EventOptions::new().max_reconnect_delay(Duration::from_secs(60));
    /// # drop(options);
    /// ```
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay.max(MIN_DELAY);
        self
    }

    fn silence(&self) -> Duration {
        self.ping_interval.saturating_mul(SILENT_PINGS)
    }
}

/// One event of [`Client::events`].
///
/// ```no_run
/// # async fn run(client: plex_butler::Client) -> Result<(), plex_butler::Error> {
/// use futures_util::StreamExt as _;
/// use plex_butler::{Event, EventOptions};
///
/// let mut events = client.events(EventOptions::new());
/// while let Some(event) = events.next().await {
///     match event? {
///         Event::Activity(change) => println!("{:?} {}", change.kind, change.uuid),
///         Event::Connected { reconnects } => eprintln!("listening ({reconnects} reconnects)"),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The stream is open and what changed while it was closed has been
    /// reported (as [`ActivityEvent`]s with `live: false`). Comes after
    /// every (re)connect; `reconnects` counts the attempts to open the
    /// stream again so far, those that failed (a refused connection, a
    /// server error) included, so it may grow by more than one between
    /// two `Connected`.
    Connected {
        /// How many times the stream tried to open again so far, failed
        /// attempts included.
        reconnects: u32,
    },
    /// An activity started, changed or ended.
    Activity(ActivityEvent),
    /// The server's keep-alive (every 10 s on a Plex Media Server).
    Ping,
    /// An event this crate does not interpret (`playing`, `timeline`,
    /// ...), by name, with its data; only with
    /// [`EventOptions::all_events`].
    Other {
        /// The event's name (`message` when the server gave none).
        name: String,
        /// Its data, as JSON.
        data: serde_json::Value,
    },
}

/// What happened to an activity.
///
/// ```
/// use plex_butler::ActivityEventKind;
/// assert_eq!(ActivityEventKind::from_wire("ended"), ActivityEventKind::Ended);
/// assert_eq!(
///     ActivityEventKind::from_wire("paused"),
///     ActivityEventKind::Other("paused".to_owned())
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActivityEventKind {
    /// It started (`started`).
    Started,
    /// Its progress or subtitle changed (`updated`).
    Updated,
    /// It ended (`ended`): it left the server's activities.
    Ended,
    /// A kind this crate does not know (a later server's), as sent.
    Other(String),
}

impl ActivityEventKind {
    /// The kind named `name` on the wire.
    ///
    /// ```
    /// use plex_butler::ActivityEventKind;
    /// assert_eq!(ActivityEventKind::from_wire("started"), ActivityEventKind::Started);
    /// ```
    pub fn from_wire(name: &str) -> Self {
        match name {
            "started" => Self::Started,
            "updated" => Self::Updated,
            "ended" => Self::Ended,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ActivityEventKind {
    /// The wire name: `started`, `updated`, `ended`, or the unknown one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Started => "started",
            Self::Updated => "updated",
            Self::Ended => "ended",
            Self::Other(name) => name,
        })
    }
}

/// An activity started, changed or ended: from the server's `activity`
/// event (`live: true`), or found by comparing `GET /activities` with what
/// the stream knew after a (re)connect (`live: false`).
///
/// Rules the stream applies (it keeps track of up to 1024 running
/// activities; past that, the oldest is forgotten):
///
/// - an activity listed after a (re)connect that the stream did not know
///   is reported [`ActivityEventKind::Started`] with `live: false`;
/// - an activity the stream knew as running that is no longer listed is
///   reported [`ActivityEventKind::Ended`] with `live: false`: its end was
///   not seen, but it did end;
/// - an `ended` (or `updated`) for an activity the stream did not know is
///   passed on with `known: false`;
/// - news of an activity whose end was already reported (live or found
///   after a reconnect), among the last 1024 ends, is not passed on: a
///   late `updated`, a repeated `ended` (so one activity ends once);
/// - a `started` for a known activity is passed on with `known: true`
///   (it was found running after a (re)connect before its `started`
///   came: it is not news);
/// - an event whose uuid is longer than 256 bytes is passed over.
///
/// What the stream keeps of each activity (to fill in an event that
/// carries none) is clipped: type, title and subtitle to 1 KiB each, the
/// context only when at most 1 KiB as JSON; the events passed on carry
/// the activity as the server sent it.
///
/// ```
/// # fn show(change: &plex_butler::ActivityEvent) {
/// use plex_butler::ActivityEventKind;
///
/// if change.kind == ActivityEventKind::Ended && change.is_butler() {
///     let how = if change.live { "seen" } else { "found after a reconnect" };
///     println!("Butler work {} ended ({how})", change.uuid);
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ActivityEvent {
    /// What happened.
    pub kind: ActivityEventKind,
    /// The activity's id ([`Activity::uuid`]).
    pub uuid: String,
    /// The activity as the event carried it (read with the same lenient
    /// rules as [`Client::activities`]), or as last known when the event
    /// carried none; `None` when neither.
    pub activity: Option<Activity>,
    /// `true`: the server sent this event. `false`: the stream found the
    /// change by reading the activities after a (re)connect; it happened
    /// while the stream was closed.
    pub live: bool,
    /// Whether the stream knew the activity (as running) before this
    /// event. `false` for a start; for an `updated` or `ended` it means
    /// the stream had not seen it start.
    pub known: bool,
}

impl ActivityEvent {
    /// Whether this is Butler work ([`Activity::is_butler`]); `false`
    /// when the activity is not known.
    ///
    /// ```
    /// # fn show(change: &plex_butler::ActivityEvent) {
    /// if change.is_butler() {
    ///     println!("{}", change.kind);
    /// }
    /// # }
    /// ```
    pub fn is_butler(&self) -> bool {
        self.activity.as_ref().is_some_and(Activity::is_butler)
    }
}

/// The stream of [`Client::events`]: a [`futures_util::Stream`] of
/// `Result<`[`Event`]`, `[`Error`]`>`. It reconnects by itself; an `Err`
/// is its last item ([`Error::EventsUnsupported`],
/// [`Error::Unauthorized`], ...). Dropping it closes the connection.
///
/// ```no_run
/// # async fn run(client: plex_butler::Client) {
/// use futures_util::StreamExt as _;
///
/// let mut events = client.events(plex_butler::EventOptions::new());
/// if let Some(Ok(first)) = events.next().await {
///     println!("{first:?}");
/// }
/// drop(events); // closes the connection
/// # }
/// ```
pub struct Events {
    queue: mpsc::Receiver<Result<Event, Error>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl futures_util::Stream for Events {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.queue.poll_recv(cx)
    }
}

impl Client {
    /// Listens to the server's events (`GET /:/eventsource/notifications`,
    /// the token in the `X-Plex-Token` header, never in the URL).
    ///
    /// The stream stays open: it reconnects, with backoff, after the
    /// connection breaks, the server closes it, or it stays silent for
    /// three [ping intervals](EventOptions::ping_interval); after every
    /// (re)connect it reads [`Client::activities`] and reports what
    /// changed meanwhile (see [`ActivityEvent`]), then
    /// [`Event::Connected`]. Events whose data is not JSON are passed
    /// over (said at debug level).
    ///
    /// It runs as a task of the current Tokio runtime while the returned
    /// [`Events`] lives. The client's [timeout](crate::ClientBuilder::timeout)
    /// bounds each opening (until the server's answer begins), not the
    /// stream's life; the stream does not count against
    /// [`crate::ClientBuilder::max_concurrent_requests`] (it would hold
    /// its turn for good), though its reads of the activities do.
    ///
    /// ```no_run
    /// # async fn run(client: plex_butler::Client) -> Result<(), plex_butler::Error> {
    /// use futures_util::StreamExt as _;
    /// use plex_butler::{ActivityEventKind, Event, EventOptions};
    ///
    /// let mut events = client.events(EventOptions::new());
    /// while let Some(event) = events.next().await {
    ///     if let Event::Activity(change) = event? {
    ///         if change.kind == ActivityEventKind::Ended && change.is_butler() {
    ///             println!("Butler work ended");
    ///         }
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's last item: [`Error::EventsUnsupported`] when the
    /// server has no event stream (404); [`Error::Unauthorized`];
    /// [`Error::Server`] for another refusal (4xx) of the request;
    /// [`Error::InvalidConfig`] outside a Tokio runtime. Connection
    /// failures, timeouts and server errors (5xx) are not returned: the
    /// stream reconnects.
    pub fn events(&self, options: EventOptions) -> Events {
        let (sender, queue) = mpsc::channel(QUEUE);
        let task = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime.spawn(listen(self.clone(), options, sender))),
            Err(_) => {
                // The queue has room: this cannot fail.
                let _ = sender.try_send(Err(Error::invalid_config(
                    "no Tokio runtime is running: listen to events from inside one (#[tokio::main])",
                )));
                None
            }
        };
        Events { queue, task }
    }

    /// Opens the stream: the headers every call sends, but
    /// `Accept: text/event-stream`.
    async fn open_events(&self, options: &EventOptions) -> Result<reqwest::Response, Error> {
        let raw = &self.shared.raw;
        let url = format!("{}{}", raw.baseurl(), GET_NOTIFICATIONS.path);
        let mut headers = raw.inner().clone();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        let mut request = raw.client().get(url).headers(headers);
        if !options.all_events {
            request = request.query(&[("filters", "activity")]);
        }
        let deadline = crate::call::deadline_after(self.shared.timeout);
        let response = match crate::call::timeout_at(deadline, request.send())?.await {
            Err(_elapsed) => return Err(self.timeout_error()),
            Ok(Err(error)) => return Err(self.transport_error(error)),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        if status == 404 {
            return Err(Error::EventsUnsupported);
        }
        Err(self.error_of_response(response, deadline).await)
    }
}

/// Whether the stream must end with `error` rather than reconnect.
fn ends_the_stream(error: &Error) -> bool {
    match error {
        Error::EventsUnsupported | Error::Unauthorized { .. } | Error::InvalidConfig { .. } => true,
        Error::Server { status, .. } => (400..500).contains(status) && ![408, 429].contains(status),
        _ => false,
    }
}

/// The reader went away.
struct Gone;

/// The stream's task: connect, reconcile, read; again after a wait.
async fn listen(client: Client, options: EventOptions, sender: mpsc::Sender<Result<Event, Error>>) {
    let span = tracing::info_span!(
        "plex_butler",
        operation = GET_NOTIFICATIONS.span,
        method = GET_NOTIFICATIONS.method,
        server = %client.shared.base_url,
    );
    async move {
        let mut known = Known::default();
        let mut delay = options.reconnect_delay;
        let mut reconnects = 0;
        loop {
            let opened = Instant::now();
            let lost = match connected(&client, &options, &mut known, &sender, reconnects).await {
                Ok(reason) => reason,
                Err(Ended::Gone) => return,
                Err(Ended::Failed(error)) => {
                    tracing::debug!(error = %error, "event stream ended");
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            if opened.elapsed() >= options.silence() {
                delay = options.reconnect_delay;
            }
            tracing::debug!(
                reason = %lost,
                wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "event stream lost; reconnecting"
            );
            tokio::time::sleep(delay).await;
            delay = delay
                .saturating_mul(2)
                .min(options.max_reconnect_delay.max(options.reconnect_delay));
            reconnects += 1;
        }
    }
    .instrument(span)
    .await;
}

/// How one connection ended for good.
enum Ended {
    Gone,
    Failed(Error),
}

impl From<Gone> for Ended {
    fn from(_: Gone) -> Self {
        Self::Gone
    }
}

/// One connection: open, reconcile, read until it is lost. `Ok` says why
/// it was lost (to reconnect).
async fn connected(
    client: &Client,
    options: &EventOptions,
    known: &mut Known,
    sender: &mpsc::Sender<Result<Event, Error>>,
    reconnects: u32,
) -> Result<String, Ended> {
    let response = match client.open_events(options).await {
        Ok(response) => response,
        Err(error) if ends_the_stream(&error) => return Err(Ended::Failed(error)),
        Err(error) => return Ok(error.to_string()),
    };
    match client.activities().await {
        Ok(listed) => {
            for change in known.reconcile(listed) {
                if options.passes(&change) {
                    send(sender, Event::Activity(change)).await?;
                }
            }
        }
        Err(error) if ends_the_stream(&error) => return Err(Ended::Failed(error)),
        Err(error) => return Ok(format!("the activities could not be read: {error}")),
    }
    send(sender, Event::Connected { reconnects }).await?;
    Ok(read(client, options, response, known, sender).await?)
}

async fn send(sender: &mpsc::Sender<Result<Event, Error>>, event: Event) -> Result<(), Gone> {
    sender.send(Ok(event)).await.map_err(|_| Gone)
}

/// What stops the reading of one connection.
#[derive(Debug)]
enum ReadError {
    Transport(reqwest::Error),
    TooLong(usize),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(error) => write!(f, "the connection broke: {error}"),
            Self::TooLong(limit) => write!(f, "an event was longer than {limit} bytes"),
        }
    }
}

/// Reads events until the connection is lost; says why.
async fn read(
    client: &Client,
    options: &EventOptions,
    response: reqwest::Response,
    known: &mut Known,
    sender: &mpsc::Sender<Result<Event, Error>>,
) -> Result<String, Gone> {
    let limit = options.max_event_bytes;
    // The bytes of the event being read (its lines, not their ends):
    // counted before the parser buffers them, so that it never holds
    // more than one chunk past the limit.
    let mut pending = 0usize;
    let mut line_start = true;
    // A line ends at `\r\n`, `\n` or a bare `\r` (the SSE spec allows
    // all three): the `\n` of a `\r\n` ends nothing more.
    let mut after_cr = false;
    let bytes = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(ReadError::Transport)?;
        for &byte in chunk.as_ref() {
            match byte {
                b'\n' if after_cr => after_cr = false,
                b'\n' | b'\r' => {
                    if line_start {
                        pending = 0;
                    }
                    line_start = true;
                    after_cr = byte == b'\r';
                }
                _ => {
                    after_cr = false;
                    line_start = false;
                    pending += 1;
                }
            }
        }
        if pending > limit {
            return Err(ReadError::TooLong(limit));
        }
        Ok(chunk)
    });
    let mut events = bytes.eventsource();
    let silence = options.silence();
    let secret = client.secret();
    loop {
        let event = match tokio::time::timeout(silence, events.next()).await {
            Err(_elapsed) => return Ok(format!("no event for {} ms", silence.as_millis())),
            Ok(None) => return Ok("the server closed the stream".to_owned()),
            Ok(Some(Err(error))) => return Ok(error.to_string()),
            Ok(Some(Ok(event))) => event,
        };
        let data: serde_json::Value = match serde_json::from_str(&event.data) {
            Ok(data) => data,
            Err(error) => {
                tracing::debug!(
                    name = %excerpt(event.event.as_bytes(), secret),
                    data = %excerpt(event.data.as_bytes(), secret),
                    "event skipped: its data is not JSON ({error})"
                );
                continue;
            }
        };
        let event = match event.event.as_str() {
            "ping" => Event::Ping,
            "activity" => match activity_event(data, known, secret) {
                Some(change) if options.passes(&change) => Event::Activity(change),
                _ => continue,
            },
            _ if !options.all_events => continue,
            name => Event::Other {
                name: name.to_owned(),
                data,
            },
        };
        send(sender, event).await?;
    }
}

/// The `activity` event's data, read and applied to what the stream
/// knows; `None` (said at debug level) when it cannot be used.
fn activity_event(
    data: serde_json::Value,
    known: &mut Known,
    secret: Option<&str>,
) -> Option<ActivityEvent> {
    let notification = match serde_json::from_value::<raw::ActivityEvent>(data) {
        Ok(event) => event.activity_notification,
        Err(error) => {
            tracing::debug!(
                "activity event skipped: {}",
                crate::response::redact(&error.to_string(), secret)
            );
            return None;
        }
    };
    if notification.uuid.trim().is_empty() {
        tracing::debug!("activity event skipped: its uuid is blank");
        return None;
    }
    if notification.uuid.len() > MAX_UUID_BYTES {
        tracing::debug!(
            bytes = notification.uuid.len(),
            "activity event skipped: its uuid is longer than {MAX_UUID_BYTES} bytes"
        );
        return None;
    }
    let activity = notification
        .activity
        .and_then(|activity| crate::activity::activity_from_raw(1, activity, secret));
    known.apply(
        ActivityEventKind::from_wire(&notification.event),
        notification.uuid,
        activity,
    )
}

/// The activities the stream knows as running, oldest first, and the
/// latest ends; both bounded.
#[derive(Default)]
struct Known {
    running: VecDeque<Activity>,
    ended: VecDeque<String>,
}

impl Known {
    fn position(&self, uuid: &str) -> Option<usize> {
        self.running.iter().position(|a| a.uuid == uuid)
    }

    fn ended(&self, uuid: &str) -> bool {
        self.ended.iter().any(|u| u == uuid)
    }

    /// Follows `activity` as running; what is kept of it is clipped
    /// ([`kept`]).
    fn track(&mut self, activity: &Activity) {
        let activity = kept(activity);
        match self.position(&activity.uuid) {
            Some(index) => self.running[index] = activity,
            None => {
                if self.running.len() >= KNOWN_ACTIVITIES {
                    self.running.pop_front();
                }
                self.running.push_back(activity);
            }
        }
    }

    fn forget(&mut self, uuid: &str) -> Option<Activity> {
        let activity = self.position(uuid).and_then(|i| self.running.remove(i));
        if self.ended.len() >= KNOWN_ACTIVITIES {
            self.ended.pop_front();
        }
        self.ended.push_back(uuid.to_owned());
        activity
    }

    /// A live event; `None` (said at debug level) for news of an
    /// activity whose end was already reported (a late `updated`, or the
    /// live `ended` of an end a reconcile found).
    fn apply(
        &mut self,
        kind: ActivityEventKind,
        uuid: String,
        activity: Option<Activity>,
    ) -> Option<ActivityEvent> {
        let was_known = self.position(&uuid).is_some();
        if !was_known && self.ended(&uuid) {
            tracing::debug!(event = %kind, "activity event skipped: the activity already ended");
            return None;
        }
        let activity = match kind {
            ActivityEventKind::Ended => {
                let last = self.forget(&uuid);
                activity.or(last)
            }
            _ => {
                let activity =
                    activity.or_else(|| self.position(&uuid).map(|i| self.running[i].clone()));
                if let Some(activity) = &activity {
                    self.track(activity);
                }
                activity
            }
        };
        Some(ActivityEvent {
            kind,
            uuid,
            activity,
            live: true,
            known: was_known,
        })
    }

    /// After a (re)connect: the differences between what the stream
    /// knew and what runs now.
    fn reconcile(&mut self, listed: Vec<Activity>) -> Vec<ActivityEvent> {
        let mut changes = Vec::new();
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|a| !listed.iter().any(|l| l.uuid == a.uuid))
            .map(|a| a.uuid.clone())
            .collect();
        for uuid in gone {
            let activity = self.forget(&uuid);
            changes.push(ActivityEvent {
                kind: ActivityEventKind::Ended,
                uuid,
                activity,
                live: false,
                known: true,
            });
        }
        for activity in listed {
            if activity.uuid.len() > MAX_UUID_BYTES {
                tracing::debug!(
                    bytes = activity.uuid.len(),
                    "listed activity passed over: its uuid is longer than {MAX_UUID_BYTES} bytes"
                );
                continue;
            }
            if self.ended(&activity.uuid) {
                // Its end was seen; the list is late.
                continue;
            }
            let was_known = self.position(&activity.uuid).is_some();
            self.track(&activity);
            if !was_known {
                changes.push(ActivityEvent {
                    kind: ActivityEventKind::Started,
                    uuid: activity.uuid.clone(),
                    activity: Some(activity),
                    live: false,
                    known: false,
                });
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(uuid: &str) -> Activity {
        Activity {
            uuid: uuid.to_owned(),
            kind: "butler".to_owned(),
            cancellable: false,
            user_id: None,
            title: "Butler tasks".to_owned(),
            subtitle: String::new(),
            progress: None,
            context: serde_json::Map::new(),
        }
    }

    #[test]
    fn reconcile_reports_unseen_ends_and_starts() {
        let mut known = Known::default();
        let _ = known.apply(ActivityEventKind::Started, "a".into(), Some(activity("a")));
        let changes = known.reconcile(vec![activity("b")]);
        let summary: Vec<_> = changes
            .iter()
            .map(|c| (c.kind.clone(), c.uuid.as_str(), c.live))
            .collect();
        assert_eq!(
            summary,
            [
                (ActivityEventKind::Ended, "a", false),
                (ActivityEventKind::Started, "b", false)
            ]
        );
        assert_eq!(
            changes[0].activity.as_ref().map(|a| a.uuid.as_str()),
            Some("a")
        );
        assert!(known.reconcile(vec![activity("b")]).is_empty());
    }

    #[test]
    fn news_after_an_end_is_passed_over_and_does_not_track_the_activity_again() {
        let mut known = Known::default();
        let end = known.apply(ActivityEventKind::Ended, "a".into(), None);
        assert!(end.is_some_and(|end| !end.known));
        for kind in [
            ActivityEventKind::Updated,
            ActivityEventKind::Ended,
            ActivityEventKind::Started,
        ] {
            let late = known.apply(kind, "a".into(), Some(activity("a")));
            assert_eq!(late, None);
        }
        assert!(
            known.reconcile(Vec::new()).is_empty(),
            "no end reported twice"
        );
    }

    #[test]
    fn the_known_activities_are_bounded() {
        let mut known = Known::default();
        for n in 0..(KNOWN_ACTIVITIES + 10) {
            let _ = known.apply(
                ActivityEventKind::Started,
                n.to_string(),
                Some(activity(&n.to_string())),
            );
        }
        assert_eq!(known.running.len(), KNOWN_ACTIVITIES);
        assert_eq!(known.running.front().map(|a| a.uuid.as_str()), Some("10"));
    }

    #[test]
    fn what_is_kept_of_many_large_activities_is_clipped() {
        let mut known = Known::default();
        let big = "é".repeat(50_000);
        for n in 0..(KNOWN_ACTIVITIES + 10) {
            let uuid = n.to_string();
            let mut large = activity(&uuid);
            large.title = big.clone();
            large.subtitle = big.clone();
            large.kind = format!("butler{big}");
            large.context.insert("k".to_owned(), big.clone().into());
            let change = known.apply(ActivityEventKind::Started, uuid, Some(large));
            assert!(change.is_some());
        }
        assert_eq!(known.running.len(), KNOWN_ACTIVITIES);
        for kept in &known.running {
            assert!(kept.title.len() <= 1024 && kept.title.len() > 1000);
            assert!(kept.subtitle.len() <= 1024 && kept.kind.len() <= 1024);
            assert!(kept.context.is_empty());
        }
        let stored: usize = known
            .running
            .iter()
            .map(|a| a.title.len() + a.subtitle.len() + a.kind.len())
            .sum();
        assert!(stored <= KNOWN_ACTIVITIES * 3 * 1024, "{stored} bytes kept");
    }

    #[test]
    fn an_event_with_an_endless_uuid_is_passed_over() {
        let mut known = Known::default();
        let long = "u".repeat(MAX_UUID_BYTES + 1);
        let data = serde_json::json!({
            "ActivityNotification": {"event": "started", "uuid": long}
        });
        assert_eq!(activity_event(data, &mut known, None), None);
        let fits = "u".repeat(MAX_UUID_BYTES);
        let data = serde_json::json!({
            "ActivityNotification": {"event": "started", "uuid": fits}
        });
        assert!(activity_event(data, &mut known, None).is_some());
        assert!(
            known
                .reconcile(vec![activity(&"v".repeat(MAX_UUID_BYTES + 1))])
                .is_empty()
        );
    }
}
