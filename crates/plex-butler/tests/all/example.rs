//! The crate documentation's example, run for real against a local server.

use std::time::Duration;

use crate::support::{Reply, Server, TOKEN, entry, task_list};
use plex_butler::{Client, RetryPolicy, StartOutcome, StopOutcome, TaskName};

#[tokio::test]
async fn crate_example_runs_against_a_server() -> Result<(), plex_butler::Error> {
    let server = Server::start([
        Reply::json(
            200,
            &task_list(&[
                &entry("BackupDatabase"),
                &entry("ButlerTaskGenerateIntroMarkers"),
            ]),
        ),
        Reply::html(200, ""),
        Reply::html(200, ""),
    ]);

    // As in the crate docs, with the local server's address.
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .product("my-tool")
        .timeout(Duration::from_secs(10))
        .retry(RetryPolicy::default())
        .build()?;

    let mut lines = Vec::new();
    for task in client.tasks().await? {
        lines.push(format!(
            "{} every {} day(s), enabled: {}",
            task.name, task.interval_days, task.enabled
        ));
    }
    match client.start(TaskName::BackupDatabase).await? {
        StartOutcome::Started => lines.push("backup started".to_owned()),
        other => lines.push(format!("backup: {other}")),
    }
    let outcome = client
        .stop("ButlerTaskGenerateIntroMarkers".parse::<TaskName>()?)
        .await?;
    lines.push(outcome.to_string());

    assert_eq!(
        lines,
        [
            "BackupDatabase every 3 day(s), enabled: true",
            "ButlerTaskGenerateIntroMarkers every 3 day(s), enabled: true",
            "backup started",
            "stopped",
        ]
    );
    assert_eq!(outcome, StopOutcome::Stopped);
    Ok(())
}

#[cfg(feature = "raw")]
#[tokio::test]
async fn raw_client_is_reachable_with_the_same_headers() {
    let server = Server::start([Reply::html(202, "")]);
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .build()
        .expect("client");
    let name = plex_butler::raw::types::TaskName::from(TaskName::BackupDatabase);
    let response = client
        .raw()
        .start_task()
        .task(name.clone())
        .send()
        .await
        .expect("raw start");

    use plex_butler::raw::ClientInfo as _;
    assert_eq!(client.raw().baseurl(), client.base_url());
    assert_eq!(response.status().as_u16(), 202);
    drop(response);
    let request = &server.requests()[0];
    assert_eq!(request.path, "/butler/BackupDatabase");
    assert_eq!(request.header("x-plex-token"), Some(TOKEN));
    assert_eq!(request.header("accept"), Some("application/json"));
}
