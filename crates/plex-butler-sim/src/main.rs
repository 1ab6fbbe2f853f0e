//! `plex-butler-sim`: a simulated Plex Media Server speaking the Butler API.
//!
//! Prints `listening on http://ADDR:PORT` as its first line on stdout once it
//! accepts connections, logs each request on stderr (never the token; filter
//! with `RUST_LOG`, such as `RUST_LOG=warn` for silence), and exits with
//! status 0 on Ctrl-C or SIGTERM.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chrono::FixedOffset;
use clap::{CommandFactory as _, Parser};
use plex_butler_sim::{FaultPlan, Preset, Simulator, TaskSpec, Trigger, parse_duration};
use tracing_subscriber::EnvFilter;

/// A simulated Plex Media Server that speaks the Butler (task manager) API
/// like the real one.
#[derive(Parser)]
#[command(name = "plex-butler-sim", version)]
struct Args {
    /// The address to listen on; with port 0 the system picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:32400")]
    listen: SocketAddr,

    /// The token clients must send (X-Plex-Token header or query parameter).
    #[arg(long, value_name = "T", env = "PLEX_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Let every request in without a token (overrides --token and PLEX_TOKEN).
    #[arg(long)]
    no_auth: bool,

    /// The task list: pms-1.43.2 (the 23 tasks of a real server) or legacy
    /// (the 14 of the legacy documentation).
    #[arg(long, value_name = "NAME", default_value = "pms-1.43.2")]
    preset: Preset,

    /// Adds a task of this name to the preset's (repeatable): a task of a
    /// newer server, due daily, enabled.
    #[arg(long = "task", value_name = "NAME")]
    tasks: Vec<String>,

    /// Seeds schedule times, activity ids and fault shares.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,

    /// How long a task runs, such as 500ms, 20s or 2m.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "20s")]
    task_duration: Duration,

    /// The maintenance window in hours: the initial ButlerStartHour and
    /// ButlerEndHour settings.
    #[arg(long, value_name = "START-END", value_parser = parse_window, default_value = "2-5")]
    window: (u32, u32),

    /// Presets a server setting of GET /:/prefs, such as
    /// ButlerTaskRefreshLibraries=1 (repeatable; after --window).
    #[arg(long = "setting", value_name = "ID=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,

    /// How many playbacks GET /status/sessions lists.
    #[arg(long, value_name = "N", default_value_t = 0)]
    sessions: u32,

    /// The server's local time as an offset from UTC, such as +02:00.
    #[arg(long, value_name = "+HH:MM", value_parser = parse_offset, default_value = "+00:00", allow_hyphen_values = true)]
    utc_offset: FixedOffset,

    /// The server's machineIdentifier (default: drawn from the seed).
    #[arg(long, value_name = "ID")]
    machine_identifier: Option<String>,

    /// Let DELETE /activities/{uuid} cancel running tasks.
    #[arg(long)]
    cancellable_activities: bool,

    /// Answer 498 (token expired, as newer servers do) to every request
    /// with the right token; a wrong one still gets 401.
    #[arg(long)]
    token_expired: bool,

    /// Show all running Butler work as one "Butler tasks" activity, as a
    /// real server does, instead of one activity per task.
    #[arg(long)]
    aggregate_butler_activity: bool,

    /// How often the event stream (/:/eventsource/notifications) pings.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "10s")]
    ping_interval: Duration,

    /// Answer 404 on /:/eventsource/notifications, as a server without
    /// events.
    #[arg(long)]
    no_events: bool,

    /// Fault: wait this long before every answer.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, help_heading = "Faults")]
    fault_latency: Option<Duration>,

    /// Fault: answer this HTTP status instead (see --fault-status-when).
    #[arg(long, value_name = "CODE", help_heading = "Faults")]
    fault_status: Option<u16>,

    /// Which requests get --fault-status: always, next:N or share:P.
    #[arg(
        long,
        value_name = "TRIGGER",
        default_value = "always",
        help_heading = "Faults"
    )]
    fault_status_when: Trigger,

    /// Send Retry-After with --fault-status.
    #[arg(
        long,
        value_name = "DUR",
        value_parser = parse_duration,
        requires = "fault_status",
        help_heading = "Faults"
    )]
    fault_retry_after: Option<Duration>,

    /// Fault: answer 400 to the N requests after each change of settings
    /// (PUT /:/prefs).
    #[arg(
        long = "fault-400-after-put",
        value_name = "N",
        help_heading = "Faults"
    )]
    fault_400_after_put: Option<u32>,

    /// Fault: close the connection without answering: always, next:N or share:P.
    #[arg(long, value_name = "TRIGGER", help_heading = "Faults")]
    fault_drop: Option<Trigger>,

    /// Fault: cut the body in half: always, next:N or share:P.
    #[arg(long, value_name = "TRIGGER", help_heading = "Faults")]
    fault_truncate: Option<Trigger>,

    /// Fault: send garbage instead of the body: always, next:N or share:P.
    #[arg(long, value_name = "TRIGGER", help_heading = "Faults")]
    fault_garbage: Option<Trigger>,

    /// Fault: close each event stream after N events (pings included).
    #[arg(long, value_name = "N", help_heading = "Faults")]
    fault_events_close_after: Option<u32>,

    /// Fault: close each event stream this long after it opened.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, help_heading = "Faults")]
    fault_events_close_after_time: Option<Duration>,

    /// Fault: after N events, send nothing more (no pings) on each event
    /// stream while keeping it open.
    #[arg(long, value_name = "N", help_heading = "Faults")]
    fault_events_silent_after: Option<u32>,

    /// Fault: send `data: {not json` in place of events: always, next:N or
    /// share:P.
    #[arg(long, value_name = "TRIGGER", help_heading = "Faults")]
    fault_events_garbage: Option<Trigger>,
}

/// Reads `START-END`, such as `2-5`.
fn parse_window(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected START-END in hours 0-23, such as 2-5, not {s:?}");
    let (start, end) = s.split_once('-').ok_or_else(bad)?;
    let hour = |h: &str| h.parse::<u32>().ok().filter(|h| *h <= 23).ok_or_else(bad);
    Ok((hour(start)?, hour(end)?))
}

/// Reads `ID=VALUE`; the value may be empty or hold `=`.
fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((id, value)) if !id.is_empty() => Ok((id.to_owned(), value.to_owned())),
        _ => Err(format!(
            "expected ID=VALUE, such as ButlerStartHour=3, not {s:?}"
        )),
    }
}

/// Reads `+HH:MM` or `-HH:MM` (or `Z`).
fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let bad = || format!("expected an offset such as +02:00 or -05:30, not {s:?}");
    if s == "Z" {
        return FixedOffset::east_opt(0).ok_or_else(bad);
    }
    let (sign, rest) = match s.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
    let number = |n: &str, max: i32| {
        (n.len() == 2)
            .then(|| n.parse::<i32>().ok())
            .flatten()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(bad)
    };
    let seconds = number(hours, 23)? * 3600 + number(minutes, 59)? * 60;
    FixedOffset::east_opt(sign * seconds).ok_or_else(bad)
}

impl Args {
    fn faults(&self) -> FaultPlan {
        let mut plan = FaultPlan::none();
        if let Some(latency) = self.fault_latency {
            plan = plan.latency(latency);
        }
        if let Some(status) = self.fault_status {
            plan = plan.status(status, self.fault_status_when);
            if let Some(after) = self.fault_retry_after {
                plan = plan.retry_after(after);
            }
        }
        if let Some(n) = self.fault_400_after_put {
            plan = plan.bad_request_after_settings_change(n);
        }
        if let Some(when) = self.fault_drop {
            plan = plan.drop_connection(when);
        }
        if let Some(when) = self.fault_truncate {
            plan = plan.truncate_body(when);
        }
        if let Some(when) = self.fault_garbage {
            plan = plan.garbage_body(when);
        }
        if let Some(n) = self.fault_events_close_after {
            plan = plan.events_close_after(n);
        }
        if let Some(after) = self.fault_events_close_after_time {
            plan = plan.events_close_after_time(after);
        }
        if let Some(n) = self.fault_events_silent_after {
            plan = plan.events_silent_after(n);
        }
        if let Some(when) = self.fault_events_garbage {
            plan = plan.events_garbage(when);
        }
        plan
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let mut builder = Simulator::builder()
        .listen(args.listen)
        .preset(args.preset)
        .seed(args.seed)
        .task_duration(args.task_duration)
        .window(args.window.0, args.window.1)
        .sessions(args.sessions)
        .utc_offset(args.utc_offset)
        .cancellable_activities(args.cancellable_activities)
        .token_expired(args.token_expired)
        .aggregate_butler_activity(args.aggregate_butler_activity)
        .ping_interval(args.ping_interval)
        .events(!args.no_events)
        .faults(args.faults());
    for name in &args.tasks {
        builder = builder.task(TaskSpec::new(name.clone()));
    }
    for (id, value) in &args.settings {
        builder = builder.setting(id.clone(), value.clone());
    }
    builder = match (&args.token, args.no_auth) {
        (_, true) => builder.no_auth(),
        (Some(token), false) => builder.token(token.clone()),
        (None, false) => Args::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "give a token (--token or PLEX_TOKEN) or --no-auth",
            )
            .exit(),
    };
    if let Some(id) = &args.machine_identifier {
        builder = builder.machine_identifier(id.clone());
    }

    let stop = StopSignals::install();
    let sim = match builder.start().await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("plex-butler-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", sim.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // Nobody can learn the address; serving would be pointless.
        return ExitCode::FAILURE;
    }
    drop(stdout);

    stop.recv().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C and, on Unix, SIGTERM, listened for from creation on.
struct StopSignals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    /// Installs the handlers. Done before the listening line is printed: a
    /// supervisor may send SIGTERM as soon as it reads that line.
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let unix = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Self { unix }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Waits for the first of them.
    async fn recv(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.unix {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_as_two_hours() {
        assert_eq!(parse_window("2-5"), Ok((2, 5)));
        assert_eq!(parse_window("22-3"), Ok((22, 3)));
        for bad in ["2", "2-24", "a-b", "-1-3", ""] {
            assert!(parse_window(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_read_as_an_id_and_a_value() {
        assert_eq!(
            parse_setting("ButlerStartHour=3"),
            Ok(("ButlerStartHour".to_owned(), "3".to_owned()))
        );
        assert_eq!(
            parse_setting("FriendlyName=a=b"),
            Ok(("FriendlyName".to_owned(), "a=b".to_owned()))
        );
        assert_eq!(
            parse_setting("FriendlyName="),
            Ok(("FriendlyName".to_owned(), String::new()))
        );
        for bad in ["ButlerStartHour", "=3", ""] {
            assert!(parse_setting(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn offsets_read_with_a_sign_hours_and_minutes() {
        assert_eq!(
            parse_offset("+02:00"),
            Ok(FixedOffset::east_opt(7200).expect("valid"))
        );
        assert_eq!(
            parse_offset("-05:30"),
            Ok(FixedOffset::west_opt(19800).expect("valid"))
        );
        assert_eq!(
            parse_offset("Z"),
            Ok(FixedOffset::east_opt(0).expect("valid"))
        );
        for bad in ["02:00", "+2:00", "+24:00", "+02:60", "+02", ""] {
            assert!(parse_offset(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_flags_are_consistent() {
        Args::command().debug_assert();
    }
}
