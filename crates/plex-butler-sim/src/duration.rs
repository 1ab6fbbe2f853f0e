//! Durations as people write them on a command line: `3s`, `500ms`, `2m`,
//! `1h 30m`, read by `humantime`.

use std::fmt;
use std::time::Duration;

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDurationError(String);

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: expected a number and a unit (ms, s, m or h), such as 500ms, 3s or 2m",
            self.0
        )
    }
}

impl std::error::Error for ParseDurationError {}

/// Reads numbers followed by units (`ms`, `s`, `m`, `h`, and the longer
/// spellings `humantime` knows), such as `500ms` or `1m 30s`. `0` needs no
/// unit.
///
/// ```
/// use plex_butler_sim::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, ParseDurationError> {
    humantime::parse_duration(s).map_err(|_| ParseDurationError(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_every_unit() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn garbage_durations_are_refused() {
        for bad in [
            "",
            "s",
            "3",
            "-3s",
            "3 parsecs",
            "soon",
            "99999999999999999999s",
            "18446744073709551615h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
