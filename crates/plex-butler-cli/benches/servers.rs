//! How the wall time of one command grows with the number of servers it
//! runs against: `plex-butler --all-profiles -o json list` over 1, 10 and
//! 100 simulators in this process (each on 127.0.0.1:0), the built binary
//! run as a user runs it. The sizes take turns within each repeat, so that
//! they share the machine's ups and downs; the report gives each size's
//! median and its ratio to the one-server median.
//!
//! `cargo bench -p plex-butler-cli --bench servers [-- --repeats N]`.
//! Under `cargo test` it runs once over 1 and 3 servers, as a smoke test.

use std::process::Command;
use std::time::{Duration, Instant};

use plex_butler_sim::{Preset, Simulator};

const TOKEN: &str = "bench-token";

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
    let sizes: &[usize] = if benching { &[1, 10, 100] } else { &[1, 3] };

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
    // disk, and the state file is created.
    for (&n, config) in sizes.iter().zip(&configs) {
        run_once(home.path(), config, n)?;
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    for _ in 0..repeats {
        for (i, (&n, config)) in sizes.iter().zip(&configs).enumerate() {
            times[i].push(run_once(home.path(), config, n)?);
        }
    }

    println!(
        "plex-butler --all-profiles -o json list: median of {repeats} run(s) per size, sizes interleaved"
    );
    println!("| servers | median | vs 1 server |");
    println!("|---:|---:|---:|");
    let base = median(&mut times[0].clone()).as_secs_f64();
    for (&n, runs) in sizes.iter().zip(&mut times) {
        let m = median(runs);
        println!(
            "| {n} | {:.1} ms | {:.2}x |",
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() / base
        );
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

fn median(runs: &mut [Duration]) -> Duration {
    runs.sort();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}
