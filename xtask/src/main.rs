//! `cargo xtask`: the workspace's developer tools.
//!
//! - `spec check`: is the spec fit to generate from, and fully wrapped?
//! - `spec diff`: what changed in the spec, and does it break clients?
//! - `spec import`: fold Plex's official spec into ours.
//! - `codegen`: the generated raw client, for reading.
//! - `public-api`: the facade's public API against its committed snapshot.
//! - `package-check`: the crates as packaged for a registry, built and used.
//!
//! Exit codes: 0 ok; 1 a check failed, the spec breaks clients (with
//! `--fail-on-breaking`), generated code differs, or the command could not
//! do its work (unreadable or unfit input); 2 a usage error.

mod check;
mod codegen_cmd;
mod convert;
mod diff;
mod doc;
mod import;
mod package_check;
mod public_api;
mod workspace;
mod yaml;

// The generation logic the raw client's build script uses, so that the tools
// generate exactly as the build does.
#[path = "../../crates/plex-butler-raw/codegen.rs"]
mod codegen;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "The workspace's developer tools",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, compare and import the Butler OpenAPI spec.
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
    /// Print the raw client generated from the spec, as formatted Rust.
    Codegen(CodegenArgs),
    /// Compare the public API of plex-butler with its committed snapshot
    /// (crates/plex-butler/public-api.txt); exit with 1 when they differ.
    PublicApi(PublicApiArgs),
    /// Package the published crates, check what the packages hold, and build
    /// and run a crate that depends on the packaged plex-butler.
    PackageCheck,
}

#[derive(Subcommand)]
enum SpecCommand {
    /// Fail, naming the operation and the reason, when the spec cannot be
    /// used as it is.
    Check(CheckArgs),
    /// The semantic difference between the spec at a git revision and the
    /// working tree, each change classed as breaking or not.
    Diff(DiffArgs),
    /// Fold the Butler operations of Plex's official OpenAPI spec into ours.
    Import(ImportArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// The spec to check [default: openapi/butler.yaml]
    file: Option<PathBuf>,
    /// The facade's source directory, where every operation must be called
    /// [default: crates/plex-butler/src]
    #[arg(long, value_name = "DIR")]
    facade_src: Option<PathBuf>,
}

#[derive(Args)]
struct DiffArgs {
    /// The git revision to compare the working tree's spec with [default:
    /// the merge-base with main, or HEAD on main]
    #[arg(long, value_name = "REV", conflicts_with_all = ["old", "new"])]
    base: Option<String>,
    /// The old spec, a file (with --new; instead of the spec at a revision)
    #[arg(long, value_name = "FILE", requires = "new")]
    old: Option<PathBuf>,
    /// The new spec, a file (with --old; instead of the working tree's spec)
    #[arg(long, value_name = "FILE", requires = "old")]
    new: Option<PathBuf>,
    /// How to print the changes.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// Exit with 1 when a change breaks existing clients (or cannot be
    /// classified).
    #[arg(long)]
    fail_on_breaking: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A markdown table per operation, to paste into a review.
    Markdown,
    /// Plain text.
    Text,
}

#[derive(Args)]
struct ImportArgs {
    /// Plex's official OpenAPI spec (3.1 or 3.0, YAML or JSON).
    file: PathBuf,
    /// Our spec, which is read, merged into and written [default:
    /// openapi/butler.yaml]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the changes without writing anything.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct CodegenArgs {
    /// The spec to generate from [default: openapi/butler.yaml]
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Write the code to FILE instead of printing it.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    out: Option<PathBuf>,
    /// Compare the generated code with FILE; exit with 1 when they differ.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

#[derive(Args)]
struct PublicApiArgs {
    /// Write the current public API to the snapshot instead of comparing.
    #[arg(long)]
    update: bool,
    /// The snapshot [default: crates/plex-butler/public-api.txt]
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
}

/// Why a command failed: printed as `error: ...`, exit code 1.
#[derive(Debug)]
pub struct Failure(pub String);

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure(message.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help goes to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Spec {
            command: SpecCommand::Check(args),
        } => check::run(
            &workspace::input_or_default(args.file, workspace::SPEC),
            &workspace::input_or_default(args.facade_src, workspace::FACADE_SRC),
        ),
        Command::Spec {
            command: SpecCommand::Diff(args),
        } => {
            let sides = match (args.old, args.new) {
                (Some(old), Some(new)) => diff::Sides::Files { old, new },
                _ => diff::Sides::Revision { base: args.base },
            };
            let format = match args.format {
                Format::Markdown => diff::Format::Markdown,
                Format::Text => diff::Format::Text,
            };
            diff::run(sides, format, args.fail_on_breaking)
        }
        Command::Spec {
            command: SpecCommand::Import(args),
        } => import::run(
            &workspace::input_or_default(Some(args.file), workspace::SPEC),
            &workspace::input_or_default(args.out, workspace::SPEC),
            args.dry_run,
        ),
        Command::Codegen(args) => codegen_cmd::run(
            &workspace::input_or_default(args.spec, workspace::SPEC),
            args.out.as_deref(),
            args.check.as_deref(),
        ),
        Command::PublicApi(args) => public_api::run(args.snapshot, args.update),
        Command::PackageCheck => package_check::run(),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
