//! The commands that read or change how the Butler is set up: `settings`,
//! `window`, `enable`, `disable`, `apply`, and `sessions` (who would be
//! disturbed by maintenance now).

use std::collections::HashMap;

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
    let changes = butler
        .changes_to(&DesiredSettings::new().window(wanted))
        .map_err(Failure::from)?;
    let changed = !changes.is_empty();
    if changed {
        let sent = changes.into_iter().map(|c| (c.setting, c.to));
        caller.call(caller.client.set_settings(sent)).await?;
    }
    lock(part).report = Report::Window {
        window: Some(Some(wanted.into())),
        previous,
        changed: Some(changed),
    };
    Ok(())
}

/// `enable` (`enabled`) or `disable`: every name resolved and every switch
/// found before one change is sent for the tasks not already so.
pub async fn switch(
    caller: &Caller<'_>,
    part: &Shared,
    typed: &[String],
    enabled: bool,
) -> Result<(), Failure> {
    let names = caller.resolve_names(typed, None).await?;
    let butler = caller.call(caller.client.butler_settings()).await?;
    let desired = DesiredSettings::new().tasks(names.iter().map(|name| (name.clone(), enabled)));
    let changes = butler
        .changes_to(&desired)
        .map_err(|error| no_switch(&error, None).unwrap_or_else(|| Failure::from(error)))?;
    let mut results: Vec<SwitchResult> = Vec::with_capacity(names.len());
    for name in &names {
        if results.iter().any(|r| r.task == name.as_str()) {
            continue;
        }
        let Some(switch) = butler.switch(name) else {
            continue;
        };
        results.push(SwitchResult {
            task: name.to_string(),
            setting: switch.setting.clone(),
            enabled,
            changed: changes.iter().any(|c| c.task.as_ref() == Some(name)),
        });
    }
    let sent = changes.into_iter().map(|c| (c.setting, c.to));
    caller.call(caller.client.set_settings(sent)).await?;
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
             or off ({with}); nothing was changed",
            short_name(task.as_str())
        ),
    ))
}

/// `apply FILE`: the plan of changes from the server's settings to the
/// file's, sent in one change unless it is empty or a dry run.
pub async fn apply(
    caller: &Caller<'_>,
    part: &Shared,
    desired: &Desired,
    dry_run: bool,
) -> Result<(), Failure> {
    let switches = resolve_file_names(caller, desired).await?;
    let butler = caller.call(caller.client.butler_settings()).await?;
    let mut wanted = DesiredSettings::new();
    if let Some(window) = desired.window {
        wanted = wanted.window(window);
    }
    let wanted = wanted.tasks(
        switches
            .iter()
            .map(|(name, enabled, _)| (name.clone(), *enabled)),
    );
    let changes: Vec<SettingChange> = butler
        .changes_to(&wanted)
        .map_err(|error| {
            let line = match &error {
                Error::NoTaskSwitch { task, .. } => switches
                    .iter()
                    .find(|(name, _, _)| name == task)
                    .map(|(_, _, line)| desired.place(*line)),
                _ => None,
            };
            no_switch(&error, line).unwrap_or_else(|| Failure::from(error))
        })?
        .into_iter()
        .map(SettingChange::from)
        .collect();
    let planned = |applied| Report::Apply {
        file: desired.file.clone(),
        dry_run,
        changes: Some(changes.clone()),
        applied,
    };
    lock(part).report = planned(false);
    if dry_run || changes.is_empty() {
        return Ok(());
    }
    let sent = changes.iter().map(|c| (c.setting.clone(), c.to.clone()));
    caller.call(caller.client.set_settings(sent)).await?;
    lock(part).report = planned(true);
    Ok(())
}

/// The file's task names matched with the server's tasks (one list for
/// all), each error naming its line; a task named twice is refused.
async fn resolve_file_names(
    caller: &Caller<'_>,
    desired: &Desired,
) -> Result<Vec<(TaskName, bool, usize)>, Failure> {
    if desired.tasks.is_empty() {
        return Ok(Vec::new());
    }
    let tasks = caller.call(caller.client.tasks()).await?;
    let mut lines: HashMap<TaskName, usize> = HashMap::new();
    let mut resolved = Vec::with_capacity(desired.tasks.len());
    for wanted in &desired.tasks {
        let place = desired.place(wanted.line);
        let name = caller
            .resolve_names(std::slice::from_ref(&wanted.name), Some(&tasks))
            .await
            .map_err(|f| Failure::new(f.kind, format!("{place}: {}", f.message)))?
            .remove(0);
        if let Some(first) = lines.insert(name.clone(), wanted.line) {
            return Err(Failure::new(
                ErrorKind::Usage,
                format!(
                    "{place}: '{}' is set a second time (first on line {first}); keep one",
                    short_name(name.as_str())
                ),
            ));
        }
        resolved.push((name, wanted.enabled, wanted.line));
    }
    Ok(resolved)
}

/// `sessions`.
pub async fn sessions(caller: &Caller<'_>, part: &Shared) -> Result<(), Failure> {
    let sessions = caller.call(caller.client.sessions()).await?;
    lock(part).report = Report::Sessions {
        sessions: Some(sessions),
    };
    Ok(())
}
