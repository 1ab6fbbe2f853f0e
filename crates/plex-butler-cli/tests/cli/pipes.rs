//! A closed or full standard output: no panic anywhere, one rule for a
//! closed pipe (the rest of the output is dropped, the exit code is the one
//! the command earned), and a full disk is an error that says so.

use std::process::{Command, Output, Stdio};

use plex_butler_sim::{Preset, Simulator};

use crate::common::{code, stderr};

const TOKEN: &str = "pipes-test-token-1c9e44";

/// Runs the binary with a standard output whose reader is already gone:
/// every write fails with a broken pipe, whatever the timing.
async fn into_closed_pipe(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        drop(read);
        let home = tempfile::tempdir().expect("temp dir");
        Command::new(assert_cmd::cargo::cargo_bin("plex-butler"))
            .env_clear()
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("NO_COLOR", "1")
            .env("PLEX_TOKEN", TOKEN)
            .args(args)
            .stdout(Stdio::from(write))
            .stderr(Stdio::piped())
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("join")
}

async fn into_full_disk(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let home = tempfile::tempdir().expect("temp dir");
        Command::new(assert_cmd::cargo::cargo_bin("plex-butler"))
            .env_clear()
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("NO_COLOR", "1")
            .args(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("join")
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_into_a_closed_pipe_end_quietly_with_success() {
    for shell in ["bash", "zsh", "fish"] {
        let out = into_closed_pipe(args(&["completions", shell])).await;
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{shell}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_keeps_its_own_exit_code_on_a_closed_pipe() {
    let sim = Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .start()
        .await
        .expect("simulator starts");
    let server = sim.url().to_string();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["list"], 0),
        (vec!["-o", "json", "list"], 0),
        (vec!["schema"], 0),
        (vec!["--help"], 0),
        (vec!["start", "BackupDatabase"], 0),
        (vec!["-o", "json", "start", "OptimizeDatabase"], 0),
        (vec!["-o", "json", "stop", "NoSuchTask"], 4),
        (vec!["stop", "NoSuchTask"], 4),
    ];
    for (words, expected) in cases {
        let mut all = args(&["--server", &server]);
        all.extend(args(&words));
        let out = into_closed_pipe(all).await;
        assert_eq!(code(&out), expected, "{words:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("cannot write") && !stderr(&out).contains("panicked"),
            "{words:?}: {}",
            stderr(&out)
        );
    }
    // The starts went through, although nobody read about them.
    let state = sim.state();
    let running = state.running();
    assert!(running.contains(&"BackupDatabase"), "{running:?}");
    assert!(running.contains(&"OptimizeDatabase"), "{running:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_standard_output_is_an_error_that_says_so_not_a_panic() {
    for words in [
        vec!["completions", "bash"],
        vec!["schema"],
        vec!["--embedded", "list"],
    ] {
        let out = into_full_disk(args(&words)).await;
        assert_eq!(code(&out), 1, "{words:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write the output"),
            "{words:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}
