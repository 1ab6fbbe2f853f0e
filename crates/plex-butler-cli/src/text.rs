//! Text that people read, made safe and short: every string from the
//! server or the user goes through [`sanitize`] before it reaches a
//! terminal, a message or a table, and free text in a table is cut to
//! [`CELL`] columns by [`clip`]; durations are written one way
//! ([`human`]) and counted one way ([`millis`]).

use std::time::{Duration, SystemTime};

use unicode_width::UnicodeWidthChar;

/// The most screen columns a free-text cell (a title, a description)
/// takes in a table; longer text ends in `…`. JSON is never cut.
pub const CELL: usize = 60;

/// Text from the server (or typed by the user), made safe for a terminal:
/// control characters (escape sequences, tabs and line breaks among them)
/// are shown escaped, not obeyed; so are the invisible format characters
/// that reorder or hide text (bidi overrides and isolates, zero-width
/// characters, the byte order mark, line and paragraph separators).
pub fn sanitize(text: &str) -> String {
    if !text.chars().any(unsafe_char) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A character a terminal obeys, or that changes how the text around it
/// reads without showing itself.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
        )
}

/// Text at most `columns` wide on screen: longer text is cut and ends in
/// `…` (which counts as one column). Give it text already [`sanitize`]d.
pub fn clip(text: &str, columns: usize) -> String {
    let mut width = 0;
    for (at, c) in text.char_indices() {
        width += c.width().unwrap_or(0);
        if width > columns {
            let mut kept = &text[..at];
            let mut kept_width: usize = kept.chars().map(|c| c.width().unwrap_or(0)).sum();
            while kept_width + 1 > columns {
                let Some(last) = kept.chars().next_back() else {
                    break;
                };
                kept = &kept[..kept.len() - last.len_utf8()];
                kept_width -= last.width().unwrap_or(0);
            }
            return format!("{kept}…");
        }
    }
    text.to_string()
}

/// The most screen columns a name (a task name as typed, say) takes in a
/// message; a longer one ends in `…`.
pub const NAME: usize = 80;

/// A name in a message: escaped, and cut to [`NAME`] columns, so that a
/// name of a megabyte is not echoed whole.
pub fn short_name(text: &str) -> String {
    clip(&sanitize(text), NAME)
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

/// `2025-01-01T03:00:00.250Z`: UTC, to the millisecond (`watch`'s
/// lines, where runs may take less than a second).
pub fn rfc3339_millis(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
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
    fn bidi_overrides_and_zero_width_characters_are_escaped() {
        assert_eq!(sanitize("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(sanitize("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(sanitize("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(sanitize("\u{feff}bom\u{2060}"), "\\u{feff}bom\\u{2060}");
        assert_eq!(sanitize("日本語 🎉"), "日本語 🎉");
    }

    #[test]
    fn long_text_is_cut_to_its_columns_with_an_ellipsis() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(clip("eleven char", 10), "eleven ch…");
        assert_eq!(clip(&"x".repeat(10_000), CELL).chars().count(), CELL);
        // A wide character that would cross the edge is left out whole.
        assert_eq!(clip("日本語のタスク", 6), "日本…");
    }

    #[test]
    fn names_in_messages_are_escaped_and_cut() {
        assert_eq!(short_name("BackupDatabase"), "BackupDatabase");
        let long = short_name(&"n".repeat(1_000_000));
        assert_eq!(long.chars().count(), NAME);
        assert!(long.ends_with("n…"), "{long}");
        assert_eq!(short_name("a\u{1b}b"), "a\\u{1b}b");
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
