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
pub struct Stdout(Out);

/// Where [`Stdout`] writes.
enum Out {
    /// Text that may hold colours: stripped of them where they do not
    /// belong.
    Styled(anstream::Stdout),
    /// JSON, which holds no escape sequence (control characters are
    /// escaped in it): written as it is, not scanned for colours.
    Plain(io::Stdout),
}

impl Stdout {
    /// The process's standard output, for text that may hold colours.
    pub fn new() -> Self {
        Self(Out::Styled(anstream::stdout()))
    }

    /// The process's standard output, for JSON: scanning a document of
    /// 1,000 servers for colours to strip took a seventh of such a run's
    /// time in the command.
    pub fn json() -> Self {
        Self(Out::Plain(io::stdout()))
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
        let result = match &mut self.0 {
            Out::Styled(out) => out.write(buf),
            Out::Plain(out) => out.write(buf),
        };
        Self::closed(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        let flushed = match &mut self.0 {
            Out::Styled(out) => out.flush(),
            Out::Plain(out) => out.flush(),
        };
        Self::closed(flushed.map(|()| 0), 0).map(|_| ())
    }
}

/// Whether a write to standard output found its reader gone: nothing
/// written there from now on is read, so a command that would go on only
/// to say more (`watch`) may end.
pub fn stdout_closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// The exit code `code` becomes once the output is written: a closed
/// pipe changes nothing (see [`Stdout`]); any other write error is
/// reported, and fails a run that had not failed.
pub fn written(printed: io::Result<()>, code: u8) -> u8 {
    match printed {
        Ok(()) => code,
        Err(e) => {
            error(&format!(
                "cannot write the output: {e}; what was done on the server stays done"
            ));
            code.max(crate::args::exit::OTHER)
        }
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
