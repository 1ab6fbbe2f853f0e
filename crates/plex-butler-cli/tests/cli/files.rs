//! The config file is the user's: read, never rewritten, replaced or
//! chmodded, whatever kind of file it is. The client identifier lives in a
//! state file of the tool's own.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use plex_butler_sim::{Preset, Simulator};

use crate::common::{self, bare_cmd, code, file_state, stderr};

const TOKEN: &str = "files-test-token-77d1e0";

async fn sim() -> Simulator {
    Simulator::builder()
        .token(TOKEN)
        .preset(Preset::Pms1_43_2)
        .start()
        .await
        .expect("simulator starts")
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn config_text(sim: &Simulator) -> String {
    format!("# mine\nserver = \"{}\"\ntoken = \"{TOKEN}\"\n", sim.url())
}

async fn list(home: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = bare_cmd(home);
    cmd.args(extra).arg("list");
    common::run_without(cmd, TOKEN).await
}

fn identifier_file(home: &Path) -> std::path::PathBuf {
    home.join(".local/state/plex-butler/client-identifier")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_config_stays_a_link_and_its_target_is_never_rewritten() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let dotfiles = home.path().join("dotfiles/plex-butler.toml");
    std::fs::create_dir_all(dotfiles.parent().expect("dir")).expect("mkdir");
    std::fs::write(&dotfiles, config_text(&sim)).expect("write");
    set_mode(&dotfiles, 0o600);
    let link = home.path().join("plex-butler/config.toml");
    std::fs::create_dir_all(link.parent().expect("dir")).expect("mkdir");
    std::os::unix::fs::symlink(&dotfiles, &link).expect("symlink");
    let before = (file_state(&link), file_state(&dotfiles));
    for _ in 0..2 {
        let out = list(home.path(), &[]).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert_eq!((file_state(&link), file_state(&dotfiles)), before);
    assert!(before.0.is_symlink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_named_by_config_is_refused_and_left_as_it_is() {
    let home = tempfile::tempdir().expect("temp dir");
    let fifo = home.path().join("config.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("mkfifo");
    let before = file_state(&fifo);
    let fifo_arg = fifo.display().to_string();
    let out = list(home.path(), &["--config", &fifo_arg]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(file_state(&fifo), before);
    let meta = std::fs::symlink_metadata(&fifo).expect("still there");
    assert!(meta.file_type().is_fifo());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_null_as_config_means_no_config_and_stays_a_device() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let before = file_state(Path::new("/dev/null"));
    let mut cmd = bare_cmd(home.path());
    cmd.env("PLEX_URL", sim.url())
        .env("PLEX_TOKEN", TOKEN)
        .args(["--config", "/dev/null", "list"]);
    let out = common::run_without(cmd, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(after.file_type().is_char_device());
    assert_eq!(file_state(Path::new("/dev/null")).mode, before.mode);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_config_is_read_and_left_as_it_is() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("plex-butler/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, config_text(&sim)).expect("write");
    set_mode(&config, 0o400);
    let before = file_state(&config);
    let out = list(home.path(), &[]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(file_state(&config), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loose_config_gets_a_warning_naming_chmod_and_keeps_its_mode() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("plex-butler/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, config_text(&sim)).expect("write");
    set_mode(&config, 0o644);
    let before = file_state(&config);
    let out = list(home.path(), &[]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("run: chmod 600 {}", config.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(file_state(&config), before);
    assert_eq!(before.mode & 0o777, 0o644);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_identifier_lives_in_a_private_state_file_created_once() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut kept = Vec::new();
    for _ in 0..2 {
        let mut cmd = bare_cmd(home.path());
        cmd.env("PLEX_URL", sim.url())
            .env("PLEX_TOKEN", TOKEN)
            .arg("list");
        assert_eq!(code(&common::run_without(cmd, TOKEN).await), 0);
        kept.push(std::fs::read_to_string(identifier_file(home.path())).expect("state file"));
    }
    assert_eq!(kept[0], kept[1]);
    assert_eq!(kept[0].trim().len(), 36, "{:?}", kept[0]);
    let mode = std::fs::metadata(identifier_file(home.path()))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        !home.path().join("plex-butler").exists(),
        "no config file was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_runs_at_the_same_moment_keep_one_client_identifier() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut runs = Vec::new();
    for _ in 0..6 {
        let mut cmd = bare_cmd(home.path());
        cmd.env("PLEX_URL", sim.url())
            .env("PLEX_TOKEN", TOKEN)
            .arg("list");
        runs.push(tokio::spawn(common::run_without(cmd, TOKEN)));
    }
    for handle in runs {
        let out = handle.await.expect("join");
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let file = identifier_file(home.path());
    let text = std::fs::read_to_string(&file).expect("state file");
    assert_eq!(text.lines().count(), 1, "{text}");
    let dir = std::fs::read_dir(file.parent().expect("dir")).expect("read dir");
    let names: Vec<String> = dir
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["client-identifier"], "no temporary file is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identifier_in_an_old_config_is_still_used_and_the_config_not_touched() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("plex-butler/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &config,
        format!(
            "{}client_identifier = \"0b7e9c1a-5a4c-4f0e-9d55-3f6f2b1c9a01\"\n",
            config_text(&sim)
        ),
    )
    .expect("write");
    set_mode(&config, 0o600);
    let before = file_state(&config);
    let out = list(home.path(), &[]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(file_state(&config), before);
    assert!(
        !identifier_file(home.path()).exists(),
        "the old identifier serves; no new one is made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_xdg_config_home_is_ignored() {
    let sim = sim().await;
    let home = tempfile::tempdir().expect("temp dir");
    // The relative directory holds a config that would fail the run.
    let relative = home.path().join("rel/plex-butler/config.toml");
    std::fs::create_dir_all(relative.parent().expect("dir")).expect("mkdir");
    std::fs::write(&relative, "server = \"http://127.0.0.1:9\"\n").expect("write");
    let config = home.path().join(".config/plex-butler/config.toml");
    std::fs::create_dir_all(config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&config, config_text(&sim)).expect("write");
    set_mode(&config, 0o600);
    let mut cmd = bare_cmd(home.path());
    cmd.env("XDG_CONFIG_HOME", "rel")
        .current_dir(home.path())
        .arg("list");
    let out = common::run_without(cmd, TOKEN).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_token_file_together_are_refused() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_cmd(home.path());
    cmd.args(["--token", "x", "--token-file", "/nonexistent", "list"]);
    let out = common::run_without(cmd, TOKEN).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_an_endless_device_as_token_file_or_apply_file_is_refused_at_once_naming_it() {
    let home = tempfile::tempdir().expect("temp dir");
    let fifo = home.path().join("named.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let fifo = fifo.display().to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["--token-file", &fifo, "list"], &fifo),
        (&["apply", &fifo], &fifo),
        (&["--token-file", "/dev/zero", "list"], "/dev/zero"),
        (&["apply", "/dev/zero"], "/dev/zero"),
    ];
    for (args, file) in cases {
        let mut cmd = bare_cmd(home.path());
        cmd.env("PLEX_URL", "http://127.0.0.1:9")
            .env("PLEX_TOKEN", TOKEN)
            .args(["--deadline", "2s"])
            .args(args)
            .timeout(std::time::Duration::from_secs(10));
        let started = std::time::Instant::now();
        let out = common::run_without(cmd, TOKEN).await;
        let said = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {said}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert!(said.contains(file), "{args:?}: {said}");
        assert!(said.contains("not a regular file"), "{args:?}: {said}");
    }
}
