//! What the WOPI dialect decides; [`StateMachine`](crate::session::StateMachine) comes from it.

use crate::http::{Request, Response, TransportError};
use crate::session::{Dialect, EventQueue, InFlight, earliest};
use crate::time::Instant;

use super::event::WopiEvent;
use super::upload::{Sent, WopiUpload};

impl Dialect for WopiUpload {
    type Event = WopiEvent;
    type Sent = Sent;

    fn in_flight(&mut self) -> &mut InFlight<Sent> {
        &mut self.in_flight
    }

    fn events(&mut self) -> &mut EventQueue<WopiEvent> {
        &mut self.events
    }

    fn has_ended(&self) -> bool {
        self.is_over()
    }

    fn on_answer(&mut self, now: Instant, sent: Sent, response: Response) {
        self.on_response(now, sent, response);
    }

    /// After a timeout or a lost connection the next update probes where the host is;
    /// [`TransportError::SourceRead`] ends the upload.
    fn on_no_answer(&mut self, now: Instant, sent: Sent, error: TransportError) {
        self.on_transport_error(now, sent, error);
    }

    /// Opens the retry gate and acts on the session's expiry (warning, or loss).
    fn on_timers(&mut self, now: Instant) {
        self.schedule.open_if_due(now);
        self.check_expiry(now);
    }

    fn is_waiting(&self, now: Instant) -> bool {
        self.schedule.is_waiting(now)
    }

    /// One at a time, and only keep-alives while idle.
    fn next_request(&mut self, now: Instant) -> Option<Request> {
        WopiUpload::next_request(self, now)
    }

    /// The earliest of: the end of a retry wait, the moment an idle session needs its
    /// keep-alive (or its warning), and the session's expiry when nothing is in flight to
    /// extend it.
    fn next_timer(&self) -> Option<Instant> {
        earliest(self.schedule.deadline(), self.expiry_timer())
    }
}
