//! The `plex-butler` binary fails well: every error path exits with the
//! documented code, says what went wrong on stderr, and never prints the
//! token, on stdout or stderr, even at `-vvv` or when the server echoes
//! the token back.
//!
//! An unreadable token file is a directory or a missing file here: for the
//! root user a file of mode 000 is still readable.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common;

use assert_cmd::Command;
use common::stderr;
use plex_butler_sim::{FaultPlan, Preset, Simulator, TaskSpec, Trigger};

/// Distinctive, so that a leak cannot hide.
const TOKEN: &str = "cli-failure-T0KEN-e4f1a2";

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(13)
        .start()
        .await
        .expect("simulator starts")
}

/// The binary with no inherited configuration, the token in the
/// environment.
fn plex_butler(home: &Path) -> Command {
    let mut cmd = common::bare_cmd(home);
    cmd.env("PLEX_TOKEN", TOKEN);
    cmd
}

/// Runs the command; the test fails if the token was printed.
async fn run(cmd: Command) -> Output {
    common::run_without(cmd, TOKEN).await
}

/// Asserts the exit code and that stderr holds `words`.
fn assert_fails(output: &Output, code: i32, words: &str, what: &str) {
    let said = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{what}: {said}");
    assert!(said.contains(words), "{what}: {words:?} not in {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_flags_and_names_are_usage_errors_that_never_echo_the_token() {
    let home = tempfile::tempdir().expect("temp dir");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--server".into(),
                format!("http://127.0.0.1:32400/?X-Plex-Token={TOKEN}"),
                "list".into(),
            ],
            "query",
        ),
        (
            vec![
                "--server".into(),
                format!("http://plex:{TOKEN}@127.0.0.1:32400"),
                "list".into(),
            ],
            "credentials",
        ),
        (
            vec!["--server".into(), TOKEN.into(), "list".into()],
            "not a URL",
        ),
        (
            vec!["--server".into(), format!("{TOKEN}:32400"), "list".into()],
            "use http:// or https://",
        ),
        (
            vec!["--server".into(), "http://".into(), "list".into()],
            "not a URL",
        ),
        (
            vec![
                "--token".into(),
                TOKEN.into(),
                "--embedded".into(),
                "list".into(),
            ],
            "cannot be used with",
        ),
        (
            vec![
                "--token".into(),
                TOKEN.into(),
                "--no-such-flag".into(),
                "list".into(),
            ],
            "unexpected argument",
        ),
        (
            vec![format!("--tokn={TOKEN}"), "list".into()],
            "unexpected argument",
        ),
        (vec!["--timeout".into(), "0s".into(), "list".into()], "zero"),
        (
            vec!["--output".into(), "yaml".into(), "list".into()],
            "invalid value",
        ),
        (vec!["start".into(), String::new()], "not a task name"),
        (vec!["stop".into(), " \t ".into()], "not a task name"),
    ];
    for (args, words) in cases {
        let mut cmd = plex_butler(home.path());
        cmd.args(&args);
        let out = run(cmd).await;
        assert_fails(&out, 2, words, &format!("{args:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_empty_or_odd_token_files_and_configs_are_config_errors() {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = home.path();
    let empty = dir.join("empty-token");
    std::fs::write(&empty, "\n").expect("write");
    let two_lines = dir.join("two-lines");
    std::fs::write(&two_lines, format!("first\n{TOKEN}\n")).expect("write");
    let unquoted = dir.join("unquoted.toml");
    std::fs::write(&unquoted, format!("token = {TOKEN}\n")).expect("write");
    let misspelt = dir.join("misspelt.toml");
    std::fs::write(&misspelt, format!("tokn = \"{TOKEN}\"\n")).expect("write");
    let not_toml = dir.join("binary.toml");
    std::fs::write(&not_toml, [0xff, 0xfe, 0x00, b'=']).expect("write");

    let path = |p: &Path| p.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // A directory stands for an unreadable file: root reads mode 000.
        (
            vec!["--token-file".into(), path(dir), "list".into()],
            "cannot read the token file",
        ),
        (
            vec![
                "--token-file".into(),
                path(&dir.join("missing")),
                "list".into(),
            ],
            "cannot read the token file",
        ),
        (
            vec!["--token-file".into(), path(&empty), "list".into()],
            "is empty",
        ),
        (
            vec!["--token-file".into(), path(&two_lines), "list".into()],
            "more than one line",
        ),
        (
            vec!["--config".into(), path(&unquoted), "list".into()],
            "is not valid",
        ),
        (
            vec!["--config".into(), path(&misspelt), "list".into()],
            "unknown field",
        ),
        (
            vec!["--config".into(), path(&not_toml), "list".into()],
            "cannot read the config file",
        ),
        (
            vec![
                "--config".into(),
                path(&dir.join("none.toml")),
                "list".into(),
            ],
            "cannot read the config file",
        ),
    ];
    for (args, words) in cases {
        let mut cmd = plex_butler(dir);
        cmd.env_remove("PLEX_TOKEN").args(&args);
        let out = run(cmd).await;
        assert_fails(&out, 2, words, &format!("{args:?}"));
    }

    // A token with a line break cannot be a header: refused before sending.
    let mut cmd = plex_butler(dir);
    cmd.env("PLEX_TOKEN", format!("{TOKEN}\nsecond")).args([
        "--server",
        "http://127.0.0.1:9",
        "list",
    ]);
    let out = run(cmd).await;
    assert_fails(&out, 2, "characters a header cannot carry", "line break");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_failures_exit_with_their_documented_codes_and_never_print_the_token() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let faults: Vec<(FaultPlan, &str, i32, &str)> = vec![
        (
            FaultPlan::none().latency(Duration::from_secs(30)),
            "latency",
            5,
            "did not answer within 300 ms",
        ),
        (
            FaultPlan::none().status(503, Trigger::Always),
            "503",
            1,
            "503 Service Unavailable",
        ),
        (
            FaultPlan::none()
                .status(429, Trigger::Always)
                .retry_after(Duration::from_secs(60)),
            "429 asking for a minute",
            1,
            "it asks to wait 60 s",
        ),
        (
            FaultPlan::none().garbage_body(Trigger::Always),
            "garbage",
            1,
            "not the JSON this client expects",
        ),
        (
            FaultPlan::none().truncate_body(Trigger::Always),
            "truncated",
            5,
            "broke off",
        ),
        (
            FaultPlan::none().drop_connection(Trigger::Always),
            "dropped",
            5,
            "broke off",
        ),
    ];
    for (plan, what, code, words) in faults {
        sim.set_faults(plan).expect("faults");
        for verbosity in [None, Some("-vvv")] {
            let mut cmd = plex_butler(home.path());
            cmd.args(["--server", sim.url(), "--timeout", "300ms"]);
            cmd.args(verbosity);
            cmd.arg("list");
            let started = Instant::now();
            let out = run(cmd).await;
            assert_fails(&out, code, words, what);
            // Retries are bounded: three attempts of 300 ms and short waits.
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{what}: {:?}",
                started.elapsed()
            );
        }
    }
    sim.set_faults(FaultPlan::none()).expect("faults");

    let wrong = Simulator::builder()
        .token("another-token-entirely")
        .start()
        .await
        .expect("simulator starts");
    let mut cmd = plex_butler(home.path());
    cmd.args(["-vvv", "--server", wrong.url(), "start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_fails(&out, 3, "check the token", "wrong token");

    // A token whose days are over (newer servers): exit 3, saying so and
    // how to get going again.
    sim.set_token_expired(true);
    let mut cmd = plex_butler(home.path());
    cmd.args(["--server", sim.url(), "list"]);
    let out = run(cmd).await;
    assert_fails(&out, 3, "the token has expired (498)", "expired token");
    assert_fails(&out, 3, "PLEX_TOKEN", "expired token");
    sim.set_token_expired(false);

    let mut cmd = plex_butler(home.path());
    cmd.args(["-vvv", "--server", sim.url(), "stop", "Frobnicate"]);
    let out = run(cmd).await;
    assert_fails(&out, 4, "unknown task 'Frobnicate'", "unknown task");

    let mut cmd = plex_butler(home.path());
    cmd.args(["-vvv", "--server", sim.url(), "start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("operation"), "-vvv logs the calls");

    let free = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut cmd = plex_butler(home.path());
    cmd.args([
        "--server",
        &format!("http://{free}"),
        "--timeout",
        "1s",
        "list",
    ]);
    let out = run(cmd).await;
    assert_fails(&out, 5, "is the server running", "refused");
}

/// A server that answers every request with `status` and a body echoing
/// the `X-Plex-Token` it was sent, as a debugging proxy might. It stops
/// when dropped, or after a minute.
struct Echo {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Echo {
    fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => echo(stream, status),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return,
                }
            }
        });
        Self { addr, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn echo(mut stream: std::net::TcpStream, status: u16) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let token = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-plex-token")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let body = if status == 401 {
        format!(r#"{{"errors":[{{"code":1001,"message":"unknown token {token}"}}]}}"#)
    } else {
        format!("<html><title>Debug {token}</title><pre>X-Plex-Token: {token}</pre></html>")
    };
    let answer = format!(
        "HTTP/1.1 {status} Echo\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\nLocation: http://127.0.0.1:1/?X-Plex-Token={token}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_echoes_the_token_does_not_get_it_printed() {
    let home = tempfile::tempdir().expect("temp dir");
    for (status, code, words) in [
        (500, 1, "500 Internal Server Error"),
        (401, 3, "unknown token <redacted>"),
        (302, 1, "it redirects to"),
        (200, 1, "an HTML page where JSON was asked"),
    ] {
        let server = Echo::start(status);
        for verbosity in [None, Some("-vvv")] {
            let mut cmd = plex_butler(home.path());
            cmd.args(["--server", &server.url()]);
            cmd.args(verbosity);
            cmd.arg("list");
            let out = run(cmd).await;
            assert_fails(&out, code, words, &format!("echo with {status}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_the_spec_knows_but_an_older_server_lacks_is_called_that_not_a_typo() {
    // The legacy preset lists 14 tasks; GenerateBlurHashes came later.
    let old = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Legacy)
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = plex_butler(home.path());
    cmd.args(["--server", old.url(), "start", "generateblurhashes"]);
    let out = run(cmd).await;
    let said = format!(
        "the server at {} does not list 'GenerateBlurHashes'; it may be older than this client",
        old.url()
    );
    assert_fails(&out, 4, &said, "known to the spec only");
    assert!(!stderr(&out).contains("Did you mean"), "{}", stderr(&out));
    old.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_newer_than_the_spec_is_listed_started_and_stopped_by_its_name() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .task(TaskSpec::new("RefreshSections"))
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    for (args, words) in [
        (vec!["list"], "RefreshSections"),
        (vec!["start", "refreshsections"], "RefreshSections"),
        (vec!["stop", "RefreshSections"], "RefreshSections"),
    ] {
        let mut cmd = plex_butler(home.path());
        cmd.args(["--server", sim.url()]).args(&args);
        let out = run(cmd).await;
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(said.contains(words), "{args:?}: {said}");
    }
    sim.shutdown().await;
}

#[test]
fn help_never_shows_the_value_of_an_exported_server_url() {
    let home = tempfile::tempdir().expect("temp dir");
    let urls = [
        (
            "http://someone:pw-in-url-5b2c@10.0.0.2:32400",
            "pw-in-url-5b2c",
        ),
        (
            "http://10.0.0.2:32400/?X-Plex-Token=tok-in-url-8d1f",
            "tok-in-url-8d1f",
        ),
    ];
    let helps: [&[&str]; 3] = [&["--help"], &["-h"], &["window", "set", "--help"]];
    for (url, secret) in urls {
        for args in helps {
            let out = common::bare_cmd(home.path())
                .env("PLEX_URL", url)
                .args(args)
                .output()
                .expect("the binary runs");
            let printed = format!("{}{}", common::stdout(&out), stderr(&out));
            assert_eq!(out.status.code(), Some(0), "{args:?}: {printed}");
            assert!(printed.contains("PLEX_URL"), "{args:?}: {printed}");
            assert!(
                !printed.contains(secret),
                "{args:?} printed {secret}: {printed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_before_the_token_in_a_token_file_is_not_part_of_it() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("bom.token");
    std::fs::write(&file, format!("\u{feff}{TOKEN}\n")).expect("write");
    let mut cmd = plex_butler(home.path());
    cmd.env_remove("PLEX_TOKEN")
        .env("PLEX_URL", sim.url())
        .arg("--token-file")
        .arg(&file)
        .arg("list");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plex_token_that_is_not_utf8_is_refused_not_passed_over_for_the_config_token() {
    use std::os::unix::ffi::OsStrExt;
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!("server = \"{}\"\ntoken = \"{TOKEN}\"\n", sim.url()),
    )
    .expect("write");
    let mut cmd = plex_butler(home.path());
    cmd.env("PLEX_TOKEN", std::ffi::OsStr::from_bytes(b"not-\xff-utf8"))
        .arg("--config")
        .arg(&config)
        .args(["start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_fails(&out, 2, "$PLEX_TOKEN is not UTF-8", "non-UTF-8 PLEX_TOKEN");
    assert!(
        sim.state().running().is_empty(),
        "the config's token was used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_too_far_for_the_clock_is_no_deadline_not_a_panic() {
    // 400 billion years: more than the clock can add to now.
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = plex_butler(home.path());
    cmd.args(["--embedded", "--deadline", "400000000000y", "list"]);
    let out = run(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
