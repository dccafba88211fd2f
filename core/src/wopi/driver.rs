//! The driver-loop contract: [`StateMachine`] for [`WopiUpload`].

use crate::http::{Request, RequestId, Response, TransportError};
use crate::session::StateMachine;
use crate::time::Instant;

use super::event::WopiEvent;
use super::upload::WopiUpload;

impl StateMachine for WopiUpload {
    type Event = WopiEvent;

    /// Feeds the answer to request `id`. Answers to requests the machine no longer waits for
    /// (after a cancel, a lost session or the end) are ignored.
    fn handle_response(&mut self, now: Instant, id: RequestId, response: Response) {
        if self.is_over() {
            return;
        }
        if let Some(sent) = self.in_flight.take(id) {
            self.on_response(now, sent, response);
        }
    }

    /// Reports that request `id` got no answer. After a timeout or a lost connection the next
    /// update probes where the host is; [`TransportError::SourceRead`] ends the upload.
    fn handle_transport_error(&mut self, now: Instant, id: RequestId, error: TransportError) {
        if self.is_over() {
            return;
        }
        if let Some(sent) = self.in_flight.take(id) {
            self.on_transport_error(now, sent, error);
        }
    }

    /// Opens the retry gate and acts on the session's expiry (warning, or loss).
    fn handle_timeout(&mut self, now: Instant) {
        if self.is_over() {
            return;
        }
        self.schedule.open_if_due(now);
        self.check_expiry(now);
    }

    /// The next request, if one may go at `now`: one at a time, never during a retry wait,
    /// and only keep-alives while idle.
    fn poll_request(&mut self, now: Instant) -> Option<Request> {
        if self.is_over() {
            return None;
        }
        self.schedule.open_if_due(now);
        self.check_expiry(now);
        if self.is_over() || self.schedule.is_waiting(now) {
            return None;
        }
        self.next_request(now)
    }

    /// The earliest of: the end of a retry wait, the moment an idle session needs its
    /// keep-alive (or its warning), and the session's expiry when nothing is in flight to
    /// extend it.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.is_over() {
            return None;
        }
        match (self.schedule.deadline(), self.expiry_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_event(&mut self) -> Option<WopiEvent> {
        self.events.pop()
    }

    fn is_finished(&self) -> bool {
        self.is_over()
    }
}
