//! The handle the caller keeps on an open workbook session.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use resumable_core::secret::Secret;
use resumable_core::workbook::{WorkbookEvent, WorkbookUrl};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::caller::WorkbookCaller;
use super::request::{CallError, WorkbookAnswer, WorkbookRequest};
use super::state::{SessionError, SessionState};

/// An open Graph workbook session, kept alive in the background.
///
/// A tokio task drives the core's
/// [`WorkbookSession`](resumable_core::workbook::WorkbookSession) machine: it creates the
/// session (polling a long-running creation to success), refreshes it before the inactivity
/// limit whenever the caller has been quiet, creates a new one when the service drops it, and
/// closes it on [`close`](Self::close) or when the handle is dropped.
///
/// - [`send`](Self::send) sends the caller's own requests under the session (and counts them as
///   activity); [`caller`](Self::caller) gives a cloneable handle for sending from other tasks.
/// - [`session_id`](Self::session_id) and [`watch_state`](Self::watch_state) follow the session
///   (the id changes on recreation).
/// - The handle is a [`Stream`] of [`WorkbookEvent`]s (created, polling, refreshed, expired,
///   recreated, retrying, closed, failed); [`WorkbookSessionBuilder::on_event`](super::WorkbookSessionBuilder::on_event) is the
///   callback form. Events not taken from the stream are kept until the handle is dropped.
///
/// See the [module documentation](super) for an example.
pub struct WorkbookSession {
    url: WorkbookUrl,
    caller: WorkbookCaller,
    events: mpsc::UnboundedReceiver<WorkbookEvent>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkbookSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkbookSession")
            .field("url", &self.url)
            .field("state", &self.caller.state())
            .finish_non_exhaustive()
    }
}

impl WorkbookSession {
    pub(crate) fn new(
        url: WorkbookUrl,
        caller: WorkbookCaller,
        events: mpsc::UnboundedReceiver<WorkbookEvent>,
        task: JoinHandle<()>,
    ) -> Self {
        WorkbookSession {
            url,
            caller,
            events,
            task: Some(task),
        }
    }

    /// The workbook's URL.
    pub fn url(&self) -> &WorkbookUrl {
        &self.url
    }

    /// A cloneable handle for sending requests and following the state from other tasks.
    pub fn caller(&self) -> WorkbookCaller {
        self.caller.clone()
    }

    /// The live session's id; `None` while one is being created or recreated, and after the
    /// end. It changes when a new session replaces an expired one.
    pub fn session_id(&self) -> Option<Secret> {
        self.caller.session_id()
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.caller.state()
    }

    /// A receiver that sees every change of state.
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.caller.watch_state()
    }

    /// Waits until a session is live and gives its id; an error if the session ended first
    /// (a failed creation carries the service's codes).
    pub async fn ready(&self) -> Result<Secret, SessionError> {
        self.caller.ready().await
    }

    /// Sends one of the caller's requests under the session; see [`WorkbookCaller::send`].
    pub async fn send(&self, request: WorkbookRequest) -> Result<WorkbookAnswer, CallError> {
        self.caller.send(request).await
    }

    /// Closes the session (`closeSession`) and waits for the task to end. `Ok` if the session
    /// closed (or none had been created yet); the error that stopped it otherwise. Events up to
    /// the end stay readable from the stream. Calling it again gives the same answer.
    pub async fn close(&mut self) -> Result<(), SessionError> {
        self.caller.request_close();
        if let Some(task) = self.task.take()
            && task.await.is_err()
        {
            return Err(SessionError::Interrupted);
        }
        match self.caller.state() {
            SessionState::Closed => Ok(()),
            other => Err(SessionError::from_state(&other).unwrap_or(SessionError::Interrupted)),
        }
    }
}

impl Stream for WorkbookSession {
    type Item = WorkbookEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WorkbookEvent>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for WorkbookSession {
    fn drop(&mut self) {
        // Closing goes on in the background: the task sends closeSession and ends.
        if self.task.is_some() {
            self.caller.request_close();
        }
    }
}
