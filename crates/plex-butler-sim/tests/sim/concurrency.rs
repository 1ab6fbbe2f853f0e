//! Many clients at once: no lost update, no task in two states.

use std::time::Duration;

use crate::common::{at, builder, call, start_with};
use plex_butler_sim::{Simulator, TaskSpec};
use reqwest::{Method, StatusCode};

async fn statuses(sim: &Simulator, method: Method, path: &str, n: usize) -> Vec<StatusCode> {
    // One client for all: building one per request loads the TLS roots
    // each time, which is slow in debug builds on a busy machine.
    let client = crate::common::client();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (url, method, path) = (sim.url().to_owned(), method.clone(), path.to_owned());
        let client = client.clone();
        set.spawn(async move {
            client
                .request(method, format!("{url}{path}"))
                .header("X-Plex-Token", crate::common::TOKEN)
                .send()
                .await
                .expect("request succeeds")
                .status()
        });
    }
    let mut out = Vec::new();
    while let Some(status) = set.join_next().await {
        out.push(status.expect("task completes"));
    }
    out
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == wanted).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_concurrent_starts_of_one_task_exactly_one_starts_it() {
    let sim = start_with(at(12, 0), vec![TaskSpec::new("Task")]).await;
    let answers = statuses(&sim, Method::POST, "/butler/Task", 64).await;
    assert_eq!(count(&answers, StatusCode::OK), 1, "{answers:?}");
    assert_eq!(count(&answers, StatusCode::ACCEPTED), 63);

    let answers = statuses(&sim, Method::DELETE, "/butler/Task", 64).await;
    assert_eq!(count(&answers, StatusCode::OK), 1, "{answers:?}");
    assert_eq!(count(&answers, StatusCode::NOT_FOUND), 63);
    sim.state().check_invariants().expect("invariants hold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_mixed_requests_leaves_the_butler_consistent() {
    let tasks: Vec<TaskSpec> = (0..8)
        .map(|i| TaskSpec::new(format!("T{i}")).randomized(i % 2 == 0))
        .collect();
    let sim = builder(at(3, 0))
        .tasks(tasks)
        .start()
        .await
        .expect("starts");
    let sim = std::sync::Arc::new(sim);
    let mut set = tokio::task::JoinSet::new();
    for client in 0..32usize {
        let sim = sim.clone();
        set.spawn(async move {
            for step in 0..20usize {
                let task = format!("/butler/T{}", (client + step) % 8);
                let (method, path) = match (client + step) % 6 {
                    0 => (Method::POST, "/butler".to_owned()),
                    1 => (Method::DELETE, "/butler".to_owned()),
                    2 | 3 => (Method::POST, task),
                    4 => (Method::DELETE, task),
                    _ => (Method::GET, "/activities".to_owned()),
                };
                let (status, _) = call(&sim, method, &path).await;
                assert!(
                    [StatusCode::OK, StatusCode::ACCEPTED, StatusCode::NOT_FOUND].contains(&status),
                    "{path}: {status}"
                );
                sim.state()
                    .check_invariants()
                    .expect("invariants hold mid-storm");
                if step % 5 == 0 {
                    sim.clock().advance(Duration::from_secs(7));
                }
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("client finished cleanly");
    }
    let state = sim.state();
    state.check_invariants().expect("invariants hold");
    assert_eq!(state.tasks.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_in_a_storm_end_with_the_task_list_saying_what_they_say() {
    let sim = builder(at(3, 0)).start().await.expect("starts");
    let sim = std::sync::Arc::new(sim);
    let mut set = tokio::task::JoinSet::new();
    for client in 0..16usize {
        let sim = sim.clone();
        set.spawn(async move {
            for step in 0..12usize {
                let on = (client + step) % 2;
                let hour = (client + step) % 24;
                let (method, path) = match step % 4 {
                    0 => (
                        Method::PUT,
                        format!("/:/prefs?ButlerTaskOptimizeDatabase={on}&ButlerStartHour={hour}"),
                    ),
                    1 => (Method::GET, "/butler".to_owned()),
                    2 => (Method::GET, "/:/prefs".to_owned()),
                    _ => (Method::POST, "/butler".to_owned()),
                };
                let (status, _) = call(&sim, method, &path).await;
                assert_eq!(status, StatusCode::OK, "{path}");
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("client finished cleanly");
    }
    let switch = sim.settings()["ButlerTaskOptimizeDatabase"].clone();
    let state = sim.state();
    state.check_invariants().expect("invariants hold");
    let enabled = state.task("OptimizeDatabase").expect("listed").enabled;
    assert_eq!(switch, if enabled { "1" } else { "0" });
    let (_, xml) = call(&sim, Method::GET, "/butler").await;
    let listed = format!(
        "name=\"OptimizeDatabase\" interval=\"7\" scheduleRandomized=\"0\" enabled=\"{switch}\""
    );
    assert!(xml.contains(&listed), "{xml}");
}
