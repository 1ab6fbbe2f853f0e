//! What a terminal shows, in a real pseudo-terminal: server strings never
//! act as escape sequences, columns align by display width, and Ctrl-C
//! during `--wait` leaves the terminal clean and says what was started.
//!
//! The pseudo-terminal comes from `openpty` (no controlling terminal is
//! needed, so this runs as root in CI without a TTY); Ctrl-C is the SIGINT
//! a terminal would send.

use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use plex_butler_sim::{Clock, ManualClock, Preset, Simulator, TaskSpec};
use unicode_width::UnicodeWidthStr;

use crate::common::{self, Scripted, code, stderr, stdout};

const TOKEN: &str = "terminal-test-token-3e8d21";

/// The binary on a pseudo-terminal (stdin, stdout and stderr), and all it
/// wrote there.
struct OnTerminal {
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl OnTerminal {
    fn spawn(home: &std::path::Path, args: &[&str]) -> Self {
        let size = nix::pty::Winsize {
            ws_row: 40,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave = pty.slave;
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("plex-butler"));
        cmd.env_clear()
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("PLEX_TOKEN", TOKEN)
            .args(args)
            .stdin(Stdio::from(slave.try_clone().expect("dup")))
            .stdout(Stdio::from(slave.try_clone().expect("dup")))
            .stderr(Stdio::from(slave));
        let child = cmd.spawn().expect("spawn");
        // The parent's copies of the terminal's end close here, so that
        // reading ends when the child has gone.
        drop(cmd);
        let (screen, reader) = common::collect(std::fs::File::from(pty.master));
        Self {
            child,
            screen,
            reader,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().expect("lock")).into_owned()
    }

    /// Waits until the terminal shows `needle` (or a minute passes).
    fn wait_for(&self, needle: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if self.text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The exit code, and everything the terminal showed.
    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().expect("wait");
        // The reader ends once it has drained what the child left: no
        // end of the terminal is open any more.
        let OnTerminal { screen, reader, .. } = self;
        reader.join().expect("the reader ends");
        let shown = String::from_utf8_lossy(&screen.lock().expect("lock")).into_owned();
        (status.code().unwrap_or(-1), shown)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_task_names_and_titles_reach_the_terminal_escaped_and_aligned() {
    // The simulator refuses such names: a scripted server sends them.
    let server = Scripted::start(|_, path| match path {
        "/butler" => (200, vec![], HOSTILE_TASKS.to_string()),
        "/activities" => (200, vec![], HOSTILE_ACTIVITY.to_string()),
        _ => (404, vec![], String::new()),
    });
    let home = tempfile::tempdir().expect("temp dir");
    let url = server.url();
    let home_path = home.path().to_path_buf();
    let (code, shown) = tokio::task::spawn_blocking(move || {
        OnTerminal::spawn(&home_path, &["--server", &url, "list"]).finish()
    })
    .await
    .expect("join");
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains('\u{1b}'),
        "an escape reached the terminal: {shown:?}"
    );
    assert!(
        !shown.contains('\u{7}'),
        "a bell reached the terminal: {shown:?}"
    );
    assert!(
        !shown.contains('\t'),
        "a tab reached the terminal: {shown:?}"
    );
    assert!(shown.contains("Evil\\u{1b}]0;pwned\\u{7}Task"), "{shown}");
    assert!(shown.contains("\\u{1b}[2JWipe\\tTitle"), "{shown}");
    // The EVERY column starts at the same screen column on every line.
    let starts: Vec<usize> = shown
        .lines()
        .filter_map(|line| {
            let at = line.find("5 days").or_else(|| line.find("EVERY"))?;
            Some(line[..at].width())
        })
        .collect();
    assert_eq!(starts.len(), 6, "{shown}");
    assert!(shown.contains("yes (40%)"), "the running task: {shown}");
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "{starts:?}\n{shown}"
    );
}

const HOSTILE_TASKS: &str = r#"{"ButlerTasks":{"ButlerTask":[
{"name":"Evil\u001b]0;pwned\u0007Task","interval":5,"scheduleRandomized":false,"enabled":true},
{"name":"Wipe","title":"\u001b[2JWipe\tTitle","interval":5,"scheduleRandomized":false,"enabled":true},
{"name":"Wide","title":"日本語のタスク","interval":5,"scheduleRandomized":false,"enabled":true},
{"name":"Party","title":"🎉 Party","interval":5,"scheduleRandomized":false,"enabled":true},
{"name":"Plain","interval":5,"scheduleRandomized":false,"enabled":true}]}}"#;

const HOSTILE_ACTIVITY: &str = r#"{"MediaContainer":{"size":1,"Activity":[{"uuid":"u1","type":"butler","cancellable":false,"userID":1,"title":"Evil\u001b]0;pwned\u0007Task","subtitle":"","progress":40}]}}"#;

/// A simulator whose clock stands still: a started task runs until
/// stopped.
async fn frozen() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .clock(ManualClock::at(Clock::system().now()))
        .start()
        .await
        .expect("simulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_wait_on_a_terminal_clears_the_bar_and_says_the_work_goes_on() {
    let sim = frozen().await;
    let home = tempfile::tempdir().expect("temp dir");
    let url = sim.url().to_string();
    let home_path = home.path().to_path_buf();
    let (code, shown) = tokio::task::spawn_blocking(move || {
        let run = OnTerminal::spawn(
            &home_path,
            &["--server", &url, "start", "BackupDatabase", "--wait"],
        );
        assert!(run.wait_for("  0%"), "no progress bar: {}", run.text());
        let pid = Pid::from_raw(i32::try_from(run.child.id()).expect("pid"));
        kill(pid, Signal::SIGINT).expect("SIGINT");
        run.finish()
    })
    .await
    .expect("join");
    assert_eq!(code, 130, "{shown}");
    assert!(shown.contains("BackupDatabase: started"), "{shown}");
    assert!(shown.contains("interrupted after"), "{shown}");
    assert!(shown.contains("the server's work goes on"), "{shown}");
    assert!(shown.contains("last seen: Backup Database: 0%"), "{shown}");
    assert!(
        shown.contains("\u{1b}[?25h"),
        "the cursor is shown again: {shown:?}"
    );
    let after_message = shown.rsplit("interrupted after").next().unwrap_or_default();
    assert!(
        !after_message.contains("[="),
        "no bar after the message: {shown:?}"
    );
    assert_eq!(
        sim.state().running(),
        ["BackupDatabase"],
        "the work goes on"
    );
}

/// Runs `start BackupDatabase --wait -o json` against a frozen simulator
/// (under `nohup` if asked) and sends `signals` once the wait is under
/// way, a moment apart.
async fn signal_during_wait_in_json(signals: &[Signal], under_nohup: bool) -> std::process::Output {
    let signals = signals.to_vec();
    let sim = frozen().await;
    let home = tempfile::tempdir().expect("temp dir");
    let bin = assert_cmd::cargo::cargo_bin("plex-butler");
    let url = sim.url().to_string();
    let home_path = home.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        // The signals' dispositions as a shell at a terminal gives them,
        // whatever this test process inherited (children of a run under
        // `nohup` ignore SIGHUP): perl resets them, then runs the command.
        let mut command = std::process::Command::new("perl");
        command.args([
            "-e",
            r#"$SIG{$_} = "DEFAULT" for qw(HUP INT TERM); exec { $ARGV[0] } @ARGV or die "exec: $!""#,
        ]);
        if under_nohup {
            command.arg("nohup");
        }
        command.arg(bin);
        let mut child = command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home_path)
            .env("XDG_CONFIG_HOME", &home_path)
            .env("PLEX_TOKEN", TOKEN)
            .args([
                "--server",
                &url,
                "-o",
                "json",
                "start",
                "BackupDatabase",
                "--wait",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The first progress line on stderr: the wait is under way.
        let mut err = child.stderr.take().expect("stderr");
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\n") && err.read(&mut byte).is_ok_and(|n| n == 1) {
            seen.push(byte[0]);
        }
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        for (i, signal) in signals.into_iter().enumerate() {
            if i > 0 {
                // Time for the signal before to end the run, had it done so.
                std::thread::sleep(Duration::from_millis(300));
            }
            kill(pid, signal).expect("signal");
        }
        // A run that ignored its signal would wait forever: end it.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("try_wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut rest = Vec::new();
        let _ = err.read_to_end(&mut rest);
        let mut output = child.wait_with_output().expect("wait");
        seen.extend(rest);
        output.stderr = seen;
        output
    })
    .await
    .expect("join")
}

/// Asserts one complete JSON document marked interrupted, with `code`.
fn assert_interrupted_document(out: &std::process::Output, code_expected: i32) {
    assert_eq!(code(out), code_expected, "{}", stderr(out));
    common::assert_matches_schema(&stdout(out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(out)).expect("JSON");
    assert_eq!(doc["results"][0]["outcome"], "started", "{doc}");
    assert_eq!(doc["wait"]["interrupted"], true, "{doc}");
    assert_eq!(doc["wait"]["done"], false, "{doc}");
    assert_eq!(doc["error"]["kind"], "interrupted", "{doc}");
    assert_eq!(doc["error"]["exit_code"], code_expected, "{doc}");
    assert!(stderr(out).contains("goes on"), "{}", stderr(out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_wait_in_json_prints_a_complete_document_marked_interrupted() {
    let out = signal_during_wait_in_json(&[Signal::SIGINT], false).await;
    assert_interrupted_document(&out, 130);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_wait_in_json_prints_a_complete_document_and_exits_143() {
    let out = signal_during_wait_in_json(&[Signal::SIGTERM], false).await;
    assert_interrupted_document(&out, 143);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_during_wait_in_json_prints_a_complete_document_and_exits_129() {
    let out = signal_during_wait_in_json(&[Signal::SIGHUP], false).await;
    assert_interrupted_document(&out, 129);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_nohup_a_sighup_is_ignored_and_the_wait_goes_on() {
    let out = signal_during_wait_in_json(&[Signal::SIGHUP, Signal::SIGINT], true).await;
    assert_interrupted_document(&out, 130);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidi_overrides_zero_width_characters_and_endless_titles_are_escaped_and_cut_in_tables() {
    let long = "L".repeat(10_000);
    let sim = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .clock(ManualClock::at(Clock::system().now()))
        .task(TaskSpec::new("Flipped").title("txt.\u{202e}exe Zero\u{200b}Width\u{feff}"))
        .task(TaskSpec::new("Endless").title(long.clone()))
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let shown = |args: &[&str]| {
        let mut cmd = common::bare_cmd(home.path());
        cmd.env("PLEX_TOKEN", TOKEN)
            .args(["--server", sim.url()])
            .args(args);
        cmd
    };
    let start = common::run_without(shown(&["start", "Flipped", "Endless"]), TOKEN).await;
    assert_eq!(code(&start), 0, "{}", stderr(&start));
    for args in [&["list"][..], &["activities"][..]] {
        let out = common::run_without(shown(args), TOKEN).await;
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        for hidden in ['\u{202e}', '\u{200b}', '\u{feff}'] {
            assert!(!text.contains(hidden), "{args:?}: {hidden:?} in {text:?}");
        }
        assert!(
            text.contains("txt.\\u{202e}exe Zero\\u{200b}Width\\u{feff}"),
            "{args:?}: {text}"
        );
        assert!(
            text.contains(&format!("{}…", &long[..59])),
            "{args:?}: {text}"
        );
        assert!(
            !text.contains(&long[..61]),
            "{args:?}: the title was not cut"
        );
        let widest = text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0);
        assert!(widest < 200, "{args:?}: a line {widest} columns wide");
    }
    // JSON is never cut.
    let out = common::run_without(shown(&["-o", "json", "list"]), TOKEN).await;
    assert!(stdout(&out).contains(&long), "the JSON title was cut");
}
