//! Every way a call can fail, over a real socket: the error variant, what
//! its message tells the user, and that it never shows the token.

use std::time::{Duration, Instant};

use crate::support::{
    Reply, Server, TOKEN, assert_token_absent, entry, refused_base_url, task_list,
};
use plex_butler::{Client, Error, RetryLimit, RetryPolicy, TaskName};

fn client_of(base_url: String) -> Client {
    Client::builder(base_url)
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

fn client(server: &Server) -> Client {
    client_of(server.base_url())
}

/// Quick retries for tests: no jitter, 10 ms apart.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .without_jitter()
}

const PMS_401: &str =
    "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>";

#[tokio::test]
async fn unauthorized_with_html_body_says_to_check_the_token() {
    let server = Server::start([Reply::html(401, PMS_401)]);
    let error = client(&server).tasks().await.expect_err("401");

    match &error {
        Error::Unauthorized {
            status,
            token_sent,
            server_message,
            ..
        } => {
            assert_eq!(*status, 401);
            assert!(*token_sent);
            assert_eq!(server_message.as_deref(), Some("Unauthorized"));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(error.status(), Some(401));
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("check the token"), "{error}");
    assert_token_absent(&error);
}

#[tokio::test]
async fn unauthorized_with_json_body_carries_the_server_message() {
    let body =
        r#"{"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]}"#;
    let server = Server::start([Reply::json(401, body)]);
    let error = client(&server)
        .start(TaskName::BackupDatabase)
        .await
        .expect_err("401");

    assert!(
        matches!(&error, Error::Unauthorized { server_message: Some(m), .. } if m == "User could not be authenticated"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("User could not be authenticated"),
        "{error}"
    );
    assert_token_absent(&error);
}

#[tokio::test]
async fn unauthorized_without_a_token_says_to_set_one() {
    let server = Server::start([Reply::html(401, PMS_401)]);
    let client = Client::builder(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let error = client.stop_all().await.expect_err("401");

    assert!(
        matches!(
            error,
            Error::Unauthorized {
                token_sent: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("needs a token"), "{error}");
}

#[tokio::test]
async fn forbidden_is_unauthorized_too() {
    let server = Server::start([Reply::html(403, "")]);
    let error = client(&server).start_all().await.expect_err("403");

    assert!(
        matches!(error, Error::Unauthorized { status: 403, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn server_error_keeps_the_status_and_a_short_escaped_excerpt() {
    let long_body = format!("boom\n\u{1b}[31m{}", "x".repeat(5000));
    let server = Server::start([Reply::html(500, &long_body)]);
    let error = client(&server).tasks().await.expect_err("500");

    let Error::Server { status, body, .. } = &error else {
        panic!("expected Server, got {error:?}");
    };
    assert_eq!(*status, 500);
    assert!(body.starts_with("boom\\n\\u{1b}[31mxxx"), "{body}");
    assert!(
        body.chars().count() <= 201,
        "{} chars",
        body.chars().count()
    );
    assert_eq!(error.status(), Some(500));
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("500 Internal Server Error"), "{message}");
    assert!(message.contains("try again later"), "{message}");
    assert!(
        !message.contains('\u{1b}'),
        "control characters are escaped"
    );
    assert_token_absent(&error);
}

#[tokio::test]
async fn garbage_body_is_a_decode_error_with_an_excerpt() {
    let server = Server::start([Reply::json(200, "this is not json at all")]);
    let error = client(&server).tasks().await.expect_err("garbage");

    let Error::Decode { excerpt, .. } = &error else {
        panic!("expected Decode, got {error:?}");
    };
    assert_eq!(excerpt, "this is not json at all");
    assert!(
        error
            .to_string()
            .contains("not the JSON this client expects"),
        "{error}"
    );
    assert_token_absent(&error);
}

#[tokio::test]
async fn json_cut_short_is_a_decode_error() {
    let server = Server::start([Reply::json(
        200,
        r#"{"ButlerTasks":{"ButlerTask":[{"name":"Back"#,
    )]);
    let error = client(&server).tasks().await.expect_err("cut JSON");

    assert!(
        matches!(&error, Error::Decode { content_type: Some(c), .. } if c == "application/json"),
        "{error:?}"
    );
}

#[tokio::test]
async fn body_cut_short_by_a_closed_connection_is_a_lost_connection() {
    let server = Server::start([Reply::Truncated {
        status: 200,
        body: br#"{"ButlerTasks":{"#.to_vec(),
        claimed: 400,
    }]);
    let error = client(&server).tasks().await.expect_err("truncated");

    assert!(matches!(error, Error::ConnectionLost { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("broke off"), "{error}");
    assert_token_absent(&error);
}

#[tokio::test]
async fn xml_where_json_was_asked_is_a_decode_error_that_says_so() {
    let xml = include_str!("../../../../fixtures/pms-1.43.2/butler.xml");
    let server = Server::start([Reply::status(200)
        .header("Content-Type", "text/xml;charset=utf-8")
        .body(xml)]);
    let error = client(&server).tasks().await.expect_err("xml");

    let Error::Decode {
        content_type,
        excerpt,
        ..
    } = &error
    else {
        panic!("expected Decode, got {error:?}");
    };
    assert_eq!(content_type.as_deref(), Some("text/xml"));
    assert!(excerpt.starts_with("<?xml"), "{excerpt}");
    assert!(
        error.to_string().contains("XML where JSON was asked"),
        "{error}"
    );
}

#[tokio::test]
async fn task_entry_of_another_shape_is_a_decode_error_naming_the_field() {
    let server = Server::start([Reply::json(
        200,
        &task_list(&[
            r#"{"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":"yes"}"#,
        ]),
    )]);
    let error = client(&server).tasks().await.expect_err("enabled: yes");

    assert!(
        matches!(&error, Error::Decode { content_type: Some(c), .. } if c == "application/json"),
        "{error:?}"
    );
    let cause = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        cause.contains("`enabled`") && cause.contains("BackupDatabase"),
        "{cause}"
    );
}

#[tokio::test]
async fn slow_server_past_the_timeout_is_a_timeout() {
    let server = Server::start([Reply::json(200, &task_list(&[])).after(Duration::from_secs(3))]);
    let client = Client::builder(server.base_url())
        .token(TOKEN)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .expect("client");
    let started = Instant::now();
    let error = client.tasks().await.expect_err("timeout");

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&error, Error::Timeout { timeout: Some(t), .. } if *t == Duration::from_millis(200)),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains("did not answer within 200 ms"),
        "{error}"
    );
    assert_token_absent(&error);
}

#[test]
fn a_call_on_a_runtime_without_timers_is_a_configuration_error_not_a_panic() {
    let server = Server::start([Reply::json(200, &task_list(&[]))]);
    let client = client(&server);
    // As a user might build it: I/O but no time driver.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let results = [
        runtime.block_on(client.tasks()).map(|_| ()),
        runtime
            .block_on(client.start(TaskName::BackupDatabase))
            .map(|_| ()),
        runtime
            .block_on(client.wait_until_idle(plex_butler::WaitOptions::new()))
            .map(|_| ()),
    ];
    for result in results {
        let error = result.expect_err("no timers");
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
        assert!(error.to_string().contains("enable_time()"), "{error}");
    }
    // Refused before anything was sent.
    assert!(server.requests().is_empty());
}

/// Counts the panics of this thread that reach the panic hook (the
/// previous hook still prints them).
fn panics_on_this_thread() -> usize {
    use std::cell::Cell;
    thread_local!(static PANICS: Cell<usize> = const { Cell::new(0) });
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(Cell::get)
}

/// What the docs say of `panic = "abort"`: Tokio offers no way to ask
/// whether a runtime has timers, so the check makes one and catches the
/// panic Tokio raises. This pins that a panic is raised (and caught) on
/// the caller's thread; with `panic = "abort"` that panic ends the
/// process, as the docs warn.
#[test]
fn a_call_on_a_runtime_without_timers_is_refused_through_a_caught_panic_so_panic_abort_aborts() {
    let server = Server::start([Reply::json(200, &task_list(&[]))]);
    let client = client(&server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let before = panics_on_this_thread();
    let error = runtime.block_on(client.tasks()).expect_err("no timers");
    assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
    assert_eq!(
        panics_on_this_thread() - before,
        1,
        "the check is one caught panic: under panic = \"abort\" it aborts"
    );

    // With timers, no panic at all.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let before = panics_on_this_thread();
    runtime.block_on(client.tasks()).expect("tasks");
    assert_eq!(panics_on_this_thread(), before);
}

#[test]
fn a_call_outside_any_runtime_is_a_configuration_error_not_a_panic() {
    use std::future::Future as _;
    use std::task::{Context, Poll, Waker};

    let server = Server::start([Reply::json(200, &task_list(&[]))]);
    let client = client(&server);
    let mut call = std::pin::pin!(client.tasks());
    let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    let Poll::Ready(Err(error)) = polled else {
        panic!("the call went on outside a runtime");
    };
    assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
    assert!(error.to_string().contains("no Tokio runtime"), "{error}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn refused_connection_asks_whether_the_server_is_running() {
    let base_url = refused_base_url();
    let error = client_of(base_url.clone())
        .tasks()
        .await
        .expect_err("refused");

    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(error.status(), None);
    assert!(
        error
            .to_string()
            .contains(&format!("is the server running at {base_url}?")),
        "{error}"
    );
    assert_token_absent(&error);
}

#[tokio::test]
async fn refused_connection_is_retried_even_for_start() {
    // Nothing was sent, so even a start may be tried again; the attempts
    // show in the call's tracing span.
    let client = Client::builder(refused_base_url())
        .retry(quick_retries())
        .build()
        .expect("client");
    let started = Instant::now();
    let error = client
        .start(TaskName::BackupDatabase)
        .await
        .expect_err("refused");

    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    // Two waits of 10 and 20 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unavailable_then_ok_is_retried_to_success() {
    let server = Server::start([
        Reply::html(503, "<html>busy</html>"),
        Reply::json(200, &task_list(&[&entry("BackupDatabase")])),
    ]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries())
        .build()
        .expect("client");
    let tasks = client.tasks().await.expect("retried");

    assert_eq!(tasks.len(), 1);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn start_is_retried_after_unavailable() {
    let server = Server::start([Reply::html(503, ""), Reply::html(200, "")]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries())
        .build()
        .expect("client");

    assert!(client.start(TaskName::BackupDatabase).await.is_ok());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn start_is_not_retried_after_a_bad_gateway() {
    // The server behind the gateway may have started the task; a repeat
    // would report "already running" for a start this call made.
    let server = Server::start([Reply::html(502, ""), Reply::html(202, "")]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries())
        .build()
        .expect("client");
    let error = client
        .start(TaskName::BackupDatabase)
        .await
        .expect_err("502");

    assert!(
        matches!(error, Error::Server { status: 502, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable(), "the caller may still decide to retry");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn start_is_not_retried_after_a_timeout() {
    let server = Server::start([
        Reply::html(200, "").after(Duration::from_millis(600)),
        Reply::html(202, ""),
    ]);
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_millis(100))
        .retry(quick_retries())
        .build()
        .expect("client");
    let error = client
        .start(TaskName::BackupDatabase)
        .await
        .expect_err("timeout");

    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn stop_is_retried_after_a_timeout() {
    let server = Server::start([
        Reply::html(200, "").after(Duration::from_millis(600)),
        Reply::html(200, ""),
    ]);
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_millis(100))
        .retry(quick_retries())
        .build()
        .expect("client");

    assert!(client.stop(TaskName::BackupDatabase).await.is_ok());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn dropped_connection_is_retried_for_the_list() {
    let server = Server::start([Reply::Hang, Reply::json(200, &task_list(&[]))]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries())
        .build()
        .expect("client");

    assert_eq!(client.tasks().await.expect("retried"), []);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let server = Server::start([
        Reply::html(429, "").header("Retry-After", "1"),
        Reply::status(200),
    ]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries())
        .build()
        .expect("client");
    let started = Instant::now();
    client.start_all().await.expect("retried");

    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "waited {waited:?}, not the second asked"
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_budget_gives_up_at_once() {
    let server = Server::start([
        Reply::html(503, "down for maintenance").header("Retry-After", "120"),
        Reply::status(200),
    ]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries().max_elapsed(Duration::from_secs(5)))
        .build()
        .expect("client");
    let started = Instant::now();
    let error = client.stop_all().await.expect_err("gave up");

    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(error, Error::Server { status: 503, retry_after: Some(wait), .. } if wait == Duration::from_secs(120)),
        "{error:?}"
    );
    assert!(error.to_string().contains("try again in 120 s"), "{error}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_retry_after_of_an_hour_is_waited_only_up_to_the_cap() {
    let server = Server::start([
        Reply::html(503, "down for maintenance").header("Retry-After", "3600"),
        Reply::status(200),
    ]);
    let client = Client::builder(server.base_url())
        .retry(
            quick_retries()
                .max_elapsed(Duration::from_secs(7200))
                .max_retry_after(Duration::from_millis(200)),
        )
        .build()
        .expect("client");
    let started = Instant::now();
    client.start_all().await.expect("retried after the cap");

    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retries_stop_after_the_last_attempt() {
    let server = Server::start([
        Reply::html(504, ""),
        Reply::html(504, ""),
        Reply::html(504, ""),
    ]);
    let client = Client::builder(server.base_url())
        .retry(quick_retries())
        .build()
        .expect("client");
    let error = client.tasks().await.expect_err("504s");

    assert!(
        matches!(error, Error::Server { status: 504, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn each_error_names_the_attempts_its_call_made_and_the_limit_that_ended_them() {
    let server = Server::start([
        Reply::html(504, ""),
        Reply::html(504, ""),
        Reply::html(504, ""),
        Reply::html(200, "").after(Duration::from_millis(600)),
        Reply::html(503, "").header("Retry-After", "120"),
        Reply::html(500, ""),
    ]);
    let client = Client::builder(server.base_url())
        .timeout(Duration::from_millis(100))
        .retry(quick_retries().max_elapsed(Duration::from_secs(5)))
        .build()
        .expect("client");

    let used_up = client.tasks().await.expect_err("504s").attempts();
    assert_eq!(used_up.map(|a| a.made), Some(3));
    assert_eq!(
        used_up.and_then(|a| a.limit),
        Some(RetryLimit::MaxAttempts(3))
    );

    let timed_out = client.start(TaskName::BackupDatabase).await;
    let not_repeated = timed_out.expect_err("timeout").attempts();
    assert_eq!(not_repeated.map(|a| (a.made, a.limit)), Some((1, None)));

    let past_budget = client.stop_all().await.expect_err("503").attempts();
    assert_eq!(past_budget.map(|a| a.made), Some(1));
    assert_eq!(
        past_budget.and_then(|a| a.limit),
        Some(RetryLimit::MaxElapsed(Duration::from_secs(5)))
    );

    let wont_pass = client.start_all().await.expect_err("500");
    assert_eq!(
        wont_pass.attempts().map(|a| (a.made, a.limit)),
        Some((1, None))
    );
    assert_eq!(Error::BlockingInAsyncContext.attempts(), None);
}

#[tokio::test]
async fn redirect_is_not_followed_and_says_where_it_points() {
    let server =
        Server::start([Reply::status(301).header("Location", "https://plex.example:32400/butler")]);
    let error = client(&server).start_all().await.expect_err("redirect");

    assert!(
        matches!(error, Error::Server { status: 301, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("https://plex.example:32400/butler"),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn not_found_on_the_list_asks_whether_this_is_a_plex_server() {
    let server = Server::start([Reply::html(404, "<html>nope</html>")]);
    let error = client(&server).tasks().await.expect_err("404");

    assert!(
        matches!(error, Error::Server { status: 404, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("Plex Media Server"), "{error}");
}

#[test]
fn bad_configuration_is_refused_without_echoing_it() {
    let secret_url = format!("http://plex.example:32400/?X-Plex-Token={TOKEN}");
    let cases = [
        ("not a url", "not a URL"),
        ("ftp://plex.example", "use http:// or https://"),
        (secret_url.as_str(), "query"),
        ("http://user:pw@plex.example", "credentials"),
    ];
    for (url, expected) in cases {
        let error = Client::builder(url).build().expect_err(url);
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{url}: {error}");
        assert_token_absent(&error);
    }

    let error = Client::builder("http://127.0.0.1:32400")
        .token(format!("{TOKEN}\n"))
        .build()
        .expect_err("line break in token");
    assert!(error.to_string().contains("token"), "{error}");
    assert_token_absent(&error);

    let error = Client::builder("http://127.0.0.1:32400")
        .token("")
        .build()
        .expect_err("empty token");
    assert!(error.to_string().contains("token is empty"), "{error}");
}

#[test]
fn a_zero_timeout_or_an_empty_identity_is_refused() {
    let base = || Client::builder("http://127.0.0.1:32400");
    let cases = [
        (base().timeout(Duration::ZERO), "timeout is zero"),
        (
            base().connect_timeout(Duration::ZERO),
            "connect timeout is zero",
        ),
        (base().client_identifier(""), "client identifier is empty"),
        (base().client_identifier("  "), "client identifier is empty"),
        (base().product(""), "product is empty"),
    ];
    for (builder, expected) in cases {
        let error = builder.build().expect_err(expected);
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{error}");
    }
    base().build().expect("the defaults are accepted");

    let error = Client::builder("http://127.0.0.1:32400")
        .product("bad\r\nproduct")
        .build()
        .expect_err("bad header");
    assert!(error.to_string().contains("x-plex-product"), "{error}");

    let error = Client::builder("http://127.0.0.1:32400")
        .http_client(reqwest::Client::new())
        .connect_timeout(Duration::from_secs(1))
        .build()
        .expect_err("conflict");
    assert!(error.to_string().contains("connect timeout"), "{error}");
}
