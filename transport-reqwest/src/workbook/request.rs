//! The caller's own workbook requests (reading a range, writing cells) and their answers.

use std::fmt;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use resumable_core::http::TransportError;
use resumable_core::workbook::CallOutcome;

use super::state::SessionError;
use crate::token::TokenError;

/// One workbook request of the caller's, sent through
/// [`WorkbookSession::send`](super::WorkbookSession::send), which adds the bearer token and the
/// `workbook-session-id` header.
///
/// The path is relative to the workbook URL the session was opened on: `worksheets`,
/// `worksheets/Sheet1/range(address='A1:B2')`, `tables/Table1/rows/add`. Requests go only
/// there, so the token never leaves the workbook's origin.
///
/// ```
/// use resumable_reqwest::workbook::WorkbookRequest;
/// use serde_json::json;
/// let read = WorkbookRequest::get("worksheets/Sheet1/range(address='A1:B2')");
/// assert_eq!(read.path(), "worksheets/Sheet1/range(address='A1:B2')");
/// let write = WorkbookRequest::patch("worksheets/Sheet1/range(address='A1')")
///     .json(&json!({ "values": [[42]] }));
/// assert_eq!(write.method(), &reqwest::Method::PATCH);
/// assert_eq!(write.body().map(|b| b.as_ref()), Some(&br#"{"values":[[42]]}"#[..]));
/// ```
#[derive(Clone, Debug)]
pub struct WorkbookRequest {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl WorkbookRequest {
    /// A request with `method` to `path` under the workbook URL.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        WorkbookRequest {
            method,
            path: path.into(),
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        WorkbookRequest::new(Method::GET, path)
    }

    /// `POST path` (give it a body with [`json`](Self::json); without one it is sent with
    /// `Content-Length: 0`).
    pub fn post(path: impl Into<String>) -> Self {
        WorkbookRequest::new(Method::POST, path)
    }

    /// `PATCH path`.
    pub fn patch(path: impl Into<String>) -> Self {
        WorkbookRequest::new(Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        WorkbookRequest::new(Method::DELETE, path)
    }

    /// Adds a header (a `Prefer`, an `If-Match`). `Authorization` and `workbook-session-id` are
    /// set by the session and replace any given here.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.body = Some(Bytes::from(value.to_string()));
        self
    }

    /// The same request with this body, as it is; set its `Content-Type` with
    /// [`header`](Self::header).
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path under the workbook URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The headers given so far.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, if there is one.
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// The absolute URL under `workbook` (`…/workbook`, no trailing `/`), or why there is none.
    pub(crate) fn url_under(&self, workbook: &str) -> Result<String, CallError> {
        let path = self.path.trim_start_matches('/');
        if path.contains("://") || path.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(CallError::InvalidRequest(
                "the path must be relative to the workbook URL, without spaces",
            ));
        }
        if path.is_empty() {
            return Ok(workbook.to_owned());
        }
        Ok(format!("{workbook}/{path}"))
    }
}

/// The answer to one of the caller's requests, read whole, with what it means for the session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkbookAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// What the answer means for the session: [`CallOutcome::Succeeded`] counted as activity;
    /// [`CallOutcome::SessionExpired`] or [`CallOutcome::Stale`] mean resend once the new
    /// session is live ([`WorkbookSession::ready`](super::WorkbookSession::ready) waits for it);
    /// [`CallOutcome::Checking`] means a `404` that may be about the session, which a
    /// `refreshSession` is now checking.
    pub outcome: CallOutcome,
}

impl WorkbookAnswer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Whether the request should be sent again under the new session (the one it used is
    /// gone or was replaced while it was on its way).
    pub fn should_resend(&self) -> bool {
        matches!(
            self.outcome,
            CallOutcome::SessionExpired | CallOutcome::Stale
        )
    }
}

/// Why one of the caller's requests got no answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError {
    /// No session can serve it: the session failed or was closed.
    Session(SessionError),
    /// The request is not one the session sends (an absolute URL, a space in the path).
    InvalidRequest(&'static str),
    /// No bearer token could be had.
    Token(TokenError),
    /// The request was sent but no (whole) answer came; the server may or may not have acted on
    /// it. `detail` never contains the URL.
    Transport {
        /// What kind of failure.
        error: TransportError,
        /// What went wrong, for a message.
        detail: String,
    },
    /// The answer was longer than the handle accepts
    /// ([`WorkbookSessionBuilder::max_answer_len`](super::WorkbookSessionBuilder::max_answer_len)).
    AnswerTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Session(error) => write!(f, "{error}"),
            CallError::InvalidRequest(why) => write!(f, "invalid workbook request: {why}"),
            CallError::Token(error) => write!(f, "{error}"),
            CallError::Transport { error, detail } => {
                write!(f, "the workbook request got no answer ({error}): {detail}")
            }
            CallError::AnswerTooLarge { limit } => {
                write!(f, "the answer is longer than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Session(error) => Some(error),
            CallError::Token(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook";

    #[test]
    fn paths_resolve_under_the_workbook_only() {
        assert_eq!(
            WorkbookRequest::get("worksheets").url_under(BOOK).unwrap(),
            format!("{BOOK}/worksheets")
        );
        assert_eq!(
            WorkbookRequest::get("/tables/T1/rows")
                .url_under(BOOK)
                .unwrap(),
            format!("{BOOK}/tables/T1/rows")
        );
        assert_eq!(WorkbookRequest::get("").url_under(BOOK).unwrap(), BOOK);
        for bad in ["https://evil.example/steal", "worksheets/a b", "x\ny"] {
            assert!(
                matches!(
                    WorkbookRequest::get(bad).url_under(BOOK),
                    Err(CallError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn answers_say_when_to_resend() {
        let answer = |status, outcome| WorkbookAnswer {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"value":[]}"#),
            outcome,
        };
        let ok = answer(200, CallOutcome::Succeeded);
        assert!(ok.is_success() && !ok.should_resend());
        assert_eq!(ok.json().unwrap()["value"], serde_json::json!([]));
        assert!(answer(404, CallOutcome::SessionExpired).should_resend());
        assert!(answer(404, CallOutcome::Stale).should_resend());
        assert!(!answer(404, CallOutcome::Checking).should_resend());
        assert!(!answer(409, CallOutcome::NotSessionRelated).should_resend());
    }

    #[test]
    fn errors_say_what_happened_without_urls() {
        let error = CallError::Transport {
            error: TransportError::ConnectionLost,
            detail: "error sending request".into(),
        };
        assert!(error.to_string().contains("no answer"));
        assert_eq!(
            CallError::Session(SessionError::Closed).to_string(),
            "the workbook session is closed"
        );
    }
}
