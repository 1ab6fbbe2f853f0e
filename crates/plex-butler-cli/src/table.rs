//! What people read: aligned columns and short lines. Every string that
//! comes from the server goes through [`sanitize`] first, and free text
//! in a column (titles) is cut to [`CELL`] columns.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use plex_butler::{Activity, Sessions, SettingValue};
use unicode_width::UnicodeWidthStr;

use crate::report::{Part, Report};
use crate::text::{CELL, clip, human, sanitize};
use crate::views::{
    ListedTask, Outcome, SettingChange, SettingsView, StepResult, StepState, SwitchResult,
    TaskResult, WatchLine, WatchRecord, WindowView,
};

/// Prints the lines of a server's part that were not said as they
/// happened (`live`), then what is printed once it has ended.
pub fn print_part(out: &mut impl Write, part: &Part, live: bool, quiet: bool) -> io::Result<()> {
    if !live && !quiet {
        event_lines(out, &part.report)?;
    }
    end_lines(out, &part.report, quiet)
}

/// The server a command that changes something acts on, said first.
pub fn server_line(out: &mut impl Write, server: &str) -> io::Result<()> {
    writeln!(out, "server: {}", sanitize(server))
}

/// The lines said as soon as they happen: what each task did, and that
/// the server took a start-all or stop-all.
pub fn event_lines(out: &mut impl Write, report: &Report) -> io::Result<()> {
    print_results(out, report.results())?;
    match report {
        Report::StartAll { accepted: true, .. } => writeln!(
            out,
            "start-all: the server starts or schedules its enabled tasks by its own criteria"
        ),
        Report::StopAll { accepted: true } => writeln!(
            out,
            "stop-all: running tasks stopped, scheduled tasks cleared"
        ),
        _ => Ok(()),
    }
}

/// What is printed once the part has ended: the data, or the wait's last
/// line.
fn end_lines(out: &mut impl Write, report: &Report, quiet: bool) -> io::Result<()> {
    match report {
        Report::List { tasks: Some(tasks) } => print_tasks(out, tasks)?,
        Report::Show { task: Some(task) } => print_task(out, task)?,
        Report::Activities {
            activities: Some(activities),
        } => print_activities(out, activities)?,
        Report::Settings {
            settings: Some(settings),
        } => print_settings(out, settings)?,
        Report::Window {
            window: Some(window),
            previous,
            changed,
        } => print_window(out, *window, *previous, *changed, quiet)?,
        Report::Enable { switches } | Report::Disable { switches } if !quiet => {
            print_switches(out, switches)?;
        }
        Report::Apply {
            file,
            dry_run,
            changes: Some(changes),
            applied,
        } => print_changes(out, changes, file, *dry_run, *applied, quiet)?,
        Report::Sessions {
            sessions: Some(sessions),
        } => print_sessions(out, sessions)?,
        Report::Run { steps, .. } if !steps.is_empty() && !quiet => print_steps(out, steps)?,
        _ => {}
    }
    if let Some(summary) = report.wait().and_then(|w| w.summary.as_ref())
        && summary.done
        && !quiet
    {
        let said = if summary.saw_activity {
            "done: no Butler work is left"
        } else {
            "done: no Butler work was seen (it ended before the first look, or never started)"
        };
        writeln!(out, "{said}")?;
    }
    Ok(())
}

/// The task list as aligned columns, in the order given.
pub fn print_tasks(out: &mut impl Write, tasks: &[ListedTask]) -> io::Result<()> {
    let header = ["NAME", "TITLE", "ENABLED", "EVERY", "RANDOMIZED", "RUNNING"];
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|listed| {
            let task = &listed.task;
            vec![
                sanitize(task.name.as_str()),
                clip(&title(task.title.as_deref()), CELL),
                yes_no(task.enabled).into(),
                every(task.interval_days),
                yes_no(task.schedule_randomized).into(),
                listed.run_state.words(listed.progress),
            ]
        })
        .collect();
    print_columns(out, &header, &rows)
}

/// One task in full, a field per line.
pub fn print_task(out: &mut impl Write, listed: &ListedTask) -> io::Result<()> {
    let task = &listed.task;
    let description = match task.description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => sanitize(d),
        _ => "-".into(),
    };
    let rows = [
        ("name", sanitize(task.name.as_str())),
        ("title", title(task.title.as_deref())),
        ("description", description),
        ("enabled", yes_no(task.enabled).into()),
        ("every", every(task.interval_days)),
        ("randomized", yes_no(task.schedule_randomized).into()),
        ("running", listed.run_state.words(listed.progress)),
    ];
    for (field, value) in rows {
        writeln!(out, "{:<13}{value}", format!("{field}:"))?;
    }
    Ok(())
}

/// The activities as aligned columns, in the server's order.
pub fn print_activities(out: &mut impl Write, activities: &[Activity]) -> io::Result<()> {
    if activities.is_empty() {
        return writeln!(out, "no activities: the server is idle");
    }
    let header = ["UUID", "TYPE", "TITLE", "SUBTITLE", "PROGRESS"];
    let rows: Vec<Vec<String>> = activities
        .iter()
        .map(|activity| {
            vec![
                sanitize(&activity.uuid),
                sanitize(&activity.kind),
                clip(&sanitize(&activity.title), CELL),
                clip(&sanitize(&activity.subtitle), CELL),
                match activity.progress {
                    Some(percent) => format!("{percent}%"),
                    None => "unknown".to_string(),
                },
            ]
        })
        .collect();
    print_columns(out, &header, &rows)
}

/// One line per task result: `BackupDatabase: started`.
pub fn print_results(out: &mut impl Write, results: &[TaskResult]) -> io::Result<()> {
    for result in results {
        let style = outcome_style(result.outcome);
        writeln!(
            out,
            "{}: {style}{}{style:#}",
            sanitize(&result.task),
            result.outcome.words()
        )?;
    }
    Ok(())
}

/// The Butler's settings: a field per line, then the switches and the
/// behaviours as columns.
pub fn print_settings(out: &mut impl Write, settings: &SettingsView) -> io::Result<()> {
    let text = |value: &Option<String>| match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => sanitize(v),
        _ => "-".into(),
    };
    let channel = match settings.update_channel.as_deref() {
        Some("0") => "0 (public)".to_string(),
        Some("8") => "8 (beta)".to_string(),
        other => text(&other.map(str::to_string)),
    };
    let window = settings
        .window
        .map_or_else(|| "- (not set, or not hours)".to_string(), |w| w.words());
    let rows = [
        ("maintenance window", window),
        ("backup directory", text(&settings.backup_directory)),
        ("update policy", text(&settings.update_policy)),
        ("update channel", channel),
    ];
    for (field, value) in rows {
        writeln!(out, "{:<20}{value}", format!("{field}:"))?;
    }
    writeln!(out)?;
    if settings.tasks.is_empty() {
        writeln!(out, "the server has no task switches")?;
    } else {
        let rows: Vec<Vec<String>> = settings
            .tasks
            .iter()
            .map(|t| {
                vec![
                    sanitize(&t.name),
                    sanitize(&t.setting),
                    yes_no(t.enabled).into(),
                ]
            })
            .collect();
        print_columns(out, &["TASK", "SWITCH", "ENABLED"], &rows)?;
        writeln!(
            out,
            "(tasks not listed have no switch: they cannot be turned on or off)"
        )?;
    }
    if !settings.behaviors.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = settings
            .behaviors
            .iter()
            .map(|b| {
                vec![
                    sanitize(&b.setting),
                    b.task.as_deref().map_or_else(|| "?".into(), sanitize),
                    sanitize(&b.value),
                ]
            })
            .collect();
        print_columns(out, &["BEHAVIOR", "TASK", "VALUE"], &rows)?;
    }
    Ok(())
}

/// The maintenance window, and what `window set` did to it.
pub fn print_window(
    out: &mut impl Write,
    window: Option<WindowView>,
    previous: Option<WindowView>,
    changed: Option<bool>,
    quiet: bool,
) -> io::Result<()> {
    let Some(window) = window else {
        return Ok(());
    };
    match changed {
        None => writeln!(out, "maintenance window: {}", window.words()),
        Some(_) if quiet => Ok(()),
        Some(true) => match previous {
            Some(previous) => writeln!(
                out,
                "maintenance window: {}, was {}",
                window.words(),
                previous.words()
            ),
            None => writeln!(out, "maintenance window: {}", window.words()),
        },
        Some(false) => writeln!(
            out,
            "maintenance window: {} already; nothing to change",
            window.words()
        ),
    }
}

/// One line per task `enable` or `disable` named.
pub fn print_switches(out: &mut impl Write, switches: &[SwitchResult]) -> io::Result<()> {
    for switch in switches {
        let state = if switch.enabled {
            "enabled"
        } else {
            "disabled"
        };
        let (style, words) = if switch.changed {
            (AnsiColor::Green.on_default(), state.to_string())
        } else {
            (AnsiColor::Yellow.on_default(), format!("already {state}"))
        };
        writeln!(out, "{}: {style}{words}{style:#}", sanitize(&switch.task))?;
    }
    Ok(())
}

/// `apply`'s plan of changes, and what became of it. The plan of a dry run
/// is what was asked for: shown even with `--quiet`.
pub fn print_changes(
    out: &mut impl Write,
    changes: &[SettingChange],
    file: &str,
    dry_run: bool,
    applied: bool,
    quiet: bool,
) -> io::Result<()> {
    if changes.is_empty() {
        if quiet {
            return Ok(());
        }
        return writeln!(
            out,
            "nothing to change: the server already matches {}",
            sanitize(file)
        );
    }
    if quiet && !dry_run {
        return Ok(());
    }
    let value =
        |v: Option<&SettingValue>| v.map_or_else(|| "-".into(), |v| sanitize(&v.to_string()));
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            vec![
                sanitize(&c.setting),
                value(c.from.as_ref()),
                value(Some(&c.to)),
            ]
        })
        .collect();
    print_columns(out, &["SETTING", "FROM", "TO"], &rows)?;
    if dry_run {
        writeln!(out, "dry run: nothing was changed")
    } else if applied {
        let n = changes.len();
        let settings = if n == 1 { "setting" } else { "settings" };
        let held: Vec<String> = changes
            .iter()
            .map(|c| format!("{} = {}", sanitize(&c.setting), value(c.held.as_ref())))
            .collect();
        writeln!(
            out,
            "applied: {n} {settings} changed in one request; read back: {}",
            held.join(", ")
        )
    } else {
        Ok(())
    }
}

/// Who watches what.
pub fn print_sessions(out: &mut impl Write, sessions: &Sessions) -> io::Result<()> {
    if sessions.is_idle() {
        return writeln!(out, "nobody is watching");
    }
    let listed = sessions.playing.len();
    let count = sessions.count as usize;
    let plural = if count == 1 { "playback" } else { "playbacks" };
    if listed == count {
        writeln!(out, "{count} {plural}:")?;
    } else {
        writeln!(out, "{count} {plural} ({listed} listed):")?;
    }
    let or_dash = |text: &str| {
        if text.trim().is_empty() {
            "-".into()
        } else {
            sanitize(text)
        }
    };
    let rows: Vec<Vec<String>> = sessions
        .playing
        .iter()
        .map(|p| {
            let title = match p.grandparent_title.as_deref().filter(|g| !g.is_empty()) {
                Some(show) => format!("{} - {}", sanitize(show), or_dash(&p.title)),
                None => or_dash(&p.title),
            };
            vec![
                or_dash(&p.user),
                clip(&title, CELL),
                or_dash(&p.player),
                or_dash(&p.state),
            ]
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    print_columns(out, &["USER", "TITLE", "PLAYER", "STATE"], &rows)
}

/// The report of `run`: a row per step.
pub fn print_steps(out: &mut impl Write, steps: &[StepResult]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|step| {
            let ran = !matches!(step.outcome, StepState::Skipped);
            vec![
                sanitize(&step.task),
                step.outcome.words().to_string(),
                if ran {
                    step.started_at.clone()
                } else {
                    "-".into()
                },
                if ran {
                    human(std::time::Duration::from_millis(step.duration_ms))
                } else {
                    "-".into()
                },
                if ran {
                    yes_no(step.saw_activity).into()
                } else {
                    "-".into()
                },
            ]
        })
        .collect();
    print_columns(
        out,
        &["TASK", "OUTCOME", "STARTED (UTC)", "DURATION", "WORK SEEN"],
        &rows,
    )
}

/// The server's title, or `-` when it gave none (nothing is made up).
fn title(title: Option<&str>) -> String {
    match title.map(str::trim) {
        Some(t) if !t.is_empty() => sanitize(t),
        _ => "-".into(),
    }
}

fn every(days: u32) -> String {
    match days {
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

fn outcome_style(outcome: Outcome) -> Style {
    match outcome {
        Outcome::Started | Outcome::Stopped => AnsiColor::Green.on_default(),
        Outcome::AlreadyRunning | Outcome::NotRunning => AnsiColor::Yellow.on_default(),
    }
}

/// Rows under a bold header, each column as wide as its widest cell on
/// screen (a CJK character or an emoji takes two columns).
fn print_columns(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_string()).collect();
    write_row(out, &header, &widths, Some(Style::new().bold()))?;
    for row in rows {
        write_row(out, row, &widths, None)?;
    }
    Ok(())
}

fn write_row(
    out: &mut impl Write,
    cells: &[String],
    widths: &[usize],
    style: Option<Style>,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        line.push_str(cell);
        if i + 1 < cells.len() {
            let pad = width.saturating_sub(cell.width());
            line.extend(std::iter::repeat_n(' ', pad + 2));
        }
    }
    match style {
        Some(style) => writeln!(out, "{style}{line}{style:#}"),
        None => writeln!(out, "{line}"),
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// One line of `watch` for people: when, what, the activity's title (and
/// subtitle), and for an end how long it ran; `[profile]` first when
/// several profiles are watched.
pub fn watch_line(out: &mut impl Write, line: &WatchLine) -> io::Result<()> {
    let mut text = String::new();
    if let Some(profile) = &line.profile {
        text.push_str(&format!("[{}] ", sanitize(profile)));
    }
    let what = |activity: &Activity| {
        let title = clip(&sanitize(&activity.title), CELL);
        match activity.subtitle.trim() {
            "" => title,
            subtitle => format!("{title} ({})", clip(&sanitize(subtitle), CELL)),
        }
    };
    match &line.record {
        WatchRecord::Started { at, activity, live } => {
            text.push_str(&format!("{at}  started  {}", what(activity)));
            if !*live {
                text.push_str("  (already running when the watch began or reconnected)");
            }
        }
        WatchRecord::Ended {
            uuid,
            activity,
            ended,
            duration_ms,
            reconciled,
            ..
        } => {
            let title = activity
                .as_ref()
                .map_or_else(|| sanitize(uuid), |a| clip(&sanitize(&a.title), CELL));
            text.push_str(&format!("{ended}  ended    {title}"));
            if let Some(ms) = duration_ms {
                text.push_str(&format!(
                    "  after {}",
                    human(std::time::Duration::from_millis(*ms))
                ));
            }
            if *reconciled {
                text.push_str("  (end found after a reconnect)");
            }
        }
        WatchRecord::Reconnected { at, reconnects } => {
            text.push_str(&format!(
                "{at}  reconnected to the event stream ({reconnects} attempts so far)"
            ));
        }
        WatchRecord::Idle { at } => text.push_str(&format!("{at}  idle: no Butler work is left")),
        WatchRecord::Error { error } => text.push_str(&format!("error: {}", error.message)),
    }
    text.push('\n');
    out.write_all(text.as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_what_the_terminal_shows() {
        let rows = vec![
            vec!["日本語".to_string(), "x".to_string()],
            vec!["abc".to_string(), "y".to_string()],
        ];
        let mut out = Vec::new();
        print_columns(&mut out, &["NAME", "V"], &rows).expect("written");
        let text = String::from_utf8(out).expect("UTF-8");
        // Every line's last column starts at the same screen column.
        let starts: Vec<usize> = text
            .lines()
            .map(|l| l.replace("\u{1b}[1m", "").replace("\u{1b}[0m", ""))
            .map(|l| {
                let last = l.rfind(' ').map_or(0, |i| i + 1);
                l[..last].width()
            })
            .collect();
        assert_eq!(starts, [8, 8, 8], "{text}");
    }
}
