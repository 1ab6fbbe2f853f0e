//! The five calls against a server on a real socket: each answer the real
//! server gives, and what the client makes of it.

use std::time::Duration;

use crate::support::{Reply, Server, TOKEN, entry, task_list};
use plex_butler::{Client, Error, RetryPolicy, StartOutcome, StopOutcome, TaskName};

fn client(server: &Server) -> Client {
    Client::builder(server.base_url())
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn tasks_lists_what_the_server_lists() {
    let server = Server::start([Reply::json(
        200,
        &task_list(&[
            r#"{"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":true,"title":"Backup Database","description":"Create a backup."}"#,
            r#"{"name":"SomeFutureTask","interval":7,"scheduleRandomized":true,"enabled":false}"#,
        ]),
    )]);
    let tasks = client(&server).tasks().await.expect("tasks");

    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].name, TaskName::BackupDatabase);
    assert_eq!(tasks[0].title.as_deref(), Some("Backup Database"));
    assert_eq!(tasks[0].description.as_deref(), Some("Create a backup."));
    assert!(tasks[0].enabled);
    assert_eq!(tasks[0].interval_days, 3);
    assert!(!tasks[0].schedule_randomized);
    assert_eq!(tasks[1].name, TaskName::Other("SomeFutureTask".into()));
    assert_eq!(tasks[1].title, None);
    assert!(!tasks[1].enabled);
    assert!(tasks[1].schedule_randomized);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/butler")
    );
}

#[tokio::test]
async fn start_of_idle_task_reports_started() {
    let server = Server::start([Reply::html(200, "")]);
    let outcome = client(&server).start(TaskName::BackupDatabase).await;

    assert_eq!(outcome.expect("start"), StartOutcome::Started);
    let requests = server.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/butler/BackupDatabase");
}

#[tokio::test]
async fn start_of_running_task_reports_already_running() {
    let server = Server::start([Reply::html(202, "<html><body>Accepted</body></html>")]);
    let outcome = client(&server).start(TaskName::BackupDatabase).await;

    assert_eq!(outcome.expect("start"), StartOutcome::AlreadyRunning);
}

#[tokio::test]
async fn start_of_unknown_task_is_an_error_with_the_closest_known_name() {
    let server = Server::start([Reply::html(404, "<html><title>Not Found</title></html>")]);
    let name: TaskName = "BackupDatabse".parse().expect("name");
    let error = client(&server).start(name).await.expect_err("404");

    match &error {
        Error::UnknownTask {
            name, suggestion, ..
        } => {
            assert_eq!(name.as_str(), "BackupDatabse");
            assert_eq!(suggestion.as_ref(), Some(&TaskName::BackupDatabase));
        }
        other => panic!("expected UnknownTask, got {other:?}"),
    }
    assert_eq!(error.status(), Some(404));
    assert!(!error.is_retryable());
    assert!(
        error
            .to_string()
            .contains("did you mean \"BackupDatabase\"?"),
        "{error}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "a 404 is not retried, nor followed by a list"
    );
}

#[tokio::test]
async fn stop_of_running_task_reports_stopped() {
    let server = Server::start([Reply::html(200, "")]);
    let outcome = client(&server).stop(TaskName::OptimizeDatabase).await;

    assert_eq!(outcome.expect("stop"), StopOutcome::Stopped);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "DELETE");
    assert_eq!(requests[0].path, "/butler/OptimizeDatabase");
}

#[tokio::test]
async fn stop_of_listed_idle_task_reports_not_running() {
    let server = Server::start([
        Reply::html(404, ""),
        Reply::json(
            200,
            &task_list(&[&entry("BackupDatabase"), &entry("OptimizeDatabase")]),
        ),
    ]);
    let outcome = client(&server).stop(TaskName::OptimizeDatabase).await;

    assert_eq!(outcome.expect("stop"), StopOutcome::NotRunning);
    let requests = server.requests();
    let calls: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [("DELETE", "/butler/OptimizeDatabase"), ("GET", "/butler")]
    );
}

#[tokio::test]
async fn stop_of_unlisted_task_is_an_error_suggesting_a_listed_name() {
    let server = Server::start([
        Reply::html(404, ""),
        Reply::json(
            200,
            &task_list(&[&entry("BackupDatabase"), &entry("ProcessAssetz")]),
        ),
    ]);
    let name: TaskName = "ProcessAsset".parse().expect("name");
    let error = client(&server).stop(name).await.expect_err("unlisted");

    match error {
        Error::UnknownTask {
            name, suggestion, ..
        } => {
            assert_eq!(name.as_str(), "ProcessAsset");
            // From the server's list, not the known names (ProcessAssets).
            assert_eq!(suggestion, Some(TaskName::Other("ProcessAssetz".into())));
        }
        other => panic!("expected UnknownTask, got {other:?}"),
    }
}

#[tokio::test]
async fn start_all_and_stop_all_send_post_and_delete_to_the_butler() {
    let server = Server::start([Reply::html(200, "<html></html>"), Reply::status(200)]);
    let client = client(&server);
    client.start_all().await.expect("start all");
    client.stop_all().await.expect("stop all");

    let requests = server.requests();
    let calls: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(calls, [("POST", "/butler"), ("DELETE", "/butler")]);
}

#[tokio::test]
async fn answer_bodies_are_read_so_the_connection_is_reused() {
    // Bodies longer than one read, so that the client must read them on.
    let page = format!("<html><body>{}</body></html>", "done ".repeat(6000));
    let server = Server::start([
        Reply::html(200, &page),
        Reply::html(202, &page),
        Reply::html(200, &page),
        Reply::html(200, &page),
    ]);
    let client = client(&server);
    client.start(TaskName::BackupDatabase).await.expect("start");
    client
        .start(TaskName::BackupDatabase)
        .await
        .expect("start again");
    client.stop(TaskName::BackupDatabase).await.expect("stop");
    client.start_all().await.expect("start all");

    assert_eq!(server.requests().len(), 4);
    assert_eq!(
        server.connections(),
        1,
        "every call went over the first connection"
    );
}

#[tokio::test]
async fn start_reports_started_when_the_success_body_is_cut_short() {
    let server = Server::start([Reply::Truncated {
        status: 200,
        body: b"<html>".to_vec(),
        claimed: 500,
    }]);
    let outcome = client(&server).start(TaskName::BackupDatabase).await;

    assert_eq!(
        outcome.expect("the status says it started"),
        StartOutcome::Started
    );
}

#[tokio::test]
async fn unlisted_success_status_of_start_counts_as_started() {
    let server = Server::start([Reply::status(204)]);
    let outcome = client(&server).start(TaskName::BackupDatabase).await;

    assert_eq!(outcome.expect("start"), StartOutcome::Started);
}

#[tokio::test]
async fn names_with_reserved_characters_travel_as_one_path_segment() {
    let cases = [
        ("a/b", "/butler/a%2Fb"),
        ("50%", "/butler/50%25"),
        ("two words", "/butler/two%20words"),
        ("what?", "/butler/what%3F"),
        ("a#b", "/butler/a%23b"),
        ("Tâche", "/butler/T%C3%A2che"),
        ("..a", "/butler/..a"),
        ("%2e%2e", "/butler/%252e%252e"),
    ];
    let server = Server::start(cases.iter().map(|_| Reply::status(200)));
    let client = client(&server);
    for (name, _) in cases {
        let name: TaskName = name.parse().expect("name");
        client.start(name).await.expect("start");
    }

    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    let expected: Vec<&str> = cases.iter().map(|(_, path)| *path).collect();
    assert_eq!(paths, expected);
}

#[tokio::test]
async fn names_that_would_change_the_path_are_refused_before_sending() {
    let server = Server::start([]);
    let client = client(&server);
    for name in [".", "..", r"a\b", r"\"] {
        let name: TaskName = name.parse().expect("name");
        let error = client.start(name.clone()).await.expect_err("refused");
        assert!(
            matches!(&error, Error::InvalidTaskName { name: n, .. } if n == name.as_str()),
            "{error:?}"
        );
        let error = client.stop(name).await.expect_err("refused");
        assert!(matches!(error, Error::InvalidTaskName { .. }), "{error:?}");
    }

    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn base_url_with_a_path_prefixes_every_request() {
    let server = Server::start([Reply::json(200, &task_list(&[])), Reply::status(200)]);
    let client = Client::builder(format!("{}/plex/", server.base_url()))
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    assert_eq!(client.base_url(), format!("{}/plex", server.base_url()));
    client.tasks().await.expect("tasks");
    client.start(TaskName::BackupDatabase).await.expect("start");

    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/plex/butler", "/plex/butler/BackupDatabase"]);
}

#[tokio::test]
async fn calls_can_run_on_spawned_tasks() {
    let server = Server::start([Reply::json(200, &task_list(&[&entry("BackupDatabase")]))]);
    let client = client(&server);
    // The futures are Send: a multi-threaded runtime can move them.
    let tasks = tokio::spawn(async move { client.tasks().await })
        .await
        .expect("join")
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
}

#[test]
fn client_and_error_can_cross_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Client>();
    shareable::<Error>();
    shareable::<TaskName>();
    shareable::<plex_butler::Task>();
}

#[tokio::test]
async fn a_shared_client_keeps_at_most_its_bound_of_requests_in_flight() {
    let slow_list = || Reply::json(200, &task_list(&[])).after(Duration::from_millis(50));
    let server = Server::start((0..24).map(|_| slow_list()));
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .max_concurrent_requests(3)
        .build()
        .expect("client");
    let calls: Vec<_> = (0..24)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.tasks().await })
        })
        .collect();
    for call in calls {
        call.await.expect("joined").expect("listed");
    }
    assert_eq!(server.requests().len(), 24);
    assert!(
        server.most_in_flight() <= 3,
        "{} requests in flight at once",
        server.most_in_flight()
    );
    assert!(server.most_in_flight() >= 2, "the calls ran one by one");
}

#[test]
fn a_bound_of_zero_concurrent_requests_is_refused() {
    let error = Client::builder("http://127.0.0.1:32400")
        .max_concurrent_requests(0)
        .build()
        .expect_err("zero");
    assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
    assert!(error.to_string().contains("zero concurrent"), "{error}");
}
