//! Starting, inspecting and stopping a simulated server.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{FixedOffset, Offset, Utc};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::butler::{Butler, ButlerConfig};
use crate::clock::Clock;
use crate::events::{self, DEFAULT_PING_INTERVAL, Hub};
use crate::fault::{FaultPlan, Faults};
use crate::render;
use crate::request::MAX_NAME_LEN;
use crate::server::{self, Pages, Shared, Token};
use crate::settings::{self, Settings};
use crate::state::ButlerState;
use crate::task::{Preset, TaskSpec};
use crate::window::Window;

/// How long a task runs unless told otherwise: long enough to be seen
/// running, short enough for a demo.
pub const DEFAULT_TASK_DURATION: Duration = Duration::from_secs(20);

/// The most playbacks `GET /status/sessions` can be made to list.
pub const MAX_SESSIONS: u32 = 1000;

/// Why a simulator could not start, or a setting was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be opened.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// A setting makes no sense (the message says which).
    InvalidConfig(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::InvalidConfig(what) => write!(f, "invalid simulator setting: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } => Some(source),
            Error::InvalidConfig(_) => None,
        }
    }
}

#[derive(Clone)]
enum Auth {
    /// A token made up at start.
    Generated,
    Token(String),
    None,
}

/// Settings for a [`Simulator`]; see [`Simulator::builder`].
#[derive(Clone)]
pub struct SimulatorBuilder {
    auth: Auth,
    tasks: Vec<TaskSpec>,
    clock: Clock,
    seed: u64,
    /// Settings to preset, in the order given: a later one wins.
    settings: Vec<(String, String)>,
    sessions: u32,
    utc_offset: FixedOffset,
    task_duration: Duration,
    listen: SocketAddr,
    machine_identifier: Option<String>,
    faults: FaultPlan,
    cancellable_activities: bool,
    activities_step: Option<Duration>,
    token_expired: bool,
    events: bool,
    ping_interval: Duration,
    aggregate_butler_activity: bool,
}

impl fmt::Debug for SimulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match self.auth {
            Auth::Generated => "generated token",
            Auth::Token(_) => "token <redacted>",
            Auth::None => "none",
        };
        f.debug_struct("SimulatorBuilder")
            .field("auth", &auth)
            .field("tasks", &self.tasks.len())
            .field("clock", &self.clock)
            .field("seed", &self.seed)
            .field("settings", &self.settings)
            .field("sessions", &self.sessions)
            .field("utc_offset", &self.utc_offset)
            .field("task_duration", &self.task_duration)
            .field("listen", &self.listen)
            .field("machine_identifier", &self.machine_identifier)
            .field("faults", &self.faults)
            .field("cancellable_activities", &self.cancellable_activities)
            .field("activities_step", &self.activities_step)
            .field("token_expired", &self.token_expired)
            .field("events", &self.events)
            .field("ping_interval", &self.ping_interval)
            .field("aggregate_butler_activity", &self.aggregate_butler_activity)
            .finish()
    }
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        Self {
            auth: Auth::Generated,
            tasks: Preset::default().tasks(),
            clock: Clock::system(),
            seed: 0,
            settings: Vec::new(),
            sessions: 0,
            utc_offset: Utc.fix(),
            task_duration: DEFAULT_TASK_DURATION,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            machine_identifier: None,
            faults: FaultPlan::none(),
            cancellable_activities: false,
            activities_step: None,
            token_expired: false,
            events: true,
            ping_interval: DEFAULT_PING_INTERVAL,
            aggregate_butler_activity: false,
        }
    }
}

impl SimulatorBuilder {
    /// Requires this token (`X-Plex-Token` header or query parameter).
    /// Without `token` or `no_auth`, the simulator makes up a random token;
    /// read it back with [`Simulator::token`].
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Token(token.into());
        self
    }

    /// Lets every request in without a token, as a server does for clients
    /// on its allowed networks.
    #[must_use]
    pub fn no_auth(mut self) -> Self {
        self.auth = Auth::None;
        self
    }

    /// Replaces the task list with a preset's (default: [`Preset::Pms1_43_2`]).
    #[must_use]
    pub fn preset(mut self, preset: Preset) -> Self {
        self.tasks = preset.tasks();
        self
    }

    /// Replaces the task list.
    #[must_use]
    pub fn tasks(mut self, tasks: impl IntoIterator<Item = TaskSpec>) -> Self {
        self.tasks = tasks.into_iter().collect();
        self
    }

    /// Adds a task at the end of the list (the preset's, unless replaced).
    /// Names must stay unique.
    #[must_use]
    pub fn task(mut self, task: TaskSpec) -> Self {
        self.tasks.push(task);
        self
    }

    /// Uses this clock (default: the system clock). Keep a clone, or use
    /// [`Simulator::clock`], to move it.
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Seeds every random choice: schedule times, activity ids, fault
    /// shares, the default machine identifier (default: 0).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The maintenance window, hours 0..=23 in the server's offset
    /// (default: 2 to 5): the initial values of the settings
    /// `ButlerStartHour` and `ButlerEndHour`, which a client may change
    /// later. A start after the end spans midnight; equal hours make an
    /// empty window. The same as two [`setting`](Self::setting) calls.
    #[must_use]
    pub fn window(self, start_hour: u32, end_hour: u32) -> Self {
        self.setting("ButlerStartHour", start_hour.to_string())
            .setting("ButlerEndHour", end_hour.to_string())
    }

    /// Presets a setting of `GET /:/prefs`, such as
    /// `.setting("ButlerTaskRefreshLibraries", "1")`, with a value as
    /// `PUT /:/prefs` takes it. Checked by [`start`](Self::start), which
    /// refuses an unknown id or an unfit value. Applied in the order given,
    /// after the task list: a `ButlerTask<Name>` switch preset here wins
    /// over the `enabled` flag of the task `<Name>`.
    #[must_use]
    pub fn setting(mut self, id: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((id.into(), value.into()));
        self
    }

    /// How many playbacks `GET /status/sessions` lists (default: 0, up to
    /// [`MAX_SESSIONS`]); change it while serving with
    /// [`Simulator::set_sessions`].
    #[must_use]
    pub fn sessions(mut self, playing: u32) -> Self {
        self.sessions = playing;
        self
    }

    /// The server's local time, as a fixed offset from UTC (default: UTC).
    /// A fixed offset rather than a named time zone: daylight saving time is
    /// not simulated.
    #[must_use]
    pub fn utc_offset(mut self, offset: FixedOffset) -> Self {
        self.utc_offset = offset;
        self
    }

    /// How long a run takes, for tasks that do not set their own
    /// (default: [`DEFAULT_TASK_DURATION`]).
    #[must_use]
    pub fn task_duration(mut self, duration: Duration) -> Self {
        self.task_duration = duration;
        self
    }

    /// The address to listen on (default: `127.0.0.1:0`, a free port).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The server's `machineIdentifier` (default: 40 hex digits drawn from
    /// the seed).
    #[must_use]
    pub fn machine_identifier(mut self, id: impl Into<String>) -> Self {
        self.machine_identifier = Some(id.into());
        self
    }

    /// The server's `friendlyName`: the initial value of the setting
    /// `FriendlyName` (default: blank, which `GET /` shows as
    /// `plex-butler-sim`, as a real server shows its computer's name).
    #[must_use]
    pub fn friendly_name(self, name: impl Into<String>) -> Self {
        self.setting("FriendlyName", name)
    }

    /// Faults to inject from the first request on (default: none).
    #[must_use]
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// Whether butler activities may be cancelled through
    /// `DELETE /activities/{uuid}` (default: no, as on a real server, which
    /// marks them `cancellable="0"`).
    #[must_use]
    pub fn cancellable_activities(mut self, cancellable: bool) -> Self {
        self.cancellable_activities = cancellable;
        self
    }

    /// Moves the clock forward by `step` before answering each
    /// `GET /activities` (default: never). A client that polls the
    /// activities then sees time pass one step per look, with no sleeps and
    /// no race with the test: with a [`ManualClock`](crate::ManualClock), a
    /// 20 s task and a 5 s step, its looks show 25, 50 and 75 %, then no
    /// activity. Made for tests of clients that wait for tasks to end, run
    /// in another process or thread.
    #[must_use]
    pub fn advance_clock_on_activities(mut self, step: Duration) -> Self {
        self.activities_step = Some(step).filter(|s| !s.is_zero());
        self
    }

    /// Answers 498 ("token expired", as newer servers do once a token's
    /// seven days are over) to every request that carries the right token
    /// (default: no). A wrong or missing token still gets 401; `/identity`
    /// still answers. Change it while serving with
    /// [`Simulator::set_token_expired`].
    #[must_use]
    pub fn token_expired(mut self, expired: bool) -> Self {
        self.token_expired = expired;
        self
    }

    /// Whether `GET /:/eventsource/notifications` serves the event stream
    /// (default: yes). Without it the path answers 404, as on a server
    /// without events, so that a client can tell "no endpoint" from "dead".
    #[must_use]
    pub fn events(mut self, serve: bool) -> Self {
        self.events = serve;
        self
    }

    /// How often each event stream sends `ping` (default: 10 s, as the
    /// real server; must not be zero).
    #[must_use]
    pub fn ping_interval(mut self, every: Duration) -> Self {
        self.ping_interval = every;
        self
    }

    /// Shows all running Butler work as ONE activity, as a real PMS 1.43.2
    /// does (default: no, one activity per running task): type `butler`,
    /// title "Butler tasks", not cancellable (unless
    /// [`cancellable_activities`](Self::cancellable_activities): then
    /// cancelling it stops every running task), `userID` 1. It appears when
    /// the first task starts, keeps its id while any task runs, and ends
    /// when the last ends; its subtitle is the title of the first running
    /// task in list order, its progress that task's progress.
    #[must_use]
    pub fn aggregate_butler_activity(mut self, aggregate: bool) -> Self {
        self.aggregate_butler_activity = aggregate;
        self
    }

    /// The settings at start: the defaults; each task's switch as the task
    /// list says (the real server's list and the settings' defaults agree);
    /// then the presets in order.
    fn initial_settings(&self) -> Result<Settings, Error> {
        let mut initial = Settings::new();
        let switches = self.tasks.iter().filter_map(|task| {
            let on = if task.enabled { "1" } else { "0" };
            Some((settings::switch_of(&task.name)?, on))
        });
        let presets = self
            .settings
            .iter()
            .map(|(id, v)| (id.as_str(), v.as_str()));
        initial
            .set_all(switches.chain(presets))
            .map_err(|error| Error::InvalidConfig(error.to_string()))?;
        Ok(initial)
    }

    fn check(&self) -> Result<(), Error> {
        let invalid = |what: String| Err(Error::InvalidConfig(what));
        if self.sessions > MAX_SESSIONS {
            return invalid(format!(
                "at most {MAX_SESSIONS} sessions, not {}",
                self.sessions
            ));
        }
        if let Auth::Token(token) = &self.auth
            && token.is_empty()
        {
            return invalid("the token is empty".to_owned());
        }
        let mut names = std::collections::HashSet::new();
        for task in &self.tasks {
            let name = &task.name;
            if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
                return invalid(format!(
                    "task name {name:?}: must be 1..={MAX_NAME_LEN} bytes without control characters"
                ));
            }
            if !names.insert(name.as_str()) {
                return invalid(format!("task name {name:?} is used twice"));
            }
            let text = [&task.title, &task.description];
            if text.into_iter().flatten().any(|s| {
                s.chars()
                    .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            }) {
                return invalid(format!(
                    "task {name:?} has control characters in its title or description"
                ));
            }
        }
        if let Some(id) = &self.machine_identifier
            && (id.is_empty() || id.chars().any(char::is_control))
        {
            return invalid("the machine identifier must be non-empty text".to_owned());
        }
        if self.ping_interval.is_zero() {
            return invalid("the ping interval must not be zero".to_owned());
        }
        self.faults.check().map_err(Error::InvalidConfig)
    }

    /// Opens the socket and starts serving; returns once connections are
    /// accepted. Must be called within a tokio runtime.
    pub async fn start(self) -> Result<Simulator, Error> {
        self.check()?;
        let settings = self.initial_settings()?;
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.listen,
            source,
        })?;
        let machine_identifier = self
            .machine_identifier
            .unwrap_or_else(|| random_hex(&mut fastrand::Rng::with_seed(self.seed), 40));
        let token = match self.auth {
            Auth::Generated => Some(random_hex(&mut fastrand::Rng::new(), 24)),
            Auth::Token(token) => Some(token),
            Auth::None => None,
        };
        let pages = Pages {
            identity: Pages::pair(render::identity(&machine_identifier)),
            ..Pages::default()
        };
        let (start_hour, end_hour) = settings.window();
        let mut butler = Butler::new(ButlerConfig {
            tasks: self.tasks,
            window: Window::new(start_hour, end_hour, self.utc_offset),
            task_duration: self.task_duration,
            seed: self.seed,
            cancellable_activities: self.cancellable_activities,
            aggregate_activity: self.aggregate_butler_activity,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        // The settings decide the switches and the pages from the start.
        server::govern(&mut butler, &settings, &pages, &machine_identifier);
        let shared = Arc::new(Shared {
            settings: Mutex::new(settings),
            machine_identifier: machine_identifier.clone(),
            sessions: AtomicU32::new(self.sessions),
            butler: Mutex::new(butler),
            clock: self.clock,
            token: token.map(Token::new),
            faults_on: AtomicBool::new(!self.faults.is_none()),
            faults: Mutex::new(Faults::new(self.faults, self.seed)),
            pages,
            activities_step: self.activities_step,
            token_expired: AtomicBool::new(self.token_expired),
            events: Hub::new(self.events, self.ping_interval, shutdown_rx.clone()),
            requests: std::sync::atomic::AtomicU64::new(0),
        });
        tokio::spawn(events::tick(shared.clone(), shutdown_rx.clone()));
        let server = tokio::spawn(server::serve(listener, shared.clone(), shutdown_rx));
        Ok(Simulator {
            url: format!("http://{addr}"),
            addr,
            machine_identifier,
            shared,
            shutdown,
            server: Some(server),
        })
    }
}

fn random_hex(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)]))
        .collect()
}

/// A running simulated Plex Media Server.
///
/// Stops when [`shutdown`](Simulator::shutdown) is awaited (requests in
/// flight finish first) or, at once, when dropped.
///
/// ```no_run
/// # async fn demo() -> Result<(), plex_butler_sim::Error> {
/// use plex_butler_sim::{ManualClock, Preset, Simulator};
/// use chrono::{TimeZone, Utc};
/// use std::time::Duration;
///
/// let noon = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).single().expect("a valid date");
/// let sim = Simulator::builder()
///     .token("secret")
///     .preset(Preset::Pms1_43_2)
///     .clock(ManualClock::at(noon))
///     .seed(7)
///     .start()
///     .await?;
/// println!("{} with token {:?}", sim.url(), sim.token());
/// sim.clock().advance(Duration::from_secs(3600));
/// assert!(sim.state().running().is_empty());
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Simulator {
    url: String,
    addr: SocketAddr,
    machine_identifier: String,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("url", &self.url)
            .field(
                "auth",
                &self.shared.token.as_ref().map(|_| "token <redacted>"),
            )
            .field("machine_identifier", &self.machine_identifier)
            .field("clock", &self.shared.clock)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Settings for a new simulator, all defaulted.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token it requires, or `None` in [`no_auth`](SimulatorBuilder::no_auth)
    /// mode.
    pub fn token(&self) -> Option<&str> {
        self.shared.token.as_ref().map(Token::as_str)
    }

    /// Its `machineIdentifier`.
    pub fn machine_identifier(&self) -> &str {
        &self.machine_identifier
    }

    /// Its clock; [`Clock::advance`] moves time for the server.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The tasks and activities as of the clock's current time.
    pub fn state(&self) -> ButlerState {
        let (mut butler, now) = self.shared.butler_now();
        butler.snapshot(now)
    }

    /// Replaces the fault plan, from the next request on; counts of
    /// [`Trigger::Next`](crate::Trigger::Next) start afresh.
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), Error> {
        plan.check().map_err(Error::InvalidConfig)?;
        let on = !plan.is_none();
        self.shared.faults().replace(plan);
        self.shared.faults_on.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the token counts as expired (498) from the next request on;
    /// see [`SimulatorBuilder::token_expired`].
    pub fn set_token_expired(&self, expired: bool) {
        self.shared.token_expired.store(expired, Ordering::Relaxed);
    }

    /// Every setting of `GET /:/prefs` with its current value, as text
    /// (booleans `1`/`0`), by id.
    pub fn settings(&self) -> BTreeMap<String, String> {
        self.shared.settings().snapshot()
    }

    /// How many playbacks `GET /status/sessions` lists from the next request
    /// on (0 to [`MAX_SESSIONS`]): a test makes someone start or stop
    /// watching.
    pub fn set_sessions(&self, playing: u32) -> Result<(), Error> {
        if playing > MAX_SESSIONS {
            return Err(Error::InvalidConfig(format!(
                "at most {MAX_SESSIONS} sessions, not {playing}"
            )));
        }
        self.shared.sessions.store(playing, Ordering::Relaxed);
        Ok(())
    }

    /// How many playbacks `GET /status/sessions` lists.
    pub fn sessions(&self) -> u32 {
        self.shared.sessions.load(Ordering::Relaxed)
    }

    /// How many requests the server received so far, whatever their path
    /// or answer (an event stream counts once, when it is opened).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The fault plan in force.
    pub fn faults(&self) -> FaultPlan {
        self.shared.faults().plan().clone()
    }

    /// Stops accepting connections, lets requests in flight finish (up to a
    /// few seconds), and returns when the server is down.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builders_debug_output_hides_the_token() {
        let builder = Simulator::builder().token("s3cret-value");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn random_hex_is_hex_of_the_asked_length() {
        let id = random_hex(&mut fastrand::Rng::with_seed(1), 40);
        assert_eq!(id.len(), 40);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
