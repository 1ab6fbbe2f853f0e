//! Activities and waiting, the facade against the simulator over real
//! sockets, with a manual clock: the progress a waiting client sees, the
//! end of a wait, its timeout, and cancelling; plans, their order, their
//! failures and their wait until nobody watches.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plex_butler::{
    CancelOutcome, Client, Error, Plan, PlanEvent, RetryPolicy, StartOutcome, StepOutcome,
    TaskName, WaitOptions,
};
use plex_butler_sim::{Clock, ManualClock, Preset, Simulator, SimulatorBuilder};

const TOKEN: &str = "activities-sim-token-3d9e";

/// A simulator whose clock stands still unless moved, with 20 s runs.
fn frozen() -> SimulatorBuilder {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(11)
        .clock(ManualClock::at(Clock::system().now()))
        .task_duration(Duration::from_secs(20))
}

fn client(sim: &Simulator) -> Client {
    Client::builder(sim.url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

/// Looks every millisecond or two: the tests take no time.
fn quick<'a>() -> WaitOptions<'a> {
    WaitOptions::new()
        .poll_interval(Duration::from_millis(1))
        .max_poll_interval(Duration::from_millis(2))
        .timeout(Duration::from_secs(20))
        // The clock moves a step per `GET /activities`; the event stream
        // reads them too when it connects, which would take a step: these
        // tests pin what the looks see.
        .polling_only(true)
}

#[tokio::test]
async fn a_running_task_is_one_butler_activity_titled_after_it() {
    let sim = frozen().start().await.expect("simulator starts");
    let client = client(&sim);
    assert!(client.activities().await.expect("activities").is_empty());
    client.start(TaskName::BackupDatabase).await.expect("start");
    sim.clock().advance(Duration::from_secs(5));
    let activities = client.activities().await.expect("activities");
    assert_eq!(activities.len(), 1);
    let activity = &activities[0];
    assert!(activity.is_butler());
    assert_eq!(activity.title, "Backup Database");
    assert_eq!(activity.progress, Some(25));
    assert!(!activity.cancellable);
    assert_eq!(activity.uuid, sim.state().activities[0].uuid);
    sim.shutdown().await;
}

#[tokio::test]
async fn progress_rises_during_the_wait_which_returns_when_the_task_ends() {
    let sim = frozen()
        .advance_clock_on_activities(Duration::from_secs(5))
        .start()
        .await
        .expect("simulator starts");
    let looks = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&looks);
    let options = quick().on_progress(move |p| {
        let progress: Vec<Option<u8>> = p.activities.iter().map(|a| a.progress).collect();
        log.lock().expect("log").push(progress);
    });
    let (outcome, report) = client(&sim)
        .start_and_wait(TaskName::BackupDatabase, options)
        .await
        .expect("the task ends");
    assert_eq!(outcome, StartOutcome::Started);
    assert_eq!(
        *looks.lock().expect("log"),
        [vec![Some(25)], vec![Some(50)], vec![Some(75)], vec![]]
    );
    assert!(report.saw_activity);
    assert_eq!(report.polls, 4);
    assert_eq!(report.seen.len(), 1);
    assert_eq!(report.seen[0].progress, Some(75));
    let state = sim.state();
    assert!(state.running().is_empty());
    assert!(
        state
            .task("BackupDatabase")
            .and_then(|t| t.last_run)
            .is_some(),
        "the run finished"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_wait_times_out_while_the_task_still_runs() {
    let sim = frozen().start().await.expect("simulator starts");
    let client = client(&sim);
    client
        .start(TaskName::OptimizeDatabase)
        .await
        .expect("start");
    let error = client
        .wait_until_idle(quick().timeout(Duration::from_millis(100)))
        .await
        .expect_err("the clock stands still: the task never ends");
    let Error::WaitTimedOut { running, .. } = &error else {
        panic!("expected WaitTimedOut, got {error:?}");
    };
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].title, "OptimizeDatabase");
    assert_eq!(sim.state().running(), ["OptimizeDatabase"], "it goes on");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_task_that_ended_before_the_first_look_is_reported_as_not_seen() {
    let sim = frozen().start().await.expect("simulator starts");
    let client = client(&sim);
    client
        .start(TaskName::CleanOldBundles)
        .await
        .expect("start");
    sim.clock().advance(Duration::from_secs(60));
    let report = client
        .wait_until_idle(quick().grace(Duration::from_millis(30)))
        .await
        .expect("idle");
    assert!(!report.saw_activity);
    assert!(report.seen.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn waiting_after_start_all_covers_every_task_it_started() {
    // Window 0-0 is empty: start-all starts every due task now.
    let sim = frozen()
        .window(0, 0)
        .advance_clock_on_activities(Duration::from_secs(10))
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim);
    client.start_all().await.expect("start all");
    let started = sim.state().running().len();
    assert!(started > 1, "{started}");
    let report = client.wait_until_idle(quick()).await.expect("all end");
    assert_eq!(report.seen.len(), started);
    assert!(sim.state().running().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_cancellable_activity_is_cancelled_and_its_task_stops() {
    let sim = frozen()
        .cancellable_activities(true)
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim);
    client.start(TaskName::BackupDatabase).await.expect("start");
    let activity = client.activities().await.expect("activities")[0].clone();
    assert!(activity.cancellable);
    assert_eq!(
        client
            .cancel_activity(&activity.uuid)
            .await
            .expect("cancel"),
        CancelOutcome::Cancelled
    );
    assert!(client.activities().await.expect("activities").is_empty());
    assert!(sim.state().running().is_empty());
    assert_eq!(
        client
            .cancel_activity(&activity.uuid)
            .await
            .expect("cancel again"),
        CancelOutcome::NotFound
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_butler_activity_of_a_default_server_cannot_be_cancelled() {
    let sim = frozen().start().await.expect("simulator starts");
    let client = client(&sim);
    client.start(TaskName::BackupDatabase).await.expect("start");
    let uuid = client.activities().await.expect("activities")[0]
        .uuid
        .clone();
    let error = client
        .cancel_activity(&uuid)
        .await
        .expect_err("not cancellable");
    assert!(
        matches!(&error, Error::NotCancellable { activity, .. } if *activity == uuid),
        "{error:?}"
    );
    assert_eq!(sim.state().running(), ["BackupDatabase"]);
    sim.shutdown().await;
}

#[test]
fn the_blocking_client_starts_and_waits_too() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sim = runtime
        .block_on(
            frozen()
                .advance_clock_on_activities(Duration::from_secs(10))
                .start(),
        )
        .expect("simulator starts");
    let client = plex_butler::blocking::Client::builder(sim.url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let (outcome, report) = client
        .start_and_wait(TaskName::BackupDatabase, quick())
        .expect("started and ended");
    assert_eq!(outcome, StartOutcome::Started);
    assert!(report.saw_activity);
    assert_eq!(report.seen[0].progress, Some(50));
    runtime.block_on(sim.shutdown());
}

// Plans.

/// A plan of `tasks` that looks every millisecond or two.
fn quick_plan<'a>(tasks: &[TaskName]) -> Plan<'a> {
    Plan::new(tasks.iter().cloned())
        .poll_interval(Duration::from_millis(1))
        .max_poll_interval(Duration::from_millis(2))
        .wait_timeout(Duration::from_secs(20))
        // As `quick`: the looks alone move the clock.
        .polling_only(true)
}

/// What a plan told its callback, in short.
fn event_log(events: &Mutex<Vec<String>>, event: &PlanEvent<'_>) {
    let line = match event {
        PlanEvent::StepStarting { task, .. } => format!("start {task}"),
        PlanEvent::Busy { watching, .. } => format!("busy {watching}"),
        PlanEvent::Started { outcome, .. } => outcome.to_string(),
        PlanEvent::Progress { progress, .. } => format!(
            "look {:?}",
            progress
                .activities
                .iter()
                .map(|a| a.progress)
                .collect::<Vec<_>>()
        ),
        PlanEvent::StepFinished { report } => format!("end {}: {}", report.task, report.outcome),
        other => format!("{other:?}"),
    };
    events.lock().expect("log").push(line);
}

#[tokio::test]
async fn a_plan_runs_its_tasks_in_order_each_to_its_end() {
    let sim = frozen()
        .advance_clock_on_activities(Duration::from_secs(5))
        .start()
        .await
        .expect("simulator starts");
    let events = Mutex::new(Vec::new());
    let plan = quick_plan(&[TaskName::BackupDatabase, TaskName::OptimizeDatabase])
        .on_event(|event| event_log(&events, event));
    let report = client(&sim).run_plan(&plan).await.expect("plan runs");
    assert!(report.succeeded());
    let tasks: Vec<&TaskName> = report.steps.iter().map(|s| &s.task).collect();
    assert_eq!(
        tasks,
        [&TaskName::BackupDatabase, &TaskName::OptimizeDatabase]
    );
    assert!(report.steps.iter().all(|s| s.saw_activity));
    assert!(report.steps[0].started_at <= report.steps[1].started_at);
    drop(plan);
    let looks = [
        "look [Some(25)]",
        "look [Some(50)]",
        "look [Some(75)]",
        "look []",
    ];
    let mut expected = vec!["start BackupDatabase", "started"];
    expected.extend(looks);
    expected.extend([
        "end BackupDatabase: done",
        "start OptimizeDatabase",
        "started",
    ]);
    expected.extend(looks);
    expected.push("end OptimizeDatabase: done");
    assert_eq!(events.into_inner().expect("log"), expected);
    // On the server's clock, the second began as the first ended: 20 s of
    // work each, one after the other.
    let state = sim.state();
    let ended = |name: &str| state.task(name).and_then(|t| t.last_run);
    let (first, second) = (ended("BackupDatabase"), ended("OptimizeDatabase"));
    assert!(first.is_some() && second.is_some());
    assert_eq!(
        second.zip(first).map(|(b, a)| (b - a).num_seconds()),
        Some(20)
    );
    assert!(state.running().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_step_stops_the_plan_unless_it_keeps_going() {
    let sim = frozen()
        .advance_clock_on_activities(Duration::from_secs(10))
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim);
    let steps = [
        TaskName::Other("NoSuchTask".into()),
        TaskName::CleanOldBundles,
    ];
    let report = client
        .run_plan(&quick_plan(&steps))
        .await
        .expect("plan runs");
    assert!(!report.succeeded());
    assert!(matches!(
        report.steps[0].outcome,
        StepOutcome::Failed(Error::UnknownTask { .. })
    ));
    assert_eq!(report.steps[0].start, None);
    assert!(matches!(report.steps[1].outcome, StepOutcome::Skipped));
    assert_eq!(report.failures().count(), 1);
    let ran = |name: &str| sim.state().task(name).and_then(|t| t.last_run).is_some();
    assert!(!ran("CleanOldBundles"), "skipped: never started");

    let report = client
        .run_plan(&quick_plan(&steps).keep_going(true))
        .await
        .expect("plan runs");
    assert!(matches!(report.steps[0].outcome, StepOutcome::Failed(_)));
    assert!(matches!(report.steps[1].outcome, StepOutcome::Started));
    assert!(ran("CleanOldBundles"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_step_whose_wait_times_out_while_its_task_runs_says_it_started_and_saw_the_work() {
    // The clock stands still: the task runs and never ends.
    let sim = frozen().start().await.expect("simulator starts");
    let plan = quick_plan(&[TaskName::BackupDatabase, TaskName::OptimizeDatabase])
        .wait_timeout(Duration::from_millis(100));
    let report = client(&sim).run_plan(&plan).await.expect("plan runs");
    let step = &report.steps[0];
    assert!(
        matches!(
            step.outcome,
            StepOutcome::Failed(Error::WaitTimedOut { .. })
        ),
        "{step:?}"
    );
    assert_eq!(step.start, Some(StartOutcome::Started));
    assert!(step.saw_activity, "its work was seen running: {step:?}");
    assert!(matches!(report.steps[1].outcome, StepOutcome::Skipped));
    assert!(!report.steps[1].saw_activity);
    assert_eq!(sim.state().running(), ["BackupDatabase"], "it goes on");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_plan_that_waits_for_idle_starts_once_the_watching_ends() {
    let sim = frozen()
        .sessions(1)
        .advance_clock_on_activities(Duration::from_secs(10))
        .start()
        .await
        .expect("simulator starts");
    let events = Mutex::new(Vec::new());
    let plan = quick_plan(&[TaskName::BackupDatabase])
        .when_idle(true)
        .on_event(|event| {
            if let PlanEvent::Busy { .. } = event {
                // The film ends while the plan waits.
                assert_eq!(sim.state().running(), Vec::<&str>::new());
                sim.set_sessions(0).expect("nobody watches");
            }
            event_log(&events, event);
        });
    let report = client(&sim).run_plan(&plan).await.expect("plan runs");
    drop(plan);
    assert!(report.succeeded(), "{:?}", report.steps);
    let events = events.into_inner().expect("log");
    assert_eq!(events[..2], ["start BackupDatabase", "busy 1"]);
    assert_eq!(
        events.last().map(String::as_str),
        Some("end BackupDatabase: done")
    );
    assert!(
        sim.state()
            .task("BackupDatabase")
            .is_some_and(|t| t.last_run.is_some())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_plan_that_waits_for_idle_never_starts_while_someone_watches() {
    let sim = frozen()
        .sessions(2)
        .start()
        .await
        .expect("simulator starts");
    let plan = quick_plan(&[TaskName::BackupDatabase, TaskName::OptimizeDatabase])
        .when_idle(true)
        .wait_timeout(Duration::from_millis(50));
    let report = client(&sim).run_plan(&plan).await.expect("plan runs");
    let StepOutcome::NotStartedBusy(error) = &report.steps[0].outcome else {
        panic!("expected NotStartedBusy, got {:?}", report.steps[0]);
    };
    assert!(
        matches!(error, Error::WaitTimedOut { watching: 2, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("watching (2 playbacks)"), "{message}");
    assert!(message.contains("nothing was started"), "{message}");
    assert!(matches!(report.steps[1].outcome, StepOutcome::Skipped));
    let state = sim.state();
    assert!(state.running().is_empty() && state.scheduled().is_empty());
    assert!(state.tasks.iter().all(|t| t.last_run.is_none()));
    sim.shutdown().await;
}

#[test]
fn the_blocking_client_runs_a_plan_too() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sim = runtime
        .block_on(
            frozen()
                .advance_clock_on_activities(Duration::from_secs(10))
                .start(),
        )
        .expect("simulator starts");
    let client = plex_butler::blocking::Client::builder(sim.url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let report = client
        .run_plan(&quick_plan(&[TaskName::BackupDatabase]))
        .expect("plan runs");
    assert!(matches!(report.steps[0].outcome, StepOutcome::Started));
    assert!(report.steps[0].saw_activity);
    runtime.block_on(sim.shutdown());
}
