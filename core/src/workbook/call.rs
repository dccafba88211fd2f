//! The caller's own workbook requests: the session header they carry and what their answers mean
//! for the session.

use super::invalid_session::InvalidSessionCode;
use crate::http::Header;
use crate::time::Instant;

/// A workbook request of the caller's own, about to be sent under the current session. Made by
/// [`WorkbookSession::begin_call`](super::WorkbookSession::begin_call); hand it back with the
/// answer to [`WorkbookSession::handle_workbook_answer`](super::WorkbookSession::handle_workbook_answer).
///
/// It remembers which session the request used and when it was sent: a successful answer counts
/// as activity from the send time (the server saw the request no earlier), and an expiry answer
/// for a session that has since been replaced is recognised as stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkbookCall {
    pub(crate) header: Header,
    pub(crate) generation: u64,
    pub(crate) sent_at: Instant,
}

impl WorkbookCall {
    /// The `workbook-session-id` header to put on the request. Its value prints redacted.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// When the request was sent (the `now` given to `begin_call`).
    pub fn sent_at(&self) -> Instant {
        self.sent_at
    }
}

/// What the answer to one of the caller's requests means for the session, and what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// A 2xx answer: the session was used, which counts as activity, so the keep-alive is pushed
    /// back. Carry on.
    Succeeded,
    /// An error that is not about the session (a bad range, a throttle, a conflict on a cell):
    /// the caller's to handle. The session is unaffected.
    NotSessionRelated,
    /// The server says the session is gone and may be recreated (`invalidSessionReCreatable`):
    /// a new one is being created. Wait for [`WorkbookEvent::Recreated`](super::WorkbookEvent::Recreated)
    /// and resend the request with the new header.
    SessionExpired,
    /// A `404` (or `410`) without a session code: it may be about the caller's resource (a
    /// worksheet that does not exist) or about the session. The machine asks the server with a
    /// `refreshSession` at once. [`WorkbookEvent::Refreshed`](super::WorkbookEvent::Refreshed)
    /// next means the session is fine and the 404 was about the resource;
    /// [`WorkbookEvent::Expired`](super::WorkbookEvent::Expired) means resend after
    /// `Recreated`.
    Checking,
    /// The server declared the session invalid with a code that forbids recreating it; the
    /// machine stops with [`WorkbookEvent::Failed`](super::WorkbookEvent::Failed).
    SessionInvalid(InvalidSessionCode),
    /// The request was sent under a session that has since been replaced or closed. Resend it
    /// with the current header, if there is one.
    Stale,
}
