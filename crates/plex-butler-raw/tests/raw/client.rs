//! The generated client, pointed at a small HTTP server in the test: the
//! method and path of each call, the encoding of task names, and decoding of
//! the list in the real server's shape.

use std::sync::{Arc, Mutex};

use plex_butler_raw::Client;
use plex_butler_raw::types::{ActivityProgress, KnownTaskName, PlexBoolean, PlexInteger, TaskName};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as it arrived on the socket.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    head: String,
}

/// A server that answers every request with `status` and `body`, and keeps
/// what it saw. It stops when the test's runtime ends.
async fn serve(
    status: u16,
    content_type: &'static str,
    body: String,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let mut words = head.split_whitespace();
                let method = words.next().unwrap_or_default().to_string();
                let target = words.next().unwrap_or_default().to_string();
                log.lock().expect("log").push(Seen {
                    method,
                    target,
                    head,
                });
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn client(url: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-plex-client-identifier"),
        HeaderValue::from_static("raw-test"),
    );
    Client::new(url, headers)
}

fn only(seen: &Arc<Mutex<Vec<Seen>>>) -> Seen {
    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 1, "expected exactly one request, got {seen:?}");
    seen[0].clone()
}

#[tokio::test]
async fn each_operation_sends_its_method_and_path() {
    let backup = TaskName::KnownTaskName(KnownTaskName::BackupDatabase);
    let cases: Vec<(&str, &str)> = vec![
        ("POST", "/butler"),
        ("DELETE", "/butler"),
        ("POST", "/butler/BackupDatabase"),
        ("DELETE", "/butler/BackupDatabase"),
    ];
    for (i, (method, path)) in cases.into_iter().enumerate() {
        let (url, seen) = serve(200, "text/html", String::new()).await;
        let c = client(&url);
        let status = match i {
            0 => c.start_all_tasks().send().await.map(|r| r.status()),
            1 => c.stop_all_tasks().send().await.map(|r| r.status()),
            2 => c
                .start_task()
                .task(backup.clone())
                .send()
                .await
                .map(|r| r.status()),
            _ => c
                .stop_task()
                .task(backup.clone())
                .send()
                .await
                .map(|r| r.status()),
        }
        .expect("200 is a success");
        assert_eq!(status.as_u16(), 200);
        let req = only(&seen);
        assert_eq!((req.method.as_str(), req.target.as_str()), (method, path));
    }

    let (url, seen) = serve(200, "application/json", r#"{"ButlerTasks":{}}"#.into()).await;
    client(&url).get_butler_tasks().send().await.expect("list");
    let req = only(&seen);
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/butler")
    );
}

#[tokio::test]
async fn inner_headers_go_on_every_request() {
    let (url, seen) = serve(200, "text/html", String::new()).await;
    client(&url).stop_all_tasks().send().await.expect("200");
    let head = only(&seen).head.to_ascii_lowercase();
    assert!(
        head.contains("x-plex-client-identifier: raw-test\r\n"),
        "{head}"
    );
    assert!(head.contains("api-version: 1.1.1\r\n"), "{head}");
}

#[tokio::test]
async fn already_running_is_a_success_with_status_202() {
    let (url, _seen) = serve(202, "text/html", String::new()).await;
    let task = TaskName::KnownTaskName(KnownTaskName::OptimizeDatabase);
    let response = client(&url)
        .start_task()
        .task(task.clone())
        .send()
        .await
        .expect("202 is a success");
    assert_eq!(response.status().as_u16(), 202);
}

#[tokio::test]
async fn unknown_task_is_an_error_response_with_status_404() {
    let (url, _seen) = serve(404, "text/html", "<html>404</html>".into()).await;
    let task = TaskName::String("NoSuchTask".into());
    let Err(err) = client(&url).start_task().task(task.clone()).send().await else {
        panic!("404 must be an error");
    };
    assert!(
        matches!(err, plex_butler_raw::Error::ErrorResponse(_)),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn task_names_stay_one_percent_encoded_path_segment() {
    let cases = [
        ("a/b", "/butler/a%2Fb"),
        ("100%", "/butler/100%25"),
        ("two words", "/butler/two%20words"),
        ("Sauvegarde-é", "/butler/Sauvegarde-%C3%A9"),
        ("what?#", "/butler/what%3F%23"),
    ];
    for (name, expected) in cases {
        let (url, seen) = serve(200, "text/html", String::new()).await;
        client(&url)
            .start_task()
            .task(TaskName::String(name.into()))
            .send()
            .await
            .expect("200");
        assert_eq!(only(&seen).target, expected, "name {name:?}");
    }
}

/// The real capture (XML) turned into the JSON shape the server sends when
/// asked for JSON, flags as the XML has them ("0"/"1").
fn real_capture_as_json() -> (String, usize) {
    let xml = include_str!("../../../../fixtures/pms-1.43.2/butler.xml");
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut tasks = Vec::new();
    loop {
        match reader.read_event().expect("fixture is XML") {
            quick_xml::events::Event::Empty(e) if e.name().as_ref() == "ButlerTask" => {
                let mut task = serde_json::Map::new();
                for attr in e.attributes() {
                    let attr = attr.expect("attribute");
                    let key = String::from_utf8_lossy(attr.key.as_ref().as_bytes()).into_owned();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .expect("escaped value")
                        .into_owned();
                    task.insert(key, serde_json::Value::String(value));
                }
                tasks.push(serde_json::Value::Object(task));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let count = tasks.len();
    let body = serde_json::json!({ "ButlerTasks": { "ButlerTask": tasks } });
    (body.to_string(), count)
}

#[tokio::test]
async fn list_decodes_the_real_servers_shape() {
    let (body, count) = real_capture_as_json();
    assert_eq!(count, 23);
    let (url, _seen) = serve(200, "application/json", body).await;
    let list = client(&url)
        .get_butler_tasks()
        .send()
        .await
        .expect("decodes")
        .into_inner();
    let tasks = list.butler_tasks.butler_task;
    assert_eq!(tasks.len(), 23);
    let backup = tasks
        .iter()
        .find(|t| t.name.to_string() == "BackupDatabase")
        .expect("BackupDatabase is listed");
    assert!(matches!(
        backup.name,
        TaskName::KnownTaskName(KnownTaskName::BackupDatabase)
    ));
    assert!(matches!(&backup.interval, PlexInteger::String(s) if s == "3"));
    assert!(matches!(&backup.enabled, PlexBoolean::String(s) if s == "1"));
    assert_eq!(backup.title.as_deref(), Some("Backup Database"));
    assert_eq!(
        backup.description.as_deref(),
        Some("Create a backup copy of the server's database in the configured backup directory")
    );
    let untitled = tasks.iter().filter(|t| t.title.is_none()).count();
    assert_eq!(untitled, 22);
}

#[tokio::test]
async fn list_decodes_typed_json_flags_and_unknown_names() {
    let body = r#"{"ButlerTasks":{"ButlerTask":[
        {"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":true,"extra":"ignored"},
        {"name":"BrandNewTask","interval":1,"scheduleRandomized":1,"enabled":0}
    ]}}"#;
    let (url, _seen) = serve(200, "application/json", body.into()).await;
    let tasks = client(&url)
        .get_butler_tasks()
        .send()
        .await
        .expect("decodes")
        .into_inner()
        .butler_tasks
        .butler_task;
    assert!(matches!(tasks[0].interval, PlexInteger::Integer(3)));
    assert!(matches!(tasks[0].enabled, PlexBoolean::Boolean(true)));
    assert!(matches!(&tasks[1].name, TaskName::String(s) if s == "BrandNewTask"));
    assert!(matches!(
        tasks[1].schedule_randomized,
        PlexBoolean::Integer(1)
    ));
}

#[test]
fn generated_docs_follow_the_spec() {
    // The generated source is rebuilt whenever the spec changes; its docs
    // carry the spec's summaries and descriptions.
    let generated = include_str!(concat!(env!("OUT_DIR"), "/butler.rs"));
    let spec: serde_json::Value =
        serde_yaml_ng::from_str(include_str!("../../../../openapi/butler.yaml")).expect("spec");
    let paths = spec["paths"].as_object().expect("paths");
    let mut checked = 0;
    let mut operations = 0;
    for item in paths.values() {
        for op in item.as_object().expect("path item").values() {
            if op.get("operationId").is_none() {
                continue; // path-level parameters
            }
            operations += 1;
            let Some(summary) = op.get("summary").and_then(|s| s.as_str()) else {
                continue;
            };
            assert!(
                generated.contains(summary),
                "generated docs lack {summary:?}"
            );
            let first_line = op["description"]
                .as_str()
                .expect("description")
                .lines()
                .next();
            let first_line = first_line.expect("non-empty description");
            assert!(
                generated.contains(first_line),
                "generated docs lack {first_line:?}"
            );
            checked += 1;
        }
    }
    // Every operation has a summary and a description, however many the
    // spec grows to.
    assert!(operations >= 7, "{operations} operations");
    assert_eq!(checked, operations);
}

#[tokio::test]
async fn activities_decode_in_the_real_servers_shape_with_lenient_numbers() {
    // The real capture's one activity, as JSON would carry it, plus one in
    // the XML's string forms and one with a context.
    let body = r#"{"MediaContainer":{"size":3,"Activity":[
        {"uuid":"4221855c-8f07-4471-b01c-a13f5266c301","type":"butler","cancellable":false,
         "userID":1,"title":"Butler tasks","subtitle":"","progress":100},
        {"uuid":"b","type":"butler","cancellable":"0","userID":"1","title":"t","progress":"-1"},
        {"uuid":"c","type":"library.update.section","progress":12.5,"Context":{"librarySectionID":"2"}}
    ]}}"#;
    let (url, seen) = serve(200, "application/json", body.into()).await;
    let list = client(&url)
        .get_activities()
        .send()
        .await
        .expect("decodes")
        .into_inner()
        .media_container;
    let req = only(&seen);
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/activities")
    );
    assert!(matches!(list.size, Some(PlexInteger::Integer(3))));
    let activities = list.activity;
    assert_eq!(activities.len(), 3);
    assert_eq!(activities[0].type_, "butler");
    assert!(matches!(
        activities[0].cancellable,
        Some(PlexBoolean::Boolean(false))
    ));
    assert!(matches!(
        activities[1].progress,
        Some(ActivityProgress::String(ref s)) if s == "-1"
    ));
    assert!(matches!(
        activities[2].progress,
        Some(ActivityProgress::Number(n)) if n == 12.5
    ));
    assert_eq!(activities[2].context["librarySectionID"], "2");
}

#[tokio::test]
async fn an_idle_server_lists_no_activities() {
    let (url, _seen) = serve(
        200,
        "application/json",
        r#"{"MediaContainer":{"size":0}}"#.into(),
    )
    .await;
    let list = client(&url)
        .get_activities()
        .send()
        .await
        .expect("decodes")
        .into_inner();
    assert!(list.media_container.activity.is_empty());
}

#[tokio::test]
async fn cancel_sends_the_id_as_one_path_segment_and_400_is_an_error() {
    let (url, seen) = serve(200, "text/html", String::new()).await;
    let response = client(&url)
        .cancel_activity()
        .activity_id("4221855c-8f07/x y")
        .send()
        .await
        .expect("200 is a success");
    assert_eq!(response.status().as_u16(), 200);
    let req = only(&seen);
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("DELETE", "/activities/4221855c-8f07%2Fx%20y")
    );

    for status in [400, 404] {
        let (url, _seen) = serve(status, "text/html", "<html></html>".into()).await;
        let Err(err) = client(&url).cancel_activity().activity_id("a").send().await else {
            panic!("{status} must be an error");
        };
        assert!(
            matches!(err, plex_butler_raw::Error::ErrorResponse(_)),
            "{err:?}"
        );
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
    }
}
