//! The facade, the command and the simulator together over real sockets,
//! as one test binary: each test binary links the whole dependency tree,
//! and on two cores linking dominates.
//!
//! Three tests keep binaries of their own, as they measure or set what a
//! process holds: `huge_bodies` (the process's peak memory), `load` (its
//! throughput) and `trace_capture` (the tracing subscribers it installs).

#[path = "../support/mod.rs"]
mod support;

mod activities_against_simulator;
mod bad_input;
mod events_against_simulator;
mod examples;
mod facade_against_simulator;
mod faults;
mod secrets;
