//! The built `plex-butler` binary, over real sockets against in-process
//! simulators: one test binary, a module per subject.
//!
//! Set `UPDATE_GOLDEN=1` to rewrite the golden files after a deliberate
//! change of output, and review their diff.

mod commands;
mod common;
mod failures;
mod files;
mod json_errors;
mod pipes;
mod profiles;
mod terminal;
mod upkeep;
mod watch;
