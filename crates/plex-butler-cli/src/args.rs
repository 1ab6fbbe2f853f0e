//! The command line: flags, commands and their help.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use plex_butler::MaintenanceWindow;

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
    /// A task name the server does not know, or (enable, disable, apply)
    /// a task the server's settings have no switch for.
    pub const UNKNOWN_TASK: u8 = 4;
    /// The server could not be reached, or did not answer in time; or
    /// `--wait-timeout` or `--deadline` passed.
    pub const UNREACHABLE: u8 = 5;
    /// (apply, enable, disable, window set) The server answered a change
    /// of settings, but reading them back shows it does not hold it.
    pub const NOT_APPLIED: u8 = 6;
    /// Interrupted (Ctrl-C), as shells report a process ended by SIGINT.
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM (`systemctl stop`, `kill`), as shells report it.
    pub const TERMINATED: u8 = 143;
    /// Stopped by SIGHUP (the terminal closed), as shells report it.
    pub const HANGUP: u8 = 129;
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  other error
  2  usage or configuration error (bad flag, URL, token file, config file or profile)
  3  unauthorized: the server refused the token
  4  unknown task name, or (enable, disable, apply) a task with no switch in the server's settings
  5  server unreachable, connection lost or timed out; --wait-timeout passed with Butler work
     still running (or, for run --when-idle, someone still watching); or --deadline passed
  6  (apply, enable, disable, window set) the server answered the change, but its settings,
     read back, do not hold it
  130  interrupted (Ctrl-C); the server's work goes on
  143, 129  stopped by SIGTERM or SIGHUP: as 130, the report printed in full
With several profiles, the exit code is the highest of the servers'.

The token is read from --token or --token-file, $PLEX_TOKEN or the config file
($XDG_CONFIG_HOME/plex-butler/config.toml), in that order.
Flags win over environment variables, which win over the config file.
A profile ([servers.NAME] in the config file: url, and token or token_file)
replaces all of these.

Time limits: --timeout bounds each answer; a call that may be repeated safely
is tried up to 3 times, with short pauses, so one call may take about three
times --timeout. --wait-timeout bounds the whole of --wait. --deadline bounds
the whole command.";

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
    // The value of an exported PLEX_URL is not shown in --help: it may
    // carry credentials or a token.
    #[arg(
        short,
        long,
        env = "PLEX_URL",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub server: Option<String>,

    /// Read the token from this file (keep it mode 0600)
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,

    /// The token itself. Prefer $PLEX_TOKEN or --token-file: a flag's value
    /// is visible to every user of this machine in the process list and is
    /// kept in shell history
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Run against the server of this profile ([servers.NAME] in the config
    /// file); repeat it to run against several side by side (see --jobs)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "PLEX_BUTLER_PROFILE",
        value_delimiter = ','
    )]
    pub profile: Vec<String>,

    /// Run against the servers of every profile in the config file, side by
    /// side (see --jobs)
    #[arg(long, global = true, conflicts_with_all = ["token", "token_file"])]
    pub all_profiles: bool,

    /// Start a simulated server in this process (the real PMS 1.43.2 task
    /// list; its runs take 3 s) and run the command against it
    /// (`--server` on the command line is refused with it; an exported
    /// `PLEX_URL` is ignored.)
    #[cfg(feature = "embedded")]
    #[arg(long, global = true, conflicts_with_all = ["token", "token_file", "profile", "all_profiles"])]
    pub embedded: bool,

    /// With several profiles, how many servers are asked at once; the
    /// others wait for a turn. Commands that wait on the servers' work
    /// (watch, run, --wait) ask every server at once
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = 64,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub jobs: u16,

    /// Output format
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// How long to wait for each answer, e.g. 10s, 500ms, 2m [default: 30s].
    /// A call that may safely be repeated is tried up to 3 times, so it can
    /// take about three times this; --deadline bounds the whole command
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// How long the whole command may take, retries and --wait included,
    /// e.g. 1m; then it stops with exit code 5 and says what was done
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub deadline: Option<Duration>,

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
    /// (it is only read, never written)
    #[arg(long, global = true, value_name = "PATH", env = "PLEX_BUTLER_CONFIG")]
    pub config: Option<PathBuf>,
}

impl GlobalArgs {
    /// Whether `--embedded` was given (always `false` without the feature).
    pub fn embedded(&self) -> bool {
        #[cfg(feature = "embedded")]
        {
            self.embedded
        }
        #[cfg(not(feature = "embedded"))]
        {
            false
        }
    }

    /// Whether the output is one JSON document.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the server's tasks, and which of them run now
    List,
    /// Show one task in full, and whether it runs now
    Show {
        /// The task's name, as `list` shows it (case does not matter)
        #[arg(value_name = "TASK")]
        task: String,
    },
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
    /// Show the Butler's settings: maintenance window, task switches,
    /// analysis behaviours, backup directory, update policy and channel
    Settings,
    /// Show the maintenance window, or move it (`window set 1-6`)
    Window {
        /// What to do with it (nothing: show it).
        #[command(subcommand)]
        action: Option<WindowAction>,
    },
    /// Switch tasks on, so that the Butler runs them in its window (one
    /// change for all the tasks named, then read back: exit 6 when the
    /// server does not hold it)
    Enable {
        /// Task names, as `settings` shows their switches (case does not
        /// matter)
        #[arg(required = true, value_name = "TASK")]
        tasks: Vec<String>,
    },
    /// Switch tasks off, so that the Butler no longer runs them (one change
    /// for all the tasks named, then read back: exit 6 when the server does
    /// not hold it)
    Disable {
        /// Task names, as `settings` shows their switches (case does not
        /// matter)
        #[arg(required = true, value_name = "TASK")]
        tasks: Vec<String>,
    },
    /// Run tasks one after another, each until the server's Butler work has
    /// ended, and report each step
    Run(RunArgs),
    /// Bring the window and task switches to the state a TOML file
    /// describes, in one change; says what changes first, then what the
    /// server holds, read back (exit 6 when it does not hold the change)
    Apply {
        /// The desired state: `[window]` with start_hour and end_hour,
        /// `[tasks]` with `TaskName = true|false` (only read)
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Show the changes and make none
        #[arg(long)]
        dry_run: bool,
    },
    /// Show what is playing now: who watches what, on which player
    Sessions,
    /// Show Butler work as it happens, from the server's event stream: a
    /// line per start and per end (with its duration); with -o json, one
    /// JSON object per line (JSON Lines, see `schema`). Runs until Ctrl-C,
    /// SIGTERM or SIGHUP (what was seen is printed as it comes), --for or
    /// --until-idle. Reconnects by itself; an end that happened while the
    /// stream was down is still reported, marked as reconciled. A server
    /// without the event stream is an error (exit code 1)
    Watch(WatchArgs),
    /// Print the JSON Schema of the --output json forms
    Schema,
    /// Print shell completions
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Whether the command changes something on the server: its output
    /// then names the server it changed.
    pub fn changes_server(&self) -> bool {
        matches!(
            self,
            Command::Start { .. }
                | Command::Stop { .. }
                | Command::StartAll { .. }
                | Command::StopAll
                | Command::Window { action: Some(_) }
                | Command::Enable { .. }
                | Command::Disable { .. }
                | Command::Run(_)
                | Command::Apply { .. }
        )
    }

    /// Whether the command waits on the server's work, for as long as that
    /// work takes (hours, for a database backup): `watch`, `run`, and
    /// `start` or `start-all` with `--wait`. With several servers such a
    /// command asks every one at once, whatever `--jobs` says: a server
    /// waiting for its turn would wait for other servers' work to end.
    pub fn waits_on_work(&self) -> bool {
        match self {
            Command::Watch(_) | Command::Run(_) => true,
            Command::Start { wait, .. } | Command::StartAll { wait } => wait.wait,
            _ => false,
        }
    }
}

/// `watch`: what to show and when to stop.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Show every activity (library scans, media analysis, ...), not only
    /// Butler work
    #[arg(long)]
    pub all: bool,

    /// End (exit code 0) once no Butler work is left: at once when the
    /// server is idle when the watch begins
    #[arg(long)]
    pub until_idle: bool,

    /// End (exit code 0) after this long, such as 10m or 8h
    #[arg(long = "for", value_name = "DUR", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

/// `--wait` and its time limit.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Then wait until the server's Butler work has ended, showing its
    /// progress on stderr (a bar on a terminal, a line per change
    /// otherwise). A server may show one activity for all its Butler work,
    /// so this waits for all of it, not only the tasks named. Ctrl-C stops
    /// the waiting (exit code 130; 143 for SIGTERM, 129 for SIGHUP), not
    /// the work
    #[arg(long)]
    pub wait: bool,

    /// How long --wait may take in all before giving up with exit code 5;
    /// the work goes on [default: 1h]
    #[arg(long, requires = "wait", value_name = "DUR", value_parser = parse_duration)]
    pub wait_timeout: Option<Duration>,
}

/// What `window` does besides showing the window.
#[derive(Debug, Subcommand)]
pub enum WindowAction {
    /// Move the maintenance window: `1-6` is 01:00 to 06:00, `22-4` spans
    /// midnight (hours 0 to 23, the server's local time); the window shown
    /// after is the one read back (exit 6 when the server does not hold it)
    Set {
        /// START-END, whole hours from 0 to 23
        #[arg(value_name = "START-END", value_parser = parse_window)]
        hours: MaintenanceWindow,
    },
}

/// `run`: the tasks and how to go about them.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Task names, in the order to run them, as `list` shows them (case
    /// does not matter)
    #[arg(required = true, value_name = "TASK")]
    pub tasks: Vec<String>,

    /// Before each step, wait until nobody is watching and no Butler work
    /// runs; nothing is started while someone watches
    #[arg(long)]
    pub when_idle: bool,

    /// Go on with the next task after one fails [default: stop at the first
    /// failure and skip the rest]. After a wait that ran out, the next task
    /// starts while the previous one's work still runs (and says so); with
    /// --when-idle it waits for that work to end first
    #[arg(long)]
    pub keep_going: bool,

    /// How long each wait may take (the wait for a task's work to end, and
    /// the wait until idle before it) before the step fails with exit code
    /// 5; the work goes on [default: 1h]
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub wait_timeout: Option<Duration>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people
    Table,
    /// One JSON document for programs, errors included (see `schema`)
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

/// Reads a time limit such as `10s`, `500ms`, `2m` or `1h 30m`; zero is
/// refused, since no answer could ever arrive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("{e}: give a number and a unit (ms, s, m, h), such as 500ms, 10s or 2m")
    })?;
    if duration.is_zero() {
        return Err("a time limit of zero lets no answer in: give e.g. 10s".into());
    }
    Ok(duration)
}

/// Reads a maintenance window such as `1-6` or `22-4`, by the facade's
/// rule of hours.
pub fn parse_window(text: &str) -> Result<MaintenanceWindow, String> {
    text.parse()
        .map_err(|e: plex_butler::WindowError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_as_two_hours_and_refuse_anything_else() {
        let window = |start, end| MaintenanceWindow::new(start, end).map_err(|e| e.to_string());
        assert_eq!(parse_window("1-6"), window(1, 6));
        assert_eq!(parse_window("22-4"), window(22, 4));
        assert_eq!(parse_window(" 0 - 23 "), window(0, 23));
        for bad in ["", "5", "1-24", "-1-6", "a-b", "1-6-7", "1:00-6:00", "24-1"] {
            assert!(parse_window(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn time_limits_read_with_their_units_and_refuse_zero() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        for bad in ["", "0", "0s", "ten", "5 parsecs", "-1s", "3"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
