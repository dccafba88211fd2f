//! Sending the caller's own workbook requests under the current session, and telling the
//! session machine what their answers said.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};
use resumable_core::http::{Response, TransportError};
use resumable_core::secret::Secret;
use resumable_core::wire::workbook_headers::SESSION_HEADER;
use resumable_core::workbook::{CallOutcome, WorkbookCall, WorkbookSession as SessionMachine};
use tokio::sync::{mpsc, oneshot, watch};

use super::request::{CallError, WorkbookAnswer, WorkbookRequest};
use super::state::{SessionError, SessionState};
use crate::driver::Command;
use crate::exchange::{classify, describe};
use crate::token::TokenProvider;

/// A handle on a running workbook session for sending requests and reading its state, for use
/// from several tasks at once (it is cheap to clone). Made by
/// [`WorkbookSession::caller`](super::WorkbookSession::caller). Unlike the session handle,
/// dropping it does nothing: the session closes when its [`WorkbookSession`](super::WorkbookSession)
/// is closed or dropped.
#[derive(Clone)]
pub struct WorkbookCaller {
    pub(crate) commands: mpsc::UnboundedSender<Command<SessionMachine>>,
    pub(crate) state: watch::Receiver<SessionState>,
    pub(crate) state_sender: Arc<watch::Sender<SessionState>>,
    pub(crate) http: Arc<CallSender>,
}

impl std::fmt::Debug for WorkbookCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkbookCaller")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl WorkbookCaller {
    /// The live session's id; `None` while a session is being created or recreated, and after
    /// the end. It changes when a new session replaces an expired one.
    pub fn session_id(&self) -> Option<Secret> {
        self.state.borrow().session_id().cloned()
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every change of state (creation, recreation with the new id, the
    /// end).
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.state.clone()
    }

    /// Waits until a session is live and gives its id; an error if the session ended first
    /// (failed, closed).
    pub async fn ready(&self) -> Result<Secret, SessionError> {
        let mut state = self.state.clone();
        let settled = state
            .wait_for(|state| {
                state.session_id().is_some() || SessionError::from_state(state).is_some()
            })
            .await;
        let Ok(settled) = settled else {
            return Err(SessionError::Interrupted);
        };
        match &*settled {
            SessionState::Live(id) => Ok(id.clone()),
            other => Err(SessionError::from_state(other).unwrap_or(SessionError::Interrupted)),
        }
    }

    /// Sends `request` under the current session: waits for a live session if there is none
    /// yet, adds the bearer token (renewed once on `401`) and `workbook-session-id`, reads the
    /// answer whole, and hands it to the session machine: a success counts as activity (so no
    /// refresh goes out while the caller keeps the session busy), an expiry answer starts a new
    /// session. The answer's [`outcome`](WorkbookAnswer::outcome) says what it meant.
    ///
    /// The request is sent once. After an expiry ([`WorkbookAnswer::should_resend`]) send it
    /// again: this call waits for the new session. Changes made in a non-persistent session
    /// are lost with it.
    pub async fn send(&self, request: WorkbookRequest) -> Result<WorkbookAnswer, CallError> {
        let url = request.url_under(&self.http.workbook)?;
        let call = self.begin_call().await?;
        let (status, headers, body) = self.http.exchange(&url, &request, &call).await?;
        let success = (200..300).contains(&status);
        // The machine reads only the status and, for errors, the body's codes.
        let response = Response {
            status,
            headers: Vec::new(),
            body: if success { Bytes::new() } else { body.clone() },
        };
        let (answered, outcome) = oneshot::channel();
        let handed = self.apply(move |machine, now| {
            let _ = answered.send(machine.handle_workbook_answer(now, &call, &response));
        });
        let outcome = match handed {
            Ok(()) => outcome.await.ok(),
            Err(_) => None,
        };
        // The session ended meanwhile: the answer stands, the session it used does not.
        let outcome = outcome.unwrap_or(if success {
            CallOutcome::Succeeded
        } else {
            CallOutcome::Stale
        });
        Ok(WorkbookAnswer {
            status,
            headers,
            body,
            outcome,
        })
    }

    /// Asks the machine for the session header, waiting while no session is usable.
    async fn begin_call(&self) -> Result<WorkbookCall, CallError> {
        let mut state = self.state.clone();
        loop {
            if let Some(error) = SessionError::from_state(&state.borrow_and_update()) {
                return Err(CallError::Session(error));
            }
            let (given, call) = oneshot::channel();
            self.apply(move |machine, now| {
                let _ = given.send(machine.begin_call(now));
            })
            .map_err(CallError::Session)?;
            match call.await {
                Ok(Some(call)) => return Ok(call),
                Ok(None) => {}
                Err(_) => return Err(CallError::Session(self.ended())),
            }
            // No usable session now (creating, recreating, closing): wait for the state to move.
            // A change between the check above and here is not missed: it is still unseen.
            if state.changed().await.is_err() {
                return Err(CallError::Session(self.ended()));
            }
        }
    }

    /// Runs `action` on the machine, on its task.
    fn apply(
        &self,
        action: impl FnOnce(&mut SessionMachine, resumable_core::time::Instant) + Send + 'static,
    ) -> Result<(), SessionError> {
        self.commands
            .send(Command::apply(action))
            .map_err(|_| self.ended())
    }

    /// Asks the machine to close the session (best effort: nothing happens if it has ended).
    pub(crate) fn request_close(&self) {
        self.state_sender.send_if_modified(|state| {
            let open = SessionError::from_state(state).is_none();
            if open {
                *state = SessionState::Closing;
            }
            open
        });
        let _ = self
            .commands
            .send(Command::apply(|machine: &mut SessionMachine, now| {
                machine.close(now);
            }));
    }

    /// Why the session can no longer serve requests.
    fn ended(&self) -> SessionError {
        SessionError::from_state(&self.state.borrow()).unwrap_or(SessionError::Interrupted)
    }
}

/// What sends the caller's requests: the API client, the tokens, the workbook URL and limits.
pub(crate) struct CallSender {
    pub(crate) client: reqwest::Client,
    pub(crate) tokens: Arc<dyn TokenProvider>,
    /// The workbook's base URL, without a trailing `/`.
    pub(crate) workbook: String,
    pub(crate) time_limit: Duration,
    pub(crate) max_answer_len: usize,
}

impl CallSender {
    /// Sends the request (again with a renewed token after a `401`) and reads the answer.
    async fn exchange(
        &self,
        url: &str,
        request: &WorkbookRequest,
        call: &WorkbookCall,
    ) -> Result<(u16, HeaderMap, Bytes), CallError> {
        let answer = self.send_once(url, request, call, false).await?;
        if answer.0 != 401 {
            return Ok(answer);
        }
        self.send_once(url, request, call, true).await
    }

    async fn send_once(
        &self,
        url: &str,
        request: &WorkbookRequest,
        call: &WorkbookCall,
        refresh_token: bool,
    ) -> Result<(u16, HeaderMap, Bytes), CallError> {
        let token = self
            .tokens
            .token(refresh_token)
            .await
            .map_err(CallError::Token)?;
        let mut headers = request.headers().clone();
        headers.remove(AUTHORIZATION);
        let session_header = HeaderName::from_static(SESSION_HEADER);
        headers.remove(&session_header);
        let mut session = HeaderValue::from_str(&call.header().value)
            .map_err(|_| CallError::InvalidRequest("the session id is not a valid header value"))?;
        session.set_sensitive(true);
        headers.insert(session_header, session);
        let mut builder = self
            .client
            .request(request.method().clone(), url)
            .headers(headers)
            .bearer_auth(token.expose());
        builder = match request.body() {
            Some(body) => builder.body(body.clone()),
            None if matches!(
                *request.method(),
                reqwest::Method::GET | reqwest::Method::DELETE
            ) =>
            {
                builder
            }
            // POST and PATCH without content still say so: Graph refuses them without a length.
            None => builder.header(CONTENT_LENGTH, 0).body(Bytes::new()),
        };
        let exchange = async {
            let answer = builder.send().await.map_err(transport)?;
            let status = answer.status().as_u16();
            let headers = answer.headers().clone();
            let body = read_whole(answer, self.max_answer_len).await?;
            Ok((status, headers, body))
        };
        match tokio::time::timeout(self.time_limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Transport {
                error: TransportError::Timeout,
                detail: format!("no answer within {} s", self.time_limit.as_secs_f64()),
            }),
        }
    }
}

/// Reads the whole answer, refusing one longer than `limit`.
async fn read_whole(mut answer: reqwest::Response, limit: usize) -> Result<Bytes, CallError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = answer.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > limit {
            return Err(CallError::AnswerTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn transport(error: reqwest::Error) -> CallError {
    CallError::Transport {
        error: classify(&error),
        detail: describe(&error),
    }
}
