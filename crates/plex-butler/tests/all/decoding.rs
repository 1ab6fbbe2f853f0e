//! The task list is read as leniently as servers write it, and the `Task`
//! JSON form (what the CLI prints) stays as documented.

use crate::support::{Reply, Server};
use plex_butler::{Client, RetryPolicy, Task, TaskName};

async fn decode(json: &str) -> Result<Vec<Task>, plex_butler::Error> {
    let server = Server::start([Reply::json(200, json)]);
    Client::builder(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
        .tasks()
        .await
}

#[tokio::test]
async fn flags_as_booleans_numbers_or_digit_strings_are_read() {
    let tasks = decode(
        r#"{"ButlerTasks":{"ButlerTask":[
            {"name":"A","interval":1,"scheduleRandomized":true,"enabled":false},
            {"name":"B","interval":1,"scheduleRandomized":1,"enabled":0},
            {"name":"C","interval":1,"scheduleRandomized":"1","enabled":"0"}
        ]}}"#,
    )
    .await
    .expect("lenient flags");

    let flags: Vec<(bool, bool)> = tasks
        .iter()
        .map(|t| (t.schedule_randomized, t.enabled))
        .collect();
    assert_eq!(flags, [(true, false), (true, false), (true, false)]);
}

#[tokio::test]
async fn interval_as_a_numeric_string_is_read() {
    let tasks = decode(
        r#"{"ButlerTasks":{"ButlerTask":[{"name":"A","interval":"7","scheduleRandomized":false,"enabled":true}]}}"#,
    )
    .await
    .expect("numeric string");

    assert_eq!(tasks[0].interval_days, 7);
}

#[tokio::test]
async fn missing_title_and_description_are_none_and_unknown_fields_are_ignored() {
    let tasks = decode(
        r#"{"ButlerTasks":{"size":1,"ButlerTask":[
            {"name":"BackupDatabase","interval":3,"scheduleRandomized":false,"enabled":true,"lastRun":123,"extra":{"x":[1]}}
        ]},"other":true}"#,
    )
    .await
    .expect("unknown fields");

    assert_eq!(tasks[0].title, None);
    assert_eq!(tasks[0].description, None);
}

#[tokio::test]
async fn empty_butler_tasks_or_missing_or_empty_array_is_an_empty_list() {
    for json in [
        r#"{"ButlerTasks":{}}"#,
        r#"{"ButlerTasks":{"ButlerTask":[]}}"#,
    ] {
        assert_eq!(decode(json).await.expect(json), []);
    }
}

#[tokio::test]
async fn list_without_its_root_is_a_decode_error() {
    let error = decode(r#"{"MediaContainer":{"size":0}}"#)
        .await
        .expect_err("no ButlerTasks");
    assert!(
        matches!(error, plex_butler::Error::Decode { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn negative_interval_is_a_decode_error() {
    let error = decode(
        r#"{"ButlerTasks":{"ButlerTask":[{"name":"A","interval":-3,"scheduleRandomized":false,"enabled":true}]}}"#,
    )
    .await
    .expect_err("negative");
    let cause = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("`interval` is -3"), "{cause}");
}

/// The real server's XML capture, in the JSON form: every attribute a
/// string, as the XML carries it.
fn real_capture_as_json() -> String {
    let xml = include_str!("../../../../fixtures/pms-1.43.2/butler.xml");
    let mut entries = Vec::new();
    for line in xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<ButlerTask "))
    {
        let mut fields = Vec::new();
        let mut rest = line;
        while let Some(eq) = rest.find("=\"") {
            let key = rest[..eq].rsplit(' ').next().unwrap_or_default();
            let after = &rest[eq + 2..];
            let end = after.find('"').unwrap_or(after.len());
            let value = after[..end].replace("&#39;", "'");
            fields.push(format!(
                "{}:{}",
                serde_json::to_string(key).expect("key"),
                serde_json::to_string(&value).expect("value")
            ));
            rest = &after[end..];
        }
        entries.push(format!("{{{}}}", fields.join(",")));
    }
    format!(
        r#"{{"ButlerTasks":{{"ButlerTask":[{}]}}}}"#,
        entries.join(",")
    )
}

#[tokio::test]
async fn real_server_capture_decodes_with_every_name_known() {
    let tasks = decode(&real_capture_as_json()).await.expect("capture");

    assert_eq!(tasks.len(), 23);
    for task in &tasks {
        assert!(task.name.is_known(), "{} is not a known name", task.name);
    }
    let backup = tasks
        .iter()
        .find(|t| t.name == TaskName::BackupDatabase)
        .expect("BackupDatabase listed");
    assert_eq!(backup.interval_days, 3);
    assert!(backup.enabled);
    assert_eq!(backup.title.as_deref(), Some("Backup Database"));
    assert!(
        backup
            .description
            .as_deref()
            .is_some_and(|d| d.contains("server's database"))
    );
    assert_eq!(tasks.iter().filter(|t| t.title.is_some()).count(), 1);
}

#[test]
fn task_json_form_uses_the_documented_snake_case_fields() {
    let json = r#"{"name":"BackupDatabase","title":null,"description":"Create a backup.","enabled":true,"interval_days":3,"schedule_randomized":false}"#;
    let task: Task = serde_json::from_str(json).expect("reads");
    assert_eq!(task.name, TaskName::BackupDatabase);
    assert_eq!(task.title, None);
    assert_eq!(task.description.as_deref(), Some("Create a backup."));
    assert!(task.enabled);
    assert_eq!(task.interval_days, 3);
    assert!(!task.schedule_randomized);
    assert_eq!(serde_json::to_string(&task).expect("json"), json);
}

// With the `schemars` feature (the command turns it on in a workspace run).
#[cfg(feature = "schemars")]
#[test]
fn task_json_schema_lists_the_same_fields() {
    let schema = serde_json::to_value(schemars::schema_for!(Task)).expect("schema");
    let mut properties: Vec<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    properties.sort_unstable();
    assert_eq!(
        properties,
        [
            "description",
            "enabled",
            "interval_days",
            "name",
            "schedule_randomized",
            "title"
        ]
    );
    let required = schema["required"].as_array().expect("required");
    assert!(required.iter().any(|r| r == "interval_days"));
    assert!(!required.iter().any(|r| r == "title"));
}

#[test]
fn outcomes_serialize_as_snake_case_words() {
    use plex_butler::{StartOutcome, StopOutcome};
    assert_eq!(
        serde_json::to_string(&StartOutcome::AlreadyRunning).expect("json"),
        r#""already_running""#
    );
    assert_eq!(
        serde_json::to_string(&StopOutcome::NotRunning).expect("json"),
        r#""not_running""#
    );
    assert_eq!(StartOutcome::Started.to_string(), "started");
    assert_eq!(StopOutcome::Stopped.to_string(), "stopped");
}

async fn settings_of(json: &str) -> Result<Vec<plex_butler::Setting>, plex_butler::Error> {
    let server = Server::start([Reply::json(200, json)]);
    Client::builder(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
        .settings()
        .await
}

#[tokio::test]
async fn a_real_servers_settings_are_read_whole_and_typed() {
    use plex_butler::{ButlerSettings, MaintenanceWindow, SettingKind, SettingValue};

    let json = include_str!("../../../../fixtures/prefs/prefs-butler.json");
    let settings = settings_of(json).await.expect("the fixture reads");
    assert_eq!(settings.len(), 25);
    let find = |id: &str| {
        settings
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    let start = find("ButlerStartHour");
    assert_eq!(start.kind, SettingKind::Int);
    assert_eq!(
        (&start.value, &start.default),
        (&SettingValue::Int(1), &SettingValue::Int(2))
    );
    assert_eq!(
        start.choices[2].label, "2\u{a789}00",
        "the label's bytes are kept"
    );
    let crash = find("sendCrashReports");
    assert_eq!(crash.value, SettingValue::Bool(true));
    let channel = find("ButlerUpdateChannel");
    assert_eq!(channel.value, SettingValue::Text("0".into()));
    assert_eq!(channel.default, SettingValue::Text("16".into()));
    let labels: Vec<&str> = channel.choices.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["Public", "Beta"]);

    let butler = ButlerSettings::from_settings(&settings);
    assert_eq!(butler.window, MaintenanceWindow::new(1, 7).ok());
    // Every ButlerTask<Name> flag, the two later servers dropped included.
    assert_eq!(butler.tasks.len(), 14);
    assert!(
        butler
            .switch(&TaskName::Other("ReverseGeocode".into()))
            .is_some()
    );
    assert_eq!(butler.behaviors.len(), 5);
    assert_eq!(butler.update_channel.as_deref(), Some("0"));
    assert_eq!(butler.update_policy, None, "this server did not list it");
}

#[tokio::test]
async fn settings_of_odd_shapes_are_kept_rather_than_refused() {
    use plex_butler::{SettingKind, SettingValue};

    let settings = settings_of(
        r#"{"MediaContainer":{"size":"4","extra":true,"Setting":[
            {"id":"A","type":"bool","value":"1","default":0,"hidden":"1","unknownField":[1]},
            {"id":"B","type":"color","value":5},
            {"id":"C","type":"int","value":"soon","default":null},
            {"id":"D"}
        ]}}"#,
    )
    .await
    .expect("lenient settings");
    let values: Vec<(&SettingKind, &SettingValue, &SettingValue)> = settings
        .iter()
        .map(|s| (&s.kind, &s.value, &s.default))
        .collect();
    let text = |s: &str| SettingValue::Text(s.into());
    assert_eq!(
        values,
        [
            (
                &SettingKind::Bool,
                &SettingValue::Bool(true),
                &SettingValue::Bool(false)
            ),
            (&SettingKind::Other("color".into()), &text("5"), &text("")),
            (&SettingKind::Int, &text("soon"), &text("")),
            (&SettingKind::Text, &text(""), &text("")),
        ]
    );
    assert!(settings[0].hidden);
}
