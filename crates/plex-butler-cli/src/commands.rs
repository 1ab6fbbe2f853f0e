//! Runs a command against one server through the facade: each command
//! fills its [`Report`](crate::report::Report) in the server's part as it
//! goes, and the part's failure says what went wrong.

use crate::args::{Command, WindowAction};
use crate::caller::{Caller, Context, Shared, lock};
use crate::config::Target;
use crate::failure::{ErrorKind, Failure};
use crate::{maintenance, steps, table, tasks, watch};

/// Runs the command against `target`, keeping what it does in `part`.
pub async fn run(ctx: &Context<'_>, target: &Target, part: Shared) {
    lock(&part).started = true;
    let result = execute(ctx, target, &part).await;
    let mut part = lock(&part);
    part.finished = true;
    if let Err(failure) = result {
        part.failure = Some(failure);
    }
}

async fn execute(ctx: &Context<'_>, target: &Target, part: &Shared) -> Result<(), Failure> {
    let caller = Caller::new(ctx, target)?;
    let server = caller.client.base_url().to_string();
    lock(part).server.clone_from(&server);
    if ctx.cli.command.changes_server() {
        // First, so that what follows is read as done on that server.
        caller.say(|out| table::server_line(out, &server));
    }
    let caller = &caller;
    // Each command's future is boxed: unboxed, every server's run was as
    // large as the largest command's state (55 KB, `run` and `watch`), and
    // a fleet's runs were that many times 55 KB, moved about as they
    // started. Boxed, a server's run holds only the command it runs.
    match &ctx.cli.command {
        Command::List => Box::pin(tasks::list(caller, part)).await,
        Command::Show { task } => Box::pin(tasks::show(caller, part, task)).await,
        Command::Start { tasks, wait } => {
            Box::pin(tasks::start(caller, target, part, tasks, wait)).await
        }
        Command::Stop { tasks } => Box::pin(tasks::stop(caller, part, tasks)).await,
        Command::StartAll { wait } => Box::pin(tasks::start_all(caller, target, part, wait)).await,
        Command::StopAll => Box::pin(tasks::stop_all(caller, part)).await,
        Command::Activities => Box::pin(tasks::activities(caller, part)).await,
        Command::Settings => Box::pin(maintenance::settings(caller, part)).await,
        Command::Window { action } => {
            let wanted = action.as_ref().map(|WindowAction::Set { hours }| *hours);
            Box::pin(maintenance::window(caller, part, wanted)).await
        }
        Command::Enable { tasks } => Box::pin(maintenance::switch(caller, part, tasks, true)).await,
        Command::Disable { tasks } => {
            Box::pin(maintenance::switch(caller, part, tasks, false)).await
        }
        Command::Apply { dry_run, .. } => {
            let Some(desired) = &ctx.desired else {
                return Err(Failure::new(ErrorKind::Other, "the file was not read"));
            };
            Box::pin(maintenance::apply(caller, part, desired, *dry_run)).await
        }
        Command::Sessions => Box::pin(maintenance::sessions(caller, part)).await,
        Command::Run(args) => Box::pin(steps::run(caller, target, part, args)).await,
        Command::Watch(args) => Box::pin(watch::watch(caller, target, part, args)).await,
        Command::Schema | Command::Completions { .. } => Ok(()),
    }
}
