//! Running `cargo xtask` as its users do, on fixtures made for the tests.

// Each test file uses a part of these helpers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a run of the binary printed, and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything printed, for assertion messages.
    pub fn output(&self) -> String {
        format!(
            "exit code {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `xtask` with these arguments, in this crate's directory (inside
/// the workspace).
pub fn xtask<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    xtask_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Runs `xtask` with these arguments with `dir` as the current directory.
pub fn xtask_in<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the xtask binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fixture file or directory, by its path under `tests/fixtures`.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// The workspace's committed spec.
pub fn committed_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/butler.yaml")
}

/// The committed spec as JSON, to derive changed specs from.
pub fn committed_spec_json() -> serde_json::Value {
    let text = std::fs::read_to_string(committed_spec()).expect("the committed spec reads");
    serde_yaml_ng::from_str(&text).expect("the committed spec parses")
}

/// Writes a spec (JSON is YAML) and returns its path.
pub fn write_spec(dir: &TempDir, name: &str, spec: &serde_json::Value) -> PathBuf {
    let path = dir.path(name);
    let text = serde_json::to_string_pretty(spec).expect("serialises");
    std::fs::write(&path, text).expect("the spec writes");
    path
}

/// A fresh directory for one test, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("xtask-test-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    /// Copies `from` into this directory as `name` and returns its path.
    pub fn copy(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.path(name);
        std::fs::copy(from, &to).expect("the fixture copies");
        to
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts that nothing printed looks like a panic.
pub fn assert_no_panic(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
            "{}",
            run.output()
        );
    }
}
