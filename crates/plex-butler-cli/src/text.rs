//! Text that people read, made safe and short: every string from the
//! server or the user goes through [`sanitize`] before it reaches a
//! terminal, a message or a table; durations are written one way
//! ([`human`]) and counted one way ([`millis`]).

use std::time::{Duration, SystemTime};

/// Text from the server (or typed by the user), made safe for a terminal:
/// control characters (escape sequences, tabs and line breaks among them)
/// are shown escaped, not obeyed.
pub fn sanitize(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A duration as people read it: `5 s`, `300 ms`, `15.5 s`.
pub fn human(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// A duration in whole milliseconds, as the JSON documents give them.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `2025-01-01T03:00:00Z`: UTC, whole seconds.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_the_server_are_escaped() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(sanitize("two\nlines"), "two\\nlines");
        assert_eq!(sanitize("tab\there"), "tab\\there");
        assert_eq!(sanitize("c1\u{9b}2J"), "c1\\u{9b}2J");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_millis(15_500)), "15.5 s");
    }

    #[test]
    fn durations_count_whole_milliseconds() {
        assert_eq!(millis(Duration::from_micros(1_999)), 1);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
