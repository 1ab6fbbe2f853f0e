//! The Butler's rules, over HTTP, with a manual clock.

use std::time::Duration;

use crate::common::{at, builder, call, get_json, start_with, status_of};
use chrono::{FixedOffset, TimeDelta};
use plex_butler_sim::{Error, FaultPlan, Simulator, TaskSpec, TaskStatus, Trigger};
use reqwest::{Method, StatusCode};

/// Checks the invariants and returns the status of `name`.
fn status(sim: &Simulator, name: &str) -> TaskStatus {
    let state = sim.state();
    state.check_invariants().expect("invariants hold");
    state.status(name).expect("the task exists")
}

async fn start_all(sim: &Simulator) {
    assert_eq!(
        status_of(sim, Method::POST, "/butler").await,
        StatusCode::OK
    );
}

fn daily(name: &str) -> TaskSpec {
    TaskSpec::new(name)
}

fn randomized(name: &str) -> TaskSpec {
    TaskSpec::new(name).randomized(true)
}

#[tokio::test]
async fn outside_the_window_start_all_starts_every_due_task_now_randomized_or_not() {
    let sim = start_with(at(12, 0), vec![daily("Plain"), randomized("Random")]).await;
    start_all(&sim).await;
    let started = TaskStatus::Running {
        started: at(12, 0),
        progress: 0,
    };
    assert_eq!(status(&sim, "Plain"), started);
    assert_eq!(status(&sim, "Random"), started);
}

#[tokio::test]
async fn inside_the_window_randomized_tasks_are_scheduled_within_it_and_others_start_now() {
    let sim = start_with(at(3, 0), vec![daily("Plain"), randomized("Random")]).await;
    start_all(&sim).await;
    assert!(status(&sim, "Plain").is_running());
    let TaskStatus::Scheduled { at: when } = status(&sim, "Random") else {
        panic!("Random is not scheduled");
    };
    assert!(when > at(3, 0) && when < at(5, 0), "scheduled at {when}");
    let activities = get_json(&sim, "/activities").await;
    assert_eq!(activities["MediaContainer"]["size"], 1, "only Plain runs");
}

#[tokio::test]
async fn the_same_seed_schedules_the_same_times_and_another_seed_other_times() {
    let tasks = || {
        (0..5)
            .map(|i| randomized(&format!("R{i}")))
            .collect::<Vec<_>>()
    };
    let schedule = |sim: &Simulator| {
        sim.state()
            .tasks
            .iter()
            .map(|t| t.status)
            .collect::<Vec<_>>()
    };
    let one = start_with(at(2, 0), tasks()).await;
    let two = start_with(at(2, 0), tasks()).await;
    let other = builder(at(2, 0))
        .tasks(tasks())
        .seed(8)
        .start()
        .await
        .expect("starts");
    for sim in [&one, &two, &other] {
        start_all(sim).await;
    }
    assert_eq!(schedule(&one), schedule(&two));
    assert_ne!(schedule(&one), schedule(&other));
    assert!(schedule(&one).iter().all(TaskStatus::is_scheduled));
}

#[tokio::test]
async fn a_window_in_the_servers_offset_decides_what_is_scheduled() {
    // 01:00 UTC is 03:00 at UTC+2: inside the window there.
    let sim = builder(at(1, 0))
        .tasks([randomized("Random")])
        .utc_offset(FixedOffset::east_opt(2 * 3600).expect("valid"))
        .start()
        .await
        .expect("starts");
    start_all(&sim).await;
    assert!(status(&sim, "Random").is_scheduled());
}

#[tokio::test]
async fn a_custom_window_across_midnight_schedules_until_it_closes() {
    let sim = builder(at(23, 0))
        .tasks([randomized("Random")])
        .window(22, 1)
        .start()
        .await
        .expect("starts");
    start_all(&sim).await;
    let TaskStatus::Scheduled { at: when } = status(&sim, "Random") else {
        panic!("Random is not scheduled");
    };
    assert!(when < at(1, 0) + TimeDelta::days(1), "scheduled at {when}");
}

#[tokio::test]
async fn start_all_skips_disabled_tasks() {
    let sim = start_with(at(12, 0), vec![daily("On"), daily("Off").enabled(false)]).await;
    start_all(&sim).await;
    assert!(status(&sim, "On").is_running());
    assert_eq!(status(&sim, "Off"), TaskStatus::Idle);
}

#[tokio::test]
async fn start_all_skips_tasks_not_due_today() {
    let sim = start_with(
        at(12, 0),
        vec![
            TaskSpec::new("DueToday")
                .interval_days(3)
                .last_run(at(23, 0) - TimeDelta::days(3)),
            TaskSpec::new("DueTomorrow")
                .interval_days(3)
                .last_run(at(1, 0) - TimeDelta::days(2)),
            TaskSpec::new("Weekly")
                .interval_days(7)
                .last_run(at(12, 0) - TimeDelta::days(6)),
            TaskSpec::new("Never"),
        ],
    )
    .await;
    start_all(&sim).await;
    assert!(status(&sim, "DueToday").is_running());
    assert_eq!(status(&sim, "DueTomorrow"), TaskStatus::Idle);
    assert_eq!(status(&sim, "Weekly"), TaskStatus::Idle);
    assert!(
        status(&sim, "Never").is_running(),
        "a task that never ran is due"
    );
}

#[tokio::test]
async fn a_running_task_finishes_after_its_duration_and_records_its_last_run() {
    let sim = start_with(at(12, 0), vec![daily("Task")]).await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
    sim.clock().advance(Duration::from_secs(59));
    assert_eq!(
        status(&sim, "Task"),
        TaskStatus::Running {
            started: at(12, 0),
            progress: 98
        }
    );
    sim.clock().advance(Duration::from_secs(1));
    let state = sim.state();
    assert_eq!(state.status("Task"), Some(TaskStatus::Idle));
    assert_eq!(state.task("Task").and_then(|t| t.last_run), Some(at(12, 1)));
    assert_eq!(
        get_json(&sim, "/activities").await["MediaContainer"]["size"],
        0
    );
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler/Task").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_task_with_its_own_duration_runs_for_that_long() {
    let sim = start_with(
        at(12, 0),
        vec![daily("Long").duration(Duration::from_secs(600))],
    )
    .await;
    status_of(&sim, Method::POST, "/butler/Long").await;
    sim.clock().advance(Duration::from_secs(300));
    assert_eq!(
        status(&sim, "Long"),
        TaskStatus::Running {
            started: at(12, 0),
            progress: 50
        }
    );
}

#[tokio::test]
async fn a_task_that_ran_today_is_not_due_again_until_tomorrow() {
    let sim = start_with(at(12, 0), vec![daily("Daily")]).await;
    start_all(&sim).await;
    sim.clock().advance(Duration::from_secs(3600));
    start_all(&sim).await;
    assert_eq!(
        status(&sim, "Daily"),
        TaskStatus::Idle,
        "it already ran today"
    );
    sim.clock().set(at(0, 30) + TimeDelta::days(1));
    start_all(&sim).await;
    assert!(status(&sim, "Daily").is_running());
}

#[tokio::test]
async fn a_scheduled_task_starts_when_the_clock_reaches_its_time() {
    let sim = start_with(at(2, 0), vec![randomized("Random")]).await;
    start_all(&sim).await;
    let TaskStatus::Scheduled { at: when } = status(&sim, "Random") else {
        panic!("Random is not scheduled");
    };
    sim.clock().set(when - TimeDelta::seconds(1));
    assert!(status(&sim, "Random").is_scheduled());
    sim.clock().set(when);
    assert_eq!(
        status(&sim, "Random"),
        TaskStatus::Running {
            started: when,
            progress: 0
        }
    );
    let activities = get_json(&sim, "/activities").await;
    assert_eq!(
        activities["MediaContainer"]["Activity"][0]["title"],
        "Random"
    );
    sim.clock().set(when + TimeDelta::seconds(60));
    let state = sim.state();
    assert_eq!(state.status("Random"), Some(TaskStatus::Idle));
    assert_eq!(
        state.task("Random").and_then(|t| t.last_run),
        Some(when + TimeDelta::seconds(60))
    );
}

#[tokio::test]
async fn a_scheduled_task_stopped_by_name_is_unscheduled_and_never_runs() {
    let sim = start_with(at(2, 0), vec![randomized("Random")]).await;
    start_all(&sim).await;
    assert!(status(&sim, "Random").is_scheduled());
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler/Random").await,
        StatusCode::OK
    );
    assert_eq!(status(&sim, "Random"), TaskStatus::Idle);
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler/Random").await,
        StatusCode::NOT_FOUND
    );
    sim.clock().set(at(6, 0));
    assert_eq!(sim.state().task("Random").and_then(|t| t.last_run), None);
}

#[tokio::test]
async fn stop_all_stops_running_tasks_and_clears_the_queue() {
    let sim = start_with(
        at(3, 0),
        vec![daily("Plain"), randomized("R1"), randomized("R2")],
    )
    .await;
    start_all(&sim).await;
    assert_eq!(sim.state().scheduled(), ["R1", "R2"]);
    assert_eq!(sim.state().running(), ["Plain"]);
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler").await,
        StatusCode::OK
    );
    let state = sim.state();
    assert!(state.tasks.iter().all(|t| t.status.is_idle()), "{state:?}");
    sim.clock().set(at(6, 0));
    let state = sim.state();
    assert!(
        state
            .tasks
            .iter()
            .all(|t| t.status.is_idle() && t.last_run.is_none())
    );
}

#[tokio::test]
async fn starting_all_twice_is_the_same_as_once() {
    let sim = start_with(at(3, 0), vec![daily("Plain"), randomized("Random")]).await;
    start_all(&sim).await;
    let once = sim.state();
    start_all(&sim).await;
    assert_eq!(sim.state(), once);
}

#[tokio::test]
async fn starting_a_running_task_answers_202_and_changes_nothing() {
    let sim = start_with(at(12, 0), vec![daily("Task")]).await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
    sim.clock().advance(Duration::from_secs(10));
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        status(&sim, "Task"),
        TaskStatus::Running {
            started: at(12, 0),
            progress: 16
        }
    );
}

#[tokio::test]
async fn unknown_tasks_get_404_on_start_and_stop() {
    let sim = start_with(at(12, 0), vec![daily("Task")]).await;
    let (start, body) = call(&sim, Method::POST, "/butler/NoSuchTask").await;
    assert_eq!(start, StatusCode::NOT_FOUND);
    assert!(body.contains("404"));
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler/NoSuchTask").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn stopping_an_idle_task_gets_404_and_a_running_one_200() {
    let sim = start_with(at(12, 0), vec![daily("Task")]).await;
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler/Task").await,
        StatusCode::NOT_FOUND
    );
    status_of(&sim, Method::POST, "/butler/Task").await;
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler/Task").await,
        StatusCode::OK
    );
    assert_eq!(status(&sim, "Task"), TaskStatus::Idle);
}

#[tokio::test]
async fn a_stopped_run_records_no_last_run() {
    let sim = start_with(at(12, 0), vec![daily("Task")]).await;
    status_of(&sim, Method::POST, "/butler/Task").await;
    sim.clock().advance(Duration::from_secs(30));
    status_of(&sim, Method::DELETE, "/butler/Task").await;
    sim.clock().advance(Duration::from_secs(60));
    assert_eq!(sim.state().task("Task").and_then(|t| t.last_run), None);
}

#[tokio::test]
async fn starting_a_disabled_task_by_name_starts_it() {
    let sim = start_with(at(12, 0), vec![daily("Off").enabled(false)]).await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Off").await,
        StatusCode::OK
    );
    assert!(status(&sim, "Off").is_running());
}

#[tokio::test]
async fn starting_a_task_by_name_ignores_whether_it_is_due() {
    let sim = start_with(at(12, 0), vec![daily("Ran").last_run(at(11, 0))]).await;
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Ran").await,
        StatusCode::OK
    );
    assert!(status(&sim, "Ran").is_running());
}

#[tokio::test]
async fn starting_a_scheduled_task_by_name_starts_it_now() {
    let sim = start_with(at(2, 0), vec![randomized("Random")]).await;
    start_all(&sim).await;
    assert!(status(&sim, "Random").is_scheduled());
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Random").await,
        StatusCode::OK
    );
    assert_eq!(
        status(&sim, "Random"),
        TaskStatus::Running {
            started: at(2, 0),
            progress: 0
        }
    );
}

#[tokio::test]
async fn butler_activities_cannot_be_cancelled_by_default() {
    let sim = start_with(at(12, 0), vec![daily("Task")]).await;
    status_of(&sim, Method::POST, "/butler/Task").await;
    let uuid = sim.state().activities[0].uuid.clone();
    let path = format!("/activities/{uuid}");
    assert_eq!(
        status_of(&sim, Method::DELETE, &path).await,
        StatusCode::BAD_REQUEST
    );
    assert!(status(&sim, "Task").is_running());
    let unknown = "/activities/00000000-0000-4000-8000-000000000000";
    assert_eq!(
        status_of(&sim, Method::DELETE, unknown).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cancellable_activities_stop_their_task_when_deleted() {
    let sim = builder(at(12, 0))
        .tasks([daily("Task")])
        .cancellable_activities(true)
        .start()
        .await
        .expect("starts");
    status_of(&sim, Method::POST, "/butler/Task").await;
    let activity = sim.state().activities[0].clone();
    assert!(activity.cancellable);
    let path = format!("/activities/{}", activity.uuid);
    assert_eq!(status_of(&sim, Method::DELETE, &path).await, StatusCode::OK);
    assert_eq!(status(&sim, "Task"), TaskStatus::Idle);
    assert_eq!(
        status_of(&sim, Method::DELETE, &path).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn nonsensical_settings_are_refused_at_start() {
    let refused = |result: Result<Simulator, Error>| matches!(result, Err(Error::InvalidConfig(_)));
    let base = || builder(at(12, 0));
    assert!(refused(
        base().tasks([daily("A"), daily("A")]).start().await
    ));
    assert!(refused(base().tasks([daily("")]).start().await));
    assert!(refused(base().tasks([daily("Bad\nName")]).start().await));
    assert!(refused(base().window(2, 24).start().await));
    assert!(refused(base().token("").start().await));
    assert!(refused(
        base()
            .faults(FaultPlan::none().status(42, Trigger::Always))
            .start()
            .await
    ));
}

#[tokio::test]
async fn a_simulator_stops_listening_when_shut_down_or_dropped() {
    let sim = start_with(at(12, 0), vec![]).await;
    let addr = sim.addr();
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let sim = start_with(at(12, 0), vec![]).await;
    let addr = sim.addr();
    drop(sim);
    // Dropping aborts the server task; the runtime frees the socket as soon
    // as it gets to it.
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "still listening on {addr} after drop");
}

#[tokio::test]
async fn a_port_in_use_is_reported_as_a_bind_error() {
    let first = start_with(at(12, 0), vec![]).await;
    let second = builder(at(12, 0)).listen(first.addr()).start().await;
    assert!(matches!(second, Err(Error::Bind { .. })), "{second:?}");
}

#[tokio::test]
async fn progress_rises_over_the_run_and_the_activity_leaves_when_it_ends() {
    let sim = builder(at(12, 0))
        .tasks([daily("Task").duration(Duration::from_secs(20))])
        .start()
        .await
        .expect("starts");
    status_of(&sim, Method::POST, "/butler/Task").await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let activities = get_json(&sim, "/activities").await;
        seen.push(activities["MediaContainer"]["Activity"][0]["progress"].clone());
        sim.clock().advance(Duration::from_secs(5));
    }
    assert_eq!(seen, [0, 25, 50, 75]);
    let after = get_json(&sim, "/activities").await;
    assert_eq!(after["MediaContainer"]["size"], 0);
    assert!(after["MediaContainer"].get("Activity").is_none());
}

#[tokio::test]
async fn each_read_of_the_activities_can_move_the_clock_one_step() {
    let sim = builder(at(12, 0))
        .tasks([daily("Task").duration(Duration::from_secs(20))])
        .advance_clock_on_activities(Duration::from_secs(5))
        .start()
        .await
        .expect("starts");
    status_of(&sim, Method::POST, "/butler/Task").await;
    assert_eq!(sim.clock().now(), at(12, 0), "only activity reads move it");
    let mut seen = Vec::new();
    for _ in 0..4 {
        let activities = get_json(&sim, "/activities").await;
        seen.push(activities["MediaContainer"]["size"].clone());
        seen.push(activities["MediaContainer"]["Activity"][0]["progress"].clone());
    }
    assert_eq!(
        serde_json::Value::from(seen),
        serde_json::json!([1, 25, 1, 50, 1, 75, 0, null]),
        "25, 50, 75 %, then gone"
    );
    assert_eq!(sim.clock().now(), at(12, 0) + TimeDelta::seconds(20));
    assert_eq!(status(&sim, "Task"), TaskStatus::Idle);
}
