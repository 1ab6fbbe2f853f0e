//! The memory the event stream takes for an endless `data:` line: the
//! process's high-water mark (`VmHWM`), reset before the case, so this
//! binary holds a single test: nothing else allocates alongside. On Linux
//! the measure must work (the test fails if it cannot); elsewhere the test
//! says loudly that it checked nothing.

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use plex_butler::{Client, Event, EventOptions, RetryPolicy};

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

/// 16 MiB of one `data:` line with no end, on the first connection; the
/// later ones ping. `/activities` lists nothing.
async fn serve(listener: TcpListener) {
    let mut first = true;
    while let Ok((mut socket, _)) = listener.accept().await {
        let endless = std::mem::take(&mut first);
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if head.starts_with(b"GET /activities") {
                let body = r#"{"MediaContainer":{"size":0}}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                return;
            }
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if endless {
                let chunk = vec![b'x'; 64 * 1024];
                let _ = socket.write_all(b"event: activity\ndata: ").await;
                for _ in 0..256 {
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            } else {
                let _ = socket.write_all(b"event: ping\ndata: {}\n\n").await;
                let _ = socket.read(&mut buf).await;
            }
        });
    }
}

#[tokio::test]
async fn an_endless_data_line_takes_about_the_event_limit_not_its_length() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(serve(listener));
    let client = Client::builder(url)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let mut events = client.events(
        EventOptions::new()
            .max_event_bytes(1024 * 1024)
            .reconnect_delay(Duration::from_millis(10)),
    );
    let measurable = reset_peak();
    let before = peak_rss();
    let mut connects = 0;
    while connects < 2 {
        let item = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("within 10 s")
            .expect("the stream goes on")
            .expect("no error");
        if let Event::Connected { .. } = item {
            connects += 1;
        }
    }
    let after = peak_rss();
    let rise = match (measurable, before, after) {
        (true, Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    drop(events);
    server.abort();
    println!(
        "peak memory rose by {:?} KiB while the 16 MiB line came",
        rise.map(|r| r / 1024)
    );
    // The limit (1 MiB), the parser's copy of it, and buffers; 16 MiB
    // and more if the line were held whole.
    match rise {
        Some(rise) => assert!(rise < 8 * 1024 * 1024, "{} KiB", rise / 1024),
        // Linux has both: a test that measures nothing there would pass
        // whatever the stream takes.
        None if cfg!(target_os = "linux") => panic!(
            "the peak memory cannot be measured on this Linux system: writing \
             /proc/self/clear_refs {}, VmHWM in /proc/self/status {}",
            if measurable { "works" } else { "fails" },
            if before.is_some() && after.is_some() {
                "read"
            } else {
                "missing"
            },
        ),
        None => eprintln!(
            "SKIPPED: the peak memory cannot be measured on this system \
             (no /proc/self/clear_refs or VmHWM): nothing was checked"
        ),
    }
}
