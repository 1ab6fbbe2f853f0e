//! A bounded load test: 64 concurrent clients make 10,000 mixed list, start
//! and stop calls against one simulator. Every answer must be valid (no
//! error, no 5xx), no update may be lost, and the Butler must be consistent
//! at the end. The throughput is printed, not asserted: machines are noisy.
//!
//! ```sh
//! cargo test -p plex-butler-tests --test load -- --nocapture
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use plex_butler::{Client, RetryPolicy, StartOutcome, StopOutcome, TaskName};
use plex_butler_sim::{ManualClock, Preset, Simulator};

const CLIENTS: usize = 64;
const CALLS: usize = 10_000;
const TOKEN: &str = "load-test-token-3d8e51";

/// What one client saw.
#[derive(Default)]
struct Tally {
    lists: usize,
    started: usize,
    already_running: usize,
    stopped: usize,
    not_running: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.lists += other.lists;
        self.started += other.started;
        self.already_running += other.already_running;
        self.stopped += other.stopped;
        self.not_running += other.not_running;
    }

    fn calls(&self) -> usize {
        self.lists + self.started + self.already_running + self.stopped + self.not_running
    }
}

/// A cheap, fixed mix: 40 % list, 30 % start, 30 % stop, spread over the
/// tasks.
fn call_kind(call: usize) -> usize {
    (call.wrapping_mul(2_654_435_761) >> 7) % 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_make_ten_thousand_mixed_calls_and_every_answer_is_valid() {
    // Time stands still, so no run ends by itself: every change of state
    // comes from a call, and the tally must account for all of them.
    let noon = Utc
        .with_ymd_and_hms(2025, 6, 10, 12, 0, 0)
        .single()
        .expect("a valid time");
    let sim = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .clock(ManualClock::at(noon))
        .seed(17)
        .start()
        .await
        .expect("simulator starts");
    let names: Arc<Vec<TaskName>> = Arc::new(
        sim.state()
            .tasks
            .iter()
            .map(|t| t.name.parse().expect("a task name"))
            .collect(),
    );

    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for id in 0..CLIENTS {
        // Each its own client, with its own connections.
        let client = Client::builder(sim.url())
            .token(TOKEN)
            .timeout(Duration::from_secs(10))
            .retry(RetryPolicy::none())
            .build()
            .expect("client");
        let names = Arc::clone(&names);
        clients.spawn(async move {
            let mut tally = Tally::default();
            for call in (id..CALLS).step_by(CLIENTS) {
                let name = names[call % names.len()].clone();
                match call_kind(call) {
                    0..=3 => {
                        let tasks = client.tasks().await.expect("list");
                        assert_eq!(tasks.len(), 23);
                        tally.lists += 1;
                    }
                    4..=6 => match client.start(name).await.expect("start") {
                        StartOutcome::Started => tally.started += 1,
                        StartOutcome::AlreadyRunning => tally.already_running += 1,
                        other => panic!("a start outcome this test does not know: {other:?}"),
                    },
                    _ => match client.stop(name).await.expect("stop") {
                        StopOutcome::Stopped => tally.stopped += 1,
                        StopOutcome::NotRunning => tally.not_running += 1,
                        other => panic!("a stop outcome this test does not know: {other:?}"),
                    },
                }
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(tally) = clients.join_next().await {
        total.add(&tally.expect("a client failed"));
    }
    let took = started.elapsed();

    assert_eq!(total.calls(), CALLS);
    let state = sim.state();
    state.check_invariants().expect("invariants hold");
    assert_eq!(state.tasks.len(), 23);
    assert!(state.scheduled().is_empty(), "{:?}", state.scheduled());
    // No lost update: every start that started a task and every stop that
    // stopped one shows in what runs now.
    assert_eq!(
        state.running().len(),
        total.started - total.stopped,
        "started {} and stopped {}",
        total.started,
        total.stopped
    );

    // A stop that finds nothing running reads the list to tell it from an
    // unknown task: one more request.
    let requests = CALLS + total.not_running;
    let seconds = took.as_secs_f64();
    println!(
        "{CALLS} calls ({requests} requests) from {CLIENTS} clients in {took:.2?}: \
         {:.0} calls/s, {:.0} requests/s \
         (lists {}, started {}, already running {}, stopped {}, not running {})",
        CALLS as f64 / seconds,
        requests as f64 / seconds,
        total.lists,
        total.started,
        total.already_running,
        total.stopped,
        total.not_running,
    );
    sim.shutdown().await;
}
