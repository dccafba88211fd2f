//! Graph workbook sessions over HTTP: opened, kept alive in the background, replaced when the
//! service drops them, closed on request or on drop.
//!
//! [`WorkbookSession`] is the async handle. Its task drives the core's sans-IO
//! [`WorkbookSession`](resumable_core::workbook::WorkbookSession) machine through the same
//! driver loop as uploads ([`driver::drive`](crate::driver::drive)): `createSession` (a `202`
//! and its operation polled to success, then the session fetched), `refreshSession` when the
//! session has been idle for the inactivity limit less a margin, a new session after a `404` or
//! `invalidSessionReCreatable`, `closeSession` at the end. Bearer tokens come from the
//! [`TokenProvider`](crate::token::TokenProvider), renewed once after a `401`.
//!
//! The caller's own requests go through [`WorkbookSession::send`] (or a cloned
//! [`WorkbookCaller`]): it adds the token and `workbook-session-id`, and hands the answer to the
//! machine, so a busy session is never refreshed and an expiry answer starts a new session at
//! once.
//!
//! ## Example
//!
//! A session on the emulator, whose sessions expire after half a second of inactivity (five
//! minutes, 600 times faster): held for two seconds with nothing but the keep-alive, then used,
//! then closed.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use futures::StreamExt;
//! use resumable_core::secret::Secret;
//! use resumable_core::workbook::{
//!     CallOutcome, InactivityLimits, WorkbookConfig, WorkbookEvent, WorkbookUrl,
//! };
//! use resumable_emulator::{Emulator, EmulatorConfig, TimeScale};
//! use resumable_reqwest::workbook::{WorkbookRequest, WorkbookSession};
//!
//! let scale = TimeScale::new(600.0).unwrap();
//! let emulator = Emulator::start(EmulatorConfig::default().with_time_scale(scale)).await?;
//! let url = WorkbookUrl::new(emulator.workbook_url("01BOOK"))?;
//! let config = WorkbookConfig {
//!     // Tell the keep-alive the server's (scaled) limit: it refreshes after 250 ms idle.
//!     inactivity: InactivityLimits::uniform(Duration::from_millis(500)),
//!     ..WorkbookConfig::new(true)
//! };
//! let mut session = WorkbookSession::builder(url)
//!     .config(config)
//!     .token(Secret::new("token"))
//!     .open()?;
//! let first = session.ready().await?;
//! tokio::time::sleep(Duration::from_secs(2)).await;
//!
//! let answer = session.send(WorkbookRequest::get("worksheets")).await?;
//! assert_eq!((answer.status, &answer.outcome), (200, &CallOutcome::Succeeded));
//! assert_eq!(answer.json()?["value"][0]["name"], "Sheet1");
//! assert_eq!(session.session_id(), Some(first), "the same session all along");
//!
//! session.close().await?;
//! let events: Vec<WorkbookEvent> = session.collect().await;
//! let refreshes = events.iter().filter(|e| e.name() == "refreshed").count();
//! assert!(refreshes >= 4, "{refreshes} refreshes in 2 s");
//! assert_eq!(events.last().map(WorkbookEvent::name), Some("closed"));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

mod builder;
mod caller;
mod handle;
mod request;
mod state;
mod task;

pub use builder::{OpenError, WorkbookSessionBuilder};
pub use caller::WorkbookCaller;
pub use handle::WorkbookSession;
pub use request::{CallError, WorkbookAnswer, WorkbookRequest};
pub use state::{SessionError, SessionState};
