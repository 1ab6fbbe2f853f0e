//! The facade's integration tests, over real sockets, in one test binary:
//! each binary links the whole dependency tree, and linking dominates a
//! build on two cores. (The tracing span test has a binary of its own: see
//! `tests/trace_span.rs`.)

#[path = "../support/mod.rs"]
mod support;

mod activities;
#[cfg(feature = "blocking")]
mod blocking;
mod calls;
mod decoding;
mod errors;
mod events;
mod example;
mod headers;
mod settings;
mod task_name;
