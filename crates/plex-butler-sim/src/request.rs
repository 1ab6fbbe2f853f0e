//! Reading requests: routes, query parameters, the token, what a log line
//! may show.

use std::borrow::Cow;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};

/// Longest path (percent-encoded) the server reads; longer gets 414.
pub(crate) const MAX_PATH_LEN: usize = 2048;
/// Longest task name or activity id (decoded) the server reads; longer gets
/// 414.
pub(crate) const MAX_NAME_LEN: usize = 256;
/// Longest request head (request line and headers) the server reads; a
/// larger head gets 431.
pub(crate) const MAX_HEAD_LEN: usize = 64 * 1024;
/// Whether the client asked for JSON.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    const JSON_TYPE: &[u8] = b"application/json";
    headers.get_all(header::ACCEPT).iter().any(|value| {
        value
            .as_bytes()
            .windows(JSON_TYPE.len())
            .any(|w| w.eq_ignore_ascii_case(JSON_TYPE))
    })
}

/// A `%XX` escape that is not one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadEncoding;

/// Decodes `%XX` escapes; malformed escapes and non-UTF-8 results are
/// refused.
pub(crate) fn percent_decode(s: &str) -> Result<Cow<'_, str>, BadEncoding> {
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| {
                bytes
                    .get(j)
                    .and_then(|&b| char::from(b).to_digit(16))
                    .ok_or(BadEncoding)
            };
            let value = hex(i + 1)? * 16 + hex(i + 2)?;
            out.push(u8::try_from(value).map_err(|_| BadEncoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| BadEncoding)
}

/// Decodes a query's key or value: `+` is a space and `%XX` an escape, as
/// HTML forms and most clients (reqwest's `query`, for one) write them.
/// Hand-written with [`percent_decode`], which refuses malformed escapes
/// (answered 400) where the common crates would pass them through.
fn form_decode(s: &str) -> Result<Cow<'_, str>, BadEncoding> {
    if s.contains('+') {
        percent_decode(&s.replace('+', " ")).map(|decoded| Cow::Owned(decoded.into_owned()))
    } else {
        percent_decode(s)
    }
}

/// A decoded query parameter: key, value.
pub(crate) type QueryPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The decoded `key=value` pairs of a query, in order; a key without `=`
/// has an empty value.
pub(crate) fn query_pairs(query: Option<&str>) -> Result<Vec<QueryPair<'_>>, BadEncoding> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(key)?, form_decode(value)?))
        })
        .collect()
}

/// Whether a query parameter is one of the `X-Plex-*` ones clients add to
/// every request (the token among them) rather than a setting.
pub(crate) fn is_client_parameter(key: &str) -> bool {
    key.get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x-plex-"))
}

/// The token a request carries: the `X-Plex-Token` header, else the
/// `X-Plex-Token` query parameter.
pub(crate) fn given_token<'a>(req: &'a Request<Incoming>) -> Option<Cow<'a, [u8]>> {
    if let Some(value) = req.headers().get("x-plex-token") {
        return Some(Cow::Borrowed(value.as_bytes()));
    }
    req.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "X-Plex-Token").then(|| match percent_decode(value) {
            Ok(Cow::Borrowed(v)) => Cow::Borrowed(v.as_bytes()),
            Ok(Cow::Owned(v)) => Cow::Owned(v.into_bytes()),
            // Undecodable: compare it as sent; it will not match.
            Err(BadEncoding) => Cow::Borrowed(value.as_bytes()),
        })
    })
}

/// The request's path and query for the log, any token value blanked out.
pub(crate) fn redacted_target(path: &str, query: Option<&str>) -> String {
    let Some(query) = query else {
        return path.to_owned();
    };
    let mut out = String::with_capacity(path.len() + query.len() + 1);
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("x-plex-token") => {
                out.push_str(key);
                out.push_str("=<redacted>");
            }
            _ => out.push_str(pair),
        }
    }
    out
}

pub(crate) enum Route<'a> {
    Root,
    Identity,
    Butler,
    ButlerTask(Cow<'a, str>),
    Activities,
    Activity(Cow<'a, str>),
    Prefs,
    Pref,
    Sessions,
    /// `/:/eventsource/notifications`.
    Events,
}

/// Maps a path to a route, or to the status of the answer for paths that
/// have none.
pub(crate) fn route(path: &str) -> Result<Route<'_>, StatusCode> {
    if path.len() > MAX_PATH_LEN {
        return Err(StatusCode::URI_TOO_LONG);
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let decode = |s| percent_decode(s).map_err(|BadEncoding| StatusCode::BAD_REQUEST);
    let mut segments = path.split('/');
    let first = decode(segments.next().unwrap_or(""))?;
    let second = segments.next().map(decode).transpose()?;
    let third = segments.next().map(decode).transpose()?;
    if segments.next().is_some() {
        return Err(StatusCode::NOT_FOUND);
    }
    if second.as_ref().is_some_and(|s| s.len() > MAX_NAME_LEN) {
        return Err(StatusCode::URI_TOO_LONG);
    }
    match (&*first, second, third.as_deref()) {
        ("", None, None) => Ok(Route::Root),
        ("identity", None, None) => Ok(Route::Identity),
        ("butler", None, None) => Ok(Route::Butler),
        ("butler", Some(task), None) => Ok(Route::ButlerTask(task)),
        ("activities", None, None) => Ok(Route::Activities),
        ("activities", Some(id), None) => Ok(Route::Activity(id)),
        (":", Some(prefs), None) if prefs == "prefs" => Ok(Route::Prefs),
        (":", Some(prefs), Some("get")) if prefs == "prefs" => Ok(Route::Pref),
        ("status", Some(sessions), None) if sessions == "sessions" => Ok(Route::Sessions),
        (":", Some(source), Some("notifications")) if source == "eventsource" => Ok(Route::Events),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// The length of a request's head as sent, near enough: the request line
/// and every header line.
pub(crate) fn head_len(req: &Request<Incoming>) -> usize {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let line = req.method().as_str().len() + target + " HTTP/1.1\r\n".len() + 1;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    line + headers
}

pub(crate) fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// The `X-Plex-Pms-Api-Version` a request carries, `-` for none, as text
/// safe for a log line.
pub(crate) fn api_version(req: &Request<Incoming>) -> String {
    match req.headers().get("x-plex-pms-api-version") {
        None => "-".to_owned(),
        Some(value) => String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(32)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_reads_escapes() {
        assert_eq!(
            percent_decode("Backup%20Database").as_deref(),
            Ok("Backup Database")
        );
        assert_eq!(percent_decode("plain").as_deref(), Ok("plain"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Ok("é"));
    }

    #[test]
    fn percent_decoding_refuses_malformed_escapes() {
        for bad in ["%", "%4", "%zz", "a%g0", "%ff%fe"] {
            assert_eq!(percent_decode(bad), Err(BadEncoding), "{bad:?}");
        }
    }

    #[test]
    fn the_log_never_shows_a_token_from_the_query() {
        let target = redacted_target(
            "/butler",
            Some("a=1&X-Plex-Token=s3cret&x-plex-token=s3cret"),
        );
        assert!(!target.contains("s3cret"), "{target}");
        assert_eq!(
            target,
            "/butler?a=1&X-Plex-Token=<redacted>&x-plex-token=<redacted>"
        );
    }

    #[test]
    fn query_values_read_plus_as_a_space_and_decode_escapes() {
        let pairs = query_pairs(Some("FriendlyName=My+Box%21&ButlerStartHour=3&flag&&"))
            .expect("well-formed");
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(
            pairs,
            [
                ("FriendlyName", "My Box!"),
                ("ButlerStartHour", "3"),
                ("flag", "")
            ]
        );
        assert_eq!(query_pairs(None), Ok(Vec::new()));
        assert_eq!(query_pairs(Some("a=%zz")), Err(BadEncoding));
    }

    #[test]
    fn the_token_and_other_client_parameters_are_told_apart_from_settings() {
        assert!(is_client_parameter("X-Plex-Token"));
        assert!(is_client_parameter("x-plex-client-identifier"));
        assert!(!is_client_parameter("ButlerStartHour"));
        assert!(!is_client_parameter("X-Ple"));
    }
}
