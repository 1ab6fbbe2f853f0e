//! `watch`: Butler work as it happens, from the simulator's event stream,
//! as JSON Lines and as text; its endings (`--until-idle`, `--for`, a
//! signal, an error) and an end missed while the stream was down.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use plex_butler_sim::{Clock, FaultPlan, ManualClock, Preset, Simulator, SimulatorBuilder};
use serde_json::Value;

use crate::common::{
    self, Watched, assert_matches_schema, bare_cmd, bare_process, code, stderr, stdout,
};

const TOKEN: &str = "watch-test-token-3c9a71";

fn builder(aggregate: bool) -> SimulatorBuilder {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(7)
        .aggregate_butler_activity(aggregate)
}

/// A simulator of the given activity shape whose tasks run `task`.
async fn running(aggregate: bool, task: Duration) -> Simulator {
    builder(aggregate)
        .task_duration(task)
        .start()
        .await
        .expect("simulator starts")
}

/// The binary pointed at `sim`, with a config directory of its own.
fn cmd(sim: &Simulator, home: &tempfile::TempDir) -> assert_cmd::Command {
    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_URL", sim.url()).env("PLEX_TOKEN", TOKEN);
    cmd
}

fn process(sim: &Simulator, home: &tempfile::TempDir) -> std::process::Command {
    let mut cmd = bare_process(home.path());
    cmd.env("PLEX_URL", sim.url()).env("PLEX_TOKEN", TOKEN);
    cmd
}

/// Starts a task through the command, as a user would.
async fn start(sim: &Simulator, home: &tempfile::TempDir, task: &str) {
    let mut start = cmd(sim, home);
    start.args(["start", task]);
    let out = common::run_without(start, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// Waits (at most 30 s) until `sim` runs a task.
async fn until_running(sim: &Simulator) {
    let until = Instant::now() + Duration::from_secs(30);
    while sim.state().running().is_empty() {
        assert!(Instant::now() < until, "no task started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The JSON Lines of `out`, each checked against the schema.
fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|line| {
            assert_matches_schema(line);
            serde_json::from_str(line).expect("a line is one JSON object")
        })
        .collect()
}

fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == event).collect()
}

/// Starts BackupDatabase on a simulator of the given activity shape, then
/// `watch -o json --until-idle`: the lines it printed.
async fn watch_a_run(aggregate: bool) -> Vec<Value> {
    let sim = builder(aggregate)
        .task_duration(Duration::from_secs(3))
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    start(&sim, &home, "BackupDatabase").await;
    let mut watch = cmd(&sim, &home);
    watch.args(["-o", "json", "watch", "--until-idle"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(sim.state().running().is_empty(), "it ended before the work");
    lines(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_until_idle_reports_the_start_and_end_of_a_plans_work_then_exits_0() {
    let sim = running(false, Duration::from_secs(3)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut plan = process(&sim, &home);
    plan.args(["run", "BackupDatabase"]);
    let plan = Watched::spawn(plan);
    until_running(&sim).await;
    let mut watch = cmd(&sim, &home);
    watch.args(["-o", "json", "watch", "--until-idle"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = lines(&out);
    let started = events(&lines, "started");
    let ended = events(&lines, "ended");
    assert_eq!((started.len(), ended.len()), (1, 1), "{lines:?}");
    assert_eq!(started[0]["activity"]["type"], "butler");
    assert_eq!(ended[0]["uuid"], started[0]["activity"]["uuid"]);
    assert_eq!(ended[0]["end_seen_live"], true);
    assert_eq!(ended[0]["reconciled"], false);
    assert!(ended[0]["duration_ms"].as_u64().is_some(), "{lines:?}");
    assert_eq!(
        lines.last().map(|l| &l["event"]),
        Some(&Value::from("idle"))
    );
    assert!(
        lines
            .iter()
            .all(|l| l["command"] == "watch" && l.get("profile").is_none())
    );
    let plan = tokio::task::spawn_blocking(move || plan.finish(TOKEN))
        .await
        .expect("join");
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_one_activity_per_task() {
    let lines = watch_a_run(false).await;
    let ended = events(&lines, "ended");
    assert_eq!(ended.len(), 1, "{lines:?}");
    assert_eq!(ended[0]["activity"]["type"], "butler");
    assert_ne!(ended[0]["activity"]["title"], "Butler tasks", "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_the_aggregate_butler_tasks_activity_as_the_server_shows_it() {
    let lines = watch_a_run(true).await;
    let ended = events(&lines, "ended");
    assert_eq!(ended.len(), 1, "{lines:?}");
    assert_eq!(ended[0]["activity"]["title"], "Butler tasks");
    assert_eq!(
        events(&lines, "started")[0]["activity"]["title"],
        "Butler tasks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_for_ends_after_its_time_with_exit_code_0() {
    let sim = builder(false).start().await.expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = cmd(&sim, &home);
    watch.args(["watch", "--for", "1s"]);
    let began = Instant::now();
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(began.elapsed() >= Duration::from_secs(1));
    assert_eq!(stdout(&out), "", "nothing ran");
    assert!(stderr(&out).contains("watching"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_as_text_says_a_line_per_start_and_per_end_with_its_duration_and_the_progress() {
    let sim = running(true, Duration::from_secs(2)).await;
    let home = tempfile::tempdir().expect("temp dir");
    start(&sim, &home, "BackupDatabase").await;
    let mut watch = cmd(&sim, &home);
    watch.args(["watch", "--all", "--until-idle"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("started  Butler tasks"), "{text}");
    assert!(lines[1].contains("ended    Butler tasks  after "), "{text}");
    assert!(lines[2].contains("idle: no Butler work is left"), "{text}");
    // The progress, on stderr, as `--wait` shows it off a terminal.
    assert!(
        stderr(&out).contains("Butler tasks: done"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_of_two_profiles_tags_each_line_with_its_profile() {
    let a = running(false, Duration::from_secs(2)).await;
    let b = running(true, Duration::from_secs(3)).await;
    let home = tempfile::tempdir().expect("temp dir");
    start(&a, &home, "BackupDatabase").await;
    start(&b, &home, "BackupDatabase").await;
    common::write_profiles(home.path(), &[("a", a.url()), ("b", b.url())], TOKEN);
    let mut watch = bare_cmd(home.path());
    watch.args(["-o", "json", "--all-profiles", "watch", "--until-idle"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = lines(&out);
    for profile in ["a", "b"] {
        let ended = events(&lines, "ended");
        let own = ended.iter().filter(|l| l["profile"] == profile).count();
        assert_eq!(own, 1, "{lines:?}");
    }
    assert!(
        lines
            .iter()
            .all(|l| l["profile"] == "a" || l["profile"] == "b")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_asks_every_server_at_once_whatever_jobs_says() {
    // Time stands still on both servers until the test moves it: a's work
    // never ends by itself, so had `--jobs 1` held b back until a was
    // done, b would never be watched.
    let frozen = || {
        builder(true)
            .clock(ManualClock::at(Clock::system().now()))
            .task_duration(Duration::from_secs(20))
            .start()
    };
    let a = frozen().await.expect("simulator starts");
    let b = frozen().await.expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    start(&a, &home, "BackupDatabase").await;
    start(&b, &home, "BackupDatabase").await;
    common::write_profiles(home.path(), &[("a", a.url()), ("b", b.url())], TOKEN);
    let mut watch = bare_process(home.path());
    watch.args([
        "--jobs",
        "1",
        "-o",
        "json",
        "--all-profiles",
        "watch",
        "--until-idle",
    ]);
    let mut watch = Watched::spawn(watch);
    watch.wait_for("[a] watching");
    watch.wait_for("[b] watching");
    a.clock().advance(Duration::from_secs(60));
    b.clock().advance(Duration::from_secs(60));
    let out = tokio::task::spawn_blocking(move || watch.finish(TOKEN))
        .await
        .expect("join");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = lines(&out);
    let ended_b = events(&lines, "ended")
        .iter()
        .filter(|l| l["profile"] == "b")
        .count();
    assert_eq!(ended_b, 1, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_missed_while_the_stream_was_down_is_reported_reconciled() {
    // Time stands still until the test moves it; every stream closes a
    // second after it opened.
    let sim = builder(true)
        .clock(ManualClock::at(Clock::system().now()))
        .task_duration(Duration::from_secs(20))
        .faults(FaultPlan::none().events_close_after_time(Duration::from_secs(1)))
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    start(&sim, &home, "BackupDatabase").await;
    let mut watch = process(&sim, &home);
    watch.args(["-vv", "-o", "json", "watch", "--until-idle"]);
    let mut watch = Watched::spawn(watch);
    watch.wait_for("watching");
    watch.wait_for("event stream lost; reconnecting");
    // The stream is down: the task ends now.
    sim.clock().advance(Duration::from_secs(60));
    let out = tokio::task::spawn_blocking(move || watch.finish(TOKEN))
        .await
        .expect("join");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = lines(&out);
    let ended = events(&lines, "ended");
    assert_eq!(ended.len(), 1, "{lines:?}");
    assert_eq!(ended[0]["reconciled"], true);
    assert_eq!(ended[0]["end_seen_live"], false);
    assert_eq!(ended[0]["activity"]["title"], "Butler tasks");
    assert!(!events(&lines, "reconnected").is_empty(), "{lines:?}");
}

/// Sends `signal` to a `watch -o json` while a task runs: what it printed.
async fn signal_during_watch(signal: Signal) -> (std::process::Output, Simulator) {
    let sim = builder(true)
        .clock(ManualClock::at(Clock::system().now()))
        .task_duration(Duration::from_secs(20))
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    start(&sim, &home, "BackupDatabase").await;
    let mut watch = process(&sim, &home);
    watch.args(["-o", "json", "watch"]);
    let mut watch = Watched::spawn(watch);
    watch.wait_for("watching");
    let pid = Pid::from_raw(i32::try_from(watch.pid()).expect("pid"));
    kill(pid, signal).expect("signal");
    let out = tokio::task::spawn_blocking(move || watch.finish(TOKEN))
        .await
        .expect("join");
    (out, sim)
}

/// Asserts the lines of a watch stopped by a signal: the start seen, then
/// an `interrupted` error with `exit_code`.
fn assert_stopped(out: &std::process::Output, exit_code: i32) {
    assert_eq!(code(out), exit_code, "{}", stderr(out));
    let lines = lines(out);
    assert_eq!(events(&lines, "started").len(), 1, "{lines:?}");
    let error = events(&lines, "error");
    assert_eq!(error.len(), 1, "{lines:?}");
    assert_eq!(error[0]["error"]["kind"], "interrupted");
    assert_eq!(error[0]["error"]["exit_code"], exit_code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_watch_with_what_was_seen_and_exit_code_143() {
    let (out, sim) = signal_during_watch(Signal::SIGTERM).await;
    assert_stopped(&out, 143);
    assert_eq!(
        sim.state().running(),
        ["BackupDatabase"],
        "the work goes on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_the_watch_with_what_was_seen_and_exit_code_130() {
    let (out, _sim) = signal_during_watch(Signal::SIGINT).await;
    assert_stopped(&out, 130);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_events_is_a_clear_error_with_exit_code_1() {
    let sim = builder(false)
        .events(false)
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = cmd(&sim, &home);
    watch.args(["-o", "json", "watch"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("offers no event stream"),
        "{}",
        stderr(&out)
    );
    let lines = lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["event"], "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_ends_the_watch_with_exit_code_3() {
    let sim = builder(false).start().await.expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = bare_cmd(home.path());
    watch
        .env("PLEX_URL", sim.url())
        .env("PLEX_TOKEN", "not-the-token")
        .args(["watch"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_wait_ends_on_the_aggregate_activity_through_events() {
    let sim = running(true, Duration::from_secs(1)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut wait = cmd(&sim, &home);
    wait.args(["-o", "json", "start", "BackupDatabase", "--wait"]);
    let out = common::run_without(wait, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let document: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(document["wait"]["done"], true, "{document}");
    assert_eq!(document["wait"]["activities"][0]["title"], "Butler tasks");
    assert!(sim.state().running().is_empty());
}

/// A scripted server listing one activity of `kind` titled `title`, whose
/// event stream sends a ping and closes (and so is opened again).
fn scripted_with_activity(kind: &'static str, title: &'static str) -> common::Scripted {
    common::Scripted::start(move |_method, path| {
        if path.starts_with("/activities") {
            let body = format!(
                r#"{{"MediaContainer":{{"size":1,"Activity":[{{"uuid":"u1","type":"{kind}","cancellable":false,"userID":1,"title":"{title}","subtitle":"","progress":40}}]}}}}"#
            );
            (200, Vec::new(), body)
        } else if path.starts_with("/:/eventsource/notifications") {
            (200, Vec::new(), "event: ping\ndata: {}\n\n".to_owned())
        } else {
            (404, Vec::new(), String::new())
        }
    })
}

fn scripted_cmd(server: &common::Scripted, home: &tempfile::TempDir) -> assert_cmd::Command {
    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_URL", server.url()).env("PLEX_TOKEN", TOKEN);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_all_shows_activities_that_are_not_butler_work_and_watch_alone_does_not() {
    let server = scripted_with_activity("library.refresh.items", "Refreshing");
    let home = tempfile::tempdir().expect("temp dir");
    let mut all = scripted_cmd(&server, &home);
    all.args(["-o", "json", "watch", "--all", "--for", "1500ms"]);
    let out = common::run_without(all, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let seen = lines(&out);
    let started = events(&seen, "started");
    assert_eq!(
        started.len(),
        1,
        "once, however often the stream reconnects: {seen:?}"
    );
    assert_eq!(started[0]["activity"]["type"], "library.refresh.items");
    assert_eq!(started[0]["live"], false);

    let mut butler_only = scripted_cmd(&server, &home);
    butler_only.args(["-o", "json", "watch", "--for", "1500ms"]);
    let out = common::run_without(butler_only, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        events(&lines(&out), "started").is_empty(),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_as_text_escapes_what_the_server_sends() {
    let server = scripted_with_activity("butler", "Evil\\u001b]0;pwned\\u0007Task");
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = scripted_cmd(&server, &home);
    watch.args(["watch", "--for", "1s"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("started  Evil\\u{1b}]0;pwned\\u{7}Task"),
        "{text:?}"
    );
    assert!(
        !text.contains('\u{1b}') && !stderr(&out).contains('\u{1b}'),
        "{text:?}"
    );
}

/// A scripted server listing `listed` (JSON array entries), whose event
/// stream sends `stream` and closes (and so is opened again).
fn scripted_stream(listed: &'static str, stream: &'static str) -> common::Scripted {
    common::Scripted::start(move |_method, path| {
        if path.starts_with("/activities") {
            let body = format!(r#"{{"MediaContainer":{{"size":1,"Activity":[{listed}]}}}}"#);
            (200, Vec::new(), body)
        } else if path.starts_with("/:/eventsource/notifications") {
            (200, Vec::new(), stream.to_owned())
        } else {
            (404, Vec::new(), String::new())
        }
    })
}

const LISTED_A_AND_B: &str = r#"{"uuid":"A","type":"butler","cancellable":false,"userID":1,"title":"Task A","subtitle":"","progress":10},{"uuid":"B","type":"butler","cancellable":false,"userID":1,"title":"Task B","subtitle":"","progress":10}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_until_idle_ends_when_late_news_of_an_ended_activity_came() {
    let server = scripted_stream(
        LISTED_A_AND_B,
        concat!(
            "event: activity\ndata: {\"ActivityNotification\":{\"event\":\"ended\",\"uuid\":\"A\"}}\n\n",
            "event: activity\ndata: {\"ActivityNotification\":{\"event\":\"updated\",\"uuid\":\"A\",\"Activity\":{\"uuid\":\"A\",\"type\":\"butler\",\"cancellable\":false,\"userID\":1,\"title\":\"Task A\",\"subtitle\":\"\",\"progress\":50}}}\n\n",
            "event: activity\ndata: {\"ActivityNotification\":{\"event\":\"ended\",\"uuid\":\"B\"}}\n\n",
        ),
    );
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = scripted_cmd(&server, &home);
    watch.args(["-o", "json", "watch", "--until-idle", "--for", "5s"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let seen = lines(&out);
    assert_eq!(events(&seen, "ended").len(), 2, "{seen:?}");
    assert_eq!(
        seen.last().map(|l| &l["event"]),
        Some(&Value::from("idle")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_listed_and_then_announced_live_is_reported_started_once() {
    let server = scripted_stream(
        r#"{"uuid":"u1","type":"butler","cancellable":false,"userID":1,"title":"Task","subtitle":"","progress":0}"#,
        "event: activity\ndata: {\"ActivityNotification\":{\"event\":\"started\",\"uuid\":\"u1\",\"Activity\":{\"uuid\":\"u1\",\"type\":\"butler\",\"cancellable\":false,\"userID\":1,\"title\":\"Task\",\"subtitle\":\"\",\"progress\":0}}}\n\n",
    );
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = scripted_cmd(&server, &home);
    watch.args(["-o", "json", "watch", "--for", "1500ms"]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let seen = lines(&out);
    assert_eq!(events(&seen, "started").len(), 1, "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_ends_with_exit_code_0_once_the_reader_of_its_output_goes_away() {
    use std::io::BufRead as _;
    // Every reconnect prints a line: there is always more to write.
    let server = scripted_with_activity("butler", "Task");
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = bare_process(home.path());
    watch
        .env("PLEX_URL", server.url())
        .env("PLEX_TOKEN", TOKEN)
        .args(["-o", "json", "watch", "--for", "60s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let status = tokio::task::spawn_blocking(move || {
        let mut child = watch.spawn().expect("the binary runs");
        let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("a first line");
        assert!(first.contains("\"started\""), "{first}");
        // `| head -1`: the reader goes away after one line.
        drop(reader);
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .expect("join");
    let status = status.expect("the watch ended once its reader went away");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_for_a_duration_past_any_clock_means_no_limit_not_a_panic() {
    let sim = builder(false).start().await.expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let mut watch = cmd(&sim, &home);
    watch.args([
        "-o",
        "json",
        "watch",
        "--until-idle",
        "--for",
        "400000000000y",
    ]);
    let out = common::run_without(watch, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        lines(&out).last().map(|l| l["event"].clone()),
        Some(Value::from("idle"))
    );
}
