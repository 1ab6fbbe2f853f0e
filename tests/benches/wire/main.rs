//! What each layer of plex-butler costs over the wire itself, side by side
//! in one run, against the simulator on 127.0.0.1: the facade, the raw
//! generated client and a plain `reqwest` + `serde_json` floor; the
//! `plex-butler` command against `curl`; the simulator under `wrk`; the
//! facade's resident memory over many calls; the cost of the build step.
//! Medians over repeats, ratios to the floor; budgets are judged on ratios
//! (and the simulator's rate), never on absolute client times.
//!
//! ```sh
//! cargo bench -p plex-butler-tests --bench wire                     # everything
//! cargo bench -p plex-butler-tests --bench wire -- --no-build-cost  # no rebuilds
//! cargo bench -p plex-butler-tests --bench wire -- --clients-only   # the two client tables
//! ```
//!
//! Why a `[[bench]]` of the tests crate rather than `cargo xtask bench`: the
//! measurements need the facade, the raw client, the simulator, reqwest and
//! Tokio, all dev-dependencies of this crate already, while xtask (built in
//! CI for `spec check`) stays free of them. `cargo bench` builds this in
//! release; the `plex-butler` command it times is built in release by a
//! nested `cargo build`.
//!
//! Cargo passes `--bench` under `cargo bench`. Under `cargo test` (the
//! target has `test = true`) it comes without, and the same code runs as a
//! smoke test: a few iterations of every measurement except the rebuilds
//! (touching the spec would rebuild what the test run is using), budgets not
//! judged.
//!
//! The binary also plays two helpers, started by itself: the simulated
//! servers (`__serve`, see `server`) and the memory probe (`__rss`). A
//! third mode is for profiling one contender alone (docs/performance.md
//! shows how): `__profile URL list|start-stop floor|raw|facade SECONDS`
//! calls one after the other against a server started with `__serve`.

mod clients;
mod measure;
mod processes;
mod report;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::clients::{Clients, Layer, Op, check_agreement};
use crate::measure::Plan;
use crate::report::Report;
use crate::server::ServerProcess;

/// The smoke test's name, for `cargo test` filters and `--list`.
const SMOKE_TEST_NAME: &str = "wire_benchmark_runs";

/// How much of everything a run does.
struct Settings {
    full: bool,
    /// Only the clients side by side (`tasks()`, start + stop): not the
    /// command, the simulator's load, memory, sizes or rebuilds.
    clients_only: bool,
    plan: Plan,
    process_runs: usize,
    load_duration: Duration,
    memory_checkpoints: Vec<u64>,
    build_cost: bool,
    build_repeats: usize,
}

impl Settings {
    fn full(build_cost: bool) -> Self {
        Self {
            full: true,
            clients_only: false,
            plan: Plan {
                repeats: 15,
                latency_window: Duration::from_millis(1000),
                throughput_window: Duration::from_millis(250),
                warmup_calls: 200,
            },
            process_runs: 40,
            load_duration: Duration::from_secs(5),
            memory_checkpoints: vec![1_000, 10_000, 50_000, 100_000],
            build_cost,
            build_repeats: 3,
        }
    }

    fn smoke() -> Self {
        Self {
            full: false,
            clients_only: false,
            plan: Plan {
                repeats: 1,
                latency_window: Duration::from_millis(30),
                throughput_window: Duration::from_millis(30),
                warmup_calls: 2,
            },
            process_runs: 2,
            load_duration: Duration::from_secs(1),
            memory_checkpoints: vec![10, 100],
            build_cost: false,
            build_repeats: 0,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(server::SERVE_ARG) => return server::serve_main(),
        Some(processes::RSS_ARG) => return processes::rss_main(&args[1..]),
        Some(PROFILE_ARG) => return profile_main(&args[1..]),
        _ => {}
    }
    let full = args.iter().any(|a| a == "--bench");
    if !full {
        // As a test: honour `--list` and name filters as libtest does.
        if args.iter().any(|a| a == "--list") {
            println!("{SMOKE_TEST_NAME}: test");
            return ExitCode::SUCCESS;
        }
        let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        if !filters.is_empty() && !filters.iter().any(|f| SMOKE_TEST_NAME.contains(f.as_str())) {
            return ExitCode::SUCCESS;
        }
    }
    let mut settings = if full {
        Settings::full(!args.iter().any(|a| a == "--no-build-cost"))
    } else {
        Settings::smoke()
    };
    settings.clients_only = args.iter().any(|a| a == "--clients-only");
    match run(&settings) {
        Ok(report) => {
            println!("{}", report.markdown());
            if full {
                let failed = report.failures();
                if failed.is_empty() {
                    println!("All budgets hold.");
                } else {
                    println!("Budgets that fail: {}.", failed.join(", "));
                }
            } else {
                println!("test {SMOKE_TEST_NAME} ... ok");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wire benchmark: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(settings: &Settings) -> Result<Report, String> {
    let scratch = Scratch::new()?;
    let mut report = Report {
        judged: settings.full,
        ..Report::default()
    };
    let server = ServerProcess::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    runtime.block_on(async {
        let listing = Arc::new(Clients::new(&server.tasks_url, &[])?);
        check_agreement(&listing, 23).await?;
        eprintln!("wire benchmark: tasks()");
        report.list = Some(measure::measure(&listing, Op::List, settings.plan).await?);

        let actions = Arc::new(Clients::new(
            &server.actions_url,
            &server::action_task_names(),
        )?);
        eprintln!("wire benchmark: start + stop");
        report.start_stop = Some(measure::measure(&actions, Op::StartStop, settings.plan).await?);

        if settings.clients_only {
            return Ok(());
        }
        eprintln!("wire benchmark: the simulator under load");
        report.server =
            Some(processes::server_load(&server.tasks_url, settings.load_duration).await?);
        Ok::<_, String>(())
    })?;
    drop(runtime);
    if settings.clients_only {
        report.skipped.push(
            "the command, the simulator's load, memory, sizes and rebuilds (--clients-only)"
                .to_owned(),
        );
        return Ok(report);
    }

    eprintln!("wire benchmark: building the plex-butler command");
    let cli = processes::cli_binary(settings.full)?;

    eprintln!("wire benchmark: plex-butler list against curl");
    let times =
        processes::cli_against_curl(&cli, &server.tasks_url, settings.process_runs, &scratch.0)?;
    if times.curl.is_none() {
        report
            .skipped
            .push("`curl` is not installed: no ratio of the command to it".to_owned());
    }
    report.processes = Some(times);

    eprintln!("wire benchmark: resident memory");
    let memory = processes::memory(&server.tasks_url, &settings.memory_checkpoints)?;
    if memory.samples.is_empty() {
        report
            .skipped
            .push("resident memory: no /proc/self/status here".to_owned());
    }
    report.memory = Some(memory);
    drop(server);

    report.sizes = Some(processes::binary_sizes(&cli, &scratch.0)?);
    if settings.build_cost {
        eprintln!("wire benchmark: rebuilds after touching the spec");
        report.build = Some(processes::build_cost(settings.build_repeats)?);
    } else if settings.full {
        report
            .skipped
            .push("rebuild times (--no-build-cost)".to_owned());
    } else {
        report
            .skipped
            .push("rebuild times (not in the smoke test)".to_owned());
    }
    Ok(report)
}

/// The first argument of the profiling mode.
const PROFILE_ARG: &str = "__profile";

/// `__profile URL OP LAYER SECONDS`: one contender, calling one after the
/// other, for a profiler to watch.
fn profile_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [url, op, layer, seconds] => {
            let op = match op.as_str() {
                "list" => Some(Op::List),
                "start-stop" => Some(Op::StartStop),
                _ => None,
            };
            let layer = match layer.as_str() {
                "floor" => Some(Layer::Floor),
                "raw" => Some(Layer::Raw),
                "facade" => Some(Layer::Facade),
                _ => None,
            };
            op.zip(layer)
                .zip(seconds.parse::<u64>().ok())
                .map(|((op, layer), seconds)| (url, op, layer, seconds))
        }
        _ => None,
    };
    let Some((url, op, layer, seconds)) = parsed else {
        eprintln!("usage: {PROFILE_ARG} URL list|start-stop floor|raw|facade SECONDS");
        return ExitCode::FAILURE;
    };
    let work = async {
        let clients = Clients::new(url, &server::action_task_names())?;
        let end = std::time::Instant::now() + Duration::from_secs(seconds);
        let mut calls = 0u64;
        while std::time::Instant::now() < end {
            clients.run(op, layer, 0).await?;
            calls += 1;
        }
        Ok::<_, String>(calls)
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))
        .and_then(|runtime| runtime.block_on(work));
    match result {
        Ok(calls) => {
            println!("{calls} calls");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("profile: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A directory of this run's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let base = option_env!("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("wire-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
