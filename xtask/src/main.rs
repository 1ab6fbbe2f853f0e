//! `cargo xtask`: the workspace's developer tools.

fn main() -> std::process::ExitCode {
    eprintln!("usage: cargo xtask <command>");
    std::process::ExitCode::from(2)
}
