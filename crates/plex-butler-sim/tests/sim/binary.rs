//! The `plex-butler-sim` command, run as a user would.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_plex-butler-sim");
const SECRET: &str = "binary-test-secret";

fn sim(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("PLEX_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts the binary and returns it with the URL of its first stdout line.
async fn start(args: &[&str]) -> (Child, String) {
    let mut child = sim(args).spawn().expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    let read = reader.read_line(&mut line);
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("a line within 20s")
        .expect("stdout reads");
    let url = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

fn terminate(child: &Child) {
    let pid = child.id().expect("still running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Sends SIGTERM and checks that the binary exits with status 0.
async fn stop(mut child: Child) {
    terminate(&child);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10s")
        .expect("wait works");
    assert!(status.success(), "{status:?}");
}

async fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    stderr
}

#[tokio::test]
async fn the_binary_prints_its_real_address_serves_and_exits_cleanly_on_sigterm() {
    let (mut child, url) = start(&["--listen", "127.0.0.1:0", "--token", SECRET]).await;
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected url {url}"));
    assert_ne!(port, 0);

    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let listed = client
        .get(format!("{url}/butler?X-Plex-Token={SECRET}"))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(listed.status(), 200);
    let started = client
        .post(format!("{url}/butler/BackupDatabase"))
        .header("X-Plex-Token", SECRET)
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(started.status(), 200);

    terminate(&child);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10s")
        .expect("wait works");
    assert!(status.success(), "{status:?}");
    let log = stderr_of(&mut child).await;
    assert!(log.contains("/butler/BackupDatabase"), "{log}");
    assert!(log.contains("200"), "{log}");
    assert!(
        !log.contains(SECRET),
        "the token leaked into the log: {log}"
    );
}

#[tokio::test]
async fn the_binary_reads_its_token_from_the_environment() {
    let mut command = sim(&["--listen", "127.0.0.1:0"]);
    command.env("PLEX_TOKEN", SECRET);
    let mut child = command.spawn().expect("starts");
    let mut line = String::new();
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    tokio::time::timeout(Duration::from_secs(20), reader.read_line(&mut line))
        .await
        .expect("a line")
        .expect("reads");
    let url = line
        .trim_end()
        .trim_start_matches("listening on ")
        .to_owned();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let answer = |token: &'static str| {
        client
            .get(format!("{url}/butler"))
            .header("X-Plex-Token", token)
            .send()
    };
    assert_eq!(answer(SECRET).await.expect("sent").status(), 200);
    assert_eq!(answer("other").await.expect("sent").status(), 401);
    stop(child).await;
}

#[tokio::test]
async fn the_binary_with_no_auth_and_a_preset_lets_anyone_list_the_legacy_tasks() {
    let (child, url) = start(&["--listen", "127.0.0.1:0", "--no-auth", "--preset", "legacy"]).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let body = client
        .get(format!("{url}/butler"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert_eq!(body.matches("<ButlerTask ").count(), 14);
    stop(child).await;
}

#[tokio::test]
async fn the_binary_refuses_to_run_without_a_token_or_no_auth() {
    let output = sim(&["--listen", "127.0.0.1:0"])
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-auth"));
}

#[tokio::test]
async fn the_binary_refuses_garbage_flags() {
    for args in [
        &["--no-auth", "--task-duration", "soon"][..],
        &["--no-auth", "--preset", "pms-9"],
        &["--no-auth", "--fault-drop", "sometimes"],
        &["--no-auth", "--window", "2-25"],
        &["--no-auth", "--fault-status", "42"],
        &["--no-auth", "--listen", "nowhere"],
        &["--no-auth", "--setting", "ButlerStartHour"],
        &["--no-auth", "--setting", "ButlerStartHour=24"],
        &["--no-auth", "--setting", "NoSuchSetting=1"],
        &["--no-auth", "--sessions", "-1"],
        &["--no-auth", "--sessions", "1001"],
        &["--no-auth", "--fault-400-after-put", "x"],
    ] {
        let output = sim(args).output().await.expect("runs");
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed a listening line"
        );
    }
}

#[tokio::test]
async fn the_binary_applies_fault_flags() {
    let (child, url) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--no-auth",
        "--fault-status",
        "503",
        "--fault-status-when",
        "next:1",
        "--fault-retry-after",
        "2s",
    ])
    .await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let first = client
        .get(format!("{url}/butler"))
        .send()
        .await
        .expect("sent");
    assert_eq!(first.status(), 503);
    assert_eq!(first.headers()["retry-after"], "2");
    let second = client
        .get(format!("{url}/butler"))
        .send()
        .await
        .expect("sent");
    assert_eq!(second.status(), 200);
    stop(child).await;
}

#[tokio::test]
async fn task_flags_add_tasks_token_expired_answers_498_and_the_log_names_the_api_version() {
    let (mut child, url) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        SECRET,
        "--preset",
        "legacy",
        "--task",
        "RefreshSections",
        "--task",
        "Fresh Task",
        "--token-expired",
    ])
    .await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let get = |path: &str, token: &str| {
        client
            .get(format!("{url}{path}"))
            .header("X-Plex-Token", token)
            .header("X-Plex-Pms-Api-Version", "1.2.3")
            .header("Accept", "application/json")
            .send()
    };
    assert_eq!(get("/butler", SECRET).await.expect("sent").status(), 498);
    assert_eq!(get("/butler", "wrong").await.expect("sent").status(), 401);
    assert_eq!(get("/identity", "").await.expect("sent").status(), 200);
    terminate(&child);
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let log = stderr_of(&mut child).await;
    assert!(log.contains("api_version=1.2.3"), "{log}");

    let (child, url) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        SECRET,
        "--preset",
        "legacy",
        "--task",
        "RefreshSections",
        "--task",
        "Fresh Task",
    ])
    .await;
    let listed: serde_json::Value = client
        .get(format!("{url}/butler"))
        .header("X-Plex-Token", SECRET)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let names: Vec<&str> = listed["ButlerTasks"]["ButlerTask"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 16, "{names:?}");
    assert_eq!(names[14..], ["RefreshSections", "Fresh Task"]);
    stop(child).await;

    // A name twice is refused with a clear message, not a panic.
    let out = sim(&[
        "--listen",
        "127.0.0.1:0",
        "--no-auth",
        "--task",
        "BackupDatabase",
    ])
    .output()
    .await
    .expect("runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("used twice"), "{said}");
}

#[tokio::test]
async fn settings_sessions_and_the_400_after_a_put_come_from_flags() {
    let (child, url) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        SECRET,
        "--window",
        "22-4",
        "--setting",
        "ButlerTaskBackupDatabase=0",
        "--setting",
        "FriendlyName=Den Server",
        "--sessions",
        "2",
        "--fault-400-after-put",
        "1",
    ])
    .await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let get = |path: &str| {
        client
            .get(format!("{url}{path}"))
            .header("X-Plex-Token", SECRET)
            .header("Accept", "application/json")
            .send()
    };
    let json = |response: reqwest::Response| response.json::<serde_json::Value>();
    let prefs = json(get("/:/prefs").await.expect("sent"))
        .await
        .expect("JSON");
    let value = |id: &str| {
        prefs["MediaContainer"]["Setting"]
            .as_array()
            .expect("a list")
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["value"].clone())
    };
    assert_eq!(value("ButlerStartHour"), Some(22.into()));
    assert_eq!(value("ButlerEndHour"), Some(4.into()));
    assert_eq!(value("ButlerTaskBackupDatabase"), Some(false.into()));
    assert_eq!(value("FriendlyName"), Some("Den Server".into()));
    let sessions = json(get("/status/sessions").await.expect("sent"))
        .await
        .expect("JSON");
    assert_eq!(sessions["MediaContainer"]["size"], 2);

    let put = client
        .put(format!("{url}/:/prefs?ButlerStartHour=1"))
        .header("X-Plex-Token", SECRET)
        .send()
        .await
        .expect("sent");
    assert_eq!(put.status(), 200);
    assert_eq!(get("/butler").await.expect("sent").status(), 400);
    assert_eq!(get("/butler").await.expect("sent").status(), 200);
    stop(child).await;
}

#[tokio::test]
async fn event_flags_set_the_ping_interval_the_aggregate_activity_and_stream_faults() {
    let (child, url) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--no-auth",
        "--aggregate-butler-activity",
        "--ping-interval",
        "30ms",
        "--fault-events-close-after",
        "2",
    ])
    .await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut stream = client
        .get(format!("{url}/:/eventsource/notifications"))
        .send()
        .await
        .expect("sent");
    assert_eq!(stream.status(), 200);
    let mut body = String::new();
    let read = async {
        while let Some(chunk) = stream.chunk().await.expect("reads") {
            body.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the stream closes after two events");
    assert_eq!(body, "event: ping\ndata: {}\n\n".repeat(2));
    let started = client
        .post(format!("{url}/butler/BackupDatabase"))
        .send()
        .await
        .expect("sent");
    assert_eq!(started.status(), 200);
    let listed = client
        .get(format!("{url}/activities"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert!(
        listed.contains("title=\"Butler tasks\" subtitle=\"Backup Database\""),
        "{listed}"
    );
    stop(child).await;

    let (child, url) = start(&["--listen", "127.0.0.1:0", "--no-auth", "--no-events"]).await;
    let missing = client
        .get(format!("{url}/:/eventsource/notifications"))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);
    stop(child).await;
}
