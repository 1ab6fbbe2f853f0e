//! The simulated servers the clients are measured against, in a process of
//! their own: client and server then do not take turns on one executor, and
//! the client's allocations and threads stay out of the server's way (and
//! the other way round). Both still share the machine's cores.
//!
//! The child is this same executable, started with [`SERVE_ARG`]. It runs
//! the library's `Simulator` on a multi-threaded Tokio runtime, as the
//! `plex-butler-sim` command does, with no log subscriber (the command with
//! `RUST_LOG=warn`). It stops when its standard input closes (the benchmark
//! ended, or died) or after [`MAX_LIFETIME`], whichever comes first.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use plex_butler_sim::{Preset, Simulator, TaskSpec};

/// The first argument that makes this executable a server.
pub const SERVE_ARG: &str = "__serve";
/// The token both servers require.
pub const TOKEN: &str = "wire-bench-token";
/// Tasks of the server that start and stop: one per worker at the highest
/// concurrency, so that no two workers ever start the same task (a second
/// start would answer 202, and a stop of a stopped task 404, which the
/// facade resolves with an extra `GET /butler`).
pub const ACTION_TASKS: usize = 64;
/// A server left behind stops by itself after this long.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long the parent waits for the child's addresses.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The names of the action server's tasks: those of a PMS 1.43.2 (names the
/// facade knows), then made-up ones (names it does not know).
pub fn action_task_names() -> Vec<String> {
    let mut names: Vec<String> = Preset::Pms1_43_2
        .tasks()
        .into_iter()
        .map(|task| task.name)
        .take(ACTION_TASKS)
        .collect();
    for i in names.len()..ACTION_TASKS {
        names.push(format!("BenchTask{i:02}"));
    }
    names
}

/// The child's side: serve until told to stop.
pub fn serve_main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wire bench server: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wire bench server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let tasks = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .start()
        .await
        .map_err(|e| format!("the tasks server did not start: {e}"))?;
    let actions = Simulator::builder()
        .token(TOKEN)
        .tasks(action_task_names().into_iter().map(TaskSpec::new))
        .start()
        .await
        .map_err(|e| format!("the actions server did not start: {e}"))?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} {}", tasks.url(), actions.url())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot tell the addresses: {e}"))?;
    drop(stdout);

    let (closed, stdin_closed) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });
    tokio::select! {
        _ = stdin_closed => {}
        () = tokio::time::sleep(MAX_LIFETIME) => {}
    }
    tasks.shutdown().await;
    actions.shutdown().await;
    Ok(())
}

/// The parent's handle on a running server process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Kept open: the child stops when it closes.
    _stdin: Option<ChildStdin>,
    /// The base URL of the server with the 23 tasks of a PMS 1.43.2.
    pub tasks_url: String,
    /// The base URL of the server with [`ACTION_TASKS`] tasks.
    pub actions_url: String,
}

impl ServerProcess {
    pub fn start() -> Result<Self, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this executable to start the server: {e}"))?;
        let mut child = Command::new(exe)
            .arg(SERVE_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server process: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(stdout) = stdout {
                let _ = BufReader::new(stdout).read_line(&mut line);
            }
            let _ = sender.send(line);
        });
        let mut server = ServerProcess {
            child,
            _stdin: stdin,
            tasks_url: String::new(),
            actions_url: String::new(),
        };
        let line = receiver
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| "the server process did not say where it listens".to_owned())?;
        let mut urls = line.split_whitespace();
        match (urls.next(), urls.next()) {
            (Some(tasks), Some(actions)) => {
                server.tasks_url = tasks.to_owned();
                server.actions_url = actions.to_owned();
                Ok(server)
            }
            _ => Err(format!(
                "the server process said {:?}, not two addresses",
                line.trim()
            )),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
