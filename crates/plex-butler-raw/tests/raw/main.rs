//! The spec and the client generated from it, as one test binary: each test
//! binary links the whole dependency tree, and on two cores linking
//! dominates.

mod client;
mod packaged_spec;
mod spec;
