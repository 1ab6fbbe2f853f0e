//! The Butler's settings (`/:/prefs`): served like a real server's, written
//! all or nothing, and governing the window and the task switches.

use crate::common::{TOKEN, at, builder, call, client, elements, get_json, status_of};
use plex_butler_sim::{Error, Simulator, TaskSpec, TaskStatus};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A real server's Butler settings, as JSON.
const REAL_PREFS: &str = include_str!("../../../../fixtures/prefs/prefs-butler.json");

/// The settings a real server has that the capture does not.
const LATER_SETTINGS: [&str; 4] = [
    "ButlerTaskUpdateServer",
    "GenerateCreditsMarkerBehavior",
    "GenerateAdMarkerBehavior",
    "GenerateVADBehavior",
];

async fn sim_at_noon() -> Simulator {
    builder(at(12, 0)).start().await.expect("simulator starts")
}

fn real_settings() -> Vec<Value> {
    let real: Value = serde_json::from_str(REAL_PREFS).expect("the fixture is JSON");
    real["MediaContainer"]["Setting"]
        .as_array()
        .expect("a list of settings")
        .clone()
}

async fn get_xml(sim: &Simulator, path: &str) -> String {
    let (status, body) = call(sim, Method::GET, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The `enabled` flag `GET /butler` (XML) shows for `task`.
async fn listed_enabled(sim: &Simulator, task: &str) -> String {
    let xml = get_xml(sim, "/butler").await;
    let element = elements(&xml)
        .into_iter()
        .find(|e| e.attr("name") == Some(task))
        .unwrap_or_else(|| panic!("{task} is listed"));
    element.attr("enabled").expect("an enabled flag").to_owned()
}

async fn put(sim: &Simulator, query: &str) -> StatusCode {
    status_of(sim, Method::PUT, &format!("/:/prefs?{query}")).await
}

#[tokio::test]
async fn every_setting_of_the_real_server_is_served_as_it_describes_it() {
    let sim = sim_at_noon().await;
    let ours = get_json(&sim, "/:/prefs").await;
    let ours = ours["MediaContainer"].clone();
    let listed = ours["Setting"].as_array().expect("a list of settings");
    assert_eq!(ours["size"], listed.len());

    let real = real_settings();
    for theirs in &real {
        let id = theirs["id"].as_str().expect("an id");
        let mine = listed
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} is served"));
        for field in [
            "label",
            "summary",
            "type",
            "default",
            "hidden",
            "advanced",
            "group",
            "enumValues",
        ] {
            assert_eq!(mine.get(field), theirs.get(field), "{field} of {id}");
        }
        // Values start at the defaults (the real server's were its own).
        if id != "FriendlyName" {
            assert_eq!(mine["value"], mine["default"], "value of {id}");
        }
        let fields: Vec<&String> = mine.as_object().expect("an object").keys().collect();
        let theirs: Vec<&String> = theirs.as_object().expect("an object").keys().collect();
        assert_eq!(fields, theirs, "the fields of {id}, in order");
    }
    let extra: Vec<&str> = listed
        .iter()
        .filter_map(|s| s["id"].as_str())
        .filter(|id| !real.iter().any(|r| r["id"] == *id))
        .collect();
    assert_eq!(extra.len(), LATER_SETTINGS.len(), "{extra:?}");
    assert!(
        LATER_SETTINGS.iter().all(|id| extra.contains(id)),
        "{extra:?}"
    );
}

#[tokio::test]
async fn settings_in_xml_carry_flags_as_digits_and_the_hour_labels_byte_for_byte() {
    let sim = sim_at_noon().await;
    let xml = get_xml(&sim, "/:/prefs").await;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\"29\">\n<Setting id=\"FriendlyName\""));
    // Apostrophes escaped the way the server escapes them.
    assert!(xml.contains("your computer&#39;s name"), "{xml}");
    // U+A789, not a colon.
    assert!(xml.contains("enumValues=\"0:0\u{a789}00|1:1\u{a789}00|"));

    let elements = elements(&xml);
    assert_eq!(elements[0].name, "MediaContainer");
    assert_eq!(elements.len(), 30);
    let setting = |id: &str| {
        elements
            .iter()
            .find(|e| e.attr("id") == Some(id))
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    let refresh = setting("ButlerTaskRefreshLibraries");
    assert_eq!(refresh.attr("type"), Some("bool"));
    assert_eq!(refresh.attr("default"), Some("0"));
    assert_eq!(refresh.attr("value"), Some("0"));
    assert_eq!(refresh.attr("hidden"), Some("0"));
    assert_eq!(refresh.attr("enumValues"), None);
    let blobs = setting("ButlerTaskGarbageCollectBlobs");
    assert_eq!(
        (blobs.attr("hidden"), blobs.attr("value")),
        (Some("1"), Some("1"))
    );
    let start = setting("ButlerStartHour");
    assert_eq!(
        (start.attr("type"), start.attr("value")),
        (Some("int"), Some("2"))
    );
    let path = setting("ButlerDatabaseBackupPath");
    assert_eq!(path.attr("advanced"), Some("1"));

    // The JSON says the same, typed.
    let json = get_json(&sim, "/:/prefs").await;
    let json = json["MediaContainer"]["Setting"]
        .as_array()
        .expect("a list")
        .clone();
    assert_eq!(json.len(), elements.len() - 1);
    for (element, setting) in elements[1..].iter().zip(&json) {
        assert_eq!(setting["id"], element.attr("id").expect("an id"));
        let as_xml = |v: &Value| match v {
            Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("unexpected {other}"),
        };
        for (name, value) in &element.attrs {
            assert_eq!(
                &as_xml(&setting[name.as_str()]),
                value,
                "{name} of {setting}"
            );
        }
    }
}

#[tokio::test]
async fn one_setting_is_read_by_id_and_an_unknown_one_is_404() {
    let sim = sim_at_noon().await;
    let one = get_json(&sim, "/:/prefs/get?id=ButlerEndHour").await;
    assert_eq!(one["MediaContainer"]["size"], 1);
    let setting = &one["MediaContainer"]["Setting"][0];
    assert_eq!(
        (setting["id"].as_str(), setting["value"].as_i64()),
        (Some("ButlerEndHour"), Some(5))
    );

    let xml = get_xml(&sim, "/:/prefs/get?id=ButlerTaskUpdateServer").await;
    let elements = elements(&xml);
    assert_eq!(elements.len(), 2);
    assert_eq!(elements[1].attr("value"), Some("askme"));

    let (status, body) = call(&sim, Method::GET, "/:/prefs/get?id=NoSuchSetting").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("<h1>404 Not Found</h1>"), "{body}");
    assert_eq!(
        status_of(&sim, Method::GET, "/:/prefs/get").await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn settings_written_with_put_are_read_back() {
    let sim = sim_at_noon().await;
    // As python-plexapi writes booleans, and as plex-api.rs does.
    let (status, body) = call(
        &sim,
        Method::PUT,
        "/:/prefs?ButlerStartHour=3&sendCrashReports=false&ButlerTaskReverseGeocode=0",
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    // Escapes and `+` decoded; a later value for the same id wins.
    assert_eq!(
        put(&sim, "FriendlyName=Home+Server%20%C3%A9&GenerateBIFBehavior=asap&GenerateBIFBehavior=scheduled").await,
        StatusCode::OK
    );

    let settings = sim.settings();
    assert_eq!(settings["ButlerStartHour"], "3");
    assert_eq!(settings["sendCrashReports"], "0");
    assert_eq!(settings["ButlerTaskReverseGeocode"], "0");
    assert_eq!(settings["FriendlyName"], "Home Server é");
    assert_eq!(settings["GenerateBIFBehavior"], "scheduled");
    assert_eq!(settings["ButlerEndHour"], "5", "untouched");

    let json = get_json(&sim, "/:/prefs/get?id=sendCrashReports").await;
    assert_eq!(json["MediaContainer"]["Setting"][0]["value"], false);
    assert_eq!(json["MediaContainer"]["Setting"][0]["default"], true);
    // The server's name follows its setting.
    let root = get_json(&sim, "/").await;
    assert_eq!(root["MediaContainer"]["friendlyName"], "Home Server é");
}

#[tokio::test]
async fn a_put_with_an_unknown_id_changes_nothing_and_gets_400() {
    let sim = sim_at_noon().await;
    let before = sim.settings();
    let (status, body) = call(
        &sim,
        Method::PUT,
        "/:/prefs?ButlerStartHour=9&ButlerTaskOptimizeDatabase=0&NoSuchSetting=1",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("<h1>400 Bad Request</h1>"), "{body}");
    assert_eq!(sim.settings(), before);
    assert_eq!(listed_enabled(&sim, "OptimizeDatabase").await, "1");
}

#[tokio::test]
async fn values_that_do_not_fit_their_setting_get_400_and_change_nothing() {
    let sim = sim_at_noon().await;
    let before = sim.settings();
    for query in [
        "ButlerStartHour=24",
        "ButlerStartHour=-1",
        "ButlerEndHour=five",
        "ButlerEndHour=",
        "sendCrashReports=yes",
        "ButlerTaskBackupDatabase=2",
        "ButlerUpdateChannel=4",
        "ButlerTaskUpdateServer=never",
        "GenerateBIFBehavior=sometimes",
        "FriendlyName=bell%07",
        "FriendlyName=%zz",
        "ButlerStartHour=3&ButlerEndHour=99",
    ] {
        assert_eq!(put(&sim, query).await, StatusCode::BAD_REQUEST, "{query}");
    }
    assert_eq!(sim.settings(), before);
    // The update channel takes its listed values and its own default.
    assert_eq!(put(&sim, "ButlerUpdateChannel=8").await, StatusCode::OK);
    assert_eq!(put(&sim, "ButlerUpdateChannel=16").await, StatusCode::OK);
}

#[tokio::test]
async fn a_token_in_the_query_of_a_put_is_no_setting() {
    let sim = sim_at_noon().await;
    let response = client()
        .put(format!(
            "{}/:/prefs?ButlerEndHour=6&X-Plex-Token={TOKEN}&X-Plex-Client-Identifier=abc",
            sim.url()
        ))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(sim.settings()["ButlerEndHour"], "6");
}

#[tokio::test]
async fn a_switch_turned_off_disables_its_task_and_start_all_skips_it() {
    let sim = sim_at_noon().await;
    assert_eq!(listed_enabled(&sim, "OptimizeDatabase").await, "1");
    assert_eq!(
        put(&sim, "ButlerTaskOptimizeDatabase=false").await,
        StatusCode::OK
    );
    assert_eq!(listed_enabled(&sim, "OptimizeDatabase").await, "0");
    let json = get_json(&sim, "/butler").await;
    let task = json["ButlerTasks"]["ButlerTask"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["name"] == "OptimizeDatabase")
        .expect("listed")
        .clone();
    assert_eq!(task["enabled"], false);
    assert!(
        !sim.state()
            .task("OptimizeDatabase")
            .expect("listed")
            .enabled
    );

    // Noon is outside the window: start-all starts every enabled due task.
    assert_eq!(
        status_of(&sim, Method::POST, "/butler").await,
        StatusCode::OK
    );
    let state = sim.state();
    assert_eq!(state.status("OptimizeDatabase"), Some(TaskStatus::Idle));
    assert!(
        state.running().contains(&"BackupDatabase"),
        "{:?}",
        state.running()
    );
    // Started by name, it runs: the switch is about the schedule.
    assert_eq!(
        status_of(&sim, Method::POST, "/butler/OptimizeDatabase").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_switch_turned_on_enables_a_task_that_was_off() {
    let sim = sim_at_noon().await;
    assert_eq!(listed_enabled(&sim, "RefreshLibraries").await, "0");
    assert_eq!(
        put(&sim, "ButlerTaskRefreshLibraries=1").await,
        StatusCode::OK
    );
    assert_eq!(listed_enabled(&sim, "RefreshLibraries").await, "1");
    assert_eq!(
        status_of(&sim, Method::POST, "/butler").await,
        StatusCode::OK
    );
    assert!(sim.state().running().contains(&"RefreshLibraries"));
}

#[tokio::test]
async fn tasks_without_a_switch_keep_their_flag_whatever_the_settings() {
    let sim = sim_at_noon().await;
    assert_eq!(
        put(
            &sim,
            "ButlerTaskUpdateServer=always&GenerateIntroMarkerBehavior=never"
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(listed_enabled(&sim, "AutomaticUpdates").await, "0");
    assert_eq!(
        listed_enabled(&sim, "ButlerTaskGenerateIntroMarkers").await,
        "1"
    );
}

#[tokio::test]
async fn moving_the_window_changes_what_start_all_schedules() {
    let tasks = || [TaskSpec::new("Randomized").randomized(true)];
    let sim = builder(at(12, 0))
        .tasks(tasks())
        .start()
        .await
        .expect("starts");
    // 12:00 is outside 2..5: the randomized task starts now.
    assert_eq!(
        status_of(&sim, Method::POST, "/butler").await,
        StatusCode::OK
    );
    assert!(
        sim.state()
            .status("Randomized")
            .is_some_and(|s| s.is_running())
    );
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler").await,
        StatusCode::OK
    );

    // Inside 11..14 it is spread over the rest of the window instead.
    assert_eq!(
        put(&sim, "ButlerStartHour=11&ButlerEndHour=14").await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler").await,
        StatusCode::OK
    );
    match sim.state().status("Randomized") {
        Some(TaskStatus::Scheduled { at: when }) => {
            assert!(when > at(12, 0) && when < at(14, 0), "{when}");
        }
        other => panic!("expected a scheduled task, not {other:?}"),
    }
    assert_eq!(
        status_of(&sim, Method::DELETE, "/butler").await,
        StatusCode::OK
    );

    // A window across midnight that leaves noon out: starts now again.
    assert_eq!(
        put(&sim, "ButlerStartHour=22&ButlerEndHour=3").await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&sim, Method::POST, "/butler").await,
        StatusCode::OK
    );
    assert!(
        sim.state()
            .status("Randomized")
            .is_some_and(|s| s.is_running())
    );
}

#[tokio::test]
async fn the_builders_window_flags_and_presets_are_the_initial_settings() {
    let sim = builder(at(12, 0))
        .window(22, 3)
        .tasks([
            TaskSpec::new("BackupDatabase"),
            TaskSpec::new("CleanOldBundles").enabled(false),
            TaskSpec::new("RefreshLibraries"),
            TaskSpec::new("Custom"),
        ])
        .setting("ButlerTaskBackupDatabase", "0")
        .setting("ButlerStartHour", "23")
        .friendly_name("Attic")
        .start()
        .await
        .expect("starts");
    let settings = sim.settings();
    assert_eq!(settings["ButlerStartHour"], "23", "the later call wins");
    assert_eq!(settings["ButlerEndHour"], "3");
    assert_eq!(settings["FriendlyName"], "Attic");
    // The task list sets the switches; a preset switch wins over it.
    assert_eq!(settings["ButlerTaskBackupDatabase"], "0");
    assert_eq!(settings["ButlerTaskCleanOldBundles"], "0");
    assert_eq!(settings["ButlerTaskRefreshLibraries"], "1");
    assert_eq!(
        settings["ButlerTaskOptimizeDatabase"], "1",
        "no such task: default"
    );
    assert_eq!(listed_enabled(&sim, "BackupDatabase").await, "0");
    assert_eq!(listed_enabled(&sim, "CleanOldBundles").await, "0");
    assert_eq!(listed_enabled(&sim, "RefreshLibraries").await, "1");
    assert_eq!(listed_enabled(&sim, "Custom").await, "1");
}

#[tokio::test]
async fn presets_that_do_not_fit_are_refused_at_start_with_a_clear_message() {
    let refusal = |result: Result<Simulator, Error>| match result {
        Err(Error::InvalidConfig(message)) => message,
        other => panic!("expected a refusal, not {other:?}"),
    };
    let message = refusal(
        builder(at(12, 0))
            .setting("NoSuchSetting", "1")
            .start()
            .await,
    );
    assert!(message.contains("NoSuchSetting"), "{message}");
    let message = refusal(
        builder(at(12, 0))
            .setting("ButlerEndHour", "25")
            .start()
            .await,
    );
    assert!(
        message.contains("ButlerEndHour") && message.contains("23"),
        "{message}"
    );
    let message = refusal(builder(at(12, 0)).friendly_name("a\u{1}b").start().await);
    assert!(message.contains("control characters"), "{message}");
}

#[tokio::test]
async fn settings_need_the_token_like_every_other_path() {
    let sim = sim_at_noon().await;
    let before = sim.settings();
    for (method, path) in [
        (Method::GET, "/:/prefs"),
        (Method::GET, "/:/prefs/get?id=ButlerStartHour"),
        (Method::PUT, "/:/prefs?ButlerStartHour=7"),
        (Method::GET, "/status/sessions"),
    ] {
        let response = client()
            .request(method.clone(), format!("{}{path}", sim.url()))
            .header("X-Plex-Token", "wrong")
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    assert_eq!(sim.settings(), before);
}

#[tokio::test]
async fn the_settings_paths_take_only_their_methods() {
    let sim = sim_at_noon().await;
    for (method, path, allow) in [
        (Method::POST, "/:/prefs", "GET, HEAD, PUT"),
        (Method::DELETE, "/:/prefs", "GET, HEAD, PUT"),
        (Method::PUT, "/:/prefs/get?id=ButlerStartHour", "GET, HEAD"),
        (Method::POST, "/status/sessions", "GET, HEAD"),
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
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
    }
    assert_eq!(
        status_of(&sim, Method::GET, "/:/prefs/get/more").await,
        StatusCode::NOT_FOUND
    );
}
