//! A canned-answer HTTP/1.1 server on a real local socket, for the tests.
//!
//! It answers requests with a script of replies, in order, and records what
//! each request carried (method, path as sent, headers, which connection).
//! It runs on a thread and runtime of its own, so that async and blocking
//! clients can both use it, and stops when dropped or after a minute.
//!
//! Each test binary uses a part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest a test server lives, whatever happens to its test.
const LIFETIME: Duration = Duration::from_secs(60);

/// A token used by the tests: it must never show up anywhere.
pub const TOKEN: &str = "sekrit-T0KEN-value-42";

/// One reply of the script.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete answer.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Waits, then replies.
    Delayed(Duration, Box<Reply>),
    /// Closes the connection without answering.
    Hang,
    /// Sends the head with a `Content-Length` of `claimed` and only `body`,
    /// then closes the connection.
    Truncated {
        status: u16,
        body: Vec<u8>,
        claimed: usize,
    },
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self::Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("Content-Type", "application/json")
            .body(body)
    }

    pub fn html(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("Content-Type", "text/html")
            .body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Answer { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub fn body(mut self, text: &str) -> Self {
        if let Self::Answer { body, .. } = &mut self {
            *body = text.as_bytes().to_vec();
        }
        self
    }

    pub fn after(self, delay: Duration) -> Self {
        Self::Delayed(delay, Box::new(self))
    }
}

/// What one request carried.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target exactly as sent.
    pub path: String,
    /// Header names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// Which connection of the server it came on, counting from 0.
    pub connection: usize,
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
struct State {
    script: VecDeque<Reply>,
    requests: Vec<Request>,
    connections: usize,
    /// Connections the client closed.
    closed: usize,
    /// Requests read and not yet answered, and the most there were at once.
    in_flight: usize,
    most_in_flight: usize,
}

/// The running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Starts a server that answers with `script`, one reply per request;
    /// past its end, 500.
    pub fn start(script: impl IntoIterator<Item = Reply>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            script: script.into_iter().collect(),
            ..State::default()
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test server runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                tokio::select! {
                    _ = stopped => {}
                    _ = tokio::time::sleep(LIFETIME) => {}
                    _ = accept(listener, shared) => {}
                }
            });
        });
        Self {
            addr,
            state,
            stop: Some(stop),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("state").requests.clone()
    }

    pub fn connections(&self) -> usize {
        self.state.lock().expect("state").connections
    }

    /// How many connections the client closed.
    pub fn connections_closed(&self) -> usize {
        self.state.lock().expect("state").closed
    }

    /// The most requests that were read and not yet answered at once.
    pub fn most_in_flight(&self) -> usize {
        self.state.lock().expect("state").most_in_flight
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A base URL where nothing listens: a port just bound and released.
pub fn refused_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}

async fn accept(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let connection = {
            let mut state = state.lock().expect("state");
            state.connections += 1;
            state.connections - 1
        };
        tokio::spawn(serve(stream, connection, Arc::clone(&state)));
    }
}

/// Serves the requests of one keep-alive connection.
async fn serve(mut stream: TcpStream, connection: usize, state: Arc<Mutex<State>>) {
    let mut buffer = Vec::new();
    loop {
        let Some(head) = read_head(&mut stream, &mut buffer).await else {
            state.lock().expect("state").closed += 1;
            return;
        };
        let Some(request) = parse_head(&head, connection) else {
            return;
        };
        // Requests of these tests carry no body beyond Content-Length 0.
        let reply = {
            let mut state = state.lock().expect("state");
            state.requests.push(request);
            state.in_flight += 1;
            state.most_in_flight = state.most_in_flight.max(state.in_flight);
            state
                .script
                .pop_front()
                .unwrap_or_else(|| Reply::html(500, "<html>script exhausted</html>"))
        };
        let open = answer(&mut stream, reply).await;
        state.lock().expect("state").in_flight -= 1;
        if !open {
            return;
        }
    }
}

/// Reads up to the blank line that ends a request head.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = buffer.drain(..end + 4).collect();
            return String::from_utf8(head).ok();
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
    }
}

fn parse_head(head: &str, connection: usize) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        path,
        headers,
        connection,
    })
}

/// Writes a reply; `false` when the connection is to close.
async fn answer(stream: &mut TcpStream, reply: Reply) -> bool {
    match reply {
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} Canned\r\nContent-Length: {}\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            stream.write_all(&bytes).await.is_ok()
        }
        Reply::Delayed(delay, reply) => {
            tokio::time::sleep(delay).await;
            Box::pin(answer(stream, *reply)).await
        }
        Reply::Hang => false,
        Reply::Truncated {
            status,
            body,
            claimed,
        } => {
            let mut bytes = format!(
                "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\nContent-Length: {claimed}\r\n\r\n"
            )
            .into_bytes();
            bytes.extend_from_slice(&body);
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            false
        }
    }
}

/// The JSON of a task list with the given entries.
pub fn task_list(entries: &[&str]) -> String {
    format!(
        r#"{{"ButlerTasks":{{"ButlerTask":[{}]}}}}"#,
        entries.join(",")
    )
}

/// One task entry in the JSON form presumed for real servers.
pub fn entry(name: &str) -> String {
    format!(r#"{{"name":"{name}","interval":3,"scheduleRandomized":false,"enabled":true}}"#)
}

/// Asserts that nothing a user could see of `error` holds the token.
pub fn assert_token_absent(error: &plex_butler::Error) {
    let mut shown = vec![
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#}"),
    ];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        shown.push(cause.to_string());
        shown.push(format!("{cause:?}"));
        source = cause.source();
    }
    for text in shown {
        assert!(!text.contains(TOKEN), "the token shows in {text}");
    }
}
