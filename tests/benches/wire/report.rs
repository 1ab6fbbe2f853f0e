//! The results as markdown tables, with the ratios and the budgets.

use std::fmt::Write as _;
use std::time::Duration;

use crate::clients::Layer;
use crate::measure::{CONCURRENCY, Results};
use crate::processes::{BuildCost, Memory, ProcessTimes, ServerLoad};

/// The budgets the project holds (see docs/performance.md).
pub mod budget {
    /// Facade latency at concurrency 1, at most this times the floor's.
    pub const LATENCY: f64 = 1.25;
    /// Facade throughput at concurrency 64, at least this times the floor's.
    pub const THROUGHPUT: f64 = 0.85;
    /// `plex-butler list`, at most this times `curl`'s wall time.
    pub const CLI: f64 = 3.0;
    /// The simulator's `GET /butler` (JSON) at concurrency 64, requests/s.
    pub const SERVER_RPS: f64 = 20_000.0;
    /// Resident memory may grow this much between the first and the last
    /// checkpoint and still count as flat: allocator and page-level noise.
    pub const RSS_NOISE_KIB: u64 = 1024;
}

/// Everything one run measured; `None` for what it skipped.
#[derive(Default)]
pub struct Report {
    /// Whether the budgets are judged (not in the smoke test, whose debug
    /// build and few iterations say nothing about them).
    pub judged: bool,
    pub list: Option<[Results; 3]>,
    pub start_stop: Option<[Results; 3]>,
    pub processes: Option<ProcessTimes>,
    pub server: Option<ServerLoad>,
    pub memory: Option<Memory>,
    pub build: Option<BuildCost>,
    /// The release binary's size as built, and stripped.
    pub sizes: Option<(u64, Option<u64>)>,
    pub skipped: Vec<String>,
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ratio(value: f64, floor: f64) -> f64 {
    if floor > 0.0 { value / floor } else { 0.0 }
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    fn verdict(&self, holds: bool) -> &'static str {
        match (self.judged, holds) {
            (false, _) => "not judged (smoke)",
            (true, true) => "holds",
            (true, false) => "**FAILS**",
        }
    }

    /// The budgets that failed, for a summary line.
    pub fn failures(&self) -> Vec<&'static str> {
        let mut failed = Vec::new();
        if !self.judged {
            return failed;
        }
        if let Some(r) = &self.list {
            if !latency_holds(r) {
                failed.push("facade latency at concurrency 1");
            }
            if !throughput_holds(r) {
                failed.push("facade throughput at concurrency 64");
            }
        }
        if let Some(p) = &self.processes
            && !cli_holds(p)
        {
            failed.push("plex-butler list against curl");
        }
        if let Some(s) = &self.server
            && s.requests_per_second < budget::SERVER_RPS
        {
            failed.push("simulator throughput");
        }
        if let Some(m) = &self.memory
            && !memory_holds(m)
        {
            failed.push("resident memory");
        }
        failed
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for (title, op, results, unit) in [
            (
                "`tasks()`: `GET /butler` (23 tasks, JSON), decoded",
                "tasks()",
                &self.list,
                "calls/s",
            ),
            (
                "start + stop: `POST` then `DELETE /butler/{task}`, one task per worker",
                "start+stop",
                &self.start_stop,
                "round trips/s",
            ),
        ] {
            if let Some(results) = results {
                self.layer_table(&mut out, title, op, results, unit);
            }
        }
        if self.list.is_some() || self.start_stop.is_some() {
            out.push_str(
                "Values are medians over repeats. Each ratio is the median over repeats of \
                 a ratio to the floor measured at the same time: at concurrency 1 the \
                 contenders take turns call by call, above it in adjacent windows.\n\n",
            );
        }
        self.other_table(&mut out);
        for skipped in &self.skipped {
            let _ = writeln!(out, "- skipped: {skipped}");
        }
        out
    }

    fn layer_table(&self, out: &mut String, title: &str, op: &str, r: &[Results; 3], unit: &str) {
        let [floor, raw, facade] = [
            &r[Layer::Floor.index()],
            &r[Layer::Raw.index()],
            &r[Layer::Facade.index()],
        ];
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(
            out,
            "| {op} | floor (reqwest + serde_json) | raw (generated) | facade | raw/floor | facade/floor | budget |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
        let is_list = op == "tasks()";
        let lat = |name: &str, f: &dyn Fn(&Results) -> Duration, ratios: bool, budget: String| {
            let (raw_ratio, facade_ratio) = if ratios {
                (
                    format!("{:.2}x", raw.latency_ratio),
                    format!("{:.2}x", facade.latency_ratio),
                )
            } else {
                (String::new(), String::new())
            };
            format!(
                "| {name} | {} | {} | {} | {raw_ratio} | {facade_ratio} | {budget} |\n",
                micros(f(floor)),
                micros(f(raw)),
                micros(f(facade)),
            )
        };
        let latency_budget = if is_list {
            format!(
                "facade ≤ {:.2}x: {}",
                budget::LATENCY,
                self.verdict(latency_holds(r))
            )
        } else {
            String::new()
        };
        out.push_str(&lat(
            "latency p50, concurrency 1",
            &|x| x.latency_p50,
            true,
            latency_budget,
        ));
        out.push_str(&lat(
            "latency p99, concurrency 1",
            &|x| x.latency_p99,
            false,
            String::new(),
        ));
        for (c, concurrency) in CONCURRENCY.iter().enumerate() {
            let get = |x: &Results| x.throughput.get(c).copied().unwrap_or(0.0);
            let paired = |x: &Results| x.throughput_ratio.get(c).copied().unwrap_or(0.0);
            let (a, b, d) = (get(floor), get(raw), get(facade));
            let budget = if is_list && *concurrency == 64 {
                format!(
                    "facade ≥ {:.2}x: {}",
                    budget::THROUGHPUT,
                    self.verdict(throughput_holds(r))
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| throughput, concurrency {concurrency} ({unit}) | {} | {} | {} | {:.2}x | {:.2}x | {budget} |",
                thousands(a as u64),
                thousands(b as u64),
                thousands(d as u64),
                paired(raw),
                paired(facade),
            );
        }
        out.push('\n');
    }

    fn other_table(&self, out: &mut String) {
        let measured = self.processes.is_some()
            || self.server.is_some()
            || self.memory.is_some()
            || self.build.is_some()
            || self.sizes.is_some();
        if !measured {
            return;
        }
        let _ = writeln!(out, "### The command, the simulator, memory, the build\n");
        let _ = writeln!(out, "| measure | value | budget |");
        let _ = writeln!(out, "|---|---:|---|");
        if let Some(p) = &self.processes {
            let _ = writeln!(
                out,
                "| `plex-butler list`, median wall time of {} runs | {} | |",
                p.runs,
                millis(p.cli)
            );
            if let Some(curl) = p.curl {
                let _ = writeln!(
                    out,
                    "| `curl` of the same URL and token | {} | |",
                    millis(curl)
                );
                let _ = writeln!(
                    out,
                    "| `plex-butler list` / `curl` | {:.2}x | ≤ {:.0}x: {} |",
                    ratio(p.cli.as_secs_f64(), curl.as_secs_f64()),
                    budget::CLI,
                    self.verdict(cli_holds(p))
                );
            }
        }
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "| simulator, `GET /butler` JSON, 64 connections ({}) | {} req/s | ≥ {}: {} |",
                s.tool,
                thousands(s.requests_per_second as u64),
                thousands(budget::SERVER_RPS as u64),
                self.verdict(s.requests_per_second >= budget::SERVER_RPS)
            );
            let _ = writeln!(
                out,
                "| simulator latency p50 / p99 under that load | {} / {} | |",
                millis(s.p50),
                millis(s.p99)
            );
        }
        if let Some(m) = &self.memory {
            for (calls, kib) in &m.samples {
                let _ = writeln!(
                    out,
                    "| facade client's resident memory after {} `tasks()` | {} KiB | |",
                    thousands(*calls),
                    thousands(*kib)
                );
            }
            if let (Some(first), Some(last)) = (m.samples.first(), m.samples.last()) {
                let growth = i128::from(last.1) - i128::from(first.1);
                let _ = writeln!(
                    out,
                    "| growth from {} to {} calls | {growth:+} KiB | ≤ {} KiB: {} |",
                    thousands(first.0),
                    thousands(last.0),
                    budget::RSS_NOISE_KIB,
                    self.verdict(memory_holds(m))
                );
            }
        }
        if let Some(b) = &self.build {
            let lock = if b.waited_for_lock {
                " (waited for another build's lock)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| rebuild after touching the spec: `cargo build -p plex-butler-raw` (debug){lock} | {:.1} s | |",
                b.raw.as_secs_f64()
            );
            let _ = writeln!(
                out,
                "| rebuild after touching the spec: `cargo build -p plex-butler-cli` (debug){lock} | {:.1} s | |",
                b.cli.as_secs_f64()
            );
        }
        if let Some((built, stripped)) = self.sizes {
            let stripped = stripped.map_or("n/a (no `strip`)".to_owned(), thousands);
            let _ = writeln!(
                out,
                "| `plex-butler` binary, as built / stripped (bytes) | {} / {stripped} | |",
                thousands(built)
            );
        }
        out.push('\n');
    }
}

fn latency_holds(r: &[Results; 3]) -> bool {
    r[Layer::Facade.index()].latency_ratio <= budget::LATENCY
}

fn throughput_holds(r: &[Results; 3]) -> bool {
    CONCURRENCY
        .iter()
        .position(|c| *c == 64)
        .and_then(|i| r[Layer::Facade.index()].throughput_ratio.get(i).copied())
        .is_some_and(|paired| paired >= budget::THROUGHPUT)
}

fn cli_holds(p: &ProcessTimes) -> bool {
    p.curl
        .is_none_or(|curl| p.cli.as_secs_f64() <= curl.as_secs_f64() * budget::CLI)
}

fn memory_holds(m: &Memory) -> bool {
    match (m.samples.first(), m.samples.last()) {
        (Some(first), Some(last)) => last.1 <= first.1 + budget::RSS_NOISE_KIB,
        _ => true,
    }
}
