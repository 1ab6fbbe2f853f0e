//! The simulator over real sockets, as one test binary: each test binary
//! links the whole dependency tree, and on two cores linking dominates.

mod common;

mod bad_input;
#[cfg(unix)]
mod binary;
mod concurrency;
mod events;
mod faults;
mod semantics;
mod settings;
mod wire;
