//! The workbook-session state machine: create (at once or as a long-running operation), keep
//! alive, recreate after expiry, close.

use alloc::vec::Vec;

use bytes::Bytes;

use super::call::{CallOutcome, WorkbookCall};
use super::config::{ConfigError, WorkbookConfig};
use super::error::WorkbookError;
use super::event::{Creation, ExpiryReason, WorkbookEvent};
use super::graph_error::GraphError;
use super::keep_alive::KeepAlive;
use super::url::WorkbookUrl;
use crate::http::{Auth, Body, Header, Method, Request, RequestKind, Response, TransportError};
use crate::retry::Retrier;
use crate::secret::{Secret, SecretUrl};
use crate::session::ServerClock;
use crate::session::{Dialect, Driven, EventQueue, InFlight};
use crate::time::{Duration, Instant, WallClock};
use crate::wire::workbook_headers::SESSION_HEADER;

mod answers;

/// A Graph workbook session, sans IO: it says which requests to send and when, and reads their
/// answers. See the [module documentation](super) for the driver loop.
///
/// Methods, by role:
///
/// - getters: [`session_id`](Self::session_id), [`persist_changes`](Self::persist_changes),
///   [`header`](Self::header), [`next_refresh`](Self::next_refresh),
///   [`expires_at`](Self::expires_at), [`url`](Self::url), [`config`](Self::config);
/// - the caller's own requests: [`begin_call`](Self::begin_call),
///   [`handle_workbook_answer`](Self::handle_workbook_answer),
///   [`record_activity`](Self::record_activity);
/// - commands: [`close`](Self::close);
/// - the [`StateMachine`](crate::session::StateMachine) methods: `handle_*` feed answers and time, `poll_*` give the next
///   request, deadline and event.
///
/// At most one request of the machine's own is in flight at a time. After a `handle_*` call or a
/// command, drain `poll_request` and `poll_event`, then read `poll_timeout`.
#[derive(Debug)]
pub struct WorkbookSession {
    url: WorkbookUrl,
    config: WorkbookConfig,
    retrier: Retrier,
    /// The server's wall clock: places `Retry-After` dates.
    clock: ServerClock,
    phase: Phase,
    in_flight: InFlight<Sent>,
    /// The live session, if there is one.
    session: Option<LiveSession>,
    /// The creation in progress, if any.
    creation: Option<CreationRun>,
    /// `close` was called while no session existed yet: close the session as soon as it exists,
    /// or stop if none comes.
    close_requested: bool,
    /// Sessions created in a row after expiries, without one proving healthy.
    recreations_in_a_row: u32,
    /// Counts sessions, so answers to the caller's calls under an old session are recognised.
    generation: u64,
    events: EventQueue<WorkbookEvent>,
}

/// What the machine is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Send `createSession` at `at`.
    Create { at: Instant },
    /// Poll the long-running creation at `at`.
    Poll {
        operation: ServerUrl,
        at: Instant,
        /// Give up if still running at this instant.
        deadline: Instant,
    },
    /// Fetch the created session from the operation's `resourceLocation` at `at`.
    Fetch { resource: ServerUrl, at: Instant },
    /// A session is live; refresh it when the keep-alive says so.
    Live,
    /// Send `closeSession` at `at`.
    Close { at: Instant },
    /// Closed or failed; nothing more.
    Finished,
}

/// A URL the server named, with whether the bearer token may go there.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ServerUrl {
    url: SecretUrl,
    same_origin: bool,
}

/// What the machine's request in flight was for.
#[derive(Clone, Debug)]
pub struct Sent {
    kind: RequestKind,
    url: SecretUrl,
    sent_at: Instant,
}

/// The live session.
#[derive(Clone, Debug)]
struct LiveSession {
    id: Secret,
    persist_changes: bool,
    generation: u64,
    keep_alive: KeepAlive,
}

/// A creation in progress (first session or a replacement).
#[derive(Clone, Debug)]
struct CreationRun {
    /// The expired session this one replaces.
    replacing: Option<Secret>,
    how: Creation,
    /// The latest send time of a request whose answer showed no session existed yet. The new
    /// session's idle clock started no earlier, so the keep-alive counts from here.
    floor: Instant,
    /// Times this creation started over because its operation or session vanished.
    restarts: u32,
}

impl WorkbookSession {
    /// A machine that will create a session on the workbook at `url`, starting at `now`.
    ///
    /// ```
    /// use resumable_core::http::{Method, RequestKind};
    /// use resumable_core::session::StateMachine;
    /// use resumable_core::time::Instant;
    /// use resumable_core::workbook::{WorkbookConfig, WorkbookSession, WorkbookUrl};
    ///
    /// let url = WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook")?;
    /// let config = WorkbookConfig { respond_async: true, ..WorkbookConfig::new(false) };
    /// let mut session = WorkbookSession::create(url, config, Instant::ZERO)?;
    /// let create = session.poll_request(Instant::ZERO).unwrap();
    /// assert_eq!((create.kind, create.method), (RequestKind::CreateSession, Method::Post));
    /// assert!(create.url.expose().ends_with("/workbook/createSession"));
    /// assert_eq!(create.header("Prefer"), Some("respond-async"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(
        url: WorkbookUrl,
        config: WorkbookConfig,
        now: Instant,
    ) -> Result<WorkbookSession, ConfigError> {
        config.validate()?;
        let retrier = Retrier::new(config.retry, config.seed, now);
        Ok(WorkbookSession {
            url,
            config,
            retrier,
            clock: ServerClock::new(),
            phase: Phase::Create { at: now },
            in_flight: InFlight::new(),
            session: None,
            creation: Some(CreationRun {
                replacing: None,
                how: Creation::Immediate,
                floor: now,
                restarts: 0,
            }),
            close_requested: false,
            recreations_in_a_row: 0,
            generation: 0,
            events: EventQueue::new(),
        })
    }

    /// Gives the wall-clock time at an instant of the caller's monotonic clock. **A transport
    /// must call this** right after constructing the machine, with its own clock:
    /// `WallClock::new(now, UnixTime::from_system_time(SystemTime::now()))`.
    ///
    /// A `Retry-After` written as an HTTP-date is measured from the answer's `Date` header when
    /// it has one, else from the last `Date` seen, else from this anchor. With none of them the
    /// machine waits the longest `Retry-After` its policy accepts
    /// ([`RetryPolicy::max_retry_after`](crate::retry::RetryPolicy::max_retry_after)), so it
    /// never asks earlier than the server allowed.
    ///
    /// ```
    /// use resumable_core::time::{Instant, UnixTime, WallClock};
    /// use resumable_core::workbook::{WorkbookConfig, WorkbookSession, WorkbookUrl};
    /// let url = WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook")?;
    /// let now = Instant::ZERO;
    /// let mut session = WorkbookSession::create(url, WorkbookConfig::new(true), now)?;
    /// session.set_wall_clock(WallClock::new(now, UnixTime::from_system_time(std::time::SystemTime::now())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_wall_clock(&mut self, anchor: WallClock) {
        self.clock.set_anchor(anchor);
    }

    /// The workbook's base URL.
    pub fn url(&self) -> &WorkbookUrl {
        &self.url
    }

    /// The configuration in force.
    pub fn config(&self) -> &WorkbookConfig {
        &self.config
    }

    /// The live session's id; `None` while none is live (creating, recreating, closed, failed).
    pub fn session_id(&self) -> Option<&Secret> {
        self.live().map(|session| &session.id)
    }

    /// Whether the live session persists changes, as the server reported it.
    pub fn persist_changes(&self) -> Option<bool> {
        self.live().map(|session| session.persist_changes)
    }

    /// The `workbook-session-id` header for the caller's own workbook requests; `None` while no
    /// session is live. The value is marked sensitive, so it prints redacted. Prefer
    /// [`begin_call`](Self::begin_call), which also lets the machine count the request as
    /// activity and read its answer.
    pub fn header(&self) -> Option<Header> {
        self.live()
            .map(|session| Header::sensitive(SESSION_HEADER, session.id.expose()))
    }

    /// When the machine will next refresh the live session if the caller sends nothing.
    pub fn next_refresh(&self) -> Option<Instant> {
        self.live().map(|session| session.keep_alive.refresh_due())
    }

    /// When the live session would expire if nothing at all were sent: the inactivity limit
    /// after the last activity the machine knows of.
    pub fn expires_at(&self) -> Option<Instant> {
        self.live().map(|session| session.keep_alive.expiry())
    }

    /// Starts one of the caller's own workbook requests at `now`: gives the header to put on it.
    /// `None` while no session is usable (wait for `Created` or `Recreated`). Pass the call and
    /// the answer to [`handle_workbook_answer`](Self::handle_workbook_answer).
    pub fn begin_call(&self, now: Instant) -> Option<WorkbookCall> {
        if self.phase != Phase::Live {
            return None;
        }
        let session = self.session.as_ref()?;
        Some(WorkbookCall {
            header: Header::sensitive(SESSION_HEADER, session.id.expose()),
            generation: session.generation,
            sent_at: now,
        })
    }

    /// Reads the answer to one of the caller's own requests. A success counts as activity (no
    /// refresh is sent while the caller keeps the session busy); an expiry answer starts a new
    /// session; a final `invalidSession…` code stops the machine. The returned
    /// [`CallOutcome`] says what the caller should do with its request.
    pub fn handle_workbook_answer(
        &mut self,
        now: Instant,
        call: &WorkbookCall,
        response: &Response,
    ) -> CallOutcome {
        let success = (200..300).contains(&response.status);
        let current = self.phase == Phase::Live
            && self
                .session
                .as_ref()
                .is_some_and(|session| session.generation == call.generation);
        if !current {
            return if success {
                CallOutcome::Succeeded
            } else {
                CallOutcome::Stale
            };
        }
        if success {
            self.record_activity(call.sent_at);
            return CallOutcome::Succeeded;
        }
        let error = GraphError::from_body(&response.body);
        if let Some(code) = error.as_ref().and_then(GraphError::invalid_session_code) {
            return if code.allows_recreation() {
                self.begin_recreation(now, ExpiryReason::ReCreatable);
                CallOutcome::SessionExpired
            } else {
                let error = error.unwrap_or_default();
                self.fail(WorkbookError::SessionInvalid {
                    code: code.clone(),
                    error,
                });
                CallOutcome::SessionInvalid(code)
            };
        }
        if matches!(response.status, 404 | 410) {
            if let Some(session) = self.session.as_mut() {
                session.keep_alive.check_now();
            }
            return CallOutcome::Checking;
        }
        CallOutcome::NotSessionRelated
    }

    /// Counts activity on the live session at `sent_at`: one of the caller's requests, sent then,
    /// got a successful answer. Use this when not going through
    /// [`begin_call`](Self::begin_call); pass the *send* time, since the server's idle clock
    /// restarted no earlier. Ignored while no session is live.
    pub fn record_activity(&mut self, sent_at: Instant) {
        if !matches!(self.phase, Phase::Live | Phase::Close { .. }) {
            return;
        }
        if let Some(session) = self.session.as_mut() {
            session.keep_alive.record(sent_at);
            // A session that serves the caller's requests is healthy.
            self.recreations_in_a_row = 0;
        }
    }

    /// Closes the session: `closeSession` goes out at once (a refresh in flight is abandoned).
    /// While the session is still being created, a pending `createSession` or resource fetch is
    /// awaited and the session it yields is closed; a long-running operation still being polled
    /// is abandoned (a session it creates later expires on its own). Ends with
    /// [`WorkbookEvent::Closed`]. Does nothing once closing or finished.
    pub fn close(&mut self, now: Instant) {
        match self.phase {
            Phase::Finished | Phase::Close { .. } => {}
            Phase::Live => {
                self.in_flight.clear();
                self.phase = Phase::Close { at: now };
            }
            Phase::Create { .. } | Phase::Fetch { .. } if !self.in_flight.is_empty() => {
                self.close_requested = true;
            }
            Phase::Fetch { .. } => self.close_requested = true,
            Phase::Create { .. } | Phase::Poll { .. } => {
                self.finish(WorkbookEvent::Closed { session_id: None });
            }
        }
    }

    fn live(&self) -> Option<&LiveSession> {
        match self.phase {
            Phase::Live | Phase::Close { .. } => self.session.as_ref(),
            _ => None,
        }
    }

    /// Stops with `event` (closed or failed).
    fn finish(&mut self, event: WorkbookEvent) {
        self.phase = Phase::Finished;
        self.in_flight.clear();
        self.session = None;
        self.creation = None;
        self.events.push(event);
    }

    fn fail(&mut self, error: WorkbookError) {
        self.finish(WorkbookEvent::Failed(error));
    }

    /// The server says the live session is gone: report it and create a replacement, within the
    /// recreation budget.
    fn begin_recreation(&mut self, now: Instant, reason: ExpiryReason) {
        let Some(old) = self.session.take() else {
            return;
        };
        // A refresh in flight was about the old session; its answer no longer matters.
        self.in_flight.clear();
        self.events.push(WorkbookEvent::Expired {
            session_id: old.id.clone(),
            reason,
        });
        if self.recreations_in_a_row >= self.config.max_recreations {
            self.fail(WorkbookError::RecreationBudgetExhausted {
                recreations: self.recreations_in_a_row,
            });
            return;
        }
        self.recreations_in_a_row += 1;
        self.creation = Some(CreationRun {
            replacing: Some(old.id),
            how: Creation::Immediate,
            floor: now,
            restarts: 0,
        });
        self.phase = Phase::Create { at: now };
    }

    /// The request the current phase wants at `now`, if one is due.
    fn due_request(&self, now: Instant) -> Option<(RequestKind, Method, SecretUrl, Auth)> {
        let bearer_if = |same_origin: bool| {
            if same_origin {
                Auth::Bearer
            } else {
                Auth::None
            }
        };
        match &self.phase {
            Phase::Create { at } if now >= *at => Some((
                RequestKind::CreateSession,
                Method::Post,
                SecretUrl::new(self.url.create_session()),
                Auth::Bearer,
            )),
            Phase::Poll { operation, at, .. } if now >= *at => Some((
                RequestKind::PollOperation,
                Method::Get,
                operation.url.clone(),
                bearer_if(operation.same_origin),
            )),
            Phase::Fetch { resource, at } if now >= *at => Some((
                RequestKind::FetchResource,
                Method::Get,
                resource.url.clone(),
                bearer_if(resource.same_origin),
            )),
            Phase::Live => {
                let session = self.session.as_ref()?;
                (now >= session.keep_alive.refresh_due()).then(|| {
                    (
                        RequestKind::Refresh,
                        Method::Post,
                        SecretUrl::new(self.url.refresh_session()),
                        Auth::Bearer,
                    )
                })
            }
            Phase::Close { at } if now >= *at => Some((
                RequestKind::Close,
                Method::Post,
                SecretUrl::new(self.url.close_session()),
                Auth::Bearer,
            )),
            _ => None,
        }
    }

    fn create_body(&self) -> Body {
        Body::Json(Bytes::from_static(if self.config.persist_changes {
            br#"{"persistChanges":true}"#
        } else {
            br#"{"persistChanges":false}"#
        }))
    }
}

impl Dialect for WorkbookSession {
    type Event = WorkbookEvent;
    type Sent = Sent;

    fn in_flight(&mut self) -> &mut InFlight<Sent> {
        &mut self.in_flight
    }

    fn events(&mut self) -> &mut EventQueue<WorkbookEvent> {
        &mut self.events
    }

    fn has_ended(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Answers to requests the machine has abandoned (a refresh overtaken by `close` or by an
    /// expiry) never get here: nothing depends on them any more.
    fn on_answer(&mut self, now: Instant, flight: Sent, response: Response) {
        self.clock.observe(now, &response);
        match flight.kind {
            RequestKind::CreateSession => self.on_create_answer(now, &flight, &response),
            RequestKind::PollOperation => self.on_poll_answer(now, &flight, &response),
            RequestKind::FetchResource => self.on_fetch_answer(now, &flight, &response),
            RequestKind::Refresh => self.on_refresh_answer(now, &flight, &response),
            RequestKind::Close => self.on_close_answer(now, &flight, &response),
            _ => {}
        }
    }

    fn on_no_answer(&mut self, now: Instant, flight: Sent, error: TransportError) {
        self.on_transport_error(now, &flight, error);
    }

    /// Requests fall due by time and `next_request` hands them out; the one deadline enforced
    /// here is the limit on a long-running creation.
    fn on_timers(&mut self, now: Instant) {
        if let Phase::Poll { deadline, .. } = self.phase
            && self.in_flight.is_empty()
            && now >= deadline
        {
            self.fail(WorkbookError::CreationTimedOut {
                waited: self.config.max_creation_wait,
            });
        }
    }

    fn next_request(&mut self, now: Instant) -> Option<Request> {
        if !self.in_flight.is_empty() {
            return None;
        }
        let (kind, method, url, auth) = self.due_request(now)?;
        let mut headers = Vec::new();
        let mut body = Body::Empty;
        match kind {
            RequestKind::CreateSession => {
                if self.config.respond_async {
                    headers.push(Header::new("Prefer", "respond-async"));
                }
                body = self.create_body();
                if let Some(creation) = self.creation.as_mut() {
                    creation.floor = now;
                }
            }
            RequestKind::Refresh | RequestKind::Close => {
                let session = self.session.as_ref()?;
                headers.push(Header::sensitive(SESSION_HEADER, session.id.expose()));
            }
            _ => {}
        }
        let id = self.in_flight.issue(Sent {
            kind,
            url: url.clone(),
            sent_at: now,
        });
        Some(Request {
            id,
            kind,
            method,
            url,
            headers,
            auth,
            body,
        })
    }

    fn next_timer(&self) -> Option<Instant> {
        if !self.in_flight.is_empty() {
            return None;
        }
        match &self.phase {
            Phase::Create { at } | Phase::Fetch { at, .. } | Phase::Close { at } => Some(*at),
            Phase::Poll { at, deadline, .. } => Some((*at).min(*deadline)),
            Phase::Live => self.next_refresh(),
            Phase::Finished => None,
        }
    }
}

/// The time limit of the machine's requests other than refreshes. A `createSession` without
/// `Prefer: respond-async` is held open while the service creates the session, which can take a
/// while on a large workbook; the gateway answers `504` long before this.
pub const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(120);

/// The shortest time limit of a refresh, whatever the (scaled) inactivity limit.
const MIN_REFRESH_TIME_LIMIT: Duration = Duration::from_millis(250);

impl Driven for WorkbookSession {
    /// A refresh gets the safety margin of its schedule: it was sent that long before the
    /// assumed expiry, so an answer later than that comes too late to matter, while giving up
    /// then lets the retry go out on a new connection before the server's clock runs out. Every
    /// other request gets two minutes.
    fn time_limit(&self, request: &Request) -> Duration {
        if request.kind != RequestKind::Refresh {
            return REQUEST_TIME_LIMIT;
        }
        let config = self.config();
        let persist = self.persist_changes().unwrap_or(config.persist_changes);
        let margin = config
            .inactivity
            .limit_for(persist)
            .saturating_sub(config.refresh_interval(persist));
        margin.clamp(MIN_REFRESH_TIME_LIMIT, REQUEST_TIME_LIMIT)
    }

    /// The caller went away: close the session rather than leave it to expire.
    fn abandon(&mut self, now: Instant) -> bool {
        self.close(now);
        true
    }
}

#[cfg(test)]
mod tests;
