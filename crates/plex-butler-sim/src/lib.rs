//! A simulated Plex Media Server that speaks the Butler (task manager) API as
//! the real server does: a real HTTP server on a socket, for tests of Plex
//! clients and for demos.
//!
//! ```no_run
//! # async fn demo() -> Result<(), plex_butler_sim::Error> {
//! use plex_butler_sim::{ManualClock, Preset, Simulator};
//! use chrono::{TimeZone, Utc};
//! use std::time::Duration;
//!
//! let night = Utc.with_ymd_and_hms(2025, 1, 1, 3, 0, 0).single().expect("a valid date");
//! let sim = Simulator::builder()
//!     .token("secret")
//!     .preset(Preset::Pms1_43_2)
//!     .clock(ManualClock::at(night))
//!     .seed(7)
//!     .start()
//!     .await?;
//! // ... point a client at sim.url() with sim.token() ...
//! sim.clock().advance(Duration::from_secs(3600));
//! let state = sim.state();
//! state.check_invariants().expect("the Butler is consistent");
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The API it serves
//!
//! | request | answer |
//! |---|---|
//! | `GET /butler` | the tasks: XML (`text/xml;charset=utf-8`, root `ButlerTasks`, flags `0`/`1`, attributes in the order and escaping of a PMS 1.43.2), or JSON (`{"ButlerTasks":{"ButlerTask":[...]}}`, flags `true`/`false`, `title`/`description` left out when absent) when `Accept` names `application/json` |
//! | `POST /butler` | 200: start all (below) |
//! | `DELETE /butler` | 200: stop all running tasks and empty the schedule |
//! | `POST /butler/{task}` | 200 started, 202 already running, 404 no such task |
//! | `DELETE /butler/{task}` | 200 stopped or unscheduled, 404 no such task or neither running nor scheduled |
//! | `GET /activities` | one `Activity type="butler"` per running task, with its progress (or one "Butler tasks" activity for all, see [`SimulatorBuilder::aggregate_butler_activity`]) |
//! | `DELETE /activities/{uuid}` | 200 cancelled, 400 not cancellable, 404 no such activity |
//! | `GET /`, `GET /identity` | the server's capabilities and identity, shaped like a PMS 1.43.2's (version `1.43.2.10687-563d026ea`), so that Plex client libraries connect unchanged |
//! | `GET /:/prefs` | the Butler's settings (below): `MediaContainer size="N"` with one `Setting` per setting |
//! | `GET /:/prefs/get?id=ID` | the same with that one setting; 404 for an unknown id, 400 without `id` |
//! | `PUT /:/prefs?ID=VALUE&...` | 200 (empty `text/html`): every setting changed; 400: none changed |
//! | `GET /status/sessions` | who is watching: `MediaContainer size="N"` with N playing films (below) |
//! | `GET /:/eventsource/notifications` | 200 `text/event-stream`, kept open: `ping` and `activity` events (below); 400 for a malformed `filters`; 404 with [`events(false)`](SimulatorBuilder::events) |
//!
//! Success bodies of start and stop are empty (`text/html`). Errors carry the
//! server's small HTML page, such as
//! `<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>`.
//! Any other path gets 404 (`text/html`); a known path with a method it does
//! not take gets 405 with an `Allow` header. `HEAD` is answered like `GET`.
//! The `api-version` header and all `X-Plex-*` identity headers are ignored.
//!
//! # Authentication
//!
//! The token is read from the `X-Plex-Token` header or, when there is no
//! such header, from the `X-Plex-Token` query parameter (percent-decoded; the
//! header wins when both are sent). It is compared in constant time (only its
//! length may show). A missing or wrong token gets 401, on every path but
//! `GET /identity`, which a real server also answers without one. In
//! [`no_auth`](SimulatorBuilder::no_auth) mode every request is let in. The
//! token never appears in logs, `Debug` output or error messages; request
//! logs blank out the query parameter.
//!
//! # Settings
//!
//! `GET /:/prefs` lists 29 settings: the 25 of a real server's answer
//! (the repository's `fixtures/prefs/prefs-butler.json`, whose ids, labels,
//! summaries, types, defaults, `hidden`, `advanced`, `group` and
//! `enumValues` it repeats, U+A789 in the hour labels included), plus
//! `ButlerTaskUpdateServer` (`askme` | `always`) and the later
//! `GenerateCreditsMarkerBehavior`, `GenerateAdMarkerBehavior` and
//! `GenerateVADBehavior`. In XML (`<Setting id=".." label=".." .../>`),
//! flags and a boolean's `default` and `value` are `0`/`1`; in JSON they are
//! `false`/`true` and integers are numbers, as in the capture. The types are
//! `bool`, `int` and `text` (no setting of the table is a `double`).
//!
//! **What they govern**, from the moment a `PUT` is answered:
//! - `ButlerStartHour` and `ButlerEndHour` are the maintenance window (see
//!   start-all below).
//! - A `ButlerTask<Name>` switch (a `bool`) is the `enabled` flag of the task
//!   `<Name>`: in `GET /butler`, in [`Simulator::state`], and in what
//!   start-all starts. No source states this mapping; it is read from the
//!   names, which match for all twelve switches of a real server.
//!   Tasks without a switch (`AutomaticUpdates`, `ProcessAssets`,
//!   `ButlerTaskGenerateIntroMarkers` and the other `ButlerTask*` tasks, the
//!   analysis tasks) keep the flag of their [`TaskSpec`].
//! - `FriendlyName` is the `friendlyName` of `GET /` (blank: the default,
//!   shown as `plex-butler-sim`, where a server shows its computer's name).
//! - The `*Behavior` settings (`never` | `scheduled` | `asap`),
//!   `ButlerTaskUpdateServer`, `ButlerUpdateChannel`,
//!   `ButlerDatabaseBackupPath` and `sendCrashReports` are served and
//!   stored only: no source says which task a `*Behavior` setting turns on
//!   or off, or how, so they change no `enabled` flag.
//!
//! A change decides what start-all does next; runs already running or
//! scheduled are left as they are (stop them with `DELETE`).
//!
//! **At start**, each setting has its default, then each switch is set to
//! the `enabled` flag of its task in the task list (for the default
//! [`Preset::Pms1_43_2`], whose flags come from a real server's
//! `GET /butler`, this changes nothing: its flags and the switches'
//! defaults agree, `ButlerTaskRefreshLibraries` off included, so
//! `GET /butler` stays that server's answer byte for byte), then the
//! builder's [`window`](SimulatorBuilder::window),
//! [`friendly_name`](SimulatorBuilder::friendly_name) and
//! [`setting`](SimulatorBuilder::setting) calls apply in the order made
//! (the `--window` and `--setting` flags likewise). [`Simulator::settings`]
//! reads them back.
//!
//! **Writing** (`PUT /:/prefs?ID=VALUE&...`, the values in the query, no
//! body) is all or nothing: one unknown id or one value that does not fit
//! answers 400 and changes nothing (a real server answers 400 or 403 for an
//! unknown id). A value fits when it is, for a `bool`, `true`, `false`, `1`
//! or `0` (python-plexapi sends the words, plex-api.rs the digits); for an
//! `int`, a whole number, one of its `enumValues` when it has them (the
//! hours: 0 to 23); for a `text` with `enumValues`, one of them or its
//! default (the update channel's default, `16`, is not among its listed
//! `0` and `8`); for other `text`, anything without control characters
//! (tab, line feeds allowed). Keys and values are percent-decoded and `+`
//! reads as a space; a malformed escape is 400. `X-Plex-*` parameters (the
//! token, client identifiers) are not settings and are skipped. When an id
//! comes twice, the later value wins. A `PUT` without settings changes
//! nothing and answers 200.
//!
//! # Sessions
//!
//! `GET /status/sessions` lists as many playbacks as set with
//! [`SimulatorBuilder::sessions`] or, while serving,
//! [`Simulator::set_sessions`] (default none; at most [`MAX_SESSIONS`]):
//! each a `<Video type="movie" title="..">` (open films such as "Big Buck
//! Bunny") holding `<User title=".."/>`, `<Player title=".."
//! state="playing"/>` and `<Session/>`; in JSON, `Metadata[]` with `title`,
//! `type` and `User`, `Player` and `Session` objects. The list is the same
//! for the same count. It is what a client checks before starting
//! maintenance "only when nobody watches"; a test makes someone stop
//! watching with `set_sessions(0)`.
//!
//! # Events
//!
//! `GET /:/eventsource/notifications` answers 200 with `text/event-stream`
//! and keeps the response open. Each event is an `event: NAME` line, a
//! `data: JSON` line and a blank line, as the real server frames them:
//! - `ping` with `data: {}`, every 10 s on each stream (the first one
//!   interval after it opens), or as set with
//!   [`SimulatorBuilder::ping_interval`];
//! - `activity` with
//!   `{"ActivityNotification":{"event":"started","uuid":"..","Activity":{..}}}`,
//!   the `Activity` exactly as `GET /activities` writes it in JSON.
//!   `started` when an activity appears, `updated` when its progress,
//!   title or subtitle changes (at most one per activity every 250 ms; the
//!   last change before an end may go unsent), `ended` when it leaves,
//!   carrying the activity as last seen.
//!
//! While a stream is open, the activities are compared every 10 ms, and at
//! once after each request that is not a read and each move of the
//! [`Clock`]: an end is sent within about 10 ms of the moment
//! `GET /activities` stops listing it, also when the clock alone ends the
//! run. A stream opened while tasks run hears of them from their next
//! change on (no `started` for what already ran). With no stream open,
//! nothing ticks. A run that starts and ends between two comparisons (a
//! start then a stop within 10 ms) sends nothing.
//!
//! `filters` is read as the server reads it: absent, every event but
//! `log`; empty, every event; `a,b`, only those; `-a,b`, all but those.
//! The simulator sends only `ping` and `activity`; **pings come whatever
//! the filters**, so that a client can always tell a live stream from a
//! dead one (no source says whether a server's filters drop them). The
//! token is read as for every path (header or query), 401 without it.
//!
//! **Slow readers**: every stream gets every event (a broadcast), through a
//! queue of [`EVENT_QUEUE`] events; a stream whose reader falls further
//! behind than that is closed (a warning is logged), as if the connection
//! dropped, rather than buffered for without bound. Its client reconnects
//! and reads `GET /activities`, as it must after any gap.
//!
//! # Semantics
//!
//! Each task has a name, an interval in days, a randomized flag, an enabled
//! flag, a last run, and a run duration ([`TaskSpec`]). Its status is always
//! exactly one of idle, scheduled (at a time) or running (since a time, with
//! a progress) — see [`TaskStatus`].
//!
//! **Start all** (`POST /butler`) follows the four documented criteria, with
//! the maintenance window `ButlerStartHour`..`ButlerEndHour` (the settings;
//! default 2 to 5, see [`SimulatorBuilder::window`]):
//! 1. A disabled task is skipped.
//! 2. A task that is not due today is skipped. A task is due when it never
//!    ran, or when the local calendar day of its last run plus its interval
//!    in days is today or earlier (a daily task that ran yesterday at 23:00
//!    is due today at 00:30; one that ran today is not).
//! 3. Inside the window, a randomized task is scheduled at a random whole
//!    second after now and before the window closes, drawn from the seed
//!    (when the window closes within the next second, it starts now).
//! 4. Every other task starts now: randomized tasks outside the window, and
//!    all non-randomized tasks, inside the window or not.
//!
//! **Start one** (`POST /butler/{task}`) starts the task now, whatever its
//! schedule.
//!
//! **Stop one** (`DELETE /butler/{task}`) stops a running task or removes a
//! scheduled one from the schedule; **stop all** (`DELETE /butler`) does so
//! for every task.
//!
//! A running task finishes when it has run for its duration; its last run is
//! then the time it finished. A scheduled task starts when the clock reaches
//! its time (and then runs for its duration from that time).
//!
//! ## Choices where Plex's documentation is silent
//!
//! - **Starting a disabled task by name starts it** (200). The enabled flag
//!   decides what start-all and the nightly schedule run; an explicit request
//!   for one task is honoured, as the server's "run now" is.
//! - Starting a task by name ignores whether it is due and the window.
//! - Starting a *scheduled* task by name starts it now (200) and drops its
//!   scheduled time.
//! - Stopping a scheduled task unschedules it (200); stopping an idle task is
//!   404, like an unknown one.
//! - A stopped run (by stop one, stop all or a cancelled activity) records
//!   no last run: only finished runs do.
//! - Start all leaves running and scheduled tasks as they are: starting all
//!   twice is the same as once (no 202 exists for it).
//! - Tasks run side by side; one running task does not hold back another.
//! - The simulator runs nothing by itself: no nightly maintenance happens
//!   unless asked for through the API.
//! - The window is read in a fixed UTC offset
//!   ([`SimulatorBuilder::utc_offset`], default UTC); daylight saving time
//!   is not simulated. A window whose start hour is after its end hour spans
//!   midnight; equal hours make an empty window (then nothing is ever
//!   scheduled: every due task starts now).
//! - Activities: one per running task, titled with the task's title or, when
//!   it has none, its name, with an empty subtitle and a new id for every
//!   run (one per task tells a test what runs). A real PMS 1.43.2 shows one
//!   aggregate activity instead, `type="butler" title="Butler tasks"`;
//!   [`SimulatorBuilder::aggregate_butler_activity`] shows that: it
//!   appears when the first task starts, keeps its id while any task runs
//!   and ends when the last ends; its subtitle is the title of the first
//!   running task in list order and its progress that task's (the capture
//!   showed an empty subtitle and progress 100 at one instant, which says
//!   too little to copy). It is off by default, also with
//!   [`Preset::Pms1_43_2`]: a preset is a task list only. Activities are not
//!   cancellable by default, like the real server's (`cancellable="0"`:
//!   `DELETE` answers 400); [`SimulatorBuilder::cancellable_activities`]
//!   makes `DELETE` stop the task (the aggregate: every running task).
//! - Task names are compared exactly, case included. `{task}` is one path
//!   segment, percent-decoded (`%2F` for a `/` in a name); a malformed escape
//!   or a name that is not UTF-8 gets 400; a name longer than 256 bytes, or a
//!   path longer than 2048, gets 414; a request head over 64 KiB or with over
//!   100 headers gets 431. A trailing `/` is ignored.
//!
//! # Time
//!
//! The simulator keeps no timers for the tasks (only the event streams
//! tick, while one is open). Every request, and every
//! [`Simulator::state`], first brings the tasks up to the [`Clock`]'s current
//! time: runs that have lasted their duration finish, scheduled runs whose
//! time has come start (and finish, if their time is long past). With a
//! [`ManualClock`], everything that happens is decided by the requests and by
//! [`Clock::advance`]: tests need no sleeps and give the same answers every
//! time. For a client that waits for tasks to end by polling
//! `GET /activities` from another process or thread,
//! [`SimulatorBuilder::advance_clock_on_activities`] moves the clock one step
//! per look, so that it sees the progress rise step by step. With the system
//! clock, the same rules play out in real time. Moving a clock backwards is
//! allowed, but finished runs stay finished and
//! [`ButlerState::check_invariants`] may then complain.
//!
//! Each request holds one lock for its whole change, so concurrent requests
//! never lose an update and no task is ever seen in two states; a `PUT` of
//! settings holds the Butler's lock while it changes the settings, the
//! window, the switches and the pre-rendered `GET /butler` page, so no
//! request sees the one without the other.
//!
//! # Faults
//!
//! A [`FaultPlan`] spoils answers for tests of clients: added latency, a
//! status (with an optional `Retry-After`) for the next N requests or a share
//! of them, 400 for the next N requests after each change of settings (as
//! plex-api.rs saw of real servers), dropped connections, truncated or
//! garbage bodies; and for the event stream, a stream that closes after N
//! events or after a while, goes silent with its connection open, or
//! sends `data: {not json` in place of an event. Off by default;
//! set it with [`SimulatorBuilder::faults`] or, at any time,
//! [`Simulator::set_faults`].
//!
//! # Logs
//!
//! Each request is logged through `tracing` at `INFO` (method, path with any
//! token blanked out, status — 0 for a dropped connection — and the time
//! taken in microseconds). Nothing is printed unless the program installs a
//! subscriber.

#![warn(missing_docs)]

mod butler;
mod clock;
mod duration;
mod events;
mod fault;
mod render;
mod request;
mod server;
mod settings;
mod simulator;
mod state;
mod task;
mod window;

pub use clock::{Clock, ManualClock};
pub use duration::{ParseDurationError, parse_duration};
pub use events::{DEFAULT_PING_INTERVAL, EVENT_QUEUE};
pub use fault::{FaultPlan, StatusFault, Trigger};
pub use simulator::{DEFAULT_TASK_DURATION, Error, MAX_SESSIONS, Simulator, SimulatorBuilder};
pub use state::{Activity, ButlerState, InvariantViolation, TaskState, TaskStatus};
pub use task::{Preset, TaskSpec};
