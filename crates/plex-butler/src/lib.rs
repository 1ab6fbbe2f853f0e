//! A client for the Butler API of Plex Media Server: the task manager that
//! runs the server's maintenance (database backups, media analysis,
//! metadata refreshes, ...). List its tasks, start or stop one, start or
//! stop them all, and wait for the work to end while watching its progress.
//!
//! ```no_run
//! use std::time::Duration;
//! use plex_butler::{Client, RetryPolicy, StartOutcome, TaskName};
//!
//! # async fn run() -> Result<(), plex_butler::Error> {
//! let client = Client::builder("http://127.0.0.1:32400")
//!     .token("your-plex-token") // optional on a network the server trusts
//!     .product("my-tool")
//!     .timeout(Duration::from_secs(10))
//!     .retry(RetryPolicy::default())
//!     .build()?;
//!
//! for task in client.tasks().await? {
//!     println!("{} every {} day(s), enabled: {}", task.name, task.interval_days, task.enabled);
//! }
//!
//! match client.start(TaskName::BackupDatabase).await? {
//!     StartOutcome::Started => println!("backup started"),
//!     // "already running", or an outcome a later version tells apart.
//!     other => println!("backup: {other}"),
//! }
//!
//! // Names the spec does not know yet work too.
//! let outcome = client.stop("ButlerTaskGenerateIntroMarkers".parse::<TaskName>()?).await?;
//! println!("{outcome}");
//! # Ok(())
//! # }
//! ```
//!
//! The Butler calls are fire-and-forget: the server starts the work in the
//! background and the Butler API reports no progress. Running work shows in
//! the server's activities ([`Client::activities`]), which
//! [`Client::wait_until_idle`] and [`Client::start_and_wait`] watch.
//!
//! # The calls
//!
//! Each maps to one operation of the OpenAPI spec (named as in the legacy
//! SDKs, for the Butler calls):
//!
//! | operation | request | this crate | answers |
//! |---|---|---|---|
//! | `getButlerTasks` | `GET /butler` | [`Client::tasks`] | `Vec<`[`Task`]`>` |
//! | `startAllTasks` | `POST /butler` | [`Client::start_all`] | `()` |
//! | `stopAllTasks` | `DELETE /butler` | [`Client::stop_all`] | `()` |
//! | `startTask` | `POST /butler/{task}` | [`Client::start`] | [`StartOutcome`]: `Started` (200), `AlreadyRunning` (202); 404 is [`Error::UnknownTask`] |
//! | `stopTask` | `DELETE /butler/{task}` | [`Client::stop`] | [`StopOutcome`]: `Stopped` (200), `NotRunning` (404 for a task the server lists); 404 otherwise is [`Error::UnknownTask`] |
//! | `getActivities` | `GET /activities` | [`Client::activities`] | `Vec<`[`Activity`]`>` |
//! | `cancelActivity` | `DELETE /activities/{activityId}` | [`Client::cancel_activity`] | [`CancelOutcome`]: `Cancelled` (200), `NotFound` (404); 400 is [`Error::NotCancellable`] |
//! | `getPreferences` | `GET /:/prefs` | [`Client::settings`], [`Client::butler_settings`] | `Vec<`[`Setting`]`>`, [`ButlerSettings`] |
//! | `getPreference` | `GET /:/prefs/get?id=` | [`Client::setting`] | [`Setting`]; 404 is [`Error::UnknownSetting`] |
//! | `setPreferences` | `PUT /:/prefs?ID=VALUE` | [`Client::set_settings`], [`Client::set_window`], [`Client::set_task_enabled`], [`Client::change_butler_settings`] | `()`; the last three read the settings back and return what the server holds ([`MaintenanceWindow`], [`TaskSwitch`], [`AppliedSettings`]), [`Error::SettingsNotApplied`] when it does not hold the change; 400 and 403 are [`Error::SettingsRefused`] |
//! | `getSessions` | `GET /status/sessions` | [`Client::sessions`] | [`Sessions`] |
//! | `getNotifications` | `GET /:/eventsource/notifications` | [`Client::events`] | [`Events`], a stream of [`Event`]; 404 is [`Error::EventsUnsupported`] |
//!
//! # Waiting for the work to end
//!
//! ```no_run
//! use std::time::Duration;
//! use plex_butler::{Client, TaskName, WaitOptions};
//!
//! # async fn run(client: Client) -> Result<(), plex_butler::Error> {
//! let options = WaitOptions::new()
//!     .timeout(Duration::from_secs(30 * 60))
//!     .on_progress(|progress| {
//!         for activity in &progress.activities {
//!             eprintln!("{activity}"); // "Butler tasks: 40%"
//!         }
//!     });
//! let (outcome, report) = client.start_and_wait(TaskName::BackupDatabase, options).await?;
//! println!("{outcome}; no Butler work left after {:?}", report.elapsed);
//! # Ok(())
//! # }
//! ```
//!
//! [`Client::wait_until_idle`] looks at the activities with backoff
//! ([`WaitOptions`]) until no Butler activity ([`Activity::is_butler`]) is
//! left, or returns [`Error::WaitTimedOut`]. What the server's answers can
//! and cannot tell:
//!
//! - A server may show **one aggregate activity** for all its running
//!   Butler work (a PMS 1.43.2 titles it "Butler tasks") rather than one per
//!   task. Waiting for one task is therefore waiting for all Butler work to
//!   end, and a progress may be that of all of it.
//! - A task that finished before the first look is indistinguishable from
//!   one that never started: [`WaitReport::saw_activity`] says whether any
//!   Butler activity was seen.
//! - Right after a start the activity may not be listed yet: until one is
//!   seen, the wait keeps looking for a grace period
//!   ([`WaitOptions::grace`], 3 s) before it concludes that nothing runs.
//! - A `progress` of 100 does not mean done; the activity leaving the list
//!   does.
//!
//! # The server's events
//!
//! [`Client::events`] listens to the server's event stream
//! (`GET /:/eventsource/notifications`): activity starts, changes and
//! ends as they happen ([`ActivityEvent`], with the same [`Activity`] as
//! [`Client::activities`]), pings, and, with
//! [`EventOptions::all_events`], the server's other events by name.
//!
//! ```no_run
//! use futures_util::StreamExt as _;
//! use plex_butler::{ActivityEventKind, ActivityLog, Client, Event, EventOptions};
//!
//! # async fn run(client: Client) -> Result<(), plex_butler::Error> {
//! let mut log = ActivityLog::new();
//! let mut events = client.events(EventOptions::new());
//! while let Some(event) = events.next().await {
//!     let Event::Activity(change) = event? else { continue };
//!     if change.is_butler() && change.kind == ActivityEventKind::Started {
//!         println!("Butler work started");
//!     }
//!     if let Some(ended) = log.record(&change) {
//!         println!("{} ended after {:?}", ended.uuid, ended.duration);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The stream is lossy by nature: what the server sends while the client
//! is away is gone. So it reconnects by itself (with backoff; after a
//! break, or three [ping intervals](EventOptions::ping_interval) of
//! silence) and after every connect compares `GET /activities` with what
//! it knew: an activity that ended meanwhile is reported ended with
//! [`ActivityEvent::live`] `false`, one that started meanwhile started.
//! No end is lost. One event is at most 1 MiB
//! ([`EventOptions::max_event_bytes`]; past it the connection is opened
//! again); data that is not JSON is passed over. A server without events
//! ends the stream with [`Error::EventsUnsupported`].
//!
//! The waits listen too: they look at the activities as soon as Butler
//! work starts or ends, so a wait ends within milliseconds of the end,
//! not at its next poll. Once the stream has shown Butler work, a wait
//! that only Butler work keeps going takes its progress from the stream
//! and looks between starts and ends only as a safety net, once a minute
//! (or at [`WaitOptions::max_poll_interval`], if longer): a long backup
//! costs the server a few requests, not one every few seconds. On a
//! server without events, or when the stream fails, the waits poll as
//! before ([`WaitReport::method`] says which).
//! [`WaitOptions::polling_only`] and [`Plan::polling_only`] switch the
//! events off.
//!
//! # Settings, sessions and plans
//!
//! The Butler runs in a daily maintenance window and only the tasks whose
//! switch is on; both are server settings, which
//! [`Client::butler_settings`] reads typed and [`Client::set_window`] and
//! [`Client::set_task_enabled`] change. [`Client::sessions`] says who is
//! watching. A [`Plan`] runs tasks one after another, each until its work
//! has ended, optionally only while nobody watches:
//!
//! ```no_run
//! use std::time::Duration;
//! use plex_butler::{Client, MaintenanceWindow, Plan, TaskName};
//!
//! # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! client.set_window("23-4".parse::<MaintenanceWindow>()?).await?;
//! client.set_task_enabled(TaskName::RefreshLibraries, false).await?;
//! let plan = Plan::new([TaskName::BackupDatabase, TaskName::OptimizeDatabase])
//!     .when_idle(true)
//!     .wait_timeout(Duration::from_secs(3600));
//! for step in client.run_plan(&plan).await?.steps {
//!     println!("{step}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Task names
//!
//! [`TaskName`] has a variant for every name the spec knows and
//! [`TaskName::Other`] for the rest: servers add tasks between releases.
//! Parsing accepts any case of a known name (`backupdatabase`).
//!
//! # What every request carries
//!
//! - `X-Plex-Token`, when a token is set: a header marked sensitive, never
//!   in the URL, never in `Debug` output, errors or traces.
//! - `X-Plex-Client-Identifier`: by default a hash of the machine's identity
//!   and the product name, the same on every run (Plex lists each new
//!   identifier as a new device).
//! - `X-Plex-Product`, `X-Plex-Version`, and `X-Plex-Device-Name` and
//!   `X-Plex-Platform` when set.
//! - `Accept: application/json` (without it the server answers XML).
//!
//! # Errors, timeouts and retries
//!
//! Every call returns [`Error`], whose variants say what went wrong and what
//! to do next. An attempt may take [`ClientBuilder::timeout`] (30 s by
//! default; connecting 5 s), kept by Tokio's timers: the runtime needs
//! them (see [`Client`], "Runtime"). Failures that may pass (no connection, 429,
//! 502, 503, 504, a timeout, a broken connection) are retried per the
//! [`RetryPolicy`] where repeating the call is safe; each method says when.
//! For 2 s after this client changed settings, a 400 passes too: real
//! servers answer 400 for a short while after a change. The errors that
//! may pass say how many requests their call made and which limit of the
//! policy ended the retries ([`Error::attempts`]).
//!
//! # Tracing
//!
//! Each call runs in one `tracing` span named `plex_butler` with the fields
//! `operation` (`tasks`, `start`, `stop`, `start_all`, `stop_all`,
//! `activities`, `cancel_activity`, `settings`, `setting`, `set_settings`,
//! `sessions`; a wait is a series of `activities`, a plan a series of
//! calls),
//! `method`, `server` (the base URL), `task`, and, recorded when the call
//! ends, `status` (of the last answer), `attempts` (requests made),
//! `duration_ms` and, on failure, `error`. Retries log a `debug` event. No
//! header is ever recorded.
//!
//! # Features
//!
//! - `rustls` (default): TLS for `https://` servers through rustls.
//! - `native-tls`: TLS through the platform's library instead.
//! - `schemars`: `schemars::JsonSchema` for the types with a JSON form
//!   ([`Task`], [`Activity`], the settings' and sessions' types, ...), for
//!   programs that publish a schema of their output.
//! - `raw`: `plex_butler::raw`, the client generated from the spec, and
//!   `Client::raw()`, for operations this crate does not wrap. **Outside
//!   semver**: the generated code changes with the spec, so any release of
//!   this crate may change what this feature exposes.
#![cfg_attr(
    feature = "blocking",
    doc = " - `blocking`: [`blocking::Client`], the same calls without async."
)]
#![cfg_attr(
    not(feature = "blocking"),
    doc = " - `blocking`: `blocking::Client`, the same calls without async."
)]
#![warn(missing_docs)]

mod activity;
mod activity_log;
#[cfg(feature = "blocking")]
pub mod blocking;
mod builder;
mod butler_settings;
mod call;
mod client;
mod error;
mod events;
mod identity;
mod operations;
mod plan;
mod response;
mod retry;
mod sessions;
mod settings;
mod shared_http;
mod task;
mod task_name;
mod wait;

pub use activity::{Activity, CancelOutcome, RunState};
pub use activity_log::{ActivityLog, EndedActivity};
pub use builder::ClientBuilder;
pub use butler_settings::{
    AppliedSettings, ButlerSettings, DesiredSettings, MaintenanceWindow, SettingChange,
    SettingMismatch, TaskBehavior, TaskSwitch, WindowError,
};
pub use client::Client;
pub use error::Error;
pub use events::{ActivityEvent, ActivityEventKind, Event, EventOptions, Events};
pub use plan::{Plan, PlanEvent, PlanReport, StepOutcome, StepReport};
/// The client generated from the spec, underneath ([`Client::raw`]), so
/// that its types can be named without a dependency of one's own. Feature
/// `raw`; outside semver (it changes with the spec).
#[cfg(feature = "raw")]
pub use plex_butler_raw as raw;
pub use retry::{Attempts, RetryLimit, RetryPolicy};
pub use sessions::{Playback, Sessions};
pub use settings::{Setting, SettingChoice, SettingKind, SettingValue};
pub use shared_http::SharedHttpClient;
pub use task::{StartOutcome, StopOutcome, Task};
pub use task_name::{ParseTaskNameError, TaskName};
pub use wait::{WaitMethod, WaitOptions, WaitProgress, WaitReport};
