//! The session contract every machine follows, and what the Graph, WOPI and workbook machines
//! report in common.
//!
//! | item | what it is |
//! |---|---|
//! | [`StateMachine`] | the driver-loop contract a transport drives |
//! | [`Driven`], [`Transfer`], [`Milestone`] | what a transport asks of a machine beyond the loop: time limits, body-sent reports, source hashes, winding down, progress, checkpoints |
//! | [`UploadDialect`] | a [`Dialect`] whose shared state lives in a [`SessionCore`]: the Graph and WOPI uploads |
//! | [`Dialect`] | what a protocol decides (its next request, what an answer means, its timers); every dialect gets its [`StateMachine`] from it |
//! | [`SessionCore`] | the state every upload dialect keeps the same way (requests in flight, events, retry schedule, server clock, expiry, throughput), with the operations that touch several at once |
//! | [`InFlight`] | request ids and what each request was for |
//! | [`EventQueue`] | events waiting for `poll_event` |
//! | [`Resumption`], [`StartError`] | how an upload began (fresh, resumed, restarted), and why it could not |
//! | [`Failure`] | what made a request fail |
//! | [`RetryAttempt`] | a retry the engine scheduled, as a caller's retry policy sees it ([`Transfer::last_retry`], [`Transfer::decline_retry`]) |
//! | [`Violation`] | an answer that broke the protocol |
//! | [`CheckpointError`], [`Protocol`], [`SourceChange`], [`VerifyError`] | the checkpoint envelope every dialect's checkpoint is stored in |
//!
//! The rest of the machinery the machines are built from stays inside the crate: the retry
//! schedule, the server clock, session expiry and the throughput that scales time limits.

pub(crate) mod checkpoint_envelope;
mod common;
mod contract;
mod event_queue;
mod expiry;
pub(crate) mod failure;
mod in_flight;
mod machine;
mod resume;
mod retry_attempt;
mod schedule;
mod server_clock;
mod throughput;
mod violation;

pub use checkpoint_envelope::{
    CHECKPOINT_VERSION, CheckpointError, Protocol, SourceChange, VerifyError,
};
pub use common::SessionCore;
pub use contract::{Driven, Milestone, Transfer};
pub use event_queue::EventQueue;
pub use failure::Failure;
pub use in_flight::InFlight;
pub use machine::{Dialect, StateMachine, UploadDialect};
pub use resume::{Resumption, StartError};
pub use retry_attempt::RetryAttempt;
pub(crate) use schedule::retry_after;
pub(crate) use server_clock::ServerClock;
pub use violation::Violation;
