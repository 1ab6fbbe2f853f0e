//! Several servers: named profiles in the config file, `--profile` (and
//! `PLEX_BUTLER_PROFILE`), and one command against several or all of them
//! at once, with results per server and the highest exit code.

use std::path::Path;

use plex_butler_sim::{Preset, Simulator};

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
