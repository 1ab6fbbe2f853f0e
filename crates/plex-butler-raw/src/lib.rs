//! The low-level client of the Plex Media Server Butler API (and of the
//! activities, where running Butler work shows its progress), generated at
//! build time by [progenitor](https://github.com/oxidecomputer/progenitor)
//! from the workspace's `openapi/butler.yaml`.
//!
//! Most users want the `plex-butler` crate, which wraps this one with
//! ergonomic names, typed errors, authentication and retries. This crate is
//! its escape hatch: every operation of the spec, exactly as the spec says.
//!
//! | operation | method | path |
//! |---|---|---|
//! | [`Client::get_butler_tasks`] | `GET` | `/butler` |
//! | [`Client::start_all_tasks`] | `POST` | `/butler` |
//! | [`Client::stop_all_tasks`] | `DELETE` | `/butler` |
//! | [`Client::start_task`] | `POST` | `/butler/{task}` |
//! | [`Client::stop_task`] | `DELETE` | `/butler/{task}` |
//! | [`Client::get_activities`] | `GET` | `/activities` |
//! | [`Client::cancel_activity`] | `DELETE` | `/activities/{activityId}` |
//!
//! The client's inner value is a [`reqwest::header::HeaderMap`] of headers
//! added to every request (the token, the client's identity): pass an empty
//! map to send none.
//!
//! ```no_run
//! # async fn run() -> Result<(), plex_butler_raw::Error<plex_butler_raw::ByteStream>> {
//! let client = plex_butler_raw::Client::new("http://127.0.0.1:32400", Default::default());
//! let tasks = client.get_butler_tasks().send().await?.into_inner();
//! println!("{} tasks", tasks.butler_tasks.butler_task.len());
//! # Ok(())
//! # }
//! ```

// Generated code is not held to the workspace lints.
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    missing_docs,
    unused_qualifications
)]

include!(concat!(env!("OUT_DIR"), "/butler.rs"));
