//! The commands that read or change how the Butler is set up: `settings`,
//! `window`, `enable`, `disable`, `apply`, and `sessions` (who would be
//! disturbed by maintenance now).

use std::collections::HashMap;

use plex_butler::{ButlerSettings, MaintenanceWindow, SettingValue, TaskName};

use crate::commands::{Caller, Shared, lock, resolve_names};
use crate::desired::Desired;
use crate::failure::Failure;
use crate::output::ErrorKind;
use crate::reports::{SettingChange, SettingsView, SwitchResult, WindowView};
use crate::table::sanitize;

/// The settings that hold the window: the facade sets both through
/// `set_window`; `apply` sends only the hours that change.
const START_HOUR: &str = "ButlerStartHour";
const END_HOUR: &str = "ButlerEndHour";

/// `settings`.
pub async fn settings(caller: &Caller<'_>, record: &Shared) -> Result<(), Failure> {
    let settings = caller.call(caller.client.butler_settings()).await?;
    lock(record).settings = Some(SettingsView::from(&settings));
    Ok(())
}

/// `window`, and `window set START-END` when `hours` are given.
pub async fn window(
    caller: &Caller<'_>,
    record: &Shared,
    hours: Option<(u32, u32)>,
) -> Result<(), Failure> {
    let current = caller.call(caller.client.butler_settings()).await?.window;
    let Some((start, end)) = hours else {
        lock(record).window = Some(current.map(WindowView::from));
        return match current {
            Some(_) => Ok(()),
            None => Err(Failure::new(
                ErrorKind::Other,
                format!(
                    "the server at {} has no maintenance window among its settings \
                     ({START_HOUR} and {END_HOUR} are missing or not hours); \
                     `plex-butler window set START-END` sets one",
                    caller.client.base_url()
                ),
            )),
        };
    };
    let wanted = MaintenanceWindow::new(start, end)
        .map_err(|e| Failure::new(ErrorKind::Usage, e.to_string()))?;
    {
        let mut record = lock(record);
        record.previous_window = current.map(WindowView::from);
        record.window_changed = Some(false);
    }
    if current == Some(wanted) {
        lock(record).window = Some(Some(wanted.into()));
        return Ok(());
    }
    caller.call(caller.client.set_window(wanted)).await?;
    let mut record = lock(record);
    record.window = Some(Some(wanted.into()));
    record.window_changed = Some(true);
    Ok(())
}

/// `enable` (`enabled`) or `disable`: every name resolved and every switch
/// found before one change is sent for the tasks not already so.
pub async fn switch(
    caller: &Caller<'_>,
    record: &Shared,
    typed: &[String],
    enabled: bool,
) -> Result<(), Failure> {
    let names = resolve_names(caller, typed, None).await?;
    let butler = caller.call(caller.client.butler_settings()).await?;
    let mut results: Vec<SwitchResult> = Vec::with_capacity(names.len());
    for name in &names {
        if results.iter().any(|r| r.task == name.as_str()) {
            continue;
        }
        let switch = butler
            .switch(name)
            .ok_or_else(|| no_switch(name, &butler, None))?;
        results.push(SwitchResult {
            task: name.to_string(),
            setting: switch.setting.clone(),
            enabled,
            changed: switch.enabled != enabled,
        });
    }
    let changes: Vec<(String, bool)> = results
        .iter()
        .filter(|r| r.changed)
        .map(|r| (r.setting.clone(), enabled))
        .collect();
    caller.call(caller.client.set_settings(changes)).await?;
    lock(record).switches = results;
    Ok(())
}

/// The failure for a task without a switch: exit code 4, naming the tasks
/// that have one; `place` is where the file named it.
fn no_switch(task: &TaskName, butler: &ButlerSettings, place: Option<String>) -> Failure {
    let switchable: Vec<String> = butler
        .tasks
        .iter()
        .map(|s| sanitize(s.task.as_str()))
        .collect();
    let with = if switchable.is_empty() {
        "the server has no task switches at all".to_string()
    } else {
        format!("tasks with a switch: {}", switchable.join(", "))
    };
    let place = place.map(|p| format!("{p}: ")).unwrap_or_default();
    Failure::new(
        ErrorKind::NoTaskSwitch,
        format!(
            "{place}'{}' has no switch among the server's settings, so it cannot be turned on \
             or off ({with}); nothing was changed",
            sanitize(task.as_str())
        ),
    )
}

/// `apply FILE`: the plan of changes from the server's settings to the
/// file's, sent in one change unless it is empty or a dry run.
pub async fn apply(
    caller: &Caller<'_>,
    record: &Shared,
    desired: &Desired,
    dry_run: bool,
) -> Result<(), Failure> {
    {
        let mut record = lock(record);
        record.file.clone_from(&desired.file);
        record.dry_run = dry_run;
    }
    let switches = resolve_file_names(caller, desired).await?;
    let butler = caller.call(caller.client.butler_settings()).await?;
    let mut changes = Vec::new();
    if let Some((start, end)) = desired.window {
        let current = butler.window;
        let hours = [
            (START_HOUR, start, current.map(|w| w.start_hour())),
            (END_HOUR, end, current.map(|w| w.end_hour())),
        ];
        for (setting, wanted, now) in hours {
            if now.map(u32::from) != Some(wanted) {
                changes.push(SettingChange {
                    setting: setting.to_string(),
                    from: now.map(|h| SettingValue::Int(i64::from(h))),
                    to: SettingValue::Int(i64::from(wanted)),
                });
            }
        }
    }
    for (name, enabled, line) in switches {
        let switch = butler
            .switch(&name)
            .ok_or_else(|| no_switch(&name, &butler, Some(desired.place(line))))?;
        if switch.enabled != enabled {
            changes.push(SettingChange {
                setting: switch.setting.clone(),
                from: Some(SettingValue::Bool(switch.enabled)),
                to: SettingValue::Bool(enabled),
            });
        }
    }
    lock(record).changes = Some(changes.clone());
    if dry_run || changes.is_empty() {
        return Ok(());
    }
    let sent = changes.into_iter().map(|c| (c.setting, c.to));
    caller.call(caller.client.set_settings(sent)).await?;
    lock(record).applied = true;
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
        let name = resolve_names(caller, std::slice::from_ref(&wanted.name), Some(&tasks))
            .await
            .map_err(|f| Failure::new(f.kind, format!("{place}: {}", f.message)))?
            .remove(0);
        if let Some(first) = lines.insert(name.clone(), wanted.line) {
            return Err(Failure::new(
                ErrorKind::Usage,
                format!(
                    "{place}: '{}' is set a second time (first on line {first}); keep one",
                    sanitize(name.as_str())
                ),
            ));
        }
        resolved.push((name, wanted.enabled, wanted.line));
    }
    Ok(resolved)
}

/// `sessions`.
pub async fn sessions(caller: &Caller<'_>, record: &Shared) -> Result<(), Failure> {
    let sessions = caller.call(caller.client.sessions()).await?;
    lock(record).sessions = Some(sessions);
    Ok(())
}
