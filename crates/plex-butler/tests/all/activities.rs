//! Activities, cancelling and waiting, against scripted answers on a real
//! socket: the shapes a real server sends (one aggregate "Butler tasks"
//! activity), and what the waits make of them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Reply, Server, TOKEN, assert_token_absent};
use plex_butler::{CancelOutcome, Client, Error, RetryPolicy, StartOutcome, WaitOptions};

fn client(server: &Server) -> Client {
    Client::builder(server.base_url())
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

/// The real server's one aggregate activity, at `progress`.
fn aggregate(progress: i32) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"MediaContainer":{{"size":1,"Activity":[{{"uuid":"4221855c-8f07-4471-b01c-a13f5266c301","type":"butler","cancellable":false,"userID":1,"title":"Butler tasks","subtitle":"","progress":{progress}}}]}}}}"#
        ),
    )
}

fn idle() -> Reply {
    Reply::json(200, r#"{"MediaContainer":{"size":0}}"#)
}

/// Options that look every millisecond, so that tests take no time.
fn quick<'a>() -> WaitOptions<'a> {
    WaitOptions::new()
        .poll_interval(Duration::from_millis(1))
        .max_poll_interval(Duration::from_millis(2))
        .grace(Duration::ZERO)
        .timeout(Duration::from_secs(10))
        // The scripted answers come in order, whatever the request: no
        // event stream here (the events' own tests have one).
        .polling_only(true)
}

#[tokio::test]
async fn activities_lists_butler_and_other_work() {
    let server = Server::start([Reply::json(
        200,
        r#"{"MediaContainer":{"size":2,"Activity":[
            {"uuid":"a","type":"butler","cancellable":"0","userID":"1","title":"Butler tasks","subtitle":"","progress":"-1"},
            {"uuid":"b","type":"library.update.section","cancellable":true,"title":"Scanning","subtitle":"Movies","progress":12.5,"Context":{"librarySectionID":"1"}}
        ]}}"#,
    )]);
    let activities = client(&server).activities().await.expect("activities");
    assert_eq!(activities.len(), 2);
    assert!(activities[0].is_butler());
    assert_eq!(activities[0].progress, None, "-1 is indeterminate");
    assert_eq!(activities[0].user_id, Some(1));
    assert!(!activities[1].is_butler());
    assert!(activities[1].cancellable);
    assert_eq!(activities[1].progress, Some(12));
    assert_eq!(activities[1].context["librarySectionID"], "1");
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/activities")
    );
    assert_eq!(request.header("accept"), Some("application/json"));
}

#[tokio::test]
async fn an_activity_list_in_xml_is_a_decode_error_naming_xml() {
    let server = Server::start([Reply::status(200)
        .header("Content-Type", "text/xml;charset=utf-8")
        .body(include_str!(
            "../../../../fixtures/pms-1.43.2/activities.xml"
        ))]);
    let error = client(&server)
        .activities()
        .await
        .expect_err("XML is not JSON");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(error.to_string().contains("XML"), "{error}");
}

#[tokio::test]
async fn cancel_reports_cancelled_not_found_and_refuses_a_non_cancellable_activity() {
    let server = Server::start([
        Reply::html(200, ""),
        Reply::html(404, "<html><head><title>Not Found</title></head></html>"),
        Reply::html(400, "<html><head><title>Bad Request</title></head></html>"),
    ]);
    let client = client(&server);
    assert_eq!(
        client.cancel_activity("a-1").await.expect("200"),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        client.cancel_activity("a-2").await.expect("404"),
        CancelOutcome::NotFound
    );
    let error = client.cancel_activity("a-3").await.expect_err("400");
    assert!(
        matches!(&error, Error::NotCancellable { activity, .. } if activity == "a-3"),
        "{error:?}"
    );
    assert_eq!(error.status(), Some(400));
    assert_token_absent(&error);
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            "DELETE /activities/a-1",
            "DELETE /activities/a-2",
            "DELETE /activities/a-3"
        ]
    );
}

#[tokio::test]
async fn cancel_refuses_ids_that_would_change_the_path_without_sending_anything() {
    let server = Server::start([]);
    let client = client(&server);
    for id in ["", "  ", ".", "..", "a\\b"] {
        let error = client.cancel_activity(id).await.expect_err(id);
        assert!(
            matches!(error, Error::InvalidActivityId { .. }),
            "{id:?}: {error:?}"
        );
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn wait_follows_one_aggregate_activity_until_it_leaves_the_list() {
    let server = Server::start([aggregate(10), aggregate(100), aggregate(100), idle()]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let report = client(&server)
        .wait_until_idle(quick().on_progress(move |p| {
            let shown: Vec<String> = p.activities.iter().map(ToString::to_string).collect();
            log.lock().expect("log").push(shown.join(", "));
        }))
        .await
        .expect("the work ends");
    assert!(report.saw_activity);
    assert_eq!(
        report.polls, 4,
        "100% is not done: only leaving the list is"
    );
    assert_eq!(report.seen.len(), 1);
    assert_eq!(report.seen[0].progress, Some(100));
    assert_eq!(
        *seen.lock().expect("log"),
        [
            "Butler tasks: 10%",
            "Butler tasks: 100%",
            "Butler tasks: 100%",
            ""
        ]
    );
}

#[tokio::test]
async fn wait_ignores_work_that_is_not_butler_work() {
    let server = Server::start([Reply::json(
        200,
        r#"{"MediaContainer":{"size":1,"Activity":[{"uuid":"x","type":"media.generate.bif","title":"Thumbnails","progress":3}]}}"#,
    )]);
    let report = client(&server)
        .wait_until_idle(quick())
        .await
        .expect("no Butler work");
    assert!(!report.saw_activity);
    assert_eq!(report.polls, 1);
}

#[tokio::test]
async fn wait_follows_butler_work_beside_an_odd_activity_of_other_work() {
    let beside_odd = |progress: &str| {
        Reply::json(
            200,
            &format!(
                r#"{{"MediaContainer":{{"size":3,"Activity":[
                    {{"uuid":"x","type":"media.generate.bif","userID":-1,"title":"Thumbnails","progress":"50%"}},
                    {{"uuid":"","type":"library.update.section"}},
                    {{"uuid":"b","type":"butler","title":"Butler tasks","progress":{progress}}}
                ]}}}}"#
            ),
        )
    };
    let server = Server::start([beside_odd("20"), beside_odd("\"90%\""), idle()]);
    let report = client(&server)
        .wait_until_idle(quick())
        .await
        .expect("the odd activity does not break the wait");
    assert!(report.saw_activity);
    assert_eq!(report.polls, 3);
    assert_eq!(report.seen.len(), 1);
    assert_eq!(report.seen[0].progress, Some(90));
    let activities = client(&Server::start([beside_odd("20")]))
        .activities()
        .await
        .expect("activities");
    let kept: Vec<(&str, Option<u64>, Option<u8>)> = activities
        .iter()
        .map(|a| (a.uuid.as_str(), a.user_id, a.progress))
        .collect();
    assert_eq!(kept, [("x", None, Some(50)), ("b", None, Some(20))]);
}

#[tokio::test]
async fn wait_keeps_looking_through_the_grace_before_concluding_nothing_runs() {
    // Right after a start the activity may be listed a moment late.
    let server = Server::start([idle(), idle(), aggregate(0), idle()]);
    let report = client(&server)
        .wait_until_idle(quick().grace(Duration::from_secs(5)))
        .await
        .expect("the work ends");
    assert!(report.saw_activity, "the late activity was seen");
    assert_eq!(report.polls, 4);
}

#[tokio::test]
async fn wait_that_sees_nothing_within_the_grace_says_so() {
    let server = Server::start((0..200).map(|_| idle()));
    let started = std::time::Instant::now();
    let report = client(&server)
        .wait_until_idle(quick().grace(Duration::from_millis(50)))
        .await
        .expect("idle");
    assert!(!report.saw_activity);
    assert!(report.seen.is_empty());
    assert!(report.polls >= 2, "looked more than once: {report:?}");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn wait_times_out_with_the_work_still_running() {
    let server = Server::start((0..10_000).map(|_| aggregate(40)));
    let error = client(&server)
        .wait_until_idle(quick().timeout(Duration::from_millis(100)))
        .await
        .expect_err("the work never ends");
    let Error::WaitTimedOut {
        waited, running, ..
    } = &error
    else {
        panic!("expected WaitTimedOut, got {error:?}");
    };
    assert!(*waited >= Duration::from_millis(100), "{waited:?}");
    assert_eq!(running.len(), 1);
    assert!(error.to_string().contains("Butler tasks: 40%"), "{error}");
    assert_token_absent(&error);
}

#[tokio::test]
async fn wait_times_out_even_when_the_server_does_not_answer() {
    let server = Server::start([aggregate(5), aggregate(5).after(Duration::from_secs(30))]);
    let started = std::time::Instant::now();
    let error = client(&server)
        .wait_until_idle(quick().timeout(Duration::from_millis(200)))
        .await
        .expect_err("the second look hangs");
    assert!(matches!(error, Error::WaitTimedOut { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn wait_backs_off_between_looks() {
    let server = Server::start((0..100).map(|_| aggregate(1)));
    let looks = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&looks);
    let options = quick()
        .poll_interval(Duration::from_millis(20))
        .max_poll_interval(Duration::from_millis(80))
        .timeout(Duration::from_millis(400))
        .on_progress(move |p| log.lock().expect("log").push(p.elapsed));
    let _ = client(&server).wait_until_idle(options).await;
    let looks = looks.lock().expect("log").clone();
    let gaps: Vec<Duration> = looks.windows(2).map(|w| w[1] - w[0]).collect();
    // Waits of 20, 40, 80, 80, ... ms: fewer looks than a fixed 20 ms.
    assert!(gaps.len() >= 3, "{looks:?}");
    assert!(gaps[1] >= Duration::from_millis(40), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(80), "{gaps:?}");
    assert!(looks.len() < 12, "{looks:?}");
}

#[tokio::test]
async fn start_and_wait_starts_then_waits_for_the_butler_to_be_idle() {
    let server = Server::start([Reply::html(200, ""), aggregate(50), idle()]);
    let (outcome, report) = client(&server)
        .start_and_wait(
            "BackupDatabase"
                .parse::<plex_butler::TaskName>()
                .expect("name"),
            quick(),
        )
        .await
        .expect("started and done");
    assert_eq!(outcome, StartOutcome::Started);
    assert!(report.saw_activity);
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            "POST /butler/BackupDatabase",
            "GET /activities",
            "GET /activities"
        ]
    );
}

#[tokio::test]
async fn a_failing_look_ends_the_wait_with_its_error() {
    let server = Server::start([
        aggregate(5),
        Reply::html(401, "<html><head><title>Unauthorized</title></head></html>"),
    ]);
    let error = client(&server)
        .wait_until_idle(quick())
        .await
        .expect_err("401");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_waits_too() {
    let server = Server::start([aggregate(50), idle()]);
    let client = plex_butler::blocking::Client::builder(server.base_url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let mut looks = 0;
    let report = client
        .wait_until_idle(quick().on_progress(|_| looks += 1))
        .expect("the work ends");
    assert!(report.saw_activity);
    assert_eq!(looks, 2);
}
