//! `watch`: the server's Butler work as it happens, from its event stream,
//! a line per start and per end, printed as they come.
//!
//! The facade decides what is Butler work, what the record of an ended
//! activity holds and how an end missed while the stream was down is
//! found again ([`ActivityLog`], [`plex_butler::Client::events`]); this
//! command asks and renders (`table::watch_line`, `json::print_json`).

use std::time::Instant;

use futures_util::StreamExt as _;
use plex_butler::{Activity, ActivityEventKind, ActivityLog, Error, Event, EventOptions};

use crate::args::WatchArgs;
use crate::caller::{Caller, Shared, lock};
use crate::config::Target;
use crate::failure::{ErrorKind, Failure};
use crate::json::{JsonOutput, print_json};
use crate::progress::Display;
use crate::report::Report;
use crate::sink::Stdout;
use crate::table;
use crate::views::{WatchLine, WatchRecord};

/// Watches `target`'s server until `--for` or `--until-idle` ends it, an
/// error does, or the run is stopped from outside (the lines are printed
/// as they come, so nothing seen is lost then).
pub async fn watch(
    caller: &Caller<'_>,
    target: &Target,
    part: &Shared,
    args: &WatchArgs,
) -> Result<(), Failure> {
    let client = &caller.client;
    let server = client.base_url().to_string();
    // One look first: a wrong token or a server that is down fails here,
    // with the exit code of every other command; after it, the stream
    // reconnects by itself for as long as the watch lasts.
    caller.call(client.activities()).await?;
    let lines = Lines {
        profile: target.profile.clone().filter(|_| caller.ctx.several),
        server: server.clone(),
        json: caller.ctx.cli.global.json(),
    };
    // A limit past what the clock can tell (`--for 400000000000y`) is no
    // limit.
    let until = args
        .duration
        .and_then(|limit| tokio::time::Instant::now().checked_add(limit));
    let mut events = client.events(EventOptions::new().butler_only(!args.all));
    let mut log = ActivityLog::new();
    // As text, the progress of what runs shows on stderr as `--wait`
    // shows it: bars on a terminal, a line per change otherwise.
    let mut display =
        (!lines.json).then(|| Display::new(caller.ctx.screen.clone(), lines.profile.as_deref()));
    let started = Instant::now();
    let mut said = false;
    loop {
        // The reader of the output went away (`watch | head -1`): nothing
        // more can be said, so the watch ends, as other commands do.
        if crate::sink::stdout_closed() {
            return Ok(());
        }
        let next = match until {
            Some(until) => match tokio::time::timeout_at(until, events.next()).await {
                Ok(next) => next,
                Err(_elapsed) => return Ok(()),
            },
            None => events.next().await,
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(error)) => return Err(stream_failure(caller, &server, error, started)),
            None => {
                return Err(Failure::new(
                    ErrorKind::Unreachable,
                    format!("the event stream of {server} ended"),
                ));
            }
        };
        match event {
            Event::Connected { reconnects } => {
                if !said {
                    // On stderr: the stream is open, what runs is known.
                    said = true;
                    caller.note(&match &lines.profile {
                        Some(profile) => format!(
                            "[{}] watching {} (Ctrl-C ends)",
                            crate::text::sanitize(profile),
                            crate::text::sanitize(&server)
                        ),
                        None => {
                            format!("watching {} (Ctrl-C ends)", crate::text::sanitize(&server))
                        }
                    });
                }
                if reconnects > 0 {
                    lines.print(display.as_ref(), WatchRecord::reconnected(reconnects))?;
                }
                if args.until_idle && !log.butler_running() {
                    lines.print(display.as_ref(), WatchRecord::idle())?;
                    return Ok(());
                }
            }
            Event::Activity(change) => {
                // A `started` of an activity the stream already knew (found
                // running when it (re)connected) is not news.
                if change.kind == ActivityEventKind::Started
                    && !change.known
                    && let Some(activity) = &change.activity
                {
                    lines.print(
                        display.as_ref(),
                        WatchRecord::started(activity, change.live),
                    )?;
                }
                let ended = log.record(&change);
                if let Some(display) = &mut display {
                    let running: Vec<Activity> = log.running().cloned().collect();
                    display.show(&running);
                }
                if let Some(ended) = ended {
                    lines.print(display.as_ref(), WatchRecord::ended(&ended))?;
                    if let Report::Watch { ended } = &mut lock(part).report {
                        *ended += 1;
                    }
                    // An end found on a reconnect is followed by the
                    // `Connected` that decides; a live one decides here.
                    if args.until_idle && change.live && !log.butler_running() {
                        lines.print(display.as_ref(), WatchRecord::idle())?;
                        return Ok(());
                    }
                }
            }
            _ => {}
        }
    }
}

/// The failure that ended the stream, in this command's terms.
fn stream_failure(caller: &Caller<'_>, server: &str, error: Error, started: Instant) -> Failure {
    if matches!(error, Error::EventsUnsupported) {
        let mut failure = Failure::new(
            ErrorKind::Other,
            format!(
                "the server at {server} offers no event stream (404 on \
                 /:/eventsource/notifications), which watch needs: an older server, \
                 or a proxy that does not pass it. `plex-butler activities` shows \
                 what runs now"
            ),
        );
        failure.status = Some(404);
        return failure;
    }
    Failure::from_call(error, server, caller.timeout, started.elapsed())
}

/// Where this server's lines go, and what each carries.
struct Lines {
    profile: Option<String>,
    server: String,
    json: bool,
}

impl Lines {
    /// Prints one line at once (flushed): a JSON Lines object or a line of
    /// text.
    fn print(&self, display: Option<&Display>, record: WatchRecord) -> Result<(), Failure> {
        let line = WatchLine {
            profile: self.profile.clone(),
            server: self.server.clone(),
            record,
        };
        let mut out = if self.json {
            Stdout::json()
        } else {
            Stdout::new()
        };
        let printed = match display {
            _ if self.json => print_json(&mut out, &JsonOutput::Watch(line)),
            Some(display) => {
                let mut printed = Ok(());
                display.print(|| printed = table::watch_line(&mut out, &line));
                printed
            }
            None => table::watch_line(&mut out, &line),
        };
        printed.map_err(|e| Failure::new(ErrorKind::Other, format!("cannot write the output: {e}")))
    }
}

/// Prints how the watch of each server ended, when it ended on an error
/// (stderr, and with `-o json` an `error` line); returns the run's exit
/// code, the highest of the servers'.
pub fn report_end(json: bool, several: bool, targets: &[Target], parts: &[Shared]) -> u8 {
    let mut code = crate::args::exit::OK;
    for (target, part) in targets.iter().zip(parts) {
        let part = lock(part);
        code = code.max(part.code());
        let Some(failure) = &part.failure else {
            continue;
        };
        let profile = target.profile.clone().filter(|_| several);
        match &profile {
            Some(profile) => crate::sink::error(&format!(
                "[{}] {}",
                crate::text::sanitize(profile),
                failure.message
            )),
            None => crate::sink::error(&failure.message),
        }
        if json {
            let line = WatchLine {
                profile,
                server: part.server.clone(),
                record: WatchRecord::Error {
                    error: failure.info(),
                },
            };
            let _ = print_json(&mut Stdout::json(), &JsonOutput::Watch(line));
        }
    }
    code
}
