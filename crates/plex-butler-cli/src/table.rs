//! What people read: aligned columns and short lines. Every string that
//! comes from the server goes through [`sanitize`] first.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use plex_butler::Activity;
use unicode_width::UnicodeWidthStr;

use crate::output::{ListedTask, Outcome, TaskResult};

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

/// The task list as aligned columns, in the order given.
pub fn print_tasks(out: &mut impl Write, tasks: &[ListedTask]) -> io::Result<()> {
    let header = ["NAME", "TITLE", "ENABLED", "EVERY", "RANDOMIZED", "RUNNING"];
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|listed| {
            let task = &listed.task;
            vec![
                sanitize(task.name.as_str()),
                title(task.title.as_deref()),
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
                sanitize(&activity.title),
                sanitize(&activity.subtitle),
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
