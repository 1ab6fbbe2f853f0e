//! Task names: every name the spec knows, plus any other a server may list.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::Error;

/// Emits [`TaskName`] from the list of `Variant = "WireName" => RawVariant`
/// triples that `plex_butler_raw::known_task_names!` passes in. The list comes from the
/// spec's `KnownTaskName` enum, so a name added there becomes a variant here
/// with no other edit.
macro_rules! define_task_name {
    ($($variant:ident = $wire:literal => $raw:ident,)*) => {
        /// The name of a Butler task.
        ///
        /// One variant per name the spec's `KnownTaskName` lists, spelled as
        /// on the wire, and [`TaskName::Other`] for any other name: servers
        /// add tasks between releases, and a name this crate does not know is
        /// still a name the server may accept.
        ///
        /// - [`Display`](fmt::Display) and [`TaskName::as_str`] give the wire
        ///   name.
        /// - [`FromStr`] takes the exact name, or failing that a unique
        ///   ASCII case-insensitive match of a known name (`backupdatabase`
        ///   is [`TaskName::BackupDatabase`]); any other non-empty name
        ///   becomes [`TaskName::Other`]. Surrounding whitespace is trimmed;
        ///   an empty or whitespace-only name is a [`ParseTaskNameError`]
        ///   (which converts into [`Error::InvalidTaskName`] for `?`).
        /// - Serde reads and writes it as the plain string.
        /// - Equality, ordering and hashing go by the wire name, so
        ///   `TaskName::Other("BackupDatabase".into())` equals
        ///   `TaskName::BackupDatabase`. Compare names rather than matching
        ///   on `Other(..)`: a name that is `Other` today becomes a variant
        ///   when the spec learns it (hence `#[non_exhaustive]`).
        ///
        /// ```
        /// use plex_butler::TaskName;
        ///
        /// let name: TaskName = "optimizedatabase".parse()?;
        /// assert_eq!(name, TaskName::OptimizeDatabase);
        /// assert_eq!(name.to_string(), "OptimizeDatabase");
        ///
        /// let new: TaskName = "SomeFutureTask".parse()?;
        /// assert_eq!(new, TaskName::Other("SomeFutureTask".into()));
        ///
        /// assert!("  ".parse::<TaskName>().is_err());
        /// # Ok::<(), plex_butler::ParseTaskNameError>(())
        /// ```
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum TaskName {
            $(
                #[doc = concat!("The `", $wire, "` task.")]
                $variant,
            )*
            /// A name the spec does not list: a task of a newer (or
            /// different) server. Holds the name as given.
            Other(String),
        }

        /// The known names, in the spec's order.
        const KNOWN: &[TaskName] = &[$(TaskName::$variant,)*];

        impl TaskName {
            /// The wire name, as the server spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(name) => name,
                }
            }

            /// The variant of a name the raw client decoded as known.
            fn from_known(known: plex_butler_raw::types::KnownTaskName) -> Self {
                match known {
                    $(plex_butler_raw::types::KnownTaskName::$raw => Self::$variant,)*
                }
            }

            /// The known variant spelled exactly `name`.
            fn known_exact(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

plex_butler_raw::known_task_names!(define_task_name);

/// Inputs longer than this get no suggestion: task names are short, and the
/// edit distance costs time in the product of the lengths.
const MAX_SUGGESTION_INPUT: usize = 128;

/// A substring of this many characters or more is specific enough to point
/// at a name (`backup` for `BackupDatabase`).
const MIN_SUBSTRING: usize = 4;

impl TaskName {
    /// Every known name, in the spec's order (it is sorted).
    ///
    /// ```
    /// assert!(plex_butler::TaskName::known().contains(&plex_butler::TaskName::BackupDatabase));
    /// ```
    pub fn known() -> &'static [TaskName] {
        KNOWN
    }

    /// Whether this is one of the names the spec lists.
    pub fn is_known(&self) -> bool {
        match self {
            Self::Other(name) => Self::known_exact(name).is_some(),
            _ => true,
        }
    }

    /// The known name closest to `input`, to suggest after a typo, or `None`
    /// when no name is close enough. See [`TaskName::suggest_among`].
    ///
    /// ```
    /// use plex_butler::TaskName;
    ///
    /// assert_eq!(TaskName::suggest("BackupDatabse"), Some(TaskName::BackupDatabase));
    /// assert_eq!(TaskName::suggest("backup"), Some(TaskName::BackupDatabase));
    /// assert_eq!(TaskName::suggest("Reticulate"), None);
    /// ```
    pub fn suggest(input: &str) -> Option<TaskName> {
        Self::suggest_among(input, KNOWN)
    }

    /// The candidate closest to `input`, or `None` when none is close enough
    /// or two are equally close (a wrong hint is worse than none).
    ///
    /// Matching ignores ASCII case, so `backupdatabase` suggests
    /// `BackupDatabase`; a candidate spelled exactly as `input` is never
    /// suggested (it is not a correction). In order:
    /// 1. the one candidate that contains `input` (of 4 characters or more),
    ///    such as `backup` in `BackupDatabase`;
    /// 2. the candidate at the smallest edit distance (Levenshtein: one
    ///    insertion, deletion or substitution each), if that distance is at
    ///    most a third of the input's length (at least 1).
    pub fn suggest_among<'a>(
        input: &str,
        candidates: impl IntoIterator<Item = &'a TaskName>,
    ) -> Option<TaskName> {
        let input = input.trim();
        if input.is_empty() || input.chars().count() > MAX_SUGGESTION_INPUT {
            return None;
        }
        let wanted = input.to_ascii_lowercase();
        let candidates: Vec<&TaskName> = candidates
            .into_iter()
            .filter(|c| c.as_str() != input)
            .collect();

        if wanted.chars().count() >= MIN_SUBSTRING {
            let mut containing = candidates
                .iter()
                .filter(|c| c.as_str().to_ascii_lowercase().contains(&wanted));
            if let (Some(only), None) = (containing.next(), containing.next()) {
                return Some((*only).clone());
            }
        }

        let limit = (wanted.chars().count() / 3).max(1);
        let mut best: Option<(usize, &TaskName)> = None;
        let mut tied = false;
        for candidate in candidates {
            let distance = edit_distance(&wanted, &candidate.as_str().to_ascii_lowercase());
            match best {
                Some((d, _)) if distance > d => {}
                Some((d, _)) if distance == d => tied = true,
                _ => {
                    best = Some((distance, candidate));
                    tied = false;
                }
            }
        }
        match best {
            Some((distance, candidate)) if distance <= limit && !tied => Some(candidate.clone()),
            _ => None,
        }
    }

    /// Checks that the name can travel as one path segment of
    /// `/butler/{task}`.
    ///
    /// The path encoder escapes `/`, `%`, `?`, `#`, spaces and controls, but
    /// URL parsing then turns `\` into `/` and resolves `.` and `..`
    /// segments, so such names would reach another path. No Butler task has
    /// such a name; they are refused before anything is sent.
    pub(crate) fn check_sendable(&self) -> Result<(), Error> {
        let name = self.as_str();
        let reason = if name.trim().is_empty() {
            Some("a task name cannot be empty")
        } else if name == "." || name == ".." {
            Some("`.` and `..` are not task names (they would change the request's path)")
        } else if name.contains('\\') {
            Some("a task name cannot contain `\\` (it would change the request's path)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidTaskName {
                name: name.to_owned(),
                reason,
            }),
            None => Ok(()),
        }
    }
}

/// Levenshtein distance over chars, with two rows.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The wire name; width, fill and alignment apply (`{:<32}` pads it).
impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for TaskName {
    type Err = ParseTaskNameError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ParseTaskNameError {
                input: input.to_owned(),
                reason: "a task name cannot be empty",
            });
        }
        Ok(Self::resolve(name))
    }
}

/// Why a string is not a [`TaskName`] (from [`FromStr`]): it is empty or
/// only whitespace.
///
/// Converts into [`Error::InvalidTaskName`], so that `?` works in
/// functions that return the crate's [`Error`].
///
/// ```
/// let error = " ".parse::<plex_butler::TaskName>().unwrap_err();
/// assert_eq!(error.input(), " ");
/// assert_eq!(error.to_string(), "invalid task name \" \": a task name cannot be empty");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseTaskNameError {
    input: String,
    reason: &'static str,
}

impl ParseTaskNameError {
    /// The string as given.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it is not a task name.
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for ParseTaskNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid task name {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for ParseTaskNameError {}

impl From<ParseTaskNameError> for Error {
    fn from(error: ParseTaskNameError) -> Self {
        Error::InvalidTaskName {
            name: error.input,
            reason: error.reason,
        }
    }
}

impl TaskName {
    /// The known variant spelled `name` exactly, or else its unique ASCII
    /// case-insensitive match, or else [`TaskName::Other`].
    fn resolve(name: &str) -> Self {
        if let Some(known) = Self::known_exact(name) {
            return known;
        }
        let mut matches = KNOWN
            .iter()
            .filter(|known| known.as_str().eq_ignore_ascii_case(name));
        match (matches.next(), matches.next()) {
            (Some(only), None) => only.clone(),
            _ => Self::Other(name.to_owned()),
        }
    }
}

/// As [`FromStr`], for calls that take `impl Into<TaskName>`
/// (`client.start("BackupDatabase")`), except that an empty name becomes
/// `Other("")`: the call refuses it with [`Error::InvalidTaskName`] before
/// sending anything.
impl From<&str> for TaskName {
    fn from(name: &str) -> Self {
        Self::resolve(name.trim())
    }
}

/// As `From<&str>`.
impl From<String> for TaskName {
    fn from(name: String) -> Self {
        Self::from(name.as_str())
    }
}

/// As `From<&str>`.
impl From<&String> for TaskName {
    fn from(name: &String) -> Self {
        Self::from(name.as_str())
    }
}

impl From<&TaskName> for TaskName {
    fn from(name: &TaskName) -> Self {
        name.clone()
    }
}

impl PartialEq for TaskName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TaskName {}

impl PartialEq<str> for TaskName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TaskName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for TaskName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for TaskName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TaskName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl serde::Serialize for TaskName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TaskName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for TaskName {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("TaskName")
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed(concat!(module_path!(), "::TaskName"))
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known: Vec<&str> = KNOWN.iter().map(TaskName::as_str).collect();
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "description": "A Butler task's name as the server spells it: one of the known names, or any other a newer server lists.",
            "examples": known,
        })
    }
}

impl TaskName {
    /// The name of a listed task as the raw client decoded it: a known
    /// name maps to its variant without a look at the string (the list is
    /// decoded on every call); any other goes through [`FromStr`].
    pub(crate) fn from_raw(
        name: &plex_butler_raw::types::TaskName,
    ) -> Result<Self, ParseTaskNameError> {
        match name {
            plex_butler_raw::types::TaskName::KnownTaskName(known) => Ok(Self::from_known(*known)),
            plex_butler_raw::types::TaskName::String(name) => name.parse(),
        }
    }
}

impl TaskName {
    /// The name as the raw client's operations take it.
    pub(crate) fn to_raw(&self) -> plex_butler_raw::types::TaskName {
        plex_butler_raw::types::TaskName::String(self.as_str().to_owned())
    }
}

/// For the raw client's operations (feature `raw`), which take the
/// generated name type.
#[cfg(feature = "raw")]
impl From<&TaskName> for plex_butler_raw::types::TaskName {
    fn from(name: &TaskName) -> Self {
        name.to_raw()
    }
}

/// As `From<&TaskName>` (feature `raw`).
#[cfg(feature = "raw")]
impl From<TaskName> for plex_butler_raw::types::TaskName {
    fn from(name: TaskName) -> Self {
        name.to_raw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoded_known_name_maps_to_the_variant_of_that_name() {
        use plex_butler_raw::types as raw;
        for known in KNOWN {
            // As the raw client decodes a listed name.
            let decoded: raw::TaskName =
                serde_json::from_value(serde_json::json!(known.as_str())).expect("decodes");
            assert!(
                matches!(decoded, raw::TaskName::KnownTaskName(_)),
                "{known} decoded as {decoded:?}"
            );
            let name = TaskName::from_raw(&decoded).expect("a name");
            assert_eq!(name.as_str(), known.as_str());
            assert!(!matches!(name, TaskName::Other(_)), "{known} became Other");
        }
    }

    #[test]
    fn a_decoded_unknown_name_is_other_and_an_empty_one_an_error() {
        use plex_butler_raw::types as raw;
        let decoded = raw::TaskName::String("SomeFutureTask".to_owned());
        assert_eq!(
            TaskName::from_raw(&decoded).expect("a name"),
            TaskName::Other("SomeFutureTask".to_owned())
        );
        // A known name in other case, as a server might list it.
        let decoded = raw::TaskName::String("backupdatabase".to_owned());
        assert!(matches!(
            TaskName::from_raw(&decoded),
            Ok(TaskName::BackupDatabase)
        ));
        let empty = raw::TaskName::String(" ".to_owned());
        assert!(TaskName::from_raw(&empty).is_err());
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("täsk", "task"), 1);
    }

    #[test]
    fn ties_give_no_suggestion() {
        let a = TaskName::Other("Alpha1".into());
        let b = TaskName::Other("Alpha2".into());
        assert_eq!(TaskName::suggest_among("Alpha3", [&a, &b]), None);
        assert_eq!(TaskName::suggest_among("Alpha1x", [&a, &b]), Some(a));
    }

    #[test]
    fn name_spelled_exactly_as_the_input_is_not_a_suggestion() {
        assert_eq!(TaskName::suggest("BackupDatabase"), None);
        assert_eq!(
            TaskName::suggest("backupdatabase"),
            Some(TaskName::BackupDatabase)
        );
    }
}
