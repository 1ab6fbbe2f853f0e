//! A scripted HTTP server for the answers the simulator cannot give: an
//! empty 200, a huge or endless body, HTML with 200, a connection reset in
//! the middle of an answer, a redirect to another port.
//!
//! It listens on 127.0.0.1, on a port the OS picks, answers each request
//! with the next reply of its script (then closes the connection), and
//! records what each request carried. It runs on the test's runtime and
//! stops when dropped, or after a minute whatever happens to the test.
//!
//! Each test binary uses a part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest a scripted server lives.
const LIFETIME: Duration = Duration::from_secs(60);

/// The token of these tests: distinctive, so that a leak cannot hide.
pub const TOKEN: &str = "reliability-T0KEN-7c1e9a";

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// These bytes exactly, then the connection closes.
    Raw(Vec<u8>),
    /// A head, then `total` bytes of `chunk` repeated (the last copy cut to
    /// fit), written as the client reads them, `pause` between chunks.
    Streamed {
        head: String,
        chunk: Vec<u8>,
        total: usize,
        pause: Duration,
    },
    /// These bytes, then a TCP reset (not an orderly close).
    Reset(Vec<u8>),
    /// No answer: the connection stays open until the server stops.
    Silence,
}

impl Reply {
    /// An answer with a `Content-Length`, the given headers and body.
    pub fn answer(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
        Self::Raw([head(status, headers, Some(body.len())).as_bytes(), body].concat())
    }

    /// A JSON answer.
    pub fn json(status: u16, body: &str) -> Self {
        Self::answer(
            status,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// A body of `total` bytes made of `chunk` repeated, with its
    /// `Content-Length`, never held whole in the server's memory.
    pub fn huge(status: u16, content_type: &str, chunk: &[u8], total: usize) -> Self {
        Self::Streamed {
            head: head(status, &[("Content-Type", content_type)], Some(total)),
            chunk: chunk.to_vec(),
            total,
            pause: Duration::ZERO,
        }
    }

    /// A 200 whose body never ends: `chunk` every `pause`, no length.
    pub fn endless(content_type: &str, chunk: &[u8], pause: Duration) -> Self {
        Self::Streamed {
            head: head(200, &[("Content-Type", content_type)], None),
            chunk: chunk.to_vec(),
            total: usize::MAX,
            pause,
        }
    }
}

/// The head of an answer that closes its connection.
pub fn head(status: u16, headers: &[(&str, &str)], length: Option<usize>) -> String {
    let mut head = format!("HTTP/1.1 {status} Scripted\r\nConnection: close\r\n");
    if let Some(length) = length {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// What one request carried.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    /// The request line as sent.
    pub line: String,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Request>>,
    /// Body bytes the server managed to write, over all answers.
    written: AtomicUsize,
}

/// A running scripted server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Server {
    /// Starts a server answering with `script`, one reply per request;
    /// past its end, 500.
    pub async fn start(script: impl IntoIterator<Item = Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into_iter().collect()),
            ..Shared::default()
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Self { addr, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends a reply to the script.
    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().expect("script").push_back(reply);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("requests").clone()
    }

    /// Body bytes written so far, over all answers.
    pub fn body_bytes_written(&self) -> usize {
        self.shared.written.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let serving = async {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(serve(stream, Arc::clone(&shared)));
        }
    };
    // The connections' tasks end with this one (the set is dropped).
    let _ = tokio::time::timeout(LIFETIME, serving).await;
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let reply = {
        shared.requests.lock().expect("requests").push(request);
        shared.script.lock().expect("script").pop_front()
    };
    let reply = reply.unwrap_or_else(|| Reply::answer(500, &[], b"script exhausted"));
    match reply {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Streamed {
            head,
            chunk,
            total,
            pause,
        } => {
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut left = total;
            while left > 0 && !chunk.is_empty() {
                let part = &chunk[..chunk.len().min(left)];
                if stream.write_all(part).await.is_err() {
                    return;
                }
                shared.written.fetch_add(part.len(), Ordering::Relaxed);
                left -= part.len();
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            let _ = stream.shutdown().await;
        }
        Reply::Reset(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            // Let the bytes leave before the reset overtakes them.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Reply::Silence => {
            std::future::pending::<()>().await;
        }
    }
}

/// Reads a request head (requests of these tests carry no body).
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let line = lines.next()?.to_owned();
    let mut parts = line.split(' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        target,
        line,
        headers,
    })
}

/// A base URL where nothing listens: a port just bound and released.
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}

/// The JSON of a task list with these entries.
pub fn task_list(entries: &[String]) -> String {
    format!(
        r#"{{"ButlerTasks":{{"ButlerTask":[{}]}}}}"#,
        entries.join(",")
    )
}

/// One task entry as a real server lists it.
pub fn entry(name: &str) -> String {
    format!(r#"{{"name":"{name}","interval":3,"scheduleRandomized":false,"enabled":true}}"#)
}

/// Everything a user could see of an error: `Display`, `Debug`, and the
/// same of each error in its source chain.
pub fn shown(error: &plex_butler::Error) -> String {
    let mut out = format!("{error}\n{error:?}\n{error:#?}\n");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        out.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    out
}

/// Asserts that nothing a user could see of `error` holds the token, in
/// any case (URL parsing lowers a scheme's case, for one).
pub fn assert_no_token(error: &plex_butler::Error) {
    let text = shown(error);
    assert!(
        !text.to_lowercase().contains(&TOKEN.to_lowercase()),
        "the token shows in:\n{text}"
    );
}
