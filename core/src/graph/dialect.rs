//! What the Graph dialect decides; [`StateMachine`](crate::session::StateMachine) comes from it.

use crate::http::{Request, Response, TransportError};
use crate::session::{Dialect, EventQueue, InFlight, earliest};
use crate::time::Instant;

use super::event::Event;
use super::upload::{Sent, Upload};

impl Dialect for Upload {
    type Event = Event;
    type Sent = Sent;

    fn in_flight(&mut self) -> &mut InFlight<Sent> {
        &mut self.in_flight
    }

    fn events(&mut self) -> &mut EventQueue<Event> {
        &mut self.events
    }

    fn has_ended(&self) -> bool {
        self.is_over()
    }

    fn on_answer(&mut self, now: Instant, sent: Sent, response: Response) {
        self.on_response(now, sent, response);
    }

    /// Ambiguous errors (timeouts, lost connections) lead to asking the server where it is;
    /// [`TransportError::SourceRead`] ends the upload.
    fn on_no_answer(&mut self, now: Instant, sent: Sent, error: TransportError) {
        self.on_transport_error(now, sent, error);
    }

    /// Opens the retry gate and acts on an expired session.
    fn on_timers(&mut self, now: Instant) {
        self.schedule.open_if_due(now);
        self.check_expiry(now);
    }

    fn is_waiting(&self, now: Instant) -> bool {
        self.schedule.is_waiting(now)
    }

    /// Print documents hand out up to four fragments in a row; drives and mail one at a time.
    fn next_request(&mut self, now: Instant) -> Option<Request> {
        Upload::next_request(self, now)
    }

    /// The earliest of: the end of a retry wait, and the session's expiry (less its margin) when
    /// nothing is in flight to extend it.
    fn next_timer(&self) -> Option<Instant> {
        let expiry = if self.expiry_applies() {
            self.expiry.deadline()
        } else {
            None
        };
        earliest(self.schedule.deadline(), expiry)
    }
}
