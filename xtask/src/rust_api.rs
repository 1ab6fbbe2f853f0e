//! The Rust-source verdict of `spec diff`: the raw client built from the
//! old and from the new spec, each described by rustdoc, and the two
//! public APIs compared by the `public-api` crate. An item removed or
//! changed breaks code written against the old client; an item added does
//! not. (A required parameter added is a setter more, and so compiles, yet
//! `send()` fails until it is set: the wire rows call it breaking.)

use std::collections::BTreeMap;
use std::path::Path;

use public_api::diff::PublicApiDiff;

use crate::Failure;
use crate::wire::{About, Class, Row};

/// The rows of the generated client's public API, from rustdoc's JSON of
/// each side.
pub fn rows(old_json: &Path, new_json: &Path) -> Result<Vec<Row>, Failure> {
    let read = |json| crate::public_api::from_json(json, "plex-butler-raw", true);
    let diff = PublicApiDiff::between(read(old_json)?, read(new_json)?);
    let old_owners: Vec<String> = (diff.removed.iter())
        .chain(diff.changed.iter().map(|c| &c.old))
        .map(|i| owner(&i.to_string()))
        .collect();
    let row = |class, change, why: &str| Row {
        change,
        about: About::Rust,
        class,
        why: why.to_string(),
    };
    let mut rows = Vec::new();
    for (owner, items) in grouped(&diff.removed) {
        let change = summary(&owner, &items, "removed");
        rows.push(row(
            Class::Breaking,
            change,
            "code that names it stops compiling",
        ));
    }
    for changed in &diff.changed {
        let change = format!("`{}` is now `{}`", short(&changed.old), short(&changed.new));
        let why = "code written against the old signature may stop compiling";
        rows.push(row(Class::Breaking, change, why));
    }
    for (owner, items) in grouped(&diff.added) {
        let why = if old_owners.contains(&owner) {
            "an addition to an item that changed: see its other rows"
        } else {
            "an addition: code written against the old client still compiles"
        };
        rows.push(row(
            Class::NotBreaking,
            summary(&owner, &items, "added"),
            why,
        ));
    }
    Ok(rows)
}

/// The item itself when it is alone, else the owner and how many items.
fn summary(owner: &str, items: &[String], what: &str) -> String {
    match items {
        [one] => format!("`{}` {what}", short(one)),
        many => format!("`{}` {what}: {} items", short(owner), many.len()),
    }
}

/// Items by the type or module item they belong to, so that a new
/// operation reads as its method and its builder, not fifty lines.
fn grouped(items: &[impl ToString]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items.iter().map(ToString::to_string) {
        let key = if item.contains("::Client::") {
            item.clone()
        } else {
            owner(&item)
        };
        out.entry(key).or_default().push(item);
    }
    out
}

/// The item a line belongs to: for `impl X for Y`, `Y`; else the first
/// path of the crate, up to its first type name.
fn owner(line: &str) -> String {
    let start = line.rfind(" for ").map_or(0, |i| i + 5);
    let rest = &line[start..];
    let rest = &rest[rest.find("plex_butler_raw::").unwrap_or(0)..];
    let path: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let mut segments = Vec::new();
    for segment in path.split("::") {
        segments.push(segment);
        if segment.starts_with(char::is_uppercase) {
            break;
        }
    }
    segments.join("::")
}

fn short(item: &(impl ToString + ?Sized)) -> String {
    item.to_string().replace("plex_butler_raw::", "")
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn items_belong_to_their_type() {
        assert_eq!(
            owner("pub fn plex_butler_raw::builder::StartTask<'a>::send(self)"),
            "plex_butler_raw::builder::StartTask"
        );
        assert_eq!(
            owner("impl core::clone::Clone for plex_butler_raw::types::ButlerTask"),
            "plex_butler_raw::types::ButlerTask"
        );
        assert_eq!(
            owner("pub plex_butler_raw::types::KnownTaskName::BackupDatabase"),
            "plex_butler_raw::types::KnownTaskName"
        );
    }
}
