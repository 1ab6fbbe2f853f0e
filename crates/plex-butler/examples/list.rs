//! Lists the Butler tasks of a Plex Media Server: name, schedule and whether
//! each is enabled.
//!
//! ```sh
//! PLEX_URL=http://192.168.1.10:32400 PLEX_TOKEN=... cargo run -p plex-butler --example list
//! ```
//!
//! `PLEX_URL` defaults to `http://127.0.0.1:32400`; without `PLEX_TOKEN` no
//! token is sent (enough on a network the server trusts).

use std::env::{self, VarError};
use std::process::ExitCode;

use plex_butler::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let client = match client_from_env() {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let tasks = match client.tasks().await {
        Ok(tasks) => tasks,
        Err(e) => {
            eprintln!("error: cannot list the tasks of {}: {e}", client.base_url());
            return ExitCode::FAILURE;
        }
    };
    for task in &tasks {
        let state = if task.enabled { "enabled" } else { "disabled" };
        println!(
            "{:<32} every {} day(s), {state}",
            task.name, task.interval_days
        );
    }
    ExitCode::SUCCESS
}

/// A client of the server `PLEX_URL` names, with the token `PLEX_TOKEN`
/// holds, if any.
fn client_from_env() -> Result<Client, String> {
    let url = match env::var("PLEX_URL") {
        Ok(url) => url,
        Err(VarError::NotPresent) => "http://127.0.0.1:32400".to_owned(),
        Err(VarError::NotUnicode(_)) => return Err("PLEX_URL is not valid UTF-8".to_owned()),
    };
    let mut builder = Client::builder(url).product("plex-butler list example");
    match env::var("PLEX_TOKEN") {
        Ok(token) => builder = builder.token(token),
        Err(VarError::NotPresent) => {}
        Err(VarError::NotUnicode(_)) => return Err("PLEX_TOKEN is not valid UTF-8".to_owned()),
    }
    builder.build().map_err(|e| e.to_string())
}
