//! Which servers a command runs against, and with which token: flags, then
//! environment variables, then the config file; or the profiles of the
//! config file.
//!
//! The config file is the user's: it is only ever read. Nothing here
//! writes, replaces or changes the mode of any file.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::args::GlobalArgs;

/// The default server: Plex on this machine.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:32400";

/// A problem with the configuration; exits with the usage code.
#[derive(Debug, Clone)]
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
    token_file: Option<PathBuf>,
    /// Written here by earlier versions; still read, never written.
    client_identifier: Option<String>,
    #[serde(default)]
    servers: BTreeMap<String, Profile>,
}

/// One `[servers.NAME]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    url: String,
    token: Option<String>,
    token_file: Option<PathBuf>,
}

/// The token, kept out of `Debug`.
#[derive(Clone)]
pub struct Token(pub String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// One server a command runs against.
#[derive(Debug)]
pub struct Target {
    /// The profile's name; `None` for the server of the flags, the
    /// environment and the top of the config file.
    pub profile: Option<String>,
    /// The server's base URL, as configured.
    pub server: String,
    /// The token, or why it could not be read (that server then fails
    /// alone, the others still run).
    pub token: Result<Option<Token>, ConfigError>,
}

/// Which servers to use, and what the user should know about the files.
#[derive(Debug)]
pub struct Selection {
    /// The servers, one or more.
    pub targets: Vec<Target>,
    /// Whether the user asked for several (`--all-profiles`, or more than
    /// one `--profile`): the output then has one part per server.
    pub several: bool,
    /// A client identifier an older version wrote into the config file.
    pub legacy_client_identifier: Option<String>,
    /// Warnings for the user (loose file modes, ...).
    pub warnings: Vec<String>,
}

/// The most a file the command reads (the config file, a token file, an
/// `apply` file) may hold: far more than any of them needs, little enough
/// to hold in memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a small text file the user named: a regular file of at most
/// [`MAX_FILE_BYTES`], or the null device (read as empty). Anything else
/// (a FIFO or socket, whose opening or reading could block past any
/// deadline, a device such as `/dev/zero` that never ends, a directory)
/// is refused before it is opened; a file that grows past the limit is
/// refused rather than read whole. The error says why, for a message that
/// names the file.
pub fn read_small_file(path: &Path) -> io::Result<String> {
    let meta = fs::metadata(path)?;
    if is_null_device(&meta) {
        return Ok(String::new());
    }
    if !meta.is_file() {
        return Err(io::Error::other("it is not a regular file"));
    }
    let too_large = || {
        io::Error::other(format!(
            "it is larger than {} MiB, more than such a file ever holds",
            MAX_FILE_BYTES / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// `$NAME` when it is an absolute path: the XDG base directory spec says
/// to ignore a relative one.
pub fn absolute_env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// `$HOME`, when set.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The config file to use: `--config`, else `$XDG_CONFIG_HOME/plex-butler/config.toml`,
/// else `~/.config/plex-butler/config.toml`.
pub fn config_path(args: &GlobalArgs) -> Option<PathBuf> {
    if let Some(path) = &args.config {
        return Some(path.clone());
    }
    let base =
        absolute_env_dir("XDG_CONFIG_HOME").or_else(|| home_dir().map(|h| h.join(".config")))?;
    Some(base.join("plex-butler").join("config.toml"))
}

/// Resolves the servers to use: the profiles named (or all of them), else
/// one server from flags > environment > config file.
pub fn resolve(args: &GlobalArgs) -> Result<Selection, ConfigError> {
    let mut warnings = Vec::new();
    let path = config_path(args);
    let file = match &path {
        Some(path) => read_config(path, args.config.is_some(), &mut warnings)?,
        None => FileConfig::default(),
    };
    let base_dir = path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let legacy_client_identifier = file.client_identifier.clone();

    if args.all_profiles || !args.profile.is_empty() {
        let names: Vec<String> = if args.all_profiles {
            file.servers.keys().cloned().collect()
        } else {
            let mut names = Vec::new();
            for name in &args.profile {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            names
        };
        if names.is_empty() {
            return Err(ConfigError(no_profiles(path.as_deref())));
        }
        let mut targets = Vec::with_capacity(names.len());
        for name in names {
            let Some(profile) = file.servers.get(&name) else {
                return Err(ConfigError(unknown_profile(&name, &file, path.as_deref())));
            };
            let token = profile_token(&name, profile, &base_dir, &mut warnings);
            targets.push(Target {
                profile: Some(name),
                server: profile.url.clone(),
                token,
            });
        }
        return Ok(Selection {
            several: targets.len() > 1 || args.all_profiles,
            targets,
            legacy_client_identifier,
            warnings,
        });
    }

    // clap has already applied PLEX_URL to --server.
    let server = args
        .server
        .clone()
        .or(file.server)
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let token = if let Some(token) = &args.token {
        Ok(Some(token.clone()))
    } else if let Some(token_file) = &args.token_file {
        read_token_file(token_file, &mut warnings).map(Some)
    } else if let Some(token) = env_token()? {
        Ok(Some(token))
    } else if let (Some(_), Some(_)) = (&file.token, &file.token_file) {
        Err(ConfigError(
            "the config file sets both token and token_file: keep one".into(),
        ))
    } else if let Some(token_file) = &file.token_file {
        read_token_file(&base_dir.join(token_file), &mut warnings).map(Some)
    } else {
        Ok(file.token)
    };
    let token = token.and_then(checked_token)?;
    Ok(Selection {
        targets: vec![Target {
            profile: None,
            server,
            token: Ok(token),
        }],
        several: false,
        legacy_client_identifier,
        warnings,
    })
}

/// `$PLEX_TOKEN`, when set and not empty. A value that is not UTF-8 is
/// refused: passing over it to the config file's token would use a token
/// the user did not mean.
fn env_token() -> Result<Option<String>, ConfigError> {
    match std::env::var("PLEX_TOKEN") {
        Ok(token) => Ok(Some(token).filter(|t| !t.is_empty())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError(
            "$PLEX_TOKEN is not UTF-8 text (a Plex token is plain letters and digits): \
             check how it was set"
                .into(),
        )),
    }
}

fn profile_token(
    name: &str,
    profile: &Profile,
    base_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<Token>, ConfigError> {
    let token = match (&profile.token, &profile.token_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError(format!(
                "the profile {name:?} sets both token and token_file: keep one"
            )));
        }
        (Some(token), None) => Some(token.clone()),
        // A relative token_file is read from the config file's directory,
        // not from wherever the command runs.
        (None, Some(file)) => Some(read_token_file(&base_dir.join(file), warnings)?),
        (None, None) => None,
    };
    checked_token(token)
}

fn checked_token(token: Option<String>) -> Result<Option<Token>, ConfigError> {
    match token.map(|t| t.trim().to_string()) {
        Some(t) if t.is_empty() => Err(ConfigError(
            "the token is empty: check --token-file, $PLEX_TOKEN or the config file".into(),
        )),
        other => Ok(other.map(Token)),
    }
}

fn no_profiles(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!(
            "the config file {} has no profiles: add a [servers.NAME] table with url and token_file (or token)",
            path.display()
        ),
        None => "there is no config file to read profiles from: set $HOME or pass --config".into(),
    }
}

fn unknown_profile(name: &str, file: &FileConfig, path: Option<&Path>) -> String {
    let shown = crate::text::sanitize(name);
    let where_ = path.map(|p| p.display().to_string()).unwrap_or_default();
    if file.servers.is_empty() {
        return format!("no profile {shown:?}: {}", no_profiles(path));
    }
    // The names are the config file's keys: text like any other.
    let known: Vec<String> = file
        .servers
        .keys()
        .map(|k| crate::text::sanitize(k))
        .collect();
    format!(
        "no profile {shown:?} in {where_}; the profiles are: {}",
        known.join(", ")
    )
}

fn read_config(
    path: &Path,
    explicit: bool,
    warnings: &mut Vec<String>,
) -> Result<FileConfig, ConfigError> {
    let unreadable = |why: String| {
        ConfigError(format!(
            "cannot read the config file {}: {why}",
            path.display()
        ))
    };
    let text = match read_small_file(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !explicit => {
            return Ok(FileConfig::default());
        }
        Err(e) => return Err(unreadable(e.to_string())),
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
    if config.token.is_some() || config.servers.values().any(|p| p.token.is_some()) {
        warn_if_loose(path, warnings);
    }
    Ok(config)
}

/// Whether `meta` is the null device's: `--config /dev/null` means no
/// configuration at all.
#[cfg(unix)]
fn is_null_device(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    meta.file_type().is_char_device()
        && fs::metadata("/dev/null").is_ok_and(|null| null.rdev() == meta.rdev())
}

#[cfg(not(unix))]
fn is_null_device(_meta: &fs::Metadata) -> bool {
    false
}

fn read_token_file(path: &Path, warnings: &mut Vec<String>) -> Result<String, ConfigError> {
    let text = read_small_file(path).map_err(|e| {
        ConfigError(format!(
            "cannot read the token file {}: {e}",
            path.display()
        ))
    })?;
    warn_if_loose(path, warnings);
    // Editors on some systems start a file with a byte order mark; it is
    // no part of the token.
    let token = text.trim_start_matches('\u{feff}').trim();
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

/// Warns when a file holding a token can be read by others. The file is
/// left as it is: changing its mode is the owner's decision.
#[cfg(unix)]
fn warn_if_loose(path: &Path, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            warnings.push(format!(
                "{} holds a token but other users can read it (mode {mode:04o}); run: chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_loose(_path: &Path, _warnings: &mut Vec<String>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let token = Token("s3cr3t-value".into());
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }

    #[test]
    fn files_larger_than_the_limit_are_refused_and_smaller_ones_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("big");
        let limit = usize::try_from(MAX_FILE_BYTES).expect("fits");
        fs::write(&path, "a".repeat(limit)).expect("write");
        assert_eq!(read_small_file(&path).map(|t| t.len()).ok(), Some(limit));
        fs::write(&path, "a".repeat(limit + 1)).expect("write");
        let error = read_small_file(&path).expect_err("one byte too many");
        assert!(error.to_string().contains("larger than"), "{error}");
        assert_eq!(
            read_small_file(Path::new("/dev/null")).ok(),
            Some(String::new())
        );
        let error = read_small_file(Path::new("/dev/zero")).expect_err("endless");
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }

    #[test]
    fn profiles_parse_with_a_token_or_a_token_file() {
        let config: FileConfig = toml::from_str(
            "[servers.home]\nurl = \"http://10.0.0.2:32400\"\ntoken_file = \"home.token\"\n\
             [servers.cabin]\nurl = \"http://10.0.0.3:32400\"\ntoken = \"t\"\n",
        )
        .expect("valid");
        assert_eq!(config.servers.len(), 2);
        assert!(config.servers["home"].token_file.is_some());
        assert!(
            toml::from_str::<FileConfig>("[servers.x]\nurl = \"u\"\nsecret = \"s\"\n").is_err()
        );
    }
}
