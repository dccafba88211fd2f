//! Where a workbook session handle stands, as its `watch` channel reports it.

use std::fmt;

use resumable_core::secret::Secret;
use resumable_core::workbook::{WorkbookError, WorkbookEvent};

/// The state of the session behind a [`WorkbookSession`](super::WorkbookSession) handle.
///
/// [`WorkbookSession::watch_state`](super::WorkbookSession::watch_state) gives a `watch`
/// receiver of it: the session id it holds changes when the service drops a session and a new
/// one replaces it. Ids print redacted.
///
/// ```
/// use resumable_core::secret::Secret;
/// use resumable_reqwest::workbook::SessionState;
/// let live = SessionState::Live(Secret::new("cluster=PAR1&session=15.SN3PEPF"));
/// assert_eq!(live.session_id().map(Secret::expose), Some("cluster=PAR1&session=15.SN3PEPF"));
/// assert_eq!(live.to_string(), "live (session [redacted])");
/// assert!(!live.is_ended());
/// assert!(SessionState::Closed.is_ended());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// The first session is being created (at once or as a long-running operation).
    Creating,
    /// A session is live; workbook requests go out under this id.
    Live(Secret),
    /// The service dropped the session; a replacement is being created.
    Recreating,
    /// `closeSession` is on its way (or will be, once a session being created exists).
    Closing,
    /// Closed, or abandoned before a session existed. Nothing more will happen.
    Closed,
    /// The session machine stopped with this error. Nothing more will happen.
    Failed(WorkbookError),
    /// The background task ended without a last word (its runtime shut down).
    Interrupted,
}

impl SessionState {
    /// The live session's id, if there is one.
    pub fn session_id(&self) -> Option<&Secret> {
        match self {
            SessionState::Live(id) => Some(id),
            _ => None,
        }
    }

    /// Whether the session is over (closed, failed or interrupted).
    pub fn is_ended(&self) -> bool {
        matches!(
            self,
            SessionState::Closed | SessionState::Failed(_) | SessionState::Interrupted
        )
    }

    /// The state after `event`, or `None` if the event does not change it.
    pub(crate) fn after(event: &WorkbookEvent) -> Option<SessionState> {
        Some(match event {
            WorkbookEvent::Created { session_id, .. } => SessionState::Live(session_id.clone()),
            WorkbookEvent::Recreated { new_session_id, .. } => {
                SessionState::Live(new_session_id.clone())
            }
            WorkbookEvent::Expired { .. } => SessionState::Recreating,
            WorkbookEvent::Closed { .. } => SessionState::Closed,
            WorkbookEvent::Failed(error) => SessionState::Failed(error.clone()),
            _ => return None,
        })
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionState::Creating => f.write_str("creating"),
            SessionState::Live(id) => write!(f, "live (session {id})"),
            SessionState::Recreating => f.write_str("recreating"),
            SessionState::Closing => f.write_str("closing"),
            SessionState::Closed => f.write_str("closed"),
            SessionState::Failed(error) => write!(f, "failed: {error}"),
            SessionState::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// Why a session could not serve a request or did not close cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The session machine stopped with this error (a failed creation names the service's
    /// codes; see [`WorkbookError::graph_error`]).
    Failed(WorkbookError),
    /// The session was closed (or is closing): open a new handle to go on.
    Closed,
    /// The background task ended without a last word (its runtime shut down).
    Interrupted,
}

impl SessionError {
    /// The error for a session that ended in `state`, or `None` if it has not ended.
    pub(crate) fn from_state(state: &SessionState) -> Option<SessionError> {
        match state {
            SessionState::Failed(error) => Some(SessionError::Failed(error.clone())),
            SessionState::Closing | SessionState::Closed => Some(SessionError::Closed),
            SessionState::Interrupted => Some(SessionError::Interrupted),
            SessionState::Creating | SessionState::Live(_) | SessionState::Recreating => None,
        }
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Failed(error) => write!(f, "the workbook session failed: {error}"),
            SessionError::Closed => f.write_str("the workbook session is closed"),
            SessionError::Interrupted => {
                f.write_str("the workbook session's task ended without closing the session")
            }
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Failed(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::http::RequestKind;
    use resumable_core::workbook::{Creation, ExpiryReason};

    #[test]
    fn events_move_the_state_and_ids_stay_hidden() {
        let created = WorkbookEvent::Created {
            session_id: Secret::new("s-1"),
            persist_changes: true,
            how: Creation::LongRunning,
        };
        assert_eq!(
            SessionState::after(&created),
            Some(SessionState::Live(Secret::new("s-1")))
        );
        let expired = WorkbookEvent::Expired {
            session_id: Secret::new("s-1"),
            reason: ExpiryReason::ReCreatable,
        };
        assert_eq!(
            SessionState::after(&expired),
            Some(SessionState::Recreating)
        );
        let recreated = WorkbookEvent::Recreated {
            old_session_id: Secret::new("s-1"),
            new_session_id: Secret::new("s-2"),
            persist_changes: true,
            how: Creation::Immediate,
        };
        let live = SessionState::after(&recreated).unwrap();
        assert_eq!(live.session_id().unwrap().expose(), "s-2");
        assert!(!format!("{live} {live:?}").contains("s-2"));
        let refreshed = WorkbookEvent::Refreshed {
            next_refresh: resumable_core::time::Instant::ZERO,
        };
        assert_eq!(SessionState::after(&refreshed), None);
        let failed = WorkbookEvent::Failed(WorkbookError::Rejected {
            request: RequestKind::CreateSession,
            status: 403,
            error: None,
        });
        let state = SessionState::after(&failed).unwrap();
        assert!(state.is_ended());
        assert_eq!(
            SessionError::from_state(&state).unwrap().to_string(),
            "the workbook session failed: createSession refused with HTTP 403"
        );
        assert_eq!(
            SessionState::after(&WorkbookEvent::Closed { session_id: None }),
            Some(SessionState::Closed)
        );
        assert_eq!(SessionError::from_state(&SessionState::Creating), None);
        assert_eq!(
            SessionError::from_state(&SessionState::Closing),
            Some(SessionError::Closed)
        );
    }
}
