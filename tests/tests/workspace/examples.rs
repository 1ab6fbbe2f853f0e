//! The examples of `crates/plex-butler`, run as their users run them: the
//! built programs, against the simulator.
//!
//! Why this way: an example is a program (its `main`, what it prints, its
//! exit code), and `cargo test` builds examples but runs none. So these
//! tests build them with the cargo that runs the tests (`env!("CARGO")`), in
//! the same target directory and profile and with the workspace's feature
//! set (`--workspace`), which makes the build a no-op of a second after
//! `cargo test --workspace` has built them; then they run the binaries with
//! `PLEX_URL` pointing at a simulator on 127.0.0.1:0. Including an example's
//! source into a test instead would skip its `main` and need
//! `std::env::set_var` (unsafe, and shared by every test of the process).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use plex_butler_sim::{Preset, Simulator};

const TOKEN: &str = "examples-token-5d2e";

/// What a run of an example printed, and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn output(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `<target>/<profile>`, the directory of this test's own build.
fn profile_dir() -> PathBuf {
    // This test runs as `<target>/<profile>/deps/examples-<hash>`.
    let exe = std::env::current_exe().expect("the test knows its own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf()
}

/// Builds the examples once for all tests; the directory of the binaries.
fn examples_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let profile_dir = profile_dir();
        let target_dir = profile_dir
            .parent()
            .ok_or("the profile directory has no parent")?;
        // The profile `cargo test` built this test and the examples with:
        // `test` (in `debug`), or `bench` for `cargo test --release`. The
        // profile's name is part of each build's identity, so building with
        // `dev` instead would rebuild every dependency.
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "test".to_owned(),
            Some("release") => "bench".to_owned(),
            Some(name) => name.to_owned(),
            None => return Err("the profile directory has no name".to_owned()),
        };
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let output = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--workspace", "--examples"])
            .args(["--features", "plex-butler/blocking"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(target_dir)
            .args(["--profile", &profile])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "the examples do not build:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(profile_dir.join("examples"))
    });
    match built {
        Ok(dir) => dir,
        Err(message) => panic!("{message}"),
    }
}

/// Runs the example `name` with these arguments against `url`, sending
/// `token`.
async fn run_example(name: &str, args: &[&str], url: &str, token: &str) -> Run {
    let program = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(&program);
    command
        .args(args)
        .env("PLEX_URL", url)
        .env("PLEX_TOKEN", token)
        .env_remove("RUST_LOG");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the example's runner thread ends")
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        // Long enough that a task started by one run still runs in the next.
        .task_duration(Duration::from_secs(3600))
        .start()
        .await
        .expect("the simulator starts")
}

fn is_running(sim: &Simulator, task: &str) -> bool {
    sim.state().status(task).is_some_and(|s| s.is_running())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_example_prints_every_task_of_the_server() {
    let sim = sim().await;
    let run = run_example("list", &[], sim.url(), TOKEN).await;
    assert_eq!(run.code, Some(0), "{}", run.output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 23, "{}", run.output());
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("BackupDatabase ") && line.contains("every 3 day(s)")),
        "{}",
        run.output()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_example_starts_the_backup_and_waits_for_its_end() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .task_duration(Duration::from_millis(1500))
        .start()
        .await
        .expect("the simulator starts");
    let run = run_example("backup_before_upgrade", &[], sim.url(), TOKEN).await;
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(
        run.stdout.starts_with("database backup started"),
        "{}",
        run.output()
    );
    assert!(
        run.stdout.contains("database backup done"),
        "{}",
        run.output()
    );
    // It returned only once the backup had ended, and the server recorded it.
    assert!(!is_running(&sim, "BackupDatabase"), "{}", run.output());
    let last_run = sim.state().task("BackupDatabase").and_then(|t| t.last_run);
    assert!(last_run.is_some(), "the backup ran to its end");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_example_waits_for_a_running_backup_and_gives_up_after_its_limit() {
    let sim = sim().await;
    let first = run_example("backup_before_upgrade", &["1"], sim.url(), TOKEN).await;
    assert_eq!(first.code, Some(1), "{}", first.output());
    assert!(
        first.stdout.starts_with("database backup started"),
        "{}",
        first.output()
    );
    assert!(
        first.stderr.contains("has not finished"),
        "{}",
        first.output()
    );
    assert!(is_running(&sim, "BackupDatabase"));

    // The second run waits for the Butler to be idle before it starts
    // anything, and the first backup still runs.
    let second = run_example("backup_before_upgrade", &["1"], sim.url(), TOKEN).await;
    assert_eq!(second.code, Some(1), "{}", second.output());
    assert!(second.stdout.is_empty(), "{}", second.output());
    assert!(
        second
            .stderr
            .starts_with("error: the database backup was not started"),
        "{}",
        second.output()
    );
    assert!(
        second.stderr.contains("Butler work was still running"),
        "{}",
        second.output()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_example_does_not_start_the_backup_while_someone_watches() {
    let sim = sim().await;
    sim.set_sessions(1).expect("someone watches");
    let run = run_example("backup_before_upgrade", &["1"], sim.url(), TOKEN).await;
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stdout.starts_with("waiting: 1 playback(s)"),
        "{}",
        run.output()
    );
    assert!(
        run.stderr
            .starts_with("error: the database backup was not started"),
        "{}",
        run.output()
    );
    assert!(run.stderr.contains("watching"), "{}", run.output());
    assert!(!is_running(&sim, "BackupDatabase"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_example_refuses_a_limit_that_is_not_a_number() {
    let sim = sim().await;
    let run = run_example("backup_before_upgrade", &["soon"], sim.url(), TOKEN).await;
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(run.stderr.contains("whole number"), "{}", run.output());
    assert!(!is_running(&sim, "BackupDatabase"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_example_exits_non_zero_when_the_server_refuses_the_token() {
    let sim = sim().await;
    let run = run_example("backup_before_upgrade", &[], sim.url(), "not-the-token").await;
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr
            .starts_with("error: cannot start the database backup"),
        "{}",
        run.output()
    );
    assert!(run.stdout.is_empty(), "{}", run.output());
    assert!(!is_running(&sim, "BackupDatabase"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_example_lists_enabled_tasks_and_starts_the_named_one() {
    let sim = sim().await;
    let run = run_example("blocking", &["OptimizeDatabase"], sim.url(), TOKEN).await;
    assert_eq!(run.code, Some(0), "{}", run.output());
    let expected_enabled = sim_enabled_count(&sim).await;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("OptimizeDatabase: started"),
        "{}",
        run.output()
    );
    assert_eq!(lines.len(), expected_enabled + 1, "{}", run.output());
    assert!(is_running(&sim, "OptimizeDatabase"));
    sim.shutdown().await;
}

/// How many tasks the simulator lists as enabled, asked through the facade.
async fn sim_enabled_count(sim: &Simulator) -> usize {
    let client = plex_butler::Client::builder(sim.url())
        .token(TOKEN)
        .build()
        .expect("client");
    let tasks = client.tasks().await.expect("the simulator lists its tasks");
    tasks.iter().filter(|task| task.enabled).count()
}
