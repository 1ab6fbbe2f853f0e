//! Bad input never panics and never goes where it should not: arbitrary
//! bytes as a task list, arbitrary strings as task names (property tests,
//! with bounded case counts), and hostile requests to the simulator amid
//! real traffic.

use std::time::Duration;

use crate::support::{Reply, Server, TOKEN, entry, task_list};
use plex_butler::{Client, Error, RetryPolicy, StartOutcome, StopOutcome, TaskName};
use plex_butler_sim::{Preset, Simulator};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A runner with `cases` cases that writes no regression files into the
/// repository (a failure prints its minimal input instead).
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A scripted server and a client of it, on a runtime of their own, for
/// property tests that send each case over a real socket.
struct OverHttp {
    runtime: tokio::runtime::Runtime,
    server: Server,
    client: Client,
}

impl OverHttp {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime.block_on(Server::start([]));
        let client = Client::builder(server.url())
            .token(TOKEN)
            .timeout(Duration::from_secs(5))
            .retry(RetryPolicy::none())
            .build()
            .expect("client");
        Self {
            runtime,
            server,
            client,
        }
    }

    /// Serves `body` with 200 as the task list and returns what the facade
    /// made of it.
    fn list(&self, body: &[u8]) -> Result<Vec<plex_butler::Task>, Error> {
        self.server.push(Reply::answer(
            200,
            &[("Content-Type", "application/json")],
            body,
        ));
        self.runtime.block_on(self.client.tasks())
    }
}

/// The task list decodes, or fails as a decode error with a short, escaped
/// excerpt: nothing else.
fn check_list_outcome(result: Result<Vec<plex_butler::Task>, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(tasks) => {
            for task in tasks {
                prop_assert!(!task.name.as_str().trim().is_empty(), "{task:?}");
            }
        }
        Err(Error::Decode { excerpt, .. }) => {
            prop_assert!(excerpt.chars().count() <= 201, "{excerpt}");
            prop_assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
        }
        Err(other) => prop_assert!(false, "not a decode error: {other:?}"),
    }
    Ok(())
}

#[test]
fn arbitrary_bytes_as_a_task_list_decode_or_fail_cleanly() {
    let http = OverHttp::new();
    runner(160)
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |bytes| {
            check_list_outcome(http.list(&bytes))
        })
        .expect("no case failed");
}

/// A JSON value of any of the kinds a server might put in a field.
fn any_json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1e12f64..1e12).prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![Just("0"), Just("1"), Just("true"), Just(" 7 "), Just("-3")]
            .prop_map(serde_json::Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]
}

/// A task entry with each field present or not, of any kind.
fn any_entry() -> impl Strategy<Value = serde_json::Value> {
    (
        proptest::option::of(any_json_value()),
        proptest::option::of(".{0,8}"),
        proptest::option::of(any_json_value()),
        proptest::option::of(any_json_value()),
        proptest::option::of(any_json_value()),
        proptest::option::of(any_json_value()),
    )
        .prop_map(|(name, wire_name, interval, randomized, enabled, title)| {
            let mut entry = serde_json::Map::new();
            if let Some(name) = wire_name.map(serde_json::Value::from).or(name) {
                entry.insert("name".into(), name);
            }
            for (key, value) in [
                ("interval", interval),
                ("scheduleRandomized", randomized),
                ("enabled", enabled),
                ("title", title),
            ] {
                if let Some(value) = value {
                    entry.insert(key.into(), value);
                }
            }
            serde_json::Value::Object(entry)
        })
}

#[test]
fn task_lists_with_fields_of_any_kind_decode_or_fail_cleanly() {
    let http = OverHttp::new();
    let lists = proptest::collection::vec(any_entry(), 0..4).prop_map(|entries| {
        serde_json::json!({ "ButlerTasks": { "ButlerTask": entries } }).to_string()
    });
    runner(160)
        .run(&lists, |list| {
            check_list_outcome(http.list(list.as_bytes()))
        })
        .expect("no case failed");
}

#[test]
fn a_valid_list_with_bytes_changed_or_cut_decodes_or_fails_cleanly() {
    let http = OverHttp::new();
    let valid = task_list(&[
        entry("BackupDatabase"),
        entry("Ünïcödé ☃"),
        entry("a/b?c#d"),
    ]);
    let len = valid.len();
    let edits = (
        proptest::collection::vec((0..len, any::<u8>()), 1..6),
        0..=len,
    );
    runner(96)
        .run(&edits, |(changes, keep)| {
            let mut bytes = valid.clone().into_bytes();
            for (at, byte) in changes {
                bytes[at] = byte;
            }
            bytes.truncate(keep);
            check_list_outcome(http.list(&bytes))
        })
        .expect("no case failed");
}

#[test]
fn task_names_parse_and_display_round_trip_for_any_string() {
    runner(2000)
        .run(&any::<String>(), |input| {
            let trimmed = input.trim();
            match input.parse::<TaskName>() {
                Err(error) => {
                    prop_assert!(trimmed.is_empty(), "{input:?}: {error}");
                    let refused =
                        matches!(Error::from(error.clone()), Error::InvalidTaskName { .. });
                    prop_assert!(refused, "{error:?}");
                }
                Ok(name) => {
                    prop_assert!(!trimmed.is_empty(), "{input:?}");
                    let shown = name.to_string();
                    prop_assert_eq!(shown.as_str(), name.as_str());
                    // As given, or the known name it matches in another case.
                    prop_assert!(
                        shown == trimmed
                            || (name.is_known() && shown.eq_ignore_ascii_case(trimmed)),
                        "{input:?} became {shown:?}"
                    );
                    let again: TaskName = shown.parse().expect("a shown name parses");
                    prop_assert_eq!(&again, &name);
                    prop_assert_eq!(again.to_string(), shown);
                }
            }
            Ok(())
        })
        .expect("no case failed");
}

#[test]
fn known_names_in_any_case_with_any_padding_parse_to_their_variant() {
    let known = proptest::sample::select(TaskName::known().to_vec());
    let cases = (known, any::<u64>(), "[ \t\n]{0,3}", "[ \t\n]{0,3}");
    runner(500)
        .run(&cases, |(name, flips, before, after)| {
            let mixed: String = name
                .as_str()
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if flips >> (i % 64) & 1 == 1 {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            let parsed: TaskName = format!("{before}{mixed}{after}").parse().expect("parses");
            prop_assert_eq!(parsed.as_str(), name.as_str());
            prop_assert!(parsed.is_known());
            Ok(())
        })
        .expect("no case failed");
}

/// Names made of the characters that could break out of a path segment.
fn hostile_name() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("/".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("%".to_owned()),
        Just("%2e".to_owned()),
        Just("%2F".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just(" ".to_owned()),
        Just("\\".to_owned()),
        Just("&X-Plex-Token=".to_owned()),
        Just(";=+@:[]|^`{}<>\"'".to_owned()),
        Just("\t\r\n\u{0}\u{7f}".to_owned()),
        Just("é☃𝄞\u{200b}".to_owned()),
        "[A-Za-z0-9]{1,4}",
        "\\PC{1,3}",
    ];
    prop_oneof![
        3 => proptest::collection::vec(pieces, 1..5).prop_map(|p| p.concat()),
        1 => prop_oneof![
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("...".to_owned()),
            Just(" ".to_owned()),
            Just("a\\b".to_owned()),
        ],
    ]
}

/// Whether the facade refuses `name` by design, before sending.
fn refused_by_design(name: &str) -> bool {
    name.trim().is_empty() || name == "." || name == ".." || name.contains('\\')
}

#[test]
fn any_task_name_travels_as_exactly_one_percent_encoded_segment_or_is_refused() {
    let http = OverHttp::new();
    runner(256)
        .run(&hostile_name(), |name| {
            let sent_before = http.server.requests().len();
            let task = TaskName::Other(name.clone());
            if refused_by_design(&name) {
                let start = http.runtime.block_on(http.client.start(task.clone()));
                let stop = http.runtime.block_on(http.client.stop(task));
                for result in [start.map(|_| ()), stop.map(|_| ())] {
                    let refused = matches!(
                        &result,
                        Err(Error::InvalidTaskName { name: n, .. }) if *n == name
                    );
                    prop_assert!(refused, "{name:?}: {result:?}");
                }
                prop_assert_eq!(http.server.requests().len(), sent_before, "sent");
                return Ok(());
            }

            http.server.push(Reply::answer(200, &[], b""));
            let outcome = http.runtime.block_on(http.client.start(task));
            prop_assert_eq!(outcome.ok(), Some(StartOutcome::Started), "{:?}", name);
            let requests = http.server.requests();
            prop_assert_eq!(requests.len(), sent_before + 1);
            let target = &requests[sent_before].target;
            let segment = target.strip_prefix("/butler/");
            prop_assert!(segment.is_some(), "{name:?} went to {target}");
            let segment = segment.unwrap_or_default();
            prop_assert!(
                !segment.contains(['/', '?', '#']),
                "{name:?} broke out of its segment: {target}"
            );
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map(|d| d.into_owned());
            prop_assert_eq!(decoded.ok(), Some(name.clone()), "{}", target);
            Ok(())
        })
        .expect("no case failed");
}

/// Sends `request` on a fresh connection, closes the sending side, and
/// returns the status of the answer (0 for none) within five seconds.
async fn raw_status(sim: &Simulator, request: &[u8]) -> u16 {
    let Ok(mut stream) = tokio::net::TcpStream::connect(sim.addr()).await else {
        return 0;
    };
    // The server may answer and close before reading all of it.
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Requests a careless or hostile client might send.
fn hostile_requests() -> Vec<Vec<u8>> {
    let with_token = |line: &str, extra: &str| {
        format!("{line}\r\nHost: a\r\nX-Plex-Token: {TOKEN}\r\nConnection: close\r\n{extra}\r\n")
            .into_bytes()
    };
    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    vec![
        with_token("BREW /butler HTTP/1.1", ""),
        with_token("PATCH /butler/BackupDatabase HTTP/1.1", ""),
        with_token("PUT /butler HTTP/1.1", ""),
        with_token("POST /butler/Back%zzup HTTP/1.1", ""),
        with_token("POST /butler/%ff%fe HTTP/1.1", ""),
        with_token("DELETE /butler/Task% HTTP/1.1", ""),
        with_token(&format!("POST /butler/{} HTTP/1.1", "A".repeat(300)), ""),
        with_token(&format!("GET /{} HTTP/1.1", "x/".repeat(1500)), ""),
        with_token(
            "GET /butler HTTP/1.1",
            &format!("X-Big: {}\r\n", "y".repeat(80_000)),
        ),
        with_token("GET /butler HTTP/1.1", &many_headers),
        with_token("POST /butler/%00%0d%0a HTTP/1.1", ""),
        with_token("POST /butler/..%2F..%2Fetc HTTP/1.1", ""),
        with_token("POST /butler/a/b/c HTTP/1.1", ""),
        with_token("GET /butler HTTP/9.9", ""),
        with_token(
            "POST /butler/BackupDatabase HTTP/1.1",
            "Content-Length: nope\r\n",
        ),
        b"\x00\x01\x02garbage\r\n\r\n".to_vec(),
        b"GET /butler HTTP/1.1\r\nHost: a\r\nX-Plex-Tok".to_vec(),
        b"POST /butler HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
    ]
}

#[tokio::test]
async fn the_simulator_holds_request_heads_to_64_kib_exactly() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .start()
        .await
        .expect("simulator starts");
    let head = |padding: usize| {
        let start = format!(
            "GET /butler HTTP/1.1\r\nHost: a\r\nX-Plex-Token: {TOKEN}\r\nConnection: close\r\nX-Big: "
        );
        let size = padding - start.len() - 4;
        format!("{start}{}\r\n\r\n", "y".repeat(size))
    };
    for (size, expected) in [
        (64 * 1024 - 200, 200),
        (64 * 1024 + 200, 431),
        (100 * 1024, 431),
        (300 * 1024, 431),
    ] {
        let status = raw_status(&sim, head(size).as_bytes()).await;
        assert_eq!(status, expected, "a head of {size} bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_answers_hostile_requests_amid_real_traffic_with_4xx_and_stays_consistent() {
    let sim = std::sync::Arc::new(
        Simulator::builder()
            .token(TOKEN)
            .preset(Preset::Pms1_43_2)
            .seed(9)
            .start()
            .await
            .expect("simulator starts"),
    );
    let names: Vec<TaskName> = sim
        .state()
        .tasks
        .iter()
        .map(|t| t.name.parse().expect("a task name"))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for worker in 0..12usize {
        let sim = sim.clone();
        let names = names.clone();
        set.spawn(async move {
            let client = Client::builder(sim.url())
                .token(TOKEN)
                .retry(RetryPolicy::none())
                .build()
                .expect("client");
            for step in 0..25usize {
                let name = names[(worker * 7 + step) % names.len()].clone();
                match step % 3 {
                    0 => {
                        let tasks = client.tasks().await.expect("list");
                        assert_eq!(tasks.len(), 23);
                    }
                    1 => {
                        let outcome = client.start(name).await.expect("start");
                        assert!(matches!(
                            outcome,
                            StartOutcome::Started | StartOutcome::AlreadyRunning
                        ));
                    }
                    _ => {
                        let outcome = client.stop(name).await.expect("stop");
                        assert!(matches!(
                            outcome,
                            StopOutcome::Stopped | StopOutcome::NotRunning
                        ));
                    }
                }
            }
        });
    }
    let requests = std::sync::Arc::new(hostile_requests());
    for worker in 0..8usize {
        let sim = sim.clone();
        let requests = requests.clone();
        set.spawn(async move {
            for i in 0..requests.len() {
                let request = &requests[(worker + i) % requests.len()];
                let status = raw_status(&sim, request).await;
                assert!(
                    status == 0 || (400..500).contains(&status),
                    "{status} for {:?}",
                    String::from_utf8_lossy(&request[..request.len().min(60)])
                );
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("a worker failed");
    }

    let state = sim.state();
    state.check_invariants().expect("invariants hold");
    assert_eq!(state.tasks.len(), 23);
    let client = Client::builder(sim.url())
        .token(TOKEN)
        .build()
        .expect("client");
    assert_eq!(client.tasks().await.expect("still serves").len(), 23);
}
