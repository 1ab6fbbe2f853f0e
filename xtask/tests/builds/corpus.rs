//! The spec corpus: changes to the committed spec, each judged by `spec
//! diff` with its builds (the raw client's public API from each spec, the
//! facade against the new one) and checked against a real build of the
//! facade (`spec verify`): a spec on which the facade does not compile must
//! never be judged non-breaking, and each change gets the verdict its kind
//! calls for. Upstream specs are compared the same way.
//!
//! The changed specs are derived from `openapi/butler.yaml` as it is, so
//! the corpus follows the spec. The cases run one after the other in one
//! test: they share the build directory (`target/spec-verify/`), so every
//! build after the first is incremental.

use std::time::Instant;

use crate::common::{
    Run, TempDir, committed_spec, committed_spec_json, fixture, write_spec, xtask,
};
use serde_json::{Value, json};

/// What a change should be judged.
struct Expected {
    wire_breaking: bool,
    rust_breaking: bool,
    /// Whether the facade compiles against the changed spec.
    builds: bool,
}

const fn expect(wire_breaking: bool, rust_breaking: bool, builds: bool) -> Expected {
    Expected {
        wire_breaking,
        rust_breaking,
        builds,
    }
}

/// `/paths/{path}/{method}` of the spec, to edit.
fn operation<'a>(spec: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    spec.pointer_mut(&format!("/paths/{}/{method}", path.replace('/', "~1")))
        .unwrap_or_else(|| panic!("no {method} {path} in the committed spec"))
}

fn add_parameter(spec: &mut Value, path: &str, method: &str, parameter: Value) {
    let operation = operation(spec, path, method);
    match operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        Some(parameters) => parameters.push(parameter),
        None => operation["parameters"] = json!([parameter]),
    }
}

fn task_names(spec: &mut Value) -> &mut Vec<Value> {
    spec.pointer_mut("/components/schemas/KnownTaskName/enum")
        .and_then(Value::as_array_mut)
        .expect("the committed spec has KnownTaskName")
}

/// A change, made to a copy of the committed spec.
type Change = fn(&mut Value);

/// The changes, each applied to a copy of the committed spec.
fn corpus() -> Vec<(&'static str, Expected, Change)> {
    vec![
        (
            "an optional query parameter added",
            expect(false, false, true),
            |spec| {
                add_parameter(
                    spec,
                    "/butler",
                    "get",
                    json!({"name": "includeDisabled", "in": "query", "required": false,
                           "description": "List disabled tasks too.",
                           "schema": {"type": "boolean"}}),
                )
            },
        ),
        (
            "an optional header parameter added",
            expect(false, false, true),
            |spec| {
                for method in ["post", "delete"] {
                    add_parameter(
                        spec,
                        "/butler/{task}",
                        method,
                        json!({"name": "accepts", "in": "header", "required": false,
                               "description": "The media type of the answer.",
                               "schema": {"type": "string",
                                          "enum": ["application/json", "application/xml"]}}),
                    )
                }
            },
        ),
        // An error status: old clients read it as an error, as any
        // unlisted status; the facade's table has an entry to add.
        (
            "an error status added",
            expect(false, false, true),
            |spec| {
                let responses = &mut operation(spec, "/butler", "get")["responses"];
                responses["400"] = responses["401"].clone();
            },
        ),
        ("a task name added", expect(false, false, true), |spec| {
            let names = task_names(spec);
            // A name the spec does not list yet, whatever it lists by then.
            let new = (0..)
                .map(|n| format!("RefreshSections{n}"))
                .find(|name| !names.iter().any(|listed| listed == name.as_str()))
                .expect("an unused name");
            names.push(json!(new));
        }),
        ("an operation added", expect(false, false, true), |spec| {
            let mut get = operation(spec, "/butler/{task}", "delete").clone();
            get["operationId"] = json!("getButlerTask");
            get["summary"] = json!("One Butler task");
            spec["paths"]["/butler/{task}"]["get"] = get;
        }),
        ("a task name removed", expect(true, true, true), |spec| {
            task_names(spec).retain(|name| name != "CheckForUpdates")
        }),
        (
            "a required property made optional",
            expect(true, true, false),
            |spec| {
                let required = spec
                    .pointer_mut("/components/schemas/ButlerTask/required")
                    .and_then(Value::as_array_mut)
                    .expect("ButlerTask has required properties");
                required.retain(|name| name != "name");
            },
        ),
        // Builds (a builder's setter more, so the Rust source is fine), yet
        // `send()` fails at run time until the caller sets it: the wire
        // row calls it breaking.
        (
            "a required parameter added",
            expect(true, false, true),
            |spec| {
                add_parameter(
                    spec,
                    "/butler/{task}",
                    "post",
                    json!({"name": "force", "in": "query", "required": true,
                           "description": "Start even outside the window.",
                           "schema": {"type": "boolean"}}),
                )
            },
        ),
        (
            "an operationId renamed",
            expect(false, true, false),
            |spec| {
                operation(spec, "/butler/{task}", "post")["operationId"] = json!("butlerPostTask")
            },
        ),
        (
            "the path parameter renamed",
            expect(false, true, false),
            |spec| {
                let paths = spec["paths"].as_object_mut().expect("paths");
                let mut item = paths.remove("/butler/{task}").expect("the task path");
                item["parameters"][0]["name"] = json!("taskName");
                paths.insert("/butler/{taskName}".to_string(), item);
            },
        ),
        // No schema changes and the facade builds, yet every old client's
        // token goes unseen.
        (
            "the token's header renamed",
            expect(true, false, true),
            |spec| {
                spec["components"]["securitySchemes"]["PlexToken"]["name"] = json!("X-Plex-Tokn")
            },
        ),
        (
            "the start's 202 changed to 409",
            expect(true, false, true),
            |spec| {
                let responses = operation(spec, "/butler/{task}", "post")["responses"]
                    .as_object_mut()
                    .expect("responses");
                let already_running = responses.remove("202").expect("a 202");
                responses.insert("409".to_string(), already_running);
            },
        ),
    ]
}

fn diff(new: &std::path::Path) -> Run {
    xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--format".as_ref(),
        "text".as_ref(),
        "--old".as_ref(),
        committed_spec().as_os_str(),
        "--new".as_ref(),
        new.as_os_str(),
    ])
}

fn verify(spec: &std::path::Path) -> Run {
    xtask(["spec".as_ref(), "verify".as_ref(), spec.as_os_str()])
}

/// Whether the text report has a breaking row of this kind.
fn has_breaking(run: &Run, about: &str) -> bool {
    run.stdout
        .lines()
        .any(|line| line.trim_start().starts_with(&format!("BREAKING {about}")))
}

#[test]
fn every_change_of_the_corpus_is_judged_as_the_facade_build_and_its_kind_say() {
    let dir = TempDir::new("corpus");
    let started = Instant::now();
    let mut failures = Vec::new();
    for (i, (name, expected, change)) in corpus().into_iter().enumerate() {
        let case_started = Instant::now();
        let mut spec = committed_spec_json();
        change(&mut spec);
        let path = write_spec(&dir, &format!("case-{i}.yaml"), &spec);
        let judged = diff(&path);
        let built = verify(&path);
        let took = case_started.elapsed();
        eprintln!(
            "corpus: {name}: diff exit {}, verify exit {}, {took:.0?}",
            judged.code, built.code
        );

        let mut wrong = Vec::new();
        if judged.code == 2 || built.code == 2 {
            wrong.push("the tools could not judge".to_string());
        }
        let builds = built.code == 0;
        if builds != expected.builds {
            wrong.push(format!(
                "the facade builds: {builds}, expected {}",
                expected.builds
            ));
        }
        // The build and the report agree.
        let says_builds = judged.stdout.contains("The facade builds against");
        let says_fails = judged.stdout.contains("The facade does NOT build against");
        if says_builds != builds || says_fails == builds {
            wrong.push("the diff's build line disagrees with spec verify".to_string());
        }
        if !builds && judged.code != 1 {
            wrong.push("the facade does not build, yet the diff is not breaking".to_string());
        }
        if has_breaking(&judged, "wire") != expected.wire_breaking {
            wrong.push(format!("wire breaking expected {}", expected.wire_breaking));
        }
        if has_breaking(&judged, "Rust") != expected.rust_breaking {
            wrong.push(format!("Rust breaking expected {}", expected.rust_breaking));
        }
        let breaking = expected.wire_breaking || expected.rust_breaking || !expected.builds;
        let expected_code = if breaking { 1 } else { 0 };
        if judged.code != expected_code {
            wrong.push(format!("exit code expected {expected_code}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{name}: {}\n{}\n--- spec verify\n{}",
                wrong.join("; "),
                judged.output(),
                built.output()
            ));
        }
        let row = match name {
            "the token's header renamed" => {
                "BREAKING wire  the token moved: header X-Plex-Token is now header X-Plex-Tokn"
            }
            "the start's 202 changed to 409" => "BREAKING wire  status 202 replaced by 409",
            "a task name removed" => {
                "BREAKING Rust  pub types::KnownTaskName::CheckForUpdates removed"
            }
            "an operationId renamed" => "BREAKING Rust  pub fn Client::start_task(",
            _ => "",
        };
        if !judged.stdout.contains(row) {
            failures.push(format!(
                "{name}: the diff lacks the row {row:?}\n{}",
                judged.output()
            ));
        }
    }
    eprintln!("corpus: all cases in {:.0?}", started.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// An upstream spec compared in our operations, with the builds: whatever
/// it changes, the report and the build agree, and a facade that does not
/// build is never "not breaking".
fn upstream_is_judged_with_its_build(upstream: &str) {
    let run = xtask([
        "spec".as_ref(),
        "diff".as_ref(),
        "--format".as_ref(),
        "text".as_ref(),
        "--new".as_ref(),
        fixture(upstream).as_os_str(),
    ]);
    eprintln!("corpus: {upstream}: exit {}", run.code);
    assert!(run.code == 0 || run.code == 1, "{}", run.output());
    let builds = run.stdout.contains("The facade builds against");
    let fails = run.stdout.contains("The facade does NOT build against");
    assert!(builds != fails, "one build line: {}", run.output());
    if fails {
        assert_eq!(run.code, 1, "{}", run.output());
    }
    assert!(
        !run.stdout.contains("Rust source not judged"),
        "{}",
        run.output()
    );
}

#[test]
fn upstream_specs_are_judged_with_their_builds() {
    for upstream in [
        "upstream/plex-pms-openapi-1.1.1.yaml",
        "upstream/community-shaped.yaml",
        "upstream/multi-file/openapi.yaml",
    ] {
        upstream_is_judged_with_its_build(upstream);
    }
}
