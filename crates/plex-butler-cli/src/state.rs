//! The client identifier, kept in a state file of this tool's own, so that
//! every run is the same device to the server (Plex lists each new
//! identifier as a new device).
//!
//! The file is `$XDG_STATE_HOME/plex-butler/client-identifier`, else
//! `~/.local/state/plex-butler/client-identifier`. It is created whole, mode
//! 0600, in one step (written to a temporary file, then linked in place
//! only if no file is there yet), so that runs started at the same moment
//! agree: the first one's file stays, the others read it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::config::{absolute_env_dir, home_dir};

const FILE_NAME: &str = "client-identifier";

/// Where the identifier is kept, if there is a place for it.
pub fn identifier_path() -> Option<PathBuf> {
    let base = absolute_env_dir("XDG_STATE_HOME")
        .or_else(|| home_dir().map(|h| h.join(".local").join("state")))?;
    Some(base.join("plex-butler").join(FILE_NAME))
}

/// The identifier kept in the state file, created there on the first run.
/// `None` when it can be neither read nor kept: the facade's default
/// (derived from the machine, also stable) serves then.
pub fn client_identifier() -> Option<String> {
    let path = identifier_path()?;
    match read_or_create(&path) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cannot keep a client identifier");
            None
        }
    }
}

fn read_or_create(path: &Path) -> io::Result<String> {
    match read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("the state file has no directory"))?;
    create_private_dir(dir)?;
    let id = new_client_identifier();
    let mut file = tempfile::Builder::new()
        .prefix(".client-identifier.")
        .tempfile_in(dir)?;
    file.write_all(format!("{id}\n").as_bytes())?;
    file.as_file().sync_all()?;
    match file.persist_noclobber(path) {
        Ok(_) => {
            tracing::info!(path = %path.display(), "kept a new client identifier");
            Ok(id)
        }
        // Another run got there first: use its identifier.
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e.error),
    }
}

fn read(path: &Path) -> io::Result<String> {
    let text = fs::read_to_string(path)?;
    let id = text.trim();
    let usable = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if usable {
        Ok(id.to_string())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the state file does not hold a client identifier",
        ))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// A new client identifier: a random UUID.
pub fn new_client_identifier() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_identifiers_are_uuids_and_differ() {
        let a = new_client_identifier();
        assert_ne!(a, new_client_identifier());
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
    }

    #[test]
    fn the_first_identifier_kept_is_the_one_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plex-butler").join(FILE_NAME);
        let first = read_or_create(&path).expect("created");
        assert_eq!(read_or_create(&path).expect("read"), first);
        fs::write(&path, "not an identifier!\n").expect("write");
        assert!(read_or_create(&path).is_err(), "garbage is not used");
    }
}
