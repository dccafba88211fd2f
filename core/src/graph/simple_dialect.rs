//! What the simple-upload dialect decides ([`StateMachine`](crate::session::StateMachine)
//! comes from it), and what it answers a transport ([`Driven`], [`Transfer`]).

use alloc::vec::Vec;

use crate::digest::{HashKinds, SourceHashes};
use crate::http::{Request, Response, TransportError};
use crate::session::{Driven, Milestone, RetryAttempt, SessionCore, Transfer, UploadDialect};
use crate::time::{Duration, Instant, WallClock};

use super::error::UploadError;
use super::event::{Completion, Event};
use super::simple::{SimpleSent, SimpleUpload};

impl UploadDialect for SimpleUpload {
    type Event = Event;
    type Sent = SimpleSent;

    fn core(&self) -> &SessionCore<SimpleSent, Event> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut SessionCore<SimpleSent, Event> {
        &mut self.core
    }

    fn has_ended(&self) -> bool {
        self.is_over()
    }

    fn on_answer(&mut self, now: Instant, sent: SimpleSent, response: Response) {
        SimpleUpload::on_answer(self, now, sent, &response);
    }

    fn on_no_answer(&mut self, now: Instant, sent: SimpleSent, error: TransportError) {
        SimpleUpload::on_no_answer(self, now, sent, error);
    }

    /// No session, nothing to expire.
    fn on_expiry(&mut self, now: Instant) {
        let _ = now;
    }

    fn expiry_timer(&self) -> Option<Instant> {
        None
    }

    /// One request at a time: the `PUT`, or the lookup of the item.
    fn next_request(&mut self, now: Instant) -> Option<Request> {
        let _ = now;
        SimpleUpload::next_request(self)
    }
}

impl Driven for SimpleUpload {
    /// Grows with the file and shrinks with the measured throughput.
    fn time_limit(&self, request: &Request) -> Duration {
        self.core.time_limit(request)
    }

    /// The service named the stored item: its hashes wait to be compared with the source's.
    fn awaits_source_hashes(&self) -> bool {
        self.is_verifying()
    }

    /// QuickXorHash and CRC-32; SHA-1 or SHA-256 only when the service reports nothing cheaper.
    fn wanted_hash_kinds(&self) -> HashKinds {
        self.wanted_kinds()
    }

    fn give_source_hashes(&mut self, now: Instant, hashes: Option<SourceHashes>) {
        match hashes {
            Some(hashes) => self.set_source_hashes(now, hashes),
            None => self.source_unreadable(),
        }
    }

    /// Stops: nothing to delete.
    fn abandon(&mut self, now: Instant) -> bool {
        let _ = self.cancel(now);
        false
    }
}

impl Transfer for SimpleUpload {
    /// There is no session to delete.
    const CANCEL_DELETES_SESSION: bool = false;
    type Completion = Completion;
    type Error = UploadError;

    fn progress_total(&self) -> u64 {
        self.config.total
    }

    /// The whole file once the stored item is proven, nothing before.
    fn confirmed_source_bytes(&self) -> u64 {
        if self.is_over() && self.state() == super::State::Completed {
            self.config.total
        } else {
            0
        }
    }

    /// None: a simple upload makes no session.
    fn sessions(&self) -> u32 {
        0
    }

    /// Nothing: a simple upload cannot be resumed, only sent again.
    fn checkpoint_bytes(&self) -> Vec<u8> {
        Vec::new()
    }

    fn anchor(&mut self, wall: WallClock) {
        self.set_wall_clock(wall);
    }

    fn cancel_at(&mut self, now: Instant) {
        let _ = self.cancel(now);
    }

    fn last_retry(&self) -> Option<RetryAttempt> {
        self.core.last_retry()
    }

    fn decline_retry(&mut self, now: Instant) {
        let _ = now;
        SimpleUpload::decline_retry(self);
    }

    fn milestone(event: &Event) -> Milestone<Completion, UploadError> {
        match event {
            Event::Acknowledged { confirmed, .. } => Milestone::Acknowledged {
                confirmed: *confirmed,
            },
            Event::RetryScheduled { .. } => Milestone::Retry,
            Event::Completed(done) => Milestone::Completed(done.clone()),
            Event::Failed(error) => Milestone::Failed(error.clone()),
            Event::Cancelled => Milestone::Cancelled,
            _ => Milestone::Other,
        }
    }

    /// No checkpoint to save.
    fn saves_checkpoint(event: &Event) -> bool {
        let _ = event;
        false
    }
}
