//! The session machinery every dialect shares: the driver-loop contract and the pieces the
//! Graph, WOPI and workbook machines are built from.
//!
//! | item | what it is |
//! |---|---|
//! | [`StateMachine`] | the driver-loop contract a transport drives |
//! | [`Driven`], [`Transfer`], [`Milestone`] | what a transport asks of a machine beyond the loop: time limits, body-sent reports, source hashes, winding down, progress, checkpoints |
//! | [`UploadDialect`] | a [`Dialect`] whose shared state lives in a [`SessionCore`]: the Graph and WOPI uploads |
//! | [`Dialect`] | what a protocol decides (its next request, what an answer means, its timers); every dialect gets its [`StateMachine`] from it |
//! | [`SessionCore`] | the state every upload dialect keeps the same way: the pieces below, in one value |
//! | [`InFlight`] | request ids and what each request was for |
//! | [`EventQueue`] | events waiting for `poll_event` |
//! | [`RetrySchedule`], [`retry_after`] | backoff, retry budget and the "not before" gate |
//! | [`ServerClock`], [`SessionExpiry`] | expiry known ahead, on the server's clock |
//! | [`Throughput`] | the measured rate, and time limits that scale with it |
//! | [`Resumption`], [`StartError`] | how an upload began (fresh, resumed, restarted), and why it could not |
//! | [`Failure`] | what made a request fail |
//! | [`Violation`] | an answer that broke the protocol |
//! | [`CheckpointError`], [`Protocol`], [`SourceChange`], [`VerifyError`] | the checkpoint envelope every dialect's checkpoint is stored in |

pub(crate) mod checkpoint_envelope;
mod common;
mod contract;
mod event_queue;
mod expiry;
pub(crate) mod failure;
mod in_flight;
mod machine;
mod resume;
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
pub use expiry::SessionExpiry;
pub use failure::Failure;
pub use in_flight::InFlight;
pub use machine::{Dialect, StateMachine, UploadDialect, earliest};
pub use resume::{Resumption, StartError};
pub use schedule::{RetrySchedule, retry_after};
pub use server_clock::ServerClock;
pub use throughput::{ASSUMED_RATE, BASE_TIMEOUT, Throughput};
pub use violation::Violation;
