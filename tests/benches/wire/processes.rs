//! What is measured from outside: whole processes (the command against
//! `curl`), the simulator under `wrk`, a client's resident memory in a
//! process of its own, and the build.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::measure::{median_duration, percentile};
use crate::server::TOKEN;

/// The first argument that makes this executable a memory probe.
pub const RSS_ARG: &str = "__rss";

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    let tests_crate = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests_crate.parent().unwrap_or(tests_crate).to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// Runs `cargo build` with `args` and returns the path of the executable
/// named `bin` it built (or found fresh).
pub fn cargo_build(args: &[&str], bin: &str) -> Result<PathBuf, String> {
    let output = cargo()
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo build {} failed", args.join(" ")));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == bin)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo build {} did not say where {bin} is", args.join(" ")))
}

/// The `plex-butler` command: built in release for the benchmark; for the
/// smoke test, the one `cargo test` built next to this executable, or a
/// debug build.
pub fn cli_binary(release: bool) -> Result<PathBuf, String> {
    let args: &[&str] = if release {
        &["--release", "-p", "plex-butler-cli", "--bin", "plex-butler"]
    } else {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("plex-butler")));
        if let Some(path) = beside.filter(|path| path.is_file()) {
            return Ok(path);
        }
        &["-p", "plex-butler-cli", "--bin", "plex-butler"]
    };
    cargo_build(args, "plex-butler")
}

/// Median wall times of whole processes.
#[derive(Debug)]
pub struct ProcessTimes {
    pub cli: Duration,
    /// `None` when `curl` is not installed.
    pub curl: Option<Duration>,
    pub runs: usize,
}

/// `plex-butler list` against `curl` fetching the same URL with the same
/// token, `runs` times each, taking turns.
pub fn cli_against_curl(
    cli: &Path,
    base_url: &str,
    runs: usize,
    scratch: &Path,
) -> Result<ProcessTimes, String> {
    // A config file of its own, so that the command keeps nothing in the
    // user's; it has a client identifier, as after the first run.
    let config = scratch.join("config.toml");
    std::fs::write(&config, "client_identifier = \"wire-benchmark\"\n")
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let list = || {
        let mut command = Command::new(cli);
        command
            .args(["--server", base_url, "list"])
            .env("PLEX_TOKEN", TOKEN)
            .env("PLEX_BUTLER_CONFIG", &config)
            .env_remove("RUST_LOG")
            .env_remove("PLEX_URL");
        command
    };
    let url = format!("{base_url}/butler");
    let curl = || {
        let mut command = Command::new("curl");
        command.args([
            "-sS",
            "-f",
            "-o",
            "/dev/null",
            "-H",
            &format!("X-Plex-Token: {TOKEN}"),
            "-H",
            "Accept: application/json",
            &url,
        ]);
        command
    };
    let has_curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());

    // Once each first: the command writes its config file, caches warm up.
    time_process(list(), "plex-butler list")?;
    if has_curl {
        time_process(curl(), "curl")?;
    }
    let mut cli_times = Vec::with_capacity(runs);
    let mut curl_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        cli_times.push(time_process(list(), "plex-butler list")?);
        if has_curl {
            curl_times.push(time_process(curl(), "curl")?);
        }
    }
    Ok(ProcessTimes {
        cli: median_duration(&mut cli_times),
        curl: has_curl.then(|| median_duration(&mut curl_times)),
        runs,
    })
}

fn time_process(mut command: Command, what: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!("{what} failed: {status}"));
    }
    Ok(elapsed)
}

/// The simulator under load.
#[derive(Debug)]
pub struct ServerLoad {
    /// What made the load.
    pub tool: String,
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// 64 connections of `GET /butler` (JSON) for `duration`: with `wrk` when
/// installed, else with a load generator of our own (reqwest, in this
/// process).
pub async fn server_load(base_url: &str, duration: Duration) -> Result<ServerLoad, String> {
    let url = format!("{base_url}/butler");
    let seconds = duration.as_secs().max(1);
    let wrk = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s")])
        .args(["-H", &format!("X-Plex-Token: {TOKEN}")])
        .args(["-H", "Accept: application/json", "--latency", &url])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match wrk {
        Ok(output) if output.status.success() => {
            parse_wrk(&String::from_utf8_lossy(&output.stdout), seconds)
        }
        Ok(output) => Err(format!(
            "wrk failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim()
        )),
        Err(_) => own_load(&url, duration).await,
    }
}

/// Reads `wrk --latency` output.
fn parse_wrk(text: &str, seconds: u64) -> Result<ServerLoad, String> {
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!(
            "the simulator answered errors under load: {}",
            line.trim()
        ));
    }
    let value_after = |label: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(label))
            .map(str::trim)
            .ok_or_else(|| format!("no {label:?} in wrk's output:\n{text}"))
    };
    let rps = value_after("Requests/sec:")?
        .parse::<f64>()
        .map_err(|e| format!("wrk's Requests/sec: {e}"))?;
    let p50 = parse_wrk_time(value_after("50%")?)?;
    let p99 = parse_wrk_time(value_after("99%")?)?;
    Ok(ServerLoad {
        tool: format!("wrk -t2 -c64 -d{seconds}s"),
        requests_per_second: rps,
        p50,
        p99,
    })
}

/// `812.00us`, `1.23ms`, `2.00s`.
fn parse_wrk_time(value: &str) -> Result<Duration, String> {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("wrk time {value:?} has no unit"))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|e| format!("wrk time {value:?}: {e}"))?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        _ => return Err(format!("wrk time {value:?}: unknown unit")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// 64 workers of plain reqwest, reading each body whole.
async fn own_load(url: &str, duration: Duration) -> Result<ServerLoad, String> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("no load client: {e}"))?;
    let end = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    let url: Arc<str> = Arc::from(url);
    for _ in 0..64 {
        let client = client.clone();
        let url = url.clone();
        workers.spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < end {
                let sent = Instant::now();
                let response = client
                    .get(&*url)
                    .header("X-Plex-Token", TOKEN)
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .map_err(|e| format!("load: {e}"))?;
                if !response.status().is_success() {
                    return Err(format!("load: status {}", response.status()));
                }
                response.bytes().await.map_err(|e| format!("load: {e}"))?;
                times.push(sent.elapsed());
            }
            Ok::<_, String>(times)
        });
    }
    let mut times = Vec::new();
    while let Some(joined) = workers.join_next().await {
        times.extend(joined.map_err(|e| format!("a load worker failed: {e}"))??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort_unstable();
    Ok(ServerLoad {
        tool: "own load generator (reqwest, 64 connections; wrk not installed)".to_owned(),
        requests_per_second: times.len() as f64 / elapsed,
        p50: percentile(&times, 50),
        p99: percentile(&times, 99),
    })
}

/// Resident memory after so many calls.
#[derive(Debug)]
pub struct Memory {
    /// (calls, KiB) at each checkpoint; empty where `/proc` is missing.
    pub samples: Vec<(u64, u64)>,
}

/// Runs the facade's `tasks()` in a process of its own and reads its
/// resident memory at each of `checkpoints` (numbers of calls).
pub fn memory(base_url: &str, checkpoints: &[u64]) -> Result<Memory, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let output = Command::new(exe)
        .arg(RSS_ARG)
        .arg(base_url)
        .args(checkpoints.iter().map(u64::to_string))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start the memory probe: {e}"))?;
    if !output.status.success() {
        return Err(format!("the memory probe failed: {}", output.status));
    }
    let samples = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (calls, kib) = line.split_once(' ')?;
            Some((calls.parse().ok()?, kib.parse().ok()?))
        })
        .collect();
    Ok(Memory { samples })
}

/// The memory probe's side: `__rss URL CHECKPOINT...`, printing
/// `CALLS KIB` lines.
pub fn rss_main(args: &[String]) -> ExitCode {
    let Some((url, checkpoints)) = args.split_first() else {
        eprintln!("usage: {RSS_ARG} URL CHECKPOINT...");
        return ExitCode::FAILURE;
    };
    let Ok(checkpoints) = checkpoints
        .iter()
        .map(|c| c.parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
    else {
        eprintln!("memory probe: checkpoints are numbers of calls");
        return ExitCode::FAILURE;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("memory probe: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(probe(url, &checkpoints)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memory probe: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Workers of the memory probe: a few, as a program would have.
const PROBE_WORKERS: u64 = 8;
/// The probe gives up after this long.
const PROBE_LIMIT: Duration = Duration::from_secs(10 * 60);

async fn probe(url: &str, checkpoints: &[u64]) -> Result<(), String> {
    let client = plex_butler::Client::builder(url)
        .token(TOKEN)
        .build()
        .map_err(|e| format!("no client: {e}"))?;
    let end = Instant::now() + PROBE_LIMIT;
    let mut done = 0u64;
    for &checkpoint in checkpoints {
        let todo = checkpoint.saturating_sub(done);
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..PROBE_WORKERS {
            let share = todo / PROBE_WORKERS + u64::from(w < todo % PROBE_WORKERS);
            let client = client.clone();
            workers.spawn(async move {
                for _ in 0..share {
                    if Instant::now() > end {
                        return Err("out of time".to_owned());
                    }
                    client.tasks().await.map_err(|e| e.to_string())?;
                }
                Ok(())
            });
        }
        while let Some(joined) = workers.join_next().await {
            joined.map_err(|e| format!("a worker failed: {e}"))??;
        }
        done = checkpoint.max(done);
        if let Some(kib) = resident_kib() {
            println!("{done} {kib}");
        }
    }
    Ok(())
}

/// `VmRSS` of this process, in KiB (Linux).
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the build step costs.
#[derive(Debug)]
pub struct BuildCost {
    /// `cargo build -p plex-butler-raw` after touching the spec.
    pub raw: Duration,
    /// `cargo build -p plex-butler-cli` after touching the spec.
    pub cli: Duration,
    /// Whether some build waited for another cargo's lock (then the times
    /// include that wait).
    pub waited_for_lock: bool,
}

/// Touches the spec, then times the incremental debug builds of the raw
/// client and of the command; medians of `repeats`.
pub fn build_cost(repeats: usize) -> Result<BuildCost, String> {
    let spec = workspace_root().join("openapi").join("butler.yaml");
    // Start from a finished build of everything involved.
    timed_build("plex-butler-cli")?;
    let mut waited_for_lock = false;
    let mut times = |package: &str| -> Result<Duration, String> {
        let mut times = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            touch(&spec)?;
            let (time, waited) = timed_build(package)?;
            waited_for_lock |= waited;
            times.push(time);
        }
        Ok(median_duration(&mut times))
    };
    let raw = times("plex-butler-raw")?;
    let cli = times("plex-butler-cli")?;
    Ok(BuildCost {
        raw,
        cli,
        waited_for_lock,
    })
}

fn touch(path: &Path) -> Result<(), String> {
    std::fs::File::options()
        .append(true)
        .open(path)
        .and_then(|file| file.set_modified(SystemTime::now()))
        .map_err(|e| format!("cannot touch {}: {e}", path.display()))
}

/// `cargo build -p PACKAGE`: how long it took, and whether it waited for a
/// lock.
fn timed_build(package: &str) -> Result<(Duration, bool), String> {
    let started = Instant::now();
    let output = cargo()
        .args(["build", "-p", package])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("cargo build -p {package} failed:\n{stderr}"));
    }
    Ok((elapsed, stderr.contains("Blocking waiting for file lock")))
}

/// The size of the binary as built, and stripped of its symbols (`None`
/// when `strip` is not installed).
pub fn binary_sizes(binary: &Path, scratch: &Path) -> Result<(u64, Option<u64>), String> {
    let size = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let built = size(binary)?;
    let copy = scratch.join("plex-butler.stripped");
    std::fs::copy(binary, &copy).map_err(|e| format!("cannot copy the binary: {e}"))?;
    let stripped = Command::new("strip")
        .arg(&copy)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    Ok((built, if stripped { Some(size(&copy)?) } else { None }))
}
