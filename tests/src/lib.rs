//! Workspace-level integration tests; see `tests/`.
//!
//! The Rust examples of the READMEs are compiled here as doctests, so that
//! they cannot drift from the real API.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

#[cfg(doctest)]
#[doc = include_str!("../../crates/plex-butler/README.md")]
struct FacadeReadme;

#[cfg(doctest)]
#[doc = include_str!("../../crates/plex-butler-sim/README.md")]
struct SimulatorReadme;
