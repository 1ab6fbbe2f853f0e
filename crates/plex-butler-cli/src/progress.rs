//! Shows the progress of `--wait` on stderr: bars on a terminal, plain
//! lines otherwise (one per change, such as `Butler tasks: 40%`).

use std::collections::HashMap;
use std::io::{self, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use plex_butler::{Activity, WaitProgress};

use crate::output::sanitize;

/// Where the progress of a wait goes.
pub enum Display {
    /// Nothing (`--quiet`).
    Silent,
    /// One line per change of an activity, for logs and pipes.
    Lines {
        /// What was last printed for each activity, by uuid.
        shown: HashMap<String, String>,
    },
    /// A bar per activity, redrawn in place.
    Bars {
        bars: MultiProgress,
        by_uuid: HashMap<String, ProgressBar>,
    },
}

impl Display {
    /// Bars when stderr is a terminal, lines otherwise, nothing when quiet.
    pub fn new(quiet: bool, terminal: bool) -> Self {
        if quiet {
            Display::Silent
        } else if terminal {
            Display::Bars {
                bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                by_uuid: HashMap::new(),
            }
        } else {
            Display::Lines {
                shown: HashMap::new(),
            }
        }
    }

    /// Shows one look at the server.
    pub fn update(&mut self, progress: &WaitProgress) {
        match self {
            Display::Silent => {}
            Display::Lines { shown } => {
                let mut err = io::stderr().lock();
                for activity in &progress.activities {
                    let line = line(activity);
                    if shown.get(&activity.uuid) != Some(&line) {
                        let _ = writeln!(err, "{line}");
                        shown.insert(activity.uuid.clone(), line);
                    }
                }
            }
            Display::Bars { bars, by_uuid } => {
                for activity in &progress.activities {
                    let bar = by_uuid
                        .entry(activity.uuid.clone())
                        .or_insert_with(|| bars.add(new_bar(activity)));
                    match activity.progress {
                        Some(percent) => {
                            bar.set_position(u64::from(percent));
                            bar.set_message("");
                        }
                        None => bar.set_message("(progress unknown)"),
                    }
                }
                // Work that left the list has ended.
                by_uuid.retain(|uuid, bar| {
                    let running = progress.activities.iter().any(|a| &a.uuid == uuid);
                    if !running {
                        bar.finish_with_message("done");
                    }
                    running
                });
            }
        }
    }

    /// Ends the display: takes the bars off the screen, so that what is
    /// printed next (the result, or an error) starts on a clean line.
    pub fn finish(&mut self) {
        if let Display::Bars { bars, by_uuid } = self {
            by_uuid.clear();
            let _ = bars.clear();
        }
    }
}

/// `Butler tasks: 40%`, made safe for a terminal.
fn line(activity: &Activity) -> String {
    sanitize(&activity.to_string())
}

fn new_bar(activity: &Activity) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let title = if activity.title.trim().is_empty() {
        &activity.kind
    } else {
        &activity.title
    };
    ProgressBar::new(100)
        .with_style(style)
        .with_prefix(sanitize(title))
}
