//! Keeping a server maintained: `settings`, `window`, `enable`, `disable`,
//! `apply`, `run` and `sessions`, the built binary against the simulator
//! over real sockets, read back through the simulator's own state.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use plex_butler_sim::{Clock, FaultPlan, ManualClock, Preset, Simulator, TaskSpec, Trigger};

use crate::common::{
    self, Watched, assert_matches_schema, bare_cmd, code, file_state, stderr, stdout,
};

const TOKEN: &str = "upkeep-test-token-7d41e0";

async fn start(builder: plex_butler_sim::SimulatorBuilder) -> Simulator {
    builder
        .token(TOKEN)
        .seed(11)
        .start()
        .await
        .expect("simulator starts")
}

/// A PMS 1.43.2 whose runs take `run`, on the system clock.
async fn sim(run: Duration) -> Simulator {
    start(
        Simulator::builder()
            .preset(Preset::Pms1_43_2)
            .task_duration(run),
    )
    .await
}

/// A PMS 1.43.2 whose time stands still: a run never ends.
async fn frozen() -> Simulator {
    start(
        Simulator::builder()
            .preset(Preset::Pms1_43_2)
            .clock(ManualClock::at(Clock::system().now())),
    )
    .await
}

/// The binary with `args` against `sim`, as a process to watch.
fn process(sim: &Simulator, home: &Path, args: &[&str]) -> std::process::Command {
    let mut process = common::bare_process(home);
    process
        .env("PLEX_URL", sim.url())
        .env("PLEX_TOKEN", TOKEN)
        .args(args);
    process
}

fn cmd(sim: &Simulator, home: &Path) -> Command {
    let mut cmd = bare_cmd(home);
    cmd.env("PLEX_URL", sim.url()).env("PLEX_TOKEN", TOKEN);
    cmd
}

async fn run(sim: &Simulator, home: &Path, args: &[&str]) -> Output {
    let mut command = cmd(sim, home);
    command.args(args);
    common::run_without(command, TOKEN).await
}

fn json(out: &Output) -> serde_json::Value {
    assert_matches_schema(&stdout(out));
    serde_json::from_str(&stdout(out)).expect("one JSON document")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_shows_the_window_the_switches_and_the_behaviours() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(&sim, home.path(), &["settings"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.starts_with("maintenance window: 02:00-05:00\n"),
        "{shown}"
    );
    assert!(
        shown.contains("RefreshLibraries         ButlerTaskRefreshLibraries         no"),
        "{shown}"
    );
    assert!(
        shown.contains("GenerateBIFBehavior            GenerateMediaIndexFiles"),
        "{shown}"
    );

    let out = run(&sim, home.path(), &["-o", "json", "settings"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["command"], "settings");
    assert_eq!(doc["window"]["start_hour"], 2);
    assert_eq!(doc["window"]["end_hour"], 5);
    let tasks = doc["tasks"].as_array().expect("tasks");
    let backup = tasks
        .iter()
        .find(|t| t["name"] == "BackupDatabase")
        .expect("BackupDatabase has a switch");
    assert_eq!(backup["setting"], "ButlerTaskBackupDatabase");
    assert_eq!(backup["enabled"], true);
    assert!(doc["behaviors"].as_array().is_some_and(|b| !b.is_empty()));
    assert!(doc["backup_directory"].is_string(), "{doc}");
    assert_eq!(doc["update_policy"], "askme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_set_moves_the_window_and_settings_reads_it_back() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(&sim, home.path(), &["window", "set", "22-4"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "server: {}\nmaintenance window: 22:00-04:00 (spans midnight), was 02:00-05:00\n",
            sim.url()
        )
    );
    assert_eq!(sim.settings()["ButlerStartHour"], "22");
    assert_eq!(sim.settings()["ButlerEndHour"], "4");

    let out = run(&sim, home.path(), &["window"]).await;
    assert_eq!(
        stdout(&out),
        "maintenance window: 22:00-04:00 (spans midnight)\n"
    );
    let out = run(&sim, home.path(), &["-o", "json", "settings"]).await;
    let doc = json(&out);
    assert_eq!(doc["window"]["start_hour"], 22);
    assert_eq!(doc["window"]["spans_midnight"], true);

    let out = run(&sim, home.path(), &["-o", "json", "window", "set", "22-4"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["changed"], false,
        "the same window again changes nothing"
    );
    assert_eq!(doc["previous"]["start_hour"], 22);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_set_with_a_bad_hour_exits_2_and_sends_nothing() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    for bad in ["1-24", "6", "a-b", "-3-4", "1:00-6:00"] {
        let out = run(&sim, home.path(), &["window", "set", bad]).await;
        assert_eq!(code(&out), 2, "{bad}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{bad} said nothing");
    }
    let out = run(&sim, home.path(), &["-o", "json", "window", "set", "3-99"]).await;
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["error"]["kind"], "usage");
    assert_eq!(sim.settings()["ButlerStartHour"], "2");
    assert_eq!(sim.settings()["ButlerEndHour"], "5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_turns_tasks_off_in_one_change_and_list_shows_them_disabled() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(
        &sim,
        home.path(),
        &["disable", "optimizedatabase", "RefreshLibraries"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "server: {}\nOptimizeDatabase: disabled\nRefreshLibraries: already disabled\n",
            sim.url()
        )
    );
    assert_eq!(sim.settings()["ButlerTaskOptimizeDatabase"], "0");

    let out = run(&sim, home.path(), &["-o", "json", "list"]).await;
    let doc = json(&out);
    let optimize = doc["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["name"] == "OptimizeDatabase"))
        .cloned()
        .expect("listed");
    assert_eq!(optimize["enabled"], false, "{optimize}");

    let out = run(
        &sim,
        home.path(),
        &["-o", "json", "enable", "OptimizeDatabase"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["tasks"][0]["setting"], "ButlerTaskOptimizeDatabase");
    assert_eq!(doc["tasks"][0]["enabled"], true);
    assert_eq!(doc["tasks"][0]["changed"], true);
    assert_eq!(sim.settings()["ButlerTaskOptimizeDatabase"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_without_a_switch_exits_4_naming_the_switchable_ones_and_nothing_changes() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let before = sim.settings();
    let out = run(
        &sim,
        home.path(),
        &["disable", "BackupDatabase", "AutomaticUpdates"],
    )
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("'AutomaticUpdates' has no switch"), "{said}");
    assert!(
        said.contains("tasks with a switch: BackupDatabase"),
        "{said}"
    );
    assert_eq!(
        sim.settings(),
        before,
        "the switchable task was not changed"
    );

    let out = run(
        &sim,
        home.path(),
        &["-o", "json", "enable", "ProcessAssets"],
    )
    .await;
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    assert_eq!(doc["error"]["kind"], "no_task_switch");
    assert_eq!(doc["tasks"], serde_json::json!([]));

    let out = run(&sim, home.path(), &["enable", "OptimiseDatabase"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("Did you mean 'OptimizeDatabase'?"));
}

const DESIRED: &str = "\
# nightly upkeep
[window]
start_hour = 1
end_hour = 6

[tasks]
OptimizeDatabase = false
backupdatabase = true
RefreshLibraries = true
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_shows_its_plan_dry_then_applies_it_then_has_nothing_to_change() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("upkeep.toml");
    std::fs::write(&file, DESIRED).expect("write");
    let kept = file_state(&file);
    let path = file.to_str().expect("UTF-8 path");
    let before = sim.settings();

    let out = run(&sim, home.path(), &["apply", path, "--dry-run"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "server: {}\n\
         SETTING                     FROM   TO\n\
         ButlerStartHour             2      1\n\
         ButlerEndHour               5      6\n\
         ButlerTaskOptimizeDatabase  true   false\n\
         ButlerTaskRefreshLibraries  false  true\n\
         dry run: nothing was changed\n",
            sim.url()
        )
    );
    assert_eq!(sim.settings(), before, "a dry run writes nothing");

    let out = run(&sim, home.path(), &["-o", "json", "apply", path]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["applied"], true);
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["changes"][0]["setting"], "ButlerStartHour");
    assert_eq!(doc["changes"][0]["from"], 2);
    assert_eq!(doc["changes"][0]["to"], 1);
    assert_eq!(doc["changes"][2]["to"], false);
    let after = sim.settings();
    assert_eq!(after["ButlerStartHour"], "1");
    assert_eq!(after["ButlerEndHour"], "6");
    assert_eq!(after["ButlerTaskOptimizeDatabase"], "0");
    assert_eq!(after["ButlerTaskRefreshLibraries"], "1");

    let out = run(&sim, home.path(), &["apply", path]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "server: {}\nnothing to change: the server already matches {path}\n",
            sim.url()
        )
    );
    let out = run(&sim, home.path(), &["-o", "json", "apply", path]).await;
    let doc = json(&out);
    assert_eq!(
        (doc["applied"].clone(), doc["changes"].clone()),
        (false.into(), serde_json::json!([]))
    );
    assert_eq!(file_state(&file), kept, "the file is only read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_a_mistaken_file_with_its_line_before_sending_anything() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let before = sim.settings();
    let cases = [
        ("[window]\nstart_hour = 1\nend_hour = 24\n", 2, "line 3"),
        (
            "[window]\nstart_hour = 1\nend_hour = 6\nlength = 2\n",
            2,
            "line 4",
        ),
        ("[tasks]\nBackupDatabase = \"yes\"\n", 2, "line 2"),
        (
            "[tasks]\nBackupDatabase = false\nAutomaticUpdates = false\n",
            4,
            "line 3",
        ),
        (
            "[tasks]\nOptimiseDatabase = false\n",
            4,
            "Did you mean 'OptimizeDatabase'?",
        ),
        (
            "[tasks]\nOptimizeDatabase = false\noptimizedatabase = true\n",
            2,
            "first on line 2",
        ),
        (
            "[window]\nstart_hour = 1\nend_hour = 6\n[tasks]\nNoSuchTask = true\n",
            4,
            "line 5",
        ),
    ];
    for (text, exit, words) in cases {
        let file = home.path().join("upkeep.toml");
        std::fs::write(&file, text).expect("write");
        let path = file.to_str().expect("UTF-8 path");
        let out = run(&sim, home.path(), &["apply", path]).await;
        assert_eq!(code(&out), exit, "{text}: {}", stderr(&out));
        assert!(stderr(&out).contains(words), "{text}: {}", stderr(&out));
        let out = run(&sim, home.path(), &["-o", "json", "apply", path]).await;
        let doc = json(&out);
        assert_eq!(doc["applied"], false, "{doc}");
        assert_eq!(doc["file"], path, "{doc}");
    }
    let out = run(&sim, home.path(), &["apply", "/nonexistent/upkeep.toml"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(sim.settings(), before, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_takes_a_task_set_twice_the_same_way_as_one_wish() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("upkeep.toml");
    std::fs::write(
        &file,
        "[tasks]\nOptimizeDatabase = false\noptimizedatabase = false\n",
    )
    .expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let out = run(&sim, home.path(), &["-o", "json", "apply", path]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["applied"], true, "{doc}");
    assert_eq!(doc["changes"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(sim.settings()["ButlerTaskOptimizeDatabase"], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_says_who_is_watching() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(&sim, home.path(), &["sessions"]).await;
    assert_eq!(stdout(&out), "nobody is watching\n");

    sim.set_sessions(2).expect("sessions set");
    let out = run(&sim, home.path(), &["sessions"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.starts_with("2 playbacks:\nUSER"), "{shown}");
    assert_eq!(shown.lines().count(), 4, "{shown}");
    assert!(shown.contains("playing"), "{shown}");

    let out = run(&sim, home.path(), &["-o", "json", "sessions"]).await;
    let doc = json(&out);
    assert_eq!(doc["count"], 2);
    assert_eq!(doc["playing"].as_array().map(Vec::len), Some(2));
    assert!(doc["playing"][0]["user"].is_string(), "{doc}");
}

fn steps(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["task"].as_str().unwrap_or_default().to_string(),
                s["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(t, o)| ((*t).to_string(), (*o).to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_runs_each_task_to_its_end_in_order_and_reports_each_step() {
    let run_time = Duration::from_millis(300);
    let sim = sim(run_time).await;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(
        &sim,
        home.path(),
        &["-o", "json", "run", "BackupDatabase", "cleanoldbundles"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        steps(&doc),
        pairs(&[("BackupDatabase", "done"), ("CleanOldBundles", "done")])
    );
    let list = doc["steps"].as_array().expect("steps");
    for step in list {
        assert_eq!(step["start"], "started", "{step}");
        assert_eq!(step["saw_activity"], true, "{step}");
        // A step lasts at least its task's run: it waits for the end.
        let lasted = step["duration_ms"].as_u64().expect("duration");
        assert!(lasted >= 300, "{step}");
    }
    let started: Vec<&str> = list
        .iter()
        .map(|s| s["started_at"].as_str().expect("RFC 3339"))
        .collect();
    assert!(started[0] <= started[1], "{started:?}");
    assert!(sim.state().running().is_empty(), "all work ended");
    let said = stderr(&out);
    let first = said
        .find("step 1 of 2: BackupDatabase")
        .expect("step 1 said");
    let second = said
        .find("step 2 of 2: CleanOldBundles")
        .expect("step 2 said");
    let first_done = said
        .find("BackupDatabase: done after")
        .expect("step 1 ended");
    assert!(first < first_done && first_done < second, "{said}");

    let out = run(&sim, home.path(), &["run", "BackupDatabase"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.starts_with(&format!(
            "server: {}\nTASK            OUTCOME  STARTED (UTC)",
            sim.url()
        )),
        "{table}"
    );
    assert!(table.contains("BackupDatabase  done     "), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_at_the_first_failure_and_keep_going_runs_the_rest() {
    let sim = frozen().await;
    let home = tempfile::tempdir().expect("temp dir");
    let args = [
        "-o",
        "json",
        "run",
        "BackupDatabase",
        "OptimizeDatabase",
        "--wait-timeout",
        "300ms",
    ];
    let out = run(&sim, home.path(), &args).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        steps(&doc),
        pairs(&[
            ("BackupDatabase", "failed"),
            ("OptimizeDatabase", "skipped")
        ])
    );
    assert_eq!(doc["steps"][0]["error"]["kind"], "wait_timed_out");
    assert_eq!(doc["error"]["exit_code"], 5);
    assert!(stderr(&out).contains("step 1 of 2, BackupDatabase, failed"));
    assert!(stderr(&out).contains("--keep-going"), "{}", stderr(&out));
    assert_eq!(sim.state().running(), ["BackupDatabase"]);

    let sim = frozen().await;
    let mut keep_going = args.to_vec();
    keep_going.push("--keep-going");
    let out = run(&sim, home.path(), &keep_going).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        steps(&doc),
        pairs(&[("BackupDatabase", "failed"), ("OptimizeDatabase", "failed")])
    );
    assert_eq!(doc["steps"][1]["start"], "started");
    let mut running = sim
        .state()
        .running()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    running.sort();
    assert_eq!(running, ["BackupDatabase", "OptimizeDatabase"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_when_idle_waits_until_nobody_watches_then_runs() {
    let sim = sim(Duration::from_millis(300)).await;
    sim.set_sessions(1).expect("sessions set");
    let home = tempfile::tempdir().expect("temp dir");
    let mut running = Watched::spawn(process(
        &sim,
        home.path(),
        &[
            "run",
            "BackupDatabase",
            "--when-idle",
            "--wait-timeout",
            "1m",
        ],
    ));
    // The film ends only once the command has seen it playing.
    let busy = "waiting until the server is idle: someone is watching (1 playback)";
    let (running, sim) = tokio::task::spawn_blocking(move || {
        running.wait_for(busy);
        (running, sim)
    })
    .await
    .expect("join");
    assert!(
        sim.state().running().is_empty(),
        "nothing starts while someone watches"
    );
    sim.set_sessions(0).expect("sessions set");
    let out = tokio::task::spawn_blocking(move || running.finish(TOKEN))
        .await
        .expect("join");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains(busy), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("BackupDatabase  done"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_when_idle_with_someone_always_watching_exits_5_and_starts_nothing() {
    let sim = sim(Duration::from_millis(300)).await;
    sim.set_sessions(2).expect("sessions set");
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(
        &sim,
        home.path(),
        &[
            "-o",
            "json",
            "run",
            "BackupDatabase",
            "OptimizeDatabase",
            "--when-idle",
            "--keep-going",
            "--wait-timeout",
            "500ms",
        ],
    )
    .await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        steps(&doc),
        pairs(&[
            ("BackupDatabase", "not_started_busy"),
            ("OptimizeDatabase", "not_started_busy")
        ])
    );
    assert!(doc["steps"][0]["start"].is_null(), "{doc}");
    assert!(
        stderr(&out).contains("nothing was started"),
        "{}",
        stderr(&out)
    );
    let state = sim.state();
    assert!(state.running().is_empty(), "{state:?}");
    assert!(state.scheduled().is_empty(), "{state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_run_exits_130_with_the_steps_so_far() {
    // A quick first task, then one that never ends on its own.
    let sim = start(
        Simulator::builder()
            .preset(Preset::Pms1_43_2)
            .task(TaskSpec::new("QuickTask").duration(Duration::from_millis(200))),
    )
    .await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut running = Watched::spawn(process(
        &sim,
        home.path(),
        &["-o", "json", "run", "QuickTask", "BackupDatabase"],
    ));
    let out = tokio::task::spawn_blocking(move || {
        // Until the second step's task has started and its work was seen.
        running.wait_for("BackupDatabase: started");
        running.wait_for("Backup Database: ");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(running.pid()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
        running.finish(TOKEN)
    })
    .await
    .expect("join");
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        steps(&doc),
        pairs(&[("QuickTask", "done"), ("BackupDatabase", "interrupted")])
    );
    // A script reading this must not start the task again.
    let cut = &doc["steps"][1];
    assert_eq!(cut["start"], "started", "{doc}");
    assert_eq!(cut["saw_activity"], true, "{doc}");
    assert_eq!(doc["error"]["kind"], "interrupted");
    assert!(stderr(&out).contains("goes on"), "{}", stderr(&out));
    assert_eq!(
        sim.state().running(),
        ["BackupDatabase"],
        "the work goes on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_before_a_step_starts_its_task_reports_it_not_started() {
    // Someone watches throughout: the step waits and never starts.
    let sim = sim(Duration::from_millis(300)).await;
    sim.set_sessions(1).expect("sessions set");
    let home = tempfile::tempdir().expect("temp dir");
    let mut running = Watched::spawn(process(
        &sim,
        home.path(),
        &[
            "-o",
            "json",
            "run",
            "BackupDatabase",
            "--when-idle",
            "--wait-timeout",
            "1m",
        ],
    ));
    let out = tokio::task::spawn_blocking(move || {
        running.wait_for("someone is watching (1 playback)");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(running.pid()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
        running.finish(TOKEN)
    })
    .await
    .expect("join");
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(steps(&doc), pairs(&[("BackupDatabase", "interrupted")]));
    assert!(doc["steps"][0]["start"].is_null(), "{doc}");
    assert_eq!(doc["steps"][0]["saw_activity"], false, "{doc}");
    assert!(sim.state().running().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upkeep_commands_run_against_several_profiles_at_once() {
    let (a, b) = (
        sim(Duration::from_secs(20)).await,
        sim(Duration::from_secs(20)).await,
    );
    let home = tempfile::tempdir().expect("temp dir");
    common::write_profiles(home.path(), &[("a", a.url()), ("b", b.url())], TOKEN);
    let file = home.path().join("upkeep.toml");
    std::fs::write(&file, DESIRED).expect("write");
    let mut command = bare_cmd(home.path());
    command.args([
        "--all-profiles",
        "-o",
        "json",
        "apply",
        file.to_str().expect("UTF-8 path"),
    ]);
    let out = common::run_without(command, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["command"], "servers");
    for server in doc["servers"].as_array().expect("servers") {
        assert_eq!(server["document"]["applied"], true, "{server}");
    }
    for sim in [&a, &b] {
        assert_eq!(sim.settings()["ButlerStartHour"], "1");
        assert_eq!(sim.settings()["ButlerTaskOptimizeDatabase"], "0");
    }

    let mut command = bare_cmd(home.path());
    command.args(["--all-profiles", "window"]);
    let out = common::run_without(command, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out)
            .matches("maintenance window: 01:00-06:00\n")
            .count(),
        2,
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("[a] "), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_upkeep_command_reports_an_unreachable_server_in_its_own_json_form() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("upkeep.toml");
    std::fs::write(&file, DESIRED).expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let commands: [&[&str]; 8] = [
        &["settings"],
        &["window"],
        &["window", "set", "1-6"],
        &["enable", "BackupDatabase"],
        &["disable", "BackupDatabase"],
        &["apply", path, "--dry-run"],
        &["sessions"],
        &["run", "BackupDatabase"],
    ];
    for args in commands {
        let mut command = bare_cmd(home.path());
        command
            .args(["--server", &format!("http://127.0.0.1:{free_port}")])
            .args(["--timeout", "2s", "-o", "json"])
            .args(args);
        let out = common::run_without(command, TOKEN).await;
        assert_eq!(code(&out), 5, "{args:?}: {}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["command"], args[0], "{doc}");
        assert_eq!(doc["error"]["kind"], "unreachable", "{doc}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_going_after_a_wait_ran_out_says_the_next_task_starts_alongside_the_last() {
    let sim = frozen().await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut args = vec![
        "-o",
        "json",
        "run",
        "BackupDatabase",
        "OptimizeDatabase",
        "--wait-timeout",
        "300ms",
        "--keep-going",
    ];
    let out = run(&sim, home.path(), &args).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "step 2 of 2: OptimizeDatabase (started while BackupDatabase's work still runs"
        ),
        "{}",
        stderr(&out)
    );

    // With --when-idle the next step waits for that work instead.
    let sim = frozen().await;
    args.push("--when-idle");
    let out = run(&sim, home.path(), &args).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(!stderr(&out).contains("started while"), "{}", stderr(&out));
    assert_eq!(
        steps(&json(&out)),
        pairs(&[
            ("BackupDatabase", "failed"),
            ("OptimizeDatabase", "not_started_busy")
        ])
    );
    assert_eq!(sim.state().running(), ["BackupDatabase"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_reads_a_file_of_twenty_thousand_switches_quickly_and_names_the_line_of_a_mistake() {
    let sim = sim(Duration::from_millis(300)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("upkeep.toml");
    let text: String = std::iter::once("[tasks]\n".to_string())
        .chain((0..20_000).map(|i| format!("Made{i:05} = true\n")))
        .collect();
    std::fs::write(&file, text).expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let began = std::time::Instant::now();
    let out = run(&sim, home.path(), &["apply", path, "--dry-run"]).await;
    let took = began.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_ne!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&format!("{path} line 2: 'Made00000' has no switch")),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_name_of_a_megabyte_is_cut_in_the_error_not_echoed_whole() {
    let sim = sim(Duration::from_millis(300)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let long = "n".repeat(1_000_000);
    let file = home.path().join("upkeep.toml");
    std::fs::write(&file, format!("[tasks]\n{long} = true\n")).expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let out = run(&sim, home.path(), &["apply", path, "--dry-run"]).await;
    assert_ne!(code(&out), 0, "{}", stdout(&out));
    let said = stderr(&out);
    assert!(
        said.contains("line 2: 'nnnn"),
        "{}",
        &said[..said.len().min(300)]
    );
    assert!(said.contains("n…'"), "{}", &said[..said.len().min(300)]);
    assert!(said.len() < 1_000, "{} bytes of error", said.len());

    // From the command line too (an argument may hold 128 KiB).
    let typed = "m".repeat(100_000);
    let out = run(&sim, home.path(), &["start", &typed]).await;
    assert_ne!(code(&out), 0, "{}", stdout(&out));
    let said = stderr(&out);
    assert!(said.contains("m…'"), "{}", &said[..said.len().min(300)]);
    assert!(said.len() < 1_000, "{} bytes of error", said.len());
}

const WINDOW_AND_SWITCH: &str = "\
[window]
start_hour = 1
end_hour = 6

[tasks]
OptimizeDatabase = false
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_server_answers_but_does_not_hold_exits_6_naming_each_setting_every_time() {
    let sim = sim(Duration::from_secs(20)).await;
    sim.set_faults(FaultPlan::none().ignore_settings_change(Trigger::Always))
        .expect("faults");
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("upkeep.toml");
    std::fs::write(&file, WINDOW_AND_SWITCH).expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let before = sim.settings();
    for run_number in 1..=3 {
        let out = run(&sim, home.path(), &["apply", path]).await;
        assert_eq!(code(&out), 6, "run {run_number}: {}", stderr(&out));
        let said = stderr(&out);
        for held in [
            "ButlerStartHour = 2 (asked 1)",
            "ButlerEndHour = 5 (asked 6)",
            "ButlerTaskOptimizeDatabase = true (asked false)",
        ] {
            assert!(said.contains(held), "run {run_number}: {said}");
        }
        assert!(!stdout(&out).contains("applied:"), "{}", stdout(&out));
    }
    assert_eq!(sim.settings(), before);

    // A proxy's login page, answered with 200, is no more a change.
    sim.set_faults(FaultPlan::none().login_page_on_settings_change(Trigger::Always))
        .expect("faults");
    let out = run(&sim, home.path(), &["window", "set", "1-6"]).await;
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(stderr(&out).contains("ButlerStartHour = 2 (asked 1)"));
    let out = run(
        &sim,
        home.path(),
        &["-o", "json", "disable", "BackupDatabase"],
    )
    .await;
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["error"]["kind"], "settings_not_applied");
    assert_eq!(doc["error"]["exit_code"], 6);
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ButlerTaskBackupDatabase = true (asked false)"),
        "{message}"
    );
    assert_eq!(sim.settings(), before);

    // Without the fault, the report is what the server holds, read back.
    sim.set_faults(FaultPlan::none()).expect("faults");
    let out = run(&sim, home.path(), &["apply", path]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "applied: 3 settings changed in one request; read back: ButlerStartHour = 1, \
             ButlerEndHour = 6, ButlerTaskOptimizeDatabase = false\n"
        ),
        "{}",
        stdout(&out)
    );
    let out = run(&sim, home.path(), &["-o", "json", "window", "set", "3-5"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        (
            doc["window"]["start_hour"].clone(),
            doc["window"]["end_hour"].clone()
        ),
        (3.into(), 5.into())
    );
    assert_eq!(doc["previous"]["start_hour"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_among_the_settings_is_switched_though_the_task_list_does_not_name_it() {
    let sim = sim(Duration::from_secs(20)).await;
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(&sim, home.path(), &["-o", "json", "list"]).await;
    let listed = json(&out)["tasks"].to_string();
    assert!(
        !listed.contains("GenerateAutoTags") && !listed.contains("ReverseGeocode"),
        "the premise: the task list names neither"
    );

    let out = run(&sim, home.path(), &["disable", "GenerateAutoTags"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("server: {}\nGenerateAutoTags: disabled\n", sim.url())
    );
    assert_eq!(sim.settings()["ButlerTaskGenerateAutoTags"], "0");

    let file = home.path().join("photos.toml");
    std::fs::write(&file, "[tasks]\nreversegeocode = false\n").expect("write");
    let path = file.to_str().expect("UTF-8 path");
    let out = run(&sim, home.path(), &["apply", path]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("read back: ButlerTaskReverseGeocode = false"),
        "{}",
        stdout(&out)
    );
    assert_eq!(sim.settings()["ButlerTaskReverseGeocode"], "0");

    let out = run(&sim, home.path(), &["-o", "json", "settings"]).await;
    let doc = json(&out);
    let switch = |name: &str| {
        doc["tasks"]
            .as_array()
            .and_then(|tasks| tasks.iter().find(|t| t["name"] == name))
            .map(|t| t["enabled"].clone())
    };
    assert_eq!(switch("GenerateAutoTags"), Some(false.into()));
    assert_eq!(switch("ReverseGeocode"), Some(false.into()));
}
