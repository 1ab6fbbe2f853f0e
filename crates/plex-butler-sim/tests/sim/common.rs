//! Helpers shared by the integration tests: a plain HTTP client, times of
//! day, an XML reader.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use plex_butler_sim::{ManualClock, Simulator, SimulatorBuilder, TaskSpec};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const TOKEN: &str = "test-token";

/// 10 June 2025 at `hour:minute` UTC.
pub fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 10, hour, minute, 0)
        .single()
        .expect("valid time")
}

/// A builder with a token, a manual clock at `now` and one-minute runs.
pub fn builder(now: DateTime<Utc>) -> SimulatorBuilder {
    Simulator::builder()
        .token(TOKEN)
        .clock(ManualClock::at(now))
        .seed(7)
        .task_duration(Duration::from_secs(60))
}

/// A simulator with only these tasks.
pub async fn start_with(now: DateTime<Utc>, tasks: Vec<TaskSpec>) -> Simulator {
    builder(now)
        .tasks(tasks)
        .start()
        .await
        .expect("simulator starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        // A guard against hangs, not a speed limit: generous, since tests
        // share two cores with builds.
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client builds")
}

/// Sends `method path` with the test token; returns status and body.
pub async fn call(sim: &Simulator, method: Method, path: &str) -> (StatusCode, String) {
    let response = client()
        .request(method, format!("{}{path}", sim.url()))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("request succeeds");
    let status = response.status();
    (status, response.text().await.expect("body reads"))
}

pub async fn status_of(sim: &Simulator, method: Method, path: &str) -> StatusCode {
    call(sim, method, path).await.0
}

pub async fn get_json(sim: &Simulator, path: &str) -> serde_json::Value {
    let response = client()
        .get(format!("{}{path}", sim.url()))
        .header("X-Plex-Token", TOKEN)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(content_type, "application/json");
    serde_json::from_str(&response.text().await.expect("body reads")).expect("valid JSON")
}

/// Writes `request` as is on a fresh connection and reads until the server
/// closes it or `timeout` passes; returns what came back.
pub async fn raw(sim: &Simulator, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(sim.addr()).await.expect("connects");
    // The server may answer and close before reading everything: ignore
    // write errors and read what it said.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status code of a raw HTTP answer, 0 for none.
pub fn raw_status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// One element of an XML document: its name and its attributes, in order,
/// unescaped.
#[derive(Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
}

/// The elements of an XML document in document order; panics on malformed
/// XML.
pub fn elements(xml: &str) -> Vec<Element> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("well-formed attribute");
                        let value = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("valid escapes");
                        (a.key.as_ref().to_owned(), value.into_owned())
                    })
                    .collect();
                out.push(Element {
                    name: e.name().as_ref().to_owned(),
                    attrs,
                });
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
