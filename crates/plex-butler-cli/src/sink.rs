//! Where the output goes. Standard output has one rule for a reader that
//! went away (`plex-butler list | head -1`): the rest of the output is
//! dropped quietly, and the exit code stays the one the command earned. A
//! command that did its work never fails because nobody read about it.
//! Errors and warnings go to standard error.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output (colours stripped where they do not belong), under the
/// closed-pipe rule above. Other write errors (a full disk) still fail.
pub struct Stdout(anstream::Stdout);

impl Stdout {
    /// The process's standard output.
    pub fn new() -> Self {
        Self(anstream::stdout())
    }

    fn closed(result: io::Result<usize>, len: usize) -> io::Result<usize> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(len)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        let result = self.0.write(buf);
        Self::closed(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        Self::closed(self.0.flush().map(|()| 0), 0).map(|_| ())
    }
}

/// Prints an error on stderr.
pub fn error(message: &str) {
    let style = anstyle::AnsiColor::Red.on_default().bold();
    let _ = writeln!(anstream::stderr(), "{style}error:{style:#} {message}");
}

/// Prints a warning on stderr, unless `quiet`.
pub fn warn(quiet: bool, message: &str) {
    if !quiet {
        let style = anstyle::AnsiColor::Yellow.on_default().bold();
        let _ = writeln!(anstream::stderr(), "{style}warning:{style:#} {message}");
    }
}
