//! The facade's event stream and its event-driven waits against the
//! simulator's `/:/eventsource/notifications`, over real sockets, in real
//! time: short runs, short pings.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use plex_butler::{
    ActivityEvent, ActivityEventKind, ActivityLog, Client, Error, Event, EventOptions, Events,
    RetryPolicy, TaskName, WaitMethod, WaitOptions,
};
use plex_butler_sim::{FaultPlan, Preset, Simulator, SimulatorBuilder};

const TOKEN: &str = "events-sim-token-5b1f";

/// A simulator on the real clock, with 400 ms runs and pings every 100 ms.
fn sim() -> SimulatorBuilder {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(5)
        .task_duration(Duration::from_millis(400))
        .ping_interval(Duration::from_millis(100))
}

fn client(sim: &Simulator) -> Client {
    Client::builder(sim.url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

fn options() -> EventOptions {
    EventOptions::new()
        .ping_interval(Duration::from_millis(100))
        .reconnect_delay(Duration::from_millis(10))
        .max_reconnect_delay(Duration::from_millis(100))
}

/// Activity changes until the Butler's work ends, passing over the rest;
/// also how many times the stream connected.
async fn until_butler_ends(events: &mut Events) -> (Vec<ActivityEvent>, u32) {
    let mut changes = Vec::new();
    let mut connects = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let item = tokio::time::timeout_at(deadline.into(), events.next())
            .await
            .expect("the end within 10 s")
            .expect("the stream goes on")
            .expect("no error");
        match item {
            Event::Connected { .. } => connects += 1,
            Event::Activity(change) => {
                let end = change.kind == ActivityEventKind::Ended && change.is_butler();
                changes.push(change);
                if end {
                    return (changes, connects);
                }
            }
            _ => {}
        }
    }
}

/// Waits for the stream's first `Connected`.
async fn connected(events: &mut Events) {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("connects within 5 s")
            .expect("the stream goes on")
            .expect("no error");
        if matches!(item, Event::Connected { .. }) {
            return;
        }
    }
}

#[tokio::test]
async fn a_task_is_started_updated_and_ended_live_and_logged_once() {
    let sim = sim().start().await.expect("simulator starts");
    let client = client(&sim);
    let mut events = client.events(options());
    connected(&mut events).await;
    client.start(TaskName::BackupDatabase).await.expect("start");
    let (changes, _) = until_butler_ends(&mut events).await;
    let first = &changes[0];
    assert_eq!(
        (first.kind.clone(), first.live, first.known),
        (ActivityEventKind::Started, true, false)
    );
    let last = changes.last().expect("the end");
    assert!(last.live && last.known, "{last:?}");
    assert_eq!(last.uuid, first.uuid);
    let mut log = ActivityLog::new();
    let records: Vec<_> = changes.iter().filter_map(|c| log.record(c)).collect();
    assert_eq!(records.len(), 1);
    assert!(records[0].start_seen_live && records[0].end_seen_live);
    assert!(records[0].duration.is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wait_ends_on_the_event_not_at_the_next_poll() {
    let sim = sim()
        .aggregate_butler_activity(true)
        .start()
        .await
        .expect("simulator starts");
    let started = Instant::now();
    let (_, report) = client(&sim)
        .start_and_wait(
            TaskName::BackupDatabase,
            WaitOptions::new()
                .poll_interval(Duration::from_secs(5))
                .max_poll_interval(Duration::from_secs(5))
                .grace(Duration::from_secs(2)),
        )
        .await
        .expect("ends");
    let took = started.elapsed();
    assert_eq!(report.method, WaitMethod::Events);
    assert!(report.saw_activity);
    // A 400 ms run; the next poll would have come 5 s after the first.
    assert!(took < Duration::from_secs(3), "{took:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn streams_closed_after_two_events_lose_no_end() {
    let sim = sim()
        .faults(FaultPlan::none().events_close_after(2))
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim);
    let mut events = client.events(options());
    connected(&mut events).await;
    client.start(TaskName::BackupDatabase).await.expect("start");
    let (changes, connects) = until_butler_ends(&mut events).await;
    assert!(connects >= 1, "the stream was opened again: {connects}");
    let end = changes.last().expect("the end");
    assert!(end.is_butler(), "{end:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_silent_simulator_stream_is_opened_again() {
    let sim = sim()
        .faults(FaultPlan::none().events_silent_after(1))
        .start()
        .await
        .expect("simulator starts");
    let mut events = client(&sim).events(options());
    connected(&mut events).await;
    let started = Instant::now();
    connected(&mut events).await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_simulator_without_events_is_events_unsupported_and_waits_poll() {
    let sim = sim().events(false).start().await.expect("simulator starts");
    let client = client(&sim);
    let mut events = client.events(options());
    let error = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("within 5 s")
        .expect("an item")
        .expect_err("404");
    assert!(matches!(error, Error::EventsUnsupported), "{error:?}");
    let (_, report) = client
        .start_and_wait(
            TaskName::BackupDatabase,
            WaitOptions::new()
                .poll_interval(Duration::from_millis(50))
                .max_poll_interval(Duration::from_millis(100)),
        )
        .await
        .expect("ends");
    assert_eq!(report.method, WaitMethod::Polling);
    assert!(report.saw_activity);
    sim.shutdown().await;
}
