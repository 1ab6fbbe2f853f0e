//! The blocking client, for programs without an async runtime: lists the
//! enabled tasks, then starts the tasks named on the command line.
//!
//! ```sh
//! PLEX_URL=http://192.168.1.10:32400 PLEX_TOKEN=... \
//!     cargo run -p plex-butler --features blocking --example blocking -- OptimizeDatabase
//! ```
//!
//! Exits with 1 when a call fails.

use std::env::{self, VarError};
use std::process::ExitCode;

use plex_butler::TaskName;
use plex_butler::blocking::Client;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let client = client_from_env()?;
    let tasks = client
        .tasks()
        .map_err(|e| format!("cannot list the tasks of {}: {e}", client.base_url()))?;
    for task in tasks.iter().filter(|task| task.enabled) {
        println!("{}", task.name);
    }
    for arg in env::args_os().skip(1) {
        let arg = arg
            .to_str()
            .ok_or_else(|| format!("{} is not a task name: not valid UTF-8", arg.display()))?;
        let name: TaskName = arg.parse().map_err(|e| format!("{e}"))?;
        let outcome = client
            .start(name.clone())
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        println!("{name}: {outcome}");
    }
    Ok(())
}

/// A client of the server `PLEX_URL` names, with the token `PLEX_TOKEN`
/// holds, if any.
fn client_from_env() -> Result<Client, String> {
    let url = match env::var("PLEX_URL") {
        Ok(url) => url,
        Err(VarError::NotPresent) => "http://127.0.0.1:32400".to_owned(),
        Err(VarError::NotUnicode(_)) => return Err("PLEX_URL is not valid UTF-8".to_owned()),
    };
    let mut builder = Client::builder(url).product("plex-butler blocking example");
    match env::var("PLEX_TOKEN") {
        Ok(token) => builder = builder.token(token),
        Err(VarError::NotPresent) => {}
        Err(VarError::NotUnicode(_)) => return Err("PLEX_TOKEN is not valid UTF-8".to_owned()),
    }
    builder.build().map_err(|e| e.to_string())
}
