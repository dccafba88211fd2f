//! What a workbook session reports, and what the caller should do about each report.

use core::fmt;

use super::error::{RetryCause, WorkbookError};
use super::operation::OperationStatus;
use crate::http::RequestKind;
use crate::secret::Secret;
use crate::time::{Duration, Instant};

/// How a session came to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Creation {
    /// `createSession` answered `201` with the session.
    Immediate,
    /// `createSession` answered `202`; the operation was polled to success and the session
    /// fetched from its `resourceLocation`.
    LongRunning,
}

impl fmt::Display for Creation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Creation::Immediate => "immediate",
            Creation::LongRunning => "long-running",
        })
    }
}

/// Why the machine considers a session expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpiryReason {
    /// The server answered `404` (or `410`) for the session.
    NotFound,
    /// The server answered with error code `invalidSessionReCreatable`.
    ReCreatable,
}

impl fmt::Display for ExpiryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExpiryReason::NotFound => "the session was not found",
            ExpiryReason::ReCreatable => "invalidSessionReCreatable",
        })
    }
}

/// A report from a [`WorkbookSession`](super::WorkbookSession). Session ids are
/// [`Secret`]s: they grant access to the session, so they print redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkbookEvent {
    /// The first session exists. From now on put
    /// [`WorkbookSession::header`](super::WorkbookSession::header) on every workbook request.
    Created {
        /// The session id (what `workbook-session-id` carries).
        session_id: Secret,
        /// Whether the server says changes persist (the requested value if it did not say).
        persist_changes: bool,
        /// Created at once or as a long-running operation.
        how: Creation,
    },
    /// A poll of the long-running creation answered; nothing to do but wait.
    Polling {
        /// The operation's status.
        status: OperationStatus,
    },
    /// A `refreshSession` succeeded; the session is good until at least `next_refresh` plus the
    /// safety margin. Nothing to do.
    Refreshed {
        /// When the machine will refresh again if the caller sends nothing meanwhile.
        next_refresh: Instant,
    },
    /// The server says the session is gone, and it may be replaced: a new one is being created.
    /// Stop sending requests with the old header; wait for [`WorkbookEvent::Recreated`] and
    /// resend what failed. Changes made in a non-persistent session are lost with it: redo them.
    Expired {
        /// The session that is gone.
        session_id: Secret,
        /// What the server said.
        reason: ExpiryReason,
    },
    /// A replacement session exists: use the new header from now on.
    Recreated {
        /// The session that expired.
        old_session_id: Secret,
        /// The session that replaces it.
        new_session_id: Secret,
        /// Whether the server says the new session's changes persist.
        persist_changes: bool,
        /// How the replacement was created.
        how: Creation,
    },
    /// A request failed in a way worth retrying; the machine will resend it after `wait`.
    /// Nothing to do.
    Retrying {
        /// Which request.
        request: RequestKind,
        /// Why it failed.
        cause: RetryCause,
        /// How long the machine waits before resending.
        wait: Duration,
    },
    /// The session is closed (`closeSession` answered, or the server had already dropped it), or
    /// creation was abandoned before a session existed (`session_id` is `None`). The machine is
    /// finished.
    Closed {
        /// The session that was closed, if one existed.
        session_id: Option<Secret>,
    },
    /// The machine stopped. The error says why and whether anything can be done; a session that
    /// may still exist on the server expires on its own.
    Failed(WorkbookError),
}

impl WorkbookEvent {
    /// A short lowercase name for the event (`created`, `polling`, `refreshed`, `expired`,
    /// `recreated`, `retrying`, `closed`, `failed`), for log fields and JSON output.
    ///
    /// ```
    /// use resumable_core::workbook::{OperationStatus, WorkbookEvent};
    /// let event = WorkbookEvent::Polling { status: OperationStatus::Running };
    /// assert_eq!(event.name(), "polling");
    /// assert_eq!(event.to_string(), "polling: the creation is running");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            WorkbookEvent::Created { .. } => "created",
            WorkbookEvent::Polling { .. } => "polling",
            WorkbookEvent::Refreshed { .. } => "refreshed",
            WorkbookEvent::Expired { .. } => "expired",
            WorkbookEvent::Recreated { .. } => "recreated",
            WorkbookEvent::Retrying { .. } => "retrying",
            WorkbookEvent::Closed { .. } => "closed",
            WorkbookEvent::Failed(_) => "failed",
        }
    }
}

/// One line per event. Session ids print redacted: pass them through
/// [`Secret::expose`] deliberately where showing them is wanted.
impl fmt::Display for WorkbookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |persist: bool| {
            if persist {
                "persistent"
            } else {
                "non-persistent"
            }
        };
        write!(f, "{}: ", self.name())?;
        match self {
            WorkbookEvent::Created {
                session_id,
                persist_changes,
                how,
            } => write!(
                f,
                "session {session_id} ({}, {how})",
                kind(*persist_changes)
            ),
            WorkbookEvent::Polling { status } => write!(f, "the creation is {status}"),
            WorkbookEvent::Refreshed { next_refresh } => {
                write!(f, "next refresh at {} ms", next_refresh.as_millis())
            }
            WorkbookEvent::Expired { session_id, reason } => {
                write!(
                    f,
                    "session {session_id} is gone ({reason}); creating a new one"
                )
            }
            WorkbookEvent::Recreated {
                old_session_id,
                new_session_id,
                persist_changes,
                how,
            } => write!(
                f,
                "session {new_session_id} replaces {old_session_id} ({}, {how})",
                kind(*persist_changes)
            ),
            WorkbookEvent::Retrying {
                request,
                cause,
                wait,
            } => write!(
                f,
                "{} failed ({cause}); again in {} ms",
                super::error::request_name(*request),
                wait.as_millis()
            ),
            WorkbookEvent::Closed {
                session_id: Some(session_id),
            } => write!(f, "session {session_id} closed"),
            WorkbookEvent::Closed { session_id: None } => {
                f.write_str("closed before a session existed")
            }
            WorkbookEvent::Failed(error) => write!(f, "{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workbook::WorkbookError;
    use alloc::string::ToString;

    #[test]
    fn lines_name_the_event_and_hide_the_ids() {
        let events = [
            (
                WorkbookEvent::Created {
                    session_id: Secret::new("s1"),
                    persist_changes: true,
                    how: Creation::LongRunning,
                },
                "created: session [redacted] (persistent, long-running)",
            ),
            (
                WorkbookEvent::Refreshed {
                    next_refresh: Instant::from_millis(240_000),
                },
                "refreshed: next refresh at 240000 ms",
            ),
            (
                WorkbookEvent::Expired {
                    session_id: Secret::new("s1"),
                    reason: ExpiryReason::NotFound,
                },
                "expired: session [redacted] is gone (the session was not found); creating a new one",
            ),
            (
                WorkbookEvent::Recreated {
                    old_session_id: Secret::new("s1"),
                    new_session_id: Secret::new("s2"),
                    persist_changes: false,
                    how: Creation::Immediate,
                },
                "recreated: session [redacted] replaces [redacted] (non-persistent, immediate)",
            ),
            (
                WorkbookEvent::Retrying {
                    request: RequestKind::CreateSession,
                    cause: RetryCause::Status(504),
                    wait: Duration::from_millis(750),
                },
                "retrying: createSession failed (HTTP 504); again in 750 ms",
            ),
            (
                WorkbookEvent::Closed {
                    session_id: Some(Secret::new("s2")),
                },
                "closed: session [redacted] closed",
            ),
            (
                WorkbookEvent::Closed { session_id: None },
                "closed: closed before a session existed",
            ),
            (
                WorkbookEvent::Failed(WorkbookError::RecreationBudgetExhausted { recreations: 3 }),
                "failed: created 3 sessions in a row and each expired before it could be used",
            ),
        ];
        for (event, line) in events {
            assert_eq!(event.to_string(), line);
        }
    }
}
