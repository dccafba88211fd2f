//! The WOPI headers the engine sends and reads, the commit URL, and the session token in a
//! `CreateUploadSession` answer.
//!
//! Every value read from an answer is untrusted: numbers that do not parse are errors (or
//! absent, where the engine can do without them), and the host's `X-WOPI-FailureReason` is cut
//! short and stripped of control characters before it reaches an error message or a log line.

use alloc::string::String;

use crate::http::Response;
use crate::json::property;
use crate::secret::{Secret, SecretUrl};
use crate::wire::graph_answer::AnswerError;

/// Chooses the operation.
pub const OVERRIDE: &str = "X-WOPI-Override";
/// The session an update belongs to (a credential).
pub const SESSION_TOKEN: &str = "X-WOPI-UploadSessionToken";
/// Where an update's range starts in the session stream.
pub const RANGE_OFFSET: &str = "X-WOPI-ContentRangeOffset";
/// An update's length.
pub const RANGE_LENGTH: &str = "X-WOPI-ContentRangeLength";
/// The host's offset in the session stream, after an update (or on its refusal).
pub const CURRENT_OFFSET: &str = "X-WOPI-UploadSessionCurrentOffset";
/// The version the caller read (on the commit), or the host's version (in its answer).
pub const SEQUENCE_NUMBER: &str = "X-WOPI-SequenceNumber";
/// The version the host stored.
pub const ITEM_VERSION: &str = "X-WOPI-ItemVersion";
/// The caller's lock (on the commit), or the host's current lock (on a `409`).
pub const LOCK: &str = "X-WOPI-Lock";
/// The caller's coauthoring lock id.
pub const COAUTH_LOCK_ID: &str = "X-WOPI-CoauthLockId";
/// Which kind of lock the file holds, on a `409`.
pub const CONFLICTING_MECHANISM: &str = "X-WOPI-ConflictingMechanism";
/// The host's human-readable reason for a failure.
pub const FAILURE_REASON: &str = "X-WOPI-FailureReason";

/// `X-WOPI-Override` of a session's creation.
pub const CREATE_UPLOAD_SESSION: &str = "CREATE_UPLOAD_SESSION";
/// `X-WOPI-Override` of an update (a range of the session stream).
pub const UPDATE_UPLOAD_SESSION: &str = "UPDATE_UPLOAD_SESSION";
/// `X-WOPI-Override` of the commit.
pub const PUT_CHUNKED_FILE: &str = "PUT_CHUNKED_FILE";

/// The longest host-written text the engine repeats (failure reasons, lock mechanisms).
const MAX_HOST_TEXT: usize = 200;

/// The host's offset from `X-WOPI-UploadSessionCurrentOffset`: `Ok(None)` if absent, an error
/// if it is not a non-negative 64-bit signed number.
pub(crate) fn current_offset(response: &Response) -> Result<Option<u64>, AnswerError> {
    let Some(text) = response.header(CURRENT_OFFSET) else {
        return Ok(None);
    };
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|value| u64::try_from(value).ok())
        .map(Some)
        .ok_or(AnswerError::Header(CURRENT_OFFSET))
}

/// `X-WOPI-SequenceNumber` of an answer, if present and a number.
pub(crate) fn sequence_number(response: &Response) -> Option<u64> {
    response.header(SEQUENCE_NUMBER)?.trim().parse().ok()
}

/// A short header value written by the host, made safe to print: at most 200 characters, control
/// characters replaced, `None` if absent or blank.
pub(crate) fn host_text(response: &Response, name: &str) -> Option<String> {
    let text = response.header(name)?.trim();
    if text.is_empty() {
        return None;
    }
    let mut out: String = text
        .chars()
        .take(MAX_HOST_TEXT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_HOST_TEXT).is_some() {
        out.push('…');
    }
    Some(out)
}

/// `X-WOPI-FailureReason`, made safe to print.
pub(crate) fn failure_reason(response: &Response) -> Option<String> {
    host_text(response, FAILURE_REASON)
}

/// The `UploadSessionToken` of a `CreateUploadSession` answer (property name in any case).
pub(crate) fn session_token(response: &Response) -> Result<Secret, AnswerError> {
    let value: serde_json::Value =
        serde_json::from_slice(&response.body).map_err(|_| AnswerError::NotJson)?;
    let serde_json::Value::Object(object) = value else {
        return Err(AnswerError::NotAnObject);
    };
    match property(&object, "UploadSessionToken") {
        Some(serde_json::Value::String(token)) if !token.is_empty() => {
            Ok(Secret::new(token.as_str()))
        }
        None | Some(serde_json::Value::String(_) | serde_json::Value::Null) => {
            Err(AnswerError::Missing("UploadSessionToken"))
        }
        Some(_) => Err(AnswerError::WrongType("UploadSessionToken")),
    }
}

/// The commit URL: the file URL with `/contents` added to its path, query (the
/// `access_token`) kept. `https://host/wopi/files/ID?access_token=t` gives
/// `https://host/wopi/files/ID/contents?access_token=t`.
pub(crate) fn contents_url(file_url: &SecretUrl) -> SecretUrl {
    let url = file_url.expose();
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let (path, rest) = url.split_at(path_end);
    let path = path.trim_end_matches('/');
    SecretUrl::new(alloc::format!("{path}/contents{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_url_keeps_the_query_and_drops_a_trailing_slash() {
        let cases = [
            (
                "https://host/wopi/files/7?access_token=t&x=1",
                "https://host/wopi/files/7/contents?access_token=t&x=1",
            ),
            (
                "https://host/wopi/files/7/",
                "https://host/wopi/files/7/contents",
            ),
            (
                "http://h:8080/wopi/files/a%2Fb#frag",
                "http://h:8080/wopi/files/a%2Fb/contents#frag",
            ),
        ];
        for (file, contents) in cases {
            assert_eq!(contents_url(&SecretUrl::new(file)).expose(), contents);
        }
    }

    #[test]
    fn offsets_must_be_non_negative_numbers() {
        let with = |value: &str| Response::new(200).with_header(CURRENT_OFFSET, value);
        assert_eq!(current_offset(&Response::new(200)), Ok(None));
        assert_eq!(current_offset(&with(" 42 ")), Ok(Some(42)));
        assert_eq!(
            current_offset(&with("9223372036854775807")),
            Ok(Some(i64::MAX as u64))
        );
        for bad in ["-1", "", "4x", "9223372036854775808", "1e3"] {
            assert_eq!(
                current_offset(&with(bad)),
                Err(AnswerError::Header(CURRENT_OFFSET)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn host_text_is_bounded_and_printable() {
        let long = "x".repeat(500);
        let answer = Response::new(400)
            .with_header(FAILURE_REASON, long.as_str())
            .with_header(CONFLICTING_MECHANISM, "WOPI-Lock\r\nInjected: 1");
        let reason = failure_reason(&answer).unwrap();
        assert_eq!(reason.chars().count(), MAX_HOST_TEXT + 1);
        assert_eq!(
            host_text(&answer, CONFLICTING_MECHANISM).as_deref(),
            Some("WOPI-Lock  Injected: 1")
        );
        assert_eq!(failure_reason(&Response::new(400)), None);
        let blank = Response::new(400).with_header(FAILURE_REASON, "  ");
        assert_eq!(failure_reason(&blank), None);
    }

    #[test]
    fn session_tokens_are_read_in_any_case_and_refused_when_missing() {
        let answer = |body: &'static str| Response::new(200).with_body(body);
        let token = session_token(&answer(r#"{"uploadSessionToken":"abc"}"#)).unwrap();
        assert_eq!(token.expose(), "abc");
        let cases = [
            ("", AnswerError::NotJson),
            ("[1]", AnswerError::NotAnObject),
            ("{}", AnswerError::Missing("UploadSessionToken")),
            (
                r#"{"UploadSessionToken":""}"#,
                AnswerError::Missing("UploadSessionToken"),
            ),
            (
                r#"{"UploadSessionToken":5}"#,
                AnswerError::WrongType("UploadSessionToken"),
            ),
        ];
        for (body, error) in cases {
            assert_eq!(session_token(&answer(body)).unwrap_err(), error, "{body}");
        }
    }

    #[test]
    fn sequence_numbers_that_do_not_parse_are_absent() {
        let with = |value: &str| Response::new(412).with_header(SEQUENCE_NUMBER, value);
        assert_eq!(sequence_number(&with("12")), Some(12));
        assert_eq!(sequence_number(&with("-3")), None);
        assert_eq!(sequence_number(&Response::new(412)), None);
    }
}
