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
    /// A success answer lacked a header the protocol requires (tus `Upload-Offset`).
    MissingHeader(&'static str),
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
            Failure::MissingHeader(name) => write!(f, "an answer without {name}"),
            Failure::NoUploadUrl => f.write_str("an answer without an uploadUrl"),
            Failure::BadUploadUrl => {
                f.write_str("an uploadUrl that is not an http(s) URL without user information")
            }
        }
    }
}

impl Failure {
    /// What a status means, for readers who do not know them by heart (" (throttled)"), or
    /// nothing.
    pub fn hint(&self) -> &'static str {
        match self {
            Failure::Status(404 | 410) => " (session not found)",
            Failure::Status(409) => " (lock mismatch)",
            Failure::Status(412) => " (sequence number mismatch)",
            Failure::Status(416) => " (range not expected)",
            Failure::Status(429) => " (throttled)",
            Failure::Status(503) => " (service unavailable)",
            Failure::Status(500..=599) => " (server error)",
            _ => "",
        }
    }
}

/// "HTTP 429 (throttled); retrying in 2.0 s": a retry, as a line.
pub(crate) fn retry_line(
    f: &mut fmt::Formatter<'_>,
    reason: &Failure,
    from: Option<&str>,
    delay: crate::time::Duration,
) -> fmt::Result {
    write!(f, "{reason}{}", reason.hint())?;
    if let Some(from) = from {
        write!(f, " (host: {from})")?;
    }
    write!(f, "; retrying in {:.1} s", delay.as_secs_f64())
}

/// "…; starting over in a new session" when a new session follows.
pub(crate) fn loss_line(
    f: &mut fmt::Formatter<'_>,
    cause: &str,
    starting_over: bool,
) -> fmt::Result {
    f.write_str(cause)?;
    if starting_over {
        f.write_str("; starting over in a new session")?;
    }
    Ok(())
}
