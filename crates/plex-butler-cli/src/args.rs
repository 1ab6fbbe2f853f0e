//! The command line: flags, commands and their help.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, as `--help` and README document them.
pub mod exit {
    /// Everything went as asked.
    pub const OK: u8 = 0;
    /// Any other error (the server answered something unexpected, ...).
    pub const OTHER: u8 = 1;
    /// Bad usage or configuration: flags, URL, token file, config file.
    pub const USAGE: u8 = 2;
    /// The server refused the token (401/403).
    pub const UNAUTHORIZED: u8 = 3;
    /// A task name the server does not know.
    pub const UNKNOWN_TASK: u8 = 4;
    /// The server could not be reached, or did not answer in time; or
    /// `--wait` ran out of time (`--wait-timeout`).
    pub const UNREACHABLE: u8 = 5;
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  other error
  2  usage or configuration error (bad flag, URL, token file or config file)
  3  unauthorized: the server refused the token
  4  unknown task name
  5  server unreachable, connection lost or timed out, or --wait-timeout passed with Butler work
     still running

The token is read from --token-file, $PLEX_TOKEN or the config file
($XDG_CONFIG_HOME/plex-butler/config.toml), in that order after --token.
Flags win over environment variables, which win over the config file.

--timeout bounds each request; --wait-timeout bounds the whole of --wait.";

/// Manage the Butler tasks (database backups, optimization, cleanups) of a
/// Plex Media Server.
#[derive(Debug, Parser)]
#[command(name = "plex-butler", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The server's base URL [default: http://127.0.0.1:32400]
    #[arg(short, long, env = "PLEX_URL", global = true, value_name = "URL")]
    pub server: Option<String>,

    /// Read the token from this file (keep it mode 0600)
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// The token itself. Prefer $PLEX_TOKEN or --token-file: a flag's value
    /// is visible to every user of this machine in the process list and is
    /// kept in shell history
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Start a simulated server in this process (the real PMS 1.43.2 task
    /// list; its runs take 3 s) and run the command against it
    /// (`--server` on the command line is refused with it; an exported
    /// `PLEX_URL` is ignored.)
    #[arg(long, global = true, conflicts_with_all = ["token", "token_file"])]
    pub embedded: bool,

    /// Output format
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// How long to wait for each answer, e.g. 10s, 500ms, 2m (for the whole
    /// of --wait, see --wait-timeout)
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Say more (repeat for more detail); logs go to stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say nothing but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// When to use colour (NO_COLOR and a non-terminal output turn it off in auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Don't ask before start-all and stop-all
    #[arg(short, long, global = true)]
    pub yes: bool,

    /// Use this config file instead of $XDG_CONFIG_HOME/plex-butler/config.toml
    #[arg(long, global = true, value_name = "PATH", env = "PLEX_BUTLER_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the server's tasks
    List,
    /// Start tasks; says "started" or "already running" for each
    Start {
        /// Task names, as `list` shows them (case does not matter)
        #[arg(required = true, value_name = "TASK")]
        tasks: Vec<String>,
        /// Waiting for the work to end.
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Stop tasks; says "stopped" or "not running" for each
    Stop {
        /// Task names, as `list` shows them (case does not matter)
        #[arg(required = true, value_name = "TASK")]
        tasks: Vec<String>,
    },
    /// Start all enabled tasks (the server's criteria apply)
    StartAll {
        /// Waiting for the work to end.
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Stop running tasks and clear the scheduled queue
    StopAll,
    /// List what the server is working on now (running Butler tasks show as
    /// type `butler`), with progress
    Activities,
    /// Print the JSON Schema of the --output json forms
    Schema,
    /// Print shell completions
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `--wait` and its time limit.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Then wait until the server's Butler work has ended, showing its
    /// progress on stderr (a bar on a terminal, a line per change
    /// otherwise). A server may show one activity for all its Butler work,
    /// so this waits for all of it, not only the tasks named
    #[arg(long)]
    pub wait: bool,

    /// How long --wait may take in all before giving up with exit code 5;
    /// the work goes on [default: 1h]
    #[arg(long, requires = "wait", value_name = "DUR", value_parser = parse_duration)]
    pub wait_timeout: Option<Duration>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people
    Table,
    /// One JSON document for programs (see `schema`)
    Json,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

/// Reads a timeout such as `10s`, `500ms` or `2m` (the simulator's duration
/// syntax); zero is refused, since no answer could ever arrive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = plex_butler_sim::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("a timeout of zero lets no answer in: give e.g. 10s".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_with_their_units_and_refuse_zero() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in ["", "0", "0s", "ten", "5 parsecs", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
