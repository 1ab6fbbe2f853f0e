//! The server's settings (`/:/prefs`): reading every one or one, and
//! changing some in one request.
//!
//! The Butler's maintenance window and its per-task switches are settings
//! like any other; `butler_settings` reads them typed.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use plex_butler_raw::types as raw;
use serde_json::Value as Json;

use crate::call::Progress;
use crate::operations::{self, GET_PREFERENCE, GET_PREFERENCES, SET_PREFERENCES};
use crate::response::{DecodeProblem, RawError, excerpt};
use crate::retry::Moment;
use crate::{Client, Error};

/// How long after a change of settings a 400 is taken for the server's
/// passing refusal rather than its answer: plex-api.rs reports 400s for
/// "a short while" after a PUT; two seconds covers the retries of the
/// default policy.
const SETTLE: Duration = Duration::from_secs(2);

/// One server setting, as `GET /:/prefs` lists it.
///
/// Read leniently: a value is kept whatever its JSON type (see
/// [`SettingValue`]), unknown fields are ignored, and a type this crate
/// does not know is [`SettingKind::Other`]. Its JSON form (through
/// [`serde::Serialize`]) uses snake_case names, `type` for
/// [`Setting::kind`], and `choices` as `[{"value":..,"label":..}]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Setting {
    /// The setting's id, such as `ButlerStartHour`: what
    /// [`Client::set_settings`] takes.
    pub id: String,
    /// A user-friendly name; may be empty.
    pub label: String,
    /// A user-friendly description; may be empty.
    pub summary: String,
    /// How the server types the value.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub kind: SettingKind,
    /// The default value. Empty text when the server sent none.
    pub default: SettingValue,
    /// The current value. Empty text when the server sent none.
    pub value: SettingValue,
    /// Whether the server's own settings pages hide it.
    pub hidden: bool,
    /// Whether it counts as an advanced setting.
    pub advanced: bool,
    /// The group it shows in, such as `butler`, `general` or `library`;
    /// may be empty.
    pub group: String,
    /// The values it takes, when the choice is fixed (the server's
    /// `enumValues`), in the server's order; empty otherwise. The server
    /// may still hold a value that is not among them (a real server's
    /// update channel defaults to `16`, listed as `0` and `8` only).
    pub choices: Vec<SettingChoice>,
}

/// One value a setting with a fixed choice takes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SettingChoice {
    /// The value as [`Client::set_settings`] sends it, such as `8`.
    pub value: String,
    /// What the server shows for it, such as `Beta`. The hours of the
    /// maintenance window are labelled `2꞉00`, with U+A789 (modifier
    /// letter colon) as the server sends it.
    pub label: String,
}

/// How a setting's value is typed (its `type`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SettingKind {
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `double`.
    Double,
    /// `text`, and settings that name no type.
    Text,
    /// A type this crate does not know; its value is kept as text.
    Other(String),
}

impl SettingKind {
    /// The type's name as the server writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Double => "double",
            Self::Text => "text",
            Self::Other(name) => name,
        }
    }

    fn from_wire(name: Option<&str>) -> Self {
        match name.map(str::trim) {
            Some("bool") => Self::Bool,
            Some("int") => Self::Int,
            Some("double") => Self::Double,
            Some("text") | Some("") | None => Self::Text,
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for SettingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SettingKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A setting's value, or a value to set.
///
/// Read by the setting's [`SettingKind`], leniently: a flag from a JSON
/// boolean, `0`/`1` or `"true"`/`"false"`/`"0"`/`"1"`; a number from a
/// JSON number or a string of one. A value that does not read as its kind
/// is kept as [`SettingValue::Text`], never an error. Converts from
/// `bool`, the integers, `f64`, `&str` and `String`, so that
/// [`Client::set_settings`] takes plain values. Its [`Display`](fmt::Display)
/// is what a change sends: `true`/`false`, the number, or the text.
/// Serializes as the plain JSON value.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(untagged)]
#[non_exhaustive]
pub enum SettingValue {
    /// A flag.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Double(f64),
    /// Text, or a value that did not read as its setting's kind.
    Text(String),
}

impl SettingValue {
    /// The flag, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The whole number, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Reads a JSON value as a value of `kind`, keeping what does not
    /// read as text.
    fn read(kind: &SettingKind, json: Option<&Json>) -> Self {
        let text = || match json {
            None | Some(Json::Null) => String::new(),
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let read = match (kind, json) {
            (SettingKind::Bool, Some(Json::Bool(b))) => Some(Self::Bool(*b)),
            (SettingKind::Bool, Some(Json::Number(n))) => match n.as_u64() {
                Some(0) => Some(Self::Bool(false)),
                Some(1) => Some(Self::Bool(true)),
                _ => None,
            },
            (SettingKind::Bool, Some(Json::String(s))) => match s.trim() {
                "0" | "false" => Some(Self::Bool(false)),
                "1" | "true" => Some(Self::Bool(true)),
                _ => None,
            },
            (SettingKind::Int, Some(Json::Number(n))) => n.as_i64().map(Self::Int),
            (SettingKind::Int, Some(Json::String(s))) => s.trim().parse().ok().map(Self::Int),
            (SettingKind::Double, Some(Json::Number(n))) => n.as_f64().map(Self::Double),
            (SettingKind::Double, Some(Json::String(s))) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Self::Double),
            _ => None,
        };
        read.unwrap_or_else(|| Self::Text(text()))
    }
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(n) => write!(f, "{n}"),
            Self::Double(x) => write!(f, "{x}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

impl From<bool> for SettingValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

macro_rules! from_integer {
    ($($ty:ty),*) => {$(
        impl From<$ty> for SettingValue {
            fn from(value: $ty) -> Self {
                Self::Int(i64::from(value))
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, u8, u16, u32);

impl From<f64> for SettingValue {
    fn from(value: f64) -> Self {
        Self::Double(value)
    }
}

impl From<&str> for SettingValue {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for SettingValue {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

/// When this client last changed settings, for the retry rule that reads
/// a 400 shortly after as passing.
#[derive(Debug, Default)]
pub(crate) struct ChangeClock(Mutex<Option<Instant>>);

impl ChangeClock {
    fn mark(&self) {
        if let Ok(mut at) = self.0.lock() {
            *at = Some(Instant::now());
        }
    }

    /// Whether a change was made a moment ago.
    pub(crate) fn moment(&self) -> Moment {
        let recent = self
            .0
            .lock()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| at.elapsed() < SETTLE);
        if recent {
            Moment::JustAfterSettingsChange
        } else {
            Moment::Usual
        }
    }
}

/// Reading settings cannot fail once the JSON parsed: every value is kept.
#[derive(Debug)]
pub(crate) enum Lenient {}

impl fmt::Display for Lenient {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for Lenient {}

impl DecodeProblem for Lenient {
    fn excerpt(&self) -> &str {
        match *self {}
    }
}

fn settings_from_raw(
    answer: raw::SettingsResponse,
    _: Option<&str>,
) -> Result<Vec<Setting>, Lenient> {
    Ok(answer
        .media_container
        .setting
        .into_iter()
        .map(setting_from_raw)
        .collect())
}

fn setting_from_raw(setting: raw::Setting) -> Setting {
    let kind = SettingKind::from_wire(setting.type_.as_deref());
    let flag = |value: Option<&raw::PlexBoolean>| {
        value.is_some_and(|v| crate::task::flag(v, None).unwrap_or(false))
    };
    Setting {
        default: SettingValue::read(&kind, setting.default.as_ref().map(|v| &v.0)),
        value: SettingValue::read(&kind, setting.value.as_ref().map(|v| &v.0)),
        kind,
        hidden: flag(setting.hidden.as_ref()),
        advanced: flag(setting.advanced.as_ref()),
        id: setting.id,
        label: setting.label.unwrap_or_default(),
        summary: setting.summary.unwrap_or_default(),
        group: setting.group.unwrap_or_default(),
        choices: setting
            .enum_values
            .as_deref()
            .map(parse_choices)
            .unwrap_or_default(),
    }
}

/// `value:label|value:label`; a choice without `:` is its own label.
fn parse_choices(list: &str) -> Vec<SettingChoice> {
    list.split('|')
        .filter(|choice| !choice.is_empty())
        .map(|choice| {
            let (value, label) = choice.split_once(':').unwrap_or((choice, choice));
            SettingChoice {
                value: value.to_owned(),
                label: label.to_owned(),
            }
        })
        .collect()
}

impl Client {
    /// Lists every setting of the server (`GET /:/prefs`), the Butler's
    /// among them; [`Client::butler_settings`] reads those typed.
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// As [`Client::tasks`].
    pub async fn settings(&self) -> Result<Vec<Setting>, Error> {
        let progress = &Progress::default();
        self.traced(&GET_PREFERENCES, None, progress, async {
            self.with_retries(&GET_PREFERENCES, progress, |deadline| async move {
                let result = self.shared.raw.get_preferences().send().await;
                self.decoded(
                    result,
                    settings_from_raw,
                    "the settings",
                    deadline,
                    progress,
                )
                .await
            })
            .await
        })
        .await
    }

    /// Reads one setting (`GET /:/prefs/get?id=ID`).
    ///
    /// Retried on every passing failure: reading has no effect.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSetting`] when the server has no setting of that id
    /// (404); [`Error::InvalidSetting`] for an empty id; and the errors of
    /// [`Client::tasks`].
    pub async fn setting(&self, id: &str) -> Result<Setting, Error> {
        let progress = &Progress::default();
        self.traced(&GET_PREFERENCE, None, progress, async {
            check_id(id)?;
            let unknown = || Error::UnknownSetting {
                id: excerpt(id.as_bytes(), self.secret()),
            };
            let found = self
                .with_retries(&GET_PREFERENCE, progress, |deadline| async move {
                    let result = self.shared.raw.get_preference().id(id).send().await;
                    use operations::get_preference::NO_SUCH_SETTING;
                    if let Err(RawError::ErrorResponse(response)) = &result
                        && response.status().as_u16() == NO_SUCH_SETTING
                    {
                        progress.saw(NO_SUCH_SETTING);
                        return Err(unknown());
                    }
                    self.decoded(result, settings_from_raw, "the setting", deadline, progress)
                        .await
                })
                .await?;
            // A container of one; should a server send more, the id picks.
            let mut found = found.into_iter();
            let first = found.next();
            found.find(|s| s.id == id).or(first).ok_or_else(unknown)
        })
        .await
    }

    /// Changes settings in one request (`PUT /:/prefs?ID=VALUE&...`):
    /// pairs of an id and a value, such as `("ButlerStartHour", 1)` or
    /// `("ButlerTaskRefreshLibraries", true)`. Flags are sent as
    /// `true`/`false`. A later pair for the same id wins. Nothing to
    /// change sends nothing.
    ///
    /// A real server may answer 400 to the requests that follow a change
    /// for a short while: for 2 s after a change, every call of this
    /// client retries a 400 per its [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// Retried on every passing failure: setting the same values again
    /// leaves them set.
    ///
    /// The settings are not read back: a 200 is taken for the change,
    /// which a server that drops it, or a proxy's login page, also
    /// answers. [`Client::change_butler_settings`] reads the Butler's
    /// settings back and says when they do not hold.
    ///
    /// # Errors
    ///
    /// [`Error::SettingsRefused`] when the server refuses (400 or 403: an
    /// id does not exist, or a value does not fit), naming the ids sent;
    /// within 2 s of an earlier change by this client, a 400 is reported
    /// only after the retries above (it cannot be told from the passing
    /// one);
    /// [`Error::InvalidSetting`] for an empty id; and the errors of
    /// [`Client::tasks`].
    pub async fn set_settings<K, V>(
        &self,
        changes: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<SettingValue>,
    {
        let changes: Vec<(String, String)> = changes
            .into_iter()
            .map(|(id, value)| (id.into(), value.into().to_string()))
            .collect();
        let progress = &Progress::default();
        self.traced(&SET_PREFERENCES, None, progress, async {
            for (id, _) in &changes {
                check_id(id)?;
            }
            if changes.is_empty() {
                return Ok(());
            }
            let ids: Vec<String> = changes
                .iter()
                .map(|(id, _)| excerpt(id.as_bytes(), self.secret()))
                .collect();
            let query: std::collections::HashMap<String, String> =
                changes.iter().cloned().collect();
            self.with_retries(&SET_PREFERENCES, progress, |deadline| {
                let (query, ids) = (query.clone(), &ids);
                async move {
                    let result = self.shared.raw.set_preferences().prefs(query).send().await;
                    use operations::set_preferences::{REFUSED, REFUSED_FORBIDDEN};
                    match self
                        .status_of(result, &[REFUSED, REFUSED_FORBIDDEN], deadline, progress)
                        .await?
                    {
                        status @ (REFUSED | REFUSED_FORBIDDEN) => Err(Error::SettingsRefused {
                            status,
                            ids: ids.clone(),
                        }),
                        _ => Ok(()),
                    }
                }
            })
            .await?;
            self.shared.settings_changed.mark();
            Ok(())
        })
        .await
    }
}

fn check_id(id: &str) -> Result<(), Error> {
    if id.trim().is_empty() {
        return Err(Error::InvalidSetting {
            id: excerpt(id.as_bytes(), None),
            reason: "a setting id cannot be empty",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(kind: &str, json: &str) -> SettingValue {
        let value: Json = serde_json::from_str(json).unwrap_or(Json::Null);
        SettingValue::read(&SettingKind::from_wire(Some(kind)), Some(&value))
    }

    #[test]
    fn flags_read_from_booleans_digits_and_words() {
        for (json, expected) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            (r#""1""#, true),
            (r#""false""#, false),
        ] {
            assert_eq!(read("bool", json), SettingValue::Bool(expected), "{json}");
        }
    }

    #[test]
    fn a_value_that_does_not_read_as_its_kind_is_kept_as_text() {
        assert_eq!(read("bool", "2"), SettingValue::Text("2".into()));
        assert_eq!(read("bool", r#""yes""#), SettingValue::Text("yes".into()));
        assert_eq!(read("int", r#""3 am""#), SettingValue::Text("3 am".into()));
        assert_eq!(read("int", "2.5"), SettingValue::Text("2.5".into()));
        assert_eq!(read("double", r#""NaN""#), SettingValue::Text("NaN".into()));
        assert_eq!(read("int", "null"), SettingValue::Text(String::new()));
        assert_eq!(read("text", "[1]"), SettingValue::Text("[1]".into()));
    }

    #[test]
    fn numbers_read_from_numbers_and_strings_of_them() {
        assert_eq!(read("int", "7"), SettingValue::Int(7));
        assert_eq!(read("int", r#"" 7 ""#), SettingValue::Int(7));
        assert_eq!(read("double", "1.5"), SettingValue::Double(1.5));
        assert_eq!(read("double", r#""1.5""#), SettingValue::Double(1.5));
        assert_eq!(read("text", "16"), SettingValue::Text("16".into()));
    }

    #[test]
    fn an_unknown_type_is_kept_and_its_value_read_as_text() {
        assert_eq!(
            SettingKind::from_wire(Some("color")),
            SettingKind::Other("color".into())
        );
        assert_eq!(read("color", "true"), SettingValue::Text("true".into()));
        assert_eq!(SettingKind::from_wire(None), SettingKind::Text);
    }

    #[test]
    fn choices_split_into_values_and_labels_keeping_their_bytes() {
        let choices = parse_choices("0:0꞉00|8:Beta|asap|");
        let pairs: Vec<(&str, &str)> = choices
            .iter()
            .map(|c| (c.value.as_str(), c.label.as_str()))
            .collect();
        assert_eq!(pairs, [("0", "0꞉00"), ("8", "Beta"), ("asap", "asap")]);
    }

    #[test]
    fn values_are_sent_as_servers_read_them() {
        assert_eq!(SettingValue::from(true).to_string(), "true");
        assert_eq!(SettingValue::from(7u32).to_string(), "7");
        assert_eq!(SettingValue::from("asap").to_string(), "asap");
    }
}
