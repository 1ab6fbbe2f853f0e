//! Backs up the database before upgrading Plex Media Server: once nobody
//! is watching and no Butler work runs, starts the backup, then waits until
//! the server shows no Butler work left, so that the upgrade does not
//! restart the server in the middle of the backup (or of a film).
//!
//! ```sh
//! PLEX_URL=http://192.168.1.10:32400 PLEX_TOKEN=... cargo run -p plex-butler --example backup_before_upgrade [MAX_WAIT_SECONDS]
//! ```
//!
//! Exits with 0 when the backup ran to its end (or had ended before the
//! first look at the server's activities), with 1 when it could not be
//! started (no server, a refused token, no such task, someone still
//! watching after `MAX_WAIT_SECONDS`) or was still running after
//! `MAX_WAIT_SECONDS` (default two hours for each wait), so a script can
//! stop before the upgrade:
//!
//! ```sh
//! backup_before_upgrade && apt-get install plexmediaserver
//! ```
//!
//! What the server can tell: it may show all Butler work as one activity,
//! so the wait ends when all Butler work has ended, not only the backup.

use std::env::{self, VarError};
use std::process::ExitCode;
use std::time::Duration;

use plex_butler::{Client, Plan, PlanEvent, StepOutcome, TaskName};

/// How long each wait (until idle, until the backup ends) may take before
/// this program gives up.
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2 * 3600);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let max_wait = match env::args().nth(1) {
        None => DEFAULT_MAX_WAIT,
        Some(seconds) => match seconds.parse::<u64>() {
            Ok(seconds) => Duration::from_secs(seconds),
            Err(_) => {
                eprintln!("error: MAX_WAIT_SECONDS must be a whole number, not {seconds:?}");
                return ExitCode::FAILURE;
            }
        },
    };
    let client = match client_from_env() {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    // Starting a task is not repeated on a lost answer (the server may have
    // started it); a second run of this program is safe, though: it finds
    // the Butler busy and waits until the first backup has ended before it
    // starts one.
    let server = client.base_url();
    let plan = Plan::new([TaskName::BackupDatabase])
        .when_idle(true)
        .wait_timeout(max_wait)
        .on_event(|event| match event {
            PlanEvent::Busy { watching, .. } if *watching > 0 => {
                println!("waiting: {watching} playback(s) on {server}");
            }
            // "started", "already running", or an outcome a later version
            // tells apart.
            PlanEvent::Started { outcome, .. } => {
                println!("database backup {outcome} on {server}");
            }
            _ => {}
        });
    let report = match client.run_plan(&plan).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: cannot start the database backup on {server}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(step) = report.steps.first() else {
        return ExitCode::FAILURE;
    };
    match &step.outcome {
        StepOutcome::Started | StepOutcome::AlreadyRunning if step.saw_activity => {
            println!("database backup done: no Butler work is left");
            ExitCode::SUCCESS
        }
        StepOutcome::Started | StepOutcome::AlreadyRunning => {
            // It started (the server said so) but never showed as running:
            // it ended before the first look.
            println!("database backup done: it ended before the first look");
            ExitCode::SUCCESS
        }
        StepOutcome::NotStartedBusy(e) => {
            eprintln!("error: the database backup was not started on {server}: {e}");
            ExitCode::FAILURE
        }
        StepOutcome::Failed(e) if step.start.is_some() => {
            eprintln!("error: the database backup has not finished: {e}");
            ExitCode::FAILURE
        }
        other => {
            let reason = other
                .error()
                .map_or_else(|| other.to_string(), ToString::to_string);
            eprintln!("error: cannot start the database backup on {server}: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// A client of the server `PLEX_URL` names, with the token `PLEX_TOKEN`
/// holds, if any.
fn client_from_env() -> Result<Client, String> {
    let url = match env::var("PLEX_URL") {
        Ok(url) => url,
        Err(VarError::NotPresent) => "http://127.0.0.1:32400".to_owned(),
        Err(VarError::NotUnicode(_)) => return Err("PLEX_URL is not valid UTF-8".to_owned()),
    };
    let mut builder = Client::builder(url).product("plex-butler backup example");
    match env::var("PLEX_TOKEN") {
        Ok(token) => builder = builder.token(token),
        Err(VarError::NotPresent) => {}
        Err(VarError::NotUnicode(_)) => return Err("PLEX_TOKEN is not valid UTF-8".to_owned()),
    }
    builder.build().map_err(|e| e.to_string())
}
