//! The commands that read or change how the Butler is set up: `settings`,
//! `window`, `enable`, `disable`, `apply`, and `sessions` (who would be
//! disturbed by maintenance now).

use plex_butler::{DesiredSettings, Error, MaintenanceWindow, TaskName};

use crate::caller::{Caller, Shared, lock};
use crate::desired::Desired;
use crate::failure::{ErrorKind, Failure};
use crate::report::Report;
use crate::text::{sanitize, short_name};
use crate::views::{SettingChange, SettingsView, SwitchResult, WindowView};

/// `settings`.
pub async fn settings(caller: &Caller<'_>, part: &Shared) -> Result<(), Failure> {
    let settings = caller.call(caller.client.butler_settings()).await?;
    lock(part).report = Report::Settings {
        settings: Some(SettingsView::from(&settings)),
    };
    Ok(())
}

/// `window`, and `window set START-END` when `hours` are given.
pub async fn window(
    caller: &Caller<'_>,
    part: &Shared,
    wanted: Option<MaintenanceWindow>,
) -> Result<(), Failure> {
    let butler = caller.call(caller.client.butler_settings()).await?;
    let current = butler.window;
    let Some(wanted) = wanted else {
        lock(part).report = Report::Window {
            window: Some(current.map(WindowView::from)),
            previous: None,
            changed: None,
        };
        return match current {
            Some(_) => Ok(()),
            None => Err(Failure::new(
                ErrorKind::Other,
                format!(
                    "the server at {} has no maintenance window among its settings \
                     ({} and {} are missing or not hours); \
                     `plex-butler window set START-END` sets one",
                    caller.client.base_url(),
                    MaintenanceWindow::START_SETTING,
                    MaintenanceWindow::END_SETTING,
                ),
            )),
        };
    };
    let previous = current.map(WindowView::from);
    lock(part).report = Report::Window {
        window: None,
        previous,
        changed: Some(false),
    };
    let applied = caller
        .call(
            caller
                .client
                .change_butler_settings(&DesiredSettings::new().window(wanted)),
        )
        .await?;
    // What the server holds, read back after the change.
    lock(part).report = Report::Window {
        window: Some(applied.settings.window.map(WindowView::from)),
        previous: applied.before.window.map(WindowView::from),
        changed: Some(!applied.changes.is_empty()),
    };
    Ok(())
}

/// `enable` (`enabled`) or `disable`: every switch found among the
/// server's settings before one change is sent for the tasks not already
/// so; the report says what the server holds, read back.
pub async fn switch(
    caller: &Caller<'_>,
    part: &Shared,
    typed: &[String],
    enabled: bool,
) -> Result<(), Failure> {
    let names = task_names(typed)?;
    let desired = DesiredSettings::new().tasks(names.iter().map(|name| (name.clone(), enabled)));
    let applied = caller
        .call_worded(caller.client.change_butler_settings(&desired), |error| {
            no_switch(error, None)
        })
        .await?;
    let mut results: Vec<SwitchResult> = Vec::with_capacity(names.len());
    for name in &names {
        let switch = applied.settings.switch_for(name).map_err(Failure::from)?;
        if results.iter().any(|r| r.setting == switch.setting) {
            continue;
        }
        results.push(SwitchResult {
            task: switch.task.to_string(),
            setting: switch.setting.clone(),
            enabled: switch.enabled,
            changed: applied.changes.iter().any(|c| c.setting == switch.setting),
        });
    }
    lock(part).report = if enabled {
        Report::Enable { switches: results }
    } else {
        Report::Disable { switches: results }
    };
    Ok(())
}

/// The failure for a task without a switch: exit code 4, naming the tasks
/// that have one; `place` is where the file named it. `None` for another
/// error.
fn no_switch(error: &Error, place: Option<String>) -> Option<Failure> {
    let Error::NoTaskSwitch {
        task, switchable, ..
    } = error
    else {
        return None;
    };
    let hint = match TaskName::suggest_among(task.as_str(), switchable) {
        Some(close) => format!(" Did you mean '{}'?", short_name(close.as_str())),
        None => String::new(),
    };
    let switchable: Vec<String> = switchable.iter().map(|t| sanitize(t.as_str())).collect();
    let with = if switchable.is_empty() {
        "the server has no task switches at all".to_string()
    } else {
        format!("tasks with a switch: {}", switchable.join(", "))
    };
    let place = place.map(|p| format!("{p}: ")).unwrap_or_default();
    Some(Failure::new(
        ErrorKind::NoTaskSwitch,
        format!(
            "{place}'{}' has no switch among the server's settings, so it cannot be turned on \
             or off ({with}); nothing was changed.{hint}",
            short_name(task.as_str())
        ),
    ))
}

/// `apply FILE`: the plan of changes from the server's settings to the
/// file's, sent in one change unless it is empty or a dry run; the report
/// says what the server holds, read back.
pub async fn apply(
    caller: &Caller<'_>,
    part: &Shared,
    desired: &Desired,
    dry_run: bool,
) -> Result<(), Failure> {
    let switches = file_names(desired)?;
    let mut wanted = DesiredSettings::new();
    if let Some(window) = desired.window {
        wanted = wanted.window(window);
    }
    let wanted = wanted.tasks(
        switches
            .iter()
            .map(|(name, enabled, _)| (name.clone(), *enabled)),
    );
    // A task without a switch, or one set both on and off (the facade's
    // rule), is named with its line in the file.
    let refused = |error: &Error| {
        if let Error::ConflictingTaskSwitches { first, .. } = error {
            return conflict(desired, &switches, first);
        }
        let line = match error {
            Error::NoTaskSwitch { task, .. } => switches
                .iter()
                .find(|(name, _, _)| name.as_str().eq_ignore_ascii_case(task.as_str()))
                .map(|(_, _, line)| desired.place(*line)),
            _ => None,
        };
        no_switch(error, line)
    };
    let report = |changes: Vec<SettingChange>, applied| Report::Apply {
        file: desired.file.clone(),
        dry_run,
        changes: Some(changes),
        applied,
    };
    if dry_run {
        let butler = caller.call(caller.client.butler_settings()).await?;
        let changes = butler
            .changes_to(&wanted)
            .map_err(|error| refused(&error).unwrap_or_else(|| Failure::from(error)))?;
        lock(part).report = report(
            changes.into_iter().map(SettingChange::from).collect(),
            false,
        );
        return Ok(());
    }
    let applied = caller
        .call_worded(caller.client.change_butler_settings(&wanted), refused)
        .await?;
    let changes: Vec<SettingChange> = applied
        .changes
        .into_iter()
        .map(|change| {
            let held = applied.settings.held(&change.setting);
            SettingChange {
                held,
                ..SettingChange::from(change)
            }
        })
        .collect();
    let sent = !changes.is_empty();
    lock(part).report = report(changes, sent);
    Ok(())
}

/// The facade's refusal of a task set both on and off
/// ([`Error::ConflictingTaskSwitches`]), said with the file's lines: the
/// facade knows the rule, only the file knows where.
fn conflict(
    desired: &Desired,
    switches: &[(TaskName, bool, usize)],
    first: &TaskName,
) -> Option<Failure> {
    let key = first.as_str().to_ascii_lowercase();
    let mut same = switches
        .iter()
        .filter(|(name, _, _)| name.as_str().eq_ignore_ascii_case(&key));
    let (_, on, first_line) = same.next()?;
    let (name, _, line) = same.find(|(_, enabled, _)| enabled != on)?;
    Some(Failure::new(
        ErrorKind::Usage,
        format!(
            "{}: '{}' is set a second time, the other way (first on line {first_line}); \
             keep one; nothing was changed",
            desired.place(*line),
            short_name(name.as_str())
        ),
    ))
}

/// The task names of the file, each error naming its line. A task named
/// twice is the facade's to judge (the same value twice is one wish; two
/// values are refused, see `conflict`), and so is which has a switch.
fn file_names(desired: &Desired) -> Result<Vec<(TaskName, bool, usize)>, Failure> {
    desired
        .tasks
        .iter()
        .map(|wanted| {
            let place = desired.place(wanted.line);
            let name = task_names(std::slice::from_ref(&wanted.name))
                .map_err(|f| Failure::new(f.kind, format!("{place}: {}", f.message)))?
                .remove(0);
            Ok((name, wanted.enabled, wanted.line))
        })
        .collect()
}

/// The names as typed, as task names; one that cannot be a task's name
/// is a usage error. Which task has a switch is the facade's to say.
fn task_names(typed: &[String]) -> Result<Vec<TaskName>, Failure> {
    typed
        .iter()
        .map(|name| {
            name.parse().map_err(|_| {
                Failure::new(
                    ErrorKind::Usage,
                    format!("'{}' is not a task name", short_name(name)),
                )
            })
        })
        .collect()
}

/// `sessions`.
pub async fn sessions(caller: &Caller<'_>, part: &Shared) -> Result<(), Failure> {
    let sessions = caller.call(caller.client.sessions()).await?;
    lock(part).report = Report::Sessions {
        sessions: Some(sessions),
    };
    Ok(())
}
