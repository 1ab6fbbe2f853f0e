//! `run`: tasks one after another through the facade's `Plan`, each until
//! the server's Butler work has ended, the progress on stderr and a report
//! per step kept as the plan goes (so that Ctrl-C still prints it).

use std::sync::{Arc, Mutex};

use plex_butler::{Plan, PlanEvent, StartOutcome};

use crate::args::RunArgs;
use crate::caller::{Caller, Shared, WAIT_MAX_POLL_INTERVAL, lock};
use crate::config::Target;
use crate::failure::{ErrorKind, Failure};
use crate::progress::Display;
use crate::report::Report;
use crate::text::{human, sanitize};
use crate::views::{CurrentStep, Outcome, StepResult, StepState};

/// Runs the plan the command line describes against one server.
pub async fn run(
    caller: &Caller<'_>,
    target: &Target,
    part: &Shared,
    args: &RunArgs,
) -> Result<(), Failure> {
    let names = caller.resolve_names(&args.tasks, None).await?;
    let total = names.len();
    let server = caller.client.base_url().to_string();
    let timeout = caller.timeout;
    let display = Mutex::new(Display::new(
        caller.ctx.screen.clone(),
        target.profile.as_deref(),
    ));
    let seen = Arc::clone(part);
    let base_url = server.clone();
    // A task whose wait ran out is still running: with --keep-going (and
    // without --when-idle) the next step starts alongside it, and says so.
    let alongside = args.keep_going && !args.when_idle;
    let left_running: Mutex<Option<String>> = Mutex::new(None);
    let on_event = move |event: &PlanEvent<'_>| {
        let mut display = display
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            PlanEvent::StepStarting { index, task } => {
                if let Report::Run { current, .. } = &mut lock(&seen).report {
                    *current = Some(CurrentStep::new(task.to_string()));
                }
                let mut line =
                    format!("step {} of {total}: {}", index + 1, sanitize(task.as_str()));
                let left = left_running
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                if let Some(previous) = left {
                    line.push_str(&format!(
                        " (started while {previous}'s work still runs: its wait ran out; \
                         --when-idle waits for it to end first)"
                    ));
                }
                display.note(&line);
            }
            PlanEvent::Busy {
                watching, running, ..
            } => display.note(&busy_words(*watching, running.len())),
            PlanEvent::Started { task, outcome, .. } => {
                if let Report::Run {
                    current: Some(step),
                    ..
                } = &mut lock(&seen).report
                {
                    step.start = Some(Outcome::from(*outcome));
                }
                let words = match outcome {
                    StartOutcome::AlreadyRunning => "already running; waiting for it to end",
                    _ => "started; waiting for the Butler work to end",
                };
                display.note(&format!("{}: {words}", sanitize(task.as_str())));
            }
            PlanEvent::Progress { progress, .. } => {
                if !progress.activities.is_empty()
                    && let Report::Run {
                        current: Some(step),
                        ..
                    } = &mut lock(&seen).report
                {
                    step.saw_activity = true;
                }
                display.update(progress);
            }
            PlanEvent::StepFinished { report } => {
                let step = StepResult::from_report(report, &base_url, timeout);
                if step.outcome != StepState::Skipped {
                    display.note(&format!(
                        "{}: {} after {}",
                        sanitize(&step.task),
                        step.outcome.words(),
                        human(report.duration)
                    ));
                }
                if alongside
                    && step.outcome == StepState::Failed
                    && step
                        .error
                        .as_ref()
                        .is_some_and(|e| e.kind == ErrorKind::WaitTimedOut)
                {
                    *left_running
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(sanitize(&step.task));
                }
                if let Report::Run { steps, current } = &mut lock(&seen).report {
                    *current = None;
                    steps.push(step);
                }
            }
            _ => {}
        }
    };
    let mut plan = Plan::new(names)
        .keep_going(args.keep_going)
        .when_idle(args.when_idle)
        .max_poll_interval(WAIT_MAX_POLL_INTERVAL)
        .on_event(on_event);
    if let Some(limit) = args.wait_timeout {
        plan = plan.wait_timeout(limit);
    }
    let report = caller.call(caller.client.run_plan(&plan)).await?;
    let steps: Vec<StepResult> = report
        .steps
        .iter()
        .map(|step| StepResult::from_report(step, &server, timeout))
        .collect();
    let failure = plan_failure(&steps);
    lock(part).report = Report::Run {
        steps,
        current: None,
    };
    failure.map_or(Ok(()), Err)
}

/// `waiting until idle: 1 playback, Butler work running`.
fn busy_words(watching: u32, running: usize) -> String {
    let mut why = Vec::new();
    match watching {
        0 => {}
        1 => why.push("someone is watching (1 playback)".to_string()),
        n => why.push(format!("someone is watching ({n} playbacks)")),
    }
    if running > 0 {
        why.push("Butler work is running".to_string());
    }
    format!("waiting until the server is idle: {}", why.join(", "))
}

/// The run's failure: the failed step with the highest exit code (the
/// first of those), naming the others and the steps skipped.
fn plan_failure(steps: &[StepResult]) -> Option<Failure> {
    let failed: Vec<(usize, &StepResult)> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.error.is_some())
        .collect();
    let (index, worst) = failed.iter().copied().reduce(|worst, step| {
        let code = |s: &StepResult| s.error.as_ref().map_or(0, |e| e.exit_code);
        if code(step.1) > code(worst.1) {
            step
        } else {
            worst
        }
    })?;
    let error = worst.error.as_ref()?;
    let what = match worst.outcome {
        StepState::NotStartedBusy => "was not started",
        _ => "failed",
    };
    let mut message = format!(
        "step {} of {}, {}, {what}: {}",
        index + 1,
        steps.len(),
        sanitize(&worst.task),
        error.message
    );
    let others: Vec<String> = failed
        .iter()
        .filter(|(i, _)| *i != index)
        .map(|(_, s)| sanitize(&s.task))
        .collect();
    if !others.is_empty() {
        message.push_str(&format!(
            "; also failed: {} (-o json gives each reason)",
            others.join(", ")
        ));
    }
    let skipped = steps
        .iter()
        .filter(|s| s.outcome == StepState::Skipped)
        .count();
    if skipped > 0 {
        message.push_str(&format!(
            "; {skipped} later step(s) skipped (--keep-going runs them anyway)"
        ));
    }
    let mut failure = Failure::new(error.kind, message);
    failure.code = error.exit_code;
    Some(failure)
}
