//! What the tests of the binary share: a command with no inherited
//! configuration, and a run that fails the test if the token was printed.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// The binary with no inherited configuration: the config directory and
/// home are `home`, colour is off.
pub fn bare_cmd(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("plex-butler").expect("binary is built");
    cmd.env_clear()
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

/// Runs the command off the async runtime (a simulator may run on it), and
/// asserts that `token`, in any case, is nowhere in what it printed.
pub async fn run_without(mut cmd: Command, token: &str) -> Output {
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("the binary runs");
    assert_token_absent(&output, token);
    output
}

/// Fails the test if `token`, in any case, is in what the binary printed.
fn assert_token_absent(output: &Output, token: &str) {
    let printed = format!("{}{}", stdout(output), stderr(output));
    assert!(
        !printed.to_lowercase().contains(&token.to_lowercase()),
        "the token was printed:\n{printed}"
    );
}

/// The binary, as a plain process for [`Watched`], with no inherited
/// configuration (as [`bare_cmd`]).
pub fn bare_process(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("plex-butler"));
    cmd.env_clear()
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env("NO_COLOR", "1");
    cmd
}

/// The binary running, its stderr read as it comes: a test acts once the
/// binary has said something, never after a fixed sleep, which a slow
/// machine outruns. A run still going when this is dropped is killed.
pub struct Watched {
    child: std::process::Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stdout_reader: Option<std::thread::JoinHandle<()>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

/// Reads `from` as it comes, on a thread of its own, into the buffer it
/// returns; the thread ends at the end of `from` or at an error.
pub fn collect(
    mut from: impl std::io::Read + Send + 'static,
) -> (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
    let into = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&into);
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 {
                break;
            }
            seen.lock().expect("lock").extend_from_slice(&buffer[..n]);
        }
    });
    (into, reader)
}

/// How long a test waits for the binary to say something, or to end.
const PATIENCE: Duration = Duration::from_secs(30);

impl Watched {
    pub fn spawn(mut cmd: std::process::Command) -> Self {
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let (stdout, stdout_reader) = collect(child.stdout.take().expect("stdout"));
        let (stderr, stderr_reader) = collect(child.stderr.take().expect("stderr"));
        Self {
            child,
            stdout,
            stdout_reader: Some(stdout_reader),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("lock")).into_owned()
    }

    /// Everything on stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("lock")).into_owned()
    }

    /// Waits until stderr holds `needle`; fails the test after
    /// [`PATIENCE`], or when the binary ends without saying it.
    pub fn wait_for(&mut self, needle: &str) {
        self.wait_until(needle, Self::stderr);
    }

    /// Waits until stdout holds `needle`, as [`Watched::wait_for`].
    pub fn wait_for_stdout(&mut self, needle: &str) {
        self.wait_until(needle, Self::stdout);
    }

    fn wait_until(&mut self, needle: &str, seen: fn(&Self) -> String) {
        let until = Instant::now() + PATIENCE;
        while !seen(self).contains(needle) {
            let ended = self.child.try_wait().expect("try_wait").is_some();
            assert!(
                !ended && Instant::now() < until,
                "the binary did not say {needle:?}:\nstdout: {}\nstderr: {}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the binary is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the end (killing the binary after [`PATIENCE`]) and
    /// asserts that `token`, in any case, is nowhere in what it printed.
    pub fn finish(mut self, token: &str) -> Output {
        let until = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < until,
                "the binary did not end:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        for reader in [self.stdout_reader.take(), self.stderr_reader.take()]
            .into_iter()
            .flatten()
        {
            reader.join().expect("the readers end");
        }
        let output = Output {
            status,
            stdout: self.stdout.lock().expect("lock").clone(),
            stderr: self.stderr.lock().expect("lock").clone(),
        };
        assert_token_absent(&output, token);
        output
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // Only a test that failed midway leaves the run going.
        if self.child.try_wait().is_ok_and(|status| status.is_none()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// A server that answers each request with what `answer` says for its
/// method and path: for the cases the simulator does not play (no
/// activities, redirects). It stops when dropped, or after a minute.
pub struct Scripted {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A status, extra headers and a JSON or empty body.
pub type Answer = (u16, Vec<(&'static str, String)>, String);

impl Scripted {
    pub fn start(answer: impl Fn(&str, &str) -> Answer + Send + 'static) -> Self {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local address");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let until = std::time::Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::Relaxed) && std::time::Instant::now() < until {
                let stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => return,
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut parts = request.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let (status, headers, body) = answer(&method, &path);
                let mut head = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                let _ = (&stream).write_all(format!("{head}\r\n{body}").as_bytes());
            }
        });
        Self { addr, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One task the scripted servers list.
pub const ONE_TASK: &str = r#"{"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":true}]}}"#;

/// What a test checks a file kept: its bytes (none for a FIFO), mode,
/// link-ness and modification time.
#[derive(Debug, PartialEq)]
pub struct FileState {
    pub is_symlink: bool,
    pub kind: String,
    pub mode: u32,
    pub modified: std::time::SystemTime,
    pub content: Option<Vec<u8>>,
}

pub fn file_state(path: &Path) -> FileState {
    use std::os::unix::fs::PermissionsExt;
    let link = std::fs::symlink_metadata(path).expect("the file is there");
    let meta = std::fs::metadata(path).expect("its target is there");
    FileState {
        is_symlink: link.file_type().is_symlink(),
        kind: format!("{:?}", meta.file_type()),
        mode: meta.permissions().mode(),
        modified: meta.modified().expect("mtime"),
        content: meta
            .is_file()
            .then(|| std::fs::read(path).expect("readable")),
    }
}

/// Validates a JSON document against `plex-butler schema`.
pub fn assert_matches_schema(document: &str) {
    let schema = Command::cargo_bin("plex-butler")
        .expect("binary is built")
        .arg("schema")
        .output()
        .expect("schema runs");
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).expect("schema is JSON");
    let instance: serde_json::Value = serde_json::from_str(document).expect("output is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match the schema: {errors:?}\n{document}"
    );
}

/// Writes `text` as the config file under `home` (`plex-butler/config.toml`,
/// mode 0600, as the command wants a file holding tokens) and returns its
/// path.
pub fn write_config_file(home: &Path, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = home.join("plex-butler");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("config.toml");
    std::fs::write(&config, text).expect("write");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    config
}

/// Writes a config file naming each `(profile, server URL)` as a profile
/// with `token`, in that order.
pub fn write_profiles(home: &Path, profiles: &[(&str, &str)], token: &str) {
    let text: String = profiles
        .iter()
        .map(|(name, url)| format!("[servers.{name}]\nurl = \"{url}\"\ntoken = \"{token}\"\n\n"))
        .collect();
    write_config_file(home, &text);
}
