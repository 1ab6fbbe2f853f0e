//! Several servers: named profiles in the config file, `--profile` (and
//! `PLEX_BUTLER_PROFILE`), and one command against several or all of them
//! at once, with results per server and the highest exit code.

use std::path::Path;
use std::time::{Duration, Instant};

use plex_butler_sim::{Clock, FaultPlan, ManualClock, Preset, Simulator, SimulatorBuilder};

use crate::common::{self, assert_matches_schema, bare_cmd, code, stderr, stdout};

const TOKEN_A: &str = "profile-a-token-51f0c2";
const TOKEN_B: &str = "profile-b-token-8e2d47";

async fn sim(token: &str) -> Simulator {
    Simulator::builder()
        .token(token)
        .preset(Preset::Pms1_43_2)
        .start()
        .await
        .expect("simulator starts")
}

/// A config with profiles `a` (token file, relative to the config) and
/// `b` (token inline), and `wrong` (b's server, a's token).
fn write_config(home: &Path, a: &Simulator, b: &Simulator) {
    let dir = home.join("plex-butler");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("a.token"), format!("{TOKEN_A}\n")).expect("write");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.a]\nurl = \"{}\"\ntoken_file = \"a.token\"\n\n\
             [servers.b]\nurl = \"{}\"\ntoken = \"{TOKEN_B}\"\n\n\
             [servers.wrong]\nurl = \"{}\"\ntoken = \"{TOKEN_A}\"\n",
            a.url(),
            b.url(),
            b.url()
        ),
    )
    .expect("write");
    for file in [dir.join("a.token"), config] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

async fn run(cmd: assert_cmd::Command) -> std::process::Output {
    let out = common::run_without(cmd, TOKEN_A).await;
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!printed.contains(TOKEN_B), "a token was printed: {printed}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_runs_against_its_own_server_with_its_own_token() {
    let (a, b) = (sim(TOKEN_A).await, sim(TOKEN_B).await);
    let home = tempfile::tempdir().expect("temp dir");
    write_config(home.path(), &a, &b);

    let mut cmd = bare_cmd(home.path());
    cmd.args(["--profile", "a", "start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(a.state().running(), ["BackupDatabase"]);
    assert!(b.state().running().is_empty());

    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_BUTLER_PROFILE", "b")
        .env("PLEX_URL", "http://127.0.0.1:9")
        .args(["start", "OptimizeDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(b.state().running(), ["OptimizeDatabase"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_profiles_run_at_once_with_results_per_server_and_the_highest_exit_code() {
    let (a, b) = (sim(TOKEN_A).await, sim(TOKEN_B).await);
    let home = tempfile::tempdir().expect("temp dir");
    write_config(home.path(), &a, &b);

    let mut cmd = bare_cmd(home.path());
    cmd.args(["--all-profiles", "-o", "json", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 3, "the wrong token's 3: {}", stderr(&out));
    assert_matches_schema(&stdout(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["command"], "servers");
    assert_eq!(doc["exit_code"], 3);
    let servers = doc["servers"].as_array().expect("servers");
    let profiles: Vec<&str> = servers
        .iter()
        .map(|s| s["profile"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(profiles, ["a", "b", "wrong"]);
    for server in &servers[..2] {
        assert_eq!(server["exit_code"], 0, "{server}");
        assert_eq!(
            server["document"]["tasks"].as_array().map(Vec::len),
            Some(23)
        );
    }
    assert_eq!(servers[2]["document"]["error"]["kind"], "unauthorized");
    assert!(stderr(&out).contains("[wrong] "), "{}", stderr(&out));

    let mut cmd = bare_cmd(home.path());
    cmd.args([
        "--profile",
        "a",
        "--profile",
        "b",
        "start",
        "BackupDatabase",
    ]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains(&format!("[a] {}", a.url())), "{said}");
    assert!(said.contains(&format!("[b] {}", b.url())), "{said}");
    assert_eq!(said.matches("BackupDatabase: started").count(), 2, "{said}");
    assert_eq!(a.state().running(), ["BackupDatabase"]);
    assert_eq!(b.state().running(), ["BackupDatabase"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_profile_is_a_usage_error_that_lists_the_known_ones() {
    let (a, b) = (sim(TOKEN_A).await, sim(TOKEN_B).await);
    let home = tempfile::tempdir().expect("temp dir");
    write_config(home.path(), &a, &b);
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--profile", "c", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the profiles are: a, b, wrong"),
        "{}",
        stderr(&out)
    );

    let mut cmd = bare_cmd(home.path());
    cmd.args(["--profile", "a", "--server", a.url(), "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_typed_on_the_command_line_wins_over_an_exported_profile() {
    let (a, b) = (sim(TOKEN_A).await, sim(TOKEN_B).await);
    let home = tempfile::tempdir().expect("temp dir");
    write_config(home.path(), &a, &b);
    let window = |sim: &Simulator| {
        let settings = sim.settings();
        (
            settings["ButlerStartHour"].clone(),
            settings["ButlerEndHour"].clone(),
        )
    };
    let a_before = window(&a);

    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_BUTLER_PROFILE", "a")
        .env("PLEX_TOKEN", TOKEN_B)
        .args(["--server", b.url(), "window", "set", "7-8"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(window(&b), ("7".to_string(), "8".to_string()));
    assert_eq!(
        window(&a),
        a_before,
        "the exported profile's server changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_changes_something_names_the_server_it_changed() {
    let (a, b) = (sim(TOKEN_A).await, sim(TOKEN_B).await);
    let home = tempfile::tempdir().expect("temp dir");
    write_config(home.path(), &a, &b);
    let changes: [&[&str]; 3] = [
        &["window", "set", "7-8"],
        &["disable", "OptimizeDatabase"],
        &["start", "BackupDatabase"],
    ];
    for args in changes {
        let mut cmd = bare_cmd(home.path());
        cmd.args(["--profile", "b"]).args(args);
        let out = run(cmd).await;
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let said = stdout(&out);
        assert!(
            said.starts_with(&format!("server: {}\n", b.url())),
            "{args:?}: {said}"
        );

        let mut cmd = bare_cmd(home.path());
        cmd.args(["--profile", "b", "-o", "json"]).args(args);
        let out = run(cmd).await;
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(doc["server"], b.url(), "{args:?}: {doc}");
        assert_matches_schema(&stdout(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_exported_profile_counts_as_unset() {
    let sim = sim(TOKEN_A).await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_BUTLER_PROFILE", "")
        .env("PLEX_URL", sim.url())
        .env("PLEX_TOKEN", TOKEN_A)
        .args(["start", "BackupDatabase"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(sim.state().running(), ["BackupDatabase"]);
}

/// One server for two profiles, told apart by their tokens: `slow`'s
/// requests are never answered; `quick` gets its task list at once and
/// no answer to a start.
async fn server_by_token() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_lowercase();
                let listing = head.starts_with("get /butler ");
                if head.contains(&format!("x-plex-token: {TOKEN_B}")) && listing {
                    let body = common::ONE_TASK;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    return;
                }
                // No answer: the client's timeout ends the attempt.
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_profiles_of_one_server_timing_out_side_by_side_each_name_their_own_attempts() {
    let url = server_by_token().await;
    let home = tempfile::tempdir().expect("temp dir");
    common::write_config_file(
        home.path(),
        &format!(
            "[servers.slow]\nurl = \"{url}\"\ntoken = \"{TOKEN_A}\"\n\n\
             [servers.quick]\nurl = \"{url}\"\ntoken = \"{TOKEN_B}\"\n"
        ),
    );
    let mut cmd = bare_cmd(home.path());
    cmd.args([
        "--all-profiles",
        "--timeout",
        "300ms",
        "-o",
        "json",
        "start",
        "BackupDatabase",
    ]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let document: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let message = |profile: &str| {
        document["servers"]
            .as_array()
            .and_then(|servers| servers.iter().find(|s| s["profile"] == profile))
            .and_then(|s| s["document"]["error"]["message"].as_str())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    // The list is retried after a timeout; a start is not (the server may
    // have started the task).
    let (slow, quick) = (message("slow"), message("quick"));
    assert!(slow.contains("did not answer within 300 ms"), "{slow}");
    assert!(slow.contains("3 attempts"), "{slow}");
    assert!(quick.contains("did not answer within 300 ms"), "{quick}");
    assert!(quick.contains("1 attempt,"), "{quick}");
    let said = stderr(&out);
    assert!(
        said.contains("[slow] ") && said.contains("3 attempts"),
        "{said}"
    );
    assert!(
        said.contains("[quick] ") && said.contains("1 attempt,"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_names_holding_escape_sequences_are_escaped_in_the_unknown_profile_error() {
    let home = tempfile::tempdir().expect("temp dir");
    common::write_config_file(
        home.path(),
        "[servers.\"x\\u001b]0;pwned\\u0007\\u202ey\"]\nurl = \"http://127.0.0.1:9\"\ntoken = \"t\"\n",
    );
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--profile", "c", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains('\u{1b}'),
        "an escape reached the terminal: {err:?}"
    );
    assert!(
        !err.contains('\u{7}'),
        "a bell reached the terminal: {err:?}"
    );
    assert!(
        !err.contains('\u{202e}'),
        "a bidi override reached the terminal: {err:?}"
    );
    assert!(
        err.contains("the profiles are: x\\u{1b}]0;pwned\\u{7}\\u{202e}y"),
        "{err}"
    );
}

/// The lines of the facade's debug log that say `what` was made.
fn made<'a>(stderr: &'a str, what: &str) -> Vec<&'a str> {
    stderr.lines().filter(|line| line.contains(what)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_profiles_read_the_platforms_certificates_once_and_only_for_https() {
    let sims = [
        sim(TOKEN_A).await,
        sim(TOKEN_A).await,
        sim(TOKEN_A).await,
        sim(TOKEN_A).await,
    ];
    let home = tempfile::tempdir().expect("temp dir");
    let mut text = String::new();
    for (i, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            "[servers.s{i}]\nurl = \"{}\"\ntoken = \"{TOKEN_A}\"\n\n",
            sim.url()
        ));
    }
    common::write_config_file(home.path(), &text);

    // http only: no certificate is read; each server's HTTP client (and
    // pool) is its own, so its connections go when it is done.
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--all-profiles", "-vv", "-o", "json", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(doc["servers"].as_array().map(Vec::len), Some(4));
    let logs = stderr(&out);
    assert!(made(&logs, "TLS setup made").is_empty(), "{logs}");
    let clients = made(&logs, "HTTP client made");
    assert_eq!(clients.len(), 4, "one HTTP client a server: {logs}");
    assert!(
        clients.iter().all(|line| line.contains("tls_roots=false")),
        "{logs}"
    );

    // An https server among them: the platform's roots are loaded, once,
    // and every server's HTTP client is made on that one setup. (Nothing
    // listens there: its run fails, the others do not.)
    text.push_str("[servers.tls]\nurl = \"https://127.0.0.1:1\"\n");
    common::write_config_file(home.path(), &text);
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--all-profiles", "-vv", "-o", "json", "list"]);
    let out = run(cmd).await;
    let logs = stderr(&out);
    assert_eq!(made(&logs, "TLS setup made").len(), 1, "{logs}");
    let clients = made(&logs, "HTTP client made");
    assert_eq!(clients.len(), 5, "{logs}");
    assert!(
        clients
            .iter()
            .all(|line| line.contains("on the shared TLS setup")),
        "no server's client reads the certificates again: {logs}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let codes: Vec<i64> = doc["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| s["exit_code"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(codes, [0, 0, 0, 0, 5], "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_larger_than_the_soft_limit_of_open_files_is_still_asked_whole() {
    // 80 servers, and a soft limit of 40 open files (1,024 is a common
    // default, for fleets of 1,000): the command raises it for itself as
    // far as the hard limit allows, so that every server is asked.
    const SERVERS: usize = 80;
    let mut sims = Vec::with_capacity(SERVERS);
    for _ in 0..SERVERS {
        sims.push(sim(TOKEN_A).await);
    }
    let home = tempfile::tempdir().expect("temp dir");
    let mut text = String::new();
    for (i, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            "[servers.s{i:02}]\nurl = \"{}\"\ntoken = \"{TOKEN_A}\"\n\n",
            sim.url()
        ));
    }
    common::write_config_file(home.path(), &text);
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("the limit of open files");
    assert!(
        hard >= 200,
        "this test needs a hard limit of open files of at least 200, not {hard}"
    );

    let binary = assert_cmd::cargo::cargo_bin("plex-butler");
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.env_clear()
        .env("XDG_CONFIG_HOME", home.path())
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .args(["-c", "ulimit -Sn 40 && exec \"$0\" \"$@\""])
        .arg(binary)
        .args(["--all-profiles", "-o", "json", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let answered = doc["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter(|s| s["exit_code"] == 0)
        .count();
    assert_eq!(answered, SERVERS, "{doc}");
}

/// Simulators `s0`, `s1`, ... (token A), one per builder, and a config
/// naming each as a profile in that order.
async fn fleet(builders: Vec<SimulatorBuilder>) -> (Vec<Simulator>, tempfile::TempDir) {
    let mut sims = Vec::new();
    for builder in builders {
        sims.push(
            builder
                .token(TOKEN_A)
                .preset(Preset::Pms1_43_2)
                .start()
                .await
                .expect("simulator starts"),
        );
    }
    let home = tempfile::tempdir().expect("temp dir");
    let names: Vec<String> = (0..sims.len()).map(|i| format!("s{i}")).collect();
    let profiles: Vec<(&str, &str)> = names
        .iter()
        .zip(&sims)
        .map(|(name, sim)| (name.as_str(), sim.url()))
        .collect();
    common::write_profiles(home.path(), &profiles, TOKEN_A);
    (sims, home)
}

/// A simulator that waits `latency` before each answer.
fn slow(latency: Duration) -> SimulatorBuilder {
    Simulator::builder().faults(FaultPlan::none().latency(latency))
}

/// The profiles of a JSON document's results, in its order.
fn profiles_of(doc: &serde_json::Value) -> Vec<String> {
    doc["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| s["profile"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_bounds_how_many_servers_are_asked_at_once() {
    // s0 takes a second an answer, and `list` asks it twice: with one
    // server at a time, s1 and s2 hear nothing until s0 has had both
    // requests.
    let (sims, home) = fleet(vec![
        slow(Duration::from_secs(1)),
        Simulator::builder(),
        Simulator::builder(),
    ])
    .await;
    let mut list = common::bare_process(home.path());
    list.args(["--jobs", "1", "--all-profiles", "-o", "json", "list"]);
    let list = common::Watched::spawn(list);
    let patience = Instant::now() + Duration::from_secs(30);
    loop {
        // The later servers first: s0's count only grows.
        let later = sims[1].requests() + sims[2].requests();
        let first = sims[0].requests();
        assert!(
            later == 0 || first >= 2,
            "s1 or s2 asked while s0 was still being asked ({first} request(s))"
        );
        if sims[2].requests() > 0 {
            break;
        }
        assert!(Instant::now() < patience, "s2 was never asked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let out = tokio::task::spawn_blocking(move || list.finish(TOKEN_A))
        .await
        .expect("join");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(profiles_of(&doc), ["s0", "s1", "s2"], "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_keep_the_configs_order_whatever_order_the_servers_answer_in() {
    // Asked at once, s0 answers last.
    let (_sims, home) = fleet(vec![
        slow(Duration::from_millis(600)),
        Simulator::builder(),
        Simulator::builder(),
    ])
    .await;
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--jobs", "3", "--all-profiles", "-o", "json", "list"]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(profiles_of(&doc), ["s0", "s1", "s2"], "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_that_is_not_a_count_from_1_to_65535_is_a_usage_error() {
    let home = tempfile::tempdir().expect("temp dir");
    for bad in ["0", "-1", "65536", "many", ""] {
        let mut cmd = bare_cmd(home.path());
        cmd.arg(format!("--jobs={bad}"))
            .args(["--embedded", "list"]);
        let out = run(cmd).await;
        assert_eq!(code(&out), 2, "--jobs={bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("--jobs"), "{}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_waits_on_the_work_asks_every_server_at_once_whatever_jobs_says() {
    // Time stands still on both servers until the test moves it: s0's work
    // never ends by itself, so a turn for s1 after s0 would never come.
    let frozen = || {
        Simulator::builder()
            .clock(ManualClock::at(Clock::system().now()))
            .task_duration(Duration::from_secs(20))
    };
    for words in [
        &["start", "BackupDatabase", "--wait"][..],
        &["run", "BackupDatabase"],
    ] {
        let (sims, home) = fleet(vec![frozen(), frozen()]).await;
        let mut cmd = common::bare_process(home.path());
        cmd.args(["--jobs", "1", "--all-profiles"]).args(words);
        let cmd = common::Watched::spawn(cmd);
        let patience = Instant::now() + Duration::from_secs(30);
        while sims.iter().any(|sim| sim.state().running().is_empty()) {
            assert!(
                Instant::now() < patience,
                "{words:?}: not every server was started: {}",
                cmd.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for sim in &sims {
            sim.clock().advance(Duration::from_secs(60));
        }
        let out = tokio::task::spawn_blocking(move || cmd.finish(TOKEN_A))
            .await
            .expect("join");
        assert_eq!(code(&out), 0, "{words:?}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_whose_turn_had_not_come_when_the_deadline_passed_were_sent_nothing() {
    let (sims, home) = fleet(vec![
        slow(Duration::from_secs(3)),
        Simulator::builder(),
        Simulator::builder(),
    ])
    .await;
    let mut cmd = bare_cmd(home.path());
    cmd.args([
        "--jobs",
        "1",
        "--deadline",
        "1s",
        "--all-profiles",
        "-o",
        "json",
        "list",
    ]);
    let out = run(cmd).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!((sims[1].requests(), sims[2].requests()), (0, 0));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_matches_schema(&stdout(&out));
    let messages: Vec<&str> = doc["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            s["document"]["error"]["message"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    let not_asked = "before this server's turn (see --jobs): nothing was sent to it";
    assert!(!messages[0].contains(not_asked), "{doc}");
    assert!(messages[0].contains("--deadline"), "{doc}");
    for message in &messages[1..] {
        assert!(
            message.contains("--deadline") && message.contains(not_asked),
            "{doc}"
        );
    }
    let err = stderr(&out);
    assert_eq!(err.matches(not_asked).count(), 2, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleets_parts_are_written_as_they_are_done_and_a_signal_completes_the_document() {
    // s0 and s1 answer at once; s2 takes a minute an answer.
    let (_sims, home) = fleet(vec![
        Simulator::builder(),
        Simulator::builder(),
        slow(Duration::from_secs(60)),
    ])
    .await;
    for format in ["json", "table"] {
        let mut cmd = common::bare_process(home.path());
        cmd.args(["--all-profiles", "--timeout", "5m", "-o", format, "list"]);
        let mut run = common::Watched::spawn(cmd);
        // s0's and s1's parts are out while s2 is still being asked.
        let s1 = if format == "json" {
            "\"profile\": \"s1\""
        } else {
            "[s1] "
        };
        run.wait_for_stdout(s1);
        assert!(run.running(), "{format}: the run ended early");
        let so_far = run.stdout();
        assert!(!so_far.contains("s2"), "{format}: s2 is not done: {so_far}");

        // A stop signal still leaves a whole document, s2's part in it.
        let pid = nix::unistd::Pid::from_raw(i32::try_from(run.pid()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let out = tokio::task::spawn_blocking(move || run.finish(TOKEN_A))
            .await
            .expect("join");
        assert_eq!(code(&out), 143, "{format}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.starts_with(&so_far), "{format}: {text}");
        if format == "table" {
            assert!(text.contains("[s2] "), "{text}");
            continue;
        }
        assert_matches_schema(&text);
        let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(profiles_of(&doc), ["s0", "s1", "s2"], "{doc}");
        assert_eq!(doc["exit_code"], 143, "{doc}");
        assert_eq!(
            doc["servers"][2]["document"]["error"]["kind"], "interrupted",
            "{doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleets_output_into_a_full_disk_fails_once_and_into_a_closed_pipe_not_at_all() {
    // s1 answers late: s0's part is written while s1 is still asked.
    let (_sims, home) = fleet(vec![
        Simulator::builder(),
        slow(Duration::from_millis(300)),
        Simulator::builder(),
    ])
    .await;
    let into = |format: &'static str, stdout: std::process::Stdio| {
        let mut cmd = common::bare_process(home.path());
        cmd.args(["--all-profiles", "-o", format, "list"])
            .stdout(stdout)
            .stderr(std::process::Stdio::piped());
        tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
    };
    for format in ["json", "table"] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = into(format, full.into()).await.expect("join");
        assert_eq!(code(&out), 1, "{format}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).matches("cannot write the output").count(),
            1,
            "{format}: {}",
            stderr(&out)
        );

        let (read, write) = std::io::pipe().expect("pipe");
        drop(read);
        let out = into(format, write.into()).await.expect("join");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{format}");
    }
}
