//! The HTTP side: accepting connections, routing, authentication, faults.

use std::borrow::Cow;
use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
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
use crate::fault::{Faults, Verdict};
use crate::render::{self, Rendered};

/// Longest path (percent-encoded) the server reads; longer gets 414.
const MAX_PATH_LEN: usize = 2048;
/// Longest task name or activity id (decoded) the server reads; longer gets
/// 414.
pub(crate) const MAX_NAME_LEN: usize = 256;
/// Longest request head (request line and headers) the server reads; a
/// larger head gets 431.
const MAX_HEAD_LEN: usize = 64 * 1024;
/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const XML: HeaderValue = HeaderValue::from_static("text/xml;charset=utf-8");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const HTML: HeaderValue = HeaderValue::from_static("text/html");
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

/// The answers that never change, rendered once.
#[derive(Debug)]
pub(crate) struct Pages {
    pub butler: (Bytes, Bytes),
    pub root: (Bytes, Bytes),
    pub identity: (Bytes, Bytes),
}

impl Pages {
    pub(crate) fn pair(rendered: Rendered) -> (Bytes, Bytes) {
        (Bytes::from(rendered.xml), Bytes::from(rendered.json))
    }
}

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub butler: Mutex<Butler>,
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
            SimBody::Truncated { .. } => SizeHint::default(),
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

/// Whether the client asked for JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    const JSON_TYPE: &[u8] = b"application/json";
    headers.get_all(header::ACCEPT).iter().any(|value| {
        value
            .as_bytes()
            .windows(JSON_TYPE.len())
            .any(|w| w.eq_ignore_ascii_case(JSON_TYPE))
    })
}

fn pick(json: bool, (xml_body, json_body): &(Bytes, Bytes)) -> Response<SimBody> {
    if json {
        respond(StatusCode::OK, JSON, json_body.clone())
    } else {
        respond(StatusCode::OK, XML, xml_body.clone())
    }
}

/// A `%XX` escape that is not one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadEncoding;

/// Decodes `%XX` escapes; malformed escapes and non-UTF-8 results are
/// refused.
pub(crate) fn percent_decode(s: &str) -> Result<Cow<'_, str>, BadEncoding> {
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| {
                bytes
                    .get(j)
                    .and_then(|&b| char::from(b).to_digit(16))
                    .ok_or(BadEncoding)
            };
            let value = hex(i + 1)? * 16 + hex(i + 2)?;
            out.push(u8::try_from(value).map_err(|_| BadEncoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| BadEncoding)
}

/// The token a request carries: the `X-Plex-Token` header, else the
/// `X-Plex-Token` query parameter.
fn given_token<'a>(req: &'a Request<Incoming>) -> Option<Cow<'a, [u8]>> {
    if let Some(value) = req.headers().get("x-plex-token") {
        return Some(Cow::Borrowed(value.as_bytes()));
    }
    req.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "X-Plex-Token").then(|| match percent_decode(value) {
            Ok(Cow::Borrowed(v)) => Cow::Borrowed(v.as_bytes()),
            Ok(Cow::Owned(v)) => Cow::Owned(v.into_bytes()),
            // Undecodable: compare it as sent; it will not match.
            Err(BadEncoding) => Cow::Borrowed(value.as_bytes()),
        })
    })
}

/// The request's path and query for the log, any token value blanked out.
pub(crate) fn redacted_target(path: &str, query: Option<&str>) -> String {
    let Some(query) = query else {
        return path.to_owned();
    };
    let mut out = String::with_capacity(path.len() + query.len() + 1);
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("x-plex-token") => {
                out.push_str(key);
                out.push_str("=<redacted>");
            }
            _ => out.push_str(pair),
        }
    }
    out
}

enum Route<'a> {
    Root,
    Identity,
    Butler,
    ButlerTask(Cow<'a, str>),
    Activities,
    Activity(Cow<'a, str>),
}

/// Maps a path to a route, or to the status of the answer for paths that
/// have none.
fn route(path: &str) -> Result<Route<'_>, StatusCode> {
    if path.len() > MAX_PATH_LEN {
        return Err(StatusCode::URI_TOO_LONG);
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let decode = |s| percent_decode(s).map_err(|BadEncoding| StatusCode::BAD_REQUEST);
    let mut segments = path.split('/');
    let first = decode(segments.next().unwrap_or(""))?;
    let second = segments.next().map(decode).transpose()?;
    if segments.next().is_some() {
        return Err(StatusCode::NOT_FOUND);
    }
    if second.as_ref().is_some_and(|s| s.len() > MAX_NAME_LEN) {
        return Err(StatusCode::URI_TOO_LONG);
    }
    match (&*first, second) {
        ("", None) => Ok(Route::Root),
        ("identity", None) => Ok(Route::Identity),
        ("butler", None) => Ok(Route::Butler),
        ("butler", Some(task)) => Ok(Route::ButlerTask(task)),
        ("activities", None) => Ok(Route::Activities),
        ("activities", Some(id)) => Ok(Route::Activity(id)),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// The length of a request's head as sent, near enough: the request line
/// and every header line.
fn head_len(req: &Request<Incoming>) -> usize {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let line = req.method().as_str().len() + target + " HTTP/1.1\r\n".len() + 1;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    line + headers
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Answers one request (faults aside).
fn answer(shared: &Shared, req: &Request<Incoming>) -> Response<SimBody> {
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
        Route::Root if is_read(method) => pick(json, &shared.pages.root),
        Route::Root => not_allowed("GET, HEAD"),
        Route::Identity if is_read(method) => pick(json, &shared.pages.identity),
        Route::Identity => not_allowed("GET, HEAD"),
        Route::Butler if is_read(method) => pick(json, &shared.pages.butler),
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
            let rendered = render::activities(&activities);
            let body = if json { rendered.json } else { rendered.xml };
            respond(
                StatusCode::OK,
                if json { JSON } else { XML },
                Bytes::from(body),
            )
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
    shared: &Shared,
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

/// The `X-Plex-Pms-Api-Version` a request carries, `-` for none, as text
/// safe for a log line.
fn api_version(req: &Request<Incoming>) -> String {
    match req.headers().get("x-plex-pms-api-version") {
        None => "-".to_owned(),
        Some(value) => String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(32)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
    }
}

/// Answers and logs one request. The log line names the method, the path
/// (any token in the query blanked out), the status and the time taken.
async fn serve_request(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, DroppedConnection> {
    let started = Instant::now();
    let result = handle(&shared, &req).await;
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
    fn percent_decoding_reads_escapes() {
        assert_eq!(
            percent_decode("Backup%20Database").as_deref(),
            Ok("Backup Database")
        );
        assert_eq!(percent_decode("plain").as_deref(), Ok("plain"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Ok("é"));
    }

    #[test]
    fn percent_decoding_refuses_malformed_escapes() {
        for bad in ["%", "%4", "%zz", "a%g0", "%ff%fe"] {
            assert_eq!(percent_decode(bad), Err(BadEncoding), "{bad:?}");
        }
    }

    #[test]
    fn the_log_never_shows_a_token_from_the_query() {
        let target = redacted_target(
            "/butler",
            Some("a=1&X-Plex-Token=s3cret&x-plex-token=s3cret"),
        );
        assert!(!target.contains("s3cret"), "{target}");
        assert_eq!(
            target,
            "/butler?a=1&X-Plex-Token=<redacted>&x-plex-token=<redacted>"
        );
    }

    #[test]
    fn tokens_do_not_show_in_debug_output() {
        let token = Token::new("s3cret".into());
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(token.matches(b"s3cret"));
        assert!(!token.matches(b"s3cre"));
    }
}
