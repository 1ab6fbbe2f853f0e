//! The client: configuration, the calls, retries and tracing.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::Either;
use futures_util::{FutureExt as _, StreamExt as _};
use plex_butler_raw::types as raw_types;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument as _;

use crate::activity::activities_from_raw;
use crate::deadline::within;
use crate::error::{excerpt, redact, sniff_content_type};
use crate::identity::default_client_identifier;
use crate::statuses;
use crate::task::tasks_from_raw;
use crate::{
    Activity, CancelOutcome, Error, RetryPolicy, StartOutcome, StopOutcome, Task, TaskName,
};

/// The error of the raw client's calls.
type RawError = plex_butler_raw::Error<plex_butler_raw::ByteStream>;

const DEFAULT_PRODUCT: &str = "plex-butler";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of an error body is read for its excerpt and server message.
const ERROR_BODY_LIMIT: usize = 16 * 1024;
/// How much of a success body is read so that the connection can be reused;
/// a longer body is dropped, which closes the connection instead.
const DRAIN_LIMIT: usize = 64 * 1024;

const X_PLEX_TOKEN: HeaderName = HeaderName::from_static("x-plex-token");
const X_PLEX_CLIENT_IDENTIFIER: HeaderName = HeaderName::from_static("x-plex-client-identifier");
const X_PLEX_PRODUCT: HeaderName = HeaderName::from_static("x-plex-product");
const X_PLEX_VERSION: HeaderName = HeaderName::from_static("x-plex-version");
const X_PLEX_DEVICE_NAME: HeaderName = HeaderName::from_static("x-plex-device-name");
const X_PLEX_PLATFORM: HeaderName = HeaderName::from_static("x-plex-platform");

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// Its `Debug` shows the token as `<redacted>`.
#[derive(Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    client_identifier: Option<String>,
    product: String,
    version: String,
    device_name: Option<String>,
    platform: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    http_client: Option<reqwest::Client>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| Redacted))
            .field("client_identifier", &self.client_identifier)
            .field("product", &self.product)
            .field("version", &self.version)
            .field("device_name", &self.device_name)
            .field("platform", &self.platform)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// Shows `<redacted>` in place of a secret.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl ClientBuilder {
    fn new(base_url: String) -> Self {
        Self {
            base_url,
            token: None,
            client_identifier: None,
            product: DEFAULT_PRODUCT.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            device_name: None,
            platform: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            retry: RetryPolicy::default(),
            http_client: None,
        }
    }

    /// The server's access token, sent as the `X-Plex-Token` header (marked
    /// sensitive, so HTTP libraries do not print it) and never in the URL.
    /// Optional: a server may let clients of an allowed network in without
    /// one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `X-Plex-Client-Identifier`, an opaque id of this client. Plex
    /// lists each identifier as a device of the account, so keep it the
    /// same from run to run.
    ///
    /// Default: 32 hex digits hashed from the machine's identity (its
    /// machine id, else its host name) and the product name: stable across
    /// runs, and revealing neither.
    pub fn client_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.client_identifier = Some(identifier.into());
        self
    }

    /// The `X-Plex-Product`, the program's name as Plex shows it. Default:
    /// `plex-butler`.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = product.into();
        self
    }

    /// The `X-Plex-Version`, the program's version. Default: this crate's
    /// version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The `X-Plex-Device-Name`, a name for this machine as Plex shows it.
    /// Not sent unless set.
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// The `X-Plex-Platform`, such as `Linux`. Not sent unless set.
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    /// The time one attempt may take, from sending the request to reading
    /// the whole answer. Default: 30 s. It applies with a supplied
    /// [`reqwest::Client`] too. Retries have their own budget
    /// ([`RetryPolicy::max_elapsed`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time allowed to open a connection. Default: 5 s. Only for the
    /// HTTP client this builder makes: with [`ClientBuilder::http_client`],
    /// set it on that client instead ([`ClientBuilder::build`] refuses
    /// both).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// When and how to retry; default [`RetryPolicy::default`], none with
    /// [`RetryPolicy::none`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends through this HTTP client (for a proxy, custom certificates,
    /// ...) instead of one the builder makes. The headers above are added
    /// to each request, whatever the client's own defaults.
    ///
    /// The client the builder makes does not follow redirects (a redirected
    /// `POST` would turn into a `GET`, and the token must not follow a
    /// redirect to another server); a supplied one does what it was
    /// configured to do. **reqwest's default policy follows redirects and
    /// keeps `X-Plex-Token` on the way, even to another host** (it drops
    /// only `Authorization` and cookies): build a supplied client with
    /// `.redirect(reqwest::redirect::Policy::none())`, or with a
    /// [`reqwest::redirect::Policy::custom`] that stops at another origin.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks the configuration and makes the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a base URL that is not
    /// `http(s)://host[:port][/path]` (credentials, a query or a fragment
    /// in it are refused: the token goes in [`ClientBuilder::token`]), an
    /// empty token, a header value a header cannot carry, `https` without
    /// a TLS feature, or an HTTP client that cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = normalize_base_url(&self.base_url)?;
        let https = base_url.starts_with("https:");

        let client_identifier = match &self.client_identifier {
            Some(identifier) => identifier.clone(),
            None => default_client_identifier(&self.product),
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = &self.token {
            if token.trim().is_empty() {
                return Err(Error::invalid_config(
                    "the token is empty: set a token, or none for a server that allows this network without one",
                ));
            }
            let mut value = HeaderValue::from_str(token).map_err(|_| {
                Error::invalid_config(
                    "the token contains characters a header cannot carry (such as a line break): check how it was read",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(X_PLEX_TOKEN, value);
        }
        let identity = [
            (X_PLEX_CLIENT_IDENTIFIER, Some(&client_identifier)),
            (X_PLEX_PRODUCT, Some(&self.product)),
            (X_PLEX_VERSION, Some(&self.version)),
            (X_PLEX_DEVICE_NAME, self.device_name.as_ref()),
            (X_PLEX_PLATFORM, self.platform.as_ref()),
        ];
        for (name, value) in identity {
            if let Some(value) = value {
                let value = HeaderValue::from_str(value).map_err(|e| Error::InvalidConfig {
                    message: format!(
                        "the {name} value {:?} is not a valid header value",
                        excerpt(value.as_bytes())
                    ),
                    source: Some(Box::new(e)),
                })?;
                headers.insert(name, value);
            }
        }

        let http = match self.http_client {
            Some(client) => {
                if self.connect_timeout.is_some() {
                    return Err(Error::invalid_config(
                        "a connect timeout cannot be applied to a supplied HTTP client: set it on that client",
                    ));
                }
                client
            }
            None => {
                if https && !cfg!(any(feature = "rustls", feature = "native-tls")) {
                    return Err(Error::invalid_config(
                        "https needs TLS: enable the `rustls` or `native-tls` feature of plex-butler",
                    ));
                }
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("plex-butler/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| Error::InvalidConfig {
                        message: "the HTTP client cannot be made (TLS setup failed?)".to_owned(),
                        source: Some(Box::new(e)),
                    })?
            }
        };

        let raw = plex_butler_raw::Client::new_with_client(&base_url, http, headers);
        Ok(Client {
            shared: Arc::new(Shared {
                raw,
                base_url,
                client_identifier,
                token_sent: self.token.is_some(),
                timeout: self.timeout,
                retry: self.retry,
            }),
        })
    }
}

/// Checks the base URL and returns it without a trailing `/` (the raw
/// client appends `/butler`).
fn normalize_base_url(input: &str) -> Result<String, Error> {
    // The input is not echoed: it may hold a secret the user put there.
    let url = reqwest::Url::parse(input.trim()).map_err(|e| Error::InvalidConfig {
        message: "the base URL is not a URL; expected one like http://127.0.0.1:32400".to_owned(),
        source: Some(Box::new(e)),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        // Not echoed either: `token:...` parses as a URL of scheme `token`.
        return Err(Error::invalid_config(
            "the base URL's scheme is neither http nor https: use http:// or https://",
        ));
    }
    if url.host().is_none() {
        return Err(Error::invalid_config("the base URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_config(
            "the base URL holds credentials: remove them (give the token separately, never in the URL)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_config(
            "the base URL has a query or fragment: remove it (give the token separately, never in the URL)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A client of one Plex Media Server's Butler API.
///
/// Cheap to clone (clones share the connection pool). Its `Debug` shows
/// the token as `<redacted>`.
///
/// # Retries
///
/// Each call is tried again per the [`RetryPolicy`] after a failure that
/// may pass. Every call is retried when no connection could be made
/// (nothing was sent) and on 429 and 503 (the server says it did not do
/// it). After a timeout, a broken connection, 502 or 504 the request may
/// have been carried out; each method says whether repeating it is safe.
///
/// # Runtime
///
/// The calls need a Tokio runtime with its time driver
/// (`#[tokio::main]` has it): the waits between retries use it.
///
/// The timeout of each attempt is kept by one thread for the whole process,
/// named `plex-butler-deadlines`, started by the first call. It sleeps
/// until the earliest deadline of the calls in flight (and, once none has
/// been in flight for a while, until the next call) and wakes the calls
/// whose time is up, on whatever runtime they run. A timer of the runtime per attempt would do the same, but it
/// costs a wake-up of the runtime's timer thread on every call. Should the
/// thread fail to start, the runtime's timers are used instead.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    raw: plex_butler_raw::Client,
    base_url: String,
    client_identifier: String,
    token_sent: bool,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("Client")
            .field("base_url", &shared.base_url)
            .field("token", &shared.token_sent.then_some(Redacted))
            .field("client_identifier", &shared.client_identifier)
            .field("timeout", &shared.timeout)
            .field("retry", &shared.retry)
            .finish_non_exhaustive()
    }
}

/// What may be repeated after a failure whose effect is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Repeating has the same effect as doing it once (or, for start-all,
    /// a harmless one).
    Safe,
    /// Repeating may change the answer: only retried when the server
    /// surely did not act.
    OnlyIfNotDone,
}

impl Repeat {
    fn allows(self, error: &Error) -> bool {
        // Nothing was sent, or the server says it did not act.
        let not_done = matches!(
            error,
            Error::Connect { .. }
                | Error::Server {
                    status: 429 | 503,
                    ..
                }
        );
        // The request may have been carried out.
        let maybe_done = matches!(
            error,
            Error::Timeout { .. }
                | Error::ConnectionLost { .. }
                | Error::Server {
                    status: 502 | 504,
                    ..
                }
        );
        not_done || (maybe_done && self == Self::Safe)
    }
}

/// Names one call for tracing and retries.
struct Call {
    operation: &'static str,
    method: &'static str,
    repeat: Repeat,
}

const LIST: Call = Call {
    operation: "tasks",
    method: "GET",
    repeat: Repeat::Safe,
};
const START_ALL: Call = Call {
    operation: "start_all",
    method: "POST",
    repeat: Repeat::Safe,
};
const STOP_ALL: Call = Call {
    operation: "stop_all",
    method: "DELETE",
    repeat: Repeat::Safe,
};
const START: Call = Call {
    operation: "start",
    method: "POST",
    repeat: Repeat::OnlyIfNotDone,
};
const STOP: Call = Call {
    operation: "stop",
    method: "DELETE",
    repeat: Repeat::Safe,
};
const ACTIVITIES: Call = Call {
    operation: "activities",
    method: "GET",
    repeat: Repeat::Safe,
};
const CANCEL: Call = Call {
    operation: "cancel_activity",
    method: "DELETE",
    repeat: Repeat::Safe,
};

/// What a call learnt along the way, for its span: recorded once at the
/// end, so that each field has one value.
#[derive(Default)]
struct Progress {
    /// The status of the latest attempt's answer; 0 for none.
    status: AtomicU32,
    attempts: AtomicU32,
}

impl Progress {
    fn saw(&self, status: u16) {
        self.status.store(u32::from(status), Ordering::Relaxed);
    }

    fn status(&self) -> Option<u32> {
        Some(self.status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }
}

/// What one stop attempt learnt.
enum StopReply {
    Stopped,
    /// 404: no such task, or it was not running.
    NotFound,
}

impl Client {
    /// Starts configuring a client of the server at `base_url`, such as
    /// `http://127.0.0.1:32400` or `https://192-168-1-2.<id>.plex.direct:32400`.
    /// A path is kept (`https://example.com/plex` for a server behind a
    /// reverse proxy).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url.into())
    }

    /// The server's base URL, as requests use it (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The `X-Plex-Client-Identifier` this client sends.
    pub fn client_identifier(&self) -> &str {
        &self.shared.client_identifier
    }

    /// The generated client underneath: every operation of the spec as the
    /// spec says it, with the same headers (token, identity, `Accept`), but
    /// no retries, timeouts or error mapping. Its operations take
    /// `plex_butler_raw::types::TaskName`, which converts from
    /// [`TaskName`] with `From`.
    pub fn raw(&self) -> &plex_butler_raw::Client {
        &self.shared.raw
    }

    /// Lists the server's Butler tasks (`GET /butler`).
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// [`Error::Unauthorized`], [`Error::Decode`] for an answer that is
    /// not the expected JSON, and the transport errors
    /// ([`Error::Connect`], [`Error::Timeout`], [`Error::ConnectionLost`],
    /// [`Error::Server`]).
    pub async fn tasks(&self) -> Result<Vec<Task>, Error> {
        let progress = &Progress::default();
        self.traced(&LIST, None, progress, async {
            self.with_retries(&LIST, progress, |deadline| {
                self.list_attempt(deadline, progress)
            })
            .await
        })
        .await
    }

    /// Starts one task now, whatever its schedule (`POST /butler/{task}`).
    ///
    /// Retried only when the server surely did not act (no connection, 429,
    /// 503): had a lost answer been retried, the repeat would see the task
    /// running and report [`StartOutcome::AlreadyRunning`] for a start this
    /// call made. After a timeout or a broken connection the error is
    /// returned, and the task may have started.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTask`] when the server has no such task (404), with
    /// the closest known name as a suggestion; [`Error::InvalidTaskName`]
    /// for a name that cannot be sent; and the errors of
    /// [`Client::tasks`].
    pub async fn start(&self, task: impl Into<TaskName>) -> Result<StartOutcome, Error> {
        let task = task.into();
        let progress = &Progress::default();
        self.traced(&START, Some(&task), progress, async {
            task.check_sendable()?;
            let raw_name = raw_types::TaskName::from(&task);
            let found = self
                .with_retries(&START, progress, |deadline| {
                    self.start_attempt(&raw_name, deadline, progress)
                })
                .await?;
            found.ok_or_else(|| Error::UnknownTask {
                suggestion: TaskName::suggest(task.as_str()),
                name: task.clone(),
            })
        })
        .await
    }

    /// Stops one task if it runs, or takes it off the schedule if it is
    /// scheduled (`DELETE /butler/{task}`).
    ///
    /// The server answers 404 both for a task it does not have and for one
    /// that was not running; on 404 this call reads the server's list to
    /// tell them apart: [`StopOutcome::NotRunning`] for a listed task,
    /// [`Error::UnknownTask`] otherwise, with the closest listed name as a
    /// suggestion.
    ///
    /// Retried on every passing failure: stopping twice leaves the task
    /// stopped. (After a lost answer, the repeat may report
    /// [`StopOutcome::NotRunning`] for a task this call did stop.)
    ///
    /// # Errors
    ///
    /// As [`Client::start`].
    pub async fn stop(&self, task: impl Into<TaskName>) -> Result<StopOutcome, Error> {
        let task = task.into();
        let progress = &Progress::default();
        self.traced(&STOP, Some(&task), progress, async {
            task.check_sendable()?;
            let raw_name = raw_types::TaskName::from(&task);
            let reply = self
                .with_retries(&STOP, progress, |deadline| {
                    self.stop_attempt(&raw_name, deadline, progress)
                })
                .await?;
            match reply {
                StopReply::Stopped => Ok(StopOutcome::Stopped),
                StopReply::NotFound => {
                    let listed = self
                        .with_retries(&LIST, progress, |deadline| {
                            self.list_attempt(deadline, progress)
                        })
                        .await?;
                    if listed.iter().any(|t| t.name == task) {
                        Ok(StopOutcome::NotRunning)
                    } else {
                        Err(Error::UnknownTask {
                            suggestion: TaskName::suggest_among(
                                task.as_str(),
                                listed.iter().map(|t| &t.name),
                            ),
                            name: task.clone(),
                        })
                    }
                }
            }
        })
        .await
    }

    /// Starts the tasks that are enabled in the server's settings
    /// (`POST /butler`), with the server's criteria: tasks not due today
    /// are skipped, and inside the maintenance window a task set to run at
    /// a random time is scheduled rather than started.
    ///
    /// Retried on every passing failure: the server's criteria make a
    /// repeat harmless (running tasks keep running, the answer is the same);
    /// at worst a task scheduled at a random time is scheduled again.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn start_all(&self) -> Result<(), Error> {
        let progress = &Progress::default();
        self.traced(&START_ALL, None, progress, async {
            self.with_retries(&START_ALL, progress, |deadline| async move {
                let result = self
                    .timed(deadline, self.shared.raw.start_all_tasks().send())
                    .await?;
                self.no_content(result, deadline, progress).await
            })
            .await
        })
        .await
    }

    /// Stops every running task and empties the schedule
    /// (`DELETE /butler`).
    ///
    /// Retried on every passing failure: stopping twice leaves everything
    /// stopped.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn stop_all(&self) -> Result<(), Error> {
        let progress = &Progress::default();
        self.traced(&STOP_ALL, None, progress, async {
            self.with_retries(&STOP_ALL, progress, |deadline| async move {
                let result = self
                    .timed(deadline, self.shared.raw.stop_all_tasks().send())
                    .await?;
                self.no_content(result, deadline, progress).await
            })
            .await
        })
        .await
    }

    /// Lists what the server is working on now (`GET /activities`):
    /// running Butler tasks show here ([`Activity::is_butler`]), with their
    /// progress, among the server's other work.
    ///
    /// A server may show one aggregate activity for all its running Butler
    /// tasks (a PMS 1.43.2 does, titled "Butler tasks") rather than one per
    /// task; see [`Activity`].
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn activities(&self) -> Result<Vec<Activity>, Error> {
        let progress = &Progress::default();
        self.traced(&ACTIVITIES, None, progress, async {
            self.with_retries(&ACTIVITIES, progress, |deadline| {
                self.activities_attempt(deadline, progress)
            })
            .await
        })
        .await
    }

    /// Cancels a running activity by its [`Activity::uuid`]
    /// (`DELETE /activities/{activityId}`).
    ///
    /// [`CancelOutcome::NotFound`] when the server has no such activity
    /// (it may have ended). Butler activities of a PMS 1.43.2 are not
    /// cancellable: to stop a Butler task, use [`Client::stop`].
    ///
    /// Retried on every passing failure: cancelling twice leaves the
    /// activity cancelled. (After a lost answer, the repeat may report
    /// [`CancelOutcome::NotFound`] for an activity this call did cancel.)
    ///
    /// # Errors
    ///
    /// [`Error::NotCancellable`] when the server refuses (400);
    /// [`Error::InvalidActivityId`] for an id that cannot be sent (empty,
    /// `.` or `..`); and the errors of [`Client::tasks`].
    pub async fn cancel_activity(&self, uuid: &str) -> Result<CancelOutcome, Error> {
        let progress = &Progress::default();
        self.traced(&CANCEL, None, progress, async {
            check_activity_id(uuid)?;
            self.with_retries(&CANCEL, progress, |deadline| {
                self.cancel_attempt(uuid, deadline, progress)
            })
            .await
        })
        .await
    }

    async fn activities_attempt(
        &self,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Vec<Activity>, Error> {
        let result = self
            .timed(deadline, self.shared.raw.get_activities().send())
            .await?;
        self.decoded(
            result,
            activities_from_raw,
            "the activities",
            deadline,
            progress,
        )
        .await
    }

    async fn cancel_attempt(
        &self,
        uuid: &str,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<CancelOutcome, Error> {
        let result = self
            .timed(
                deadline,
                self.shared.raw.cancel_activity().activity_id(uuid).send(),
            )
            .await?;
        use statuses::cancel_activity::{NOT_CANCELLABLE, NOT_FOUND};
        match self
            .status_of(result, &[NOT_CANCELLABLE, NOT_FOUND], deadline, progress)
            .await?
        {
            NOT_CANCELLABLE => Err(Error::NotCancellable {
                activity: excerpt(uuid.as_bytes()),
            }),
            NOT_FOUND => Ok(CancelOutcome::NotFound),
            _ => Ok(CancelOutcome::Cancelled),
        }
    }

    async fn list_attempt(
        &self,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Vec<Task>, Error> {
        let result = self
            .timed(deadline, self.shared.raw.get_butler_tasks().send())
            .await?;
        self.decoded(result, tasks_from_raw, "the list", deadline, progress)
            .await
    }

    /// One start: `Some(outcome)`, or `None` for 404.
    async fn start_attempt(
        &self,
        name: &raw_types::TaskName,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Option<StartOutcome>, Error> {
        let result = self
            .timed(
                deadline,
                self.shared.raw.start_task().task(name.clone()).send(),
            )
            .await?;
        use statuses::start_task::{ALREADY_RUNNING, NO_SUCH_TASK};
        // A success the spec does not list (204, ...) still started it.
        Ok(
            match self
                .status_of(result, &[NO_SUCH_TASK], deadline, progress)
                .await?
            {
                NO_SUCH_TASK => None,
                ALREADY_RUNNING => Some(StartOutcome::AlreadyRunning),
                _ => Some(StartOutcome::Started),
            },
        )
    }

    async fn stop_attempt(
        &self,
        name: &raw_types::TaskName,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<StopReply, Error> {
        let result = self
            .timed(
                deadline,
                self.shared.raw.stop_task().task(name.clone()).send(),
            )
            .await?;
        use statuses::stop_task::NOT_FOUND;
        Ok(
            match self
                .status_of(result, &[NOT_FOUND], deadline, progress)
                .await?
            {
                NOT_FOUND => StopReply::NotFound,
                _ => StopReply::Stopped,
            },
        )
    }

    /// The end of start-all and stop-all, whose answers carry nothing.
    async fn no_content(
        &self,
        result: Result<plex_butler_raw::ResponseValue<plex_butler_raw::ByteStream>, RawError>,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<(), Error> {
        self.status_of(result, &[], deadline, progress)
            .await
            .map(|_| ())
    }

    /// The status of an answer whose body says nothing: any success (listed
    /// in the spec or not), or one of the error statuses in `expected`,
    /// which the call turns into its outcome. The body is drained, so that
    /// the connection can serve the next call; any other answer is an
    /// error.
    async fn status_of(
        &self,
        result: Result<plex_butler_raw::ResponseValue<plex_butler_raw::ByteStream>, RawError>,
        expected: &[u16],
        deadline: Instant,
        progress: &Progress,
    ) -> Result<u16, Error> {
        let (status, body) = match result {
            Ok(response) => (
                response.status().as_u16(),
                response.into_inner().into_inner(),
            ),
            Err(RawError::ErrorResponse(response))
                if expected.contains(&response.status().as_u16()) =>
            {
                (
                    response.status().as_u16(),
                    response.into_inner().into_inner(),
                )
            }
            Err(RawError::UnexpectedResponse(response)) if response.status().is_success() => (
                response.status().as_u16(),
                Box::pin(response.bytes_stream()) as _,
            ),
            Err(error) => return Err(self.classify(error, deadline).await),
        };
        progress.saw(status);
        drain(body, deadline).await;
        Ok(status)
    }

    /// The end of a call whose answer is a JSON document: decoded by the
    /// raw client, then checked by `check`. A success the spec does not
    /// list (204, ...) carries no document, and is a decode error too.
    async fn decoded<R, T, E>(
        &self,
        result: Result<plex_butler_raw::ResponseValue<R>, RawError>,
        check: impl FnOnce(R) -> Result<T, E>,
        what: &str,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<T, Error>
    where
        E: DecodeProblem,
    {
        match result {
            Ok(response) => {
                progress.saw(response.status().as_u16());
                // Kept as the header (a reference count), turned into text
                // only for an error.
                let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
                check(response.into_inner()).map_err(|e| Error::Decode {
                    content_type: content_type
                        .as_ref()
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    excerpt: e.excerpt().to_owned(),
                    source: Box::new(e),
                })
            }
            Err(RawError::UnexpectedResponse(response)) if response.status().is_success() => {
                let status = response.status().as_u16();
                progress.saw(status);
                let content_type = content_type(response.headers());
                let body = read_limited(
                    Box::pin(response.bytes_stream()),
                    ERROR_BODY_LIMIT,
                    deadline,
                )
                .await;
                Err(Error::Decode {
                    content_type,
                    excerpt: excerpt(&body),
                    source: format!("status {status} where 200 with {what} was expected").into(),
                })
            }
            Err(error) => Err(self.classify(error, deadline).await),
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the policy
    /// gives up. Each attempt gets its own deadline (the timeout).
    async fn with_retries<T, F, Fut>(
        &self,
        call: &Call,
        progress: &Progress,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut(Instant) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let started = Instant::now();
        // Made at the first failure: most calls succeed at once.
        let mut schedule = None;
        let mut now = started;
        loop {
            progress.status.store(0, Ordering::Relaxed);
            progress.attempts.fetch_add(1, Ordering::Relaxed);
            // A huge timeout ("never") must not overflow the clock.
            let deadline = now
                .checked_add(self.shared.timeout)
                .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
            let error = match attempt(deadline).await {
                Ok(value) => return Ok(value),
                Err(error) => self.without_token(error),
            };
            if !call.repeat.allows(&error) {
                return Err(error);
            }
            let retry_after = match &error {
                Error::Server { retry_after, .. } => *retry_after,
                _ => None,
            };
            let plan = schedule.get_or_insert_with(|| self.shared.retry.schedule());
            let Some(wait) = plan.next_wait(started.elapsed(), retry_after) else {
                return Err(error);
            };
            tracing::debug!(
                attempt = plan.attempts(),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying"
            );
            tokio::time::sleep(wait).await;
            now = Instant::now();
        }
    }

    /// Runs one call inside its tracing span, recording how it ended. With
    /// no subscriber interested, the call runs as it is: not an `async fn`,
    /// so that the call's future is not stored twice (as an argument and
    /// where it is awaited).
    fn traced<'a, T: 'a>(
        &'a self,
        call: &'static Call,
        task: Option<&'a TaskName>,
        progress: &'a Progress,
        body: impl Future<Output = Result<T, Error>> + 'a,
    ) -> impl Future<Output = Result<T, Error>> + 'a {
        let span = tracing::info_span!(
            "plex_butler",
            operation = call.operation,
            method = call.method,
            server = %self.shared.base_url,
            task = tracing::field::Empty,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        if span.is_disabled() {
            return Either::Left(body);
        }
        if let Some(task) = task {
            span.record("task", tracing::field::display(task));
        }
        let started = Instant::now();
        // A combinator rather than an `async` block, which would hold the
        // call twice (captured, and where it is awaited).
        Either::Right(body.instrument(span.clone()).map(move |result| {
            let status = match &result {
                Ok(_) => progress.status(),
                Err(error) => error.status().map(u32::from).or_else(|| progress.status()),
            };
            if let Some(status) = status {
                span.record("status", status);
            }
            span.record("attempts", progress.attempts.load(Ordering::Relaxed));
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            span.record("duration_ms", elapsed);
            if let Err(error) = &result {
                span.record("error", tracing::field::display(error));
            }
            let _entered = span.enter();
            match &result {
                Ok(_) => tracing::debug!("call done"),
                Err(_) => tracing::debug!("call failed"),
            }
            result
        }))
    }

    /// Maps a raw error to the crate's, reading a short part of the body
    /// where there is one.
    async fn classify(&self, error: RawError, deadline: Instant) -> Error {
        match error {
            RawError::CommunicationError(e)
            | RawError::ResponseBodyError(e)
            | RawError::InvalidUpgrade(e) => self.transport_error(e),
            RawError::ErrorResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = read_limited(
                    response.into_inner().into_inner(),
                    ERROR_BODY_LIMIT,
                    deadline,
                )
                .await;
                self.status_error(status, &headers, &body)
            }
            RawError::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = read_limited(
                    Box::pin(response.bytes_stream()),
                    ERROR_BODY_LIMIT,
                    deadline,
                )
                .await;
                self.status_error(status, &headers, &body)
            }
            RawError::InvalidResponsePayload(body, e) => Error::Decode {
                // The raw client does not keep the headers of an answer it
                // could not parse: say what the body looks like instead.
                content_type: sniff_content_type(&body),
                excerpt: excerpt(&body),
                source: Box::new(e),
            },
            // The request is built from a checked URL and checked headers;
            // the raw client has no hooks that fail. Kept for completeness.
            RawError::InvalidRequest(message) | RawError::Custom(message) => Error::InvalidConfig {
                message: format!("the request could not be made: {message}"),
                source: None,
            },
        }
    }

    /// Blanks the token out of what an error shows of an answer: a proxy's
    /// debug page, a login redirect or a test endpoint may echo the request,
    /// headers included, and errors must never show the token.
    fn without_token(&self, mut error: Error) -> Error {
        use plex_butler_raw::ClientInfo as _;
        let Some(token) = self.shared.raw.inner().get(&X_PLEX_TOKEN) else {
            return error;
        };
        let token = String::from_utf8_lossy(token.as_bytes());
        match &mut error {
            Error::Server { body, location, .. } => {
                redact(body, &token);
                if let Some(location) = location {
                    redact(location, &token);
                }
            }
            Error::Unauthorized {
                server_message: Some(message),
                ..
            } => {
                redact(message, &token);
            }
            Error::Decode {
                excerpt, source, ..
            } => {
                redact(excerpt, &token);
                let mut cause = source.to_string();
                if redact(&mut cause, &token) {
                    *source = cause.into();
                }
            }
            _ => {}
        }
        error
    }

    /// Runs a raw call under the attempt's deadline. Not an `async fn`:
    /// the call's future is stored once, inside the deadline's.
    fn timed<F: Future>(
        &self,
        deadline: Instant,
        call: F,
    ) -> impl Future<Output = Result<F::Output, Error>> {
        within(deadline, call).map(move |result| {
            result.map_err(|_| Error::Timeout {
                url: self.shared.base_url.clone(),
                timeout: Some(self.shared.timeout),
                source: None,
            })
        })
    }

    fn transport_error(&self, error: reqwest::Error) -> Error {
        let url = self.shared.base_url.clone();
        if error.is_builder() {
            Error::InvalidConfig {
                message: "the request could not be made".to_owned(),
                source: Some(Box::new(error)),
            }
        } else if error.is_connect() {
            Error::Connect { url, source: error }
        } else if error.is_timeout() {
            Error::Timeout {
                url,
                timeout: None,
                source: Some(error),
            }
        } else {
            Error::ConnectionLost { url, source: error }
        }
    }

    fn status_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        match status {
            401 | 403 | 498 => Error::Unauthorized {
                status,
                token_sent: self.shared.token_sent,
                server_message: server_words(body),
            },
            _ => Error::Server {
                status,
                body: excerpt(body),
                retry_after: headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| crate::retry::parse_retry_after(v, SystemTime::now())),
                location: if (300..400).contains(&status) {
                    headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                } else {
                    None
                },
            },
        }
    }
}

/// An answer that parsed but does not hold what the spec promises, and the
/// part of it that shows where.
trait DecodeProblem: std::error::Error + Send + Sync + 'static {
    fn excerpt(&self) -> &str;
}

impl DecodeProblem for crate::task::TaskDecodeError {
    fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

impl DecodeProblem for crate::activity::ActivityDecodeError {
    fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

/// Refuses activity ids that would not reach `/activities/{id}` as one
/// path segment.
fn check_activity_id(uuid: &str) -> Result<(), Error> {
    let reason = if uuid.trim().is_empty() {
        "an activity id cannot be empty"
    } else if uuid == "." || uuid == ".." {
        "`.` and `..` are not activity ids (they would change the request's path)"
    } else if uuid.contains('\\') {
        "an activity id cannot contain `\\` (it would change the request's path)"
    } else {
        return Ok(());
    };
    Err(Error::InvalidActivityId {
        id: excerpt(uuid.as_bytes()),
        reason,
    })
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads up to `limit` bytes of a body, stopping early at its end, an
/// error or the deadline: for excerpts, what came is enough.
async fn read_limited<S, B>(mut body: S, limit: usize, deadline: Instant) -> Vec<u8>
where
    S: futures_util::Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut read = Vec::new();
    while read.len() < limit {
        match within(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => {
                let chunk = chunk.as_ref();
                let room = limit - read.len();
                read.extend_from_slice(chunk.get(..room).unwrap_or(chunk));
            }
            _ => break,
        }
    }
    read
}

/// Reads a body that carries nothing to its end, so that the connection
/// goes back to the pool; a long one is dropped (closing the connection).
async fn drain<S, B>(body: S, deadline: Instant)
where
    S: futures_util::Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    read_limited(body, DRAIN_LIMIT, deadline).await;
}

/// The server's own words in an error body: the first `errors[].message`
/// of a JSON body (plex.tv's format), or the `<title>` of an HTML page.
fn server_words(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let message = value
            .pointer("/errors/0/message")
            .and_then(serde_json::Value::as_str)?;
        return Some(excerpt(message.as_bytes()));
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower.get(start..)?.find("</title>")?;
    let title = text.get(start..end)?.trim();
    (!title.is_empty()).then(|| excerpt(title.as_bytes()))
}
