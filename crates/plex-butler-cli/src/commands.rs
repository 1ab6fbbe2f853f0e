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
    match &ctx.cli.command {
        Command::List => tasks::list(caller, part).await,
        Command::Show { task } => tasks::show(caller, part, task).await,
        Command::Start { tasks, wait } => tasks::start(caller, target, part, tasks, wait).await,
        Command::Stop { tasks } => tasks::stop(caller, part, tasks).await,
        Command::StartAll { wait } => tasks::start_all(caller, target, part, wait).await,
        Command::StopAll => tasks::stop_all(caller, part).await,
        Command::Activities => tasks::activities(caller, part).await,
        Command::Settings => maintenance::settings(caller, part).await,
        Command::Window { action } => {
            let wanted = action.as_ref().map(|WindowAction::Set { hours }| *hours);
            maintenance::window(caller, part, wanted).await
        }
        Command::Enable { tasks } => maintenance::switch(caller, part, tasks, true).await,
        Command::Disable { tasks } => maintenance::switch(caller, part, tasks, false).await,
        Command::Apply { dry_run, .. } => {
            let Some(desired) = &ctx.desired else {
                return Err(Failure::new(ErrorKind::Other, "the file was not read"));
            };
            maintenance::apply(caller, part, desired, *dry_run).await
        }
        Command::Sessions => maintenance::sessions(caller, part).await,
        Command::Run(args) => steps::run(caller, target, part, args).await,
        Command::Watch(args) => watch::watch(caller, target, part, args).await,
        Command::Schema | Command::Completions { .. } => Ok(()),
    }
}
