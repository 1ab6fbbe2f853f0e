//! From the raw client's answer to the crate's: which statuses are an
//! outcome and which an error, the bodies read (and how much of them), and
//! how a server's text is shown in an error: the token blanked out of the
//! whole text first, then cut to an excerpt.

use std::borrow::Cow;
use std::time::{Instant, SystemTime};

use futures_util::StreamExt as _;
use reqwest::header::{self, HeaderMap};

use crate::call::Progress;
use crate::retry::Attempts;
use crate::{Client, Error};

/// The error of the raw client's calls.
pub(crate) type RawError = plex_butler_raw::Error<plex_butler_raw::ByteStream>;

/// An answer whose body the raw client hands over unread.
pub(crate) type RawAnswer =
    Result<plex_butler_raw::ResponseValue<plex_butler_raw::ByteStream>, RawError>;

/// How much of an error body is read for its excerpt and server message.
pub(crate) const ERROR_BODY_LIMIT: usize = 16 * 1024;
/// How much of a success body is read so that the connection can be reused;
/// a longer body is dropped, which closes the connection instead.
const DRAIN_LIMIT: usize = 64 * 1024;

/// How many characters of a body an excerpt keeps.
const EXCERPT_CHARS: usize = 200;

/// Shown in place of the token.
const REDACTED: &str = "<redacted>";
/// In place of a text from the server that contains a secret too short to
/// blank out.
const WITHHELD: &str = "<withheld: it contains the token>";
/// The shortest secret blanked out where it occurs; a text that contains a
/// shorter one is withheld whole (Plex's tokens have 20 characters).
const MIN_REDACTED_CHARS: usize = 8;

/// An answer that parsed but does not hold what the spec promises, and the
/// part of it that shows where.
pub(crate) trait DecodeProblem: std::error::Error + Send + Sync + 'static {
    fn excerpt(&self) -> &str;
}

impl Client {
    /// The token, to blank out of what errors show of an answer: a proxy's
    /// debug page, a login redirect or a test endpoint may echo the
    /// request, headers included.
    pub(crate) fn secret(&self) -> Option<&str> {
        self.shared.token.as_deref()
    }

    /// The status of an answer whose body says nothing: any success (listed
    /// in the spec or not), or one of the error statuses in `expected`,
    /// which the call turns into its outcome. The body is drained, so that
    /// the connection can serve the next call; any other answer is an
    /// error.
    pub(crate) async fn status_of(
        &self,
        result: RawAnswer,
        expected: &[u16],
        deadline: Instant,
        progress: &Progress,
    ) -> Result<u16, Error> {
        let (status, body) = match result {
            Ok(response) => (
                response.status().as_u16(),
                response.into_inner().into_inner(),
            ),
            Err(RawError::ErrorResponse(response))
                if expected.contains(&response.status().as_u16()) =>
            {
                (
                    response.status().as_u16(),
                    response.into_inner().into_inner(),
                )
            }
            Err(RawError::UnexpectedResponse(response)) if response.status().is_success() => (
                response.status().as_u16(),
                Box::pin(response.bytes_stream()) as _,
            ),
            Err(error) => return Err(self.error_of(error, deadline).await),
        };
        progress.saw(status);
        read_limited(body, DRAIN_LIMIT, deadline).await;
        Ok(status)
    }

    /// The end of a call whose answer is a JSON document: decoded by the
    /// raw client, then checked by `check` (given the token, to keep it out
    /// of its excerpts). A success the spec does not list (204, ...)
    /// carries no document, and is a decode error too.
    pub(crate) async fn decoded<R, T, E: DecodeProblem>(
        &self,
        result: Result<plex_butler_raw::ResponseValue<R>, RawError>,
        check: impl FnOnce(R, Option<&str>) -> Result<T, E>,
        what: &str,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<T, Error> {
        match result {
            Ok(response) => {
                progress.saw(response.status().as_u16());
                let content_type = content_type(response.headers());
                check(response.into_inner(), self.secret()).map_err(|e| Error::Decode {
                    content_type,
                    excerpt: e.excerpt().to_owned(),
                    source: Box::new(e),
                })
            }
            Err(RawError::UnexpectedResponse(response)) if response.status().is_success() => {
                let status = response.status().as_u16();
                progress.saw(status);
                let content_type = content_type(response.headers());
                let body = read_limited(
                    Box::pin(response.bytes_stream()),
                    ERROR_BODY_LIMIT,
                    deadline,
                )
                .await;
                Err(Error::Decode {
                    content_type,
                    excerpt: excerpt(&body, self.secret()),
                    source: format!("status {status} where 200 with {what} was expected").into(),
                })
            }
            Err(error) => Err(self.error_of(error, deadline).await),
        }
    }

    /// Maps a raw error to the crate's, reading a short part of the body
    /// where there is one.
    pub(crate) async fn error_of(&self, error: RawError, deadline: Instant) -> Error {
        match error {
            RawError::CommunicationError(e)
            | RawError::ResponseBodyError(e)
            | RawError::InvalidUpgrade(e) => self.transport_error(e),
            RawError::ErrorResponse(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = read_limited(
                    response.into_inner().into_inner(),
                    ERROR_BODY_LIMIT,
                    deadline,
                )
                .await;
                self.status_error(status, &headers, &body)
            }
            RawError::UnexpectedResponse(response) => {
                self.error_of_response(response, deadline).await
            }
            RawError::InvalidResponsePayload(body, e) => {
                // serde quotes the values it refuses, whole.
                let source: Box<dyn std::error::Error + Send + Sync> =
                    match redact(&e.to_string(), self.secret()) {
                        Cow::Owned(redacted) => redacted.into(),
                        Cow::Borrowed(_) => Box::new(e),
                    };
                Error::Decode {
                    // The raw client does not keep the headers of an answer
                    // it could not parse: say what the body looks like.
                    content_type: sniff_content_type(&body),
                    excerpt: excerpt(&body, self.secret()),
                    source,
                }
            }
            // The request is built from a checked URL and checked headers;
            // the raw client has no hooks that fail. Kept for completeness.
            RawError::InvalidRequest(message) | RawError::Custom(message) => Error::InvalidConfig {
                message: format!("the request could not be made: {message}"),
                source: None,
            },
        }
    }

    /// The attempt's time ran out.
    pub(crate) fn timeout_error(&self) -> Error {
        Error::Timeout {
            url: self.shared.base_url.clone(),
            timeout: Some(self.shared.timeout),
            attempts: Attempts::first(),
            source: None,
        }
    }

    pub(crate) fn transport_error(&self, error: reqwest::Error) -> Error {
        let url = self.shared.base_url.clone();
        if error.is_builder() {
            Error::InvalidConfig {
                message: "the request could not be made".to_owned(),
                source: Some(Box::new(error)),
            }
        } else if error.is_connect() {
            Error::Connect {
                url,
                attempts: Attempts::first(),
                source: Box::new(error),
            }
        } else if error.is_timeout() {
            // A supplied HTTP client's own timeout.
            Error::Timeout {
                url,
                timeout: None,
                attempts: Attempts::first(),
                source: Some(Box::new(error)),
            }
        } else {
            Error::ConnectionLost {
                url,
                attempts: Attempts::first(),
                source: Box::new(error),
            }
        }
    }

    /// The error an answer of an unexpected status stands for, from its
    /// status, its headers and a short part of its body.
    pub(crate) async fn error_of_response(
        &self,
        response: reqwest::Response,
        deadline: Instant,
    ) -> Error {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_limited(
            Box::pin(response.bytes_stream()),
            ERROR_BODY_LIMIT,
            deadline,
        )
        .await;
        self.status_error(status, &headers, &body)
    }

    fn status_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match status {
            401 | 403 | 498 => Error::Unauthorized {
                status,
                token_sent: self.shared.token.is_some(),
                server_message: server_words(body, self.secret()),
            },
            _ => Error::Server {
                status,
                body: excerpt(body, self.secret()),
                retry_after: header(header::RETRY_AFTER)
                    .and_then(|v| crate::retry::parse_retry_after(v, SystemTime::now())),
                location: header(header::LOCATION)
                    .filter(|_| (300..400).contains(&status))
                    .map(|v| redact(v, self.secret()).into_owned()),
                attempts: Attempts::first(),
            },
        }
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads up to `limit` bytes of a body, stopping early at its end, an
/// error or the deadline: for excerpts, and for draining, what came is
/// enough.
pub(crate) async fn read_limited<S, B>(mut body: S, limit: usize, deadline: Instant) -> Vec<u8>
where
    S: futures_util::Stream<Item = reqwest::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut read = Vec::new();
    let reading = async {
        while read.len() < limit {
            let Some(Ok(chunk)) = body.next().await else {
                break;
            };
            let chunk = chunk.as_ref();
            let room = limit - read.len();
            read.extend_from_slice(chunk.get(..room).unwrap_or(chunk));
        }
    };
    // Inside an attempt, whose timer has been checked to exist.
    let _ = tokio::time::timeout_at(deadline.into(), reading).await;
    read
}

/// The server's own words in an error body: the first `errors[].message`
/// of a JSON body (plex.tv's format), or the `<title>` of an HTML page.
fn server_words(body: &[u8], secret: Option<&str>) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let message = value
            .pointer("/errors/0/message")
            .and_then(serde_json::Value::as_str)?;
        return Some(excerpt(message.as_bytes(), secret));
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower.get(start..)?.find("</title>")?;
    let title = text.get(start..end)?.trim();
    (!title.is_empty()).then(|| excerpt(title.as_bytes(), secret))
}

/// `text` with every occurrence of `secret` blanked out; for a secret
/// shorter than [`MIN_REDACTED_CHARS`], the whole text withheld when it
/// contains the secret.
///
/// Blanking a short secret would blank every such letter of ordinary
/// words ("th<redacted> s<redacted>rv<redacted>r" for a token `e`) and
/// the gaps would show the secret all the same, so such a text is not
/// shown at all.
pub(crate) fn redact<'a>(text: &'a str, secret: Option<&str>) -> Cow<'a, str> {
    match secret {
        Some(secret) if !secret.is_empty() && text.contains(secret) => {
            if secret.chars().count() < MIN_REDACTED_CHARS {
                Cow::Borrowed(WITHHELD)
            } else {
                Cow::Owned(text.replace(secret, REDACTED))
            }
        }
        _ => Cow::Borrowed(text),
    }
}

/// The start of a text from the server (or a user), for messages: the
/// secret blanked out of the whole text before it is cut, invalid UTF-8
/// replaced, control characters escaped (so that a body cannot forge log
/// lines or terminal sequences), surrounding whitespace trimmed, and at
/// most [`EXCERPT_CHARS`] characters, escapes included, cut on a character
/// boundary and followed by `…` when cut.
pub(crate) fn excerpt(body: &[u8], secret: Option<&str>) -> String {
    let text = String::from_utf8_lossy(body);
    let text = redact(&text, secret);
    let mut out = String::new();
    let mut length = 0;
    for c in text.trim().chars() {
        let shown: Vec<char> = if c.is_control() {
            c.escape_default().collect()
        } else {
            vec![c]
        };
        if length + shown.len() > EXCERPT_CHARS {
            out.push('…');
            break;
        }
        length += shown.len();
        out.extend(shown);
    }
    out
}

/// What a body looks like, for a [`Error::Decode`] whose headers were not
/// kept.
fn sniff_content_type(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body.get(..512).unwrap_or(body));
    let start = text.trim_start().to_ascii_lowercase();
    let kind = if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "text/html"
    } else if start.starts_with('<') {
        "text/xml"
    } else if start.starts_with('{') || start.starts_with('[') {
        "application/json"
    } else {
        return None;
    };
    Some(kind.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_on_a_char_boundary_and_marks_the_cut() {
        let body = "é".repeat(EXCERPT_CHARS + 10);
        let cut = excerpt(body.as_bytes(), None);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn excerpt_counts_escapes_in_its_length() {
        let body = "\u{1b}".repeat(EXCERPT_CHARS);
        let cut = excerpt(body.as_bytes(), None);
        assert!(cut.chars().count() <= EXCERPT_CHARS + 1, "{cut}");
        assert!(cut.ends_with("\\u{1b}…"), "{cut}");
    }

    #[test]
    fn excerpt_escapes_control_characters() {
        assert_eq!(
            excerpt(b"a\nb\x1b[31mc\x00", None),
            "a\\nb\\u{1b}[31mc\\u{0}"
        );
    }

    #[test]
    fn excerpt_survives_invalid_utf8() {
        assert_eq!(excerpt(&[b'o', b'k', 0xff], None), "ok\u{fffd}");
    }

    #[test]
    fn sniffing_tells_xml_from_html_from_json() {
        assert_eq!(
            sniff_content_type(b"<?xml version=\"1.0\"?><ButlerTasks/>").as_deref(),
            Some("text/xml")
        );
        assert_eq!(
            sniff_content_type(b"  <html><head>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            sniff_content_type(b"<!DOCTYPE html>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            sniff_content_type(b"{\"a\":1}").as_deref(),
            Some("application/json")
        );
        assert_eq!(sniff_content_type(b"garbage"), None);
    }

    #[test]
    fn the_secret_is_blanked_out_of_the_whole_text_before_it_is_cut() {
        let secret = "abcdef12";
        assert_eq!(
            excerpt(b"token abcdef12 and abcdef12", Some(secret)),
            "token <redacted> and <redacted>"
        );
        // The secret across the cut: blanked whole, so no start of it shows.
        let at_the_cut = format!("{}{secret}", "x".repeat(EXCERPT_CHARS - 4));
        let cut = excerpt(at_the_cut.as_bytes(), Some(secret));
        assert!(!cut.contains("abcd"), "{cut}");
        assert!(cut.ends_with('…'), "{cut}");
        // Text that merely ends like the secret's start is left alone.
        assert_eq!(excerpt(b"ends in abc", Some(secret)), "ends in abc");
        // A secret of the shortest blanked length is blanked where it is.
        assert_eq!(
            excerpt(b"echo: abcdefgh, abcdefgh", Some("abcdefgh")),
            "echo: <redacted>, <redacted>"
        );
    }

    #[test]
    fn a_text_containing_a_short_secret_is_withheld_whole_not_blanked_letter_by_letter() {
        // Blanking a one-letter token would mangle every word and show the
        // token in the gaps.
        for secret in ["e", "ab", "abcdefg"] {
            let body = format!("the server is unhappy: {secret}");
            assert_eq!(excerpt(body.as_bytes(), Some(secret)), WITHHELD, "{secret}");
            assert_eq!(redact(&body, Some(secret)), WITHHELD, "{secret}");
        }
        // A text without it is shown as it is.
        assert_eq!(excerpt(b"no such letters", Some("z")), "no such letters");
        assert!(!WITHHELD.contains('z'));
    }
}
