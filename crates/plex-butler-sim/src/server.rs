//! The HTTP side: accepting connections, routing, authentication, faults.

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::butler::{Butler, CancelOutcome, StartOutcome, StopOutcome};
use crate::clock::Clock;
use crate::events::{self, Filter, Frames, Hub};
use crate::fault::{Faults, SwallowedChange, Verdict};
use crate::render::{self, Rendered};
use crate::request::{
    MAX_HEAD_LEN, Route, api_version, given_token, head_len, is_client_parameter, is_read,
    query_pairs, redacted_target, route, wants_json,
};
use crate::settings::{SettingError, Settings};

/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const XML: HeaderValue = HeaderValue::from_static("text/xml;charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const HTML: HeaderValue = HeaderValue::from_static("text/html");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
/// What a proxy that wants its own sign-in answers, with 200.
const LOGIN_PAGE: &[u8] = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\
<body><form method=\"post\" action=\"/login\"><input name=\"user\">\
<input name=\"password\" type=\"password\"></form></body></html>\n";
const GARBAGE: &[u8] = b"\x00\x1f\x8b\x08\xff\xfe<<not {xml] nor \"json\n";

/// The access token, kept out of every `Debug`.
pub(crate) struct Token(String);

impl Token {
    pub(crate) fn new(token: String) -> Self {
        Self(token)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time in the token's content (its length may show).
    fn matches(&self, given: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(given).into()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A page in both forms: XML, JSON.
pub(crate) type Page = (Bytes, Bytes);

/// The answers that change only with the settings, rendered ahead: reading
/// `GET /butler` takes a read lock and two reference counts, no rendering.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    /// Rendered again when a task's switch changes.
    pub butler: RwLock<Page>,
    /// Rendered again when `FriendlyName` changes.
    pub root: RwLock<Page>,
    pub identity: Page,
}

impl Pages {
    pub(crate) fn pair(rendered: Rendered) -> Page {
        (Bytes::from(rendered.xml), Bytes::from(rendered.json))
    }
}

/// The name `GET /` gives when `FriendlyName` is blank (a real server
/// gives its computer's name).
pub(crate) const HOST_NAME: &str = "plex-butler-sim";

/// Answers with a pre-rendered page. A writer never leaves one
/// half-written, so a poisoned lock still holds a whole page.
fn pick_from(json: bool, page: &RwLock<Page>) -> Response<SimBody> {
    pick(json, &page.read().unwrap_or_else(PoisonError::into_inner))
}

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Locked before `settings` by whoever needs both.
    pub butler: Mutex<Butler>,
    /// The settings, which govern the Butler's window and switches.
    pub settings: Mutex<Settings>,
    pub machine_identifier: String,
    /// How many playbacks `GET /status/sessions` lists.
    pub sessions: AtomicU32,
    pub clock: Clock,
    pub token: Option<Token>,
    pub faults: Mutex<Faults>,
    /// Whether any fault is planned: lets the common case skip a lock.
    pub faults_on: AtomicBool,
    pub pages: Pages,
    /// How far the clock moves before each `GET /activities`, if at all.
    pub activities_step: Option<Duration>,
    /// Whether a right token is answered 498, "token expired".
    pub token_expired: AtomicBool,
    /// The event stream's broadcast.
    pub events: Hub,
    /// How many requests arrived (each counted once, faults included).
    pub requests: AtomicU64,
}

impl Shared {
    /// Locks the Butler, then reads the clock: requests apply in the order
    /// of their times, so no request acts on a state from its future.
    pub(crate) fn butler_now(&self) -> (MutexGuard<'_, Butler>, DateTime<Utc>) {
        // Butler operations do not panic half-way; if one ever did, its
        // state is still a valid state.
        let butler = self.butler.lock().unwrap_or_else(PoisonError::into_inner);
        (butler, self.clock.now())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        // Settings change all at once or not at all: never half-written.
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `PUT /:/prefs`: every change or none, then what they govern.
    /// Holds the Butler's lock throughout, so that no request sees the new
    /// settings with the old window, switches or pages.
    pub(crate) fn change_settings<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), SettingError> {
        let (mut butler, now) = self.butler_now();
        // Runs that were due to start or end before the change do so under
        // the old settings.
        butler.advance(now);
        let mut settings = self.settings();
        settings.set_all(changes)?;
        govern(
            &mut butler,
            &settings,
            &self.pages,
            &self.machine_identifier,
        );
        Ok(())
    }
}

/// Makes the Butler and the pages say what the settings say: the window,
/// each task's `enabled` (from its `ButlerTask<Name>` switch; tasks without
/// one keep theirs), the server's name.
pub(crate) fn govern(
    butler: &mut Butler,
    settings: &Settings,
    pages: &Pages,
    machine_identifier: &str,
) {
    let (start, end) = settings.window();
    butler.set_window(start, end);
    let switched: Vec<(String, bool)> = butler
        .specs()
        .filter_map(|task| Some((task.name.clone(), settings.switch(&task.name)?)))
        .collect();
    for (name, on) in switched {
        butler.set_enabled(&name, on);
    }
    let butler_page = Pages::pair(render::butler_tasks(butler.specs()));
    let name = match settings.friendly_name() {
        "" => HOST_NAME,
        name => name,
    };
    let root_page = Pages::pair(render::root(machine_identifier, name));
    *pages.butler.write().unwrap_or_else(PoisonError::into_inner) = butler_page;
    *pages.root.write().unwrap_or_else(PoisonError::into_inner) = root_page;
}

/// A fault that closes the connection without an answer.
#[derive(Debug)]
pub(crate) struct DroppedConnection;

impl fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by the fault plan")
    }
}

impl std::error::Error for DroppedConnection {}

/// A response body: whole, or cut short by a fault.
#[derive(Debug)]
pub(crate) enum SimBody {
    Full(Option<Bytes>),
    /// Sends the part, waits for it to leave, then fails, so the connection
    /// closes before the promised `Content-Length`.
    Truncated {
        part: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    /// An event stream: open until it ends.
    Events(Frames),
}

/// How long a truncated body waits for its part to be written before it
/// breaks the connection.
const TRUNCATION_PAUSE: Duration = Duration::from_millis(20);

impl Body for SimBody {
    type Data = Bytes;
    type Error = DroppedConnection;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            SimBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            SimBody::Truncated { part, pause } => {
                if let Some(part) = part.take() {
                    return Poll::Ready(Some(Ok(Frame::data(part))));
                }
                // Failing at once would let hyper discard the part unsent.
                let pause =
                    pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(TRUNCATION_PAUSE)));
                pause
                    .as_mut()
                    .poll(cx)
                    .map(|()| Some(Err(DroppedConnection)))
            }
            SimBody::Events(frames) => frames
                .poll_next(cx)
                .map(|frame| frame.map(|f| Ok(Frame::data(f)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            SimBody::Truncated { .. } | SimBody::Events(_) => SizeHint::default(),
        }
    }
}

fn respond(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Response<SimBody> {
    let mut response = Response::new(SimBody::Full(Some(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert("x-plex-protocol", HeaderValue::from_static("1.0"));
    response
}

/// What newer servers answer for a token whose days are over.
const TOKEN_EXPIRED: StatusCode = match StatusCode::from_u16(498) {
    Ok(status) => status,
    Err(_) => StatusCode::UNAUTHORIZED,
};

fn page(status: StatusCode) -> Response<SimBody> {
    let reason = match status.as_u16() {
        498 => "Token Expired",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let body = render::error_page(status.as_u16(), reason);
    respond(status, HTML, Bytes::from(body))
}

/// A success with an empty body, as PMS answers start and stop.
fn done(status: StatusCode) -> Response<SimBody> {
    respond(status, HTML, Bytes::new())
}

fn not_allowed(allow: &'static str) -> Response<SimBody> {
    let mut response = page(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn pick(json: bool, (xml_body, json_body): &Page) -> Response<SimBody> {
    if json {
        respond(StatusCode::OK, JSON, json_body.clone())
    } else {
        respond(StatusCode::OK, XML, xml_body.clone())
    }
}

/// `GET /:/eventsource/notifications`: 200 and a stream kept open.
fn event_stream(shared: &Arc<Shared>, req: &Request<Incoming>) -> Response<SimBody> {
    let Ok(filter) = Filter::from_query(req.uri().query()) else {
        return page(StatusCode::BAD_REQUEST);
    };
    let faults = if shared.faults_on.load(Ordering::Relaxed) {
        shared.faults().stream_faults()
    } else {
        events::StreamFaults::default()
    };
    let mut response = Response::new(SimBody::Events(events::open(shared, filter, faults)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, EVENT_STREAM);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-plex-protocol", HeaderValue::from_static("1.0"));
    response
}

/// Answers one request (faults aside).
fn answer(shared: &Arc<Shared>, req: &Request<Incoming>) -> Response<SimBody> {
    // hyper stops buffering a head past the limit, but the read that
    // crosses it may carry the head up to about twice as far.
    if head_len(req) > MAX_HEAD_LEN {
        return page(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let routed = route(req.uri().path());
    // Like PMS, `/identity` answers without a token (clients use it to find
    // out what is listening before they sign in); everything else, even a
    // path that does not exist, needs one.
    if !matches!(routed, Ok(Route::Identity))
        && let Some(token) = &shared.token
        && !given_token(req).is_some_and(|given| token.matches(&given))
    {
        return page(StatusCode::UNAUTHORIZED);
    }
    if !matches!(routed, Ok(Route::Identity)) && shared.token_expired.load(Ordering::Relaxed) {
        return page(TOKEN_EXPIRED);
    }
    let route = match routed {
        Ok(route) => route,
        Err(status) => return page(status),
    };
    let method = req.method();
    let json = wants_json(req.headers());
    match route {
        Route::Root if is_read(method) => pick_from(json, &shared.pages.root),
        Route::Root => not_allowed("GET, HEAD"),
        Route::Identity if is_read(method) => pick(json, &shared.pages.identity),
        Route::Identity => not_allowed("GET, HEAD"),
        Route::Butler if is_read(method) => pick_from(json, &shared.pages.butler),
        Route::Butler if method == Method::POST => {
            let (mut butler, now) = shared.butler_now();
            butler.start_all(now);
            done(StatusCode::OK)
        }
        Route::Butler if method == Method::DELETE => {
            let (mut butler, now) = shared.butler_now();
            butler.stop_all(now);
            done(StatusCode::OK)
        }
        Route::Butler => not_allowed("GET, HEAD, POST, DELETE"),
        Route::ButlerTask(task) if method == Method::POST => {
            let (mut butler, now) = shared.butler_now();
            match butler.start(&task, now) {
                StartOutcome::Started => done(StatusCode::OK),
                StartOutcome::AlreadyRunning => done(StatusCode::ACCEPTED),
                StartOutcome::UnknownTask => page(StatusCode::NOT_FOUND),
            }
        }
        Route::ButlerTask(task) if method == Method::DELETE => {
            let (mut butler, now) = shared.butler_now();
            match butler.stop(&task, now) {
                StopOutcome::Stopped | StopOutcome::Unscheduled => done(StatusCode::OK),
                StopOutcome::NotRunning | StopOutcome::UnknownTask => page(StatusCode::NOT_FOUND),
            }
        }
        Route::ButlerTask(_) => not_allowed("POST, DELETE"),
        Route::Activities if is_read(method) => {
            if let Some(step) = shared.activities_step {
                shared.clock.advance(step);
            }
            // Render outside the lock.
            let activities = {
                let (mut butler, now) = shared.butler_now();
                butler.activities(now)
            };
            fresh(json, render::activities(&activities))
        }
        Route::Activities => not_allowed("GET, HEAD"),
        Route::Activity(id) if method == Method::DELETE => {
            let (mut butler, now) = shared.butler_now();
            match butler.cancel_activity(&id, now) {
                CancelOutcome::Cancelled => done(StatusCode::OK),
                CancelOutcome::NotCancellable => page(StatusCode::BAD_REQUEST),
                CancelOutcome::UnknownActivity => page(StatusCode::NOT_FOUND),
            }
        }
        Route::Activity(_) => not_allowed("DELETE"),
        Route::Prefs if is_read(method) => {
            let settings = shared.settings().clone();
            fresh(json, render::settings(settings.entries()))
        }
        Route::Prefs if method == Method::PUT => put_settings(shared, req),
        Route::Prefs => not_allowed("GET, HEAD, PUT"),
        Route::Pref if is_read(method) => {
            let Ok(query) = query_pairs(req.uri().query()) else {
                return page(StatusCode::BAD_REQUEST);
            };
            let Some((_, id)) = query.iter().find(|(key, _)| key == "id") else {
                return page(StatusCode::BAD_REQUEST);
            };
            let settings = shared.settings();
            match settings.entry(id) {
                Some(entry) => fresh(json, render::settings([entry])),
                None => page(StatusCode::NOT_FOUND),
            }
        }
        Route::Pref => not_allowed("GET, HEAD"),
        Route::Sessions if is_read(method) => fresh(
            json,
            render::sessions(shared.sessions.load(Ordering::Relaxed)),
        ),
        Route::Sessions => not_allowed("GET, HEAD"),
        Route::Events if !shared.events.enabled => page(StatusCode::NOT_FOUND),
        Route::Events if is_read(method) => event_stream(shared, req),
        Route::Events => not_allowed("GET, HEAD"),
    }
}

/// A page rendered for this answer.
fn fresh(json: bool, rendered: Rendered) -> Response<SimBody> {
    if json {
        respond(StatusCode::OK, JSON, Bytes::from(rendered.json))
    } else {
        respond(StatusCode::OK, XML, Bytes::from(rendered.xml))
    }
}

/// `PUT /:/prefs?ID=VALUE&...`: 200 when every setting is known and every
/// value fits, else 400 and nothing changes.
fn put_settings(shared: &Shared, req: &Request<Incoming>) -> Response<SimBody> {
    let Ok(query) = query_pairs(req.uri().query()) else {
        return page(StatusCode::BAD_REQUEST);
    };
    let changes = query
        .iter()
        .filter(|(key, _)| !is_client_parameter(key))
        .map(|(key, value)| (&**key, &**value));
    if shared.faults_on.load(Ordering::Relaxed) {
        match shared.faults().swallow_settings_change() {
            Some(SwallowedChange::Ignored) => return done(StatusCode::OK),
            Some(SwallowedChange::LoginPage) => {
                return respond(StatusCode::OK, HTML, Bytes::from_static(LOGIN_PAGE));
            }
            None => {}
        }
    }
    match shared.change_settings(changes) {
        Ok(()) => {
            if shared.faults_on.load(Ordering::Relaxed) {
                shared.faults().settings_changed();
            }
            done(StatusCode::OK)
        }
        Err(error) => {
            tracing::debug!(%error, "settings refused");
            page(StatusCode::BAD_REQUEST)
        }
    }
}

/// Spoils a finished answer as the verdict says.
fn spoil(mut response: Response<SimBody>, verdict: &Verdict) -> Response<SimBody> {
    if verdict.garbage_body {
        let garbage = Bytes::from_static(GARBAGE);
        *response.body_mut() = SimBody::Full(Some(garbage));
    } else if verdict.truncate_body
        && let SimBody::Full(Some(body)) = response.body_mut()
        && !body.is_empty()
    {
        let full = body.len();
        let part = body.slice(..full / 2);
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
        *response.body_mut() = SimBody::Truncated {
            part: Some(part),
            pause: None,
        };
    }
    response
}

/// Answers one request, faults included.
async fn handle(
    shared: &Arc<Shared>,
    req: &Request<Incoming>,
) -> Result<Response<SimBody>, DroppedConnection> {
    if !shared.faults_on.load(Ordering::Relaxed) {
        return Ok(answer(shared, req));
    }
    let verdict = shared.faults().judge();
    if !verdict.latency.is_zero() {
        tokio::time::sleep(verdict.latency).await;
    }
    if verdict.drop_connection {
        return Err(DroppedConnection);
    }
    if let Some((status, retry_after)) = verdict.status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = page(status);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return Ok(response);
    }
    Ok(spoil(answer(shared, req), &verdict))
}

/// Answers and logs one request. The log line names the method, the path
/// (any token in the query blanked out), the status and the time taken.
async fn serve_request(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, DroppedConnection> {
    let started = Instant::now();
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let result = handle(&shared, &req).await;
    if !is_read(req.method()) {
        // It may have changed the Butler: the event streams tell at once.
        shared.events.poke();
    }
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(DroppedConnection) => 0,
    };
    tracing::info!(
        method = %req.method(),
        path = %redacted_target(req.uri().path(), req.uri().query()),
        // The API version the client says it speaks; servers that get none
        // assume the oldest.
        api_version = %api_version(&req),
        status,
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    result
}

/// Accepts connections until `shutdown` turns true, then lets requests in
/// flight finish (for a while) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .max_buf_size(MAX_HEAD_LEN)
        .max_headers(100);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Small answers should leave at once.
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let service = service_fn(move |req| serve_request(shared.clone(), req));
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let mut shutdown = shutdown.clone();
                    connections.spawn(async move {
                        tokio::pin!(conn);
                        tokio::select! {
                            _ = conn.as_mut() => {}
                            _ = shutdown.changed() => {
                                conn.as_mut().graceful_shutdown();
                                let _ = conn.await;
                            }
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    // Whatever is still running after the grace period is aborted when the
    // set drops.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, drained).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_do_not_show_in_debug_output() {
        let token = Token::new("s3cret".into());
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(token.matches(b"s3cret"));
        assert!(!token.matches(b"s3cre"));
    }
}
