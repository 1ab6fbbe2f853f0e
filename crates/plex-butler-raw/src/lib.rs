//! The low-level client of the Plex Media Server Butler API (and of the
//! activities, where running Butler work shows its progress), generated at
//! build time by [progenitor](https://github.com/oxidecomputer/progenitor)
//! from the workspace's `openapi/butler.yaml`.
//!
//! Most users want the `plex-butler` crate, which wraps this one with
//! ergonomic names, typed errors, authentication and retries. This crate is
//! its escape hatch: every operation of the spec, exactly as the spec says.
//!
//! Each operation of the spec is a method of [`Client`], named after its
//! `operationId` in snake case (`getButlerTasks` is
//! [`Client::get_butler_tasks`], `setPreferences`
//! [`Client::set_preferences`]). The spec is the list: its `paths` say
//! each operation's method, path, parameters and statuses, and this crate
//! carries the copy it was generated from (`butler.yaml`). No table is
//! kept here, so none can fall behind it.
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
