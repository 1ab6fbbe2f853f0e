//! The spec says what the real server does: OpenAPI 3.0.3, exactly the five
//! Butler operations and the two activity operations, with the statuses a
//! real server sends.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, ReferenceOr, StatusCode};

const SPEC: &str = include_str!("../../../openapi/butler.yaml");
const REAL_BUTLER_XML: &str = include_str!("../../../fixtures/pms-1.43.2/butler.xml");
const REAL_ACTIVITIES_XML: &str = include_str!("../../../fixtures/pms-1.43.2/activities.xml");
const OFFICIAL_SPEC: &str =
    include_str!("../../../xtask/tests/fixtures/upstream/plex-pms-openapi-1.1.1.yaml");

fn spec() -> OpenAPI {
    serde_yaml_ng::from_str(SPEC).expect("openapi/butler.yaml parses as OpenAPI 3.0")
}

/// (method, path) -> statuses, for every operation in the spec.
fn operations(spec: &OpenAPI) -> Vec<(String, String, String, BTreeSet<u16>)> {
    let mut ops = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            panic!("path item {path} is a $ref");
        };
        for (method, op) in item.iter() {
            let statuses = op
                .responses
                .responses
                .keys()
                .map(|code| match code {
                    StatusCode::Code(n) => *n,
                    StatusCode::Range(r) => panic!("{method} {path}: status range {r}xx"),
                })
                .collect();
            let id = op
                .operation_id
                .clone()
                .expect("every operation has an operationId");
            ops.push((method.to_uppercase(), path.clone(), id, statuses));
        }
    }
    ops.sort();
    ops
}

#[test]
fn spec_is_openapi_3_0_3() {
    assert_eq!(spec().openapi, "3.0.3");
}

#[test]
fn spec_has_exactly_the_butler_and_activity_operations_with_real_statuses() {
    let ops = operations(&spec());
    let expected: Vec<(String, String, String, BTreeSet<u16>)> = [
        (
            "DELETE",
            "/activities/{activityId}",
            "cancelActivity",
            &[200, 400, 401, 404][..],
        ),
        ("DELETE", "/butler", "stopAllTasks", &[200, 401][..]),
        ("DELETE", "/butler/{task}", "stopTask", &[200, 401, 404][..]),
        ("GET", "/activities", "getActivities", &[200, 401][..]),
        ("GET", "/butler", "getButlerTasks", &[200, 401][..]),
        ("POST", "/butler", "startAllTasks", &[200, 401][..]),
        (
            "POST",
            "/butler/{task}",
            "startTask",
            &[200, 202, 401, 404][..],
        ),
    ]
    .into_iter()
    .map(|(m, p, id, s)| (m.into(), p.into(), id.into(), s.iter().copied().collect()))
    .collect();
    assert_eq!(ops, expected);
}

#[test]
fn token_is_an_api_key_header() {
    let spec = spec();
    let schemes = &spec
        .components
        .as_ref()
        .expect("components")
        .security_schemes;
    let Some(ReferenceOr::Item(openapiv3::SecurityScheme::APIKey { location, name, .. })) =
        schemes.get("PlexToken")
    else {
        panic!("no PlexToken apiKey scheme");
    };
    assert_eq!(name, "X-Plex-Token");
    assert!(matches!(location, openapiv3::APIKeyLocation::Header));
    assert_eq!(spec.security.as_ref().map(Vec::len), Some(1));
}

#[test]
fn default_server_is_the_local_plex_port() {
    let spec = spec();
    let server = &spec.servers[0];
    assert_eq!(server.url, "{protocol}://{host}:{port}");
    let vars = server.variables.as_ref().expect("server variables");
    assert_eq!(vars["protocol"].default, "http");
    assert_eq!(vars["host"].default, "127.0.0.1");
    assert_eq!(vars["port"].default, "32400");
}

fn known_task_names() -> BTreeSet<String> {
    let value: serde_json::Value = serde_yaml_ng::from_str(SPEC).expect("yaml");
    value
        .pointer("/components/schemas/KnownTaskName/enum")
        .and_then(|v| v.as_array())
        .expect("KnownTaskName enum")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

fn names_in_real_capture() -> BTreeSet<String> {
    let mut reader = quick_xml::Reader::from_str(REAL_BUTLER_XML);
    let mut names = BTreeSet::new();
    loop {
        match reader.read_event().expect("fixture is XML") {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                if e.name().as_ref() == "ButlerTask" =>
            {
                let attr = e
                    .try_get_attribute("name")
                    .expect("attribute")
                    .expect("every task has a name");
                names.insert(attr.value.into_owned().to_string());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    names
}

#[test]
fn known_task_names_are_the_union_of_every_source() {
    // Legacy Butler docs (14) and Plex's official spec 1.1.1 (22), as those
    // sources list them; the real capture is read from the fixture.
    let legacy = [
        "BackupDatabase",
        "BuildGracenoteCollections",
        "CheckForUpdates",
        "CleanOldBundles",
        "CleanOldCacheFiles",
        "DeepMediaAnalysis",
        "GenerateAutoTags",
        "GenerateChapterThumbs",
        "GenerateMediaIndexFiles",
        "OptimizeDatabase",
        "RefreshLibraries",
        "RefreshLocalMedia",
        "RefreshPeriodicMetadata",
        "UpgradeMediaAnalysis",
    ];
    let official = [
        "AutomaticUpdates",
        "BackupDatabase",
        "ButlerTaskGenerateAdMarkers",
        "ButlerTaskGenerateCreditsMarkers",
        "ButlerTaskGenerateIntroMarkers",
        "ButlerTaskGenerateVoiceActivity",
        "CleanOldBundles",
        "CleanOldCacheFiles",
        "DeepMediaAnalysis",
        "GarbageCollectBlobs",
        "GarbageCollectLibraryMedia",
        "GenerateBlurHashes",
        "GenerateChapterThumbs",
        "GenerateMediaIndexFiles",
        "LoudnessAnalysis",
        "MusicAnalysis",
        "OptimizeDatabase",
        "RefreshEpgGuides",
        "RefreshLibraries",
        "RefreshLocalMedia",
        "RefreshPeriodicMetadata",
        "UpgradeMediaAnalysis",
    ];
    let real = names_in_real_capture();
    assert_eq!(real.len(), 23);
    let mut union: BTreeSet<String> = real;
    union.extend(legacy.iter().chain(official.iter()).map(|s| s.to_string()));
    assert_eq!(known_task_names(), union);
}

#[test]
fn known_task_names_are_sorted_in_the_spec() {
    let value: serde_json::Value = serde_yaml_ng::from_str(SPEC).expect("yaml");
    let listed: Vec<&str> = value
        .pointer("/components/schemas/KnownTaskName/enum")
        .and_then(|v| v.as_array())
        .expect("KnownTaskName enum")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted);
}

#[test]
fn every_schema_and_property_is_described() {
    let value: serde_json::Value = serde_yaml_ng::from_str(SPEC).expect("yaml");
    let schemas = value
        .pointer("/components/schemas")
        .and_then(|v| v.as_object())
        .expect("schemas");
    for (name, schema) in schemas {
        assert!(
            schema.get("description").is_some(),
            "schema {name} has no description"
        );
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (prop, body) in props {
                let described = body.get("description").is_some()
                    || body
                        .get("$ref")
                        .and_then(|r| r.as_str())
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .and_then(|target| schemas.get(target))
                        .is_some_and(|t| t.get("description").is_some());
                assert!(described, "property {name}.{prop} has no description");
            }
        }
    }
}

/// The attributes of the elements named `element` in an XML document.
fn attributes_of(xml: &str, element: &str) -> BTreeSet<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut names = BTreeSet::new();
    loop {
        match reader.read_event().expect("fixture is XML") {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                if e.name().as_ref() == element =>
            {
                for attr in e.attributes() {
                    let attr = attr.expect("attribute");
                    names.insert(attr.key.as_ref().to_string());
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    names
}

fn activity_properties() -> BTreeSet<String> {
    let value: serde_json::Value = serde_yaml_ng::from_str(SPEC).expect("yaml");
    value
        .pointer("/components/schemas/Activity/properties")
        .and_then(|v| v.as_object())
        .expect("Activity properties")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn activity_has_every_property_of_the_official_spec() {
    let official: serde_json::Value = serde_yaml_ng::from_str(OFFICIAL_SPEC).expect("yaml");
    let theirs: BTreeSet<String> = official
        .pointer(
            "/paths/~1activities/get/responses/200/content/application~1json/schema\
             /properties/MediaContainer/allOf/0/properties/Activity/items/properties",
        )
        .and_then(|v| v.as_object())
        .expect("the official Activity properties")
        .keys()
        .cloned()
        .collect();
    assert_eq!(theirs.len(), 9, "{theirs:?}");
    assert_eq!(activity_properties(), theirs);
}

#[test]
fn activity_describes_every_attribute_of_the_real_capture() {
    let real = attributes_of(REAL_ACTIVITIES_XML, "Activity");
    assert_eq!(real.len(), 7, "{real:?}");
    let ours = activity_properties();
    for attribute in &real {
        assert!(ours.contains(attribute), "{attribute} is not in the spec");
    }
    let container = attributes_of(REAL_ACTIVITIES_XML, "MediaContainer");
    let value: serde_json::Value = serde_yaml_ng::from_str(SPEC).expect("yaml");
    for attribute in &container {
        assert!(
            value
                .pointer(&format!(
                    "/components/schemas/ActivityContainer/properties/{attribute}"
                ))
                .is_some(),
            "container attribute {attribute} is not in the spec"
        );
    }
}
