//! Latency at concurrency 1 and throughput at higher concurrency, the
//! contenders taking turns so that a busy moment of the machine falls on
//! all of them alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::clients::{Clients, Layer, Op};

/// How long each measurement runs, and how often.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Measurements per contender; medians are reported.
    pub repeats: usize,
    /// The length of one latency measurement (all contenders together).
    pub latency_window: Duration,
    /// The length of one throughput measurement of one contender.
    pub throughput_window: Duration,
    /// Calls per contender before measuring (connections, caches).
    pub warmup_calls: usize,
}

/// One contender's results for one operation.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The median, over repeats, of the median call time at concurrency 1.
    pub latency_p50: Duration,
    /// The median, over repeats, of the 99th percentile at concurrency 1.
    pub latency_p99: Duration,
    /// The median, over repeats, of this p50 divided by the floor's p50 of
    /// the same repeat.
    pub latency_ratio: f64,
    /// Operations per second at each concurrency of [`CONCURRENCY`], medians
    /// over repeats.
    pub throughput: Vec<f64>,
    /// At each concurrency, the median over repeats of this rate divided by
    /// the floor's rate measured right before or after it.
    pub throughput_ratio: Vec<f64>,
}

/// The concurrencies of the throughput measurements.
pub const CONCURRENCY: [usize; 2] = [8, 64];

/// Measures `op` for every contender; results indexed by [`Layer::index`].
///
/// The machine is shared and its load comes and goes over seconds, so the
/// contenders are compared under the same conditions: at concurrency 1
/// they take turns call by call; at higher concurrency they take turns in
/// short windows, and each ratio to the floor pairs measurements made one
/// right after the other. Medians over repeats, of values and of ratios.
pub async fn measure(clients: &Arc<Clients>, op: Op, plan: Plan) -> Result<[Results; 3], String> {
    let most = CONCURRENCY.iter().copied().max().unwrap_or(1);
    for layer in Layer::ALL {
        for _ in 0..plan.warmup_calls {
            clients.run(op, layer, 0).await?;
        }
        // Open the connections the highest concurrency uses.
        throughput(clients, op, layer, most, Duration::from_millis(20)).await?;
    }

    let mut p50s: [Vec<Duration>; 3] = Default::default();
    let mut p99s: [Vec<Duration>; 3] = Default::default();
    let mut latency_ratios: [Vec<f64>; 3] = Default::default();
    let mut rates: [Vec<Vec<f64>>; 3] = Default::default();
    let mut rate_ratios: [Vec<Vec<f64>>; 3] = Default::default();
    for per_layer in rates.iter_mut().chain(rate_ratios.iter_mut()) {
        per_layer.resize_with(CONCURRENCY.len(), Vec::new);
    }
    for repeat in 0..plan.repeats {
        let percentiles = latency(clients, op, plan.latency_window).await?;
        let floor_p50 = percentiles[Layer::Floor.index()].0.as_secs_f64();
        for layer in Layer::ALL {
            let (p50, p99) = percentiles[layer.index()];
            p50s[layer.index()].push(p50);
            p99s[layer.index()].push(p99);
            latency_ratios[layer.index()].push(ratio(p50.as_secs_f64(), floor_p50));
        }
        for (c, &concurrency) in CONCURRENCY.iter().enumerate() {
            let mut measured = [0.0; 3];
            for turn in 0..Layer::ALL.len() {
                // Each repeat starts with another contender.
                let layer = Layer::ALL[(repeat + turn) % Layer::ALL.len()];
                measured[layer.index()] =
                    throughput(clients, op, layer, concurrency, plan.throughput_window).await?;
            }
            for layer in Layer::ALL {
                let i = layer.index();
                rates[i][c].push(measured[i]);
                rate_ratios[i][c].push(ratio(measured[i], measured[Layer::Floor.index()]));
            }
        }
    }

    let mut results: [Results; 3] = Default::default();
    for layer in Layer::ALL {
        let i = layer.index();
        results[i] = Results {
            latency_p50: median_duration(&mut p50s[i]),
            latency_p99: median_duration(&mut p99s[i]),
            latency_ratio: median(&mut latency_ratios[i]),
            throughput: rates[i].iter_mut().map(|r| median(r)).collect(),
            throughput_ratio: rate_ratios[i].iter_mut().map(|r| median(r)).collect(),
        };
    }
    Ok(results)
}

fn ratio(value: f64, floor: f64) -> f64 {
    if floor > 0.0 { value / floor } else { 0.0 }
}

/// The contenders call in turn, one call at a time, for `window`: each
/// one's median and 99th percentile call time.
async fn latency(
    clients: &Arc<Clients>,
    op: Op,
    window: Duration,
) -> Result<[(Duration, Duration); 3], String> {
    let clients = clients.clone();
    // A task of the runtime, as the workers of the throughput runs are.
    let mut times = tokio::spawn(async move {
        let mut times: [Vec<Duration>; 3] = Default::default();
        let end = Instant::now() + window;
        let mut round = 0;
        while Instant::now() < end || round == 0 {
            for turn in 0..Layer::ALL.len() {
                // Who goes first changes every round.
                let layer = Layer::ALL[(round + turn) % Layer::ALL.len()];
                let started = Instant::now();
                clients.run(op, layer, 0).await?;
                times[layer.index()].push(started.elapsed());
            }
            round += 1;
        }
        Ok::<_, String>(times)
    })
    .await
    .map_err(|e| format!("a latency run failed: {e}"))??;
    let mut percentiles = [(Duration::ZERO, Duration::ZERO); 3];
    for (times, result) in times.iter_mut().zip(percentiles.iter_mut()) {
        times.sort_unstable();
        *result = (percentile(times, 50), percentile(times, 99));
    }
    Ok(percentiles)
}

/// `concurrency` workers call for `window`: completed operations per
/// second.
pub async fn throughput(
    clients: &Arc<Clients>,
    op: Op,
    layer: Layer,
    concurrency: usize,
    window: Duration,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..concurrency {
        let clients = clients.clone();
        let stop = stop.clone();
        workers.spawn(async move {
            let mut done = 0u64;
            while !stop.load(Ordering::Relaxed) {
                clients.run(op, layer, worker).await?;
                done += 1;
            }
            Ok::<_, String>(done)
        });
    }
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let mut done = 0u64;
    while let Some(joined) = workers.join_next().await {
        done += joined.map_err(|e| format!("a worker failed: {e}"))??;
    }
    // Each worker finishes the call it is in: count the time that took.
    let elapsed = started.elapsed().as_secs_f64();
    Ok(done as f64 / elapsed)
}

/// The `p`th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub fn median_duration(values: &mut [Duration]) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    }
}
