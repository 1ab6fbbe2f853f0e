//! How the wall time of one command grows with the number of servers it
//! runs against: `plex-butler --all-profiles -o json list` over 1, 10, 100
//! and 1,000 simulators in this process (each on 127.0.0.1:0), the built
//! binary run as a user runs it. The sizes take turns within each repeat,
//! so that they share the machine's ups and downs; the report gives each
//! size's median and its ratio to the one-server median, the command's
//! peak resident memory at the largest size, and the verdict: 100 servers
//! within 3x the time of one.
//!
//! 1,000 servers hold about 3,000 descriptors at once (a listener and an
//! accepted connection each here, a connection each in the command): the
//! soft limit of open files is raised to the hard limit first, and the
//! command inherits it. The command itself does not bound how many
//! servers it asks at once.
//!
//! `cargo bench -p plex-butler-cli --bench servers [-- --repeats N]`.
//! Under `cargo test` it runs once over 1 and 3 servers, as a smoke test.

use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};

use plex_butler_sim::{Preset, Simulator};

const TOKEN: &str = "bench-token";

/// The budget: 100 servers within this many times the wall time of one.
const BUDGET_100: f64 = 3.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let repeats: usize = args
        .iter()
        .position(|a| a == "--repeats")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(if benching { 7 } else { 1 });
    let sizes: &[usize] = if benching {
        &[1, 10, 100, 1000]
    } else {
        &[1, 3]
    };
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
        eprintln!("open files: soft limit raised from {soft} to {hard}");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let largest = sizes.iter().copied().max().unwrap_or(1);
    let sims = runtime.block_on(async {
        let mut sims = Vec::with_capacity(largest);
        for _ in 0..largest {
            sims.push(
                Simulator::builder()
                    .token(TOKEN)
                    .preset(Preset::Pms1_43_2)
                    .start()
                    .await?,
            );
        }
        Ok::<_, plex_butler_sim::Error>(sims)
    })?;

    let home = tempfile::tempdir()?;
    let configs: Vec<std::path::PathBuf> = sizes
        .iter()
        .map(|&n| write_config(home.path(), n, &sims))
        .collect::<Result<_, _>>()?;

    // One run of each size first: the binary's first start reads it from
    // disk, and the state file is created. The children's peak resident
    // memory is the largest of any child so far: read before and after
    // the largest size's runs, it is that size's when it grew.
    let mut peak_before_largest = 0;
    for (&n, config) in sizes.iter().zip(&configs) {
        if n == largest {
            peak_before_largest = children_peak_rss_kib()?;
        }
        run_once(home.path(), config, n)?;
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    for _ in 0..repeats {
        for (i, (&n, config)) in sizes.iter().zip(&configs).enumerate() {
            times[i].push(run_once(home.path(), config, n)?);
        }
    }
    let peak = children_peak_rss_kib()?;

    println!(
        "plex-butler --all-profiles -o json list: median of {repeats} run(s) per size, sizes interleaved"
    );
    println!("| servers | median | vs 1 server |");
    println!("|---:|---:|---:|");
    let base = median(&mut times[0].clone()).as_secs_f64();
    let mut ratio_100 = None;
    for (&n, runs) in sizes.iter().zip(&mut times) {
        let m = median(runs);
        let ratio = m.as_secs_f64() / base;
        if n == 100 {
            ratio_100 = Some(ratio);
        }
        println!("| {n} | {:.1} ms | {ratio:.2}x |", m.as_secs_f64() * 1e3);
    }
    println!();
    if peak > peak_before_largest {
        println!("peak resident memory of the command, {largest} servers: {peak} KiB");
    } else {
        println!(
            "peak resident memory of the command: {peak} KiB (a smaller size's; \
             {largest} servers did not exceed it)"
        );
    }
    if let Some(ratio) = ratio_100 {
        let verdict = if ratio <= BUDGET_100 {
            "holds"
        } else {
            "FAILS"
        };
        println!("budget: 100 servers within {BUDGET_100}x of one: {ratio:.2}x, {verdict}");
    }
    runtime.block_on(async {
        for sim in sims {
            sim.shutdown().await;
        }
    });
    Ok(())
}

/// A config with `n` profiles, one per simulator.
fn write_config(
    dir: &std::path::Path,
    n: usize,
    sims: &[Simulator],
) -> std::io::Result<std::path::PathBuf> {
    use std::fmt::Write as _;
    let mut text = String::new();
    for (i, sim) in sims.iter().take(n).enumerate() {
        let _ = write!(
            text,
            "[servers.s{i:03}]\nurl = \"{}\"\ntoken = \"{TOKEN}\"\n\n",
            sim.url()
        );
    }
    let path = dir.join(format!("config-{n}.toml"));
    std::fs::write(&path, text)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

/// One run of the command; fails unless every server answered.
fn run_once(
    home: &std::path::Path,
    config: &std::path::Path,
    n: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_plex-butler"))
        .env_clear()
        .env("HOME", home)
        .arg("--config")
        .arg(config)
        .args(["--all-profiles", "-o", "json", "list"])
        .output()?;
    let elapsed = started.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let answered = doc["servers"].as_array().map_or(0, Vec::len);
    if !out.status.success() || answered != n {
        return Err(format!(
            "{n} servers: exit {:?}, {answered} answered: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(elapsed)
}

/// The largest peak resident memory of any child process waited for so
/// far, in KiB (Linux reports `ru_maxrss` in KiB).
fn children_peak_rss_kib() -> nix::Result<i64> {
    Ok(getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss())
}

fn median(runs: &mut [Duration]) -> Duration {
    runs.sort();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}
