//! Huge answers: what the facade holds in memory for them.
//!
//! The task list is decoded whole (the generated client reads the body
//! before decoding), so a 10 MB list that is valid JSON is decoded and
//! returned; the memory it takes is a small multiple of the body. Bodies
//! read for an error's excerpt, or drained after start and stop, are read
//! only up to a limit, whatever their size: the client hangs up instead.
//!
//! Peak memory is the process's high-water mark (`VmHWM`), reset before
//! each case, so this binary holds a single test: nothing else allocates
//! alongside.

mod support;

use std::time::{Duration, Instant};

use plex_butler::{Client, Error, RetryPolicy, StartOutcome, TaskName};
use support::{Reply, Server, TOKEN, assert_no_token};

const MB: usize = 1_000_000;

/// The process's peak resident memory in bytes, if the system tells.
fn peak_rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak to the current resident size, where the system allows.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs `case`, returning how far the peak memory rose above where it was
/// (`None` where it cannot be measured) and how long it took.
async fn measured<T>(case: impl std::future::Future<Output = T>) -> (T, Option<usize>, Duration) {
    let measurable = reset_peak();
    let before = peak_rss();
    let started = Instant::now();
    let value = case.await;
    let took = started.elapsed();
    let rise = match (measurable, before, peak_rss()) {
        (true, Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    (value, rise, took)
}

fn assert_rise_below(rise: Option<usize>, limit: usize, what: &str) {
    println!("{what}: peak memory rose by {:?} MB", rise.map(|r| r / MB));
    if let Some(rise) = rise {
        assert!(
            rise < limit,
            "{what}: peak memory rose by {} MB, over {} MB",
            rise / MB,
            limit / MB
        );
    }
}

fn client(url: &str) -> Client {
    Client::builder(url)
        .token(TOKEN)
        .timeout(Duration::from_secs(20))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn huge_answers_are_decoded_within_a_few_times_their_size_or_read_only_up_to_a_limit() {
    // A valid list of 10 MB: one task with a 10 MB title.
    let prefix = br#"{"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":true,"title":""#;
    let suffix = br#""}]}}"#;
    let title_len = 10 * MB;
    let mut list = Vec::with_capacity(prefix.len() + title_len + suffix.len());
    list.extend_from_slice(prefix);
    list.resize(prefix.len() + title_len, b'a');
    list.extend_from_slice(suffix);

    let garbage: Vec<u8> = (0..10 * MB).map(|i| b"\x00<{[\"\x1b"[i % 6]).collect();
    let server = Server::start([
        Reply::answer(200, &[("Content-Type", "application/json")], &list),
        Reply::answer(200, &[("Content-Type", "application/json")], &garbage),
        Reply::huge(500, "text/html", &[b'e'; 64 * 1024], 64 * MB),
        Reply::huge(200, "text/html", &[b's'; 64 * 1024], 64 * MB),
    ])
    .await;
    drop(list);
    drop(garbage);
    let client = client(&server.url());

    let (tasks, rise, took) = measured(client.tasks()).await;
    let tasks = tasks.expect("a valid 10 MB list decodes");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].title.as_ref().map(String::len), Some(title_len));
    println!("10 MB valid list: decoded in {took:?}");
    // The body, the decoded title and the reader's buffers: a few copies.
    assert_rise_below(rise, 80 * MB, "10 MB valid list");
    drop(tasks);

    let (result, rise, took) = measured(client.tasks()).await;
    let error = result.expect_err("10 MB of garbage");
    let Error::Decode { excerpt, .. } = &error else {
        panic!("expected Decode, got {error:?}");
    };
    assert!(excerpt.chars().count() <= 201, "{excerpt}");
    let shown = format!("{error:?}{error}");
    assert!(shown.len() < 4096, "the error holds {} bytes", shown.len());
    assert_no_token(&error);
    println!("10 MB of garbage: a decode error in {took:?}");
    assert_rise_below(rise, 80 * MB, "10 MB of garbage");

    let written_before = server.body_bytes_written();
    let (result, rise, took) = measured(client.tasks()).await;
    let error = result.expect_err("a 64 MB error page");
    let Error::Server { status, body, .. } = &error else {
        panic!("expected Server, got {error:?}");
    };
    assert_eq!(*status, 500);
    assert!(body.chars().count() <= 201, "{body}");
    println!("64 MB error page: an error in {took:?}");
    assert_rise_below(rise, 20 * MB, "64 MB error page");
    // Give the server a moment to notice the client hung up.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = server.body_bytes_written() - written_before;
    println!("64 MB error page: the server got {} MB out", sent / MB);
    assert!(sent < 32 * MB, "the client read {} MB of it", sent / MB);

    let written_before = server.body_bytes_written();
    let (outcome, rise, took) = measured(client.start(TaskName::BackupDatabase)).await;
    assert_eq!(outcome.expect("started"), StartOutcome::Started);
    println!("64 MB start answer: started in {took:?}");
    assert_rise_below(rise, 20 * MB, "64 MB start answer");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = server.body_bytes_written() - written_before;
    println!("64 MB start answer: the server got {} MB out", sent / MB);
    assert!(sent < 32 * MB, "the client read {} MB of it", sent / MB);
}
