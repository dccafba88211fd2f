//! Why a workbook session stopped, and what was wrong with an answer.

use alloc::string::String;
use core::fmt;

use super::graph_error::GraphError;
use super::invalid_session::InvalidSessionCode;
use crate::http::{RequestKind, TransportError};
use crate::retry::GiveUp;
use crate::time::Duration;

/// Why a [`WorkbookSession`](super::WorkbookSession) stopped. Each variant says what the caller
/// can do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkbookError {
    /// The long-running creation finished with status `failed`. Graph answers such a poll with
    /// HTTP 200, so this comes from the body. The error's codes say whether trying again later
    /// can help (`transientFailure`, `serviceUnavailable…`) or not (`unsupportedWorkbook`, ...).
    OperationFailed {
        /// The operation's error object, if the server wrote one.
        error: Option<GraphError>,
    },
    /// The long-running creation did not finish within
    /// [`WorkbookConfig::max_creation_wait`](super::WorkbookConfig::max_creation_wait).
    CreationTimedOut {
        /// How long the machine waited.
        waited: Duration,
    },
    /// The server declared the session invalid with a code that forbids creating a new one with
    /// the same request (the workbook is gone, locked by another client, unsupported,
    /// restricted, or the credentials are wrong). Fix the cause before opening a session again.
    SessionInvalid {
        /// The `invalidSession…` code.
        code: InvalidSessionCode,
        /// The whole error object.
        error: GraphError,
    },
    /// The server refused a request with a status that retrying cannot fix (400, 401, 403, 404 on
    /// `createSession`, 409, ...). A 401 usually means the access token expired.
    Rejected {
        /// Which request.
        request: RequestKind,
        /// The status.
        status: u16,
        /// The error object, if the body had one.
        error: Option<GraphError>,
    },
    /// A request kept failing with retryable answers until the retry policy gave up.
    GaveUp {
        /// Which request.
        request: RequestKind,
        /// The last failure.
        cause: RetryCause,
        /// Which limit of the policy was reached.
        reason: GiveUp,
    },
    /// Sessions kept expiring: this many were created in a row without one proving healthy.
    RecreationBudgetExhausted {
        /// Sessions created in a row.
        recreations: u32,
    },
    /// An answer did not follow the protocol (a session without an id, a `202` without
    /// `Location`, an unknown operation status). A server bug or a wrong URL.
    MalformedAnswer {
        /// Which request.
        request: RequestKind,
        /// The answer's status.
        status: u16,
        /// What was wrong.
        problem: AnswerProblem,
    },
    /// The transport could not send a request, for a reason retrying cannot fix.
    Transport {
        /// Which request.
        request: RequestKind,
        /// What the transport said.
        error: TransportError,
    },
}

impl WorkbookError {
    /// The Graph error object behind the failure, if there is one.
    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            WorkbookError::OperationFailed { error } | WorkbookError::Rejected { error, .. } => {
                error.as_ref()
            }
            WorkbookError::SessionInvalid { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for WorkbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkbookError::OperationFailed { error: Some(error) } => {
                write!(f, "the session creation failed: {error}")
            }
            WorkbookError::OperationFailed { error: None } => {
                f.write_str("the session creation failed without an error object")
            }
            WorkbookError::CreationTimedOut { waited } => write!(
                f,
                "the session creation was still running after {} s",
                waited.as_secs()
            ),
            WorkbookError::SessionInvalid { code, error } => write!(
                f,
                "the server declared the workbook session invalid ({code}); not recreating it: {error}"
            ),
            WorkbookError::Rejected {
                request,
                status,
                error,
            } => {
                write!(f, "{} refused with HTTP {status}", request_name(*request))?;
                match error {
                    Some(error) => write!(f, ": {error}"),
                    None => Ok(()),
                }
            }
            WorkbookError::GaveUp {
                request,
                cause,
                reason,
            } => write!(
                f,
                "{} kept failing (last: {cause}): {reason}",
                request_name(*request)
            ),
            WorkbookError::RecreationBudgetExhausted { recreations } => write!(
                f,
                "created {recreations} sessions in a row and each expired before it could be used"
            ),
            WorkbookError::MalformedAnswer {
                request,
                status,
                problem,
            } => write!(
                f,
                "malformed answer to {} (HTTP {status}): {problem}",
                request_name(*request)
            ),
            WorkbookError::Transport { request, error } => {
                write!(f, "{} could not be sent: {error}", request_name(*request))
            }
        }
    }
}

impl core::error::Error for WorkbookError {}

/// How the workbook requests are named in messages.
pub(crate) fn request_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::CreateSession => "createSession",
        RequestKind::PollOperation => "the creation operation poll",
        RequestKind::FetchResource => "the session resource fetch",
        RequestKind::Refresh => "refreshSession",
        RequestKind::Close => "closeSession",
        _ => "a workbook request",
    }
}

/// What was wrong with an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// The body is not a JSON object.
    NotJson,
    /// A required property is missing or has the wrong type.
    MissingProperty(&'static str),
    /// The operation status is none of the documented ones (kept up to 64 bytes).
    UnknownStatus(String),
    /// A `202` without a `Location` header.
    MissingLocation,
    /// A `Location` or `resourceLocation` that does not resolve to an `http`/`https` URL.
    BadLocation,
}

impl AnswerProblem {
    /// An unknown status, cut to 64 bytes so a hostile answer cannot bloat the error.
    pub(crate) fn unknown_status(text: &str) -> AnswerProblem {
        let mut end = text.len().min(64);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        AnswerProblem::UnknownStatus(String::from(&text[..end]))
    }
}

impl fmt::Display for AnswerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerProblem::NotJson => f.write_str("the body is not a JSON object"),
            AnswerProblem::MissingProperty(name) => {
                write!(f, "property `{name}` is missing or not of the right type")
            }
            AnswerProblem::UnknownStatus(status) => {
                write!(f, "unknown operation status {status:?}")
            }
            AnswerProblem::MissingLocation => f.write_str("202 Accepted without a Location header"),
            AnswerProblem::BadLocation => {
                f.write_str("the location does not resolve to an http or https URL")
            }
        }
    }
}

/// What made a request worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryCause {
    /// The server answered with this status (429, 5xx).
    Status(u16),
    /// No answer arrived.
    Transport(TransportError),
}

impl fmt::Display for RetryCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryCause::Status(status) => write!(f, "HTTP {status}"),
            RetryCause::Transport(error) => write!(f, "{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn messages_name_the_code_and_the_request() {
        let error = GraphError {
            code: "badRequest".into(),
            message: "locked".into(),
            inner_codes: vec!["invalidSessionAccessConflict".into()],
        };
        let invalid = WorkbookError::SessionInvalid {
            code: InvalidSessionCode::AccessConflict,
            error: error.clone(),
        };
        assert!(invalid.to_string().contains("invalidSessionAccessConflict"));
        assert_eq!(invalid.graph_error(), Some(&error));
        let rejected = WorkbookError::Rejected {
            request: RequestKind::Refresh,
            status: 401,
            error: None,
        };
        assert_eq!(rejected.to_string(), "refreshSession refused with HTTP 401");
        assert_eq!(rejected.graph_error(), None);
        let failed = WorkbookError::OperationFailed { error: Some(error) };
        assert!(failed.to_string().contains("badRequest: locked"));
    }

    #[test]
    fn unknown_status_is_bounded() {
        let long = "é".repeat(100);
        let AnswerProblem::UnknownStatus(kept) = AnswerProblem::unknown_status(&long) else {
            unreachable!()
        };
        assert!(kept.len() <= 64 && long.starts_with(&kept));
        assert_eq!(
            AnswerProblem::UnknownStatus("paused".into()).to_string(),
            "unknown operation status \"paused\""
        );
    }
}
