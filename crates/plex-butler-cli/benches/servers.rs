//! How one command grows with the number of servers it runs against:
//! `plex-butler --all-profiles -o json list` over 1, 10, 100 and 1,000
//! simulators in this process (each on 127.0.0.1:0), the built binary run
//! as a user runs it. The sizes take turns within each repeat, so that
//! they share the machine's ups and downs; the report gives, per size, the
//! medians of the wall time (and its ratio to one server's), of the
//! command's CPU time (and the kernel's part of it), of the simulators'
//! CPU time, and the command's peak resident memory; then the verdicts:
//! 100 servers within 3x the wall time of one, and flat memory (1,000
//! servers' peak within 1.25x of 100 servers').
//!
//! The command is started by a small launcher process, one per run: a
//! child's peak resident memory (`ru_maxrss`) counts the memory of the
//! process that spawned it (Linux records the spawner's at `exec`), and
//! this one holds a thousand simulators. A launcher is small, and reads
//! its child's CPU time and peak memory from `getrusage`; the figure for
//! children is the largest peak of them all so far, hence one per run.
//!
//! 1,000 servers hold about 3,000 descriptors at once (a listener and an
//! accepted connection each here, a connection each in the command): the
//! soft limit of open files is raised to the hard limit first, and the
//! launcher and the command inherit it.
//!
//! The command's CPU time is exact; its split between user space and the
//! kernel is the kernel's estimate from timer ticks (every 4 ms or so):
//! read it for runs of many milliseconds only.
//!
//! `cargo bench -p plex-butler-cli --bench servers [-- --repeats N]
//! [--sizes 1,100] [--binary PATH] [--baseline PATH]`: `--baseline`
//! names another build of the command (an absolute path: cargo runs a
//! bench from its package's folder), run in turn with this one, each size
//! and repeat, who goes first alternating; the report then gives the
//! median of each repeat's ratio of the two. `--binary` runs another
//! binary than the one cargo built for the bench, which carries the
//! features the dev-dependencies turn on: a plain `cargo build --release`
//! is what users run. Each binary runs from a copy made in the same way.
//! Under `cargo test` it runs once over 1 and 3 servers, as a smoke test.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};

use plex_butler_sim::{Preset, Simulator};

type BoxError = Box<dyn std::error::Error>;

const TOKEN: &str = "bench-token";

/// The budget: 100 servers within this many times the wall time of one.
const BUDGET_100: f64 = 3.0;

/// Flat memory: 1,000 servers' peak resident memory within this many
/// times 100 servers' (at most `--jobs` of them at once either way).
const FLAT_1000: f64 = 1.25;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--launcher") {
        return launcher();
    }
    let benching = args.iter().any(|a| a == "--bench");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let repeats: usize = value("--repeats")
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(if benching { 7 } else { 1 });
    if repeats == 0 {
        return Err("--repeats must be at least 1".into());
    }
    let sizes: Vec<usize> = match value("--sizes") {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None if benching => vec![1, 10, 100, 1000],
        None => vec![1, 3],
    };
    if sizes.first() != Some(&1) || sizes.contains(&0) {
        return Err(
            "--sizes must begin with 1 (the others are compared with it) and hold no 0".into(),
        );
    }
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

    // The binaries compared: this build's, and a baseline's if given
    // (another build of the command, run in turn with this one).
    // Cargo runs a bench in its package's folder: a relative path would
    // not be where it was typed.
    let absolute = |flag: &str| -> Result<Option<std::path::PathBuf>, BoxError> {
        match value(flag) {
            Some(path) if Path::new(path).is_absolute() => Ok(Some(path.into())),
            Some(path) => Err(format!(
                "{flag} {path}: give an absolute path (cargo runs a bench from its package's folder)"
            )
            .into()),
            None => Ok(None),
        }
    };
    // The one cargo built for this bench carries the features the
    // dev-dependencies turn on; `--binary` names a plain release build.
    let mut binaries = vec![(
        "this build",
        absolute("--binary")?.unwrap_or_else(|| env!("CARGO_BIN_EXE_plex-butler").into()),
    )];
    if let Some(path) = absolute("--baseline")? {
        binaries.push(("baseline", path));
    }
    // Each binary runs from a copy, made the same way in the same folder:
    // how a file came to be (written by the linker, or copied) changes
    // how its pages are cached, and one binary run from two places was
    // measured 1.18x apart at one server.
    let copies = home.path().join("bin");
    std::fs::create_dir(&copies)?;
    for (i, (name, binary)) in binaries.iter_mut().enumerate() {
        let copy = copies.join(format!("{i}-plex-butler"));
        std::fs::copy(&*binary, &copy).map_err(|e| format!("{name}: {}: {e}", binary.display()))?;
        *binary = copy;
    }
    // One run of each first: a binary's first start reads it from disk,
    // and the state file is created.
    for (_, binary) in &binaries {
        for (&n, config) in sizes.iter().zip(&configs) {
            let mut launcher = Launcher::start()?;
            launcher.run(binary, home.path(), config, n)?;
            launcher.end()?;
        }
    }
    let mut runs: Vec<Vec<Vec<Run>>> = vec![vec![Vec::new(); sizes.len()]; binaries.len()];
    for repeat in 0..repeats {
        for (i, (&n, config)) in sizes.iter().zip(&configs).enumerate() {
            // Who goes first alternates: the run after the largest size
            // meets the simulators still closing its connections.
            let mut order: Vec<usize> = (0..binaries.len()).collect();
            if repeat % 2 == 1 {
                order.reverse();
            }
            for b in order {
                let binary = &binaries[b].1;
                // A launcher per run: what it reads of its children is
                // the largest peak of them all so far.
                let mut launcher = Launcher::start()?;
                let before = self_cpu()?;
                let mut run = launcher.run(binary, home.path(), config, n)?;
                let after = self_cpu()?;
                launcher.end()?;
                run.simulators_cpu = after.0.saturating_sub(before.0);
                run.simulators_sys = after.1.saturating_sub(before.1);
                runs[b][i].push(run);
            }
        }
    }

    println!(
        "plex-butler --all-profiles -o json list: medians of {repeats} run(s) per size and binary, all interleaved"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for ((name, _), runs) in binaries.iter().zip(&runs) {
        println!();
        println!("{name}:");
        println!(
            "| servers | wall | vs 1 server | command CPU | of it kernel | simulators' CPU | of it kernel | command peak RSS |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        let base = ms(median(&runs[0], |r| r.wall));
        let mut ratio_100 = None;
        let (mut rss_100, mut rss_1000) = (None, None);
        for (&n, runs) in sizes.iter().zip(runs) {
            let wall = ms(median(runs, |r| r.wall));
            let ratio = wall / base;
            let rss = median(runs, |r| r.max_rss_kib);
            match n {
                100 => {
                    ratio_100 = Some(ratio);
                    rss_100 = Some(rss);
                }
                1000 => rss_1000 = Some(rss),
                _ => {}
            }
            println!(
                "| {n} | {wall:.1} ms | {ratio:.2}x | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} KiB |",
                ms(median(runs, |r| r.user + r.sys)),
                ms(median(runs, |r| r.sys)),
                ms(median(runs, |r| r.simulators_cpu)),
                ms(median(runs, |r| r.simulators_sys)),
                median(runs, |r| r.max_rss_kib),
            );
        }
        if let Some(ratio) = ratio_100 {
            let verdict = if ratio <= BUDGET_100 {
                "holds"
            } else {
                "FAILS"
            };
            println!();
            println!("budget: 100 servers within {BUDGET_100}x of one: {ratio:.2}x, {verdict}");
        }
        if let (Some(small), Some(large)) = (rss_100, rss_1000) {
            let ratio = large as f64 / small as f64;
            let verdict = if ratio <= FLAT_1000 { "holds" } else { "FAILS" };
            println!(
                "flat memory: 1,000 servers' peak within {FLAT_1000}x of 100 servers': {ratio:.2}x, {verdict}"
            );
        }
    }
    if let [ours, baseline] = &runs[..] {
        println!();
        println!(
            "this build against the baseline (medians of the ratios of the two runs of each repeat, below 1 is better):"
        );
        println!("| servers | wall | command CPU | command peak RSS |");
        println!("|---:|---:|---:|---:|");
        for ((&n, ours), baseline) in sizes.iter().zip(ours).zip(baseline) {
            // Each repeat's two runs side by side, then the median.
            let ratio = |figure: &dyn Fn(&Run) -> f64| {
                let mut ratios: Vec<f64> = ours
                    .iter()
                    .zip(baseline)
                    .map(|(o, b)| figure(o) / figure(b))
                    .collect();
                ratios.sort_unstable_by(f64::total_cmp);
                ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
            };
            println!(
                "| {n} | {:.2}x | {:.2}x | {:.2}x |",
                ratio(&|r| r.wall.as_secs_f64()),
                ratio(&|r| (r.user + r.sys).as_secs_f64()),
                ratio(&|r| r.max_rss_kib as f64),
            );
        }
    }
    runtime.block_on(async {
        for sim in sims {
            sim.shutdown().await;
        }
    });
    Ok(())
}

/// What one run of the command cost.
#[derive(Clone, Copy, Default)]
struct Run {
    wall: Duration,
    user: Duration,
    sys: Duration,
    max_rss_kib: i64,
    /// The CPU time of this process (the simulators) during the run.
    simulators_cpu: Duration,
    /// Of it, in the kernel.
    simulators_sys: Duration,
}

/// The launcher, seen from the benchmark: a line in
/// (`n<TAB>binary<TAB>home<TAB>config`),
/// a line out (`ok` and the figures, or `error` and why).
struct Launcher {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Launcher {
    fn start() -> Result<Self, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--launcher")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let to = child.stdin.take().ok_or("the launcher has no stdin")?;
        let from = BufReader::new(child.stdout.take().ok_or("the launcher has no stdout")?);
        Ok(Self { child, to, from })
    }

    /// One run of the command; fails unless every server answered.
    fn run(
        &mut self,
        binary: &Path,
        home: &Path,
        config: &Path,
        n: usize,
    ) -> Result<Run, BoxError> {
        writeln!(
            self.to,
            "{n}\t{}\t{}\t{}",
            binary.display(),
            home.display(),
            config.display()
        )?;
        self.to.flush()?;
        let mut line = String::new();
        if self.from.read_line(&mut line)? == 0 {
            return Err(format!("the launcher ended: {:?}", self.child.wait()?).into());
        }
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        match fields.as_slice() {
            ["ok", wall, user, sys, rss] => Ok(Run {
                wall: Duration::from_nanos(wall.parse()?),
                user: Duration::from_micros(user.parse()?),
                sys: Duration::from_micros(sys.parse()?),
                max_rss_kib: rss.parse()?,
                simulators_cpu: Duration::ZERO,
                simulators_sys: Duration::ZERO,
            }),
            _ => Err(line.into()),
        }
    }

    /// Ends the launcher: its input closed, it exits.
    fn end(self) -> Result<(), BoxError> {
        let Self {
            mut child,
            to,
            from,
            ..
        } = self;
        drop(to);
        drop(from);
        let status = child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the launcher ended: {status}").into())
        }
    }
}

/// The launcher's loop: runs the command for each line read, answers with
/// its wall time, CPU time and peak resident memory.
fn launcher() -> Result<(), BoxError> {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line?;
        let answer = match line.split('\t').collect::<Vec<_>>().as_slice() {
            [n, binary, home, config] => match launch(
                n.parse()?,
                Path::new(binary),
                Path::new(home),
                Path::new(config),
            ) {
                Ok(run) => format!(
                    "ok\t{}\t{}\t{}\t{}",
                    run.wall.as_nanos(),
                    run.user.as_micros(),
                    run.sys.as_micros(),
                    run.max_rss_kib
                ),
                Err(e) => format!("error\t{}", e.to_string().replace(['\n', '\t'], " ")),
            },
            _ => format!("error\tnot a request: {line:?}"),
        };
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
    }
    Ok(())
}

fn launch(n: usize, binary: &Path, home: &Path, config: &Path) -> Result<Run, BoxError> {
    let before = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("HOME", home)
        .arg("--config")
        .arg(config)
        .args(["--all-profiles", "-o", "json", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both streams before waiting: a full pipe would stall the child.
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut text).map(|_| text)
    });
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut child.stdout.take().ok_or("no stdout")?, &mut out)?;
    let status = child.wait()?;
    let wall = started.elapsed();
    let errors = errors.join().map_err(|_| "the stderr reader panicked")??;
    let doc: serde_json::Value = serde_json::from_slice(&out)?;
    let answered = doc["servers"].as_array().map_or(0, Vec::len);
    if !status.success() || answered != n {
        return Err(format!(
            "{n} servers: {status}, {answered} answered: {}",
            String::from_utf8_lossy(&errors)
        )
        .into());
    }
    let after = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    Ok(Run {
        wall,
        user: time(after.user_time()).saturating_sub(time(before.user_time())),
        sys: time(after.system_time()).saturating_sub(time(before.system_time())),
        max_rss_kib: after.max_rss(),
        simulators_cpu: Duration::ZERO,
        simulators_sys: Duration::ZERO,
    })
}

/// This process's CPU time so far (user and system), and the system part.
fn self_cpu() -> nix::Result<(Duration, Duration)> {
    let usage = getrusage(UsageWho::RUSAGE_SELF)?;
    let sys = time(usage.system_time());
    Ok((time(usage.user_time()) + sys, sys))
}

fn time(tv: nix::sys::time::TimeVal) -> Duration {
    Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
        + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
}

/// A config with `n` profiles, one per simulator.
fn write_config(dir: &Path, n: usize, sims: &[Simulator]) -> std::io::Result<std::path::PathBuf> {
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

/// The median of one figure of the runs.
fn median<T: Ord + Copy + Default>(runs: &[Run], figure: impl Fn(&Run) -> T) -> T {
    let mut values: Vec<T> = runs.iter().map(figure).collect();
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}
