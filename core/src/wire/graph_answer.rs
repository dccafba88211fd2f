//! Reading the answers of a Graph upload session, in every form the services use, and
//! [`AnswerError`], why any machine's answer could not be read.
//!
//! The same request can be answered in several shapes (SPEC 1.1 to 1.3):
//!
//! - an upload session object (`202` from drives and print, `200` from mail and from a status
//!   `GET`, `200`/`201` on creation): `uploadUrl`, `expirationDateTime`, `nextExpectedRanges`;
//! - the finished item (`200`/`201` with the drive item or print document JSON);
//! - `201 Created` with an empty body and a `Location` header (mail attachments).
//!
//! Property names are matched ASCII case-insensitively (`NextExpectedRanges`), and
//! `nextExpectedRanges` items come open (`"26-"`), closed (`"0-99"`), as a bare start
//! (`"2097152"`), as a JSON number, or as one comma-separated string; an empty list means nothing
//! is missing.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde_json::{Map, Value};

use crate::http::Response;
use crate::json::property;
use crate::range::{ByteRange, ExpectedRange, RangeError};
use crate::secret::SecretUrl;
use crate::time::{TimeError, UnixTime};

/// An upload session object, as far as the answer gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStatus {
    /// `uploadUrl` (on creation).
    pub upload_url: Option<SecretUrl>,
    /// `expirationDateTime`.
    pub expires: Option<UnixTime>,
    /// `nextExpectedRanges`, resolved against the total; `None` if the property is absent,
    /// empty if nothing is missing.
    pub next_expected: Option<Vec<ByteRange>>,
}

/// What an answer with a 2xx status says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An upload session object: the upload goes on.
    Session(SessionStatus),
    /// A JSON object that is not a session: the finished item (drive item, print document).
    Item(String),
    /// An empty body with a `Location` header: the finished mail attachment.
    Location(String),
    /// An empty body and no `Location` (a `204`).
    Empty,
}

/// Why an answer could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerError {
    /// The body is not JSON.
    NotJson,
    /// The body is JSON but not an object.
    NotAnObject,
    /// A property has the wrong JSON type.
    WrongType(&'static str),
    /// A `nextExpectedRanges` item is malformed or lies outside the file.
    Range(RangeError),
    /// `expirationDateTime` is malformed.
    Expiry(TimeError),
    /// A header the answer must carry is missing or malformed (a WOPI
    /// `X-WOPI-UploadSessionCurrentOffset` that is not a number, for one).
    Header(&'static str),
    /// A property the answer must carry is missing (a WOPI `UploadSessionToken`).
    Missing(&'static str),
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::NotJson => f.write_str("the body is not JSON"),
            AnswerError::NotAnObject => f.write_str("the body is not a JSON object"),
            AnswerError::WrongType(name) => write!(f, "{name} has the wrong JSON type"),
            AnswerError::Range(error) => write!(f, "bad nextExpectedRanges: {error}"),
            AnswerError::Expiry(error) => write!(f, "bad expirationDateTime: {error}"),
            AnswerError::Header(name) => write!(f, "header {name} is missing or malformed"),
            AnswerError::Missing(name) => write!(f, "the answer has no {name}"),
        }
    }
}

impl core::error::Error for AnswerError {}

/// Reads a 2xx answer of a `total`-byte upload.
///
/// ```
/// use resumable_core::wire::graph_answer::{parse_answer, Answer};
/// use resumable_core::http::Response;
/// use resumable_core::range::ByteRange;
///
/// let mail = Response::new(200)
///     .with_body(r#"{"ExpirationDateTime":"2026-01-29T09:21:55Z","NextExpectedRanges":["2097152"]}"#);
/// let Answer::Session(status) = parse_answer(&mail, 3_483_322).unwrap() else { panic!() };
/// assert_eq!(status.next_expected, Some(vec![ByteRange::new(2_097_152, 3_483_322).unwrap()]));
///
/// let done = Response::new(201).with_header("Location", "https://outlook/att/1");
/// assert_eq!(parse_answer(&done, 10).unwrap(), Answer::Location("https://outlook/att/1".into()));
/// assert!(parse_answer(&Response::new(202).with_body("{"), 10).is_err());
/// ```
pub fn parse_answer(response: &Response, total: u64) -> Result<Answer, AnswerError> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(match response.header("location") {
            Some(location) => Answer::Location(location.into()),
            None => Answer::Empty,
        });
    }
    let value: Value = serde_json::from_slice(&response.body).map_err(|_| AnswerError::NotJson)?;
    let Value::Object(object) = value else {
        return Err(AnswerError::NotAnObject);
    };
    // An item never carries these; a session object always carries one of them.
    let is_session = ["nextExpectedRanges", "uploadUrl", "expirationDateTime"]
        .iter()
        .any(|name| property(&object, name).is_some());
    if !is_session {
        return Ok(Answer::Item(String::from_utf8_lossy(&response.body).into()));
    }
    session_status(&object, total).map(Answer::Session)
}

/// The service error code of a refusal (`{"error": {"code": "nameAlreadyExists", ...}}`), if the
/// body has one: a short identifier, or nothing.
pub(crate) fn service_error_code(body: &[u8]) -> Option<String> {
    service_error(body).0
}

/// The longest service message repeated to a user, in characters (its cut mark included).
const MESSAGE_CHARS: usize = 160;

/// The code and the message of a refusal (`{"error": {"code": …, "message": …}}`), each if the
/// body has one. A message can quote the request, so it is cut to [`MESSAGE_CHARS`], control
/// characters become spaces, and any word that could be a credential (a URL, or a long run of
/// letters and digits such as a token) becomes `[…]`.
pub(crate) fn service_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(value)) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let Some(Value::Object(error)) = property(&value, "error") else {
        return (None, None);
    };
    let code = property(error, "code")
        .and_then(Value::as_str)
        // A code is a short identifier; anything else is not worth repeating to a user.
        .filter(|code| code.len() <= 80 && code.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from);
    let message = property(error, "message")
        .and_then(Value::as_str)
        .map(safe_message)
        .filter(|message| !message.is_empty());
    (code, message)
}

/// `message` made fit to repeat (see [`service_error`]): at most [`MESSAGE_CHARS`] characters,
/// the cut marked with `…`.
fn safe_message(message: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    // Control and format characters (a bidirectional override could reorder what the terminal
    // shows) separate words like spaces.
    let separates = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    for word in message.split(separates).filter(|w| !w.is_empty()) {
        let word = if could_be_secret(word) { "[…]" } else { word };
        let space = usize::from(!out.is_empty());
        let count = word.chars().count();
        // Room is kept for " …" (two characters) should a later word not fit.
        if chars + space + count > MESSAGE_CHARS - 2 {
            let room = (MESSAGE_CHARS - 2).saturating_sub(chars + space);
            if out.is_empty() && room > 0 {
                // A first word longer than the whole: its start, not nothing.
                out.extend(word.chars().take(room));
            }
            out.push_str(if out.is_empty() { "…" } else { " …" });
            break;
        }
        if space == 1 {
            out.push(' ');
        }
        out.push_str(word);
        chars += space + count;
    }
    out
}

/// A URL, or 24 or more letters, digits and the punctuation of tokens and escapes in a row.
fn could_be_secret(word: &str) -> bool {
    if word.contains("://") || word.starts_with("www.") {
        return true;
    }
    let mut run = 0;
    for c in word.chars() {
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '_' | '=' | '+' | '/' | '%' | '.' | '~' | ':' | '\\'
            )
        {
            run += 1;
            if run >= 24 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn session_status(object: &Map<String, Value>, total: u64) -> Result<SessionStatus, AnswerError> {
    let upload_url = match property(object, "uploadUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) => Some(SecretUrl::new(url.as_str())),
        Some(_) => return Err(AnswerError::WrongType("uploadUrl")),
    };
    let expires = match property(object, "expirationDateTime") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(UnixTime::parse_rfc3339(text).map_err(AnswerError::Expiry)?)
        }
        Some(_) => return Err(AnswerError::WrongType("expirationDateTime")),
    };
    let next_expected = match property(object, "nextExpectedRanges") {
        None | Some(Value::Null) => None,
        Some(value) => Some(expected_ranges(value, total)?),
    };
    Ok(SessionStatus {
        upload_url,
        expires,
        next_expected,
    })
}

/// Resolves a `nextExpectedRanges` value in any of its forms.
fn expected_ranges(value: &Value, total: u64) -> Result<Vec<ByteRange>, AnswerError> {
    let mut ranges = Vec::new();
    let mut push_text = |text: &str| -> Result<(), AnswerError> {
        for item in text.split(',').filter(|item| !item.trim().is_empty()) {
            ranges.push(resolve(item.parse::<ExpectedRange>(), total)?);
        }
        Ok(())
    };
    match value {
        Value::String(text) => push_text(text)?,
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(text) => push_text(text)?,
                    Value::Number(number) => {
                        let first = number
                            .as_u64()
                            .ok_or(AnswerError::WrongType("nextExpectedRanges"))?;
                        push_text(&alloc::format!("{first}"))?;
                    }
                    _ => return Err(AnswerError::WrongType("nextExpectedRanges")),
                }
            }
        }
        _ => return Err(AnswerError::WrongType("nextExpectedRanges")),
    }
    ranges.sort();
    Ok(ranges)
}

fn resolve(item: Result<ExpectedRange, RangeError>, total: u64) -> Result<ByteRange, AnswerError> {
    item.and_then(|item| item.resolve(total))
        .map_err(AnswerError::Range)
}

#[cfg(test)]
mod tests;
