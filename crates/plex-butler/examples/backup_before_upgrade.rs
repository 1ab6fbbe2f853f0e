//! Starts a database backup before upgrading Plex Media Server: run it, then
//! upgrade once the backup is done (the Butler API reports no progress; the
//! server's activities show the running backup).
//!
//! ```sh
//! PLEX_URL=http://192.168.1.10:32400 PLEX_TOKEN=... cargo run -p plex-butler --example backup_before_upgrade
//! ```
//!
//! Exits with 0 when the backup started or was already running, with 1 when
//! it could not be started (no server, a refused token, no such task), so a
//! script can stop before the upgrade:
//!
//! ```sh
//! backup_before_upgrade && apt-get install plexmediaserver
//! ```

use std::env::{self, VarError};
use std::process::ExitCode;

use plex_butler::{Client, StartOutcome, TaskName};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let client = match client_from_env() {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    // Starting a task is not repeated on a lost answer (the server may have
    // started it); a second run of this program is safe, though: it reports
    // the backup as already running.
    match client.start(TaskName::BackupDatabase).await {
        Ok(StartOutcome::Started) => {
            println!("database backup started on {}", client.base_url());
            ExitCode::SUCCESS
        }
        Ok(StartOutcome::AlreadyRunning) => {
            println!("database backup already running on {}", client.base_url());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cannot start the database backup on {}: {e}",
                client.base_url()
            );
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
