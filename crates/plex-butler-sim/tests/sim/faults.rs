//! Injected faults, for tests of clients.

use std::time::{Duration, Instant};

use crate::common::{TOKEN, at, builder, client, raw, start_with, status_of};
use plex_butler_sim::{FaultPlan, Simulator, TaskSpec, Trigger};
use reqwest::{Method, StatusCode};

async fn sim_with(plan: FaultPlan) -> Simulator {
    builder(at(12, 0))
        .tasks([TaskSpec::new("Task")])
        .faults(plan)
        .start()
        .await
        .expect("starts")
}

#[tokio::test]
async fn no_faults_are_planned_by_default() {
    let sim = start_with(at(12, 0), vec![]).await;
    assert!(sim.faults().is_none());
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sim = sim_with(FaultPlan::none().latency(Duration::from_millis(200))).await;
    let started = Instant::now();
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_status_for_the_next_requests_comes_with_retry_after_then_stops() {
    let plan = FaultPlan::none()
        .status(503, Trigger::Next(2))
        .retry_after(Duration::from_secs(3));
    let sim = sim_with(plan).await;
    for _ in 0..2 {
        let response = client()
            .post(format!("{}/butler/Task", sim.url()))
            .header("X-Plex-Token", TOKEN)
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "3");
    }
    assert!(
        sim.state().running().is_empty(),
        "a faulted request changes nothing"
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_fault_status_comes_before_the_token_is_checked() {
    let sim = sim_with(FaultPlan::none().status(429, Trigger::Always)).await;
    let response = client()
        .get(format!("{}/butler", sim.url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_share_of_requests_gets_the_fault_status() {
    let sim = sim_with(FaultPlan::none().status(502, Trigger::Share(0.5))).await;
    let mut faulted = 0;
    for _ in 0..200 {
        if status_of(&sim, Method::GET, "/butler").await == StatusCode::BAD_GATEWAY {
            faulted += 1;
        }
    }
    assert!((60..=140).contains(&faulted), "{faulted} of 200");
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_at_all() {
    let sim = sim_with(FaultPlan::none().drop_connection(Trigger::Next(1))).await;
    let first = client()
        .get(format!("{}/butler", sim.url()))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await;
    assert!(first.is_err(), "{first:?}");
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_truncated_body_stops_short_of_its_content_length() {
    let sim = sim_with(FaultPlan::none().truncate_body(Trigger::Next(1))).await;
    let request = format!("GET /butler HTTP/1.1\r\nHost: a\r\nX-Plex-Token: {TOKEN}\r\n\r\n");
    let answer = raw(&sim, request.as_bytes()).await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let promised: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|n| n.parse().ok())
        .expect("a content length");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.len() < promised, "{} of {promised} bytes", body.len());
    assert!(!body.is_empty());
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_garbage_body_is_neither_xml_nor_json() {
    let sim = sim_with(FaultPlan::none().garbage_body(Trigger::Always)).await;
    let response = client()
        .get(format!("{}/butler", sim.url()))
        .header("X-Plex-Token", TOKEN)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.bytes().await.expect("body reads");
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    assert!(!body.starts_with(b"<?xml"));
}

#[tokio::test]
async fn faults_can_be_switched_on_and_off_while_running() {
    let sim = sim_with(FaultPlan::none()).await;
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
    let plan = FaultPlan::none().status(500, Trigger::Always);
    sim.set_faults(plan.clone()).expect("a valid plan");
    assert_eq!(sim.faults(), plan);
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    sim.set_faults(FaultPlan::none()).expect("a valid plan");
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
    assert!(
        sim.set_faults(FaultPlan::none().status(1000, Trigger::Always))
            .is_err()
    );
}

#[tokio::test]
async fn after_each_change_of_settings_the_next_requests_get_400() {
    let sim = sim_with(FaultPlan::none().bad_request_after_settings_change(2)).await;
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK,
        "nothing changed yet"
    );
    let put = "/:/prefs?ButlerStartHour=4";
    assert_eq!(status_of(&sim, Method::PUT, put).await, StatusCode::OK);
    assert_eq!(
        status_of(&sim, Method::GET, "/:/prefs").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/Task").await,
        StatusCode::BAD_REQUEST
    );
    assert!(sim.state().running().is_empty(), "the 400 changed nothing");
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
    // A refused change is no change; a successful one starts again.
    assert_eq!(
        status_of(&sim, Method::PUT, "/:/prefs?NoSuchSetting=1").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::OK
    );
    assert_eq!(status_of(&sim, Method::PUT, put).await, StatusCode::OK);
    assert_eq!(
        status_of(&sim, Method::GET, "/butler").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(sim.settings()["ButlerStartHour"], "4");
}

#[tokio::test]
async fn a_swallowed_change_of_settings_answers_200_and_changes_nothing() {
    let plan = FaultPlan::none()
        .ignore_settings_change(Trigger::Next(1))
        .login_page_on_settings_change(Trigger::Next(1));
    let sim = sim_with(plan).await;
    let url = format!("{}/:/prefs?ButlerStartHour=4", sim.url());
    let put = || {
        client()
            .put(url.as_str())
            .header("X-Plex-Token", TOKEN)
            .send()
    };
    let ignored = put().await.expect("request succeeds");
    assert_eq!(ignored.status(), StatusCode::OK);
    assert_eq!(sim.settings()["ButlerStartHour"], "2", "ignored");
    let login = put().await.expect("request succeeds");
    assert_eq!(login.status(), StatusCode::OK);
    assert!(
        login.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let page = login.text().await.expect("body");
    assert!(page.contains("<form"), "{page}");
    assert_eq!(sim.settings()["ButlerStartHour"], "2", "a login page");
    assert_eq!(
        put().await.expect("request succeeds").status(),
        StatusCode::OK
    );
    assert_eq!(sim.settings()["ButlerStartHour"], "4", "then changes land");
}
