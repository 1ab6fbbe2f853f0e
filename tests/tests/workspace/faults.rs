//! The facade fails well: against the simulator's fault plan (latency,
//! statuses with and without `Retry-After`, dropped connections, truncated
//! and garbage bodies) and against a scripted server for what the simulator
//! cannot produce (resets, HTML or an empty body with 200, a protocol that
//! is not HTTP, redirects to another port).
//!
//! Times are measured and held to bounds derived from the timeout and the
//! retry policy, with a margin for a loaded machine.

use std::time::{Duration, Instant};

use crate::support::{Reply, Server, TOKEN, assert_no_token, entry, head, task_list};
use plex_butler::{Client, Error, RetryPolicy, StartOutcome, TaskName};
use plex_butler_sim::{FaultPlan, Preset, Simulator, Trigger};

/// Slack for scheduling on a busy two-core machine.
const MARGIN: Duration = Duration::from_millis(1500);

async fn sim_with(plan: FaultPlan) -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(11)
        .faults(plan)
        .start()
        .await
        .expect("simulator starts")
}

/// Three attempts, waits of exactly 50 then 100 ms.
fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(50))
        .without_jitter()
}

/// What [`policy`] waits in all when every retry is used.
const POLICY_WAITS: Duration = Duration::from_millis(150);

fn client(url: &str, timeout: Duration, retry: RetryPolicy) -> Client {
    Client::builder(url)
        .token(TOKEN)
        .timeout(timeout)
        .retry(retry)
        .build()
        .expect("client")
}

/// Runs `call`, returning its result and how long it took.
async fn timed<T>(call: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let result = call.await;
    (result, started.elapsed())
}

fn assert_within(elapsed: Duration, at_least: Duration, what: &str) {
    assert!(
        elapsed >= at_least,
        "{what}: took {elapsed:?}, less than {at_least:?}"
    );
    assert!(
        elapsed <= at_least + MARGIN,
        "{what}: took {elapsed:?}, more than {at_least:?} and the margin"
    );
}

#[tokio::test]
async fn latency_past_the_timeout_is_a_timeout_within_the_timeout_and_a_margin_for_every_call() {
    let sim = sim_with(FaultPlan::none().latency(Duration::from_secs(30))).await;
    let timeout = Duration::from_millis(300);
    let client = client(sim.url(), timeout, RetryPolicy::none());

    let (list, start, stop, start_all, stop_all) = tokio::join!(
        timed(client.tasks()),
        timed(client.start(TaskName::BackupDatabase)),
        timed(client.stop(TaskName::BackupDatabase)),
        timed(client.start_all()),
        timed(client.stop_all()),
    );
    let results = [
        ("tasks", list.0.map(|_| ()), list.1),
        ("start", start.0.map(|_| ()), start.1),
        ("stop", stop.0.map(|_| ()), stop.1),
        ("start_all", start_all.0, start_all.1),
        ("stop_all", stop_all.0, stop_all.1),
    ];
    for (call, result, elapsed) in results {
        let error = result.expect_err(call);
        assert!(
            matches!(&error, Error::Timeout { timeout: Some(t), .. } if *t == timeout),
            "{call}: {error:?}"
        );
        assert!(
            error.to_string().contains("did not answer within 300 ms"),
            "{call}: {error}"
        );
        assert_no_token(&error);
        assert_within(elapsed, timeout, call);
    }
}

#[tokio::test]
async fn timeouts_are_retried_per_policy_for_the_list_but_not_for_start_and_the_total_is_bounded() {
    let sim = sim_with(FaultPlan::none().latency(Duration::from_secs(30))).await;
    let timeout = Duration::from_millis(200);
    let client = client(sim.url(), timeout, policy());

    let ((list, list_took), (start, start_took)) = tokio::join!(
        timed(client.tasks()),
        timed(client.start(TaskName::BackupDatabase)),
    );
    assert!(matches!(list, Err(Error::Timeout { .. })), "{list:?}");
    // Three attempts of 200 ms, waits of 50 and 100 ms between them.
    assert_within(list_took, timeout * 3 + POLICY_WAITS, "list");
    // A start that timed out may have started the task: not repeated.
    assert!(matches!(start, Err(Error::Timeout { .. })), "{start:?}");
    assert_within(start_took, timeout, "start");
}

#[tokio::test]
async fn unavailable_and_too_many_requests_without_retry_after_are_retried_after_the_backoff() {
    for status in [503, 429] {
        let sim = sim_with(FaultPlan::none().status(status, Trigger::Next(2))).await;
        let client = client(sim.url(), Duration::from_secs(5), policy());

        let (outcome, took) = timed(client.start(TaskName::BackupDatabase)).await;
        // The faulted attempts changed nothing: the third one started it.
        assert_eq!(outcome.expect("retried to success"), StartOutcome::Started);
        assert_within(took, POLICY_WAITS, &format!("{status}"));
        let state = sim.state();
        assert_eq!(state.running(), ["BackupDatabase"], "{status}");
        state.check_invariants().expect("invariants hold");
    }
}

#[tokio::test]
async fn retry_after_replaces_the_backoff_for_unavailable_and_too_many_requests() {
    let plan = |status| {
        FaultPlan::none()
            .status(status, Trigger::Next(1))
            .retry_after(Duration::from_secs(1))
    };
    let unavailable = sim_with(plan(503)).await;
    let too_many = sim_with(plan(429)).await;
    let first = client(unavailable.url(), Duration::from_secs(5), policy());
    let second = client(too_many.url(), Duration::from_secs(5), policy());

    let ((tasks, tasks_took), (start, start_took)) = tokio::join!(
        timed(first.tasks()),
        timed(second.start(TaskName::CleanOldBundles)),
    );
    assert_eq!(tasks.expect("list after 503").len(), 23);
    assert_within(
        tasks_took,
        Duration::from_secs(1),
        "503 with Retry-After: 1",
    );
    assert_eq!(start.expect("start after 429"), StartOutcome::Started);
    assert_within(
        start_took,
        Duration::from_secs(1),
        "429 with Retry-After: 1",
    );
}

#[tokio::test]
async fn exhausted_retries_report_the_last_status_within_the_policys_bound() {
    let unavailable = sim_with(FaultPlan::none().status(503, Trigger::Always)).await;
    let too_many = sim_with(
        FaultPlan::none()
            .status(429, Trigger::Always)
            .retry_after(Duration::from_secs(1)),
    )
    .await;
    let first = client(unavailable.url(), Duration::from_secs(5), policy());
    let second = client(
        too_many.url(),
        Duration::from_secs(5),
        policy().max_attempts(2),
    );

    let ((list, list_took), (stop_all, stop_all_took)) =
        tokio::join!(timed(first.tasks()), timed(second.stop_all()));

    let error = list.expect_err("always 503");
    assert!(
        matches!(
            error,
            Error::Server {
                status: 503,
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains("503 Service Unavailable"),
        "{error}"
    );
    assert_within(list_took, POLICY_WAITS, "503 three times");
    assert_no_token(&error);

    let error = stop_all.expect_err("always 429");
    assert!(
        matches!(error, Error::Server { status: 429, retry_after: Some(wait), .. } if wait == Duration::from_secs(1)),
        "{error:?}"
    );
    assert!(error.to_string().contains("it asks to wait 1 s"), "{error}");
    assert_within(stop_all_took, Duration::from_secs(1), "429 twice");
}

#[tokio::test]
async fn the_error_after_the_last_retry_is_that_attempts_status() {
    let busy = |status| {
        Reply::answer(
            status,
            &[("Content-Type", "text/html")],
            b"<html>busy</html>",
        )
    };
    let server = Server::start([busy(503), busy(429), busy(504)]).await;
    let client = client(&server.url(), Duration::from_secs(5), policy());

    let error = client.tasks().await.expect_err("three failures");
    assert!(
        matches!(error, Error::Server { status: 504, .. }),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn dropped_connections_are_retried_for_the_list_but_a_start_reports_them() {
    let sim = sim_with(FaultPlan::none().drop_connection(Trigger::Next(2))).await;
    let client = client(sim.url(), Duration::from_secs(5), policy());
    assert_eq!(client.tasks().await.expect("retried").len(), 23);

    sim.set_faults(FaultPlan::none().drop_connection(Trigger::Next(1)))
        .expect("faults");
    let error = client
        .start(TaskName::BackupDatabase)
        .await
        .expect_err("not retried: the start may have happened");
    assert!(matches!(error, Error::ConnectionLost { .. }), "{error:?}");
    assert!(error.to_string().contains("broke off"), "{error}");
    assert_no_token(&error);
    assert!(sim.state().running().is_empty(), "the server did nothing");
}

#[tokio::test]
async fn a_truncated_body_is_a_lost_connection_and_the_list_is_retried_past_it() {
    let sim = sim_with(FaultPlan::none().truncate_body(Trigger::Next(1))).await;
    let once = client(sim.url(), Duration::from_secs(5), RetryPolicy::none());
    let error = once.tasks().await.expect_err("cut short");
    assert!(matches!(error, Error::ConnectionLost { .. }), "{error:?}");
    assert_no_token(&error);

    sim.set_faults(FaultPlan::none().truncate_body(Trigger::Next(1)))
        .expect("faults");
    let retrying = client(sim.url(), Duration::from_secs(5), policy());
    assert_eq!(retrying.tasks().await.expect("retried").len(), 23);
}

#[tokio::test]
async fn a_garbage_body_is_a_decode_error_with_an_escaped_excerpt_and_is_not_retried() {
    let sim = sim_with(FaultPlan::none().garbage_body(Trigger::Next(1))).await;
    let client = client(sim.url(), Duration::from_secs(5), policy());
    let error = client.tasks().await.expect_err("garbage");

    let Error::Decode { excerpt, .. } = &error else {
        panic!("expected Decode, got {error:?}");
    };
    assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
    assert!(excerpt.starts_with("\\u{0}"), "{excerpt:?}");
    assert!(
        error
            .to_string()
            .contains("not the JSON this client expects"),
        "{error}"
    );
    assert!(!error.is_retryable());
    // Not retried: the next request is served normally.
    assert_eq!(client.tasks().await.expect("served").len(), 23);
}

/// What a list answer that is not the task list becomes: the content type
/// the error reports, and words its message must hold.
#[tokio::test]
async fn answers_that_are_not_the_task_list_are_decode_errors_that_say_what_came() {
    let html =
        "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Welcome</body></html>";
    let xml = include_str!("../../../fixtures/pms-1.43.2/butler.xml");
    let cases: Vec<(&str, Reply, Option<&str>, &str)> = vec![
        (
            "HTML with 200",
            Reply::answer(200, &[("Content-Type", "text/html")], html.as_bytes()),
            Some("text/html"),
            "an HTML page where JSON was asked",
        ),
        (
            "XML with 200, no content type",
            Reply::answer(200, &[], xml.as_bytes()),
            Some("text/xml"),
            "XML where JSON was asked",
        ),
        (
            "an empty 200",
            Reply::answer(200, &[("Content-Type", "application/json")], b""),
            None,
            "an empty body where JSON was asked",
        ),
        (
            "204 with no body",
            Reply::answer(204, &[], b""),
            None,
            "an empty body where JSON was asked",
        ),
        (
            "JSON null",
            Reply::json(200, "null"),
            None,
            "not the JSON this client expects",
        ),
        (
            "JSON of another shape",
            Reply::json(200, r#"{"MediaContainer":{"size":0}}"#),
            Some("application/json"),
            "not the JSON this client expects",
        ),
        (
            "a list whose flag is a word",
            Reply::json(
                200,
                &task_list(&[
                    r#"{"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":"maybe"}"#
                        .to_owned(),
                ]),
            ),
            Some("application/json"),
            "not the JSON this client expects",
        ),
        (
            "binary bytes",
            Reply::answer(
                200,
                &[("Content-Type", "application/octet-stream")],
                &[0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x1b],
            ),
            None,
            "not the JSON this client expects",
        ),
    ];
    let server = Server::start(cases.iter().map(|(_, reply, ..)| reply.clone())).await;
    let client = client(&server.url(), Duration::from_secs(5), RetryPolicy::none());

    for (what, _, content_type, words) in &cases {
        let error = client.tasks().await.expect_err(what);
        let Error::Decode {
            content_type: reported,
            excerpt,
            ..
        } = &error
        else {
            panic!("{what}: expected Decode, got {error:?}");
        };
        assert_eq!(reported.as_deref(), *content_type, "{what}");
        assert!(error.to_string().contains(words), "{what}: {error}");
        assert!(excerpt.chars().count() <= 201, "{what}: {excerpt}");
        assert!(
            !excerpt.chars().any(char::is_control),
            "{what}: {excerpt:?}"
        );
        assert!(!error.is_retryable(), "{what}");
        assert_no_token(&error);
    }
}

#[tokio::test]
async fn a_reset_in_the_middle_of_an_answer_is_a_lost_connection() {
    let mut cut_body = head(200, &[("Content-Type", "application/json")], Some(4000)).into_bytes();
    cut_body.extend_from_slice(br#"{"ButlerTasks":{"ButlerTask":[{"name":"Backup"#);
    let server = Server::start([
        Reply::Reset(cut_body),
        Reply::Reset(b"HTTP/1.1 200 Scripted\r\nContent-Ty".to_vec()),
        Reply::Reset(Vec::new()),
    ])
    .await;
    let client = client(&server.url(), Duration::from_secs(5), RetryPolicy::none());

    for what in ["in the body", "in the head", "before any byte"] {
        let error = client.tasks().await.expect_err(what);
        assert!(
            matches!(error, Error::ConnectionLost { .. }),
            "{what}: {error:?}"
        );
        assert!(error.is_retryable(), "{what}");
        assert!(error.to_string().contains("broke off"), "{what}: {error}");
        assert_no_token(&error);
    }
}

#[tokio::test]
async fn a_server_that_does_not_speak_http_is_a_lost_connection_not_a_panic() {
    let server = Server::start([
        Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
        Reply::Raw(b"HTTP/1.1 999999 Nope\r\n\r\n".to_vec()),
        Reply::Raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03".to_vec()),
    ])
    .await;
    let client = client(&server.url(), Duration::from_secs(5), RetryPolicy::none());
    for what in ["an SSH banner", "an impossible status", "a TLS record"] {
        let error = client.tasks().await.expect_err(what);
        assert!(
            matches!(error, Error::ConnectionLost { .. }),
            "{what}: {error:?}"
        );
        assert_no_token(&error);
    }
}

#[tokio::test]
async fn an_endless_trickling_body_ends_in_a_timeout_not_a_hang() {
    let server = Server::start([Reply::endless(
        "application/json",
        b"[[[[[[[[",
        Duration::from_millis(10),
    )])
    .await;
    let timeout = Duration::from_millis(400);
    let client = client(&server.url(), timeout, RetryPolicy::none());

    let (result, took) = timed(client.tasks()).await;
    let error = result.expect_err("never ends");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_within(took, timeout, "endless body");
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_for_the_blocking_client_too() {
    let server = Server::start([Reply::Silence]).await;
    let url = server.url();
    // A thread of its own: the blocking client refuses to run on a
    // runtime's threads, `spawn_blocking` ones included.
    let (done, outcome) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let client = plex_butler::blocking::Client::builder(url)
            .token(TOKEN)
            .timeout(Duration::from_millis(300))
            .retry(RetryPolicy::none())
            .build()
            .expect("blocking client");
        let started = Instant::now();
        let _ = done.send((client.start_all(), started.elapsed()));
    });
    let (result, took) = outcome.await.expect("the thread reports");
    let error = result.expect_err("silence");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_within(took, Duration::from_millis(300), "blocking start_all");
}

#[test]
fn a_client_times_out_on_every_runtime_it_is_used_on_even_after_the_first_is_gone() {
    // Each attempt's timer belongs to the runtime the attempt runs on, not
    // to the one the client was first used on: a client made and used on
    // one runtime, then used on another after the first has shut down,
    // must still time out.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let server = servers.block_on(Server::start([Reply::Silence, Reply::Silence]));
    let timeout = Duration::from_millis(300);
    let client = client(&server.url(), timeout, RetryPolicy::none());
    // Bounded by the runtime's own timer, so that a deadline that never
    // fires fails the test instead of hanging it.
    let bound = timeout + 2 * MARGIN;
    let times_out_on_a_new_runtime = |which: &str| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (result, took) = runtime
            .block_on(async { tokio::time::timeout(bound, timed(client.tasks())).await })
            .unwrap_or_else(|_| panic!("{which}: the call did not end"));
        assert!(
            matches!(result, Err(Error::Timeout { .. })),
            "{which}: {result:?}"
        );
        assert_within(took, timeout, which);
        // The runtime shuts down here, before the next one starts.
    };
    times_out_on_a_new_runtime("first runtime");
    times_out_on_a_new_runtime("second runtime");
    drop(server);
}

mod redirects {
    //! The token must never travel to another origin.

    use super::*;

    /// A server that redirects every call to `target` with `status`.
    async fn redirecting(status: u16, target: &str, calls: usize) -> Server {
        let reply = Reply::answer(status, &[("Location", target)], b"");
        Server::start(std::iter::repeat_n(reply, calls)).await
    }

    async fn every_call(client: &Client) -> Vec<Result<(), Error>> {
        vec![
            client.tasks().await.map(|_| ()),
            client.start(TaskName::BackupDatabase).await.map(|_| ()),
            client.stop(TaskName::BackupDatabase).await.map(|_| ()),
            client.start_all().await,
            client.stop_all().await,
        ]
    }

    #[tokio::test]
    async fn the_default_client_follows_no_redirect_so_the_token_never_reaches_another_port() {
        let elsewhere = Server::start([]).await;
        for status in [301, 302, 303, 307, 308] {
            let target = format!("{}/butler", elsewhere.url());
            let server = redirecting(status, &target, 5).await;
            let client = client(&server.url(), Duration::from_secs(5), RetryPolicy::none());

            for result in every_call(&client).await {
                let error = result.expect_err("a redirect is an error");
                assert!(
                    matches!(&error, Error::Server { status: s, location: Some(l), .. } if *s == status && *l == target),
                    "{status}: {error:?}"
                );
                assert!(error.to_string().contains(&target), "{error}");
            }
            let asked = server.requests();
            assert_eq!(asked.len(), 5, "{status}");
            assert!(
                asked
                    .iter()
                    .all(|r| r.header("x-plex-token") == Some(TOKEN))
            );
        }
        assert!(
            elsewhere.requests().is_empty(),
            "a request reached the other port: {:?}",
            elsewhere.requests()
        );
    }

    #[tokio::test]
    async fn a_supplied_client_with_redirects_off_keeps_the_token_at_home_too() {
        let elsewhere = Server::start([]).await;
        let server = redirecting(302, &format!("{}/butler", elsewhere.url()), 5).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        let client = Client::builder(server.url())
            .token(TOKEN)
            .http_client(http)
            .retry(RetryPolicy::none())
            .build()
            .expect("client");

        for result in every_call(&client).await {
            assert!(
                matches!(result, Err(Error::Server { status: 302, .. })),
                "{result:?}"
            );
        }
        assert!(elsewhere.requests().is_empty());
    }

    /// Why `ClientBuilder::http_client` warns: reqwest's own redirect
    /// handling drops `Authorization` and cookies on the way to another
    /// origin, but keeps every other header, `X-Plex-Token` included. If
    /// reqwest ever strips it, this fails, and the warning can be eased.
    #[tokio::test]
    async fn a_supplied_client_that_follows_redirects_would_carry_the_token_to_another_port() {
        let elsewhere = Server::start([Reply::json(200, &task_list(&[entry("Elsewhere")]))]).await;
        let server = redirecting(302, &format!("{}/butler", elsewhere.url()), 1).await;
        let client = Client::builder(server.url())
            .token(TOKEN)
            .http_client(reqwest::Client::new())
            .retry(RetryPolicy::none())
            .build()
            .expect("client");

        let tasks = client.tasks().await.expect("followed");
        assert_eq!(tasks[0].name.as_str(), "Elsewhere");
        let there = elsewhere.requests();
        assert_eq!(there.len(), 1);
        assert_eq!(
            there[0].header("x-plex-token"),
            Some(TOKEN),
            "reqwest no longer forwards custom headers across origins"
        );
    }

    /// The policy the docs of `ClientBuilder::http_client` suggest for a
    /// client that must follow redirects: only within the same origin.
    #[tokio::test]
    async fn a_supplied_client_that_follows_only_same_origin_redirects_keeps_the_token_at_home() {
        let elsewhere = Server::start([]).await;
        let same_origin = reqwest::redirect::Policy::custom(|attempt| {
            let first = &attempt.previous()[0];
            let next = attempt.url();
            if next.scheme() == first.scheme()
                && next.host_str() == first.host_str()
                && next.port_or_known_default() == first.port_or_known_default()
            {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder()
            .redirect(same_origin)
            .build()
            .expect("reqwest client");
        let server = Server::start([]).await;
        let home = format!("{}/butler", server.url());
        server.push(Reply::answer(307, &[("Location", &home)], b""));
        server.push(Reply::json(200, &task_list(&[entry("Home")])));
        server.push(Reply::answer(
            302,
            &[("Location", &format!("{}/butler", elsewhere.url()))],
            b"",
        ));
        let client = Client::builder(server.url())
            .token(TOKEN)
            .http_client(http)
            .retry(RetryPolicy::none())
            .build()
            .expect("client");

        let tasks = client.tasks().await.expect("same-origin redirect followed");
        assert_eq!(tasks[0].name.as_str(), "Home");
        let error = client.tasks().await.expect_err("cross-origin refused");
        assert!(
            matches!(error, Error::Server { status: 302, .. }),
            "{error:?}"
        );
        assert!(elsewhere.requests().is_empty());
    }
}
