//! The run's output: every server's part (a table, or JSON: one
//! document), in the config's order, and each part's error on stderr.
//!
//! Over several servers a part is written as soon as it and every part
//! before it are done, then let go: a fleet of any size holds the parts of
//! the servers under way and of those done ahead of a slower one before
//! them, not every server's answers to the end. Once a part is written
//! while servers are still asked, writing is left to a thread of its own,
//! so that a reader that stops reading (a pager) never holds up the calls. The commands that wait on the servers' work
//! (they draw progress on stderr, and ask every server at once) print
//! their parts at the end, as a run over one server does.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::args::{Cli, Command, exit};
use crate::caller::{Shared, lock};
use crate::config::Selection;
use crate::failure::ErrorKind;
use crate::json::{self, JsonOutput, ServerDocument};
use crate::sink::{self, Stdout};
use crate::table;
use crate::text::sanitize;
use crate::watch;

/// How a run ended.
#[derive(Debug, Clone, Copy)]
pub enum End {
    /// Every server's run got to its end.
    Finished,
    /// Stopped by a signal; the exit code it gives.
    Interrupted(u8),
    /// `--deadline` passed.
    Deadline,
}

/// The parts of a run, written as they are done.
pub struct Output<'a> {
    cli: &'a Cli,
    selection: &'a Selection,
    /// Each server's part, until it is written.
    parts: Vec<Option<Shared>>,
    /// Which runs are done.
    done: Vec<bool>,
    /// The first part not yet written.
    next: usize,
    /// Whether parts are written as they are done, or all at the end.
    as_done: bool,
    /// Whether the only server's run printed as it went.
    live: bool,
    /// The highest exit code of the parts written.
    code: u8,
    /// The single server's JSON document, kept for the end (it holds no
    /// other server's).
    only: Option<JsonOutput>,
    /// JSON over several servers: the parts written so far.
    written: usize,
    out: Writer,
}

impl<'a> Output<'a> {
    /// The output of a run over `selection`'s servers, whose parts are
    /// `parts`, in the same order. `live`: a single server's run printed
    /// as it went.
    pub fn new(cli: &'a Cli, selection: &'a Selection, parts: Vec<Shared>, live: bool) -> Self {
        let several = selection.several;
        let as_done = several && !cli.command.waits_on_work();
        let stdout = if cli.global.json() {
            Stdout::json()
        } else {
            Stdout::new()
        };
        Self {
            cli,
            selection,
            done: vec![false; parts.len()],
            parts: parts.into_iter().map(Some).collect(),
            next: 0,
            as_done,
            live,
            code: exit::OK,
            only: None,
            written: 0,
            out: Writer::new(stdout),
        }
    }

    /// The run of the `index`th server is done: writes it, and the parts
    /// after it that were waiting for it, when parts are written as they
    /// are done.
    pub fn done(&mut self, index: usize) {
        if let Some(done) = self.done.get_mut(index) {
            *done = true;
        }
        if !self.as_done {
            return;
        }
        while self.done.get(self.next) == Some(&true) {
            self.write_next();
        }
    }

    /// Writes what is left: the parts not written yet, told how the run
    /// ended first. Returns the run's exit code, the highest of the
    /// servers'.
    pub fn finish(mut self, end: End) -> u8 {
        let limit = self.cli.global.deadline;
        for part in self.parts.iter().flatten() {
            let mut part = lock(part);
            match end {
                End::Finished => {}
                End::Interrupted(code) => part.cut_short(ErrorKind::Interrupted, None, code),
                End::Deadline => part.cut_short(ErrorKind::Deadline, limit, exit::UNREACHABLE),
            }
        }
        if matches!(self.cli.command, Command::Watch(_)) {
            // Its lines were printed as they came: only how it ended is
            // left.
            let parts: Vec<Shared> = self.parts.into_iter().flatten().collect();
            return watch::report_end(
                self.cli.global.json(),
                self.selection.several,
                &self.selection.targets,
                &parts,
            );
        }
        // No server is asked any more: the rest is written from here.
        self.as_done = false;
        while self.next < self.parts.len() {
            self.write_next();
        }
        let json = self.cli.global.json();
        if json && self.selection.several {
            let tail = servers_tail(self.written, self.code);
            self.out.write(&tail);
        } else if let Some(document) = self.only.take() {
            let mut bytes = Vec::new();
            let printed = json::print_json(&mut bytes, &document);
            self.out.written(printed.map(|()| bytes));
        }
        sink::written(self.out.close(), self.code)
    }

    /// Writes the next part and lets it go.
    fn write_next(&mut self) {
        let index = self.next;
        self.next += 1;
        let Some(part) = self.parts.get_mut(index).and_then(Option::take) else {
            return;
        };
        let Some(target) = self.selection.targets.get(index) else {
            return;
        };
        if self.as_done && self.next < self.parts.len() {
            // Servers are still asked: none waits for the writing.
            self.out.in_background();
        }
        let part = lock(&part);
        let global = &self.cli.global;
        let several = self.selection.several;
        self.code = self.code.max(part.code());
        if let Some(failure) = &part.failure {
            match &target.profile {
                Some(profile) if several => {
                    sink::error(&format!("[{}] {}", sanitize(profile), failure.message));
                }
                _ => sink::error(&failure.message),
            }
        }
        if global.json() {
            let document = JsonOutput::of(&part);
            if !several {
                self.only = Some(document);
                return;
            }
            let server = ServerDocument {
                profile: target.profile.clone().unwrap_or_default(),
                server: part.server.clone(),
                exit_code: part.code(),
                document,
            };
            let chunk = server_chunk(self.written, &server);
            self.written += 1;
            self.out.written(chunk);
            return;
        }
        let mut text = Vec::new();
        let printed = if several {
            let profile = target.profile.as_deref().unwrap_or_default();
            writeln!(text, "[{}] {}", sanitize(profile), sanitize(&part.server))
                .and_then(|()| table::print_part(&mut text, &part, false, global.quiet))
                .and_then(|()| writeln!(text))
        } else {
            table::print_part(&mut text, &part, self.live, global.quiet)
        };
        self.out.written(printed.map(|()| text));
    }
}

/// The document of a run over several servers, `{"command": "servers",
/// "servers": [...], "exit_code": N}` as `serde_json` prints it whole,
/// written a server at a time: everything up to the first server (the
/// head), each server's with what comes before it, then the tail.
fn servers_parts(exit_code: u8) -> (Vec<u8>, Vec<u8>) {
    let empty = JsonOutput::Servers {
        servers: Vec::new(),
        exit_code,
    };
    let mut whole = Vec::new();
    // An empty list prints as `[]`: the head ends at its `[`.
    if json::print_json(&mut whole, &empty).is_err() {
        return (Vec::new(), Vec::new());
    }
    let at = whole
        .windows(2)
        .position(|w| w == b"[]")
        .map_or(whole.len(), |at| at + 1);
    let tail = whole.split_off(at);
    (whole, tail)
}

/// One server's document of a run over several, as it appears in the
/// whole: after the head (the first) or a comma, on lines of its own,
/// indented two levels.
fn server_chunk(index: usize, server: &ServerDocument) -> io::Result<Vec<u8>> {
    let mut chunk = if index == 0 {
        servers_parts(0).0
    } else {
        b",".to_vec()
    };
    let document = serde_json::to_vec_pretty(server).map_err(io::Error::other)?;
    // A JSON text has no line break but between its tokens.
    for line in document.split(|&b| b == b'\n') {
        chunk.extend_from_slice(b"\n    ");
        chunk.extend_from_slice(line);
    }
    Ok(chunk)
}

/// What ends the document: the list's end and the exit code.
fn servers_tail(written: usize, exit_code: u8) -> Vec<u8> {
    let (head, tail) = servers_parts(exit_code);
    if written == 0 {
        let mut whole = head;
        whole.extend_from_slice(&tail);
        return whole;
    }
    let mut end = b"\n  ".to_vec();
    end.extend_from_slice(&tail);
    end
}

/// How long the writing thread, woken by a part, waits for more before
/// writing: parts that come together (a fleet's servers on a LAN finish
/// in microseconds of each other) go out in one system call, not one
/// each, and none waits long enough for anyone to notice.
const GATHER: Duration = Duration::from_millis(10);

/// Where the parts go: standard output, directly, or through a thread
/// that writes them once parts are written while servers are still
/// asked. The first write error is kept, and nothing is written after it.
struct Writer {
    /// Standard output, until a thread has it.
    out: Option<Stdout>,
    /// The thread that writes, and what it is handed.
    thread: Option<(Arc<Handover>, thread::JoinHandle<io::Result<()>>)>,
    error: Option<io::Error>,
}

/// What the command hands the writing thread.
#[derive(Default)]
struct Handover {
    queue: Mutex<Queue>,
    woken: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Bytes not written yet.
    bytes: Vec<u8>,
    /// Nothing more will come.
    closed: bool,
    /// The thread waits to be woken: by any bytes when idle, only by the
    /// end when gathering.
    idle: bool,
    gathering: bool,
    /// The thread met a write error and is gone: bytes are dropped.
    failed: bool,
}

impl Handover {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds bytes (or, with `close`, says there are no more), waking the
    /// thread if it waits.
    fn hand(&self, bytes: &[u8], close: bool) {
        let mut queue = self.queue();
        if queue.failed {
            return;
        }
        queue.bytes.extend_from_slice(bytes);
        queue.closed |= close;
        if queue.idle || (close && queue.gathering) {
            queue.idle = false;
            queue.gathering = false;
            self.woken.notify_one();
        }
    }

    /// The thread: writes what it is handed, a batch at a time, until
    /// there is no more or a write fails.
    fn write_all(&self, out: Stdout) -> io::Result<()> {
        let written = self.write_batches(out);
        if written.is_err() {
            let mut queue = self.queue();
            queue.failed = true;
            queue.bytes = Vec::new();
        }
        written
    }

    fn write_batches(&self, mut out: Stdout) -> io::Result<()> {
        loop {
            let mut queue = self.queue();
            while queue.bytes.is_empty() && !queue.closed {
                queue.idle = true;
                queue = self
                    .woken
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if !queue.closed {
                // More is likely on its way; the end does not wait.
                queue.gathering = true;
                queue = self
                    .woken
                    .wait_timeout(queue, GATHER)
                    .map_or_else(|e| e.into_inner().0, |(queue, _)| queue);
                queue.gathering = false;
            }
            let bytes = std::mem::take(&mut queue.bytes);
            let last = queue.closed;
            drop(queue);
            out.write_all(&bytes)?;
            if last {
                return out.flush();
            }
        }
    }
}

impl Writer {
    fn new(out: Stdout) -> Self {
        Self {
            out: Some(out),
            thread: None,
            error: None,
        }
    }

    /// Hands standard output to a thread of its own, so that a reader
    /// that stops reading (a pager) does not hold up the calls.
    fn in_background(&mut self) {
        if self.thread.is_some() || self.error.is_some() {
            return;
        }
        let Some(out) = self.out.take() else {
            return;
        };
        let handover = Arc::new(Handover::default());
        let theirs = Arc::clone(&handover);
        let thread = thread::spawn(move || theirs.write_all(out));
        self.thread = Some((handover, thread));
    }

    /// Writes `chunk`, or keeps the error of making it.
    fn written(&mut self, chunk: io::Result<Vec<u8>>) {
        match chunk {
            Ok(chunk) => self.write(&chunk),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    fn write(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Some((handover, _)) = &self.thread {
            // After a write error the thread is gone: `close` says which.
            handover.hand(chunk, false);
        } else if let Some(out) = &mut self.out
            && let Err(e) = out.write_all(chunk).and_then(|()| out.flush())
        {
            self.error = Some(e);
        }
    }

    /// Waits for everything to be written; the first error, if any.
    fn close(mut self) -> io::Result<()> {
        let written = match self.thread.take() {
            Some((handover, thread)) => {
                handover.hand(&[], true);
                thread
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the output thread failed")))
            }
            None => Ok(()),
        };
        match self.error {
            Some(e) => Err(e),
            None => written,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Failure;

    fn server(profile: &str, exit_code: u8) -> ServerDocument {
        let error = (exit_code != 0).then(|| Failure::new(ErrorKind::Other, "broken").info());
        ServerDocument {
            profile: profile.to_owned(),
            server: format!("http://{profile}:32400"),
            exit_code,
            document: JsonOutput::List { tasks: None, error },
        }
    }

    /// The document written a server at a time is the one `serde_json`
    /// prints whole, byte for byte, for none, one and several servers.
    #[test]
    fn the_servers_document_written_in_parts_is_the_whole_one() {
        for count in [0, 1, 3] {
            let servers: Vec<ServerDocument> = (0..count)
                .map(|i| server(&format!("s{i}"), if i == 1 { 5 } else { 0 }))
                .collect();
            let code = if count > 1 { 5 } else { 0 };
            let mut streamed = Vec::new();
            for (i, one) in servers.iter().enumerate() {
                streamed.extend(server_chunk(i, one).expect("chunk"));
            }
            streamed.extend(servers_tail(servers.len(), code));
            let mut whole = Vec::new();
            json::print_json(
                &mut whole,
                &JsonOutput::Servers {
                    servers,
                    exit_code: code,
                },
            )
            .expect("whole");
            assert_eq!(
                String::from_utf8_lossy(&streamed),
                String::from_utf8_lossy(&whole),
                "{count} server(s)"
            );
        }
    }
}
