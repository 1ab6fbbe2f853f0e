//! `plex-butler`: manage the Butler tasks of a Plex Media Server from a
//! shell. Thin by design: parse, call the `plex-butler` facade, print.

//!
//! The layers, each using only those above it: the arguments (`args`),
//! the configuration (`config`, `state`, `desired`), the words of a
//! failure (`failure`, with `text` for every string shown), the report of
//! what a command did (`views`, `report`), the command itself (`caller`,
//! `tasks`, `maintenance`, `steps`, dispatched by `commands`), and one
//! render layer (`table`, `json`, with `output` writing the servers'
//! parts in order, and `sink` and `progress` for where output goes).

mod args;
mod caller;
mod commands;
mod config;
mod desired;
mod failure;
mod json;
mod maintenance;
mod output;
mod progress;
mod report;
mod sink;
mod state;
mod steps;
mod table;
mod tasks;
mod text;
mod views;
mod watch;

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use futures_util::StreamExt as _;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::args::{Cli, ColorChoice, Command, GlobalArgs, OutputFormat, exit};
use crate::caller::{Context, Shared, SharedHttp};
use crate::config::{Selection, Target};
use crate::desired::Desired;
use crate::failure::{ErrorKind, Failure};
use crate::json::JsonOutput;
use crate::output::{End, Output};
use crate::progress::Screen;
use crate::report::Part;
use crate::sink::Stdout;
use crate::text::sanitize;

/// How long a run of the `--embedded` simulator takes: short, so that
/// `--wait` shows a whole run in a demo (a real server's take minutes).
#[cfg(feature = "embedded")]
const EMBEDDED_TASK_DURATION: std::time::Duration = std::time::Duration::from_secs(3);

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage_error(&e)),
    };
    anstream::ColorChoice::write_global(match cli.global.color {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    });
    init_logging(&cli.global);

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let failure = Failure::new(
                ErrorKind::Other,
                format!("cannot start the async runtime: {e}"),
            );
            return ExitCode::from(fail_alone(&cli, &failure));
        }
    };
    ExitCode::from(runtime.block_on(run(cli)))
}

/// Parses the command line. `--embedded` and profiles refuse a `--server`
/// typed with them, but not one from an exported `PLEX_URL`: that is for
/// the runs without them. Flags win over the environment: a `--server`,
/// `--token` or `--token-file` typed on the command line sets aside an
/// exported `PLEX_BUTLER_PROFILE`, whose server would otherwise be changed
/// in place of the one typed. An empty `PLEX_BUTLER_PROFILE` is unset.
fn parse() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    let typed = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    if matches.value_source("profile") == Some(ValueSource::EnvVariable) {
        if typed("server") || typed("token") || typed("token_file") {
            cli.global.profile.clear();
        } else {
            cli.global.profile.retain(|name| !name.trim().is_empty());
        }
    }
    let conflict = |message: &str| {
        Err(command
            .clone()
            .error(clap::error::ErrorKind::ArgumentConflict, message))
    };
    let profiles = cli.global.all_profiles || typed("profile");
    if (cli.global.embedded() || profiles) && typed("server") {
        return conflict(
            "--server cannot be used with --embedded, --profile or --all-profiles: \
             the server comes from the simulator or the profile",
        );
    }
    if cli.global.all_profiles && typed("profile") {
        return conflict("--all-profiles already takes every profile: drop --profile");
    }
    if typed("profile") && (cli.global.token.is_some() || cli.global.token_file.is_some()) {
        return conflict("a profile has its own token: drop --token and --token-file");
    }
    Ok(cli)
}

/// Reports a command line that could not be read: clap's words on stderr
/// (or its help on stdout), and with `-o json` a document saying so.
fn usage_error(error: &clap::Error) -> u8 {
    if !error.use_stderr() {
        // --help, --version: printed on stdout, under the closed-pipe rule.
        let _ = write!(Stdout::new(), "{}", error.render().ansi());
        return exit::OK;
    }
    let _ = error.print();
    if json_was_asked() {
        let message = error
            .kind()
            .as_str()
            .unwrap_or("the command line is not valid");
        let failure = Failure::new(
            ErrorKind::Usage,
            format!("{message}: see plex-butler --help"),
        );
        let document = JsonOutput::Error {
            error: failure.info(),
        };
        let _ = json::print_json(&mut Stdout::json(), &document);
    }
    exit::USAGE
}

/// Whether the unreadable command line asked for JSON, as far as it can be
/// read.
fn json_was_asked() -> bool {
    let matches = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(std::env::args_os());
    matches.is_ok_and(|m| {
        m.try_get_one::<OutputFormat>("output")
            .ok()
            .flatten()
            .is_some_and(|f| *f == OutputFormat::Json)
    })
}

/// Says a failure that ended the run before any server was asked, in
/// every form asked for; returns its exit code.
fn fail_alone(cli: &Cli, failure: &Failure) -> u8 {
    sink::error(&failure.message);
    if cli.global.json() {
        let mut part = Part::new(&cli.command, String::new());
        part.failure = Some(failure.clone());
        let _ = json::print_json(&mut Stdout::json(), &JsonOutput::of(&part));
    }
    failure.code
}

fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal() && global.color != ColorChoice::Never)
        .with_target(false)
        .with_filter(env);
    let _ = tracing_subscriber::registry().with(logs).try_init();
}

async fn run(cli: Cli) -> u8 {
    match &cli.command {
        Command::Schema => {
            let mut out = Stdout::json();
            let printed = serde_json::to_writer_pretty(&mut out, &json::schema())
                .map_err(io::Error::other)
                .and_then(|()| writeln!(out));
            return sink::written(printed, exit::OK);
        }
        Command::Completions { shell } => {
            // Written whole to a buffer first: the generator panics on a
            // write error.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "plex-butler", &mut script);
            let printed = Stdout::new().write_all(&script);
            return sink::written(printed, exit::OK);
        }
        _ => {}
    }

    #[cfg(feature = "embedded")]
    if cli.global.embedded() {
        return run_embedded(&cli).await;
    }

    let selection = match config::resolve(&cli.global) {
        Ok(selection) => selection,
        Err(e) => return fail_alone(&cli, &e.into()),
    };
    for warning in &selection.warnings {
        sink::warn(cli.global.quiet, warning);
    }
    let client_identifier = selection
        .legacy_client_identifier
        .clone()
        .or_else(state::client_identifier);
    run_on(&cli, selection, client_identifier).await
}

/// Runs the command against a simulator started in this process.
#[cfg(feature = "embedded")]
async fn run_embedded(cli: &Cli) -> u8 {
    let sim = match plex_butler_sim::Simulator::builder()
        .token(state::new_client_identifier())
        .preset(plex_butler_sim::Preset::Pms1_43_2)
        .task_duration(EMBEDDED_TASK_DURATION)
        .start()
        .await
    {
        Ok(sim) => sim,
        Err(e) => {
            let failure =
                Failure::new(ErrorKind::Other, format!("cannot start the simulator: {e}"));
            return fail_alone(cli, &failure);
        }
    };
    tracing::info!(server = %sim.url(), "running against the embedded simulator");
    let selection = Selection {
        targets: vec![Target {
            profile: None,
            server: sim.url().to_string(),
            token: Ok(sim.token().map(|t| config::Token(t.to_string()))),
        }],
        several: false,
        legacy_client_identifier: None,
        warnings: Vec::new(),
    };
    let code = run_on(cli, selection, None).await;
    sim.shutdown().await;
    code
}

/// Waits for a signal that asks the command to stop: Ctrl-C (SIGINT) and,
/// on unix, SIGTERM (`systemctl stop`, `kill`) and SIGHUP (a closed
/// terminal), unless SIGHUP is ignored (`nohup`): a handler would undo
/// that. Returns the exit code a shell reports for that signal.
async fn stop_signal() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            let mut hup = if hangup_ignored() {
                None
            } else {
                signal(SignalKind::hangup()).ok()
            };
            let hangup = async {
                match &mut hup {
                    Some(hup) => {
                        hup.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => exit::INTERRUPTED,
                _ = term.recv() => exit::TERMINATED,
                () = hangup => exit::HANGUP,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    exit::INTERRUPTED
}

/// Lets a run over `servers` servers hold a connection to each at once: a
/// soft limit of open files below that (1,024 is common) is raised as far
/// as the hard limit allows, for this process only. A limit that stays
/// too low shows as servers that cannot be reached ("too many open
/// files"), the others unharmed.
fn allow_open_files(servers: usize) {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        /// Descriptors a run needs beside one connection a server: the
        /// standard streams, the runtime's, the config and state files,
        /// and room to spare.
        const SPARE_DESCRIPTORS: u64 = 64;
        let needed = u64::try_from(servers)
            .unwrap_or(u64::MAX)
            .saturating_add(SPARE_DESCRIPTORS);
        if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
            && soft < needed
        {
            let raised = needed.min(hard);
            match setrlimit(Resource::RLIMIT_NOFILE, raised, hard) {
                Ok(()) => tracing::debug!(from = soft, to = raised, "limit of open files raised"),
                Err(e) => tracing::debug!(%e, "limit of open files not raised"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = servers;
}

/// Whether this process was started with SIGHUP ignored (`nohup`), as
/// Linux's `/proc/self/status` says (elsewhere it is taken not to be).
#[cfg(unix)]
fn hangup_ignored() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("SigIgn:"))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        })
        // SIGHUP is signal 1: the mask's lowest bit.
        .is_some_and(|mask| mask & 1 != 0)
}

/// Runs the command against every server selected, side by side, then
/// prints what each did. Ctrl-C (or SIGTERM, SIGHUP) and `--deadline`
/// stop the run and still print what was done.
async fn run_on(cli: &Cli, selection: Selection, client_identifier: Option<String>) -> u8 {
    let global = &cli.global;
    allow_open_files(selection.targets.len());
    if let Err(failure) = confirm(cli, &selection.targets) {
        return fail_alone(cli, &failure);
    }
    // Read once, before any server is asked: a mistake in it changes
    // nothing anywhere.
    let desired = match &cli.command {
        Command::Apply { file, .. } => match Desired::read(file) {
            Ok(desired) => Some(desired),
            Err(failure) => return fail_alone(cli, &failure),
        },
        _ => None,
    };
    let started = Instant::now();
    let ctx = Context {
        cli,
        screen: Screen::new(global.quiet),
        client_identifier,
        // A deadline past what the clock can hold is none.
        deadline: global.deadline.and_then(|d| started.checked_add(d)),
        live: !selection.several && !global.json(),
        several: selection.several,
        desired,
        http: SharedHttp::new(selection.targets.iter().map(|t| t.server.clone()).collect()),
    };
    let parts: Vec<Shared> = selection
        .targets
        .iter()
        .map(|t| Arc::new(Mutex::new(Part::new(&cli.command, t.server.clone()))))
        .collect();
    // At most `--jobs` servers at once: the requests in flight and the
    // runs' state stay bounded, and the CPU goes to the calls, not to
    // juggling thousands of them. A command that waits on the servers'
    // work asks them all at once.
    let at_once = if cli.command.waits_on_work() {
        usize::MAX
    } else {
        usize::from(global.jobs)
    };
    // Each run has its part; the output has the only other handle, and
    // lets it go once written.
    let runs = selection.targets.iter().zip(parts.clone()).enumerate();
    let mut output = Output::new(cli, &selection, parts, ctx.live);
    let all = futures_util::stream::iter(runs.map(|(index, (target, part))| {
        let run = commands::run(&ctx, target, part);
        async move {
            run.await;
            index
        }
    }))
    .buffer_unordered(at_once)
    .for_each(|index| {
        output.done(index);
        std::future::ready(())
    });
    let deadline = async {
        match global.deadline {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let end = tokio::select! {
        () = all => End::Finished,
        code = stop_signal() => End::Interrupted(code),
        () = deadline => End::Deadline,
    };
    ctx.screen.restore(!matches!(end, End::Finished));
    output.finish(end)
}

/// Asks before a command that changes every task: `--yes` skips the
/// question; without a terminal to ask on, the command is refused.
fn confirm(cli: &Cli, targets: &[Target]) -> Result<(), Failure> {
    let what = match cli.command {
        Command::StartAll { .. } => "start all enabled tasks",
        Command::StopAll => "stop all running tasks and clear the scheduled queue",
        _ => return Ok(()),
    };
    let servers: Vec<String> = targets.iter().map(|t| sanitize(&t.server)).collect();
    let what = format!("{what} on {}", servers.join(", "));
    if cli.global.yes {
        return Ok(());
    }
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::new(
            ErrorKind::Usage,
            format!("refusing to {what} without confirmation: pass --yes (no terminal to ask on)"),
        ));
    }
    let mut stderr = io::stderr();
    let _ = write!(stderr, "{}? [y/N] ", capitalize(&what));
    let _ = stderr.flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(ErrorKind::Other, format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorKind::Other,
            "not confirmed; nothing was changed",
        ))
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
