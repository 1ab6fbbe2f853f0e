//! The facade against the simulator over real sockets: every outcome the
//! facade promises, produced by a server that behaves like Plex.

use std::time::{Duration, Instant};

use plex_butler::{
    Client, Error, MaintenanceWindow, RetryPolicy, SettingKind, SettingValue, StartOutcome,
    StopOutcome, TaskName,
};
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

// Settings and sessions.

#[tokio::test]
async fn settings_list_the_butlers_window_switches_and_behaviors() {
    let sim = sim().await;
    let client = client(&sim);
    let settings = client.settings().await.expect("settings");
    assert_eq!(settings.len(), sim.settings().len());
    let start = settings
        .iter()
        .find(|s| s.id == "ButlerStartHour")
        .expect("ButlerStartHour");
    assert_eq!(start.kind, SettingKind::Int);
    assert_eq!(start.value, SettingValue::Int(2));
    assert_eq!(start.choices.len(), 24);
    assert_eq!(start.choices[2].value, "2");

    let butler = client.butler_settings().await.expect("butler settings");
    assert_eq!(butler.window, MaintenanceWindow::new(2, 5).ok());
    let backup = butler
        .switch(&TaskName::BackupDatabase)
        .expect("BackupDatabase has a switch");
    assert_eq!(backup.setting, "ButlerTaskBackupDatabase");
    assert!(backup.enabled);
    assert!(
        butler
            .switch(&TaskName::RefreshLibraries)
            .is_some_and(|s| !s.enabled),
        "off by default"
    );
    assert!(butler.switch(&TaskName::AutomaticUpdates).is_none());
    let bif = butler
        .behaviors
        .iter()
        .find(|b| b.setting == "GenerateBIFBehavior")
        .expect("GenerateBIFBehavior");
    assert_eq!(bif.task, Some(TaskName::GenerateMediaIndexFiles));
    assert_eq!(bif.value, "never");
    assert_eq!(butler.behaviors.len(), 8);
    assert_eq!(butler.update_policy.as_deref(), Some("askme"));
    assert_eq!(butler.update_channel.as_deref(), Some("16"));
    assert!(
        butler
            .backup_directory
            .is_some_and(|d| d.ends_with("Databases"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn set_window_then_butler_settings_reads_the_new_window() {
    let sim = sim().await;
    let client = client(&sim);
    let late = MaintenanceWindow::new(23, 4).expect("hours");
    let held = client.set_window(late).await.expect("set window");
    assert_eq!(held, late, "the window read back");
    assert_eq!(sim.settings()["ButlerStartHour"], "23");
    assert_eq!(sim.settings()["ButlerEndHour"], "4");
    let window = client.butler_settings().await.expect("read").window;
    assert_eq!(window, Some(late));
    assert!(window.is_some_and(|w| w.spans_midnight()));
    let one = client.setting("ButlerEndHour").await.expect("one setting");
    assert_eq!(one.value, SettingValue::Int(4));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_windows_set_at_once_leave_one_of_them_never_a_mix() {
    let sim = sim().await;
    let (first, second) = (client(&sim), client(&sim));
    let early = MaintenanceWindow::new(1, 6).expect("hours");
    // Its end is the server's own 5: were only what differs sent, the
    // start alone would land on the other's end.
    let late = MaintenanceWindow::new(3, 5).expect("hours");
    let start = MaintenanceWindow::default();
    for round in 0..20 {
        first.set_window(start).await.expect("back to 2-5");
        let (a, b) = tokio::join!(first.set_window(early), second.set_window(late));
        for result in [&a, &b] {
            // The later change wins; the earlier one reads the other's
            // window back and says so.
            assert!(
                matches!(result, Ok(_) | Err(Error::SettingsNotApplied { .. })),
                "round {round}: {result:?}"
            );
        }
        assert!(a.is_ok() || b.is_ok(), "round {round}: one of them holds");
        let held = (
            sim.settings()["ButlerStartHour"].clone(),
            sim.settings()["ButlerEndHour"].clone(),
        );
        assert!(
            [("1", "6"), ("3", "5")].contains(&(held.0.as_str(), held.1.as_str())),
            "round {round}: the server holds {held:?}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_switched_off_task_lists_as_disabled_and_start_all_leaves_it_alone() {
    let sim = sim().await;
    let client = client(&sim);
    client
        .set_task_enabled(TaskName::BackupDatabase, false)
        .await
        .expect("switch off");
    assert_eq!(sim.settings()["ButlerTaskBackupDatabase"], "0");
    let tasks = client.tasks().await.expect("list");
    let backup = tasks
        .iter()
        .find(|t| t.name == TaskName::BackupDatabase)
        .expect("listed");
    assert!(!backup.enabled);

    client.start_all().await.expect("start all");
    let state = sim.state();
    let acted = |name: &str| state.status(name).is_some_and(|s| !s.is_idle());
    assert!(acted("OptimizeDatabase"), "start-all started the others");
    assert!(!acted("BackupDatabase"), "but not the one switched off");

    client
        .set_tasks_enabled([
            (TaskName::BackupDatabase, true),
            (TaskName::RefreshLibraries, true),
        ])
        .await
        .expect("switch on, two in one change");
    assert_eq!(sim.settings()["ButlerTaskBackupDatabase"], "1");
    assert_eq!(sim.settings()["ButlerTaskRefreshLibraries"], "1");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_task_without_a_switch_is_refused_before_anything_is_written() {
    let sim = sim().await;
    let client = client(&sim);
    let before = sim.settings();
    let error = client
        .set_tasks_enabled([
            (TaskName::BackupDatabase, false),
            (TaskName::AutomaticUpdates, false),
        ])
        .await
        .expect_err("AutomaticUpdates has no switch");
    let Error::NoTaskSwitch {
        task, switchable, ..
    } = &error
    else {
        panic!("expected NoTaskSwitch, got {error:?}");
    };
    assert_eq!(*task, TaskName::AutomaticUpdates);
    assert!(switchable.contains(&TaskName::BackupDatabase));
    let message = error.to_string();
    assert!(message.contains("AutomaticUpdates"), "{message}");
    assert!(message.contains("OptimizeDatabase"), "{message}");
    assert_eq!(sim.settings(), before, "nothing was written");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_setting_is_404_named_and_an_unknown_change_is_refused_naming_the_ids() {
    let sim = sim().await;
    let client = client(&sim);
    let error = client
        .setting("NoSuchSetting")
        .await
        .expect_err("unknown id");
    assert!(
        matches!(&error, Error::UnknownSetting { id, .. } if id == "NoSuchSetting"),
        "{error:?}"
    );
    assert_eq!(error.status(), Some(404));

    let before = sim.settings();
    let error = client
        .set_settings([("ButlerStartHour", "3"), ("NoSuchSetting", "1")])
        .await
        .expect_err("unknown id");
    let Error::SettingsRefused { status, ids, .. } = &error else {
        panic!("expected SettingsRefused, got {error:?}");
    };
    assert_eq!(*status, 400);
    assert_eq!(ids, &["ButlerStartHour", "NoSuchSetting"]);
    assert!(error.to_string().contains("\"NoSuchSetting\""), "{error}");
    assert_eq!(sim.settings(), before, "all or nothing");

    let error = client
        .set_settings([("ButlerStartHour", 24)])
        .await
        .expect_err("not an hour");
    assert!(matches!(error, Error::SettingsRefused { .. }), "{error:?}");
    let error = client
        .set_settings([(" ", true)])
        .await
        .expect_err("empty id");
    assert!(matches!(error, Error::InvalidSetting { .. }), "{error:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_400_right_after_a_change_of_settings_is_retried_as_real_servers_need() {
    let sim = sim().await;
    sim.set_faults(FaultPlan::none().bad_request_after_settings_change(2))
        .expect("faults");
    let client = client(&sim);
    client
        .set_settings([("ButlerTaskRefreshLibraries", true)])
        .await
        .expect("change");
    // The next two requests get 400 from the server; the client retries.
    let butler = client.butler_settings().await.expect("read after change");
    assert!(
        butler
            .switch(&TaskName::RefreshLibraries)
            .is_some_and(|s| s.enabled)
    );

    // A client that changed nothing has no reason to think a 400 passes.
    client
        .set_settings([("ButlerStartHour", 3)])
        .await
        .expect("another change");
    let other = Client::builder(sim.url())
        .token(TOKEN)
        .build()
        .expect("client");
    let error = other.tasks().await.expect_err("400 for another client");
    assert_eq!(error.status(), Some(400));
    assert_eq!(sim.settings()["ButlerStartHour"], "3");
    sim.shutdown().await;
}

#[tokio::test]
async fn sessions_count_the_playbacks_and_say_who_watches_what() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .sessions(2)
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim);
    let sessions = client.sessions().await.expect("sessions");
    assert_eq!(sessions.count, 2);
    assert!(!sessions.is_idle());
    let first = &sessions.playing[0];
    assert_eq!(first.title, "Big Buck Bunny");
    assert_eq!(first.kind, "movie");
    assert_eq!(first.user, "alice");
    assert_eq!(first.player, "Living Room TV");
    assert_eq!(first.state, "playing");
    assert_eq!(
        first.to_string(),
        "alice: Big Buck Bunny on Living Room TV (playing)"
    );
    sim.set_sessions(0).expect("nobody watches");
    let sessions = client.sessions().await.expect("sessions");
    assert!(sessions.is_idle());
    assert!(sessions.playing.is_empty());
    sim.shutdown().await;
}
