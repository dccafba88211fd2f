//! What made a request fail: the reason given with a retry, a resynchronisation or a give-up,
//! in every dialect.

use core::fmt;

use crate::http::TransportError;
use crate::wire::graph_answer::AnswerError;

/// What made a request fail (the reason given with a retry or a give-up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The server answered with this status.
    Status(u16),
    /// No answer arrived.
    Transport(TransportError),
    /// The answer could not be read.
    Unreadable(AnswerError),
    /// The server accepted the request with this 2xx status but stored none of its bytes (it
    /// still lists them as missing).
    NoProgress(u16),
    /// The session-creation answer had no `uploadUrl`.
    NoUploadUrl,
    /// The session-creation answer's `uploadUrl` is not an `http(s)` URL without user
    /// information.
    BadUploadUrl,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "HTTP {status}"),
            Failure::Transport(error) => write!(f, "{error}"),
            Failure::Unreadable(error) => write!(f, "unreadable answer: {error}"),
            Failure::NoProgress(status) => {
                write!(f, "HTTP {status} without progress (nothing was stored)")
            }
            Failure::NoUploadUrl => f.write_str("an answer without an uploadUrl"),
            Failure::BadUploadUrl => {
                f.write_str("an uploadUrl that is not an http(s) URL without user information")
            }
        }
    }
}
