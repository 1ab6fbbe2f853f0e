//! What the server's event stream buys, measured side by side in one run
//! against simulators in this process (each on 127.0.0.1:0):
//!
//! (a) from a simulated task's end to the wait returning, events against
//!     polling: the facade's `start_and_wait` (polling forced with
//!     `WaitOptions::polling_only`) and the built binary's
//!     `start BackupDatabase --wait` (polling forced by a simulator that
//!     serves no events), the four interleaved within each repeat;
//! (b) the requests a server receives during a 60 s wait, events against
//!     polling, and during `plex-butler watch --until-idle` over the same
//!     60 s, the three side by side;
//! (c) 100 servers watched by one `plex-butler --all-profiles -o json
//!     watch`: its peak RSS and CPU time, and how many ends it reported.
//!
//! A task's end is taken as the start request's send time plus the task's
//! simulated duration, so each latency also holds one local request.
//!
//! `cargo bench -p plex-butler-cli --bench events [-- --repeats N]`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use plex_butler::{Client, WaitOptions};
use plex_butler_sim::{Preset, Simulator};

const TOKEN: &str = "bench-token";
/// How long a task runs in (a).
const TASK: Duration = Duration::from_secs(1);
/// The longest wait between two looks, as the command's `--wait` has it.
const MAX_POLL: Duration = Duration::from_secs(2);
/// How long the task of (b) runs.
const LONG_TASK: Duration = Duration::from_secs(60);
/// The servers of (c).
const WATCHED: usize = 100;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let repeats: usize = args
        .iter()
        .position(|a| a == "--repeats")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let home = tempfile::tempdir()?;

    latency(&runtime, home.path(), repeats)?;
    requests(&runtime, home.path())?;
    watched(&runtime, home.path())?;
    Ok(())
}

async fn sim(task: Duration, events: bool) -> Result<Simulator> {
    Ok(Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .aggregate_butler_activity(true)
        .task_duration(task)
        .events(events)
        .start()
        .await?)
}

fn client(sim: &Simulator) -> Result<Client> {
    Ok(Client::builder(sim.url()).token(TOKEN).build()?)
}

fn options(polling_only: bool) -> WaitOptions<'static> {
    WaitOptions::new()
        .max_poll_interval(MAX_POLL)
        .polling_only(polling_only)
}

/// (a): the four ways interleaved, `repeats` times each.
fn latency(
    runtime: &tokio::runtime::Runtime,
    home: &std::path::Path,
    repeats: usize,
) -> Result<()> {
    let (with_events, without) = runtime.block_on(async {
        Ok::<_, Box<dyn std::error::Error>>((sim(TASK, true).await?, sim(TASK, false).await?))
    })?;
    let events_client = client(&with_events)?;
    let names = [
        "facade start_and_wait, events",
        "facade start_and_wait, polling",
        "binary start --wait, events",
        "binary start --wait, polling",
    ];
    let mut runs: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    for _ in 0..repeats {
        for polling in [false, true] {
            let sent = Instant::now();
            runtime.block_on(events_client.start_and_wait("BackupDatabase", options(polling)))?;
            runs[usize::from(polling)].push(sent.elapsed().saturating_sub(TASK));
        }
        for (i, sim) in [(2, &with_events), (3, &without)] {
            let sent = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_plex-butler"))
                .env_clear()
                .env("HOME", home)
                .env("XDG_CONFIG_HOME", home)
                .env("PLEX_TOKEN", TOKEN)
                .args([
                    "--server",
                    sim.url(),
                    "-q",
                    "start",
                    "BackupDatabase",
                    "--wait",
                ])
                .output()?;
            let elapsed = sent.elapsed();
            if !out.status.success() {
                return Err(format!(
                    "start --wait failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            runs[i].push(elapsed.saturating_sub(TASK));
        }
    }
    println!(
        "(a) from the task's end ({} ms runs) to the wait returning: {repeats} runs each, interleaved; polling up to every {} s",
        TASK.as_millis(),
        MAX_POLL.as_secs()
    );
    println!("| wait | median | p90 | median vs events |");
    println!("|---|---:|---:|---:|");
    let medians: Vec<Duration> = runs.iter().map(|r| percentile(r, 50)).collect();
    for (i, name) in names.iter().enumerate() {
        let base = medians[i - i % 2].as_secs_f64().max(1e-6);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1}x |",
            ms(medians[i]),
            ms(percentile(&runs[i], 90)),
            medians[i].as_secs_f64() / base
        );
    }
    println!();
    runtime.block_on(async {
        with_events.shutdown().await;
        without.shutdown().await;
    });
    Ok(())
}

/// (b): two waits for a 60 s task side by side, one listening, one
/// polling, and a `watch --until-idle` of a third such task, each on its
/// own server.
fn requests(runtime: &tokio::runtime::Runtime, home: &std::path::Path) -> Result<()> {
    let counts = runtime.block_on(async {
        let (a, b, c) = (
            sim(LONG_TASK, true).await?,
            sim(LONG_TASK, true).await?,
            sim(LONG_TASK, true).await?,
        );
        let (ca, cb) = (client(&a)?, client(&b)?);
        client(&c)?.start("BackupDatabase").await?;
        let began = Instant::now();
        let url = c.url().to_owned();
        let home = home.to_path_buf();
        let watch = tokio::task::spawn_blocking(move || {
            let output = Command::new(env!("CARGO_BIN_EXE_plex-butler"))
                .env_clear()
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", &home)
                .env("PLEX_TOKEN", TOKEN)
                .args([
                    "--server",
                    &url,
                    "-q",
                    "-o",
                    "json",
                    "watch",
                    "--until-idle",
                ])
                .output();
            (output, began.elapsed())
        });
        let (ra, rb) = tokio::join!(
            ca.start_and_wait("BackupDatabase", options(false)),
            cb.start_and_wait("BackupDatabase", options(true)),
        );
        let (ra, rb) = (ra?.1, rb?.1);
        let (watched, took) = watch.await?;
        let watched = watched?;
        if !watched.status.success() {
            return Err(
                format!("watch failed: {}", String::from_utf8_lossy(&watched.stderr)).into(),
            );
        }
        let counts = [
            (
                "start_and_wait, events".to_owned(),
                format!("{:?}", ra.method),
                a.requests(),
                ra.elapsed,
            ),
            (
                "start_and_wait, polling".to_owned(),
                format!("{:?}", rb.method),
                b.requests(),
                rb.elapsed,
            ),
            (
                "binary watch --until-idle".to_owned(),
                "events".to_owned(),
                c.requests(),
                took,
            ),
        ];
        a.shutdown().await;
        b.shutdown().await;
        c.shutdown().await;
        Ok::<_, Box<dyn std::error::Error>>(counts)
    })?;
    println!(
        "(b) requests the server received during a {} s task (its start included), side by side",
        LONG_TASK.as_secs()
    );
    println!("| client | method | requests | took | vs polling |");
    println!("|---|---|---:|---:|---:|");
    let polling = counts[1].2.max(1) as f64;
    for (name, method, count, took) in &counts {
        println!(
            "| {name} | {method} | {count} | {:.1} s | {:.2}x |",
            took.as_secs_f64(),
            *count as f64 / polling
        );
    }
    println!();
    Ok(())
}

/// (c): one process watching 100 servers while each runs a task.
fn watched(runtime: &tokio::runtime::Runtime, home: &std::path::Path) -> Result<()> {
    let sims = runtime.block_on(async {
        let mut sims = Vec::with_capacity(WATCHED);
        for _ in 0..WATCHED {
            sims.push(sim(Duration::from_secs(2), true).await?);
        }
        Ok::<_, Box<dyn std::error::Error>>(sims)
    })?;
    let config = home.join("watch.toml");
    let mut text = String::new();
    for (i, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            "[servers.s{i:03}]\nurl = \"{}\"\ntoken = \"{TOKEN}\"\n\n",
            sim.url()
        ));
    }
    std::fs::write(&config, text)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))?;
    }
    let began = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_plex-butler"))
        .env_clear()
        .env("HOME", home)
        .arg("--config")
        .arg(&config)
        .args(["--all-profiles", "-o", "json", "watch", "--for", "120s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let (stdout, stderr) = (
        child.stdout.take().ok_or("no stdout")?,
        child.stderr.take().ok_or("no stderr")?,
    );
    let ended = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&ended);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                && value["event"] == "ended"
            {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let mut watching = 0;
    for line in BufReader::new(stderr).lines() {
        if line?.contains("watching") {
            watching += 1;
            if watching == WATCHED {
                break;
            }
        }
    }
    let connected = began.elapsed();
    runtime.block_on(async {
        for sim in &sims {
            client(sim)?.start("BackupDatabase").await?;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    let until = Instant::now() + Duration::from_secs(60);
    while ended.load(Ordering::Relaxed) < WATCHED && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let reported = ended.load(Ordering::Relaxed);
    let (peak_rss_kib, cpu) = usage(pid)?;
    let life = began.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let requests: u64 = sims.iter().map(Simulator::requests).sum();
    println!(
        "(c) one `plex-butler --all-profiles -o json watch` over {WATCHED} servers, each running one 2 s task"
    );
    println!(
        "| servers | all connected after | ends reported | peak RSS | CPU time (user+sys) over {:.1} s | requests per server |",
        life.as_secs_f64()
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {WATCHED} | {:.0} ms | {reported} / {WATCHED} | {:.1} MiB | {:.0} ms | {:.1} |",
        ms(connected),
        peak_rss_kib as f64 / 1024.0,
        ms(cpu),
        requests as f64 / WATCHED as f64
    );
    runtime.block_on(async {
        for sim in sims {
            sim.shutdown().await;
        }
    });
    if reported != WATCHED {
        return Err(format!("only {reported} of {WATCHED} ends were reported").into());
    }
    Ok(())
}

/// The process's peak RSS (KiB) and CPU time so far, from /proc.
fn usage(pid: u32) -> Result<(u64, Duration)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command's name, which ends with ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    let per_second = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(100)
        .max(1);
    Ok((peak, Duration::from_millis(ticks * 1000 / per_second)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(runs: &[Duration], p: usize) -> Duration {
    let mut sorted = runs.to_vec();
    sorted.sort();
    let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}
