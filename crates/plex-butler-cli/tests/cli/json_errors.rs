//! With `-o json`, every run prints one document on stdout, errors
//! included (kind, message, exit code, and what was done before), while
//! stderr keeps the words; and the error messages tell the truth about
//! time limits, names that do not resolve, redirects and servers without
//! activities.

use std::process::Output;

use plex_butler_sim::{FaultPlan, Preset, Simulator};

use crate::common::{self, Scripted, assert_matches_schema, bare_cmd, code, stderr, stdout};

const TOKEN: &str = "json-test-token-90ab3f";

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .start()
        .await
        .expect("simulator starts")
}

async fn run(home: &std::path::Path, words: &[&str]) -> Output {
    let mut cmd = bare_cmd(home);
    cmd.env("PLEX_TOKEN", TOKEN).args(words);
    common::run_without(cmd, TOKEN).await
}

/// The document printed, checked against the schema.
fn document(out: &Output) -> serde_json::Value {
    assert_matches_schema(&stdout(out));
    serde_json::from_str(&stdout(out)).expect("one JSON document")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_errors_are_documents_on_stdout_with_kind_message_and_exit_code() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let dead = format!("http://{free}");
    let cases: Vec<(Vec<&str>, &str, i32)> = vec![
        (
            vec!["--server", sim.url(), "-o", "json", "stop", "NoSuchTask"],
            "unknown_task",
            4,
        ),
        (
            vec!["--server", &dead, "-o", "json", "list"],
            "unreachable",
            5,
        ),
        (
            vec!["--token-file", "/nonexistent/token", "-o", "json", "list"],
            "config",
            2,
        ),
        (vec!["-o", "json", "--no-such-flag", "list"], "usage", 2),
        (
            vec!["--server", sim.url(), "-o", "json", "start-all"],
            "usage",
            2,
        ),
    ];
    for (words, kind, exit_code) in cases {
        let out = run(home.path(), &words).await;
        assert_eq!(code(&out), exit_code, "{words:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).is_empty(),
            "{words:?}: stderr keeps the words"
        );
        let doc = document(&out);
        assert_eq!(doc["error"]["kind"], kind, "{words:?}: {doc}");
        assert_eq!(doc["error"]["exit_code"], exit_code, "{words:?}");
        assert!(
            doc["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_on_a_server_without_activities_says_the_task_started_and_goes_on() {
    let server = Scripted::start(|method, path| match (method, path) {
        ("GET", "/butler") => (200, vec![], common::ONE_TASK.to_string()),
        ("POST", "/butler/BackupDatabase") => (200, vec![], String::new()),
        _ => (404, vec![], String::new()),
    });
    let home = tempfile::tempdir().expect("temp dir");
    let url = server.url();
    let out = run(
        home.path(),
        &[
            "--server",
            &url,
            "-o",
            "json",
            "start",
            "BackupDatabase",
            "--wait",
        ],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("BackupDatabase started"), "{said}");
    assert!(said.contains("does not list its activities"), "{said}");
    assert!(!said.contains("is this a Plex Media Server"), "{said}");
    let doc = document(&out);
    assert_eq!(doc["results"][0]["outcome"], "started", "{doc}");
    assert_eq!(doc["error"]["kind"], "server", "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_advice_names_the_base_url_not_the_api_path() {
    let server = Scripted::start(|_, _| {
        (
            301,
            vec![("Location", "http://192.0.2.7:32400/butler".to_string())],
            String::new(),
        )
    });
    let home = tempfile::tempdir().expect("temp dir");
    let url = server.url();
    let out = run(home.path(), &["--server", &url, "list"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("use http://192.0.2.7:32400 as the server's base URL"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_is_called_a_dns_failure() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(
        home.path(),
        &[
            "--server",
            "http://plex-butler-test.invalid:32400",
            "--timeout",
            "5s",
            "list",
        ],
    )
    .await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not resolve"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("is the server running"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_states_the_limit_per_answer_the_attempts_and_the_time_in_all() {
    let sim = sim().await;
    sim.set_faults(FaultPlan::none().latency(std::time::Duration::from_secs(30)))
        .expect("faults set");
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(
        home.path(),
        &[
            "--server",
            sim.url(),
            "--timeout",
            "300ms",
            "-o",
            "json",
            "list",
        ],
    )
    .await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("within 300 ms (--timeout, for each answer)"),
        "{said}"
    );
    assert!(said.contains("3 attempts"), "{said}");
    assert!(said.contains("in all"), "{said}");
    assert_eq!(document(&out)["error"]["kind"], "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_bounds_the_whole_command_and_says_what_was_done() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .clock(plex_butler_sim::ManualClock::at(
            plex_butler_sim::Clock::system().now(),
        ))
        .start()
        .await
        .expect("simulator starts");
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(
        home.path(),
        &[
            "--server",
            sim.url(),
            "--deadline",
            "1500ms",
            "-o",
            "json",
            "start",
            "BackupDatabase",
            "--wait",
        ],
    )
    .await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the --deadline of 1.5 s passed"),
        "{}",
        stderr(&out)
    );
    let doc = document(&out);
    assert_eq!(doc["error"]["kind"], "deadline", "{doc}");
    assert_eq!(doc["results"][0]["outcome"], "started", "{doc}");
    assert_eq!(doc["wait"]["done"], false, "{doc}");
    assert_eq!(
        sim.state().running(),
        ["BackupDatabase"],
        "the work goes on"
    );
}
