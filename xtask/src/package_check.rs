//! `cargo xtask package-check`: the crates as users get them from a
//! registry. Packages the four published crates (`cargo package` builds each
//! `.crate` on its own, the dependents against the packages of their
//! dependencies), checks what the packages hold, then builds and runs a
//! scratch consumer crate that depends on the unpacked `plex-butler`
//! package by path, as a user's crate would depend on it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::Failure;
use crate::workspace;

/// The published crates, dependencies first.
const CRATES: &[&str] = &[
    "plex-butler-raw",
    "plex-butler",
    "plex-butler-sim",
    "plex-butler-cli",
];

/// Files every package carries, with the workspace file each must equal.
const SHARED_FILES: &[(&str, &str)] = &[("LICENSE", "LICENSE"), ("NOTICE", "NOTICE")];

/// The consumer's program: the facade's everyday calls, against the
/// packaged simulator.
const CONSUMER_MAIN: &str = r#"//! Uses the packaged facade as a user's program would.

use std::process::ExitCode;
use std::time::Duration;

use plex_butler::{Client, StartOutcome, TaskName};
use plex_butler_sim::Simulator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let sim = Simulator::builder()
        .token("package-check")
        .task_duration(Duration::from_secs(3600))
        .start()
        .await
        .map_err(|e| format!("the simulator does not start: {e}"))?;
    let client = Client::builder(sim.url())
        .token("package-check")
        .build()
        .map_err(|e| e.to_string())?;
    let tasks = client.tasks().await.map_err(|e| e.to_string())?;
    if tasks.is_empty() {
        return Err("the simulator lists no task".into());
    }
    let outcome = client
        .start(TaskName::BackupDatabase)
        .await
        .map_err(|e| e.to_string())?;
    if outcome != StartOutcome::Started {
        return Err(format!("BackupDatabase: {outcome}, not started"));
    }
    // The blocking client, from a thread without a runtime.
    let url = sim.url().to_owned();
    let blocking = std::thread::spawn(move || {
        plex_butler::blocking::Client::builder(url)
            .token("package-check")
            .build()?
            .start(TaskName::BackupDatabase)
    });
    // Wait for it without blocking this runtime, which serves the simulator.
    let again = tokio::task::spawn_blocking(move || blocking.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "the blocking client's thread panicked".to_string())?
        .map_err(|e| e.to_string())?;
    if again != StartOutcome::AlreadyRunning {
        return Err(format!("BackupDatabase again: {again}, not already running"));
    }
    sim.shutdown().await;
    println!(
        "the packaged facade listed {} tasks, started a backup and saw it running",
        tasks.len()
    );
    Ok(())
}
"#;

/// Removes what earlier runs unpacked of these crates' packages into
/// Cargo's registry sources. `cargo package` builds each dependent against
/// its dependencies' packages through a registry of its own, unpacked
/// under `$CARGO_HOME/registry/src`, and Cargo does not unpack a version
/// again that it finds there: a run after the spec changed built the
/// facade against the raw crate as an earlier run had packaged it.
fn forget_unpacked_packages(version: &str) -> Result<(), Failure> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let Some(sources) = cargo_home.map(|home| home.join("registry").join("src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        for name in CRATES {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if unpacked.is_dir() {
                std::fs::remove_dir_all(&unpacked).map_err(|e| {
                    Failure(format!(
                        "cannot remove the earlier unpacked package {}: {e}",
                        unpacked.display()
                    ))
                })?;
            }
        }
    }
    Ok(())
}

pub fn run() -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let root = workspace::root();
    // The workspace's own, so that the packages' dependencies are built
    // once for the workspace and the check.
    let target_dir = workspace::target_dir();
    let cargo = workspace::cargo();

    let version = crate_version(&root)?;
    forget_unpacked_packages(&version)?;
    println!("== cargo package {}", CRATES.join(" "));
    let mut package = Command::new(&cargo);
    package.current_dir(&root).arg("package");
    for name in CRATES {
        package.args(["--package", name]);
    }
    // The working tree as it is: a developer checks before committing.
    package.arg("--allow-dirty");
    package.arg("--target-dir").arg(&target_dir);
    run_step(&mut package, "cargo package")?;
    let packaged = Instant::now();

    println!("== the packages' contents");
    let unpacked = |name: &str| target_dir.join("package").join(format!("{name}-{version}"));
    for name in CRATES {
        let dir = unpacked(name);
        if !dir.is_dir() {
            return Err(Failure(format!(
                "cargo package left no unpacked {}",
                dir.display()
            )));
        }
        for (in_package, in_workspace) in SHARED_FILES {
            same_file(&dir.join(in_package), &root.join(in_workspace), name)?;
        }
    }
    same_file(
        &unpacked("plex-butler-raw").join("butler.yaml"),
        &root.join(workspace::SPEC),
        "plex-butler-raw",
    )?;
    println!("each package holds LICENSE and NOTICE; plex-butler-raw holds the spec");

    println!("== a consumer crate of the unpacked plex-butler");
    let consumer = Consumer::create(&root, &unpacked)?;
    let mut run_consumer = Command::new(&cargo);
    run_consumer
        .current_dir(consumer.path())
        .args(["run", "--quiet"])
        .arg("--target-dir")
        .arg(&target_dir);
    let result = run_step(&mut run_consumer, "the consumer crate");
    drop(consumer);
    result?;

    let now = Instant::now();
    println!(
        "package-check passed in {:.0?} (packaging and verifying {:.0?}, the consumer {:.0?})",
        now - started,
        packaged - started,
        now - packaged
    );
    Ok(ExitCode::SUCCESS)
}

/// The crates' version: the workspace's `[workspace.package] version`.
fn crate_version(root: &Path) -> Result<String, Failure> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| Failure(format!("cannot read Cargo.toml: {e}")))?;
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
            continue;
        }
        if in_package
            && let Some(value) = line.strip_prefix("version")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            return Ok(value.trim().trim_matches('"').to_string());
        }
    }
    Err(Failure(
        "Cargo.toml has no `version` in [workspace.package]".into(),
    ))
}

fn same_file(packaged: &Path, original: &Path, package: &str) -> Result<(), Failure> {
    let name = packaged
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let packaged_bytes = std::fs::read(packaged)
        .map_err(|e| Failure(format!("the package {package} has no readable {name}: {e}")))?;
    let original_bytes = std::fs::read(original)
        .map_err(|e| Failure(format!("cannot read {}: {e}", original.display())))?;
    if packaged_bytes != original_bytes {
        return Err(Failure(format!(
            "{name} in the package {package} differs from {} (is it still a \
             symbolic link to it?)",
            original.display()
        )));
    }
    Ok(())
}

fn run_step(command: &mut Command, what: &str) -> Result<(), Failure> {
    let status = command
        .status()
        .map_err(|e| Failure(format!("cannot run {what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "{what} failed ({status}); its errors are above"
        )))
    }
}

/// A crate in a fresh temporary directory that depends on the unpacked
/// packages; removed when dropped.
struct Consumer(PathBuf);

impl Consumer {
    fn create(root: &Path, unpacked: &dyn Fn(&str) -> PathBuf) -> Result<Self, Failure> {
        let dir =
            std::env::temp_dir().join(format!("plex-butler-package-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let consumer = Consumer(dir);
        let write = |relative: &str, text: &str| {
            let path = consumer.0.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Failure(format!("cannot create {}: {e}", parent.display())))?;
            }
            std::fs::write(&path, text)
                .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
        };
        let mut manifest = String::from(
            "[package]\n\
             name = \"package-check-consumer\"\n\
             version = \"0.0.0\"\n\
             edition = \"2024\"\n\
             publish = false\n\n\
             # Its own workspace, wherever the directory is.\n\
             [workspace]\n\n\
             [dependencies]\n",
        );
        let path_of = |name: &str| toml_string(&unpacked(name));
        let _ = writeln!(
            manifest,
            "plex-butler = {{ path = {}, features = [\"blocking\"] }}",
            path_of("plex-butler")
        );
        let _ = writeln!(
            manifest,
            "plex-butler-sim = {{ path = {} }}",
            path_of("plex-butler-sim")
        );
        manifest.push_str("tokio = { version = \"1\", features = [\"macros\", \"rt\"] }\n\n");
        // The packaged facade depends on plex-butler-raw from the registry;
        // the patch points that at the unpacked package instead.
        manifest.push_str("[patch.crates-io]\n");
        let _ = writeln!(
            manifest,
            "plex-butler-raw = {{ path = {} }}",
            path_of("plex-butler-raw")
        );
        write("Cargo.toml", &manifest)?;
        write("src/main.rs", CONSUMER_MAIN)?;
        // The workspace's lock file, so that the consumer builds with the
        // dependency versions the workspace was tested with (and reuses
        // their build); Cargo drops what the consumer does not use.
        let lock = std::fs::read_to_string(root.join("Cargo.lock"))
            .map_err(|e| Failure(format!("cannot read Cargo.lock: {e}")))?;
        write("Cargo.lock", &lock)?;
        Ok(consumer)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
