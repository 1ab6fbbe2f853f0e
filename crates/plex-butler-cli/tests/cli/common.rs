//! What the tests of the binary share: a command with no inherited
//! configuration, and a run that fails the test if the token was printed.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

/// The binary with no inherited configuration: the config directory and
/// home are `home`, colour is off.
pub fn bare_cmd(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("plex-butler").expect("binary is built");
    cmd.env_clear()
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

/// Runs the command off the async runtime (a simulator may run on it), and
/// asserts that `token`, in any case, is nowhere in what it printed.
pub async fn run_without(mut cmd: Command, token: &str) -> Output {
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("the binary runs");
    let printed = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        !printed.to_lowercase().contains(&token.to_lowercase()),
        "the token was printed:\n{printed}"
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}
