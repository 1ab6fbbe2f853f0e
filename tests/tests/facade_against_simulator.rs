//! The facade against the simulator over real sockets: every outcome the
//! facade promises, produced by a server that behaves like Plex.

use std::time::{Duration, Instant};

use plex_butler::{Client, Error, RetryPolicy, StartOutcome, StopOutcome, TaskName};
use plex_butler_sim::{FaultPlan, Preset, Simulator, Trigger};

const TOKEN: &str = "facade-sim-token-81c4";

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(3)
        .start()
        .await
        .expect("simulator starts")
}

fn client(sim: &Simulator) -> Client {
    Client::builder(sim.url())
        .token(TOKEN)
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .seeded(1),
        )
        .build()
        .expect("client")
}

#[tokio::test]
async fn tasks_are_the_real_servers_23() {
    let sim = sim().await;
    let tasks = client(&sim).tasks().await.expect("list");
    assert_eq!(tasks.len(), 23);
    let backup = tasks
        .iter()
        .find(|t| t.name == TaskName::BackupDatabase)
        .expect("BackupDatabase");
    assert_eq!(backup.interval_days, 3);
    assert!(backup.enabled);
    assert_eq!(backup.title.as_deref(), Some("Backup Database"));
    let unknown_to_spec = tasks.iter().filter(|t| !t.name.is_known()).count();
    assert_eq!(
        unknown_to_spec, 0,
        "the spec knows every name of the real capture"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn start_then_start_again_reports_already_running() {
    let sim = sim().await;
    let client = client(&sim);
    assert_eq!(
        client.start(TaskName::BackupDatabase).await.expect("start"),
        StartOutcome::Started
    );
    assert!(
        sim.state()
            .status("BackupDatabase")
            .is_some_and(|s| s.is_running())
    );
    assert_eq!(
        client
            .start(TaskName::BackupDatabase)
            .await
            .expect("start again"),
        StartOutcome::AlreadyRunning
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn stop_of_running_task_stops_it_and_then_reports_not_running() {
    let sim = sim().await;
    let client = client(&sim);
    client
        .start(TaskName::OptimizeDatabase)
        .await
        .expect("start");
    assert_eq!(
        client.stop(TaskName::OptimizeDatabase).await.expect("stop"),
        StopOutcome::Stopped
    );
    assert_eq!(
        client
            .stop(TaskName::OptimizeDatabase)
            .await
            .expect("stop again"),
        StopOutcome::NotRunning
    );
    sim.state().check_invariants().expect("invariants");
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_task_on_start_and_stop_is_an_error_with_a_suggestion() {
    let sim = sim().await;
    let client = client(&sim);
    for result in [
        client
            .start("BackupDatabse".parse::<TaskName>().expect("name"))
            .await
            .map(|_| ()),
        client
            .stop("BackupDatabse".parse::<TaskName>().expect("name"))
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(Error::UnknownTask {
                name, suggestion, ..
            }) => {
                assert_eq!(name.as_str(), "BackupDatabse");
                assert_eq!(suggestion, Some(TaskName::BackupDatabase));
            }
            other => panic!("expected UnknownTask, got {other:?}"),
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_token_is_unauthorized_and_the_message_says_to_check_it() {
    let sim = sim().await;
    let client = Client::builder(sim.url())
        .token("wrong-token-value")
        .build()
        .expect("client");
    let err = client.tasks().await.expect_err("401");
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(401));
    let message = err.to_string();
    assert!(message.contains("token"), "{message}");
    assert!(!message.contains("wrong-token-value"));
    sim.shutdown().await;
}

#[tokio::test]
async fn start_all_and_stop_all_change_the_servers_state() {
    let sim = sim().await;
    let client = client(&sim);
    client.start_all().await.expect("start all");
    let busy = sim.state();
    assert!(!busy.running().is_empty() || !busy.scheduled().is_empty());
    client.stop_all().await.expect("stop all");
    let quiet = sim.state();
    assert!(quiet.running().is_empty(), "{:?}", quiet.running());
    assert!(quiet.scheduled().is_empty(), "{:?}", quiet.scheduled());
    quiet.check_invariants().expect("invariants");
    sim.shutdown().await;
}

#[tokio::test]
async fn service_unavailable_then_ok_is_retried_to_success() {
    let sim = sim().await;
    sim.set_faults(FaultPlan::none().status(503, Trigger::Next(2)))
        .expect("faults");
    let tasks = client(&sim).tasks().await.expect("retried to success");
    assert_eq!(tasks.len(), 23);
    sim.shutdown().await;
}

#[tokio::test]
async fn exhausted_retries_report_the_last_status() {
    let sim = sim().await;
    sim.set_faults(FaultPlan::none().status(503, Trigger::Always))
        .expect("faults");
    let err = client(&sim).tasks().await.expect_err("always 503");
    assert_eq!(err.status(), Some(503), "{err:?}");
    assert!(err.is_retryable());
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_server_past_the_timeout_is_a_timeout_not_a_hang() {
    let sim = sim().await;
    sim.set_faults(FaultPlan::none().latency(Duration::from_secs(10)))
        .expect("faults");
    let client = Client::builder(sim.url())
        .token(TOKEN)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let started = Instant::now();
    let err = client.tasks().await.expect_err("timeout");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_and_truncated_bodies_are_clear_errors() {
    let sim = sim().await;
    let client = Client::builder(sim.url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    sim.set_faults(FaultPlan::none().garbage_body(Trigger::Next(1)))
        .expect("faults");
    let garbage = client.tasks().await.expect_err("garbage");
    assert!(matches!(garbage, Error::Decode { .. }), "{garbage:?}");

    sim.set_faults(FaultPlan::none().truncate_body(Trigger::Next(1)))
        .expect("faults");
    let truncated = client.tasks().await.expect_err("truncated");
    assert!(
        matches!(
            truncated,
            Error::Decode { .. } | Error::ConnectionLost { .. }
        ),
        "{truncated:?}"
    );

    sim.set_faults(FaultPlan::none().drop_connection(Trigger::Next(1)))
        .expect("faults");
    let dropped = client.tasks().await.expect_err("dropped");
    assert!(dropped.is_retryable(), "{dropped:?}");

    // And the server is fine afterwards.
    assert_eq!(client.tasks().await.expect("healthy again").len(), 23);
    sim.shutdown().await;
}

#[test]
fn blocking_client_works_against_the_simulator() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sim = runtime.block_on(sim());
    let url = sim.url().to_string();
    let client = plex_butler::blocking::Client::builder(url)
        .token(TOKEN)
        .build()
        .expect("blocking client");
    assert_eq!(client.tasks().expect("list").len(), 23);
    assert_eq!(
        client.start(TaskName::CleanOldBundles).expect("start"),
        StartOutcome::Started
    );
    runtime.block_on(sim.shutdown());
}

#[tokio::test]
async fn a_timeout_of_duration_max_means_no_limit_not_a_panic() {
    let sim = sim().await;
    let client = Client::builder(sim.url())
        .token(TOKEN)
        .timeout(Duration::MAX)
        .build()
        .expect("client");
    assert_eq!(client.tasks().await.expect("list").len(), 23);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wait_shorter_than_its_grace_with_nothing_running_ends_without_error() {
    let sim = sim().await;
    let report = client(&sim)
        .wait_until_idle(
            plex_butler::WaitOptions::new()
                .timeout(Duration::from_millis(300))
                .grace(Duration::from_secs(3))
                .poll_interval(Duration::from_millis(50)),
        )
        .await
        .expect("nothing ran, so the wait is over");
    assert!(!report.saw_activity);
    assert!(report.polls >= 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn names_pass_as_plain_strings_and_an_empty_one_is_refused_before_sending() {
    let sim = sim().await;
    let client = client(&sim);
    assert_eq!(
        client.start("backupdatabase").await.expect("start"),
        StartOutcome::Started
    );
    assert_eq!(
        client
            .stop(String::from("BackupDatabase"))
            .await
            .expect("stop"),
        StopOutcome::Stopped
    );
    let error = client.start("").await.expect_err("empty");
    assert!(matches!(error, Error::InvalidTaskName { .. }), "{error:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_unauthorized_498_said_as_expired_and_not_retried() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .token_expired(true)
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim);
    let started = Instant::now();
    let error = client.tasks().await.expect_err("498");
    assert!(
        matches!(error, Error::Unauthorized { status: 498, .. }),
        "{error:?}"
    );
    assert!(error.is_token_expired());
    assert_eq!(error.status(), Some(498));
    assert!(
        error.to_string().contains("the token has expired"),
        "{error}"
    );
    assert!(!error.to_string().contains(TOKEN));
    // Not retried: a new token is needed, not another try.
    assert!(!error.is_retryable(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    sim.set_token_expired(false);
    assert_eq!(client.tasks().await.expect("list again").len(), 23);
    let wrong = Client::builder(sim.url())
        .token("not-the-token")
        .build()
        .expect("client");
    sim.set_token_expired(true);
    let error = wrong.tasks().await.expect_err("401");
    assert!(
        !error.is_token_expired(),
        "a wrong token stays a 401: {error:?}"
    );
    sim.shutdown().await;
}
