//! Where the server, the token and the client identifier come from: flags,
//! then environment variables, then the config file.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::args::GlobalArgs;

/// The default server: Plex on this machine.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:32400";

/// A problem with the configuration; exits with the usage code.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The config file's contents. Unknown keys are refused, so a typo does not
/// pass silently.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    server: Option<String>,
    token: Option<String>,
    client_identifier: Option<String>,
}

/// The token, kept out of `Debug`.
#[derive(Clone)]
pub struct Token(pub String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What the command runs with.
#[derive(Debug)]
pub struct Settings {
    /// The server's base URL.
    pub server: String,
    /// The token, if any source gave one.
    pub token: Option<Token>,
    /// The client identifier kept in the config file, if there is one.
    pub client_identifier: Option<String>,
    /// Warnings for the user (loose file modes, ...).
    pub warnings: Vec<String>,
}

/// The config file to use: `--config`, else `$XDG_CONFIG_HOME/plex-butler/config.toml`,
/// else `~/.config/plex-butler/config.toml`.
pub fn config_path(args: &GlobalArgs) -> Option<PathBuf> {
    if let Some(path) = &args.config {
        return Some(path.clone());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("plex-butler").join("config.toml"))
}

/// Resolves the settings: flags > environment > config file.
pub fn resolve(args: &GlobalArgs) -> Result<Settings, ConfigError> {
    let mut warnings = Vec::new();
    let path = config_path(args);
    let file = match &path {
        Some(path) => read_config(path, args.config.is_some(), &mut warnings)?,
        None => FileConfig::default(),
    };

    // clap has already applied PLEX_URL to --server.
    let server = args
        .server
        .clone()
        .or(file.server)
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());

    let token = if let Some(token) = &args.token {
        Some(token.clone())
    } else if let Some(token_file) = &args.token_file {
        Some(read_token_file(token_file, &mut warnings)?)
    } else if let Some(token) = std::env::var("PLEX_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(token)
    } else {
        file.token
    };
    let token = match token.map(|t| t.trim().to_string()) {
        Some(t) if t.is_empty() => {
            return Err(ConfigError(
                "the token is empty: check --token-file, $PLEX_TOKEN or the config file".into(),
            ));
        }
        other => other.map(Token),
    };

    Ok(Settings {
        server,
        token,
        client_identifier: file.client_identifier,
        warnings,
    })
}

fn read_config(
    path: &Path,
    explicit: bool,
    warnings: &mut Vec<String>,
) -> Result<FileConfig, ConfigError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(FileConfig::default());
        }
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )));
        }
    };
    let config: FileConfig = toml::from_str(&text).map_err(|e| {
        // toml's messages quote the offending line, which could be the
        // token's: keep only the description.
        ConfigError(format!(
            "the config file {} is not valid: {}",
            path.display(),
            e.message()
        ))
    })?;
    if config.token.is_some() {
        warn_if_loose(path, warnings);
    }
    Ok(config)
}

fn read_token_file(path: &Path, warnings: &mut Vec<String>) -> Result<String, ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "cannot read the token file {}: {e}",
            path.display()
        ))
    })?;
    warn_if_loose(path, warnings);
    let token = text.trim();
    if token.is_empty() {
        return Err(ConfigError(format!(
            "the token file {} is empty",
            path.display()
        )));
    }
    if token.contains(['\n', '\r']) {
        return Err(ConfigError(format!(
            "the token file {} holds more than one line; it should hold the token alone",
            path.display()
        )));
    }
    Ok(token.to_string())
}

#[cfg(unix)]
fn warn_if_loose(path: &Path, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            warnings.push(format!(
                "{} holds the token but other users can read it (mode {mode:04o}); run: chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_loose(_path: &Path, _warnings: &mut Vec<String>) {}

/// A new client identifier: 128 random bits as a UUID-shaped string.
pub fn new_client_identifier() -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    // Version 4, variant 1, like a random UUID.
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Keeps a client identifier in the config file (created mode 0600 when
/// new), so the server sees one device across runs, and returns the one
/// the file holds afterwards.
///
/// The new line is added to the file's text, keeping the user's comments
/// and layout, and the result replaces the file in one rename, so runs
/// started at the same moment (two cron jobs) cannot both add a line: the
/// last rename wins, and every run then reads the same single identifier.
pub fn remember_client_identifier(path: &Path, id: &str) -> std::io::Result<String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let existing = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if let Some(kept) = kept_identifier(&existing) {
        return Ok(kept);
    }
    let separator = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let header = if existing.is_empty() {
        "# plex-butler settings: server, token, client_identifier\n"
    } else {
        ""
    };
    let text = format!(
        "{existing}{separator}{header}# Generated once so the server sees one device across runs.\nclient_identifier = \"{id}\"\n"
    );

    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    let temp = path.with_file_name(format!(
        ".{file_name}.{}.{:x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    // Another run may have renamed its file in after ours: use what is there.
    let now = fs::read_to_string(path)?;
    Ok(kept_identifier(&now).unwrap_or_else(|| id.to_string()))
}

/// The `client_identifier` a config text holds, if it parses and has one.
fn kept_identifier(text: &str) -> Option<String> {
    toml::from_str::<FileConfig>(text)
        .ok()
        .and_then(|config| config.client_identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_identifiers_are_uuid_shaped_and_differ() {
        let a = new_client_identifier();
        let b = new_client_identifier();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = Token("s3cr3t-value".into());
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }
}
