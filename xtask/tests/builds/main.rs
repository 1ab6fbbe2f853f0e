//! The checks of `cargo xtask` that build the workspace: the spec corpus
//! (`spec diff` with its builds, against `spec verify`) and the public-API
//! snapshot (rustdoc's JSON of the facade). Each takes minutes on a fresh
//! clone, so this test target is left out of `cargo test` (`test = false`
//! in Cargo.toml) and CI runs it as a step of its own:
//! `cargo test -p xtask --test builds`.

// Each test file uses a part of the helpers.
#[path = "../all/common.rs"]
#[allow(dead_code)]
mod common;

mod corpus;
mod public_api;
