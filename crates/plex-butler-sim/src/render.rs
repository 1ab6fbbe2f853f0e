//! The server's answers as bytes: XML the way PMS writes it (one element per
//! line, ` />` to close, `0`/`1` flags, `&#39;` for apostrophes), and the
//! same content as JSON.

use std::fmt::Write as _;

use crate::settings::{self, Definition};
use crate::state::Activity;
use crate::task::TaskSpec;

/// The version a PMS 1.43.2 reports.
pub(crate) const SERVER_VERSION: &str = "1.43.2.10687-563d026ea";
/// The API version a PMS 1.43.2 reports.
pub(crate) const API_VERSION: &str = "1.2.2";

const XML_HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// An attribute value, written `0`/`1` or as a number in XML, typed in JSON.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Bool(bool),
    Int(i64),
    Str(&'a str),
}

fn escape_xml(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn escape_json(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn xml_attrs(out: &mut String, attrs: &[(&str, Value<'_>)]) {
    for (name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        match value {
            Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Str(s) => escape_xml(out, s),
        }
        out.push('"');
    }
}

/// Writes `"name":value,...` (no braces).
fn json_members(out: &mut String, attrs: &[(&str, Value<'_>)]) {
    for (i, (name, value)) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape_json(out, name);
        out.push(':');
        match value {
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Str(s) => escape_json(out, s),
        }
    }
}

/// An element of `name` with `attrs` and `children` (each a list of
/// attributes of a child element called `child`), as XML or JSON.
struct Document<'a> {
    root: &'a str,
    attrs: &'a [(&'a str, Value<'a>)],
    child: &'a str,
    children: &'a [Vec<(&'a str, Value<'a>)>],
    /// Whether children close themselves (`<X ... />`) or have an end tag.
    self_closing: bool,
}

impl Document<'_> {
    fn xml(&self) -> String {
        let mut out = String::with_capacity(256 + 160 * self.children.len());
        out.push_str(XML_HEADER);
        out.push('<');
        out.push_str(self.root);
        xml_attrs(&mut out, self.attrs);
        out.push_str(">\n");
        for child in self.children {
            out.push('<');
            out.push_str(self.child);
            xml_attrs(&mut out, child);
            if self.self_closing {
                out.push_str(" />\n");
            } else {
                out.push_str(">\n</");
                out.push_str(self.child);
                out.push_str(">\n");
            }
        }
        out.push_str("</");
        out.push_str(self.root);
        out.push_str(">\n");
        out
    }

    /// `{"root":{attrs...,"child":[{...},...]}}`; the array is left out when
    /// there are no children, as PMS does.
    fn json(&self) -> String {
        let mut out = String::with_capacity(64 + 128 * self.children.len());
        out.push('{');
        escape_json(&mut out, self.root);
        out.push_str(":{");
        json_members(&mut out, self.attrs);
        if !self.children.is_empty() {
            if !self.attrs.is_empty() {
                out.push(',');
            }
            escape_json(&mut out, self.child);
            out.push_str(":[");
            for (i, child) in self.children.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                json_members(&mut out, child);
                out.push('}');
            }
            out.push(']');
        }
        out.push_str("}}");
        out
    }
}

/// A body in both forms.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub xml: String,
    pub json: String,
}

fn render(doc: &Document<'_>) -> Rendered {
    Rendered {
        xml: doc.xml(),
        json: doc.json(),
    }
}

/// `GET /butler`.
pub(crate) fn butler_tasks<'a>(tasks: impl IntoIterator<Item = &'a TaskSpec>) -> Rendered {
    let children: Vec<Vec<(&str, Value<'_>)>> = tasks
        .into_iter()
        .map(|task| {
            let mut attrs = vec![
                ("name", Value::Str(&task.name)),
                ("interval", Value::Int(i64::from(task.interval_days))),
                ("scheduleRandomized", Value::Bool(task.randomized)),
                ("enabled", Value::Bool(task.enabled)),
            ];
            if let Some(title) = &task.title {
                attrs.push(("title", Value::Str(title)));
            }
            if let Some(description) = &task.description {
                attrs.push(("description", Value::Str(description)));
            }
            attrs
        })
        .collect();
    render(&Document {
        root: "ButlerTasks",
        attrs: &[],
        child: "ButlerTask",
        children: &children,
        self_closing: true,
    })
}

/// An activity's attributes, in the order the server writes them.
fn activity_attrs(a: &Activity) -> Vec<(&str, Value<'_>)> {
    vec![
        ("uuid", Value::Str(&a.uuid)),
        ("type", Value::Str("butler")),
        ("cancellable", Value::Bool(a.cancellable)),
        ("userID", Value::Int(1)),
        ("title", Value::Str(&a.title)),
        ("subtitle", Value::Str(&a.subtitle)),
        ("progress", Value::Int(i64::from(a.progress))),
    ]
}

/// `GET /activities`.
pub(crate) fn activities(activities: &[Activity]) -> Rendered {
    let children: Vec<Vec<(&str, Value<'_>)>> = activities.iter().map(activity_attrs).collect();
    let size = i64::try_from(children.len()).unwrap_or(i64::MAX);
    render(&Document {
        root: "MediaContainer",
        attrs: &[("size", Value::Int(size))],
        child: "Activity",
        children: &children,
        self_closing: false,
    })
}

/// The `data` of an `activity` event: `{"ActivityNotification":{"event":
/// ..,"uuid":..,"Activity":{..}}}`, the `Activity` as `GET /activities`
/// writes it in JSON.
pub(crate) fn activity_event(event: &str, a: &Activity) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"ActivityNotification\":{");
    json_members(
        &mut out,
        &[("event", Value::Str(event)), ("uuid", Value::Str(&a.uuid))],
    );
    out.push_str(",\"Activity\":{");
    json_members(&mut out, &activity_attrs(a));
    out.push_str("}}}");
    out
}

/// `GET /:/prefs` and `GET /:/prefs/get`: settings as the server lists
/// them, a boolean's `default` and `value` as `0`/`1` in XML and `false`/
/// `true` in JSON, `enumValues` only where the setting has a fixed choice.
pub(crate) fn settings<'d, 'v>(
    entries: impl IntoIterator<Item = (&'d Definition, &'v settings::Value)>,
) -> Rendered {
    let typed = |value: &'v settings::Value| match value {
        settings::Value::Bool(b) => Value::Bool(*b),
        settings::Value::Int(n) => Value::Int(*n),
        settings::Value::Text(s) => Value::Str(s),
    };
    let children: Vec<Vec<(&str, Value<'_>)>> = entries
        .into_iter()
        .map(|(def, value)| {
            let default = match def.default {
                settings::DefaultValue::Bool(b) => Value::Bool(b),
                settings::DefaultValue::Int(n) => Value::Int(n),
                settings::DefaultValue::Text(s) => Value::Str(s),
            };
            let mut attrs = vec![
                ("id", Value::Str(def.id)),
                ("label", Value::Str(def.label)),
                ("summary", Value::Str(def.summary)),
                ("type", Value::Str(def.type_name())),
                ("default", default),
                ("value", typed(value)),
                ("hidden", Value::Bool(def.hidden)),
                ("advanced", Value::Bool(def.advanced)),
                ("group", Value::Str(def.group)),
            ];
            if let Some(choices) = def.enum_values {
                attrs.push(("enumValues", Value::Str(choices)));
            }
            attrs
        })
        .collect();
    let size = i64::try_from(children.len()).unwrap_or(i64::MAX);
    render(&Document {
        root: "MediaContainer",
        attrs: &[("size", Value::Int(size))],
        child: "Setting",
        children: &children,
        self_closing: true,
    })
}

/// What the simulated sessions play, by rating key: open films, so the
/// names are free to use.
const FILMS: [(&str, &str, i64); 4] = [
    ("101", "Big Buck Bunny", 596_000),
    ("102", "Sintel", 888_000),
    ("103", "Tears of Steel", 734_000),
    ("104", "Elephants Dream", 653_000),
];
/// Who watches, and on what: user id and name, player id, name and app.
const VIEWERS: [(i64, &str, &str, &str, &str); 3] = [
    (
        1,
        "alice",
        "3c9f4b2e8d1a4f06",
        "Living Room TV",
        "Plex for Android (TV)",
    ),
    (2, "bob", "7a1e0c5d9b2f4e38", "Firefox", "Plex Web"),
    (3, "carol", "e2d4f6a8c0b1435d", "iPhone", "Plex for iOS"),
];
/// The elements a session's `Video` holds, in order.
const SESSION_PARTS: [&str; 3] = ["User", "Player", "Session"];

/// The attributes of the `i`th session's `Video`, then of its parts.
fn session(i: u32) -> [Vec<(&'static str, Value<'static>)>; 4] {
    let (key, title, duration) = FILMS[i as usize % FILMS.len()];
    let (user_id, user, player_id, player, product) = VIEWERS[i as usize % VIEWERS.len()];
    [
        vec![
            ("sessionKey", Value::Int(i64::from(i) + 1)),
            ("ratingKey", Value::Str(key)),
            ("type", Value::Str("movie")),
            ("title", Value::Str(title)),
            ("duration", Value::Int(duration)),
            ("viewOffset", Value::Int(i64::from(i) * 61_000 % duration)),
        ],
        vec![("id", Value::Int(user_id)), ("title", Value::Str(user))],
        vec![
            ("local", Value::Bool(true)),
            ("machineIdentifier", Value::Str(player_id)),
            ("product", Value::Str(product)),
            ("state", Value::Str("playing")),
            ("title", Value::Str(player)),
        ],
        vec![
            ("id", Value::Str(player_id)),
            ("location", Value::Str("lan")),
        ],
    ]
}

/// `GET /status/sessions`: `count` films playing, each `Video` with its
/// `User`, `Player` and `Session` inside, as the server nests them (in
/// JSON: `Metadata[]` with `User`, `Player` and `Session` objects).
pub(crate) fn sessions(count: u32) -> Rendered {
    let items: Vec<_> = (0..count).map(session).collect();
    let size = [("size", Value::Int(i64::from(count)))];

    let mut xml = String::with_capacity(128 + 400 * items.len());
    xml.push_str(XML_HEADER);
    xml.push_str("<MediaContainer");
    xml_attrs(&mut xml, &size);
    xml.push_str(">\n");
    for [video, parts @ ..] in &items {
        xml.push_str("<Video");
        xml_attrs(&mut xml, video);
        xml.push_str(">\n");
        for (name, attrs) in SESSION_PARTS.iter().zip(parts) {
            xml.push('<');
            xml.push_str(name);
            xml_attrs(&mut xml, attrs);
            xml.push_str(" />\n");
        }
        xml.push_str("</Video>\n");
    }
    xml.push_str("</MediaContainer>\n");

    let mut json = String::with_capacity(64 + 300 * items.len());
    json.push_str("{\"MediaContainer\":{");
    json_members(&mut json, &size);
    if !items.is_empty() {
        json.push_str(",\"Metadata\":[");
        for (i, [video, parts @ ..]) in items.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push('{');
            json_members(&mut json, video);
            for (name, attrs) in SESSION_PARTS.iter().zip(parts) {
                json.push(',');
                escape_json(&mut json, name);
                json.push_str(":{");
                json_members(&mut json, attrs);
                json.push('}');
            }
            json.push('}');
        }
        json.push(']');
    }
    json.push_str("}}");
    Rendered { xml, json }
}

/// `GET /identity`.
pub(crate) fn identity(machine_identifier: &str) -> Rendered {
    render(&Document {
        root: "MediaContainer",
        attrs: &[
            ("size", Value::Int(0)),
            ("apiVersion", Value::Str(API_VERSION)),
            ("claimed", Value::Bool(false)),
            ("machineIdentifier", Value::Str(machine_identifier)),
            ("version", Value::Str(SERVER_VERSION)),
        ],
        child: "Directory",
        children: &[],
        self_closing: true,
    })
}

/// The server features a PMS 1.43.2 announced; clients read but do not need
/// them.
const OWNER_FEATURES: &str = "00077925-6031-401b-8679-f6617ed0cec6,007fb90d-2224-4d24-bd42-e87ffde13558,06d14b9e-2af8-4c2b-a4a1-ea9d5c515824,1417df52-986e-4e4b-8dcd-3997fbc5c976,22b27e12-472e-4383-92ea-2ec3976d8e72,24b4cf36-b296-4002-86b7-f1adb657e76a,2ea0e464-ea4f-4be2-97c1-ce6ed4b377dd,300231e0-69aa-4dce-97f4-52d8c00e3e8c,34ddfac9-3a76-459a-974d-591520b809dd,34e182bd-2f62-4678-a9e9-d13b3e25019d,359796ce-d614-427f-8165-19ff62ca053a,39dbdd84-8339-4736-96a1-0eb105cc2e08,3ae06d3a-a76b-435e-8cef-2d2008610ba2,3eb2789b-200c-4a15-91d2-dedfe560953c,3f6baa76-7488-479a-9e4f-49ff2c0d3711,4b522f91-ae89-4f62-af9c-76f44d8ef61c,547514ab-3284-46e5-af77-bbaff247e3fc,567033ef-ffee-44fb-8f90-f678077445f9,5b6190a9-77a4-477e-9fbc-c8118e35a4c1,5d819d02-5d04-4116-8eec-f49def4e2d6f,5e2a89ec-fb26-4234-b66e-14d37f35dff2,64adaa4e-aa7e-457d-b385-51438216d7fe,65685ff8-4375-4e4c-a806-ec1f0b4a8b7f,68747f3a-ce13-46ce-9274-1e0544c9f500,6b85840c-d79d-40c2-8d8f-dfc0b7d26776,6c4d66d9-729d-49dc-b70d-ab2652abf15a,6d7be725-9a96-42c7-8af4-01e735138822,7b392594-6949-4736-9894-e57a9dfe4037,7f46bf17-fabf-4f96-99a2-cf374f6eed71,81c8d5fa-8d90-4833-aa10-a31a51310e2f,849433b0-ef60-4a71-9dd9-939bc01f5362,85ebfb7b-77fb-4afd-bb1a-2fe2fefdddbe,86da2200-58db-4d78-ba46-f146ba25906b,96cac76e-c5bc-4596-87eb-4fdfef9aaa11,9e93f8a8-7ccd-4d15-99fa-76a158027660,a3d2d5c4-46a0-436e-a2d6-80d26f32b369,abd37b14-706c-461f-8255-fa9563882af3,adaptive_bitrate,af291e9e-813f-4467-8779-5d215abc3b5f,b227c158-e062-4ff1-95d8-8ed11cecafb1,b2403ac6-4885-4971-8b96-59353fd87c72,b25b878c-4f60-4337-9f6b-2d97ef41d036,b46d16ae-cbd6-4226-8ee9-ab2b27e5dd42,b5874ecb-6610-47b2-8906-1b5a897acb02,b77e6744-c18d-415a-8e7c-7aac5d7a7750,bec2ba97-4b25-472b-9cfc-674f5c68c2ae,c36a6985-eee3-4400-a394-c5787fad15b5,c7ae6f8f-05e6-48bb-9024-c05c1dc3c43e,c9d9b7ee-fdd9-474e-b143-5039c04e9b9b,ce8f644e-87ce-4ba5-b165-fadd69778019,collections,d1477307-4dac-4e57-9258-252e5b908693,d29f0ee0-3d3a-46c3-b582-4bc69bc17c29,dab501df-5d99-48ef-afc2-3e839e4ddc9a,dd69b465-7eb3-4c18-a1c0-7bc0015969e8,de65add8-2782-4bb8-b156-e0b57a844479,e4a9fd6f-4105-476b-bc57-adccd009323b,eb9e316f-f3f7-48cc-83d6-d2d31c7ca453,f1ac7a53-c524-4311-9a27-713562fc24fa,f83450e2-759a-4de4-8b31-e4a163896d43,fec722a0-a6d4-4fbd-96dc-4ffb02b072c5,federated-auth,home,kevin-bacon,livetv,radio,tuner-sharing,unsupportedtuners";

/// The top-level directories a PMS 1.43.2 lists at `GET /`, with their
/// counts. Only `activities` and `butler` are served here.
const DIRECTORIES: [(&str, i64); 25] = [
    ("actions", 1),
    ("activities", 1),
    ("butler", 1),
    ("channels", 1),
    ("clients", 1),
    ("devices", 1),
    ("diagnostics", 1),
    ("downloadQueue", 1),
    ("hubs", 1),
    ("library", 3),
    ("livetv", 3),
    ("media", 3),
    ("neighborhood", 1),
    ("playQueues", 1),
    ("playlists", 1),
    ("resources", 1),
    ("search", 1),
    ("server", 1),
    ("servers", 1),
    ("service", 1),
    ("statistics", 1),
    ("system", 1),
    ("transcode", 1),
    ("updater", 1),
    ("user", 1),
];

/// `GET /`: the capabilities of a PMS 1.43.2 on Linux, under this server's
/// name and identifier.
pub(crate) fn root(machine_identifier: &str, friendly_name: &str) -> Rendered {
    use Value::{Bool, Int, Str};
    let size = i64::try_from(DIRECTORIES.len()).unwrap_or(i64::MAX);
    let attrs = [
        ("size", Int(size)),
        ("allowCameraUpload", Bool(false)),
        ("allowChannelAccess", Bool(true)),
        ("allowMediaDeletion", Bool(true)),
        ("allowSharing", Bool(true)),
        ("allowSync", Bool(false)),
        ("allowTuners", Bool(true)),
        ("apiVersion", Str(API_VERSION)),
        ("backgroundProcessing", Bool(true)),
        ("companionProxy", Bool(true)),
        ("countryCode", Str("")),
        ("diagnostics", Str("logs,databases,streaminglogs")),
        ("eventStream", Bool(true)),
        ("friendlyName", Str(friendly_name)),
        ("hubSearch", Bool(true)),
        ("itemClusters", Bool(true)),
        ("livetv", Int(7)),
        ("machineIdentifier", Str(machine_identifier)),
        ("mediaProviders", Bool(true)),
        ("multiuser", Bool(true)),
        ("musicAnalysis", Int(2)),
        ("myPlex", Bool(true)),
        ("myPlexMappingState", Str("mapped")),
        ("myPlexSigninState", Str("none")),
        ("myPlexSubscription", Bool(false)),
        ("ownerFeatures", Str(OWNER_FEATURES)),
        ("platform", Str("Linux")),
        ("platformVersion", Str("7.0.10-arch1-1")),
        ("pluginHost", Bool(true)),
        ("pushNotifications", Bool(false)),
        ("readOnlyLibraries", Bool(false)),
        ("streamingBrainABRVersion", Int(3)),
        ("streamingBrainVersion", Int(2)),
        ("sync", Bool(true)),
        ("transcoderActiveVideoSessions", Int(0)),
        ("transcoderAudio", Bool(true)),
        ("transcoderLyrics", Bool(true)),
        ("transcoderPhoto", Bool(true)),
        ("transcoderSubtitles", Bool(true)),
        ("transcoderVideo", Bool(true)),
        (
            "transcoderVideoBitrates",
            Str("64,96,208,320,720,1500,2000,3000,4000,8000,10000,12000,20000"),
        ),
        (
            "transcoderVideoQualities",
            Str("0,1,2,3,4,5,6,7,8,9,10,11,12"),
        ),
        (
            "transcoderVideoResolutions",
            Str("128,128,160,240,320,480,768,720,720,1080,1080,1080,1080"),
        ),
        ("updatedAt", Int(1_780_544_519)),
        ("updater", Bool(true)),
        ("version", Str(SERVER_VERSION)),
        ("voiceSearch", Bool(true)),
    ];
    let children: Vec<Vec<(&str, Value<'_>)>> = DIRECTORIES
        .iter()
        .map(|&(key, count)| {
            vec![
                ("count", Int(count)),
                ("key", Str(key)),
                ("title", Str(key)),
            ]
        })
        .collect();
    render(&Document {
        root: "MediaContainer",
        attrs: &attrs,
        child: "Directory",
        children: &children,
        self_closing: true,
    })
}

/// The HTML page the server sends with an error status.
pub(crate) fn error_page(code: u16, reason: &str) -> String {
    format!(
        "<html><head><title>{reason}</title></head><body><h1>{code} {reason}</h1></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_attributes_escape_like_plex() {
        let mut out = String::new();
        escape_xml(&mut out, "server's <db> & \"x\"");
        assert_eq!(out, "server&#39;s &lt;db&gt; &amp; &quot;x&quot;");
    }

    #[test]
    fn json_strings_escape_quotes_and_control_characters() {
        let mut out = String::new();
        escape_json(&mut out, "a\"b\\c\u{1}");
        assert_eq!(out, r#""a\"b\\c\u0001""#);
    }

    #[test]
    fn an_empty_task_list_renders_as_an_empty_root() {
        let rendered = butler_tasks(&[]);
        assert_eq!(rendered.json, r#"{"ButlerTasks":{}}"#);
        assert!(rendered.xml.ends_with("<ButlerTasks>\n</ButlerTasks>\n"));
    }

    #[test]
    fn the_401_page_is_the_servers() {
        assert_eq!(
            error_page(401, "Unauthorized"),
            "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
        );
    }
}
