//! `plex-butler`: manage the Butler tasks of a Plex Media Server from a
//! shell. Thin by design: parse, call the `plex-butler` facade, print.

mod args;
mod config;
mod output;
mod progress;

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use plex_butler::{Client, Error, TaskName, WaitOptions};

use crate::args::{Cli, ColorChoice, Command, GlobalArgs, OutputFormat, WaitArgs, exit};
use crate::config::{ConfigError, Settings, Token};
use crate::output::{JsonOutput, Outcome, TaskResult, WaitSummary};

/// How long a run of the `--embedded` simulator takes: short, so that
/// `--wait` shows a whole run in a demo (a real server's take minutes).
const EMBEDDED_TASK_DURATION: Duration = Duration::from_secs(3);
/// The longest wait between two looks of `--wait`: often enough for the
/// progress to move on screen.
const WAIT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
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
            report(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            if !failure.message.is_empty() {
                report(&failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Parses the command line. `--embedded` refuses a `--server` typed with
/// it, but not one from an exported `PLEX_URL`: that is for real runs.
fn parse() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    if cli.global.embedded && matches.value_source("server") == Some(ValueSource::CommandLine) {
        return Err(command.error(
            clap::error::ErrorKind::ArgumentConflict,
            "--embedded runs against its own simulator: drop --server",
        ));
    }
    Ok(cli)
}

/// Why the command failed, and the exit code that says so.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::Unauthorized { .. } => exit::UNAUTHORIZED,
            Error::UnknownTask { .. } => exit::UNKNOWN_TASK,
            Error::Timeout { .. }
            | Error::Connect { .. }
            | Error::ConnectionLost { .. }
            | Error::WaitTimedOut { .. } => exit::UNREACHABLE,
            Error::InvalidConfig { .. } => exit::USAGE,
            _ => exit::OTHER,
        };
        let mut message = error.to_string();
        if error.is_token_expired() {
            message.push_str(
                "; then pass it with PLEX_TOKEN, --token-file or `token` in the config file",
            );
        }
        Failure::new(code, message)
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure::new(exit::USAGE, error.0)
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        // The reader went away (`plex-butler list | head -1`): nothing is
        // wrong, and nobody is left to tell.
        if error.kind() == io::ErrorKind::BrokenPipe {
            return Failure::new(exit::OK, "");
        }
        Failure::new(exit::OTHER, format!("cannot write the output: {error}"))
    }
}

fn report(message: &str) {
    let style = anstyle::AnsiColor::Red.on_default().bold();
    let _ = writeln!(anstream::stderr(), "{style}error:{style:#} {message}");
}

fn warn(global: &GlobalArgs, message: &str) {
    if !global.quiet {
        let style = anstyle::AnsiColor::Yellow.on_default().bold();
        let _ = writeln!(anstream::stderr(), "{style}warning:{style:#} {message}");
    }
}

fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal() && global.color != ColorChoice::Never)
        .with_target(false)
        .try_init();
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    let mut out = anstream::stdout();
    match &cli.command {
        Command::Schema => {
            serde_json::to_writer_pretty(&mut out, &output::schema()).map_err(io::Error::other)?;
            writeln!(out)?;
            return Ok(());
        }
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "plex-butler", &mut out);
            return Ok(());
        }
        _ => {}
    }

    if global.embedded {
        let sim = plex_butler_sim::Simulator::builder()
            .token(config::new_client_identifier())
            .preset(plex_butler_sim::Preset::Pms1_43_2)
            .task_duration(EMBEDDED_TASK_DURATION)
            .start()
            .await
            .map_err(|e| Failure::new(exit::OTHER, format!("cannot start the simulator: {e}")))?;
        let settings = Settings {
            server: sim.url().to_string(),
            token: sim.token().map(|t| Token(t.to_string())),
            client_identifier: None,
            warnings: Vec::new(),
        };
        tracing::info!(server = %settings.server, "running against the embedded simulator");
        let result = execute(&cli, &settings, &mut out).await;
        sim.shutdown().await;
        return result;
    }

    let mut settings = config::resolve(global)?;
    for warning in &settings.warnings {
        warn(global, warning);
    }
    if settings.client_identifier.is_none() {
        settings.client_identifier = keep_new_client_identifier(global);
    }
    execute(&cli, &settings, &mut out).await
}

/// Generates a client identifier and keeps it in the config file, so every
/// run is the same device to the server. Where it cannot be kept, the
/// facade's stable default (derived from the machine) serves.
fn keep_new_client_identifier(global: &GlobalArgs) -> Option<String> {
    let path = config::config_path(global)?;
    let id = config::new_client_identifier();
    match config::remember_client_identifier(&path, &id) {
        Ok(kept) => {
            tracing::info!(path = %path.display(), "kept a client identifier");
            Some(kept)
        }
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cannot keep a client identifier");
            None
        }
    }
}

fn client(global: &GlobalArgs, settings: &Settings) -> Result<Client, Failure> {
    let mut builder = Client::builder(&settings.server)
        .product("plex-butler")
        .version(env!("CARGO_PKG_VERSION"));
    if let Some(Token(token)) = &settings.token {
        builder = builder.token(token);
    }
    if let Some(id) = &settings.client_identifier {
        builder = builder.client_identifier(id);
    }
    if let Some(timeout) = global.timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder.build()?)
}

async fn execute(cli: &Cli, settings: &Settings, out: &mut impl Write) -> Result<(), Failure> {
    let global = &cli.global;
    let client = client(global, settings)?;
    let json = global.output == OutputFormat::Json;
    match &cli.command {
        Command::List => {
            let mut tasks = client.tasks().await?;
            tasks.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
            if json {
                output::print_json(out, &JsonOutput::List { tasks })?;
            } else {
                output::print_table(out, &tasks)?;
            }
        }
        Command::Start { tasks, wait } => {
            let names = resolve_names(&client, tasks).await?;
            let (results, failed) = act_on_each(&client, &names, Action::Start).await;
            if !json && !global.quiet {
                output::print_results(out, &results)?;
            }
            // A wait only follows starts that all went through.
            let (summary, failure) = match failed {
                Some(failure) => (None, Some(failure)),
                None if wait.wait => wait_for_butler(&client, global, wait).await,
                None => (None, None),
            };
            finish(out, global, json, summary, failure, |wait| {
                JsonOutput::Start { results, wait }
            })?;
        }
        Command::Stop { tasks } => {
            let names = resolve_names(&client, tasks).await?;
            let (results, failure) = act_on_each(&client, &names, Action::Stop).await;
            if !json && !global.quiet {
                output::print_results(out, &results)?;
            }
            finish(out, global, json, None, failure, |_| JsonOutput::Stop {
                results,
            })?;
        }
        Command::StartAll { wait } => {
            confirm(
                global,
                &format!("start all enabled tasks on {}", client.base_url()),
            )?;
            client.start_all().await?;
            if !json && !global.quiet {
                writeln!(
                    out,
                    "start-all: the server starts or schedules its enabled tasks by its own criteria"
                )?;
            }
            let (summary, failure) = if wait.wait {
                wait_for_butler(&client, global, wait).await
            } else {
                (None, None)
            };
            let server = client.base_url().to_string();
            finish(out, global, json, summary, failure, |wait| {
                JsonOutput::StartAll { server, wait }
            })?;
        }
        Command::StopAll => {
            confirm(
                global,
                &format!(
                    "stop all running tasks and clear the scheduled queue on {}",
                    client.base_url()
                ),
            )?;
            client.stop_all().await?;
            if json {
                let doc = JsonOutput::StopAll {
                    server: client.base_url().to_string(),
                };
                output::print_json(out, &doc)?;
            } else if !global.quiet {
                writeln!(
                    out,
                    "stop-all: running tasks stopped, scheduled tasks cleared"
                )?;
            }
        }
        Command::Activities => {
            let activities = client.activities().await?;
            if json {
                output::print_json(out, &JsonOutput::Activities { activities })?;
            } else if !global.quiet {
                output::print_activities(out, &activities)?;
            }
        }
        Command::Schema | Command::Completions { .. } => {}
    }
    Ok(())
}

/// Which call `act_on_each` makes.
#[derive(Clone, Copy)]
enum Action {
    Start,
    Stop,
}

/// Starts or stops each task in turn. Stops at the first failure (names
/// were checked beforehand, so a failure is the server's or the network's)
/// and returns what was done until then, so that it is still reported.
async fn act_on_each(
    client: &Client,
    names: &[TaskName],
    action: Action,
) -> (Vec<TaskResult>, Option<Failure>) {
    let mut results = Vec::with_capacity(names.len());
    for name in names {
        let outcome = match action {
            Action::Start => client.start(name).await.map(Outcome::from),
            Action::Stop => client.stop(name).await.map(Outcome::from),
        };
        match outcome {
            Ok(outcome) => results.push(TaskResult {
                task: name.to_string(),
                outcome,
            }),
            Err(error) => return (results, Some(error.into())),
        }
    }
    (results, None)
}

/// Prints the end of a command that may have waited: the JSON document
/// (always, even after a failure, so scripts see what was done) or the
/// wait's last line; then returns the failure, if any, to exit with.
fn finish(
    out: &mut impl Write,
    global: &GlobalArgs,
    json: bool,
    summary: Option<WaitSummary>,
    failure: Option<Failure>,
    document: impl FnOnce(Option<WaitSummary>) -> JsonOutput,
) -> Result<(), Failure> {
    if json {
        output::print_json(out, &document(summary))?;
    } else if let Some(summary) = &summary {
        print_wait_end(out, global, summary)?;
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// Waits until no Butler activity is left, showing the progress on stderr.
/// Returns how the wait ended (when it ended by finishing or by running
/// out of time) and the failure to exit with, if any.
async fn wait_for_butler(
    client: &Client,
    global: &GlobalArgs,
    args: &WaitArgs,
) -> (Option<WaitSummary>, Option<Failure>) {
    let mut display = progress::Display::new(global.quiet, io::stderr().is_terminal());
    let mut options = WaitOptions::new()
        .max_poll_interval(WAIT_MAX_POLL_INTERVAL)
        .on_progress(|look| display.update(look));
    if let Some(timeout) = args.wait_timeout {
        options = options.timeout(timeout);
    }
    let result = client.wait_until_idle(options).await;
    display.finish();
    match result {
        Ok(report) => (Some(WaitSummary::done(&report)), None),
        Err(error) => {
            let summary = match &error {
                Error::WaitTimedOut { waited, running } => {
                    Some(WaitSummary::timed_out(*waited, running))
                }
                _ => None,
            };
            (summary, Some(error.into()))
        }
    }
}

/// The last line of a `--wait` that ended with no Butler work left.
fn print_wait_end(
    out: &mut impl Write,
    global: &GlobalArgs,
    summary: &WaitSummary,
) -> Result<(), Failure> {
    if global.quiet || !summary.done {
        return Ok(());
    }
    let said = if summary.saw_activity {
        "done: no Butler work is left"
    } else {
        "done: no Butler work was seen (it ended before the first look, or never started)"
    };
    writeln!(out, "{said}")?;
    Ok(())
}

/// Asks before a command that changes every task: `--yes` skips the
/// question; without a terminal to ask on, the command is refused.
fn confirm(global: &GlobalArgs, what: &str) -> Result<(), Failure> {
    if global.yes {
        return Ok(());
    }
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::new(
            exit::USAGE,
            format!("refusing to {what} without confirmation: pass --yes (no terminal to ask on)"),
        ));
    }
    let mut stderr = io::stderr();
    let _ = write!(stderr, "{}? [y/N] ", capitalize(what));
    let _ = stderr.flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(exit::OTHER, format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(
            exit::OTHER,
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

/// Turns the names the user typed into the server's names, case-insensitively,
/// and fails before any change when one is unknown, with the closest name as
/// a hint.
async fn resolve_names(client: &Client, typed: &[String]) -> Result<Vec<TaskName>, Failure> {
    let mut parsed = Vec::with_capacity(typed.len());
    for name in typed {
        let task: TaskName = name.parse().map_err(|_| {
            Failure::new(
                exit::USAGE,
                format!("'{}' is not a task name", output::sanitize(name)),
            )
        })?;
        parsed.push((name, task));
    }
    let listed: Vec<TaskName> = client.tasks().await?.into_iter().map(|t| t.name).collect();
    let mut names = Vec::with_capacity(parsed.len());
    for (typed, task) in parsed {
        let wire = task.as_str();
        let exact = listed.iter().find(|l| l.as_str() == wire);
        let found = exact.or_else(|| {
            let mut matches = listed
                .iter()
                .filter(|l| l.as_str().eq_ignore_ascii_case(wire));
            match (matches.next(), matches.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        });
        match found {
            Some(name) => names.push(name.clone()),
            // A name this client knows from its spec, that the server does
            // not list: most likely an older server, and no other name is
            // what the user meant.
            None if task.is_known() => {
                return Err(Failure::new(
                    exit::UNKNOWN_TASK,
                    format!(
                        "the server at {} does not list '{}'; it may be older than this client. \
                         Run `plex-butler list` to see the server's tasks.",
                        client.base_url(),
                        task.as_str()
                    ),
                ));
            }
            None => {
                let hint = match TaskName::suggest_among(wire, &listed) {
                    Some(close) => format!(" Did you mean '{close}'?"),
                    None => String::new(),
                };
                return Err(Failure::new(
                    exit::UNKNOWN_TASK,
                    format!(
                        "unknown task '{}'.{hint} Run `plex-butler list` to see the server's tasks.",
                        output::sanitize(typed)
                    ),
                ));
            }
        }
    }
    Ok(names)
}
