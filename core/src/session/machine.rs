//! The driver-loop contract every state machine in this crate follows, and the one
//! implementation of it that every dialect shares.
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
//!
//! A protocol does not implement [`StateMachine`] itself: it is a [`Dialect`] (what it decides:
//! its next request, what an answer means, its timers), and the bookkeeping around those
//! decisions (matching answers to requests, ignoring late answers, the retry gate, draining
//! events) is written once, here.

use crate::http::{Request, RequestId, Response, TransportError};
use crate::time::Instant;

use super::common::SessionCore;
use super::event_queue::EventQueue;
use super::in_flight::InFlight;

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

/// What a protocol decides; [`StateMachine`] comes with it.
///
/// The dialect keeps its requests in flight in an [`InFlight`] table (each with a note of what
/// it was for, [`Dialect::Sent`]) and its events in an [`EventQueue`]; the shared
/// implementation matches each answer to its note, drops answers once the machine has ended or
/// forgotten the request, runs the dialect's timers before it asks for a request, and holds
/// requests back while the dialect waits (a retry's back-off).
pub trait Dialect {
    /// What the machine reports.
    type Event;
    /// The note kept with each request in flight: what it was for.
    type Sent;

    /// The requests in flight.
    fn in_flight(&mut self) -> &mut InFlight<Self::Sent>;

    /// The events waiting for `poll_event`.
    fn events(&mut self) -> &mut EventQueue<Self::Event>;

    /// Whether the machine has ended (completed, failed, cancelled): it sends nothing more and
    /// ignores answers.
    fn has_ended(&self) -> bool;

    /// What the answer to a request sent for `sent` means.
    fn on_answer(&mut self, now: Instant, sent: Self::Sent, response: Response);

    /// What it means that a request sent for `sent` got no answer.
    fn on_no_answer(&mut self, now: Instant, sent: Self::Sent, error: TransportError);

    /// Acts on the timers that are due at `now` (a retry wait that ended, a session that
    /// expired, a deadline that passed).
    fn on_timers(&mut self, now: Instant);

    /// Whether requests are held back at `now` (a retry's back-off).
    fn is_waiting(&self, now: Instant) -> bool {
        let _ = now;
        false
    }

    /// The request the protocol wants next, if any.
    fn next_request(&mut self, now: Instant) -> Option<Request>;

    /// The earliest of the protocol's timers, if any is set.
    fn next_timer(&self) -> Option<Instant>;
}

impl<D: Dialect> StateMachine for D {
    type Event = D::Event;

    /// Feeds the answer to request `id`. Answers to requests the machine no longer waits for
    /// (after a cancel, a lost session or the end) are ignored.
    fn handle_response(&mut self, now: Instant, id: RequestId, response: Response) {
        if self.has_ended() {
            return;
        }
        if let Some(sent) = self.in_flight().take(id) {
            self.on_answer(now, sent, response);
        }
    }

    /// Reports that request `id` got no answer; ignored like a late answer.
    fn handle_transport_error(&mut self, now: Instant, id: RequestId, error: TransportError) {
        if self.has_ended() {
            return;
        }
        if let Some(sent) = self.in_flight().take(id) {
            self.on_no_answer(now, sent, error);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if !self.has_ended() {
            self.on_timers(now);
        }
    }

    /// The next request, if one may go at `now`: the timers due are acted on first, and
    /// nothing goes during a wait.
    fn poll_request(&mut self, now: Instant) -> Option<Request> {
        if self.has_ended() {
            return None;
        }
        self.on_timers(now);
        if self.has_ended() || self.is_waiting(now) {
            return None;
        }
        self.next_request(now)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.has_ended() {
            return None;
        }
        self.next_timer()
    }

    fn poll_event(&mut self) -> Option<D::Event> {
        self.events().pop()
    }

    fn is_finished(&self) -> bool {
        self.has_ended()
    }
}

/// What an upload dialect decides, when its shared state lives in a [`SessionCore`]: the
/// requests in flight, the events, the retry gate and the server's clock then come with it, so
/// the dialect states only its own rules. Every `UploadDialect` is a [`Dialect`].
pub trait UploadDialect {
    /// What the machine reports.
    type Event;
    /// The note kept with each request in flight: what it was for.
    type Sent;

    /// The shared state.
    fn core(&self) -> &SessionCore<Self::Sent, Self::Event>;

    /// The shared state, to change.
    fn core_mut(&mut self) -> &mut SessionCore<Self::Sent, Self::Event>;

    /// Whether the upload has ended (completed, failed, cancelled).
    fn has_ended(&self) -> bool;

    /// What the answer to a request sent for `sent` means (the server's clock has already
    /// read its `Date`).
    fn on_answer(&mut self, now: Instant, sent: Self::Sent, response: Response);

    /// What it means that a request sent for `sent` got no answer.
    fn on_no_answer(&mut self, now: Instant, sent: Self::Sent, error: TransportError);

    /// Acts on the session's expiry at `now`: a session lost, or a warning.
    fn on_expiry(&mut self, now: Instant);

    /// When the session's expiry next needs [`UploadDialect::on_expiry`], if ever.
    fn expiry_timer(&self) -> Option<Instant>;

    /// The request the protocol wants next, if any (never called during a retry wait).
    fn next_request(&mut self, now: Instant) -> Option<Request>;
}

impl<U: UploadDialect> Dialect for U {
    type Event = U::Event;
    type Sent = U::Sent;

    fn in_flight(&mut self) -> &mut InFlight<U::Sent> {
        &mut self.core_mut().in_flight
    }

    fn events(&mut self) -> &mut EventQueue<U::Event> {
        &mut self.core_mut().events
    }

    fn has_ended(&self) -> bool {
        UploadDialect::has_ended(self)
    }

    fn on_answer(&mut self, now: Instant, sent: U::Sent, response: Response) {
        self.core_mut().observe(now, &response);
        UploadDialect::on_answer(self, now, sent, response);
    }

    fn on_no_answer(&mut self, now: Instant, sent: U::Sent, error: TransportError) {
        UploadDialect::on_no_answer(self, now, sent, error);
    }

    /// Opens the retry gate when its wait is over, then acts on the expiry.
    fn on_timers(&mut self, now: Instant) {
        self.core_mut().schedule.open_if_due(now);
        self.on_expiry(now);
    }

    fn is_waiting(&self, now: Instant) -> bool {
        self.core().schedule.is_waiting(now)
    }

    fn next_request(&mut self, now: Instant) -> Option<Request> {
        UploadDialect::next_request(self, now)
    }

    /// The earlier of the end of a retry wait and the expiry's timer.
    fn next_timer(&self) -> Option<Instant> {
        earliest(self.core().schedule.deadline(), self.expiry_timer())
    }
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
