//! The blocking client: the same calls without async, and a clear error
//! instead of a panic inside an async runtime.

use std::time::Duration;

use crate::support::{Reply, Server, TOKEN, entry, task_list};
use plex_butler::{Error, RetryPolicy, StartOutcome, StopOutcome, TaskName, blocking};

fn client(server: &Server) -> blocking::Client {
    blocking::Client::builder(server.base_url())
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

#[test]
fn blocking_client_makes_the_five_calls() {
    let server = Server::start([
        Reply::json(200, &task_list(&[&entry("BackupDatabase")])),
        Reply::html(202, ""),
        Reply::html(404, ""),
        Reply::json(200, &task_list(&[&entry("BackupDatabase")])),
        Reply::status(200),
        Reply::status(200),
    ]);
    let client = client(&server);

    let tasks = client.tasks().expect("tasks");
    assert_eq!(tasks[0].name, TaskName::BackupDatabase);
    assert_eq!(
        client.start(TaskName::BackupDatabase).expect("start"),
        StartOutcome::AlreadyRunning
    );
    assert_eq!(
        client.stop(&tasks[0].name).expect("stop"),
        StopOutcome::NotRunning
    );
    client.start_all().expect("start all");
    client.stop_all().expect("stop all");

    let calls: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let calls: Vec<(&str, &str)> = calls
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", "/butler"),
            ("POST", "/butler/BackupDatabase"),
            ("DELETE", "/butler/BackupDatabase"),
            ("GET", "/butler"),
            ("POST", "/butler"),
            ("DELETE", "/butler"),
        ]
    );
    assert_eq!(server.requests()[0].header("x-plex-token"), Some(TOKEN));
}

#[test]
fn blocking_client_reports_errors_like_the_async_one() {
    let server = Server::start([Reply::html(401, "<html><title>Unauthorized</title></html>")]);
    let error = client(&server).tasks().expect_err("401");
    assert!(
        matches!(error, Error::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
}

#[test]
fn debug_of_blocking_client_and_builder_redacts_the_token() {
    let builder = blocking::Client::builder("http://127.0.0.1:32400").token(TOKEN);
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains(TOKEN) && shown.contains("<redacted>"),
        "{shown}"
    );
    let client = builder.build().expect("client");
    let shown = format!("{client:?}");
    assert!(
        !shown.contains(TOKEN) && shown.contains("<redacted>"),
        "{shown}"
    );
}

#[tokio::test]
async fn blocking_client_inside_an_async_runtime_is_an_error_not_a_panic() {
    let server = Server::start([]);
    let client = client(&server);

    let error = client.tasks().expect_err("inside a runtime");
    assert!(matches!(error, Error::BlockingInAsyncContext), "{error:?}");
    assert!(
        error.to_string().contains("use plex_butler::Client"),
        "{error}"
    );
    assert!(server.requests().is_empty());
    // Dropping it here does not panic either.
    drop(client);
}

#[tokio::test]
async fn blocking_client_works_inside_spawn_blocking() {
    let server = Server::start([Reply::json(200, &task_list(&[&entry("BackupDatabase")]))]);
    let client = client(&server);
    let tasks = tokio::task::spawn_blocking(move || client.tasks())
        .await
        .expect("join")
        .expect("tasks from spawn_blocking");
    assert_eq!(tasks[0].name, TaskName::BackupDatabase);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_works_inside_block_in_place() {
    let server = Server::start([Reply::json(200, &task_list(&[&entry("BackupDatabase")]))]);
    let client = client(&server);
    let tasks = tokio::spawn(async move { tokio::task::block_in_place(|| client.tasks()) })
        .await
        .expect("join")
        .expect("tasks from block_in_place");
    assert_eq!(tasks[0].name, TaskName::BackupDatabase);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_on_an_async_worker_thread_is_an_error_not_a_stall() {
    let server = Server::start([]);
    let client = client(&server);
    let error = tokio::spawn(async move { client.tasks() })
        .await
        .expect("join")
        .expect_err("on a worker thread");
    assert!(matches!(error, Error::BlockingInAsyncContext), "{error:?}");
    assert!(server.requests().is_empty());
}
