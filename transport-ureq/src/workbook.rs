//! Graph workbook sessions, blocking: opened, kept alive by a thread of their own, replaced when
//! the service drops them, closed on request or on drop.
//!
//! [`WorkbookSession`] is the handle. Its thread drives the core's sans-IO
//! [`WorkbookSession`](resumable_core::workbook::WorkbookSession) machine through the same
//! driver loop as uploads: `createSession` (a `202` polled to success), `refreshSession` when
//! the session has been idle for the inactivity limit less a margin, a new session after an
//! expiry, `closeSession` at the end. The caller's own requests go through
//! [`WorkbookSession::send`], on the caller's thread: it adds the token and
//! `workbook-session-id`, and hands the answer to the machine, so a busy session is never
//! refreshed and an expiry answer starts a new session at once.
//!
//! ```no_run
//! use resumable_core::secret::Secret;
//! use resumable_core::workbook::{WorkbookConfig, WorkbookUrl};
//! use resumable_ureq::workbook::{WorkbookRequest, WorkbookSession};
//!
//! let url = WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook")?;
//! let mut session = WorkbookSession::builder(url)
//!     .config(WorkbookConfig::new(true))
//!     .token(Secret::new("eyJ0eXAi..."))
//!     .on_event(|event| eprintln!("{}", event.name()))
//!     .open()?;
//! session.ready()?; // created (a 202 is polled to success)
//! let sheets = session.send(WorkbookRequest::get("worksheets"))?;
//! println!("{}", sheets.json()?["value"][0]["name"]);
//! // ... minutes of other work: the session's thread refreshes it meanwhile ...
//! session.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use resumable_core::digest::HashKinds;
use resumable_core::http::{Response, TransportError};
use resumable_core::secret::Secret;
use resumable_core::session::StateMachine;
use resumable_core::time::Instant;
use resumable_core::wire::workbook_headers::SESSION_HEADER;
use resumable_core::workbook::{
    CallOutcome, ConfigError, REQUEST_TIME_LIMIT, WorkbookCall, WorkbookConfig, WorkbookError,
    WorkbookEvent, WorkbookSession as Machine, WorkbookUrl,
};
use ureq::http;

use crate::clock::Clock;
use crate::driver::{Action, Command, DriveEnd, WhenAlone, drive};
use crate::exchange::{Exchange, Timeouts, agent, classify, run};
use resumable_io::source::BytesSource;

/// The longest answer to a caller's request that is read: a large range read is a few
/// megabytes; more than this is a runaway answer.
const MAX_ANSWER_LEN: u64 = 64 << 20;

/// Called with every event, on the session's thread.
pub(crate) type EventCallback = Box<dyn FnMut(&WorkbookEvent) + Send>;

/// Configures and opens a [`WorkbookSession`]; made by [`WorkbookSession::builder`].
pub struct WorkbookSessionBuilder {
    url: WorkbookUrl,
    config: WorkbookConfig,
    token: Option<Secret>,
    timeouts: Timeouts,
    callback: Option<EventCallback>,
}

impl fmt::Debug for WorkbookSessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkbookSessionBuilder")
            .field("url", &self.url)
            .field("config", &self.config)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl WorkbookSessionBuilder {
    /// The session's configuration: persistent or not, `Prefer: respond-async`, the inactivity
    /// limits the keep-alive is scheduled from, polling, retries.
    pub fn config(mut self, config: WorkbookConfig) -> Self {
        self.config = config;
        self
    }

    /// The bearer token every request of the session carries.
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// The connect and idle limits.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Calls `callback` with every event, on the session's thread.
    pub fn on_event(mut self, callback: impl FnMut(&WorkbookEvent) + Send + 'static) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// Starts the session's thread and returns the handle at once; the session is created in
    /// the background ([`WorkbookSession::ready`] waits for it).
    pub fn open(self) -> Result<WorkbookSession, OpenError> {
        let token = self.token.ok_or(OpenError::NoToken)?;
        let clock = Clock::new();
        let mut machine = Machine::create(self.url.clone(), self.config, clock.now())
            .map_err(OpenError::Config)?;
        machine.set_wall_clock(clock.wall_clock());
        let agent = agent(self.timeouts);
        // Session requests carry JSON or nothing: the exchange never reads its source.
        let exchange = Exchange::new(
            agent.clone(),
            Some(token.clone()),
            Arc::new(BytesSource::new(Vec::new())),
            HashKinds::CHEAP,
        );
        let shared = Arc::new(Shared::default());
        let (commands, receiver) = channel();
        let thread = {
            let shared = shared.clone();
            let mut callback = self.callback;
            std::thread::Builder::new()
                .name("workbook-session".into())
                .spawn(move || {
                    let mut exchange = exchange;
                    let end = drive(
                        &mut machine,
                        &mut exchange,
                        &clock,
                        &receiver,
                        WhenAlone::Abandon,
                        |_: &mut Machine, event: WorkbookEvent| {
                            if let Some(next) = SessionState::after(&event) {
                                shared.set(next);
                            }
                            if let Some(callback) = callback.as_mut() {
                                callback(&event);
                            }
                        },
                    );
                    if end != DriveEnd::Finished || !machine.is_finished() {
                        shared.end_if_open(SessionState::Interrupted);
                    }
                })
                .map_err(OpenError::Thread)?
        };
        Ok(WorkbookSession {
            url: self.url,
            shared,
            commands,
            thread: Some(thread),
            agent,
            token,
        })
    }
}

/// An open Graph workbook session, kept alive by a thread of its own.
///
/// One request goes at a time per thread: the session's own (create, poll, refresh, close) on
/// its thread, each of the caller's on the caller's. Dropping the handle closes the session and
/// waits for `closeSession`.
pub struct WorkbookSession {
    url: WorkbookUrl,
    shared: Arc<Shared>,
    commands: Sender<Command<Machine>>,
    thread: Option<JoinHandle<()>>,
    agent: ureq::Agent,
    token: Secret,
}

impl fmt::Debug for WorkbookSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkbookSession")
            .field("url", &self.url)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl WorkbookSession {
    /// Configures a session on the workbook at `url` (`…/items/{id}/workbook`).
    pub fn builder(url: WorkbookUrl) -> WorkbookSessionBuilder {
        WorkbookSessionBuilder {
            url,
            config: WorkbookConfig::default(),
            token: None,
            timeouts: Timeouts::default(),
            callback: None,
        }
    }

    /// The workbook's URL.
    pub fn url(&self) -> &WorkbookUrl {
        &self.url
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.shared.lock().1.clone()
    }

    /// The live session's id; `None` while one is being created or recreated, and after the
    /// end. It changes when a new session replaces an expired one.
    pub fn session_id(&self) -> Option<Secret> {
        self.state().session_id().cloned()
    }

    /// Waits until a session is live and gives its id; an error if the session ended first (a
    /// failed creation carries the service's codes).
    pub fn ready(&self) -> Result<Secret, SessionError> {
        let mut guard = self.shared.lock();
        loop {
            if let Some(id) = guard.1.session_id() {
                return Ok(id.clone());
            }
            if let Some(error) = SessionError::from_state(&guard.1) {
                return Err(error);
            }
            guard = self.shared.wait(guard);
        }
    }

    /// Sends one of the caller's requests under the session: waits for a live session if there
    /// is none yet, adds the bearer token and `workbook-session-id`, reads the answer whole and
    /// hands it to the machine (a success counts as activity; an expiry answer starts a new
    /// session). The answer's [`outcome`](WorkbookAnswer::outcome) says what it meant; after an
    /// expiry ([`WorkbookAnswer::should_resend`]) send the request again.
    pub fn send(&self, request: WorkbookRequest) -> Result<WorkbookAnswer, CallError> {
        let url = request.url_under(self.url.as_str())?;
        let call = self.begin_call()?;
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = builder
            .header("Authorization", format!("Bearer {}", self.token.expose()))
            .header(SESSION_HEADER, call.header().value.as_str());
        let body = request.body.clone().unwrap_or_default();
        if request.body.is_some() || request.method != http::Method::GET {
            // POST and PATCH without content still say so: Graph refuses them without a length.
            builder = builder.header("Content-Length", body.len());
        }
        let sent = if request.body.is_some() || request.method != http::Method::GET {
            run(
                &self.agent,
                builder.body(&body[..]),
                REQUEST_TIME_LIMIT,
                MAX_ANSWER_LEN,
            )
        } else {
            run(
                &self.agent,
                builder.body(()),
                REQUEST_TIME_LIMIT,
                MAX_ANSWER_LEN,
            )
        };
        let answer = sent.map_err(|error| {
            let (error, detail) = classify(&error, REQUEST_TIME_LIMIT);
            CallError::Transport { error, detail }
        })?;
        let success = (200..300).contains(&answer.status);
        // The machine reads only the status and, for errors, the body's codes.
        let seen = Response {
            status: answer.status,
            headers: Vec::new(),
            body: if success {
                Default::default()
            } else {
                answer.body.clone()
            },
        };
        let outcome = self
            .ask(move |machine, now| machine.handle_workbook_answer(now, &call, &seen))
            // The session ended meanwhile: the answer stands, the session it used does not.
            .unwrap_or(if success {
                CallOutcome::Succeeded
            } else {
                CallOutcome::Stale
            });
        Ok(WorkbookAnswer {
            status: answer.status,
            headers: answer.headers,
            body: answer.body.to_vec(),
            outcome,
        })
    }

    /// Closes the session (`closeSession`) and waits for its thread to end. `Ok` if the session
    /// closed (or none had been created yet); the error that stopped it otherwise.
    pub fn close(&mut self) -> Result<(), SessionError> {
        self.request_close();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            return Err(SessionError::Interrupted);
        }
        match self.state() {
            SessionState::Closed => Ok(()),
            other => Err(SessionError::from_state(&other).unwrap_or(SessionError::Interrupted)),
        }
    }

    fn request_close(&self) {
        self.shared.end_if_open(SessionState::Closing);
        let close: Action<Machine> = Box::new(|machine, now| machine.close(now));
        let _ = self.commands.send(Command::Apply(close));
    }

    /// The machine's header for a call, waiting while no session is usable.
    fn begin_call(&self) -> Result<WorkbookCall, CallError> {
        loop {
            let seen = {
                let guard = self.shared.lock();
                if let Some(error) = SessionError::from_state(&guard.1) {
                    return Err(CallError::Session(error));
                }
                guard.0
            };
            let call = self
                .ask(|machine, now| machine.begin_call(now))
                .ok_or_else(|| CallError::Session(self.ended()))?;
            if let Some(call) = call {
                return Ok(call);
            }
            // No usable session now (creating, recreating): wait for the state to move. A change
            // since `seen` is not missed: the wait returns at once.
            let mut guard = self.shared.lock();
            while guard.0 == seen {
                guard = self.shared.wait(guard);
            }
        }
    }

    /// Runs `question` on the machine, on its thread, and gives its answer; `None` if the
    /// thread has ended.
    fn ask<T: Send + 'static>(
        &self,
        question: impl FnOnce(&mut Machine, Instant) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = channel();
        let action: Action<Machine> = Box::new(move |machine, now| {
            let _ = reply.send(question(machine, now));
        });
        self.commands.send(Command::Apply(action)).ok()?;
        answer.recv().ok()
    }

    fn ended(&self) -> SessionError {
        SessionError::from_state(&self.state()).unwrap_or(SessionError::Interrupted)
    }
}

impl Drop for WorkbookSession {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.request_close();
            let _ = thread.join();
        }
    }
}

/// The state, with a counter of its changes, and the condition callers wait on.
#[derive(Default)]
struct Shared {
    state: Mutex<(u64, SessionState)>,
    changed: Condvar,
}

type Guard<'a> = std::sync::MutexGuard<'a, (u64, SessionState)>;

impl Shared {
    fn lock(&self) -> Guard<'_> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: Guard<'a>) -> Guard<'a> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, state: SessionState) {
        let mut guard = self.lock();
        guard.0 += 1;
        guard.1 = state;
        self.changed.notify_all();
    }

    /// Moves to `state` unless the session has ended or is closing.
    fn end_if_open(&self, state: SessionState) {
        let mut guard = self.lock();
        if SessionError::from_state(&guard.1).is_none() {
            guard.0 += 1;
            guard.1 = state;
            self.changed.notify_all();
        }
    }
}

/// Where a [`WorkbookSession`] stands. Session ids print redacted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// The first session is being created.
    #[default]
    Creating,
    /// A session is live; workbook requests go out under this id.
    Live(Secret),
    /// The service dropped the session; a replacement is being created.
    Recreating,
    /// `closeSession` is on its way (or will be, once a session being created exists).
    Closing,
    /// Closed, or abandoned before a session existed.
    Closed,
    /// The machine stopped with this error.
    Failed(WorkbookError),
    /// The session's thread ended without a last word.
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

    /// The state after `event`, or `None` if the event does not change it.
    fn after(event: &WorkbookEvent) -> Option<SessionState> {
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

/// Why a session could not serve a request or did not close cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The machine stopped with this error (a failed creation names the service's codes).
    Failed(WorkbookError),
    /// The session was closed (or is closing): open a new one to go on.
    Closed,
    /// The session's thread ended without a last word.
    Interrupted,
}

impl SessionError {
    fn from_state(state: &SessionState) -> Option<SessionError> {
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
            SessionError::Closed => {
                f.write_str("the workbook session is closed; open a new one to go on")
            }
            SessionError::Interrupted => f.write_str(
                "the workbook session's thread ended without closing the session; open a new one",
            ),
        }
    }
}

impl std::error::Error for SessionError {}

/// Why a session could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// No token: every workbook request needs a bearer token.
    NoToken,
    /// The configuration cannot work (a zero inactivity limit or poll interval).
    Config(ConfigError),
    /// The session's thread could not start.
    Thread(io::Error),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NoToken => f.write_str(
                "opening a workbook session needs an access token; give one with .token(...)",
            ),
            OpenError::Config(error) => write!(f, "invalid workbook session settings: {error}"),
            OpenError::Thread(error) => {
                write!(f, "could not start the workbook session's thread: {error}")
            }
        }
    }
}

impl std::error::Error for OpenError {}

/// One of the caller's workbook requests, its path relative to the workbook URL:
/// `worksheets`, `worksheets/Sheet1/range(address='A1:B2')`, `tables/Table1/rows/add`.
///
/// ```
/// use resumable_ureq::workbook::WorkbookRequest;
/// let write = WorkbookRequest::patch("worksheets/Sheet1/range(address='A1')")
///     .json(&serde_json::json!({ "values": [[42]] }));
/// assert_eq!((write.method(), write.path()), ("PATCH", "worksheets/Sheet1/range(address='A1')"));
/// ```
#[derive(Clone, Debug)]
pub struct WorkbookRequest {
    method: http::Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl WorkbookRequest {
    fn new(method: http::Method, path: impl Into<String>) -> Self {
        WorkbookRequest {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        WorkbookRequest::new(http::Method::GET, path)
    }

    /// `POST path`.
    pub fn post(path: impl Into<String>) -> Self {
        WorkbookRequest::new(http::Method::POST, path)
    }

    /// `PATCH path`.
    pub fn patch(path: impl Into<String>) -> Self {
        WorkbookRequest::new(http::Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        WorkbookRequest::new(http::Method::DELETE, path)
    }

    /// Adds a header. `Authorization` and `workbook-session-id` are the session's own and are
    /// not taken from here.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if !name.eq_ignore_ascii_case("authorization") && !name.eq_ignore_ascii_case(SESSION_HEADER)
        {
            self.headers.push((name, value.into()));
        }
        self
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        self.body = Some(value.to_string().into_bytes());
        self.header("Content-Type", "application/json")
    }

    /// The method's name.
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    /// The path under the workbook URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The absolute URL under `workbook`, or why there is none: requests go only under the
    /// workbook, so the token never leaves its origin.
    fn url_under(&self, workbook: &str) -> Result<String, CallError> {
        let path = self.path.trim_start_matches('/');
        if path.contains("://") || path.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(CallError::InvalidRequest(
                "the path must be relative to the workbook URL, without spaces",
            ));
        }
        let workbook = workbook.trim_end_matches('/');
        Ok(if path.is_empty() {
            workbook.to_owned()
        } else {
            format!("{workbook}/{path}")
        })
    }
}

/// The answer to one of the caller's requests, read whole, with what it means for the session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkbookAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers, names as received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// What the answer means for the session.
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

    /// Whether the request should be sent again under the new session.
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
    /// The request was sent but no whole answer came; the server may or may not have acted on
    /// it. `detail` never contains the URL.
    Transport {
        /// What kind of failure.
        error: TransportError,
        /// What went wrong.
        detail: String,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Session(error) => write!(f, "{error}"),
            CallError::InvalidRequest(why) => write!(f, "invalid workbook request: {why}"),
            CallError::Transport { error, detail } => write!(
                f,
                "the workbook request got no answer ({error}: {detail}); check the connection and send it again"
            ),
        }
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook";

    #[test]
    fn paths_resolve_under_the_workbook_only() {
        let url = |path: &str| WorkbookRequest::get(path).url_under(BOOK);
        assert_eq!(url("worksheets").unwrap(), format!("{BOOK}/worksheets"));
        assert_eq!(url("/tables/T1").unwrap(), format!("{BOOK}/tables/T1"));
        assert_eq!(url("").unwrap(), BOOK);
        for bad in ["https://evil.example/steal", "a b", "x\ny"] {
            assert!(
                matches!(url(bad), Err(CallError::InvalidRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_sessions_own_headers_are_not_taken_from_the_caller() {
        let request = WorkbookRequest::get("x")
            .header("Authorization", "Bearer stolen")
            .header("workbook-session-id", "other")
            .header("If-Match", "*");
        assert_eq!(request.headers, [("If-Match".into(), "*".into())]);
    }

    #[test]
    fn states_follow_events_and_ids_stay_hidden() {
        let live = SessionState::after(&WorkbookEvent::Created {
            session_id: Secret::new("s-1"),
            persist_changes: true,
            how: resumable_core::workbook::Creation::Immediate,
        })
        .unwrap();
        assert_eq!(live.session_id().map(Secret::expose), Some("s-1"));
        assert!(!format!("{live:?}").contains("s-1"));
        assert_eq!(SessionError::from_state(&live), None);
        assert_eq!(
            SessionError::from_state(&SessionState::Closing),
            Some(SessionError::Closed)
        );
    }
}
