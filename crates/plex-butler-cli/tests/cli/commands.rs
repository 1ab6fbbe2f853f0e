//! The built `plex-butler` binary against the simulator over real sockets:
//! every command, option and exit code, outputs compared with golden files.
//!
//! Set `UPDATE_GOLDEN=1` to rewrite the golden files after a deliberate
//! change of output, and review their diff.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;

use assert_cmd::Command;
use common::{bare_cmd, code, stderr, stdout};
use plex_butler_sim::{Clock, ManualClock, Preset, Simulator};

const TOKEN: &str = "cli-test-token-5f2b9c";

/// A running simulator and a private config directory for one test.
struct World {
    sim: Simulator,
    config_home: tempfile::TempDir,
}

impl World {
    async fn start() -> World {
        let sim = Simulator::builder()
            .token(TOKEN)
            .preset(Preset::Pms1_43_2)
            .seed(7)
            .start()
            .await
            .expect("simulator starts");
        World {
            sim,
            config_home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A simulator whose time stands still but for `step` per look at the
    /// activities (none: it never moves), with 20 s runs and no maintenance
    /// window (start-all starts every due task now, whatever the hour).
    async fn frozen(step: Option<std::time::Duration>) -> World {
        let mut builder = Simulator::builder()
            .token(TOKEN)
            .preset(Preset::Pms1_43_2)
            .seed(7)
            .clock(ManualClock::at(Clock::system().now()))
            .window(0, 0)
            .task_duration(std::time::Duration::from_secs(20));
        if let Some(step) = step {
            // The looks alone move the clock: without events, since the
            // event stream's own read of the activities would take a step.
            builder = builder.advance_clock_on_activities(step).events(false);
        }
        World {
            sim: builder.start().await.expect("simulator starts"),
            config_home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The binary with a clean environment pointed at the simulator.
    fn cmd(&self) -> Command {
        let mut cmd = bare_cmd(self.config_home.path());
        cmd.env("PLEX_URL", self.sim.url()).env("PLEX_TOKEN", TOKEN);
        cmd
    }

    fn url(&self) -> String {
        self.sim.url().to_string().trim_end_matches('/').to_string()
    }
}

/// Runs the command; the test fails if the token was printed.
async fn run(cmd: Command) -> Output {
    common::run_without(cmd, TOKEN).await
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file, the server's URL replaced by
/// `<SERVER>` so that the port the OS picked does not matter.
fn assert_golden(name: &str, actual: &str, world_url: &str) {
    let actual = actual.replace(world_url, "<SERVER>");
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("golden file {} missing ({e})", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_prints_a_table_sorted_by_name() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.arg("list");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_golden("list.txt", &stdout(&out), &world.url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_as_json_is_stable_and_matches_the_schema() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["list", "--output", "json"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_golden("list.json", &stdout(&out), &world.url());
    assert_matches_schema(&world, &stdout(&out)).await;
}

async fn assert_matches_schema(world: &World, document: &str) {
    let mut cmd = world.cmd();
    cmd.arg("schema");
    let schema_out = run(cmd).await;
    assert_eq!(code(&schema_out), 0);
    let schema: serde_json::Value =
        serde_json::from_slice(&schema_out.stdout).expect("schema is JSON");
    let instance: serde_json::Value = serde_json::from_str(document).expect("output is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match the schema: {errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_says_started_then_already_running() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase", "optimizedatabase"]);
    let first = run(cmd).await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert_golden("start.txt", &stdout(&first), &world.url());

    let mut cmd = world.cmd();
    cmd.args(["start", "backupdatabase", "--output", "json"]);
    let again = run(cmd).await;
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_golden("start-again.json", &stdout(&again), &world.url());
    assert_matches_schema(&world, &stdout(&again)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_says_stopped_then_not_running() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["start", "CleanOldBundles"]);
    assert_eq!(code(&run(cmd).await), 0);

    let mut cmd = world.cmd();
    cmd.args(["stop", "CLEANOLDBUNDLES"]);
    let first = run(cmd).await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        format!("server: {}\nCleanOldBundles: stopped\n", world.url())
    );

    let mut cmd = world.cmd();
    cmd.args(["stop", "CleanOldBundles"]);
    let again = run(cmd).await;
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(
        stdout(&again),
        format!("server: {}\nCleanOldBundles: not running\n", world.url())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_task_with_a_close_name_fails_with_a_hint_before_any_change() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase", "OptimiseDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 4);
    assert_golden("unknown-close.stderr", &stderr(&out), &world.url());
    // The known name before it was not started either.
    let state = format!("{:?}", world.sim.state());
    assert!(!state.contains("Running"), "a task started: {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_task_with_no_close_name_fails_with_where_to_look() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["stop", "Frobnicate"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 4);
    assert_golden("unknown-far.stderr", &stderr(&out), &world.url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_all_needs_yes_without_a_terminal() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.arg("start-all");
    let refused = run(cmd).await;
    assert_eq!(code(&refused), 2);
    assert!(
        stderr(&refused).contains("pass --yes"),
        "{}",
        stderr(&refused)
    );

    let mut cmd = world.cmd();
    cmd.args(["start-all", "--yes"]);
    let done = run(cmd).await;
    assert_eq!(code(&done), 0, "{}", stderr(&done));
    assert_golden("start-all.txt", &stdout(&done), &world.url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_all_with_yes_prints_json_matching_the_schema() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["stop-all", "-y", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_golden("stop-all.json", &stdout(&out), &world.url());
    assert_matches_schema(&world, &stdout(&out)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_exits_3_and_says_to_check_it() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.env("PLEX_TOKEN", "not-the-token").arg("list");
    let out = run(cmd).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).to_lowercase().contains("token"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("not-the-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_exits_5() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.args([
        "--server",
        &format!("http://127.0.0.1:{free_port}"),
        "--timeout",
        "2s",
        "list",
    ]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let home = tempfile::tempdir().expect("temp dir");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--no-such-flag", "list"],
        vec!["frobnicate"],
        vec!["start"],
        vec!["--server", "not a url", "list"],
        vec!["--server", "ftp://example.invalid", "list"],
        vec!["--timeout", "soon", "list"],
        vec!["--token-file", "/nonexistent/plex-token", "list"],
    ];
    for args in cases {
        let mut cmd = bare_cmd(home.path());
        cmd.args(&args);
        let out = run(cmd).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?} said nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_task_names_are_a_usage_error() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["start", "  "]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_file_is_read_and_a_loose_one_is_warned_about() {
    let world = World::start().await;
    let path = world.config_home.path().join("token");
    std::fs::write(&path, format!("{TOKEN}\n")).expect("write token");
    set_mode(&path, 0o644);
    let mut cmd = world.cmd();
    cmd.env_remove("PLEX_TOKEN")
        .arg("--token-file")
        .arg(&path)
        .arg("list");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    set_mode(&path, 0o600);
    let mut cmd = world.cmd();
    cmd.env_remove("PLEX_TOKEN")
        .arg("--token-file")
        .arg(&path)
        .arg("list");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_supplies_server_and_token_and_flags_win() {
    let world = World::start().await;
    let dir = world.config_home.path().join("plex-butler");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("server = \"{}\"\ntoken = \"{TOKEN}\"\n", world.sim.url()),
    )
    .expect("write config");
    set_mode(&config, 0o600);

    // Everything from the file.
    let mut cmd = bare_cmd(world.config_home.path());
    cmd.arg("list");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // The environment beats the file: a wrong token from the environment is used.
    let mut cmd = bare_cmd(world.config_home.path());
    cmd.env("PLEX_TOKEN", "wrong").arg("list");
    assert_eq!(code(&run(cmd).await), 3);

    // A flag beats both: --server to a dead port.
    let mut cmd = bare_cmd(world.config_home.path());
    cmd.env("PLEX_URL", "http://127.0.0.1:9")
        .args(["--server", &world.url(), "list"]);
    assert_eq!(code(&run(cmd).await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_runs_against_an_in_process_simulator() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--embedded", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("BackupDatabase"));
    assert_eq!(stdout(&out).lines().count(), 24, "header and 23 tasks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_schema_need_no_server() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.args(["completions", "bash"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("plex-butler"));

    let mut cmd = bare_cmd(home.path());
    cmd.arg("schema");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(jsonschema::validator_for(&schema).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_the_exit_codes() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.arg("--help");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    for line in [
        "3  unauthorized",
        "4  unknown task name",
        "5  server unreachable",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}");
    }
    assert!(help.contains("Prefer $PLEX_TOKEN or --token-file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_server_past_the_timeout_exits_5() {
    let world = World::start().await;
    world
        .sim
        .set_faults(plex_butler_sim::FaultPlan::none().latency(std::time::Duration::from_secs(5)))
        .expect("faults set");
    let mut cmd = world.cmd();
    cmd.args(["--timeout", "200ms", "list"]);
    let started = std::time::Instant::now();
    let out = run(cmd).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("200 ms"), "{}", stderr(&out));
    // Retries are bounded: far less than the server's 5 s delay per answer.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Five seconds of a 20 s run per look: the looks see 25, 50 and 75 %.
const STEP: Option<std::time::Duration> = Some(std::time::Duration::from_secs(5));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_with_wait_prints_a_line_per_progress_change_and_ends_when_the_work_is_done() {
    let world = World::frozen(STEP).await;
    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase", "--wait"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_golden("start-wait.txt", &stdout(&out), &world.url());
    assert_golden("start-wait.stderr", &stderr(&out), &world.url());
    assert!(world.sim.state().running().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_with_wait_as_json_reports_the_wait_and_matches_the_schema() {
    let world = World::frozen(STEP).await;
    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase", "--wait", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["wait"]["done"], true);
    assert_eq!(doc["wait"]["saw_activity"], true);
    assert_eq!(doc["wait"]["activities"][0]["title"], "Backup Database");
    assert_eq!(doc["wait"]["activities"][0]["progress"], 75);
    assert_matches_schema(&world, &stdout(&out)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_that_outlasts_its_timeout_exits_5_and_the_work_goes_on() {
    let world = World::frozen(None).await;
    let mut cmd = world.cmd();
    cmd.args([
        "start",
        "BackupDatabase",
        "--wait",
        "--wait-timeout",
        "300ms",
        "-o",
        "json",
    ]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Butler work was still running after"),
        "{}",
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["wait"]["done"], false);
    assert_eq!(doc["wait"]["activities"][0]["progress"], 0);
    assert_matches_schema(&world, &stdout(&out)).await;
    assert_eq!(world.sim.state().running(), ["BackupDatabase"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_all_with_wait_waits_for_every_task_it_started() {
    let world = World::frozen(STEP).await;
    let mut cmd = world.cmd();
    cmd.args(["start-all", "--yes", "--wait", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["wait"]["done"], true);
    let seen = doc["wait"]["activities"].as_array().expect("activities");
    assert!(seen.len() > 1, "one activity per running task: {seen:?}");
    assert_matches_schema(&world, &stdout(&out)).await;
    assert!(world.sim.state().running().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_wait_prints_nothing_and_still_waits() {
    let world = World::frozen(STEP).await;
    let mut cmd = world.cmd();
    cmd.args(["-q", "start", "BackupDatabase", "--wait"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    assert!(world.sim.state().running().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_timeout_without_wait_is_a_usage_error() {
    let world = World::start().await;
    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase", "--wait-timeout", "1m"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--wait"), "{}", stderr(&out));
    assert!(world.sim.state().running().is_empty(), "nothing started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_lists_running_tasks_as_a_table_and_as_json() {
    let world = World::frozen(None).await;
    let mut cmd = world.cmd();
    cmd.arg("activities");
    let idle = run(cmd).await;
    assert_eq!(code(&idle), 0, "{}", stderr(&idle));
    assert_eq!(stdout(&idle), "no activities: the server is idle\n");

    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase", "OptimizeDatabase"]);
    assert_eq!(code(&run(cmd).await), 0);
    world.sim.clock().advance(std::time::Duration::from_secs(8));

    let mut cmd = world.cmd();
    cmd.arg("activities");
    let table = run(cmd).await;
    assert_eq!(code(&table), 0, "{}", stderr(&table));
    assert_golden("activities.txt", &stdout(&table), &world.url());

    let mut cmd = world.cmd();
    cmd.args(["activities", "--output", "json"]);
    let json = run(cmd).await;
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    assert_golden("activities.json", &stdout(&json), &world.url());
    assert_matches_schema(&world, &stdout(&json)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_start_with_wait_runs_a_short_task_to_its_end() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--embedded", "start", "BackupDatabase", "--wait"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = stdout(&out);
    let (server, rest) = said.split_once('\n').expect("lines");
    assert!(server.starts_with("server: http://127.0.0.1:"), "{said}");
    assert_eq!(
        rest,
        "BackupDatabase: started\ndone: no Butler work is left\n"
    );
    assert!(
        stderr(&out).contains("Backup Database: "),
        "progress lines: {}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_ignores_an_exported_plex_url_but_refuses_a_typed_server() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_URL", "http://192.0.2.1:32400")
        .args(["--embedded", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let mut cmd = bare_cmd(home.path());
    cmd.args(["list", "--embedded", "--server", "http://192.0.2.1:32400"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--embedded"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_is_not_an_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let bin = assert_cmd::cargo::cargo_bin("plex-butler");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(bin)
            .env_clear()
            .env("XDG_CONFIG_HOME", home.path())
            .env("HOME", home.path())
            .env("NO_COLOR", "1")
            .args(["--embedded", "list"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the reading end at once, like `| head -0`.
        drop(child.stdout.take());
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join");
    assert_eq!(stderr(&out), "", "no error on a closed pipe");
    assert_eq!(code(&out), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_follows_the_flag_and_no_color_and_quiet_prints_nothing_but_errors() {
    let world = World::start().await;
    // Forced on: escape sequences, even into a pipe.
    let mut cmd = world.cmd();
    cmd.env_remove("NO_COLOR")
        .args(["--color", "always", "start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains('\u{1b}'), "{:?}", stdout(&out));

    // The default (auto) into a pipe: none.
    let mut cmd = world.cmd();
    cmd.env_remove("NO_COLOR").args(["start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert!(!stdout(&out).contains('\u{1b}'), "{:?}", stdout(&out));

    // Quiet: the outcome goes unsaid, an error does not.
    let mut cmd = world.cmd();
    cmd.args(["-q", "stop", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let mut cmd = world.cmd();
    cmd.args(["-q", "stop", "NoSuchTask"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("unknown task"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_prints_every_field_of_one_task_and_whether_it_runs() {
    let world = World::frozen(None).await;
    let mut cmd = world.cmd();
    cmd.args(["start", "BackupDatabase"]);
    assert_eq!(code(&run(cmd).await), 0);

    let mut cmd = world.cmd();
    cmd.args(["show", "backupdatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = stdout(&out);
    for line in [
        "name:        BackupDatabase",
        "title:       Backup Database",
        "description: Create a backup copy",
        "enabled:     yes",
        "every:       3 days",
        "randomized:  no",
        "running:     yes (0%)",
    ] {
        assert!(shown.contains(line), "{line:?} missing from:\n{shown}");
    }

    let mut cmd = world.cmd();
    cmd.args(["-o", "json", "show", "OptimizeDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["task"]["name"], "OptimizeDatabase");
    assert_eq!(doc["task"]["run_state"], "not_running");
    assert_matches_schema(&world, &stdout(&out)).await;

    let mut cmd = world.cmd();
    cmd.args(["show", "BackupDatabse"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Did you mean 'BackupDatabase'?"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_marks_the_running_task_and_leaves_missing_titles_empty() {
    let world = World::frozen(None).await;
    let mut cmd = world.cmd();
    cmd.args(["start", "OptimizeDatabase"]);
    assert_eq!(code(&run(cmd).await), 0);
    let mut cmd = world.cmd();
    cmd.arg("list");
    let out = run(cmd).await;
    let table = stdout(&out);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("OptimizeDatabase").ends_with("yes (0%)"), "{table}");
    assert!(row("BackupDatabase").ends_with("no"), "{table}");
    // The JSON says null: the table does not make a title up.
    assert!(row("AutomaticUpdates").contains(" - "), "{table}");
}
