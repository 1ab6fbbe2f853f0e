//! The desired state `apply` reads: a TOML file with the maintenance
//! window and the task switches. Read once, before any server is asked;
//! every mistake is reported with the file's line.
//!
//! ```toml
//! [window]
//! start_hour = 1
//! end_hour = 6
//! [tasks]
//! OptimizeDatabase = false
//! BackupDatabase = true
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use plex_butler::{MaintenanceWindow, WindowError};
use serde::Deserialize;
use toml::Spanned;

use crate::failure::{ErrorKind, Failure};
use crate::text::sanitize;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesiredFile {
    window: Option<WindowFile>,
    #[serde(default)]
    tasks: BTreeMap<Spanned<String>, Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    start_hour: Spanned<u32>,
    end_hour: Spanned<u32>,
}

/// The state a file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The file, as given on the command line.
    pub file: String,
    /// The window, if the file sets it.
    pub window: Option<MaintenanceWindow>,
    /// Each task's switch, as typed in the file, in the order of the names.
    pub tasks: Vec<DesiredSwitch>,
}

/// One line of `[tasks]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSwitch {
    /// The name as typed (not yet matched with the server's tasks).
    pub name: String,
    /// Whether it should be on.
    pub enabled: bool,
    /// Where it is in the file, from 1.
    pub line: usize,
}

impl Desired {
    /// Reads `path`. Every error is a usage error (exit code 2) naming the
    /// file and, where known, the line.
    pub fn read(path: &Path) -> Result<Self, Failure> {
        let file = path.display().to_string();
        let text = crate::config::read_small_file(path).map_err(|e| {
            Failure::new(
                ErrorKind::Usage,
                format!("cannot read {}: {e}", sanitize(&file)),
            )
        })?;
        Self::parse(&file, &text)
    }

    /// Reads the text of `file`.
    pub fn parse(file: &str, text: &str) -> Result<Self, Failure> {
        let lines = LineStarts::of(text);
        let at = |offset: usize| format!("{} line {}", sanitize(file), lines.line_of(offset));
        let parsed: DesiredFile = toml::from_str(text).map_err(|e| {
            let place = match e.span() {
                Some(span) => at(span.start),
                None => sanitize(file),
            };
            // The message alone: toml's full form quotes the file's line.
            let message = e.message().trim_end();
            Failure::new(
                ErrorKind::Usage,
                format!(
                    "{place}: {message}. The file takes [window] with start_hour and end_hour, \
                     and [tasks] with TaskName = true or false"
                ),
            )
        })?;
        let window = match parsed.window {
            Some(window) => {
                let (start, end) = (&window.start_hour, &window.end_hour);
                let made = MaintenanceWindow::new(*start.get_ref(), *end.get_ref());
                Some(made.map_err(|error| {
                    let line = match error {
                        WindowError::StartHour(_) => start.span().start,
                        _ => end.span().start,
                    };
                    Failure::new(ErrorKind::Usage, format!("{}: {error}", at(line)))
                })?)
            }
            None => None,
        };
        let mut tasks: Vec<DesiredSwitch> = parsed
            .tasks
            .into_iter()
            .map(|(name, enabled)| DesiredSwitch {
                line: lines.line_of(name.span().start),
                name: name.into_inner(),
                enabled: enabled.into_inner(),
            })
            .collect();
        tasks.sort_by_key(|t| t.line);
        Ok(Self {
            file: file.to_string(),
            window,
            tasks,
        })
    }

    /// `FILE line N`, for messages about one of its lines.
    pub fn place(&self, line: usize) -> String {
        format!("{} line {line}", sanitize(&self.file))
    }
}

/// Where each line of a text starts, found once: a line is then found
/// by a binary search, so that naming the lines of a file's many entries
/// takes time in proportion to the file, not to its square.
struct LineStarts {
    starts: Vec<usize>,
}

impl LineStarts {
    fn of(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(at, _)| at + 1),
            )
            .collect();
        Self { starts }
    }

    /// The line, from 1, of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Desired::parse("upkeep.toml", text) {
            Ok(desired) => panic!("accepted: {desired:?}"),
            Err(failure) => {
                assert_eq!(failure.code, 2, "{}", failure.message);
                failure.message
            }
        }
    }

    #[test]
    fn a_file_reads_as_its_window_and_switches_in_the_order_written() {
        let desired = Desired::parse(
            "upkeep.toml",
            "[window]\nstart_hour = 22\nend_hour = 4\n[tasks]\nOptimizeDatabase = false\nBackupDatabase = true\n",
        )
        .expect("valid");
        assert_eq!(desired.window, MaintenanceWindow::new(22, 4).ok());
        let tasks: Vec<(&str, bool, usize)> = desired
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.enabled, t.line))
            .collect();
        assert_eq!(
            tasks,
            [("OptimizeDatabase", false, 5), ("BackupDatabase", true, 6)]
        );
        let empty = Desired::parse("empty.toml", "").expect("an empty file asks nothing");
        assert_eq!((empty.window, empty.tasks.len()), (None, 0));
    }

    #[test]
    fn a_file_of_twenty_thousand_switches_reads_in_time_in_proportion_to_its_size() {
        let text: String = std::iter::once("[tasks]\n".to_string())
            .chain((0..20_000).map(|i| format!("Task{i:05} = true\n")))
            .collect();
        let began = std::time::Instant::now();
        let desired = Desired::parse("upkeep.toml", &text).expect("the file reads");
        let took = began.elapsed();
        assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
        assert_eq!(desired.tasks.len(), 20_000);
        assert_eq!(desired.tasks[0].line, 2);
        assert_eq!(desired.tasks[19_999].line, 20_001);
        assert_eq!(desired.tasks[19_999].name, "Task19999");
    }

    #[test]
    fn lines_are_counted_from_one_at_every_offset() {
        let lines = LineStarts::of("ab\ncd\n\ne");
        let found: Vec<usize> = (0..=9).map(|at| lines.line_of(at)).collect();
        assert_eq!(found, [1, 1, 1, 2, 2, 2, 3, 4, 4, 4]);
    }

    #[test]
    fn mistakes_name_the_line_they_are_on() {
        let bad_hour = error("[window]\nstart_hour = 1\nend_hour = 24\n");
        assert!(bad_hour.contains("upkeep.toml line 3"), "{bad_hour}");
        assert!(bad_hour.contains("0 to 23"), "{bad_hour}");
        let unknown = error("[window]\nstart_hour = 1\nend_hour = 6\nlength = 5\n");
        assert!(unknown.contains("line 4"), "{unknown}");
        assert!(unknown.contains("length"), "{unknown}");
        let section = error("[windows]\nstart_hour = 1\n");
        assert!(section.contains("line 1"), "{section}");
        let not_a_flag = error("[tasks]\nBackupDatabase = \"yes\"\n");
        assert!(not_a_flag.contains("line 2"), "{not_a_flag}");
        let negative = error("[window]\nstart_hour = -1\nend_hour = 6\n");
        assert!(negative.contains("line 2"), "{negative}");
        let half = error("[window]\nstart_hour = 1\n");
        assert!(half.contains("end_hour"), "{half}");
        let syntax = error("[tasks]\nBackupDatabase = \n");
        assert!(syntax.contains("line 2"), "{syntax}");
    }
}
