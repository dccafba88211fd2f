//! The driver-loop contract: [`StateMachine`] for [`Upload`].

use crate::http::{Request, RequestId, Response, TransportError};
use crate::session::StateMachine;
use crate::time::Instant;

use super::event::Event;
use super::upload::Upload;

impl StateMachine for Upload {
    type Event = Event;

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

    /// Reports that request `id` got no answer. Ambiguous errors (timeouts, lost connections)
    /// lead to asking the server where it is; [`TransportError::SourceRead`] ends the upload.
    fn handle_transport_error(&mut self, now: Instant, id: RequestId, error: TransportError) {
        if self.is_over() {
            return;
        }
        if let Some(sent) = self.in_flight.take(id) {
            self.on_transport_error(now, sent, error);
        }
    }

    /// Opens the retry gate and acts on an expired session.
    fn handle_timeout(&mut self, now: Instant) {
        if self.is_over() {
            return;
        }
        self.schedule.open_if_due(now);
        self.check_expiry(now);
    }

    /// The next request, if one may go at `now`. Print documents hand out up to four fragments
    /// in a row; drives and mail one at a time.
    fn poll_request(&mut self, now: Instant) -> Option<Request> {
        if self.is_over() {
            return None;
        }
        self.schedule.open_if_due(now);
        self.check_expiry(now);
        if self.schedule.is_waiting(now) {
            return None;
        }
        self.next_request(now)
    }

    /// The earliest of: the end of a retry wait, and the session's expiry (less its margin) when
    /// nothing is in flight to extend it.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.is_over() {
            return None;
        }
        let expiry = if self.expiry_applies() {
            self.expiry.deadline()
        } else {
            None
        };
        match (self.schedule.deadline(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    fn is_finished(&self) -> bool {
        self.is_over()
    }
}
