//! What every request carries, and where the token must never show:
//! `Debug` output and the URL (traces: `trace_span.rs`).

use crate::support::{Reply, Server, TOKEN, task_list};
use plex_butler::{Client, RetryPolicy, TaskName};

#[tokio::test]
async fn every_request_carries_token_identity_and_accept_json() {
    let server = Server::start([
        Reply::json(200, &task_list(&[])),
        Reply::status(200),
        Reply::status(200),
        Reply::status(200),
        Reply::status(200),
    ]);
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .product("my-tool")
        .version("1.2.3")
        .device_name("den")
        .platform("Linux")
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    client.tasks().await.expect("tasks");
    client.start(TaskName::BackupDatabase).await.expect("start");
    client.stop(TaskName::BackupDatabase).await.expect("stop");
    client.start_all().await.expect("start all");
    client.stop_all().await.expect("stop all");

    let requests = server.requests();
    assert_eq!(requests.len(), 5);
    for request in &requests {
        let at = format!("{} {}", request.method, request.path);
        assert_eq!(request.header("x-plex-token"), Some(TOKEN), "{at}");
        assert_eq!(request.header("accept"), Some("application/json"), "{at}");
        assert_eq!(
            request.header("x-plex-client-identifier"),
            Some(client.client_identifier()),
            "{at}"
        );
        assert_eq!(request.header("x-plex-product"), Some("my-tool"), "{at}");
        assert_eq!(request.header("x-plex-version"), Some("1.2.3"), "{at}");
        assert_eq!(request.header("x-plex-device-name"), Some("den"), "{at}");
        assert_eq!(request.header("x-plex-platform"), Some("Linux"), "{at}");
        // The spec's `info.version`, under the name Plex reads; the
        // generator's own `api-version` is not sent.
        assert_eq!(
            request.header("x-plex-pms-api-version"),
            Some(<plex_butler_raw::Client as plex_butler_raw::ClientInfo<
                _,
            >>::api_version()),
            "{at}"
        );
        assert_eq!(request.header("api-version"), None, "{at}");
        assert!(!request.path.contains(TOKEN), "token in the URL: {at}");
        assert!(!request.path.contains('?'), "a query string: {at}");
        let tokens = request
            .headers
            .iter()
            .filter(|(n, _)| n == "x-plex-token")
            .count();
        assert_eq!(tokens, 1, "{at}");
    }
}

#[tokio::test]
async fn no_token_header_is_sent_without_a_token() {
    let server = Server::start([Reply::json(200, &task_list(&[]))]);
    let client = Client::builder(server.base_url()).build().expect("client");
    client.tasks().await.expect("tasks");

    let requests = server.requests();
    assert_eq!(requests[0].header("x-plex-token"), None);
    assert!(requests[0].header("x-plex-client-identifier").is_some());
    assert_eq!(requests[0].header("x-plex-product"), Some("plex-butler"));
    assert_eq!(
        requests[0].header("x-plex-version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn headers_are_added_to_a_supplied_http_client_too() {
    let server = Server::start([Reply::json(200, &task_list(&[]))]);
    let http = reqwest::Client::builder()
        .user_agent("custom-agent")
        .build()
        .expect("reqwest client");
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .client_identifier("fixed-id")
        .http_client(http)
        .build()
        .expect("client");
    client.tasks().await.expect("tasks");

    let request = &server.requests()[0];
    assert_eq!(request.header("x-plex-token"), Some(TOKEN));
    assert_eq!(request.header("x-plex-client-identifier"), Some("fixed-id"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some("custom-agent"));
}

#[test]
fn default_client_identifier_is_stable_and_per_product() {
    let build = |product: &str| {
        Client::builder("http://127.0.0.1:32400")
            .product(product)
            .build()
            .expect("client")
    };
    let first = build("plex-butler");
    let second = build("plex-butler");
    let other = build("another-tool");

    assert_eq!(first.client_identifier(), second.client_identifier());
    assert_ne!(first.client_identifier(), other.client_identifier());
    assert_eq!(first.client_identifier().len(), 32);
    assert!(
        first
            .client_identifier()
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    );
}

#[test]
fn debug_of_client_and_builder_redacts_the_token() {
    let builder = Client::builder("http://127.0.0.1:32400").token(TOKEN);
    let shown = format!("{builder:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");

    let client = builder.build().expect("client");
    for shown in [format!("{client:?}"), format!("{client:#?}")] {
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    // The raw client underneath prints its headers; the token's is marked
    // sensitive, so it prints as such.
    #[cfg(feature = "raw")]
    {
        let raw = format!("{:?}", client.raw());
        assert!(!raw.contains(TOKEN), "{raw}");
        assert!(raw.contains("Sensitive"), "{raw}");
    }
}

#[test]
fn debug_without_a_token_says_none() {
    let client = Client::builder("http://127.0.0.1:32400")
        .build()
        .expect("client");
    let shown = format!("{client:?}");
    assert!(shown.contains("token: None"), "{shown}");
}

#[tokio::test]
async fn clients_sharing_one_http_client_each_send_their_own_token_and_follow_no_redirect() {
    let first = Server::start([
        Reply::json(200, &task_list(&[])),
        Reply::status(301).header("Location", "http://127.0.0.1:9/butler"),
    ]);
    let second = Server::start([Reply::json(200, &task_list(&[]))]);
    let urls = [first.base_url(), second.base_url()];
    let shared =
        plex_butler::SharedHttpClient::for_servers(urls.iter().map(String::as_str)).expect("http");
    assert!(!shared.has_tls_roots());
    let client = |url: &str, token: &str| {
        Client::builder(url)
            .shared_http_client(&shared)
            .token(token)
            .retry(RetryPolicy::none())
            .build()
            .expect("client")
    };
    let (a, b) = (client(&urls[0], "token-a"), client(&urls[1], "token-b"));

    a.tasks().await.expect("tasks a");
    b.tasks().await.expect("tasks b");
    let error = a.start_all().await.expect_err("redirect");
    assert!(
        matches!(error, plex_butler::Error::Server { status: 301, .. }),
        "{error:?}"
    );
    let tokens = |server: &Server| -> Vec<Option<String>> {
        server
            .requests()
            .iter()
            .map(|r| r.header("x-plex-token").map(str::to_owned))
            .collect()
    };
    assert_eq!(
        tokens(&first),
        [Some("token-a".to_owned()), Some("token-a".to_owned())]
    );
    assert_eq!(tokens(&second), [Some("token-b".to_owned())]);
    assert!(
        first.requests().iter().all(|r| !r.path.contains("token")),
        "the token is never in the URL"
    );
}

#[test]
fn a_shared_http_client_for_http_servers_only_is_refused_for_an_https_server() {
    let shared =
        plex_butler::SharedHttpClient::for_servers(["http://127.0.0.1:32400"]).expect("http");
    let error = Client::builder("https://127.0.0.1:32400")
        .shared_http_client(&shared)
        .build()
        .expect_err("no TLS roots");
    assert!(
        matches!(error, plex_butler::Error::InvalidConfig { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("for_servers"), "{error}");

    let mixed = plex_butler::SharedHttpClient::for_servers([
        "http://127.0.0.1:32400",
        "HTTPS://plex.example:32400/",
    ])
    .expect("https");
    assert!(mixed.has_tls_roots());
    Client::builder("https://plex.example:32400")
        .shared_http_client(&mixed)
        .build()
        .expect("https with roots");
    // The shared client has its own connect timeout.
    let error = Client::builder("http://127.0.0.1:32400")
        .shared_http_client(&mixed)
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
        .expect_err("connect timeout");
    assert!(error.to_string().contains("connect timeout"), "{error}");
}

#[tokio::test]
async fn a_client_on_a_shared_http_client_closes_its_connections_when_dropped() {
    let first = Server::start([Reply::json(200, &task_list(&[]))]);
    let second = Server::start([Reply::json(200, &task_list(&[]))]);
    let urls = [first.base_url(), second.base_url()];
    let shared =
        plex_butler::SharedHttpClient::for_servers(urls.iter().map(String::as_str)).expect("http");
    let client = |url: &str| {
        Client::builder(url)
            .shared_http_client(&shared)
            .retry(RetryPolicy::none())
            .build()
            .expect("client")
    };
    let (a, b) = (client(&urls[0]), client(&urls[1]));
    a.tasks().await.expect("tasks a");
    b.tasks().await.expect("tasks b");
    assert_eq!((first.connections(), second.connections()), (1, 1));

    // The first server's client is done: its connection goes with it,
    // while the second's stays pooled for its next call.
    drop(a);
    let waited = std::time::Instant::now();
    while first.connections_closed() == 0 && waited.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        first.connections_closed(),
        1,
        "the dropped client's connection is still open"
    );
    assert_eq!(
        second.connections_closed(),
        0,
        "the other client's was closed"
    );
    drop(b);
}

#[test]
fn clients_on_two_runtimes_sharing_a_shared_http_client_use_connections_of_their_own() {
    let server = Server::start([
        Reply::json(200, &task_list(&[])),
        Reply::json(200, &task_list(&[])),
    ]);
    let url = server.base_url();
    let shared = plex_butler::SharedHttpClient::for_servers([url.as_str()]).expect("http");
    let client = || {
        Client::builder(&url)
            .shared_http_client(&shared)
            .timeout(std::time::Duration::from_secs(2))
            .retry(RetryPolicy::none())
            .build()
            .expect("client")
    };
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    let first = runtime();
    first.block_on(client().tasks()).expect("first runtime");
    // The first runtime stays, idle: nothing drives the connection it
    // opened. A client on another runtime that picked it up would wait
    // for an answer until its timeout.
    let second = runtime();
    second
        .block_on(client().tasks())
        .expect("the second runtime's client opens a connection of its own");
    assert_eq!(server.connections(), 2);
    drop(first);
}
