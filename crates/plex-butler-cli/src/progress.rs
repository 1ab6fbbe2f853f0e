//! Shows the progress of `--wait` (and of `watch` as text) on stderr: bars on a terminal, plain
//! lines otherwise (one per change, such as `Butler tasks: 40%`, and
//! `Butler tasks: done` when the work leaves the list).

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use plex_butler::{Activity, WaitProgress};

use crate::text::{CELL, clip, sanitize};

/// How progress is shown in this run, shared by every server's wait.
#[derive(Clone)]
pub enum Screen {
    /// Nothing (`--quiet`).
    Silent,
    /// One line per change of an activity, for logs and pipes.
    Lines,
    /// A bar per activity, redrawn in place.
    Bars(MultiProgress),
}

impl Screen {
    /// Bars when stderr is a terminal, lines otherwise, nothing when quiet.
    pub fn new(quiet: bool) -> Self {
        if quiet {
            Screen::Silent
        } else if io::stderr().is_terminal() {
            Screen::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Screen::Lines
        }
    }

    /// Takes every bar off the screen and shows the cursor, so that what is
    /// printed next (the result, an error, the shell's prompt) starts on a
    /// clean line.
    /// `cut_short`: the run was stopped mid-draw (Ctrl-C, `--deadline`).
    pub fn restore(&self, cut_short: bool) {
        if let Screen::Bars(bars) = self {
            let _ = bars.clear();
            if cut_short {
                // A bar being drawn when the run was stopped may have left
                // the cursor hidden.
                let _ = write!(io::stderr(), "\u{1b}[?25h");
                let _ = io::stderr().flush();
            }
        }
    }
}

/// The progress of one server's wait.
pub struct Display {
    screen: Screen,
    /// `[profile] ` when several servers run, else empty.
    prefix: String,
    /// What was last printed for each activity, by uuid (lines).
    shown: HashMap<String, (String, String)>,
    /// The bar of each activity, by uuid (bars).
    bars: HashMap<String, ProgressBar>,
    /// The last note, so that a wait that looks again and again says so
    /// once.
    last_note: String,
}

impl Display {
    /// The display of one server's wait on `screen`.
    pub fn new(screen: Screen, profile: Option<&str>) -> Self {
        let prefix = profile
            .map(|p| format!("[{}] ", sanitize(p)))
            .unwrap_or_default();
        Self {
            screen,
            prefix,
            shown: HashMap::new(),
            bars: HashMap::new(),
            last_note: String::new(),
        }
    }

    /// Says how a plan goes (`step 1 of 2: BackupDatabase`), a line on
    /// stderr above any bars; the same note twice in a row is said once.
    /// `line` is already safe for a terminal.
    pub fn note(&mut self, line: &str) {
        if self.last_note == line {
            return;
        }
        self.last_note = line.to_string();
        let line = format!("{}{line}", self.prefix);
        match &self.screen {
            Screen::Silent => {}
            Screen::Lines => {
                let _ = writeln!(io::stderr().lock(), "{line}");
            }
            Screen::Bars(multi) => {
                let _ = multi.println(line);
            }
        }
    }

    /// Shows one look at the server.
    pub fn update(&mut self, progress: &WaitProgress) {
        self.show(&progress.activities);
    }

    /// Prints lines on stdout with the bars out of their way.
    pub fn print(&self, lines: impl FnOnce()) {
        match &self.screen {
            Screen::Bars(multi) => multi.suspend(lines),
            _ => lines(),
        }
    }

    /// Shows the activities running now (those gone are done).
    pub fn show(&mut self, activities: &[Activity]) {
        let running = |uuid: &str| activities.iter().any(|a| a.uuid == uuid);
        match &self.screen {
            Screen::Silent => {}
            Screen::Lines => {
                let mut err = io::stderr().lock();
                for activity in activities {
                    let line = format!("{}{}", self.prefix, sanitize(&activity.to_string()));
                    let changed = self.shown.get(&activity.uuid).map(|(_, l)| l) != Some(&line);
                    if changed {
                        let _ = writeln!(err, "{line}");
                        let title = format!("{}{}", self.prefix, sanitize(title(activity)));
                        self.shown.insert(activity.uuid.clone(), (title, line));
                    }
                }
                // Work that left the list has ended: say so, since its
                // last progress may have been short of 100 %.
                self.shown.retain(|uuid, (title, _)| {
                    let still = running(uuid);
                    if !still {
                        let _ = writeln!(err, "{title}: done");
                    }
                    still
                });
            }
            Screen::Bars(multi) => {
                for activity in activities {
                    let bar = self.bars.entry(activity.uuid.clone()).or_insert_with(|| {
                        multi.add(new_bar(&format!("{}{}", self.prefix, title(activity))))
                    });
                    match activity.progress {
                        Some(percent) => {
                            bar.set_position(u64::from(percent));
                            bar.set_message("");
                        }
                        None => bar.set_message("(progress unknown)"),
                    }
                }
                self.bars.retain(|uuid, bar| {
                    let still = running(uuid);
                    if !still {
                        bar.set_position(100);
                        bar.finish_with_message("done");
                    }
                    still
                });
            }
        }
    }
}

fn title(activity: &Activity) -> &str {
    if activity.title.trim().is_empty() {
        &activity.kind
    } else {
        &activity.title
    }
}

fn new_bar(title: &str) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(100)
        .with_style(style)
        .with_prefix(clip(&sanitize(title), CELL))
}
