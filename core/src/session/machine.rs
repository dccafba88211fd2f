//! The driver-loop contract every state machine in this crate follows.
//!
//! A transport drives any of them with the same loop (see the crate documentation for a complete
//! example):
//!
//! 1. feed input with a `handle_*` method, passing the current time;
//! 2. drain [`StateMachine::poll_request`], [`StateMachine::poll_event`] and read
//!    [`StateMachine::poll_timeout`];
//! 3. wait for the earliest of: an answer to a request in flight, the deadline from
//!    `poll_timeout` (then call [`StateMachine::handle_timeout`]), or a command from the user.
//!
//! Requests may be in flight concurrently when the machine hands out several before any answer;
//! each answer goes back with the [`RequestId`] of its request.

use crate::http::{Request, RequestId, Response, TransportError};
use crate::time::Instant;

/// A sans-IO protocol state machine.
pub trait StateMachine {
    /// What the machine reports: progress, retries, completion, failure.
    type Event;

    /// Feeds the answer to request `id`.
    fn handle_response(&mut self, now: Instant, id: RequestId, response: Response);

    /// Reports that request `id` got no answer.
    fn handle_transport_error(&mut self, now: Instant, id: RequestId, error: TransportError);

    /// Tells the machine that the deadline it gave through [`StateMachine::poll_timeout`] (or any
    /// time after it) has come.
    fn handle_timeout(&mut self, now: Instant);

    /// The next request to send, if one is due now.
    fn poll_request(&mut self, now: Instant) -> Option<Request>;

    /// When the machine next wants [`StateMachine::handle_timeout`] called, if ever.
    fn poll_timeout(&self) -> Option<Instant>;

    /// The next event to report.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// Whether the machine has reached an end (completed, failed or cancelled) and will send
    /// nothing more. Drain `poll_event` after it turns true: the final events are still queued.
    fn is_finished(&self) -> bool;
}
