//! Runs a command against one server through the facade, keeping what it
//! did in that server's [`Record`].

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use plex_butler::{Client, Error, RetryPolicy, Task, TaskName, WaitOptions};

use crate::args::{Cli, Command, WaitArgs, WindowAction};
use crate::config::{Target, Token};
use crate::desired::Desired;
use crate::failure::{DEFAULT_TIMEOUT, Failure};
use crate::output::{self, ErrorKind, Outcome, TaskResult, WaitSummary};
use crate::progress::{Display, Screen};
use crate::record::{Record, WaitState};
use crate::sink::Stdout;
use crate::{maintenance, steps, table};

/// The longest wait between two looks of `--wait`: often enough for the
/// progress to move on screen.
pub const WAIT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What every server's run shares.
pub struct Context<'a> {
    /// The command line.
    pub cli: &'a Cli,
    /// Where `--wait` shows progress.
    pub screen: Screen,
    /// The client identifier to send, when one is kept.
    pub client_identifier: Option<String>,
    /// When `--deadline` passes.
    pub deadline: Option<Instant>,
    /// Whether lines go to stdout as things happen (one server, table).
    pub live: bool,
    /// `apply`: the file's desired state, read before any server is asked.
    pub desired: Option<Desired>,
}

/// A record shared between the run and whoever reports it.
pub type Shared = Arc<Mutex<Record>>;

/// The record, even if a panic elsewhere poisoned its lock.
pub fn lock(record: &Shared) -> MutexGuard<'_, Record> {
    record
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the command against `target`, keeping what it does in `record`.
pub async fn run(ctx: &Context<'_>, target: &Target, record: Shared) {
    let result = execute(ctx, target, &record).await;
    let mut record = lock(&record);
    record.finished = true;
    if let Err(failure) = result {
        record.failure = Some(failure);
    }
}

/// One call of the facade, its error put in this command's terms.
pub struct Caller<'a> {
    /// The client of this server.
    pub client: Client,
    /// The time allowed for each answer.
    pub timeout: Duration,
    /// What every server's run shares.
    pub ctx: &'a Context<'a>,
}

impl Caller<'_> {
    /// Awaits a call, its error in this command's terms.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Failure> {
        let started = Instant::now();
        call.await.map_err(|error| {
            Failure::from_call(
                error,
                self.client.base_url(),
                self.timeout,
                started.elapsed(),
            )
        })
    }

    fn say(&self, lines: impl FnOnce(&mut Stdout) -> std::io::Result<()>) {
        if self.ctx.live && !self.ctx.cli.global.quiet {
            let _ = lines(&mut Stdout::new());
        }
    }
}

fn client(ctx: &Context<'_>, target: &Target) -> Result<(Client, Duration), Failure> {
    let global = &ctx.cli.global;
    let timeout = global.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut retry = RetryPolicy::default();
    if let Some(deadline) = ctx.deadline {
        // No retry is planned past the deadline.
        retry = retry.max_elapsed(deadline.saturating_duration_since(Instant::now()));
    }
    let mut builder = Client::builder(&target.server)
        .product("plex-butler")
        .version(env!("CARGO_PKG_VERSION"))
        .timeout(timeout)
        .retry(retry);
    if let Some(Token(token)) = target.token.clone()? {
        builder = builder.token(token);
    }
    if let Some(id) = &ctx.client_identifier {
        builder = builder.client_identifier(id);
    }
    let client = builder.build().map_err(Failure::from)?;
    Ok((client, timeout))
}

async fn execute(ctx: &Context<'_>, target: &Target, record: &Shared) -> Result<(), Failure> {
    let (client, timeout) = client(ctx, target)?;
    lock(record).server = client.base_url().to_string();
    let caller = Caller {
        client,
        timeout,
        ctx,
    };
    let client = &caller.client;
    match &ctx.cli.command {
        Command::List => {
            let mut tasks = caller.call(client.tasks()).await?;
            tasks.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
            let activities = activities_for_list(&caller).await;
            lock(record).tasks = Some(output::listed(tasks, activities.as_deref()));
        }
        Command::Show { task } => {
            let tasks = caller.call(client.tasks()).await?;
            let name = resolve_names(&caller, std::slice::from_ref(task), Some(&tasks))
                .await?
                .remove(0);
            let activities = activities_for_list(&caller).await;
            // All of them: an activity is the shown task's only if no
            // other task claims it.
            lock(record).task = output::listed(tasks, activities.as_deref())
                .into_iter()
                .find(|t| t.task.name == name);
        }
        Command::Start { tasks, wait } => {
            let names = resolve_names(&caller, tasks, None).await?;
            for name in &names {
                let outcome = caller.call(client.start(name)).await?;
                act(&caller, record, name, outcome.into());
            }
            if wait.wait {
                wait_for_butler(&caller, target, record, wait).await?;
            }
        }
        Command::Stop { tasks } => {
            let names = resolve_names(&caller, tasks, None).await?;
            for name in &names {
                let outcome = caller.call(client.stop(name)).await?;
                act(&caller, record, name, outcome.into());
            }
        }
        Command::StartAll { wait } => {
            caller.call(client.start_all()).await?;
            accepted(&caller, record);
            if wait.wait {
                wait_for_butler(&caller, target, record, wait).await?;
            }
        }
        Command::StopAll => {
            caller.call(client.stop_all()).await?;
            accepted(&caller, record);
        }
        Command::Activities => {
            lock(record).activities = Some(caller.call(client.activities()).await?);
        }
        Command::Settings => maintenance::settings(&caller, record).await?,
        Command::Window { action } => {
            let wanted = action.as_ref().map(|WindowAction::Set { hours }| *hours);
            maintenance::window(&caller, record, wanted).await?;
        }
        Command::Enable { tasks } => maintenance::switch(&caller, record, tasks, true).await?,
        Command::Disable { tasks } => maintenance::switch(&caller, record, tasks, false).await?,
        Command::Apply { dry_run, .. } => {
            let Some(desired) = &ctx.desired else {
                return Err(Failure::new(ErrorKind::Other, "the file was not read"));
            };
            maintenance::apply(&caller, record, desired, *dry_run).await?;
        }
        Command::Sessions => maintenance::sessions(&caller, record).await?,
        Command::Run(args) => steps::run(&caller, target, record, args).await?,
        Command::Schema | Command::Completions { .. } => {}
    }
    Ok(())
}

fn act(caller: &Caller<'_>, record: &Shared, name: &TaskName, outcome: Outcome) {
    let result = TaskResult {
        task: name.to_string(),
        outcome,
    };
    caller.say(|out| table::print_results(out, std::slice::from_ref(&result)));
    lock(record).results.push(result);
}

fn accepted(caller: &Caller<'_>, record: &Shared) {
    let mut record = lock(record);
    record.accepted = true;
    caller.say(|out| record.event_lines(out));
}

/// The activities, to tell which tasks run; a server that does not answer
/// them still gets its list, with every task's state unknown.
async fn activities_for_list(caller: &Caller<'_>) -> Option<Vec<plex_butler::Activity>> {
    match caller.call(caller.client.activities()).await {
        Ok(activities) => Some(activities),
        Err(failure) => {
            crate::warn(
                &caller.ctx.cli.global,
                &format!(
                    "cannot tell which tasks run ({}); they show as unknown",
                    failure.message
                ),
            );
            None
        }
    }
}

/// Waits until no Butler activity is left, showing the progress on stderr
/// and keeping the last look in the record (for Ctrl-C and `--deadline`).
async fn wait_for_butler(
    caller: &Caller<'_>,
    target: &Target,
    record: &Shared,
    args: &WaitArgs,
) -> Result<(), Failure> {
    lock(record).wait = Some(WaitState {
        started: Instant::now(),
        last: None,
    });
    let mut display = Display::new(caller.ctx.screen.clone(), target.profile.as_deref());
    let seen = Arc::clone(record);
    let mut options = WaitOptions::new()
        .max_poll_interval(WAIT_MAX_POLL_INTERVAL)
        .on_progress(move |look| {
            display.update(look);
            if let Some(wait) = &mut lock(&seen).wait {
                wait.last = Some(look.clone());
            }
        });
    if let Some(timeout) = args.wait_timeout {
        options = options.timeout(timeout);
    }
    let result = caller.call(caller.client.wait_until_idle(options)).await;
    let mut record = lock(record);
    match result {
        Ok(report) => {
            record.summary = Some(WaitSummary::done(&report));
            Ok(())
        }
        Err(failure) => {
            if failure.kind == ErrorKind::WaitTimedOut {
                let (waited, last) = match &record.wait {
                    Some(wait) => (wait.started.elapsed(), wait.last.clone()),
                    None => (Duration::ZERO, None),
                };
                let running = last.map(|l| l.activities).unwrap_or_default();
                record.summary = Some(WaitSummary::stopped(waited, &running, false));
                return Err(failure);
            }
            Err(wait_failure(failure, &record))
        }
    }
}

/// A wait that failed: the tasks were started, which the message says
/// first, and a server without activities cannot be followed at all.
fn wait_failure(failure: Failure, record: &Record) -> Failure {
    let started = if record.results.is_empty() {
        format!("{} was accepted", record.command)
    } else {
        let names: Vec<String> = record
            .results
            .iter()
            .map(|r| table::sanitize(&r.task))
            .collect();
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

/// Turns the names the user typed into the server's names, case-insensitively,
/// and fails before any change when one is unknown, with the closest name as
/// a hint. `listed`: the server's tasks, when already read.
pub async fn resolve_names(
    caller: &Caller<'_>,
    typed: &[String],
    listed: Option<&[Task]>,
) -> Result<Vec<TaskName>, Failure> {
    let mut parsed = Vec::with_capacity(typed.len());
    for name in typed {
        let task: TaskName = name.parse().map_err(|_| {
            Failure::new(
                ErrorKind::Usage,
                format!("'{}' is not a task name", table::sanitize(name)),
            )
        })?;
        parsed.push((name, task));
    }
    let listed: Vec<TaskName> = match listed {
        Some(tasks) => tasks.iter().map(|t| t.name.clone()).collect(),
        None => caller
            .call(caller.client.tasks())
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect(),
    };
    let mut names = Vec::with_capacity(parsed.len());
    for (typed, task) in parsed {
        let wire = task.as_str();
        let exact = listed.iter().find(|l| l.as_str() == wire);
        let found = exact.or_else(|| {
            let mut matches = listed
                .iter()
                .filter(|l| l.as_str().eq_ignore_ascii_case(wire));
            match (matches.next(), matches.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        });
        match found {
            Some(name) => names.push(name.clone()),
            // A name this client knows from its spec, that the server does
            // not list: most likely an older server, and no other name is
            // what the user meant.
            None if task.is_known() => {
                return Err(Failure::new(
                    ErrorKind::UnknownTask,
                    format!(
                        "the server at {} does not list '{}'; it may be older than this client. \
                         Run `plex-butler list` to see the server's tasks.",
                        caller.client.base_url(),
                        task.as_str()
                    ),
                ));
            }
            None => {
                let hint = match TaskName::suggest_among(wire, &listed) {
                    Some(close) => format!(" Did you mean '{}'?", table::sanitize(close.as_str())),
                    None => String::new(),
                };
                return Err(Failure::new(
                    ErrorKind::UnknownTask,
                    format!(
                        "unknown task '{}'.{hint} Run `plex-butler list` to see the server's tasks.",
                        table::sanitize(typed)
                    ),
                ));
            }
        }
    }
    Ok(names)
}

/// Prints the lines that were not said as they happened.
pub fn print_part(
    out: &mut impl Write,
    record: &Record,
    live: bool,
    quiet: bool,
) -> std::io::Result<()> {
    if !live && !quiet {
        record.event_lines(out)?;
    }
    record.end_lines(out, quiet)
}
