//! Malformed and hostile requests get a 4xx, and the server serves on.

use crate::common::{TOKEN, at, raw, raw_status, start_with, status_of};
use plex_butler_sim::{Simulator, TaskSpec};
use reqwest::{Method, StatusCode};

async fn sim() -> Simulator {
    start_with(at(12, 0), vec![TaskSpec::new("Task")]).await
}

async fn still_serves(sim: &Simulator) {
    assert_eq!(status_of(sim, Method::GET, "/butler").await, StatusCode::OK);
}

fn request(method: &str, target: &str) -> Vec<u8> {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nX-Plex-Token: {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn bad_percent_encoding_in_a_task_name_gets_400() {
    let sim = sim().await;
    for target in [
        "/butler/Ta%zzsk",
        "/butler/Task%",
        "/butler/Task%4",
        "/butler/%ff%fe",
        "/butl%er",
    ] {
        let answer = raw(&sim, &request("POST", target)).await;
        assert_eq!(raw_status(&answer), 400, "{target}: {answer}");
    }
    still_serves(&sim).await;
}

#[tokio::test]
async fn overlong_task_names_and_paths_get_414() {
    let sim = sim().await;
    let long_name = format!("/butler/{}", "A".repeat(300));
    assert_eq!(
        status_of(&sim, Method::POST, &long_name).await,
        StatusCode::URI_TOO_LONG
    );
    let long_path = format!("/butler/{}", "%41".repeat(1000));
    assert_eq!(
        status_of(&sim, Method::POST, &long_path).await,
        StatusCode::URI_TOO_LONG
    );
    let huge = format!("/butler/{}", "B".repeat(100_000));
    let answer = raw(&sim, &request("POST", &huge)).await;
    let status = raw_status(&answer);
    assert!((400..500).contains(&status), "got {status}");
    still_serves(&sim).await;
}

#[tokio::test]
async fn huge_headers_get_431() {
    let sim = sim().await;
    let big = format!(
        "GET /butler HTTP/1.1\r\nHost: localhost\r\nX-Plex-Token: {TOKEN}\r\nX-Big: {}\r\n\r\n",
        "x".repeat(200_000)
    );
    assert_eq!(raw_status(&raw(&sim, big.as_bytes()).await), 431);
    let mut many = format!("GET /butler HTTP/1.1\r\nHost: localhost\r\nX-Plex-Token: {TOKEN}\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(raw_status(&raw(&sim, many.as_bytes()).await), 431);
    still_serves(&sim).await;
}

#[tokio::test]
async fn unknown_methods_get_405_on_known_paths() {
    let sim = sim().await;
    for method in ["PATCH", "BREW", "OPTIONS", "PUT"] {
        let answer = raw(&sim, &request(method, "/butler/Task")).await;
        assert_eq!(raw_status(&answer), 405, "{method}: {answer}");
    }
    still_serves(&sim).await;
}

#[tokio::test]
async fn garbage_instead_of_http_gets_400_or_a_closed_connection() {
    let sim = sim().await;
    for junk in [
        &b"\x00\x01\x02\x03 hello\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET /butler HTTP/9.9\r\n\r\n",
        b"POST /butler/Task HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET /butler HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let answer = raw(&sim, junk).await;
        let status = raw_status(&answer);
        assert!(
            status == 0 || (400..500).contains(&status),
            "{junk:?} got {answer}"
        );
    }
    still_serves(&sim).await;
}

#[tokio::test]
async fn names_with_odd_characters_are_just_unknown_tasks() {
    let sim = sim().await;
    for name in [
        "%00",
        "%0d%0aX-Injected:%201",
        "..%2F..%2Fetc",
        "%E2%98%83",
        "Task%20",
    ] {
        let path = format!("/butler/{name}");
        assert_eq!(
            status_of(&sim, Method::POST, &path).await,
            StatusCode::NOT_FOUND,
            "{name}"
        );
    }
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/a/b").await,
        StatusCode::NOT_FOUND
    );
    still_serves(&sim).await;
    sim.state().check_invariants().expect("invariants hold");
}

#[tokio::test]
async fn a_request_body_is_ignored() {
    let sim = sim().await;
    let with_body = format!(
        "POST /butler/Task HTTP/1.1\r\nHost: a\r\nX-Plex-Token: {TOKEN}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    );
    assert_eq!(raw_status(&raw(&sim, with_body.as_bytes()).await), 200);
    still_serves(&sim).await;
}
