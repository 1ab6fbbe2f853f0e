//! `cargo xtask`: the workspace's developer tools.
//!
//! The commands are described where clap reads them (`Command`,
//! `SpecCommand`), and so in `cargo xtask --help`.
//!
//! Exit codes: 0 ok; 1 a check failed, the spec change breaks clients or
//! code (`spec diff`), the facade does not build (`spec verify`), or
//! generated code differs; 2 a usage error. When a command cannot do its
//! work (unreadable or unfit input, a build that cannot run), `spec diff`
//! and `spec verify` exit with 2, so that "could not judge" is never read
//! as "breaking" nor as "fine"; the other commands exit with 1.
//!
//! The workspace is the one around the current directory.

mod check;
mod codegen_cmd;
mod diff;
mod fixtures;
mod package_check;
mod public_api;
mod rust_api;
mod spec;
mod upstream;
mod verify;
mod wire;
mod workspace;

// The generation logic the raw client's build script uses, so that the tools
// generate exactly as the build does.
#[path = "../../crates/plex-butler-raw/codegen.rs"]
mod codegen;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use diff::Format;

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
    /// Check and compare the Butler OpenAPI spec.
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
    /// working tree (or two files, or ours and an upstream spec), each
    /// change judged on the wire and for Rust source, and the facade built
    /// against the new spec.
    Diff(DiffArgs),
    /// Build the facade against a spec (in target/spec-verify/, a copy of
    /// the workspace), naming the facade code that no longer compiles.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// The spec to check [default: openapi/butler.yaml]
    file: Option<PathBuf>,
    /// The git revision whose openapi/butler.yaml the spec must keep every
    /// task name of [default: for openapi/butler.yaml, the merge-base with
    /// main (or origin/main), HEAD on main; for another file, none]
    #[arg(long, value_name = "REV")]
    base: Option<String>,
}

#[derive(Args)]
#[command(after_help = "\
Exit codes: 0 no breaking change; 1 a change breaks clients on the wire or \
code written against the crates, or needs a reviewer's decision, or the \
facade does not build against the new spec; 2 the tool could not judge (a bad \
base revision, a spec that cannot be read, parsed or generated from, a build \
that could not run).

The exit code always says the verdict, so that a CI step cannot forget to ask \
for it and a tool failure is never taken for \"no breaking change\"; a \
reviewer reading the report ignores it.")]
struct DiffArgs {
    /// The git revision to compare the working tree's spec with [default:
    /// the merge-base with main, else with origin/main; HEAD on main]
    #[arg(long, value_name = "REV", conflicts_with_all = ["old", "new"])]
    base: Option<String>,
    /// The old spec, a file (with --new; instead of the spec at a revision)
    #[arg(long, value_name = "FILE", requires = "new")]
    old: Option<PathBuf>,
    /// The new spec, a file. Alone, an upstream spec (Plex's, OpenAPI 3.1
    /// or 3.0, one file or split into several): what it changes in the
    /// operations we hold, compared with the working tree's spec.
    #[arg(long, value_name = "FILE")]
    new: Option<PathBuf>,
    /// How to print the changes.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// Judge the wire only, without building: quicker, but neither the
    /// Rust source nor the facade's build is judged.
    #[arg(long)]
    no_build: bool,
}

#[derive(Args)]
#[command(after_help = "\
Exit codes: 0 the facade builds; 1 it does not (the errors name the facade \
code to change); 2 the build could not run.")]
struct VerifyArgs {
    /// The spec to build the facade against [default: openapi/butler.yaml]
    file: Option<PathBuf>,
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

/// Why a command could not do its work: printed as `error: ...`; exit code
/// 2 for the commands that judge, 1 for the others.
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
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // Commands that judge exit with 2 when they cannot: see the module doc.
    let cannot_code = match &cli.command {
        Command::Spec {
            command: SpecCommand::Diff(_) | SpecCommand::Verify(_),
        } => 2,
        _ => 1,
    };
    let spec = |file| workspace::input_or_default(file, workspace::SPEC);
    let result = workspace::locate().and_then(|_| match cli.command {
        Command::Spec { command } => match command {
            SpecCommand::Check(args) => check::run(&spec(args.file), args.base),
            SpecCommand::Diff(args) => {
                let sides = match (args.old, args.new) {
                    (Some(old), Some(new)) => diff::Sides::Files { old, new },
                    (None, Some(file)) => diff::Sides::Upstream { file },
                    _ => diff::Sides::Revision { base: args.base },
                };
                diff::run(sides, args.format, !args.no_build)
            }
            SpecCommand::Verify(args) => verify::run(&spec(args.file)),
        },
        Command::Codegen(args) => {
            codegen_cmd::run(&spec(args.spec), args.out.as_deref(), args.check.as_deref())
        }
        Command::PublicApi(args) => public_api::run(args.snapshot, args.update),
        Command::PackageCheck => package_check::run(),
    });
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(cannot_code)
        }
    }
}
