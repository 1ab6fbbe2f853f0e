//! Generates the raw client from the Butler OpenAPI spec on every build that
//! sees the spec change. Nothing generated is committed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[path = "codegen.rs"]
mod codegen;

fn main() -> ExitCode {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let spec_path = spec_path(&manifest_dir);
    println!("cargo::rerun-if-changed={}", spec_path.display());
    println!("cargo::rerun-if-changed=codegen.rs");

    let shown = "openapi/butler.yaml";
    let text = match std::fs::read_to_string(&spec_path) {
        Ok(text) => text,
        Err(e) => return fail(&format!("cannot read the spec {shown}: {e}")),
    };
    let code = match codegen::generate(&text) {
        Ok(code) => code,
        Err(e) => {
            return fail(&format!(
                "the spec {shown} cannot be turned into a client: {e}"
            ));
        }
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("butler.rs");
    if let Err(e) = std::fs::write(&out, code) {
        return fail(&format!("cannot write {}: {e}", out.display()));
    }
    ExitCode::SUCCESS
}

/// The workspace's `openapi/butler.yaml`, the one source of truth.
fn spec_path(manifest_dir: &Path) -> PathBuf {
    manifest_dir.join("../../openapi/butler.yaml")
}

fn fail(message: &str) -> ExitCode {
    println!("cargo::error={message}");
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
