//! The server's event stream, against a scripted server on a real socket
//! that serves `/:/eventsource/notifications` and `/activities` side by
//! side: what the stream decodes, how it reconnects and reconciles, and
//! how the waits use it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::TOKEN;
use plex_butler::{
    ActivityEvent, ActivityEventKind, Client, Error, Event, EventOptions, Events, RetryPolicy,
    WaitMethod, WaitOptions,
};

/// What one connection to the stream does, in order.
#[derive(Clone)]
enum Step {
    /// Sends these bytes.
    Send(String),
    /// Waits.
    Pause(Duration),
    /// From now on, `/activities` lists these (JSON array entries).
    SetActivities(&'static str),
    /// Notes the time (for [`EventServer::marks`]).
    Mark,
    /// Sends `data: ` then bytes without a line end, up to 16 MiB.
    Endless,
    /// Holds the stream open, silent, until the client closes it.
    Hold,
}

/// A request: its request line, its headers (lower-case names), and when
/// it came.
type Seen = (String, Vec<(String, String)>, Instant);

#[derive(Default)]
struct State {
    /// Each connection's steps; past the end, `repeat` (or holding the
    /// stream open, silent, when there is none).
    connections: VecDeque<Vec<Step>>,
    repeat: Option<Vec<Step>>,
    /// The status of the stream's answer (200 by default).
    status: Option<u16>,
    /// The statuses of the first connections, before `status` applies.
    statuses: VecDeque<u16>,
    /// The activity entries `/activities` lists.
    activities: &'static str,
    requests: Vec<Seen>,
    marks: Vec<Instant>,
    /// The bytes an [`Step::Endless`] line got out before the client let
    /// go.
    endless_sent: usize,
    /// How many held streams the client closed.
    closed: usize,
}

struct EventServer {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EventServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventServer {
    async fn start(
        activities: &'static str,
        connections: impl IntoIterator<Item = Vec<Step>>,
    ) -> Self {
        Self::with(activities, connections, None, None).await
    }

    async fn with(
        activities: &'static str,
        connections: impl IntoIterator<Item = Vec<Step>>,
        repeat: Option<Vec<Step>>,
        status: Option<u16>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State {
            connections: connections.into_iter().collect(),
            repeat,
            status,
            activities,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, Arc::clone(&shared)));
            }
        });
        Self { addr, state, task }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stream_requests(&self) -> Vec<Seen> {
        let state = self.state.lock().expect("state");
        state
            .requests
            .iter()
            .filter(|(line, _, _)| line.contains("/:/eventsource/"))
            .cloned()
            .collect()
    }

    fn marks(&self) -> Vec<Instant> {
        self.state.lock().expect("state").marks.clone()
    }

    fn endless_sent(&self) -> usize {
        self.state.lock().expect("state").endless_sent
    }
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
    state
        .lock()
        .expect("state")
        .requests
        .push((line.clone(), headers, Instant::now()));
    if target.starts_with("/activities") {
        let entries = state.lock().expect("state").activities;
        let body = format!(r#"{{"MediaContainer":{{"size":1,"Activity":[{entries}]}}}}"#);
        let _ = socket
            .write_all(answer(200, "application/json", &body).as_bytes())
            .await;
        return;
    }
    if target.starts_with("/butler/") {
        let _ = socket
            .write_all(answer(200, "text/html", "").as_bytes())
            .await;
        return;
    }
    if !target.starts_with("/:/eventsource/notifications") {
        let _ = socket
            .write_all(answer(404, "text/html", "").as_bytes())
            .await;
        return;
    }
    let (status, steps) = {
        let mut state = state.lock().expect("state");
        let steps = state
            .connections
            .pop_front()
            .or_else(|| state.repeat.clone());
        let status = state.statuses.pop_front().or(state.status);
        (status.unwrap_or(200), steps)
    };
    if status != 200 {
        let body = "<html><head><title>Refused</title></head></html>";
        let _ = socket
            .write_all(answer(status, "text/html", body).as_bytes())
            .await;
        return;
    }
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let steps = steps.unwrap_or_else(|| vec![Step::Hold]);
    for step in steps {
        match step {
            Step::Send(text) => {
                if socket.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
            }
            Step::Pause(wait) => tokio::time::sleep(wait).await,
            Step::SetActivities(entries) => state.lock().expect("state").activities = entries,
            Step::Mark => state.lock().expect("state").marks.push(Instant::now()),
            Step::Hold => {
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                state.lock().expect("state").closed += 1;
                return;
            }
            Step::Endless => {
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0;
                if socket.write_all(b"event: activity\ndata: ").await.is_err() {
                    return;
                }
                while sent < 16 * 1024 * 1024 {
                    if socket.write_all(&chunk).await.is_err() {
                        break;
                    }
                    sent += chunk.len();
                    state.lock().expect("state").endless_sent = sent;
                }
                return;
            }
        }
    }
}

fn answer(status: u16, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

const BUSY: &str = r#"{"uuid":"A","type":"butler","cancellable":false,"userID":1,"title":"Butler tasks","subtitle":"","progress":10}"#;
const IDLE: &str = "";

/// An `activity` event.
fn activity(kind: &str, uuid: &str, progress: u8) -> Step {
    Step::Send(format!(
        "event: activity\ndata: {{\"ActivityNotification\":{{\"event\":\"{kind}\",\"uuid\":\"{uuid}\",\"Activity\":{{\"uuid\":\"{uuid}\",\"type\":\"butler\",\"cancellable\":false,\"userID\":1,\"title\":\"Butler tasks\",\"subtitle\":\"Step {progress}\",\"progress\":{progress}}}}}}}\n\n"
    ))
}

fn ping() -> Step {
    Step::Send("event: ping\ndata: {}\n\n".to_owned())
}

fn client(server: &EventServer) -> Client {
    Client::builder(server.base_url())
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

/// Options for tests: quick reconnects.
fn options() -> EventOptions {
    EventOptions::new()
        .reconnect_delay(Duration::from_millis(10))
        .max_reconnect_delay(Duration::from_millis(200))
}

/// The next item, within 5 s.
async fn next(events: &mut Events) -> Result<Event, Error> {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream goes on")
}

/// The next activity change, passing over the rest.
async fn next_change(events: &mut Events) -> ActivityEvent {
    loop {
        if let Event::Activity(change) = next(events).await.expect("no error") {
            return change;
        }
    }
}

/// Events up to the next `Connected`, which is returned last.
async fn until_connected(events: &mut Events) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let event = next(events).await.expect("no error");
        let done = matches!(event, Event::Connected { .. });
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn summary(change: &ActivityEvent) -> (ActivityEventKind, &str, bool, bool) {
    (
        change.kind.clone(),
        change.uuid.as_str(),
        change.live,
        change.known,
    )
}

#[tokio::test]
async fn events_are_decoded_by_kind_with_the_activity_as_listed() {
    let server = EventServer::start(
        IDLE,
        [vec![
            activity("started", "B", 0),
            activity("updated", "B", 50),
            ping(),
            Step::Send("event: playing\ndata: {\"PlaySessionStateNotification\":[{\"state\":\"paused\"}]}\n\n".to_owned()),
            activity("paused", "B", 60),
            activity("ended", "B", 100),
        ]],
    )
    .await;
    let mut events = client(&server).events(options().all_events(true));
    assert_eq!(
        until_connected(&mut events).await,
        [Event::Connected { reconnects: 0 }]
    );
    let started = next_change(&mut events).await;
    assert_eq!(
        summary(&started),
        (ActivityEventKind::Started, "B", true, false)
    );
    let activity = started.activity.as_ref().expect("the activity");
    assert!(started.is_butler());
    assert_eq!((activity.progress, activity.user_id), (Some(0), Some(1)));
    let updated = next_change(&mut events).await;
    assert_eq!(
        summary(&updated),
        (ActivityEventKind::Updated, "B", true, true)
    );
    assert_eq!(updated.activity.and_then(|a| a.progress), Some(50));
    assert_eq!(next(&mut events).await.expect("ping"), Event::Ping);
    match next(&mut events).await.expect("other") {
        Event::Other { name, data } => {
            assert_eq!(name, "playing");
            assert_eq!(data["PlaySessionStateNotification"][0]["state"], "paused");
        }
        other => panic!("{other:?}"),
    }
    let odd = next_change(&mut events).await;
    assert_eq!(odd.kind, ActivityEventKind::Other("paused".to_owned()));
    let ended = next_change(&mut events).await;
    assert_eq!(summary(&ended), (ActivityEventKind::Ended, "B", true, true));
}

#[tokio::test]
async fn the_token_goes_in_the_header_never_the_url() {
    let server = EventServer::start(IDLE, [vec![ping()]]).await;
    let mut events = client(&server).events(options());
    until_connected(&mut events).await;
    let requests = server.stream_requests();
    let (line, headers, _) = &requests[0];
    assert!(!line.contains(TOKEN), "{line}");
    assert!(!line.to_ascii_lowercase().contains("token"), "{line}");
    assert!(line.contains("filters=activity"), "{line}");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("x-plex-token"), Some(TOKEN));
    assert_eq!(header("accept"), Some("text/event-stream"));
    assert!(header("x-plex-client-identifier").is_some());
}

#[tokio::test]
async fn a_server_without_events_is_events_unsupported() {
    let server = EventServer::with(IDLE, [], None, Some(404)).await;
    let mut events = client(&server).events(options());
    let error = next(&mut events).await.expect_err("404");
    assert!(matches!(error, Error::EventsUnsupported), "{error:?}");
    assert_eq!(error.status(), Some(404));
    assert!(events.next().await.is_none(), "the error is the last item");
}

#[tokio::test]
async fn unauthorized_ends_the_stream() {
    let server = EventServer::with(IDLE, [], None, Some(401)).await;
    let mut events = client(&server).events(options());
    let error = next(&mut events).await.expect_err("401");
    assert!(
        matches!(error, Error::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    assert!(!format!("{error:?}").contains(TOKEN));
    assert!(events.next().await.is_none());
    assert_eq!(server.stream_requests().len(), 1, "not retried");
}

#[tokio::test]
async fn silence_for_three_ping_intervals_reconnects() {
    // The first connection says nothing at all; the second pings.
    let server = EventServer::start(IDLE, [vec![Step::Hold], vec![ping()]]).await;
    let mut events = client(&server).events(options().ping_interval(Duration::from_millis(100)));
    until_connected(&mut events).await;
    let started = Instant::now();
    let seen = until_connected(&mut events).await;
    let waited = started.elapsed();
    assert_eq!(seen.last(), Some(&Event::Connected { reconnects: 1 }));
    assert!(waited >= Duration::from_millis(280), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[tokio::test]
async fn a_dropped_stream_reconciles_the_end_it_missed() {
    let server = EventServer::start(
        BUSY,
        [
            // The work ends while the stream is down.
            vec![
                Step::Pause(Duration::from_millis(200)),
                activity("updated", "A", 20),
                Step::SetActivities(IDLE),
            ],
            vec![ping()],
        ],
    )
    .await;
    let mut events = client(&server).events(options());
    let first = until_connected(&mut events).await;
    let Event::Activity(listed) = &first[0] else {
        panic!("{first:?}")
    };
    assert_eq!(
        summary(listed),
        (ActivityEventKind::Started, "A", false, false)
    );
    let updated = next_change(&mut events).await;
    assert_eq!(
        summary(&updated),
        (ActivityEventKind::Updated, "A", true, true)
    );
    let ended = next_change(&mut events).await;
    assert_eq!(
        summary(&ended),
        (ActivityEventKind::Ended, "A", false, true)
    );
    assert_eq!(
        ended.activity.and_then(|a| a.progress),
        Some(20),
        "as last known"
    );
    assert_eq!(
        next(&mut events).await.expect("connected"),
        Event::Connected { reconnects: 1 }
    );
}

#[tokio::test]
async fn data_that_is_not_json_or_not_an_activity_is_skipped() {
    let server = EventServer::start(
        IDLE,
        [vec![
            Step::Send("event: activity\ndata: <html>not json\n\n".to_owned()),
            Step::Send("event: activity\ndata: {\"Other\":1}\n\n".to_owned()),
            Step::Send("event: activity\ndata: {\"ActivityNotification\":{\"event\":\"ended\",\"uuid\":\" \"}}\n\n".to_owned()),
            Step::Send("\u{1}\u{2}garbage line\n\n".to_owned()),
            activity("ended", "C", 100),
        ]],
    )
    .await;
    let mut events = client(&server).events(options());
    until_connected(&mut events).await;
    let change = next(&mut events).await.expect("goes on");
    let Event::Activity(change) = change else {
        panic!("{change:?}")
    };
    assert_eq!(
        summary(&change),
        (ActivityEventKind::Ended, "C", true, false)
    );
    assert_eq!(server.stream_requests().len(), 1, "no reconnect");
}

#[tokio::test]
async fn an_endless_line_is_cut_off_and_the_stream_reconnects() {
    let server = EventServer::start(IDLE, [vec![Step::Endless], vec![ping()]]).await;
    let mut events = client(&server).events(options().max_event_bytes(64 * 1024));
    until_connected(&mut events).await;
    let started = Instant::now();
    let seen = until_connected(&mut events).await;
    assert_eq!(seen.last(), Some(&Event::Connected { reconnects: 1 }));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The client let go after about its limit (plus what the sockets'
    // buffers hold), not after the 16 MiB the server had to send.
    let sent = server.endless_sent();
    assert!(sent < 8 * 1024 * 1024, "{sent} bytes went out");
}

#[tokio::test]
async fn an_end_of_an_activity_never_started_is_passed_on_marked() {
    let server = EventServer::start(IDLE, [vec![activity("ended", "Z", 100)]]).await;
    let mut events = client(&server).events(options());
    until_connected(&mut events).await;
    let ended = next_change(&mut events).await;
    assert_eq!(
        summary(&ended),
        (ActivityEventKind::Ended, "Z", true, false)
    );
    assert!(ended.activity.is_some(), "as the event carried it");
}

#[tokio::test]
async fn a_server_closing_every_100_ms_is_not_hammered_and_no_end_is_lost() {
    let server = EventServer::with(
        BUSY,
        [
            vec![ping(), Step::Pause(Duration::from_millis(100))],
            vec![ping(), Step::Pause(Duration::from_millis(100))],
            // Ends while this connection is up, unseen live.
            vec![
                ping(),
                Step::SetActivities(IDLE),
                Step::Pause(Duration::from_millis(100)),
            ],
        ],
        Some(vec![ping(), Step::Pause(Duration::from_millis(100))]),
        None,
    )
    .await;
    let mut events = client(&server).events(
        EventOptions::new()
            .reconnect_delay(Duration::from_millis(20))
            .max_reconnect_delay(Duration::from_secs(1)),
    );
    let mut ended = None;
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        let Ok(item) = tokio::time::timeout_at(deadline.into(), events.next()).await else {
            break;
        };
        if let Some(Ok(Event::Activity(change))) = item
            && change.kind == ActivityEventKind::Ended
        {
            ended = Some(change);
        }
    }
    drop(events);
    let ended = ended.expect("the end is reported");
    assert_eq!(
        summary(&ended),
        (ActivityEventKind::Ended, "A", false, true)
    );
    let times: Vec<Instant> = server.stream_requests().iter().map(|r| r.2).collect();
    // Unbounded: one connection every ~100 ms, 15 in 1.5 s.
    assert!(times.len() <= 8, "{} connections", times.len());
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 3, "{gaps:?}");
    assert!(
        gaps[gaps.len() - 1] > gaps[0] + Duration::from_millis(50),
        "the waits grow: {gaps:?}"
    );
}

#[tokio::test]
async fn a_wait_ends_within_milliseconds_of_the_ended_event() {
    let server = EventServer::start(
        BUSY,
        [vec![
            ping(),
            Step::Pause(Duration::from_millis(400)),
            Step::SetActivities(IDLE),
            Step::Mark,
            activity("ended", "A", 100),
        ]],
    )
    .await;
    let options = WaitOptions::new()
        .poll_interval(Duration::from_secs(5))
        .max_poll_interval(Duration::from_secs(5))
        .grace(Duration::ZERO)
        .timeout(Duration::from_secs(20));
    let started = Instant::now();
    let report = client(&server)
        .wait_until_idle(options)
        .await
        .expect("ends");
    let done = Instant::now();
    let mark = server.marks()[0];
    let gap = done.saturating_duration_since(mark);
    assert!(gap < Duration::from_millis(500), "{gap:?} after the event");
    // A 5 s poll interval did not decide it.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.method, WaitMethod::Events);
    assert!(report.saw_activity);
}

#[tokio::test]
async fn a_wait_falls_back_to_polling_on_a_server_without_events() {
    let server = EventServer::with(BUSY, [], None, Some(404)).await;
    let state = Arc::clone(&server.state);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        state.lock().expect("state").activities = IDLE;
    });
    let report = client(&server)
        .wait_until_idle(
            WaitOptions::new()
                .poll_interval(Duration::from_millis(20))
                .max_poll_interval(Duration::from_millis(40))
                .grace(Duration::ZERO)
                .timeout(Duration::from_secs(10)),
        )
        .await
        .expect("ends");
    assert_eq!(report.method, WaitMethod::Polling);
    assert!(report.saw_activity);
    assert!(report.polls >= 2, "{report:?}");
}

#[tokio::test]
async fn polling_only_never_opens_the_stream() {
    // Busy at first: a wait that ignored `polling_only` would open the
    // stream (an idle server ends a wait at its first look).
    let server = busy_for_100_ms().await;
    let report = client(&server)
        .wait_until_idle(
            WaitOptions::new()
                .poll_interval(Duration::from_millis(20))
                .max_poll_interval(Duration::from_millis(40))
                .grace(Duration::ZERO)
                .polling_only(true)
                .timeout(Duration::from_secs(10)),
        )
        .await
        .expect("idle");
    assert_eq!(report.method, WaitMethod::Polling);
    assert!(report.saw_activity, "{report:?}");
    assert!(server.stream_requests().is_empty());
}

/// A server whose Butler works for 100 ms, then goes idle (no event
/// says so).
async fn busy_for_100_ms() -> EventServer {
    let server = EventServer::start(BUSY, [vec![ping(), Step::Hold]]).await;
    let state = Arc::clone(&server.state);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        state.lock().expect("state").activities = IDLE;
    });
    server
}

#[tokio::test]
async fn a_wait_does_not_leave_the_stream_open() {
    let server = EventServer::start(IDLE, [vec![ping(), Step::Hold]]).await;
    let report = client(&server)
        .wait_until_idle(WaitOptions::new().grace(Duration::from_millis(300)))
        .await
        .expect("idle");
    assert_eq!(report.method, WaitMethod::Events);
    // The stream closes with the wait: the server sees its socket end.
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.state.lock().expect("state").closed == 0 {
        assert!(Instant::now() < deadline, "the stream is still open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.stream_requests().len(), 1);
}

/// A server whose Butler work ends 300 ms after the stream opens, with
/// an `ended` event.
async fn ending_after_300_ms() -> EventServer {
    EventServer::start(
        BUSY,
        [vec![
            ping(),
            Step::Pause(Duration::from_millis(300)),
            Step::SetActivities(IDLE),
            Step::Mark,
            activity("ended", "A", 100),
        ]],
    )
    .await
}

#[tokio::test]
async fn start_and_wait_ends_on_the_event() {
    let server = ending_after_300_ms().await;
    let options = WaitOptions::new()
        .poll_interval(Duration::from_secs(5))
        .max_poll_interval(Duration::from_secs(5))
        .grace(Duration::ZERO);
    let (_, report) = client(&server)
        .start_and_wait("BackupDatabase", options)
        .await
        .expect("ends");
    let gap = Instant::now().saturating_duration_since(server.marks()[0]);
    assert!(gap < Duration::from_millis(500), "{gap:?} after the event");
    assert_eq!(report.method, WaitMethod::Events);
}

#[tokio::test]
async fn a_plan_step_ends_on_the_event_and_polling_only_plans_open_no_stream() {
    let server = ending_after_300_ms().await;
    let plan = plex_butler::Plan::new(["BackupDatabase"])
        .poll_interval(Duration::from_secs(5))
        .max_poll_interval(Duration::from_secs(5))
        .grace(Duration::ZERO);
    let started = Instant::now();
    let report = client(&server).run_plan(&plan).await.expect("runs");
    assert!(report.succeeded(), "{report:?}");
    let gap = Instant::now().saturating_duration_since(server.marks()[0]);
    assert!(gap < Duration::from_millis(500), "{gap:?} after the event");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let busy = busy_for_100_ms().await;
    let plan = plex_butler::Plan::new(["BackupDatabase"])
        .poll_interval(Duration::from_millis(20))
        .max_poll_interval(Duration::from_millis(40))
        .grace(Duration::ZERO)
        .polling_only(true);
    let report = client(&busy).run_plan(&plan).await.expect("runs");
    assert!(report.succeeded(), "{report:?}");
    assert!(busy.stream_requests().is_empty());
}

#[tokio::test]
async fn server_errors_on_the_stream_are_retried_not_returned() {
    let server = EventServer::start(IDLE, [vec![ping()]]).await;
    server.state.lock().expect("state").statuses = [503, 500].into();
    let mut events = client(&server).events(options());
    assert_eq!(
        until_connected(&mut events).await,
        [Event::Connected { reconnects: 2 }]
    );
    assert_eq!(server.stream_requests().len(), 3);
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_not_an_error() {
    let client = Client::builder(crate::support::refused_base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let mut events = client.events(options());
    // Reconnecting (with backoff) rather than ending with an error.
    let item = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(item.is_err(), "{item:?}");
}

#[tokio::test]
async fn butler_only_passes_over_other_work() {
    let other = r#"event: activity
data: {"ActivityNotification":{"event":"started","uuid":"S","Activity":{"uuid":"S","type":"library.update.section","title":"Scanning"}}}

"#;
    let server = EventServer::start(
        IDLE,
        [vec![
            Step::Send(other.to_owned()),
            activity("started", "B", 0),
        ]],
    )
    .await;
    let mut events = client(&server).events(options().butler_only(true));
    until_connected(&mut events).await;
    let change = next_change(&mut events).await;
    assert_eq!(
        summary(&change),
        (ActivityEventKind::Started, "B", true, false)
    );
}

#[tokio::test]
async fn a_wait_that_ends_at_its_first_look_opens_no_stream() {
    let server = EventServer::start(IDLE, []).await;
    let report = client(&server)
        .wait_until_idle(WaitOptions::new().grace(Duration::ZERO))
        .await
        .expect("idle");
    assert_eq!((report.polls, report.method), (1, WaitMethod::Polling));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.stream_requests().is_empty());
}

/// How many times the server was asked for its activities.
fn activity_looks(server: &EventServer) -> usize {
    let state = server.state.lock().expect("state");
    state
        .requests
        .iter()
        .filter(|(line, _, _)| line.starts_with("GET /activities"))
        .count()
}

#[tokio::test]
async fn once_the_stream_shows_butler_work_the_wait_takes_progress_from_it_and_looks_only_on_starts_and_ends()
 {
    // A second of progress told by the stream, then the end. Polling at
    // 20 to 40 ms would look some 30 times; trusting the stream, the wait
    // looks at its start, when the stream connects, and at the end.
    let mut steps = vec![ping()];
    for progress in (5..=95).step_by(5) {
        steps.push(activity("updated", "A", progress));
        steps.push(Step::Pause(Duration::from_millis(50)));
    }
    steps.extend([
        Step::SetActivities(IDLE),
        Step::Mark,
        activity("ended", "A", 100),
    ]);
    let server = EventServer::start(BUSY, [steps]).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::clone(&seen);
    let options = WaitOptions::new()
        .poll_interval(Duration::from_millis(20))
        .max_poll_interval(Duration::from_millis(40))
        .grace(Duration::ZERO)
        .timeout(Duration::from_secs(20))
        .on_progress(move |p| {
            let percent = p.activities.first().and_then(|a| a.progress);
            progress.lock().expect("progress").push((p.polls, percent));
        });
    let report = client(&server)
        .wait_until_idle(options)
        .await
        .expect("ends");
    let gap = Instant::now().saturating_duration_since(server.marks()[0]);
    assert!(gap < Duration::from_millis(500), "{gap:?} after the event");
    assert_eq!(report.method, WaitMethod::Events);
    let looks = activity_looks(&server);
    assert!(
        looks <= 6,
        "{looks} looks at the activities in about a second"
    );
    // The progress the stream told reached the callback, without looks.
    let seen = seen.lock().expect("progress").clone();
    let told: Vec<_> = seen.iter().filter_map(|(_, p)| *p).collect();
    assert!(told.iter().any(|p| *p >= 90), "{seen:?}");
    assert!(seen.len() > looks, "{seen:?}");
}

#[tokio::test]
async fn a_stream_quiet_about_butler_work_leaves_the_wait_looking_at_its_intervals() {
    // The stream is up but tells nothing of the work, whose end only a
    // look finds: the wait looks at its poll intervals, as without events.
    let server = EventServer::start(BUSY, [vec![ping(), Step::Hold]]).await;
    let state = Arc::clone(&server.state);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        state.lock().expect("state").activities = IDLE;
    });
    let started = Instant::now();
    let report = client(&server)
        .wait_until_idle(
            WaitOptions::new()
                .poll_interval(Duration::from_millis(20))
                .max_poll_interval(Duration::from_millis(40))
                .grace(Duration::ZERO)
                .timeout(Duration::from_secs(20)),
        )
        .await
        .expect("ends");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(report.polls >= 4, "{report:?}");
}

#[tokio::test]
async fn an_end_the_list_shows_late_is_looked_at_again_at_the_poll_interval_not_the_safety_net() {
    // The stream has shown the work, then says it ended while the list
    // still shows it for 300 ms: the wait looks again at its poll
    // interval (here 100 ms), not a minute later.
    let server = EventServer::start(
        BUSY,
        [vec![
            ping(),
            activity("updated", "A", 10),
            Step::Pause(Duration::from_millis(50)),
            activity("updated", "A", 20),
            Step::Pause(Duration::from_millis(50)),
            activity("ended", "A", 100),
            Step::Pause(Duration::from_millis(300)),
            Step::SetActivities(IDLE),
            Step::Mark,
            Step::Hold,
        ]],
    )
    .await;
    let options = WaitOptions::new()
        .poll_interval(Duration::from_millis(100))
        .max_poll_interval(Duration::from_millis(100))
        .grace(Duration::ZERO)
        .timeout(Duration::from_secs(20));
    let report = client(&server)
        .wait_until_idle(options)
        .await
        .expect("ends");
    let gap = Instant::now().saturating_duration_since(server.marks()[0]);
    assert!(
        gap < Duration::from_secs(2),
        "{gap:?} after the list let go"
    );
    assert_eq!(report.method, WaitMethod::Events);
}

const BUSY_A_AND_B: &str = r#"{"uuid":"A","type":"butler","cancellable":false,"userID":1,"title":"Butler tasks","subtitle":"","progress":10},{"uuid":"B","type":"butler","cancellable":false,"userID":1,"title":"Butler tasks","subtitle":"","progress":10}"#;

#[tokio::test]
async fn news_of_an_activity_after_its_end_is_not_passed_on_and_the_log_goes_idle() {
    let server = EventServer::start(
        BUSY_A_AND_B,
        [vec![
            activity("ended", "A", 100),
            activity("updated", "A", 50),
            activity("ended", "B", 100),
            activity("started", "C", 0),
        ]],
    )
    .await;
    let mut events = client(&server).events(options());
    let mut log = plex_butler::ActivityLog::new();
    for event in until_connected(&mut events).await {
        if let Event::Activity(change) = event {
            log.record(&change);
        }
    }
    let mut seen = Vec::new();
    loop {
        let change = next_change(&mut events).await;
        if change.uuid == "C" {
            break;
        }
        let ended = log.record(&change).is_some();
        seen.push((change.kind.clone(), change.uuid.clone(), ended));
        if change.uuid == "B" {
            assert!(!log.butler_running(), "idle once B ended: {seen:?}");
        }
    }
    assert_eq!(
        seen,
        [
            (ActivityEventKind::Ended, "A".to_owned(), true),
            (ActivityEventKind::Ended, "B".to_owned(), true),
        ],
        "the late news of A is not passed on"
    );
}

#[tokio::test]
async fn an_end_found_on_reconnect_and_then_sent_live_is_reported_once() {
    let server = EventServer::start(
        BUSY,
        [
            // A ends while the stream is down; the server sends its end
            // once the stream is open again, after the activities were read.
            vec![
                Step::Pause(Duration::from_millis(200)),
                Step::SetActivities(IDLE),
            ],
            vec![activity("ended", "A", 100), activity("started", "C", 0)],
        ],
    )
    .await;
    let mut events = client(&server).events(options());
    until_connected(&mut events).await;
    let mut ends = 0;
    loop {
        let change = next_change(&mut events).await;
        if change.uuid == "C" {
            break;
        }
        if change.kind == ActivityEventKind::Ended && change.uuid == "A" {
            ends += 1;
        }
    }
    assert_eq!(ends, 1, "one end for one activity");
}

#[tokio::test]
async fn a_stream_with_cr_line_ends_is_not_cut_off_however_much_it_sends() {
    // 2,000 small events, 1.2 MiB in all, lines ended by a bare CR.
    let pad = "x".repeat(600);
    let mut steps: Vec<Step> = (0..2000)
        .map(|_| Step::Send(format!("event: ping\rdata: {{\"pad\":\"{pad}\"}}\r\r")))
        .collect();
    steps.push(activity("ended", "C", 100));
    let server = EventServer::start(IDLE, [steps]).await;
    let mut events = client(&server).events(options());
    until_connected(&mut events).await;
    let change = next_change(&mut events).await;
    assert_eq!(change.uuid, "C");
    assert_eq!(server.stream_requests().len(), 1, "no reconnect");
}
