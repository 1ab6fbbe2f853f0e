//! `cargo xtask`, run as a developer runs it, as one test binary: each test
//! binary links the whole dependency tree, and on two cores linking
//! dominates.

mod common;

mod codegen;
mod spec_check;
mod spec_diff;
mod upstream;
