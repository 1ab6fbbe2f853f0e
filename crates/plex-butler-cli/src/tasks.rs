//! The commands on tasks: `list`, `show`, `start`, `stop`, `start-all`,
//! `stop-all` and `activities`, with `--wait`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plex_butler::{Activity, TaskName, WaitOptions};

use crate::args::WaitArgs;
use crate::caller::{Caller, Shared, WAIT_MAX_POLL_INTERVAL, lock};
use crate::config::Target;
use crate::failure::{ErrorKind, Failure};
use crate::progress::Display;
use crate::report::{Report, WaitState};
use crate::table;
use crate::text::sanitize;
use crate::views::{Outcome, TaskResult, WaitSummary, listed};

/// `list`: the tasks, sorted by name, each with whether it runs.
pub async fn list(caller: &Caller<'_>, part: &Shared) -> Result<(), Failure> {
    let mut tasks = caller.call(caller.client.tasks()).await?;
    tasks.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    let activities = activities_for_list(caller).await;
    lock(part).report = Report::List {
        tasks: Some(listed(tasks, activities.as_deref())),
    };
    Ok(())
}

/// `show TASK`.
pub async fn show(caller: &Caller<'_>, part: &Shared, task: &str) -> Result<(), Failure> {
    let tasks = caller.call(caller.client.tasks()).await?;
    let name = caller
        .resolve_names(&[task.to_string()], Some(&tasks))
        .await?
        .remove(0);
    let activities = activities_for_list(caller).await;
    // All of them: an activity is the shown task's only if no other task
    // claims it.
    let task = listed(tasks, activities.as_deref())
        .into_iter()
        .find(|t| t.task.name == name);
    lock(part).report = Report::Show { task };
    Ok(())
}

/// `start TASK...`, then `--wait`.
pub async fn start(
    caller: &Caller<'_>,
    target: &Target,
    part: &Shared,
    typed: &[String],
    wait: &WaitArgs,
) -> Result<(), Failure> {
    let names = caller.resolve_names(typed, None).await?;
    for name in &names {
        let outcome = caller.call(caller.client.start(name)).await?;
        act(caller, part, name, outcome.into());
    }
    if wait.wait {
        wait_for_butler(caller, target, part, wait).await?;
    }
    Ok(())
}

/// `stop TASK...`.
pub async fn stop(caller: &Caller<'_>, part: &Shared, typed: &[String]) -> Result<(), Failure> {
    let names = caller.resolve_names(typed, None).await?;
    for name in &names {
        let outcome = caller.call(caller.client.stop(name)).await?;
        act(caller, part, name, outcome.into());
    }
    Ok(())
}

/// `start-all`, then `--wait`.
pub async fn start_all(
    caller: &Caller<'_>,
    target: &Target,
    part: &Shared,
    wait: &WaitArgs,
) -> Result<(), Failure> {
    caller.call(caller.client.start_all()).await?;
    accepted(caller, part);
    if wait.wait {
        wait_for_butler(caller, target, part, wait).await?;
    }
    Ok(())
}

/// `stop-all`.
pub async fn stop_all(caller: &Caller<'_>, part: &Shared) -> Result<(), Failure> {
    caller.call(caller.client.stop_all()).await?;
    accepted(caller, part);
    Ok(())
}

/// `activities`.
pub async fn activities(caller: &Caller<'_>, part: &Shared) -> Result<(), Failure> {
    let activities = caller.call(caller.client.activities()).await?;
    lock(part).report = Report::Activities {
        activities: Some(activities),
    };
    Ok(())
}

fn act(caller: &Caller<'_>, part: &Shared, name: &TaskName, outcome: Outcome) {
    let result = TaskResult {
        task: name.to_string(),
        outcome,
    };
    caller.say(|out| table::print_results(out, std::slice::from_ref(&result)));
    if let Report::Start { results, .. } | Report::Stop { results } = &mut lock(part).report {
        results.push(result);
    }
}

fn accepted(caller: &Caller<'_>, part: &Shared) {
    let mut part = lock(part);
    if let Report::StartAll { accepted, .. } | Report::StopAll { accepted } = &mut part.report {
        *accepted = true;
    }
    caller.say(|out| table::event_lines(out, &part.report));
}

/// The activities, to tell which tasks run; a server that does not answer
/// them still gets its list, with every task's state unknown.
async fn activities_for_list(caller: &Caller<'_>) -> Option<Vec<Activity>> {
    match caller.call(caller.client.activities()).await {
        Ok(activities) => Some(activities),
        Err(failure) => {
            caller.warn(&format!(
                "cannot tell which tasks run ({}); they show as unknown",
                failure.message
            ));
            None
        }
    }
}

/// Waits until no Butler activity is left, showing the progress on stderr
/// and keeping the last look in the part (for Ctrl-C and `--deadline`).
async fn wait_for_butler(
    caller: &Caller<'_>,
    target: &Target,
    part: &Shared,
    args: &WaitArgs,
) -> Result<(), Failure> {
    if let Some(wait) = lock(part).report.wait_mut() {
        wait.state = Some(WaitState {
            started: Instant::now(),
            last: None,
        });
    }
    let mut display = Display::new(caller.ctx.screen.clone(), target.profile.as_deref());
    let seen = Arc::clone(part);
    let mut options = WaitOptions::new()
        .max_poll_interval(WAIT_MAX_POLL_INTERVAL)
        .on_progress(move |look| {
            display.update(look);
            if let Some(state) = lock(&seen).report.wait_mut().and_then(|w| w.state.as_mut()) {
                state.last = Some(look.clone());
            }
        });
    if let Some(timeout) = args.wait_timeout {
        options = options.timeout(timeout);
    }
    let result = caller.call(caller.client.wait_until_idle(options)).await;
    let mut part = lock(part);
    let report = &mut part.report;
    let Some(wait) = report.wait_mut() else {
        return result.map(drop);
    };
    match result {
        Ok(done) => {
            wait.summary = Some(WaitSummary::done(&done));
            Ok(())
        }
        Err(failure) if failure.kind == ErrorKind::WaitTimedOut => {
            let (waited, last) = match &wait.state {
                Some(state) => (state.started.elapsed(), state.last.clone()),
                None => (Duration::ZERO, None),
            };
            let running = last.map(|l| l.activities).unwrap_or_default();
            wait.summary = Some(WaitSummary::stopped(waited, &running, false));
            Err(failure)
        }
        Err(failure) => Err(wait_failure(failure, report)),
    }
}

/// A wait that failed: the tasks were started, which the message says
/// first, and a server without activities cannot be followed at all.
fn wait_failure(failure: Failure, report: &Report) -> Failure {
    let started = if report.results().is_empty() {
        format!("{} was accepted", report.command())
    } else {
        let names: Vec<String> = report.results().iter().map(|r| sanitize(&r.task)).collect();
        format!("{} started", names.join(", "))
    };
    if failure.status == Some(404) {
        return Failure::new(
            failure.kind,
            format!(
                "{started}, but --wait cannot follow the work: this server does not list its activities (GET /activities answered 404). The work goes on"
            ),
        );
    }
    Failure::new(
        failure.kind,
        format!(
            "{started}, but the wait failed: {}. The work goes on",
            failure.message
        ),
    )
}
