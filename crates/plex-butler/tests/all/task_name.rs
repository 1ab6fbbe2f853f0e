//! Task names: the spec's known names, parsing rules, serde and suggestions.

use std::collections::HashSet;

use plex_butler::{Error, TaskName};

const SPEC: &str = include_str!("../../../../openapi/butler.yaml");

/// The values of `KnownTaskName.enum` in the spec, read line by line.
fn spec_known_names() -> Vec<String> {
    let mut lines = SPEC.lines().skip_while(|l| l.trim() != "KnownTaskName:");
    let _ = lines.by_ref().find(|l| l.trim() == "enum:");
    lines
        .map(str::trim)
        .take_while(|l| l.starts_with("- "))
        .map(|l| l.trim_start_matches("- ").trim_matches('"').to_owned())
        .collect()
}

#[test]
fn known_names_are_exactly_the_spec_enum_in_order() {
    let spec = spec_known_names();
    assert!(spec.len() >= 27, "the spec lists {} names", spec.len());
    let known: Vec<&str> = TaskName::known().iter().map(TaskName::as_str).collect();
    assert_eq!(known, spec);
}

#[test]
fn every_known_name_round_trips_through_display_and_parse() {
    for name in TaskName::known() {
        let parsed: TaskName = name.to_string().parse().expect("parses");
        assert_eq!(&parsed, name);
        assert!(parsed.is_known(), "{name}");
        assert!(
            !matches!(parsed, TaskName::Other(_)),
            "{name} parsed as Other"
        );
    }
}

#[test]
fn exact_name_parses_to_its_variant() {
    assert!(matches!(
        "BackupDatabase".parse(),
        Ok(TaskName::BackupDatabase)
    ));
    assert!(matches!(
        "ProcessAssets".parse(),
        Ok(TaskName::ProcessAssets)
    ));
}

#[test]
fn case_insensitive_match_of_a_known_name_parses_to_its_variant() {
    for input in ["backupdatabase", "BACKUPDATABASE", "bAcKuPdAtAbAsE"] {
        let name: TaskName = input.parse().expect("parses");
        assert!(
            matches!(name, TaskName::BackupDatabase),
            "{input}: {name:?}"
        );
        assert_eq!(name.to_string(), "BackupDatabase");
    }
}

#[test]
fn unknown_name_parses_to_other_as_given() {
    let name: TaskName = "SomeFutureTask".parse().expect("parses");
    assert_eq!(name, TaskName::Other("SomeFutureTask".into()));
    assert_eq!(name.to_string(), "SomeFutureTask");
    assert!(!name.is_known());
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    let name: TaskName = "  OptimizeDatabase\n".parse().expect("parses");
    assert!(matches!(name, TaskName::OptimizeDatabase));
}

#[test]
fn empty_or_whitespace_name_is_an_error() {
    for input in ["", " ", "\t\n"] {
        let error = input.parse::<TaskName>().expect_err(input);
        assert_eq!(error.input(), input);
        assert_eq!(error.reason(), "a task name cannot be empty");
        assert!(error.to_string().contains("cannot be empty"), "{error}");
        // `?` in a function returning the crate's error.
        let error = plex_butler::Error::from(error);
        assert!(
            matches!(&error, Error::InvalidTaskName { name, .. } if name == input),
            "{error:?}"
        );
    }
}

#[test]
fn other_with_a_known_spelling_equals_the_variant() {
    let other = TaskName::Other("BackupDatabase".into());
    assert_eq!(other, TaskName::BackupDatabase);
    assert!(other.is_known());
    let set: HashSet<TaskName> = [other, TaskName::BackupDatabase].into_iter().collect();
    assert_eq!(set.len(), 1, "equal names hash alike");
    assert_ne!(
        TaskName::Other("backupdatabase".into()),
        TaskName::BackupDatabase
    );
}

#[test]
fn serde_writes_and_reads_the_plain_string() {
    assert_eq!(
        serde_json::to_string(&TaskName::BackupDatabase).expect("json"),
        r#""BackupDatabase""#
    );
    assert_eq!(
        serde_json::to_string(&TaskName::Other("New Task".into())).expect("json"),
        r#""New Task""#
    );
    let known: TaskName = serde_json::from_str(r#""CleanOldBundles""#).expect("json");
    assert!(matches!(known, TaskName::CleanOldBundles));
    let other: TaskName = serde_json::from_str(r#""Mystery""#).expect("json");
    assert_eq!(other, TaskName::Other("Mystery".into()));
    assert!(serde_json::from_str::<TaskName>(r#""""#).is_err());
    assert!(serde_json::from_str::<TaskName>("42").is_err());
}

#[test]
fn suggestion_finds_a_near_miss_a_distinctive_part_or_nothing() {
    assert_eq!(
        TaskName::suggest("OptimiseDatabase"),
        Some(TaskName::OptimizeDatabase)
    );
    assert_eq!(
        TaskName::suggest("cleanoldbundle"),
        Some(TaskName::CleanOldBundles)
    );
    assert_eq!(
        TaskName::suggest("blurhash"),
        Some(TaskName::GenerateBlurHashes)
    );
    // Four tasks contain "Refresh": no single one to point at.
    assert_eq!(TaskName::suggest("Refresh"), None);
    assert_eq!(TaskName::suggest("Frobnicate"), None);
    assert_eq!(TaskName::suggest(""), None);
    assert_eq!(TaskName::suggest(&"x".repeat(10_000)), None);
}

// With the `schemars` feature (the command turns it on in a workspace run).
#[cfg(feature = "schemars")]
#[test]
fn json_schema_describes_a_non_empty_string() {
    let schema = schemars::schema_for!(TaskName);
    let value = serde_json::to_value(&schema).expect("schema json");
    assert_eq!(value["type"], "string");
    assert_eq!(value["minLength"], 1);
    assert!(
        value["examples"]
            .as_array()
            .is_some_and(|e| e.len() == TaskName::known().len())
    );
}

#[test]
fn display_honours_width_alignment_and_precision() {
    assert_eq!(
        format!("{:<20}|", TaskName::BackupDatabase),
        "BackupDatabase      |"
    );
    assert_eq!(format!("{:>6}", TaskName::Other("Xy".into())), "    Xy");
    assert_eq!(format!("{:-^8}", TaskName::Other("ab".into())), "---ab---");
    assert_eq!(format!("{:.6}", TaskName::BackupDatabase), "Backup");
    assert_eq!(TaskName::BackupDatabase.to_string(), "BackupDatabase");
}

#[test]
fn strings_convert_into_names_as_parsing_does() {
    fn named(name: impl Into<TaskName>) -> TaskName {
        name.into()
    }
    assert!(matches!(named("BackupDatabase"), TaskName::BackupDatabase));
    assert!(matches!(
        named(" optimizedatabase "),
        TaskName::OptimizeDatabase
    ));
    let owned = String::from("SomeFutureTask");
    assert!(matches!(named(&owned), TaskName::Other(ref n) if n == "SomeFutureTask"));
    assert!(matches!(named(owned), TaskName::Other(ref n) if n == "SomeFutureTask"));
    for typed in ["Backupdatabase", "BACKUPDATABASE", " BackupDatabase"] {
        assert_eq!(named(typed), typed.parse::<TaskName>().expect("parses"));
    }
    // An empty name converts, and the calls refuse it before sending.
    assert_eq!(named("  ").as_str(), "");
}
