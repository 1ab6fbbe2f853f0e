//! The token never shows: not in `Debug` of any type that can hold it, not
//! in any error (each built through a real failure), not in request URLs,
//! not in the repository's golden files (traces: `trace_capture.rs`). The
//! token of these tests is distinctive, so a leak cannot hide.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Reply, Server, TOKEN, assert_no_token, entry, refused_url, shown, task_list};
use plex_butler::{Client, Error, RetryPolicy, TaskName};
use plex_butler_sim::{FaultPlan, Preset, Simulator, Trigger};

fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(2)
        .base_delay(Duration::from_millis(5))
        .without_jitter()
}

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .seed(5)
        .start()
        .await
        .expect("simulator starts")
}

fn client(url: &str) -> Client {
    Client::builder(url)
        .token(TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(quick())
        .build()
        .expect("client")
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "the token shows in {what}:\n{text}");
}

#[test]
fn debug_of_every_public_type_that_can_hold_the_token_hides_it() {
    let builder = Client::builder("http://127.0.0.1:32400").token(TOKEN);
    let client = builder.clone().build().expect("client");
    let blocking_builder = plex_butler::blocking::Client::builder("http://127.0.0.1:32400")
        .token(TOKEN)
        .timeout(Duration::from_secs(1));
    let blocking = blocking_builder.clone().build().expect("blocking client");
    let sim_builder = Simulator::builder()
        .token(TOKEN)
        .faults(FaultPlan::none().status(503, Trigger::Next(1)));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sim = runtime
        .block_on(sim_builder.clone().start())
        .expect("simulator starts");
    assert_eq!(sim.token(), Some(TOKEN), "the simulator holds the token");

    let shown = [
        (
            "ClientBuilder",
            format!("{builder:?}"),
            format!("{builder:#?}"),
        ),
        ("Client", format!("{client:?}"), format!("{client:#?}")),
        (
            "the raw client",
            format!("{:?}", client.raw()),
            format!("{:#?}", client.raw()),
        ),
        (
            "blocking::ClientBuilder",
            format!("{blocking_builder:?}"),
            format!("{blocking_builder:#?}"),
        ),
        (
            "blocking::Client",
            format!("{blocking:?}"),
            format!("{blocking:#?}"),
        ),
        (
            "SimulatorBuilder",
            format!("{sim_builder:?}"),
            format!("{sim_builder:#?}"),
        ),
        ("Simulator", format!("{sim:?}"), format!("{sim:#?}")),
    ];
    for (what, plain, pretty) in shown {
        assert_hidden(what, &plain);
        assert_hidden(what, &pretty);
        assert!(
            plain.contains("redacted") || plain.contains("Sensitive"),
            "{what} does not say the token is hidden: {plain}"
        );
    }
    drop(sim);
}

/// The variant's name, to check that every one was produced.
fn variant(error: &Error) -> &'static str {
    match error {
        Error::InvalidConfig { .. } => "InvalidConfig",
        Error::InvalidTaskName { .. } => "InvalidTaskName",
        Error::Unauthorized { .. } => "Unauthorized",
        Error::UnknownTask { .. } => "UnknownTask",
        Error::Timeout { .. } => "Timeout",
        Error::Connect { .. } => "Connect",
        Error::ConnectionLost { .. } => "ConnectionLost",
        Error::Server { .. } => "Server",
        Error::Decode { .. } => "Decode",
        Error::BlockingInAsyncContext => "BlockingInAsyncContext",
        _ => "a variant this test does not know",
    }
}

#[tokio::test]
async fn every_error_variant_built_through_a_real_failure_hides_the_token() {
    let sim = sim().await;
    let healthy = client(sim.url());
    let mut errors: Vec<Error> = Vec::new();

    for url in [
        format!("http://127.0.0.1:32400/?X-Plex-Token={TOKEN}"),
        format!("http://plex:{TOKEN}@127.0.0.1:32400"),
        format!("http://{TOKEN}:x@127.0.0.1:32400"),
        format!("http://127.0.0.1:32400/#{TOKEN}"),
        format!("{TOKEN}://127.0.0.1:32400"),
        format!("not a url {TOKEN}"),
    ] {
        errors.push(Client::builder(url).build().expect_err("bad URL"));
    }
    for token in [
        format!("{TOKEN}\n"),
        format!("{TOKEN}\0"),
        format!("\r{TOKEN}"),
    ] {
        let error = Client::builder("http://127.0.0.1:32400")
            .token(token)
            .build()
            .expect_err("bad token");
        errors.push(error);
    }
    errors.push(
        healthy
            .start(TaskName::Other("..".into()))
            .await
            .expect_err("refused name"),
    );
    errors.push(
        healthy
            .stop(TaskName::Other("Nope".into()))
            .await
            .expect_err("unknown task"),
    );
    let wrong_sim = Simulator::builder()
        .token("another-token-entirely")
        .start()
        .await
        .expect("simulator starts");
    errors.push(client(wrong_sim.url()).tasks().await.expect_err("401"));
    errors.push(client(&refused_url()).tasks().await.expect_err("refused"));

    for (plan, call) in [
        (
            FaultPlan::none().latency(Duration::from_secs(30)),
            "timeout",
        ),
        (FaultPlan::none().drop_connection(Trigger::Always), "drop"),
        (
            FaultPlan::none()
                .status(503, Trigger::Always)
                .retry_after(Duration::from_secs(0)),
            "503",
        ),
        (FaultPlan::none().garbage_body(Trigger::Always), "garbage"),
    ] {
        sim.set_faults(plan).expect("faults");
        let client = Client::builder(sim.url())
            .token(TOKEN)
            .timeout(Duration::from_millis(200))
            .retry(quick())
            .build()
            .expect("client");
        errors.push(client.tasks().await.expect_err(call));
    }
    let blocking = plex_butler::blocking::Client::builder(sim.url())
        .token(TOKEN)
        .build()
        .expect("blocking client");
    errors.push(blocking.tasks().expect_err("inside a runtime"));

    let produced: BTreeSet<&str> = errors.iter().map(variant).collect();
    let expected: BTreeSet<&str> = [
        "InvalidConfig",
        "InvalidTaskName",
        "Unauthorized",
        "UnknownTask",
        "Timeout",
        "Connect",
        "ConnectionLost",
        "Server",
        "Decode",
        "BlockingInAsyncContext",
    ]
    .into();
    assert_eq!(produced, expected);
    for error in &errors {
        assert_no_token(error);
    }
}

/// A proxy's debug page, a login redirect or a test endpoint may echo the
/// request back: the token must not come back out through the error.
#[tokio::test]
async fn an_answer_that_echoes_the_token_does_not_make_it_show_in_the_error() {
    let echo = format!("X-Plex-Token: {TOKEN}");
    // The token where the excerpt is cut, so only its start would show.
    let at_the_cut = format!("{}{TOKEN}", "x".repeat(190));
    let replies = [
        Reply::answer(500, &[("Content-Type", "text/plain")], echo.as_bytes()),
        Reply::answer(
            400,
            &[("Content-Type", "text/plain")],
            at_the_cut.as_bytes(),
        ),
        Reply::json(
            401,
            &format!(r#"{{"errors":[{{"code":1001,"message":"bad token {TOKEN}"}}]}}"#),
        ),
        Reply::answer(
            403,
            &[("Content-Type", "text/html")],
            format!("<html><head><title>Denied {TOKEN}</title></head></html>").as_bytes(),
        ),
        Reply::answer(
            302,
            &[(
                "Location",
                &format!("http://127.0.0.1:1/login?X-Plex-Token={TOKEN}"),
            )],
            b"",
        ),
        Reply::answer(200, &[("Content-Type", "text/html")], echo.as_bytes()),
        Reply::answer(200, &[], at_the_cut.as_bytes()),
        Reply::json(
            200,
            &task_list(&[format!(
                r#"{{"name":"{TOKEN}","interval":3,"scheduleRandomized":false,"enabled":"{TOKEN}"}}"#
            )]),
        ),
        Reply::answer(204, &[], b""),
    ];
    let count = replies.len();
    let server = Server::start(replies).await;
    let client = Client::builder(server.url())
        .token(TOKEN)
        .retry(RetryPolicy::none())
        .build()
        .expect("client");

    for i in 0..count {
        let error = client.tasks().await.expect_err("a failure");
        let text = shown(&error);
        assert!(
            !text.contains(TOKEN),
            "answer {i}: the token shows in:\n{text}"
        );
        assert!(
            !text.contains(&TOKEN[..8]),
            "answer {i}: the token's start shows in:\n{text}"
        );
    }
}

#[tokio::test]
async fn request_lines_never_carry_the_token_even_for_odd_names_and_retries() {
    let replies = [
        Reply::json(200, &task_list(&[entry("BackupDatabase")])),
        Reply::answer(503, &[("Retry-After", "0")], b""),
        Reply::answer(200, &[], b""),
        Reply::answer(200, &[], b""),
        Reply::answer(200, &[], b""),
        Reply::answer(200, &[], b""),
        Reply::answer(404, &[], b""),
        Reply::json(200, &task_list(&[entry("a?b=c&X-Plex-Token=")])),
    ];
    let server = Server::start(replies).await;
    let client = client(&server.url());
    client.tasks().await.expect("list");
    client.start(TaskName::BackupDatabase).await.expect("start");
    client.stop(TaskName::BackupDatabase).await.expect("stop");
    client.start_all().await.expect("start all");
    client.stop_all().await.expect("stop all");
    client
        .stop(TaskName::Other("a?b=c&X-Plex-Token=".into()))
        .await
        .expect("not running");

    let requests = server.requests();
    assert_eq!(requests.len(), 8);
    for request in &requests {
        assert_hidden("a request line", &request.line);
        assert!(!request.target.contains('?'), "a query: {}", request.line);
        assert_eq!(
            request.header("x-plex-token"),
            Some(TOKEN),
            "{}",
            request.line
        );
    }
}

/// The repository's root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Every file under `dir`, skipping build output and version control.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The string literals that test code passes as tokens.
fn tokens_used_by_tests(files: &[PathBuf]) -> BTreeSet<String> {
    const MARKERS: [&str; 4] = [
        "TOKEN: &str = \"",
        ".token(\"",
        "\"PLEX_TOKEN\", \"",
        "\"--token\", \"",
    ];
    let mut tokens = BTreeSet::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for marker in MARKERS {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                if let Some(end) = rest.find('"') {
                    let token = &rest[..end];
                    // Short words ("", "secret", "wrong") are too common to
                    // mean anything in a golden file.
                    if token.len() >= 8 && !token.contains('{') {
                        tokens.insert(token.to_owned());
                    }
                }
            }
        }
    }
    tokens
}

/// Golden and snapshot files, and the recorded real answers.
fn is_snapshot(path: &Path) -> bool {
    let in_dir = |names: &[&str]| {
        path.components()
            .any(|c| names.iter().any(|n| c.as_os_str() == *n))
    };
    in_dir(&["golden", "goldens", "snapshots", "fixtures"])
        || path
            .extension()
            .is_some_and(|e| e == "snap" || e == "golden")
}

#[test]
fn no_golden_or_snapshot_file_holds_a_token_the_tests_use() {
    let mut files = Vec::new();
    files_under(&repo_root(), &mut files);
    let tokens = tokens_used_by_tests(&files);
    for known in [TOKEN, "cli-test-token-5f2b9c", "facade-sim-token-81c4"] {
        assert!(tokens.contains(known), "{known} was not found: {tokens:?}");
    }

    let snapshots: Vec<&PathBuf> = files.iter().filter(|f| is_snapshot(f)).collect();
    assert!(
        snapshots.iter().any(|f| f.ends_with("golden/list.txt")),
        "the CLI's golden files were not found: {snapshots:?}"
    );
    for file in snapshots {
        let bytes = std::fs::read(file).expect("readable");
        let text = String::from_utf8_lossy(&bytes);
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "{} holds the token {token:?}",
                file.display()
            );
        }
        // A recorded answer of a real server must hold no real token either.
        for attribute in ["authenticationToken=\"", "accessToken=\"", "X-Plex-Token="] {
            if let Some(at) = text.find(attribute) {
                let value = &text[at + attribute.len()..];
                assert!(
                    value.starts_with('"') || value.starts_with('<') || value.is_empty(),
                    "{} holds a token value after {attribute}",
                    file.display()
                );
            }
        }
    }
}
