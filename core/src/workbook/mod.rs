//! Graph workbook sessions: create one (at once or as a long-running operation), keep it alive
//! while the caller works, replace it when the service drops it, close it.
//!
//! A workbook session makes a series of Excel API calls cheap and consistent. A *persistent*
//! session (`persistChanges: true`) saves changes to the workbook; a *non-persistent* one works
//! on a temporary copy that is thrown away with the session. The service drops a session after a
//! few minutes without requests, so a client that holds one must refresh it, and must be ready
//! to create a new one when the service says the old one is gone. No official SDK does either;
//! [`WorkbookSession`] does, sans IO, with the same driver loop as every machine in this crate.
//!
//! ## Life of a session
//!
//! 1. **Create**: `POST {workbook}/createSession` with `{"persistChanges": ...}` and, if
//!    [`WorkbookConfig::respond_async`], `Prefer: respond-async`. `201` gives the session at once.
//!    `202` with `Location` starts a long-running operation: the machine polls it (every
//!    [`WorkbookConfig::poll_interval`], at most [`MAX_POLL_INTERVAL`] and at most the refresh
//!    interval, since the session may be born right after a poll; but never earlier than a
//!    `Retry-After` asks, however long), stops at the first `succeeded`/`Completed`, and fetches the
//!    session from `resourceLocation`. A `failed` operation answers HTTP 200: the machine reads
//!    the body and fails with its code, message and inner codes. `504` (and the other retryable
//!    answers of SPEC section 4: `429`, `5xx`, no answer) repeat the request within the
//!    [`RetryPolicy`](crate::retry::RetryPolicy); `Retry-After` is never undercut.
//! 2. **Live**: the caller puts [`WorkbookSession::header`] (`workbook-session-id`) on its own
//!    workbook requests, best through [`WorkbookSession::begin_call`] and
//!    [`WorkbookSession::handle_workbook_answer`], which count each successful call as activity.
//!    The machine sends `refreshSession` when the session has been idle for the assumed
//!    inactivity limit minus a safety margin ([`WorkbookConfig::refresh_interval`]), so a busy
//!    session is never refreshed and an idle one never lapses. A refresh that fails transiently
//!    is retried before the assumed expiry.
//! 3. **Expiry**: a `404`, or the code `invalidSessionReCreatable`, on a refresh or on one of the
//!    caller's calls means the session is gone: the machine reports
//!    [`WorkbookEvent::Expired`], creates a new session and reports
//!    [`WorkbookEvent::Recreated`] with the old and new ids (within
//!    [`WorkbookConfig::max_recreations`]). Every other `invalidSession…` code stops the machine
//!    with an error that names it ([`WorkbookError::SessionInvalid`]).
//! 4. **Close**: [`WorkbookSession::close`] sends `closeSession`; [`WorkbookEvent::Closed`] ends
//!    the machine.
//!
//! ## URLs
//!
//! The caller gives the workbook's base URL ([`WorkbookUrl`]: `…/items/{id}/workbook` or
//! `…/root:/{path}:/workbook`); the machine derives `createSession`, `refreshSession` and
//! `closeSession` from it. The operation and session URLs come from the server (`Location`,
//! `resourceLocation`); relative ones are resolved against the URL of the request they answered,
//! as RFC 3986 says. The bearer token only goes to the base URL's origin: a request to a URL on
//! another origin carries [`Auth::None`](crate::http::Auth::None), as HTTP clients drop
//! `Authorization` on a cross-origin redirect.
//!
//! ## Time
//!
//! Activity is counted from when a request was *sent*: the server saw it no earlier, so the
//! machine's idea of the expiry is never later than the server's. After a long-running creation
//! the new session's idle clock is counted from the last poll that still said "running".
//!
//! A `Retry-After` given as an HTTP-date is measured from the answer's `Date`, else from the
//! wall clock the transport gives with [`WorkbookSession::set_wall_clock`] (a transport must),
//! else the machine waits the longest `Retry-After` its policy accepts.
//!
//! ## The driver loop
//!
//! A program that opens a persistent session with `Prefer: respond-async`, reads a range every
//! ten minutes and closes the session after half an hour. The `send` function stands in for the
//! HTTP client (a real transport attaches `Authorization: Bearer …` when
//! [`Request::auth`](crate::http::Request::auth) asks for it); the clock jumps to each deadline,
//! where a real program would sleep.
//!
//! ```
//! use resumable_core::http::{Request, RequestKind, Response};
//! use resumable_core::session::StateMachine;
//! use resumable_core::time::{Duration, Instant, UnixTime, WallClock};
//! use std::time::SystemTime;
//! use resumable_core::workbook::{
//!     CallOutcome, Creation, WorkbookConfig, WorkbookEvent, WorkbookSession, WorkbookUrl,
//! };
//!
//! /// A workbook service that creates sessions as a long-running operation.
//! fn send(request: &Request) -> Response {
//!     match request.kind {
//!         RequestKind::CreateSession => {
//!             Response::new(202).with_header("Location", "operations/op-1")
//!         }
//!         RequestKind::PollOperation => Response::new(200).with_body(
//!             r#"{"id":"op-1","status":"succeeded","resourceLocation":"sessions/1"}"#,
//!         ),
//!         RequestKind::FetchResource => {
//!             Response::new(200).with_body(r#"{"id":"session-1","persistChanges":true}"#)
//!         }
//!         RequestKind::Refresh | RequestKind::Close => Response::new(204),
//!         _ => Response::new(400),
//!     }
//! }
//!
//! let url = WorkbookUrl::new("https://graph.microsoft.com/v1.0/me/drive/items/01AB/workbook")?;
//! let config = WorkbookConfig { respond_async: true, ..WorkbookConfig::new(true) };
//! let mut now = Instant::ZERO;
//! let mut session = WorkbookSession::create(url, config, now)?;
//! session.set_wall_clock(WallClock::new(now, UnixTime::from_system_time(SystemTime::now())));
//! let close_at = now + Duration::from_secs(30 * 60);
//! let mut next_read = now + Duration::from_secs(10 * 60);
//! let mut refreshes = 0;
//! let mut reads = 0;
//!
//! while !session.is_finished() {
//!     // 1. Send every request that is due and feed each answer back.
//!     while let Some(request) = session.poll_request(now) {
//!         let answer = send(&request);
//!         session.handle_response(now, request.id, answer);
//!     }
//!     // 2. Act on the events.
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             WorkbookEvent::Created { how, .. } => assert_eq!(how, Creation::LongRunning),
//!             WorkbookEvent::Refreshed { .. } => refreshes += 1,
//!             WorkbookEvent::Failed(error) => return Err(error.into()),
//!             _ => {}
//!         }
//!     }
//!     // 3. The program's own work, under the session header.
//!     if now >= next_read {
//!         if let Some(call) = session.begin_call(now) {
//!             assert_eq!(call.header().name, "workbook-session-id");
//!             // ... send GET {workbook}/worksheets/Sheet1/range(address='A1:B2') with it ...
//!             let answer = Response::new(200).with_body(r#"{"values":[[1,2],[3,4]]}"#);
//!             assert_eq!(session.handle_workbook_answer(now, &call, &answer), CallOutcome::Succeeded);
//!             reads += 1;
//!         }
//!         next_read = now + Duration::from_secs(10 * 60);
//!     }
//!     if now >= close_at {
//!         session.close(now);
//!         continue;
//!     }
//!     // 4. Sleep until the machine's deadline, the next read or the end, whichever is first.
//!     let wake = session.poll_timeout().unwrap_or(Instant::MAX).min(next_read).min(close_at);
//!     now = wake.max(now);
//!     session.handle_timeout(now);
//! }
//! assert_eq!(session.poll_event(), None);
//! // Reads at 10, 20 and 30 minutes; refreshes after each 4 idle minutes in between (at 4, 8,
//! // 14, 18, 24 and 28 minutes), none while the reads keep the session busy.
//! assert_eq!((reads, refreshes), (3, 6));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod call;
mod config;
mod error;
mod event;
mod graph_error;
mod invalid_session;
mod keep_alive;
mod operation;
mod session;
mod session_info;
mod url;

pub use call::{CallOutcome, WorkbookCall};
pub use config::{ConfigError, InactivityLimits, LimitBasis, MAX_POLL_INTERVAL, WorkbookConfig};
pub use error::{AnswerProblem, RetryCause, WorkbookError};
pub use event::{Creation, ExpiryReason, WorkbookEvent};
pub use graph_error::GraphError;
pub use invalid_session::InvalidSessionCode;
pub use operation::OperationStatus;
pub use session::{REQUEST_TIME_LIMIT, WorkbookSession};
pub use url::{WorkbookUrl, WorkbookUrlError};
