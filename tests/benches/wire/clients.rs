//! The three contenders, each sending the same requests and reading the
//! whole answer:
//!
//! - the floor: a plain `reqwest` request and a `serde_json` decode into
//!   structs of its own, what anyone would write by hand;
//! - the raw client generated from the spec;
//! - the facade, as users get it from `Client::builder` (default retries,
//!   timeouts and tracing span).
//!
//! Every request carries the same headers: the facade's (`X-Plex-Token`,
//! `Accept: application/json`, the `X-Plex-*` identity) plus the raw
//! client's `api-version`, with the same `User-Agent`. Each contender has
//! its own connection pool.

use futures_util::StreamExt as _;
use plex_butler::raw::ClientInfo as _;
use plex_butler::raw::types as raw_types;
use plex_butler::{StartOutcome, StopOutcome, TaskName};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::server::TOKEN;

/// One of the contenders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Floor,
    Raw,
    Facade,
}

impl Layer {
    pub const ALL: [Layer; 3] = [Layer::Floor, Layer::Raw, Layer::Facade];

    pub fn index(self) -> usize {
        match self {
            Layer::Floor => 0,
            Layer::Raw => 1,
            Layer::Facade => 2,
        }
    }
}

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `GET /butler`, decoded.
    List,
    /// `POST /butler/{task}` then `DELETE /butler/{task}`, each worker on a
    /// task of its own.
    StartStop,
}

/// The floor's own form of `GET /butler`: what the JSON holds, in plain
/// types.
#[derive(serde::Deserialize)]
struct FloorList {
    #[serde(rename = "ButlerTasks")]
    butler_tasks: FloorTasks,
}

#[derive(serde::Deserialize)]
struct FloorTasks {
    #[serde(rename = "ButlerTask", default)]
    butler_task: Vec<FloorTask>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FloorTask {
    name: String,
    title: Option<String>,
    description: Option<String>,
    enabled: bool,
    interval: u32,
    schedule_randomized: bool,
}

/// `GET /butler` as each contender decodes it.
enum Listing {
    Floor(FloorList),
    Raw(raw_types::ButlerTasksResponse),
    Facade(Vec<plex_butler::Task>),
}

/// What every contender must agree on about one task.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen {
    name: String,
    title: Option<String>,
    description: Option<String>,
    enabled: bool,
    interval: u32,
    randomized: bool,
}

/// The contenders against one server.
pub struct Clients {
    floor: reqwest::Client,
    list_url: String,
    task_urls: Vec<String>,
    /// Used only through `.raw()`: the generated client exactly as the
    /// facade configures it, with a pool of its own.
    raw: plex_butler::Client,
    facade: plex_butler::Client,
    names: Vec<TaskName>,
    raw_names: Vec<raw_types::TaskName>,
}

impl Clients {
    /// Clients of the server at `base_url`, whose tasks `task_names` may be
    /// started and stopped.
    pub fn new(base_url: &str, task_names: &[String]) -> Result<Self, String> {
        let facade = || {
            plex_butler::Client::builder(base_url)
                .token(TOKEN)
                .build()
                .map_err(|e| format!("the facade client cannot be made: {e}"))
        };
        let facade = facade()?;
        let raw = plex_butler::Client::builder(base_url)
            .token(TOKEN)
            .build()
            .map_err(|e| format!("the raw client cannot be made: {e}"))?;

        // The facade's headers, and what the generated code adds.
        let mut headers: HeaderMap = facade.raw().inner().clone();
        headers.insert(
            HeaderName::from_static("api-version"),
            HeaderValue::from_static(plex_butler::raw::Client::api_version()),
        );
        let floor = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("plex-butler/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the plain reqwest client cannot be made: {e}"))?;

        let names = task_names
            .iter()
            .map(|name| {
                name.parse::<TaskName>()
                    .map_err(|e| format!("task name {name:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let raw_names = names.iter().map(raw_types::TaskName::from).collect();
        let base = facade.base_url().to_owned();
        Ok(Self {
            floor,
            list_url: format!("{base}/butler"),
            task_urls: task_names
                .iter()
                .map(|name| format!("{base}/butler/{name}"))
                .collect(),
            raw,
            facade,
            names,
            raw_names,
        })
    }

    /// Runs one operation; `worker` picks the task of [`Op::StartStop`].
    pub async fn run(&self, op: Op, layer: Layer, worker: usize) -> Result<(), String> {
        match op {
            Op::List => {
                // Decoded, then dropped: no contender does more than its
                // own decoding.
                std::hint::black_box(self.fetch(layer).await?);
                Ok(())
            }
            Op::StartStop => self.start_stop(layer, worker).await,
        }
    }

    /// `GET /butler`, decoded completely into the contender's own types.
    async fn fetch(&self, layer: Layer) -> Result<Listing, String> {
        match layer {
            Layer::Floor => {
                let response = self
                    .floor
                    .get(&self.list_url)
                    .send()
                    .await
                    .map_err(|e| format!("floor: {e}"))?;
                expect_status(response.status(), StatusCode::OK, "floor GET")?;
                let body = response.bytes().await.map_err(|e| format!("floor: {e}"))?;
                serde_json::from_slice(&body)
                    .map(Listing::Floor)
                    .map_err(|e| format!("floor decode: {e}"))
            }
            Layer::Raw => self
                .raw
                .raw()
                .get_butler_tasks()
                .send()
                .await
                .map(|response| Listing::Raw(response.into_inner()))
                .map_err(|e| format!("raw: {e}")),
            Layer::Facade => self
                .facade
                .tasks()
                .await
                .map(Listing::Facade)
                .map_err(|e| format!("facade: {e}")),
        }
    }

    /// The tasks as a contender read them, in common terms.
    pub async fn list(&self, layer: Layer) -> Result<Vec<Seen>, String> {
        Ok(match self.fetch(layer).await? {
            Listing::Floor(list) => list
                .butler_tasks
                .butler_task
                .into_iter()
                .map(|t| Seen {
                    name: t.name,
                    title: t.title,
                    description: t.description,
                    enabled: t.enabled,
                    interval: t.interval,
                    randomized: t.schedule_randomized,
                })
                .collect(),
            Listing::Raw(list) => list
                .butler_tasks
                .butler_task
                .into_iter()
                .map(|t| Seen {
                    name: t.name.to_string(),
                    title: t.title,
                    description: t.description,
                    enabled: raw_flag(&t.enabled),
                    interval: raw_number(&t.interval),
                    randomized: raw_flag(&t.schedule_randomized),
                })
                .collect(),
            Listing::Facade(tasks) => tasks
                .into_iter()
                .map(|t| Seen {
                    name: t.name.to_string(),
                    title: t.title,
                    description: t.description,
                    enabled: t.enabled,
                    interval: t.interval_days,
                    randomized: t.schedule_randomized,
                })
                .collect(),
        })
    }

    /// Starts the worker's task, then stops it; both answers must be 200.
    async fn start_stop(&self, layer: Layer, worker: usize) -> Result<(), String> {
        let missing = || format!("no task for worker {worker}");
        match layer {
            Layer::Floor => {
                let url = self.task_urls.get(worker).ok_or_else(missing)?;
                for request in [self.floor.post(url), self.floor.delete(url)] {
                    let response = request.send().await.map_err(|e| format!("floor: {e}"))?;
                    expect_status(response.status(), StatusCode::OK, "floor start/stop")?;
                    response.bytes().await.map_err(|e| format!("floor: {e}"))?;
                }
                Ok(())
            }
            Layer::Raw => {
                let name = self.raw_names.get(worker).ok_or_else(missing)?;
                let raw = self.raw.raw();
                let started = raw.start_task().task(name.clone()).send().await;
                drain_raw(started, "raw start").await?;
                let stopped = raw.stop_task().task(name.clone()).send().await;
                drain_raw(stopped, "raw stop").await
            }
            Layer::Facade => {
                let name = self.names.get(worker).ok_or_else(missing)?;
                match self.facade.start(name.clone()).await {
                    Ok(StartOutcome::Started) => {}
                    other => return Err(format!("facade start: {other:?}")),
                }
                match self.facade.stop(name.clone()).await {
                    Ok(StopOutcome::Stopped) => Ok(()),
                    other => Err(format!("facade stop: {other:?}")),
                }
            }
        }
    }
}

fn expect_status(got: StatusCode, want: StatusCode, what: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: status {got}, expected {want}"))
    }
}

/// Checks a raw start or stop answered 200, and reads its body to the end.
async fn drain_raw(
    result: Result<
        plex_butler::raw::ResponseValue<plex_butler::raw::ByteStream>,
        plex_butler::raw::Error<plex_butler::raw::ByteStream>,
    >,
    what: &str,
) -> Result<(), String> {
    let response = result.map_err(|e| format!("{what}: {e}"))?;
    expect_status(response.status(), StatusCode::OK, what)?;
    let mut body = response.into_inner_stream();
    while let Some(chunk) = body.next().await {
        chunk.map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(())
}

fn raw_flag(value: &raw_types::PlexBoolean) -> bool {
    match value {
        raw_types::PlexBoolean::Boolean(b) => *b,
        raw_types::PlexBoolean::Integer(n) => *n != 0,
        raw_types::PlexBoolean::String(s) => s == "1" || s == "true",
    }
}

fn raw_number(value: &raw_types::PlexInteger) -> u32 {
    match value {
        raw_types::PlexInteger::Integer(n) => u32::try_from(*n).unwrap_or(u32::MAX),
        raw_types::PlexInteger::String(s) => s.parse().unwrap_or(u32::MAX),
    }
}

/// Fails unless the three contenders read the same tasks, and as many as
/// `expected`.
pub async fn check_agreement(clients: &Clients, expected: usize) -> Result<(), String> {
    let floor = clients.list(Layer::Floor).await?;
    if floor.len() != expected {
        return Err(format!(
            "the floor read {} tasks, not {expected}",
            floor.len()
        ));
    }
    for layer in [Layer::Raw, Layer::Facade] {
        if clients.list(layer).await? != floor {
            return Err(format!("{layer:?} read other tasks than the floor"));
        }
    }
    Ok(())
}
