//! The event stream, `GET /:/eventsource/notifications`, read off the
//! socket.

use std::time::{Duration, Instant};

use crate::common::{TOKEN, at, builder, call, client, elements, get_json, status_of};
use plex_butler_sim::{FaultPlan, Simulator, TaskSpec, Trigger};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATH: &str = "/:/eventsource/notifications";
/// How long a test waits for an event that must come.
const PATIENCE: Duration = Duration::from_secs(10);

/// An open stream and what it has sent but not yet been read.
struct Stream {
    response: reqwest::Response,
    buffered: String,
    /// Everything received, as sent.
    raw: String,
}

/// One event: its name and its data.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    name: String,
    data: String,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("the data is JSON")
    }

    /// The `ActivityNotification` of an `activity` event.
    fn notification(&self) -> Value {
        assert_eq!(self.name, "activity");
        self.json()["ActivityNotification"].clone()
    }
}

impl Stream {
    async fn open(sim: &Simulator, query: &str) -> Self {
        let response = client()
            .get(format!("{}{PATH}{query}", sim.url()))
            .header("X-Plex-Token", TOKEN)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffered: String::new(),
            raw: String::new(),
        }
    }

    /// The next event; `None` when the stream ended; `Err` when nothing
    /// came for `wait`.
    async fn next_within(&mut self, wait: Duration) -> Result<Option<Event>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffered.find("\n\n") {
                let frame: String = self.buffered.drain(..end + 2).collect();
                let mut lines = frame.trim_end_matches('\n').split('\n');
                let name = lines.next().and_then(|l| l.strip_prefix("event: "));
                let data = lines.next().and_then(|l| l.strip_prefix("data: "));
                assert_eq!(lines.next(), None, "a frame of two lines: {frame:?}");
                let (Some(name), Some(data)) = (name, data) else {
                    panic!("not an event frame: {frame:?}");
                };
                return Ok(Some(Event {
                    name: name.to_owned(),
                    data: data.to_owned(),
                }));
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Err(()),
                Ok(Ok(Some(chunk))) => {
                    let text = String::from_utf8(chunk.to_vec()).expect("UTF-8");
                    self.buffered.push_str(&text);
                    self.raw.push_str(&text);
                }
                Ok(Ok(None) | Err(_)) => {
                    assert!(
                        self.buffered.is_empty(),
                        "cut mid-frame: {:?}",
                        self.buffered
                    );
                    return Ok(None);
                }
            }
        }
    }

    async fn next(&mut self) -> Event {
        self.next_within(PATIENCE)
            .await
            .expect("an event in time")
            .expect("the stream is open")
    }

    /// The next event that is not a ping.
    async fn next_activity(&mut self) -> Event {
        loop {
            let event = self.next().await;
            if event.name != "ping" {
                return event;
            }
        }
    }
}

fn one_task_sim() -> plex_butler_sim::SimulatorBuilder {
    builder(at(12, 0)).tasks([TaskSpec::new("Task")])
}

#[tokio::test]
async fn pings_come_at_the_configured_interval_framed_as_the_server_frames_them() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(50))
        .start()
        .await
        .expect("starts");
    let opened = Instant::now();
    let mut stream = Stream::open(&sim, "").await;
    for _ in 0..3 {
        assert_eq!(
            stream.next().await,
            Event {
                name: "ping".into(),
                data: "{}".into()
            }
        );
    }
    assert_eq!(stream.raw, "event: ping\ndata: {}\n\n".repeat(3));
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_millis(150),
        "three pings in {took:?}"
    );
}

#[tokio::test]
async fn a_task_sends_started_updated_and_ended_with_the_activity_get_activities_lists() {
    let sim = one_task_sim().start().await.expect("starts");
    let mut stream = Stream::open(&sim, "?filters=activity").await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
    let started = stream.next_activity().await.notification();
    assert_eq!(started["event"], "started");
    let listed = get_json(&sim, "/activities").await["MediaContainer"]["Activity"][0].clone();
    assert_eq!(started["Activity"], listed);
    assert_eq!(started["uuid"], listed["uuid"]);
    assert_eq!(listed["type"], "butler");

    sim.clock().advance(Duration::from_secs(30));
    let updated = stream.next_activity().await.notification();
    assert_eq!(updated["event"], "updated");
    assert_eq!(updated["Activity"]["progress"], 50);

    // The end comes from the clock alone: no request is made.
    sim.clock().advance(Duration::from_secs(30));
    let moved = Instant::now();
    let ended = stream.next_activity().await.notification();
    let late = moved.elapsed();
    assert_eq!(ended["event"], "ended");
    assert_eq!(ended["uuid"], listed["uuid"]);
    assert_eq!(
        ended["Activity"]["progress"], 50,
        "the activity as last seen"
    );
    assert!(
        late < Duration::from_millis(100),
        "ended {late:?} after the clock moved"
    );
}

#[tokio::test]
async fn ended_comes_within_100ms_of_get_activities_no_longer_listing_the_task() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .tasks([TaskSpec::new("Task")])
        .task_duration(Duration::from_millis(400))
        .start()
        .await
        .expect("starts");
    let mut stream = Stream::open(&sim, "?filters=activity").await;
    let reader = tokio::spawn(async move {
        let started = stream.next_activity().await.notification();
        assert_eq!(started["event"], "started");
        let mut updates = 0;
        loop {
            let event = stream.next_activity().await.notification();
            if event["event"] == "ended" {
                // At most one update every 250 ms of a 400 ms run.
                assert!(updates <= 2, "{updates} updates");
                return Instant::now();
            }
            assert_eq!(event["event"], "updated");
            updates += 1;
        }
    });
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
    let gone = loop {
        let (_, body) = call(&sim, Method::GET, "/activities").await;
        if !body.contains("<Activity ") {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let ended = tokio::time::timeout(PATIENCE, reader)
        .await
        .expect("ended in time")
        .expect("the reader saw started and ended");
    let gap = if ended > gone {
        ended - gone
    } else {
        gone - ended
    };
    eprintln!("ended came {gap:?} from GET /activities no longer listing the task");
    assert!(gap < Duration::from_millis(100), "{gap:?}");
}

#[tokio::test]
async fn the_aggregate_butler_activity_is_one_activity_from_the_first_start_to_the_last_end() {
    let sim = builder(at(12, 0))
        .tasks([
            TaskSpec::new("A").duration(Duration::from_secs(60)),
            TaskSpec::new("B")
                .title("Task B")
                .duration(Duration::from_secs(120)),
        ])
        .aggregate_butler_activity(true)
        .start()
        .await
        .expect("starts");
    let mut stream = Stream::open(&sim, "?filters=activity").await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/A").await,
        StatusCode::OK
    );
    let started = stream.next_activity().await.notification();
    assert_eq!(started["event"], "started");
    assert_eq!(started["Activity"]["title"], "Butler tasks");
    assert_eq!(started["Activity"]["subtitle"], "A");
    sim.clock().advance(Duration::from_secs(30));
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/B").await,
        StatusCode::OK
    );

    // Both run: one activity, shaped as the real server's.
    let (_, xml) = call(&sim, Method::GET, "/activities").await;
    let listed = elements(&xml);
    let real = elements(include_str!(
        "../../../../fixtures/pms-1.43.2/activities.xml"
    ));
    assert_eq!(listed.len(), 2, "{xml}");
    let names =
        |e: &crate::common::Element| e.attrs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&listed[1]), names(&real[1]));
    for attr in ["type", "cancellable", "userID", "title"] {
        assert_eq!(listed[1].attr(attr), real[1].attr(attr), "{attr}");
    }
    assert_eq!(listed[1].attr("uuid"), started["uuid"].as_str());

    // A ends at 60 s, B at 150 s: the work ends once.
    sim.clock().advance(Duration::from_secs(40));
    tokio::time::sleep(Duration::from_millis(300)).await;
    sim.clock().advance(Duration::from_secs(100));
    let mut seen = Vec::new();
    loop {
        let notification = stream.next_activity().await.notification();
        assert_eq!(notification["uuid"], started["uuid"], "{notification}");
        let event = notification["event"].as_str().expect("text").to_owned();
        seen.push(notification);
        if event == "ended" {
            break;
        }
    }
    let events: Vec<&str> = seen
        .iter()
        .map(|n| n["event"].as_str().unwrap_or(""))
        .collect();
    assert!(
        events[..events.len() - 1].iter().all(|e| *e == "updated"),
        "{events:?}"
    );
    assert!(
        seen.iter().any(|n| n["Activity"]["subtitle"] == "Task B"),
        "the subtitle follows the running task: {seen:?}"
    );
    assert!(sim.state().activities.is_empty());
    sim.state().check_invariants().expect("consistent");
}

#[tokio::test]
async fn filters_leave_activity_events_out_or_let_only_them_in_and_pings_always_come() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(50))
        .start()
        .await
        .expect("starts");
    let mut without = Stream::open(&sim, "?filters=-activity").await;
    let mut only = Stream::open(&sim, "?filters=activity").await;
    let mut all = Stream::open(&sim, "?filters=").await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
    sim.clock().advance(Duration::from_secs(60));
    for stream in [&mut only, &mut all] {
        let started = stream.next_activity().await.notification();
        assert_eq!(started["event"], "started");
        let ended = stream.next_activity().await.notification();
        assert_eq!(ended["event"], "ended");
        assert_eq!(stream.next().await.name, "ping");
    }
    let deadline = Instant::now() + Duration::from_millis(400);
    let mut pings = 0;
    while Instant::now() < deadline {
        let event = without.next().await;
        assert_eq!(event.name, "ping", "{event:?}");
        pings += 1;
    }
    assert!(pings >= 3, "{pings} pings");
}

#[tokio::test]
async fn the_stream_needs_the_token_in_the_header_or_the_query_and_never_echoes_it() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(20))
        .start()
        .await
        .expect("starts");
    let url = format!("{}{PATH}", sim.url());
    let none = client().get(&url).send().await.expect("sent");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()["content-type"], "text/html");
    let body = none.text().await.expect("body");
    assert!(body.contains("401 Unauthorized"), "{body}");
    let wrong = client()
        .get(&url)
        .header("X-Plex-Token", "wrong")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let mut by_query = client()
        .get(format!("{url}?X-Plex-Token={TOKEN}&filters=activity"))
        .send()
        .await
        .expect("sent");
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(by_query.headers()["content-type"], "text/event-stream");
    let chunk = tokio::time::timeout(PATIENCE, by_query.chunk())
        .await
        .expect("in time")
        .expect("reads")
        .expect("a ping");
    let text = String::from_utf8_lossy(&chunk);
    assert_eq!(text, "event: ping\ndata: {}\n\n");
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn a_simulator_without_events_answers_404_there_and_401_without_a_token() {
    let sim = one_task_sim().events(false).start().await.expect("starts");
    assert_eq!(
        status_of(&sim, Method::GET, PATH).await,
        StatusCode::NOT_FOUND
    );
    let anonymous = client()
        .get(format!("{}{PATH}", sim.url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let served = one_task_sim().start().await.expect("starts");
    assert_eq!(
        status_of(&served, Method::POST, PATH).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn a_zero_ping_interval_is_refused() {
    assert!(
        one_task_sim()
            .ping_interval(Duration::ZERO)
            .start()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_stream_closes_after_n_events_when_the_plan_says_so() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(20))
        .faults(FaultPlan::none().events_close_after(3))
        .start()
        .await
        .expect("starts");
    let mut stream = Stream::open(&sim, "").await;
    for _ in 0..3 {
        assert_eq!(stream.next().await.name, "ping");
    }
    assert_eq!(stream.next_within(PATIENCE).await, Ok(None), "closed");
}

#[tokio::test]
async fn the_stream_closes_after_a_while_when_the_plan_says_so() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(20))
        .start()
        .await
        .expect("starts");
    sim.set_faults(FaultPlan::none().events_close_after_time(Duration::from_millis(200)))
        .expect("a valid plan");
    let opened = Instant::now();
    let mut stream = Stream::open(&sim, "").await;
    let mut pings = 0;
    while let Some(event) = stream.next_within(PATIENCE).await.expect("ends in time") {
        assert_eq!(event.name, "ping");
        pings += 1;
    }
    let lasted = opened.elapsed();
    assert!(pings >= 2, "{pings} pings");
    assert!(
        (Duration::from_millis(190)..Duration::from_secs(3)).contains(&lasted),
        "{lasted:?}"
    );
}

#[tokio::test]
async fn a_silent_stream_sends_nothing_more_and_stays_open() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(20))
        .faults(FaultPlan::none().events_silent_after(1))
        .start()
        .await
        .expect("starts");
    let mut stream = Stream::open(&sim, "").await;
    assert_eq!(stream.next().await.name, "ping");
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
    assert_eq!(
        stream.next_within(Duration::from_millis(400)).await,
        Err(()),
        "nothing came, and the stream did not end"
    );
}

#[tokio::test]
async fn a_spoilt_event_has_data_that_is_not_json_and_the_stream_goes_on() {
    let sim = one_task_sim()
        .ping_interval(Duration::from_millis(20))
        .faults(FaultPlan::none().events_garbage(Trigger::Next(1)))
        .start()
        .await
        .expect("starts");
    let mut stream = Stream::open(&sim, "").await;
    let spoilt = stream.next().await;
    assert_eq!(spoilt.name, "ping");
    assert_eq!(spoilt.data, "{not json");
    assert!(serde_json::from_str::<Value>(&spoilt.data).is_err());
    assert_eq!(stream.next().await.data, "{}");
    assert!(
        stream
            .raw
            .starts_with("event: ping\ndata: {not json\n\nevent: ping\ndata: {}\n\n")
    );
}

/// A reader that stops reading is dropped once it falls a bounded number
/// of events behind, rather than held with everything it missed.
#[tokio::test]
async fn a_reader_that_does_not_read_is_dropped_rather_than_buffered_without_bound() {
    // Long titles make big events: 4000 of them are some 17 MB, more than
    // the system's socket buffers hold.
    let title = "t".repeat(4000);
    let tasks: Vec<TaskSpec> = (0..100)
        .map(|i| TaskSpec::new(format!("T{i}")).title(title.clone()))
        .collect();
    let sim = builder(at(12, 0))
        .tasks(tasks)
        .window(20, 21)
        .start()
        .await
        .expect("starts");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let mut slow = socket.connect(sim.addr()).await.expect("connects");
    let request = format!(
        "GET {PATH}?filters=activity HTTP/1.1\r\nHost: sim\r\nX-Plex-Token: {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    slow.write_all(request.as_bytes()).await.expect("sent");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Each round starts and stops 100 tasks: 200 events, about 800 KB.
    let rounds = 20;
    for _ in 0..rounds {
        assert_eq!(
            status_of(&sim, Method::POST, "/butler").await,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert_eq!(
            status_of(&sim, Method::DELETE, "/butler").await,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sent = 2 * 100 * rounds;
    let mut got = Vec::new();
    // With `Connection: close`, the read ends only when the server ends
    // the stream: it would not, had it kept every event for this reader.
    let read = tokio::time::timeout(PATIENCE, slow.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        matches!(read, Ok(Ok(_))),
        "the slow stream was closed: {read:?} after {} bytes, {} events",
        got.len(),
        text.matches("event: activity").count()
    );
    let delivered = text.matches("event: activity").count();
    eprintln!(
        "the slow reader got {delivered} of {sent} events, {} bytes",
        got.len()
    );
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(
        delivered > 0 && delivered < sent / 2,
        "{delivered} of {sent}"
    );
    // The simulator still serves.
    assert_eq!(
        status_of(&sim, Method::GET, "/activities").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_filter_gets_400() {
    let sim = one_task_sim().start().await.expect("starts");
    let path = format!("{PATH}?filters=%zz");
    assert_eq!(
        status_of(&sim, Method::GET, &path).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_open_stream_does_not_hold_up_a_shutdown() {
    let sim = one_task_sim().start().await.expect("starts");
    let mut stream = Stream::open(&sim, "").await;
    let asked = Instant::now();
    tokio::time::timeout(PATIENCE, sim.shutdown())
        .await
        .expect("shuts down");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        stream.next_within(PATIENCE).await,
        Ok(None),
        "the stream ended"
    );
}
