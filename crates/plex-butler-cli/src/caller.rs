//! What every server's run of a command shares ([`Context`]), the part it
//! keeps as it goes ([`Shared`]), and the calls of the facade in this
//! command's terms ([`Caller`]).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use plex_butler::{Client, Error, RetryPolicy, SharedHttpClient, Task, TaskName};

use crate::args::Cli;
use crate::config::{Target, Token};
use crate::desired::Desired;
use crate::failure::{DEFAULT_TIMEOUT, ErrorKind, Failure};
use crate::progress::Screen;
use crate::report::Part;
use crate::sink::Stdout;
use crate::text::short_name;

/// The longest wait between two looks of `--wait` and `run`: often enough
/// for the progress to move on screen.
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
    /// Whether several servers (profiles) run at once.
    pub several: bool,
    /// `apply`: the file's desired state, read before any server is asked.
    pub desired: Option<Desired>,
    /// The HTTP client of every server's client.
    pub http: SharedHttp,
}

/// What every server's HTTP client shares in a run (the TLS setup, the
/// platform's certificates read once), made when the first server's client
/// needs it: reading them per server cost more than the calls themselves.
/// Each server's client has a pool of its own, closed when its run ends.
pub struct SharedHttp {
    servers: Vec<String>,
    made: OnceLock<Result<SharedHttpClient, Failure>>,
}

impl SharedHttp {
    /// For the servers at these URLs (the platform's certificates are
    /// loaded only if one is https).
    pub fn new(servers: Vec<String>) -> Self {
        Self {
            servers,
            made: OnceLock::new(),
        }
    }

    /// The client, made on the first call; its failure, for every server.
    fn get(&self) -> Result<&SharedHttpClient, Failure> {
        self.made
            .get_or_init(|| {
                let count = self.servers.len();
                tracing::debug!("one TLS setup for {count} server(s)");
                SharedHttpClient::for_servers(self.servers.iter().map(String::as_str))
                    .map_err(Failure::from)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A server's part, shared between the run and whoever reports it (after
/// Ctrl-C or `--deadline`, the run is dropped and the part says what was
/// done).
pub type Shared = Arc<Mutex<Part>>;

/// The part, even if a panic elsewhere poisoned its lock.
pub fn lock(part: &Shared) -> MutexGuard<'_, Part> {
    part.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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

impl<'a> Caller<'a> {
    /// The caller of `target`'s server.
    pub fn new(ctx: &'a Context<'a>, target: &Target) -> Result<Self, Failure> {
        let global = &ctx.cli.global;
        let timeout = global.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let mut retry = RetryPolicy::default();
        if let Some(deadline) = ctx.deadline {
            // No retry is planned past the deadline.
            retry = retry.max_elapsed(deadline.saturating_duration_since(Instant::now()));
        }
        let mut builder = Client::builder(&target.server)
            .shared_http_client(ctx.http.get()?)
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
        Ok(Self {
            client,
            timeout,
            ctx,
        })
    }

    /// Awaits a call, its error in this command's terms.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Failure> {
        self.call_worded(call, |_| None).await
    }

    /// Awaits a call, its error in this command's terms: `own`'s words
    /// when it has some for the error, the usual ones otherwise.
    pub async fn call_worded<T>(
        &self,
        call: impl Future<Output = Result<T, Error>>,
        own: impl FnOnce(&Error) -> Option<Failure>,
    ) -> Result<T, Failure> {
        let started = Instant::now();
        call.await.map_err(|error| {
            own(&error).unwrap_or_else(|| {
                Failure::from_call(
                    error,
                    self.client.base_url(),
                    self.timeout,
                    started.elapsed(),
                )
            })
        })
    }

    /// Says lines on stdout as things happen, when the run does (one
    /// server, a table, not quiet).
    pub fn say(&self, lines: impl FnOnce(&mut Stdout) -> std::io::Result<()>) {
        if self.ctx.live && !self.ctx.cli.global.quiet {
            let _ = lines(&mut Stdout::new());
        }
    }

    /// Says a line on stderr, unless `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.ctx.cli.global.quiet {
            use std::io::Write as _;
            let _ = writeln!(anstream::stderr(), "{message}");
        }
    }

    /// Warns on stderr, unless `--quiet`.
    pub fn warn(&self, message: &str) {
        crate::sink::warn(self.ctx.cli.global.quiet, message);
    }

    /// Turns the names the user typed into the server's names,
    /// case-insensitively, and fails before any change when one is
    /// unknown, with the closest name as a hint. `listed`: the server's
    /// tasks, when already read.
    pub async fn resolve_names(
        &self,
        typed: &[String],
        listed: Option<&[Task]>,
    ) -> Result<Vec<TaskName>, Failure> {
        let mut parsed = Vec::with_capacity(typed.len());
        for name in typed {
            let task: TaskName = name.parse().map_err(|_| {
                Failure::new(
                    ErrorKind::Usage,
                    format!("'{}' is not a task name", short_name(name)),
                )
            })?;
            parsed.push((name, task));
        }
        let listed: Vec<TaskName> = match listed {
            Some(tasks) => tasks.iter().map(|t| t.name.clone()).collect(),
            None => self
                .call(self.client.tasks())
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
                // A name this client knows from its spec, that the server
                // does not list: most likely an older server, and no other
                // name is what the user meant.
                None if task.is_known() => {
                    return Err(Failure::new(
                        ErrorKind::UnknownTask,
                        format!(
                            "the server at {} does not list '{}'; it may be older than this client. \
                             Run `plex-butler list` to see the server's tasks.",
                            self.client.base_url(),
                            task.as_str()
                        ),
                    ));
                }
                None => {
                    let hint = match TaskName::suggest_among(wire, &listed) {
                        Some(close) => format!(" Did you mean '{}'?", short_name(close.as_str())),
                        None => String::new(),
                    };
                    return Err(Failure::new(
                        ErrorKind::UnknownTask,
                        format!(
                            "unknown task '{}'.{hint} Run `plex-butler list` to see the server's tasks.",
                            short_name(typed)
                        ),
                    ));
                }
            }
        }
        Ok(names)
    }
}
