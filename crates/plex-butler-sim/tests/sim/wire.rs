//! The answers on the wire, compared with a real server's.

use crate::common::{TOKEN, at, builder, call, client, elements, get_json, status_of};
use plex_butler_sim::{Preset, Simulator, TaskSpec};
use reqwest::{Method, StatusCode};

const REAL_BUTLER: &str = include_str!("../../../../fixtures/pms-1.43.2/butler.xml");
const REAL_IDENTITY: &str = include_str!("../../../../fixtures/pms-1.43.2/identity.xml");
const REAL_ROOT: &str = include_str!("../../../../fixtures/pms-1.43.2/root.xml");
const REAL_ACTIVITIES: &str = include_str!("../../../../fixtures/pms-1.43.2/activities.xml");
const REAL_ID: &str = "b4e051156514c3673d6305f3df48b2bd645d6fd5";

async fn real_preset() -> Simulator {
    builder(at(12, 0))
        .preset(Preset::Pms1_43_2)
        .machine_identifier(REAL_ID)
        .friendly_name("b6f2a1226b70")
        .start()
        .await
        .expect("simulator starts")
}

async fn get_xml(sim: &Simulator, path: &str) -> String {
    let response = client()
        .get(format!("{}{path}", sim.url()))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/xml;charset=utf-8");
    response.text().await.expect("body reads")
}

#[tokio::test]
async fn the_task_list_has_the_structure_of_the_real_servers() {
    let sim = real_preset().await;
    let xml = get_xml(&sim, "/butler").await;
    assert_eq!(elements(&xml), elements(REAL_BUTLER));
}

#[tokio::test]
async fn the_task_list_is_byte_for_byte_the_real_servers() {
    let sim = real_preset().await;
    assert_eq!(get_xml(&sim, "/butler").await, REAL_BUTLER);
}

#[tokio::test]
async fn identity_and_root_are_the_real_servers_under_its_name() {
    let sim = real_preset().await;
    assert_eq!(get_xml(&sim, "/identity").await, REAL_IDENTITY);
    assert_eq!(get_xml(&sim, "/").await, REAL_ROOT);
}

#[tokio::test]
async fn the_task_list_in_json_says_what_the_xml_says() {
    let sim = real_preset().await;
    let xml = elements(&get_xml(&sim, "/butler").await);
    let json = get_json(&sim, "/butler").await;
    let tasks = json["ButlerTasks"]["ButlerTask"]
        .as_array()
        .expect("an array");
    assert_eq!(tasks.len(), xml.len() - 1);
    for (element, task) in xml[1..].iter().zip(tasks) {
        let object = task.as_object().expect("an object");
        assert_eq!(object.len(), element.attrs.len(), "{task}");
        for (name, value) in &element.attrs {
            let expected = match name.as_str() {
                "interval" => serde_json::json!(value.parse::<u64>().expect("a number")),
                "scheduleRandomized" | "enabled" => serde_json::json!(value == "1"),
                _ => serde_json::json!(value),
            };
            assert_eq!(task[name.as_str()], expected, "{name} of {task}");
        }
    }
    assert_eq!(tasks[1]["title"], "Backup Database");
    assert!(tasks[0].get("title").is_none());
}

#[tokio::test]
async fn identity_and_root_in_json_carry_typed_values() {
    let sim = real_preset().await;
    let identity = get_json(&sim, "/identity").await;
    assert_eq!(identity["MediaContainer"]["machineIdentifier"], REAL_ID);
    assert_eq!(identity["MediaContainer"]["claimed"], false);
    assert_eq!(
        identity["MediaContainer"]["version"],
        "1.43.2.10687-563d026ea"
    );
    let root = get_json(&sim, "/").await;
    assert_eq!(root["MediaContainer"]["size"], 25);
    assert_eq!(root["MediaContainer"]["allowSync"], false);
    assert_eq!(root["MediaContainer"]["Directory"][2]["key"], "butler");
}

#[tokio::test]
async fn activities_have_the_shape_of_the_real_servers() {
    let sim = builder(at(12, 0))
        .tasks([TaskSpec::new("BackupDatabase").title("Backup Database")])
        .start()
        .await
        .expect("simulator starts");
    let empty = get_xml(&sim, "/activities").await;
    assert_eq!(
        elements(&empty)[0].attrs,
        [("size".to_owned(), "0".to_owned())]
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/BackupDatabase").await,
        StatusCode::OK
    );
    sim.clock().advance(std::time::Duration::from_secs(30));

    let ours = elements(&get_xml(&sim, "/activities").await);
    let real = elements(REAL_ACTIVITIES);
    let names =
        |e: &crate::common::Element| e.attrs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(ours.len(), real.len());
    assert_eq!(names(&ours[1]), names(&real[1]));
    assert_eq!(ours[1].attr("type"), Some("butler"));
    assert_eq!(ours[1].attr("title"), Some("Backup Database"));
    assert_eq!(ours[1].attr("progress"), Some("50"));
    assert_eq!(ours[1].attr("cancellable"), Some("0"));

    let json = get_json(&sim, "/activities").await;
    let activity = &json["MediaContainer"]["Activity"][0];
    assert_eq!(json["MediaContainer"]["size"], 1);
    assert_eq!(activity["uuid"], ours[1].attr("uuid").expect("a uuid"));
    assert_eq!(activity["progress"], 50);
    assert_eq!(activity["cancellable"], false);
}

#[tokio::test]
async fn the_legacy_preset_lists_the_fourteen_legacy_tasks() {
    let sim = builder(at(12, 0))
        .preset(Preset::Legacy)
        .start()
        .await
        .expect("starts");
    let json = get_json(&sim, "/butler").await;
    let names: Vec<&str> = json["ButlerTasks"]["ButlerTask"]
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 14);
    assert!(names.contains(&"BuildGracenoteCollections"));
}

#[tokio::test]
async fn a_missing_or_wrong_token_gets_the_servers_401_page() {
    let sim = real_preset().await;
    for token in [None, Some("wrong"), Some("test-toke"), Some("")] {
        let mut request = client().get(format!("{}/butler", sim.url()));
        if let Some(token) = token {
            request = request.header("X-Plex-Token", token);
        }
        let response = request.send().await.expect("request succeeds");
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "token {token:?}"
        );
        assert_eq!(response.headers()["content-type"], "text/html");
        assert_eq!(
            response.text().await.expect("body reads"),
            "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
        );
    }
}

#[tokio::test]
async fn the_token_is_also_read_from_the_query() {
    let sim = real_preset().await;
    let url = |token: &str| format!("{}/butler?X-Plex-Token={token}", sim.url());
    let ok = client()
        .get(url(TOKEN))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(ok.status(), StatusCode::OK);
    let wrong = client()
        .get(url("nope"))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn identity_answers_without_a_token_but_unknown_paths_do_not() {
    let sim = real_preset().await;
    let identity = client()
        .get(format!("{}/identity", sim.url()))
        .send()
        .await
        .expect("ok");
    assert_eq!(identity.status(), StatusCode::OK);
    let unknown = client()
        .get(format!("{}/library", sim.url()))
        .send()
        .await
        .expect("ok");
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_auth_every_request_is_let_in() {
    let sim = Simulator::builder()
        .no_auth()
        .start()
        .await
        .expect("starts");
    assert_eq!(sim.token(), None);
    let response = client()
        .get(format!("{}/butler", sim.url()))
        .send()
        .await
        .expect("ok");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_token_setting_the_simulator_makes_one_up() {
    let sim = Simulator::builder().start().await.expect("starts");
    let token = sim.token().expect("a token").to_owned();
    assert!(token.len() >= 16);
    let response = client()
        .get(format!("{}/butler", sim.url()))
        .header("X-Plex-Token", &token)
        .send()
        .await
        .expect("ok");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !format!("{sim:?}").contains(&token),
        "Debug shows the token"
    );
}

#[tokio::test]
async fn unknown_paths_get_404_html_and_wrong_methods_405() {
    let sim = real_preset().await;
    let (status, body) = call(&sim, Method::GET, "/library/sections").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("404 Not Found"));
    for (method, path) in [
        (Method::PUT, "/butler"),
        (Method::GET, "/butler/BackupDatabase"),
        (Method::POST, "/identity"),
        (Method::DELETE, "/"),
        (Method::POST, "/activities"),
        (Method::GET, "/activities/some-id"),
    ] {
        let response = client()
            .request(method.clone(), format!("{}{path}", sim.url()))
            .header("X-Plex-Token", TOKEN)
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(response.headers().contains_key("allow"));
    }
}

#[tokio::test]
async fn identity_headers_and_api_version_are_ignored() {
    let sim = real_preset().await;
    let response = client()
        .post(format!("{}/butler/BackupDatabase", sim.url()))
        .header("X-Plex-Token", TOKEN)
        .header("api-version", "1.1.1")
        .header("X-Plex-Client-Identifier", "a-test")
        .header("X-Plex-Product", "tests")
        .header("X-Plex-Version", "0")
        .header("X-Plex-Platform", "Linux")
        .header("X-Plex-Device-Name", "ci")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        sim.state()
            .status("BackupDatabase")
            .is_some_and(|s| s.is_running())
    );
}

#[tokio::test]
async fn head_is_answered_like_get_without_a_body() {
    let sim = real_preset().await;
    let (status, body) = call(&sim, Method::HEAD, "/butler").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
}

#[tokio::test]
async fn a_trailing_slash_names_the_same_resource() {
    let sim = real_preset().await;
    assert_eq!(
        status_of(&sim, Method::GET, "/butler/").await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/BackupDatabase/").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn task_names_are_percent_decoded_and_exact() {
    let sim = builder(at(12, 0))
        .tasks([
            TaskSpec::new("With Space/And Slash"),
            TaskSpec::new("Plain"),
        ])
        .start()
        .await
        .expect("starts");
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/With%20Space%2FAnd%20Slash").await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/%50lain").await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/plain").await,
        StatusCode::NOT_FOUND
    );
    let xml = {
        let (_, body) = call(&sim, Method::GET, "/butler").await;
        body
    };
    assert_eq!(elements(&xml)[1].attr("name"), Some("With Space/And Slash"));
}

#[tokio::test]
async fn sessions_list_each_playback_with_its_user_and_player() {
    let sim = builder(at(12, 0))
        .sessions(2)
        .start()
        .await
        .expect("simulator starts");
    let xml = get_xml(&sim, "/status/sessions").await;
    let names: Vec<String> = elements(&xml).into_iter().map(|e| e.name).collect();
    let one = ["Video", "User", "Player", "Session"];
    assert_eq!(names[0], "MediaContainer");
    assert_eq!(names[1..], [one, one].concat());
    let elements = elements(&xml);
    assert_eq!(elements[0].attr("size"), Some("2"));
    assert_eq!(elements[1].attr("type"), Some("movie"));
    assert!(elements[1].attr("title").is_some_and(|t| !t.is_empty()));
    assert!(elements[2].attr("title").is_some_and(|t| !t.is_empty()));
    assert_eq!(elements[3].attr("state"), Some("playing"));
    assert!(xml.contains("</Video>\n"), "{xml}");

    let json = get_json(&sim, "/status/sessions").await;
    let container = &json["MediaContainer"];
    assert_eq!(container["size"], 2);
    let items = container["Metadata"].as_array().expect("a list");
    assert_eq!(items.len(), 2);
    for item in items {
        assert_eq!(item["type"], "movie");
        assert!(item["title"].is_string(), "{item}");
        assert!(item["User"]["title"].is_string(), "{item}");
        assert!(item["Player"]["title"].is_string(), "{item}");
        assert_eq!(item["Player"]["state"], "playing");
    }
    assert_ne!(items[0]["User"]["title"], items[1]["User"]["title"]);
}

#[tokio::test]
async fn sessions_start_and_end_while_the_server_runs() {
    let sim = builder(at(12, 0)).start().await.expect("simulator starts");
    assert_eq!(sim.sessions(), 0);
    let size = |json: serde_json::Value| json["MediaContainer"]["size"].clone();
    let empty = get_json(&sim, "/status/sessions").await;
    assert_eq!(size(empty.clone()), 0);
    assert!(empty["MediaContainer"].get("Metadata").is_none(), "{empty}");
    let xml = get_xml(&sim, "/status/sessions").await;
    assert!(
        xml.ends_with("<MediaContainer size=\"0\">\n</MediaContainer>\n"),
        "{xml}"
    );

    sim.set_sessions(3).expect("a sensible count");
    assert_eq!(size(get_json(&sim, "/status/sessions").await), 3);
    sim.set_sessions(1).expect("a sensible count");
    assert_eq!(size(get_json(&sim, "/status/sessions").await), 1);
    assert!(sim.set_sessions(plex_butler_sim::MAX_SESSIONS + 1).is_err());
    assert_eq!(sim.sessions(), 1);
}

#[tokio::test]
async fn every_request_is_counted_whatever_its_answer() {
    let sim = real_preset().await;
    assert_eq!(sim.requests(), 0);
    let _ = get_xml(&sim, "/butler").await;
    let _ = status_of(&sim, Method::GET, "/no/such/path").await;
    let _ = client()
        .get(format!("{}/butler", sim.url()))
        .send()
        .await
        .expect("an unauthorized request is answered");
    assert_eq!(sim.requests(), 3);
}
