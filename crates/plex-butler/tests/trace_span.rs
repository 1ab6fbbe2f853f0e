//! One tracing span per call, with the fields that matter and never the
//! token.
//!
//! Alone in its own test binary: `tracing` caches per call site whether any
//! subscriber is interested, and tests running beside this one on other
//! threads, with no subscriber, can make it capture nothing.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plex_butler::{Client, RetryPolicy, TaskName};
use support::{Reply, Server, TOKEN, assert_token_absent};

/// Collects everything a `fmt` subscriber writes.
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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture")).into_owned()
    }
}

#[tokio::test]
async fn each_call_is_one_span_with_operation_status_and_duration_and_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::start([
        Reply::html(503, "").header("Retry-After", "0"),
        Reply::html(202, ""),
        Reply::html(401, "<html><title>Unauthorized</title></html>"),
    ]);
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .expect("client");
    client.start(TaskName::BackupDatabase).await.expect("start");
    let error = client.tasks().await.expect_err("401");
    assert_token_absent(&error);

    let text = captured.text();
    assert!(!text.contains(TOKEN), "the token is in the trace:\n{text}");
    let closes: Vec<&str> = text.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 2, "one span per call:\n{text}");
    let start = closes[0];
    for field in [
        "operation=\"start\"",
        "method=\"POST\"",
        "task=BackupDatabase",
        "status=202",
        "attempts=2",
        "duration_ms=",
    ] {
        assert!(start.contains(field), "{field} missing in {start}");
    }
    assert!(
        !start.contains("status=503"),
        "one value per field: {start}"
    );
    let list = closes[1];
    for field in [
        "operation=\"tasks\"",
        "method=\"GET\"",
        "status=401",
        "error=",
    ] {
        assert!(list.contains(field), "{field} missing in {list}");
    }
    assert!(text.contains("retrying"), "the retry is logged:\n{text}");
}
