//! `cargo xtask public-api`: the facade's public API, compared with (or
//! written to) the committed snapshot `crates/plex-butler/public-api.txt`.
//!
//! How the API is extracted, and why: the snapshot is made by `public-api`,
//! the library behind `cargo public-api` (a maintained tool), from rustdoc's
//! JSON description of the crate. That is the compiler's own view of the
//! API: macro-generated items (the `TaskName` variants, which come from the
//! spec's `KnownTaskName`), re-exports, trait impls (derived ones too) and
//! the auto traits (`Send`, `Sync`, ...) that decide where a type can go.
//! A source-level reading (with `syn`) would miss the last two and have to
//! re-implement macro expansion and name resolution.
//!
//! rustdoc writes JSON only with `-Z unstable-options`, a nightly flag. This
//! project builds with stable Rust only, so the one `cargo rustdoc` run here
//! sets `RUSTC_BOOTSTRAP=1`, which lets the stable rustdoc accept the flag
//! (as `cargo semver-checks` does). It stays inside this developer tool: no
//! shipped crate is built that way, and the run uses a target directory of
//! its own (`target/public-api`), so the workspace's build cache is never
//! touched by it. The JSON format changes between Rust releases: the
//! `public-api` version in the workspace's `Cargo.toml` reads the format of
//! the toolchain CI uses (Rust 1.95, format 57); after a toolchain upgrade,
//! update both together and regenerate the snapshot.
//!
//! `TaskName`'s known variants stand as one line: they come from the spec's
//! `KnownTaskName`, which `spec check` holds (it never loses a name), so a
//! name added to the spec changes no line here and needs no edit.
//!
//! What the snapshot leaves out: blanket impls (`impl<T> From<T> for T` and
//! the like, the same for every type) and the unstable auto traits
//! (`Freeze`, `UnsafeUnpin`), which stable code cannot name and which come
//! and go between toolchains.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::Failure;
use crate::workspace::{self, Location};

/// The committed snapshot, relative to the workspace root.
pub const SNAPSHOT: &str = "crates/plex-butler/public-api.txt";

/// The facade's features whose API the snapshot covers: every feature that
/// adds API (the TLS features add none).
const FEATURES: &str = "blocking";

/// Auto traits that stable Rust cannot name: their impls are left out.
const UNSTABLE_AUTO_TRAITS: &[&str] = &["core::marker::Freeze", "core::marker::UnsafeUnpin"];

const HEADER: &str = "\
# The public API of the plex-butler crate (features: default, blocking), one
# item per line, as `cargo public-api` prints it. A change here is a change
# users see: review it next to the spec diff.
#
# Do not edit: regenerate with `cargo xtask public-api --update`.
";

/// Compares the facade's public API with `snapshot`, or writes it there
/// with `update`.
pub fn run(snapshot: Option<PathBuf>, update: bool) -> Result<ExitCode, Failure> {
    let Location {
        path: snapshot,
        shown,
    } = workspace::input_or_default(snapshot, SNAPSHOT);
    let current = render(&rustdoc_json()?)?;
    if update {
        std::fs::write(&snapshot, &current)
            .map_err(|e| Failure(format!("cannot write {shown}: {e}")))?;
        println!("wrote the public API of plex-butler to {shown}");
        return Ok(ExitCode::SUCCESS);
    }
    let committed = match std::fs::read_to_string(&snapshot) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Failure(format!("cannot read {shown}: {e}"))),
    };
    if committed == current {
        println!("the public API of plex-butler is the one in {shown}");
        return Ok(ExitCode::SUCCESS);
    }
    let diff = similar::TextDiff::from_lines(&committed, &current);
    print!(
        "{}",
        diff.unified_diff()
            .context_radius(2)
            .header(&format!("{shown} (committed)"), "plex-butler (now)")
    );
    eprintln!(
        "error: the public API of plex-butler differs from {shown} (above: `-` is \
         in the snapshot only, `+` in the code only). If the change is meant, \
         run `cargo xtask public-api --update` and commit {shown} with it."
    );
    Ok(ExitCode::FAILURE)
}

/// Runs rustdoc on the facade and returns the path of its JSON output.
fn rustdoc_json() -> Result<PathBuf, Failure> {
    let root = workspace::root();
    let target_dir = workspace::target_dir().join("public-api");
    let cargo = workspace::cargo();
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["rustdoc", "--quiet", "--package", "plex-butler", "--lib"])
        .args(["--features", FEATURES])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        // See the module's documentation.
        .env("RUSTC_BOOTSTRAP", "1")
        .status()
        .map_err(|e| Failure(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(Failure(
            "rustdoc could not describe plex-butler as JSON (its errors are above)".into(),
        ));
    }
    let json = target_dir.join("doc").join("plex_butler.json");
    if !json.is_file() {
        return Err(Failure(format!(
            "rustdoc wrote no {}; does this toolchain's rustdoc write JSON?",
            json.display()
        )));
    }
    Ok(json)
}

/// Reads a crate's public API from rustdoc's JSON, without blanket impls
/// (the same for every type), and without auto trait impls when asked.
pub fn from_json(
    json: &Path,
    krate: &str,
    omit_auto_traits: bool,
) -> Result<public_api::PublicApi, Failure> {
    public_api::Builder::from_rustdoc_json(json)
        .omit_blanket_impls(true)
        .omit_auto_trait_impls(omit_auto_traits)
        .build()
        .map_err(|e| {
            Failure(format!(
                "cannot read rustdoc's JSON of {krate} ({}): {e}. The public-api version in \
                 Cargo.toml reads the JSON format of Rust 1.95; this toolchain ({}) may write \
                 another.",
                format_version(json),
                rustc_version()
            ))
        })
}

/// The snapshot's text: the header, then one line per item.
fn render(json: &Path) -> Result<String, Failure> {
    let api = from_json(json, "plex-butler", false)?;
    let mut text = String::from(HEADER);
    let mut known_names_shown = false;
    for item in api.items() {
        let line = item.to_string();
        let known_name = is_known_task_name_variant(&line);
        if is_unstable_auto_trait_impl(&line) || known_name && known_names_shown {
            continue;
        }
        known_names_shown |= known_name;
        text.push_str(if known_name {
            KNOWN_TASK_NAMES_LINE
        } else {
            &line
        });
        text.push('\n');
    }
    Ok(text)
}

/// The line that stands for every variant made from the spec's names.
const KNOWN_TASK_NAMES_LINE: &str =
    "pub plex_butler::TaskName::<one variant per name of the spec's KnownTaskName>";

/// `pub plex_butler::TaskName::BackupDatabase` and the like: the unit
/// variants, one per name of the spec (not `Other(..)`, not methods).
fn is_known_task_name_variant(line: &str) -> bool {
    line.strip_prefix("pub plex_butler::TaskName::")
        .is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// `impl core::marker::Freeze for ...` and the like, with or without `!`.
fn is_unstable_auto_trait_impl(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("impl ") else {
        return false;
    };
    let rest = rest.trim_start_matches('!');
    UNSTABLE_AUTO_TRAITS
        .iter()
        .any(|name| rest.starts_with(&format!("{name} for ")))
}

/// The `format_version` the JSON file states, for messages.
fn format_version(json: &Path) -> String {
    let version = std::fs::read(json).ok().and_then(|bytes| {
        // The field is near the end of a file of many megabytes: find it
        // rather than parse it all.
        let text = String::from_utf8_lossy(&bytes);
        let start = text.rfind("\"format_version\":")? + "\"format_version\":".len();
        let digits: String = text[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then_some(digits)
    });
    format!("format {}", version.as_deref().unwrap_or("unknown"))
}

/// `rustc --version`, for messages.
fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "rustc of unknown version".to_string())
}

#[cfg(test)]
mod tests {
    use super::{is_known_task_name_variant, is_unstable_auto_trait_impl};

    #[test]
    fn only_the_unit_variants_of_task_name_stand_for_the_specs_names() {
        assert!(is_known_task_name_variant(
            "pub plex_butler::TaskName::BackupDatabase"
        ));
        for other in [
            "pub plex_butler::TaskName::Other(alloc::string::String)",
            "pub fn plex_butler::TaskName::as_str(&self) -> &str",
            "pub plex_butler::Error::InvalidTaskName",
        ] {
            assert!(!is_known_task_name_variant(other), "{other}");
        }
    }

    #[test]
    fn only_unstable_auto_trait_impls_are_left_out_with_and_without_negation() {
        for (line, left_out) in [
            ("impl core::marker::Freeze for plex_butler::Task", true),
            (
                "impl !core::marker::UnsafeUnpin for plex_butler::Client",
                true,
            ),
            ("impl core::marker::Send for plex_butler::Client", false),
            ("impl core::fmt::Display for plex_butler::TaskName", false),
            ("pub fn plex_butler::Client::start(&self)", false),
        ] {
            assert_eq!(is_unstable_auto_trait_impl(line), left_out, "{line}");
        }
    }
}
