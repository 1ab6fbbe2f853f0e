//! The token never shows in traces and logs at trace level: the facade's
//! spans and events, the simulator's request log, and the `log` records of
//! the HTTP stack, captured while calls succeed, fail and retry.
//!
//! Alone in its test binary: `tracing` caches per call site whether anyone
//! listens, and a test on another thread without a subscriber could make a
//! scoped capture miss events.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plex_butler::{Client, RetryPolicy, TaskName};
use plex_butler_sim::{FaultPlan, Preset, Simulator, Trigger};
use support::{TOKEN, refused_url};

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(5)
        .start()
        .await
        .expect("simulator starts")
}

fn client_of(url: &str, timeout: Duration) -> Client {
    Client::builder(url)
        .token(TOKEN)
        .timeout(timeout)
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .base_delay(Duration::from_millis(5))
                .without_jitter(),
        )
        .build()
        .expect("client")
}

/// Everything a `fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Forwards `log` records (reqwest logs through `log`) to `tracing`, so the
/// test's subscriber sees them too.
struct LogToTracing;

impl log::Log for LogToTracing {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        tracing::trace!(target: "log", origin = record.target(), "{}", record.args());
    }

    fn flush(&self) {}
}

static LOG_BRIDGE: LogToTracing = LogToTracing;

#[test]
fn traces_and_logs_at_trace_level_never_hold_the_token() {
    if log::set_logger(&LOG_BRIDGE).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let sim = sim().await;
            let client = client_of(sim.url(), Duration::from_secs(5));
            client.tasks().await.expect("list");
            client.start(TaskName::BackupDatabase).await.expect("start");
            client.stop(TaskName::BackupDatabase).await.expect("stop");
            client
                .stop(TaskName::BackupDatabase)
                .await
                .expect("stop again");
            client.start_all().await.expect("start all");
            client.stop_all().await.expect("stop all");
            let _ = client.start(TaskName::Other("Nope".into())).await;
            let _ = client.stop(TaskName::Other("..".into())).await;

            sim.set_faults(
                FaultPlan::none()
                    .status(503, Trigger::Next(1))
                    .retry_after(Duration::from_secs(0)),
            )
            .expect("faults");
            client.tasks().await.expect("retried");
            for plan in [
                FaultPlan::none().status(429, Trigger::Always),
                FaultPlan::none().drop_connection(Trigger::Always),
                FaultPlan::none().garbage_body(Trigger::Always),
                FaultPlan::none().truncate_body(Trigger::Always),
            ] {
                sim.set_faults(plan).expect("faults");
                let _ = client.tasks().await.expect_err("a fault");
            }
            sim.set_faults(FaultPlan::none()).expect("faults");

            let wrong = Client::builder(sim.url())
                .token("not-the-right-token")
                .build()
                .expect("client");
            let _ = wrong.tasks().await.expect_err("401");
            let _ = client_of(&refused_url(), Duration::from_millis(500))
                .tasks()
                .await;

            // A token in the query (which this crate never sends) is blanked
            // out of the simulator's request log.
            let answer = reqwest::get(format!("{}/butler?X-Plex-Token={TOKEN}", sim.url()))
                .await
                .expect("sent");
            assert!(answer.status().is_success());
        });
    });

    let text = String::from_utf8_lossy(&captured.0.lock().expect("capture")).into_owned();
    assert!(!text.contains(TOKEN), "the token is in the trace:\n{text}");
    // The capture saw what it had to see: the calls, the retries, the
    // simulator's request log and reqwest's own log records.
    for expected in [
        "operation=\"tasks\"",
        "operation=\"start_all\"",
        "retrying",
        "status=401",
        "X-Plex-Token=<redacted>",
        "origin=\"reqwest",
    ] {
        assert!(
            text.contains(expected),
            "{expected} is not in the trace:\n{text}"
        );
    }
}
