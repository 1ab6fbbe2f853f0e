//! The spec says what the real server does: OpenAPI 3.0.3, the five Butler
//! operations and the two activity operations, with the statuses a real
//! server sends. Each test allows the spec to grow: additions break no
//! client, and must fail no test.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, ReferenceOr, StatusCode};

const SPEC: &str = include_str!("../../../../openapi/butler.yaml");
const REAL_ACTIVITIES_XML: &str = include_str!("../../../../fixtures/pms-1.43.2/activities.xml");
const OFFICIAL_SPEC: &str =
    include_str!("../../../../xtask/tests/fixtures/upstream/plex-pms-openapi-1.1.1.yaml");

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

/// The operations a real server has, with the statuses it sends. The spec
/// may grow (operations, statuses): that breaks no client.
#[test]
fn spec_has_the_butler_and_activity_operations_with_real_statuses() {
    let ops = operations(&spec());
    let real: [(&str, &str, &str, &[u16]); 7] = [
        (
            "DELETE",
            "/activities/{activityId}",
            "cancelActivity",
            &[200, 400, 401, 404],
        ),
        ("DELETE", "/butler", "stopAllTasks", &[200, 401]),
        ("DELETE", "/butler/{task}", "stopTask", &[200, 401, 404]),
        ("GET", "/activities", "getActivities", &[200, 401]),
        ("GET", "/butler", "getButlerTasks", &[200, 401]),
        ("POST", "/butler", "startAllTasks", &[200, 401]),
        ("POST", "/butler/{task}", "startTask", &[200, 202, 401, 404]),
    ];
    for (method, path, id, statuses) in real {
        let Some((_, _, spec_id, spec_statuses)) =
            ops.iter().find(|(m, p, _, _)| m == method && p == path)
        else {
            panic!("{method} {path} is not in the spec");
        };
        assert_eq!(spec_id, id, "{method} {path}");
        for status in statuses {
            assert!(
                spec_statuses.contains(status),
                "{method} {path} ({id}) lacks {status}, which a real server sends"
            );
        }
    }
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

// That `KnownTaskName` holds every name of every source (the legacy docs,
// the official spec, the real capture) and never loses one is a house rule
// of `cargo xtask spec check`, kept there alone; a name added to the spec
// needs no edit here.

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
    let ours = activity_properties();
    for property in &theirs {
        assert!(ours.contains(property), "{property} is not in the spec");
    }
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
