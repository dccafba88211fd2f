//! What the Graph dialect decides ([`StateMachine`](crate::session::StateMachine) comes from
//! it), and what it answers a transport ([`Driven`], [`Transfer`]).

use alloc::vec::Vec;

use crate::digest::{HashKinds, SourceHashes};
use crate::http::{Request, RequestId, Response, TransportError};
use crate::secret::SecretUrl;
use crate::session::{Driven, Milestone, RetryAttempt, SessionCore, Transfer, UploadDialect};
use crate::time::{Duration, Instant, WallClock};

use super::error::UploadError;
use super::event::{Completion, Event};
use super::upload::{Phase, Sent, Upload};

impl UploadDialect for Upload {
    type Event = Event;
    type Sent = Sent;

    fn core(&self) -> &SessionCore<Sent, Event> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut SessionCore<Sent, Event> {
        &mut self.core
    }

    fn has_ended(&self) -> bool {
        self.is_over()
    }

    /// Each answer by what its request was for; after a fragment's, a file the service named
    /// while fragments were in flight may now be proven.
    fn on_answer(&mut self, now: Instant, sent: Sent, response: Response) {
        let fragment = matches!(sent, Sent::Fragment(_));
        match sent {
            Sent::Create => self.on_create(now, &response),
            Sent::Fragment(fragment) => self.on_fragment(now, fragment, &response),
            Sent::Status => self.on_status(now, &response),
            Sent::Commit => self.on_commit(now, &response),
            Sent::CheckCompletion => self.on_check_completion(now, &response),
            Sent::Cancel => self.on_cancel(now, &response),
            Sent::Discard => self.on_discarded(),
        }
        if fragment {
            self.revisit_pending_candidate(now);
        }
    }

    /// Ambiguous errors (timeouts, lost connections) lead to asking the server where it is;
    /// [`TransportError::SourceRead`] ends the upload.
    fn on_no_answer(&mut self, now: Instant, sent: Sent, error: TransportError) {
        let fragment = matches!(sent, Sent::Fragment(_));
        self.dispatch_transport_error(now, sent, error);
        if fragment {
            self.revisit_pending_candidate(now);
        }
    }

    /// An expired session is lost (and replaced, within the policy).
    fn on_expiry(&mut self, now: Instant) {
        self.check_expiry(now);
    }

    /// The session's expiry (less its margin), while nothing in flight extends it.
    fn expiry_timer(&self) -> Option<Instant> {
        self.expiry_applies()
            .then(|| self.core.expiry.deadline())
            .flatten()
    }

    /// Print documents hand out up to four fragments in a row; drives and mail one at a time.
    fn next_request(&mut self, now: Instant) -> Option<Request> {
        Upload::next_request(self, now)
    }
}

impl Driven for Upload {
    /// Grows with the fragment and shrinks with the measured throughput (a fixed limit kills
    /// large fragments on slow links).
    fn time_limit(&self, request: &Request) -> Duration {
        self.core.time_limit(request)
    }

    fn body_sent(&mut self, id: RequestId, source_crc: u32, started: Option<Instant>) {
        self.record_fragment_crc(id, source_crc);
        if let Some(started) = started {
            self.fragment_started(id, started);
        }
    }

    /// The service named the stored file: its size and hashes wait to be compared.
    fn awaits_source_hashes(&self) -> bool {
        matches!(self.phase, Phase::Verifying(_))
    }

    /// QuickXorHash and CRC-32; SHA-1 or SHA-256 only when the service reports nothing cheaper.
    fn wanted_hash_kinds(&self) -> HashKinds {
        self.wanted_kinds
    }

    fn give_source_hashes(&mut self, now: Instant, hashes: Option<SourceHashes>) {
        match hashes {
            Some(hashes) => self.set_source_hashes(now, hashes),
            None => self.source_unreadable(now),
        }
    }

    /// Cancels: the session is deleted.
    fn abandon(&mut self, now: Instant) -> bool {
        self.cancel(now).is_ok()
    }
}

impl Transfer for Upload {
    const CANCEL_DELETES_SESSION: bool = true;
    type Completion = Completion;
    type Error = UploadError;

    fn progress_total(&self) -> u64 {
        self.total()
    }

    fn confirmed_source_bytes(&self) -> u64 {
        self.confirmed()
    }

    fn sessions(&self) -> u32 {
        Upload::sessions(self)
    }

    fn checkpoint_bytes(&self) -> Vec<u8> {
        self.checkpoint().to_bytes()
    }

    fn anchor(&mut self, wall: WallClock) {
        self.set_wall_clock(wall);
    }

    fn cancel_at(&mut self, now: Instant) {
        let _ = self.cancel(now);
    }

    fn session_left_behind(&self) -> Option<SecretUrl> {
        self.upload_url().cloned()
    }

    fn last_retry(&self) -> Option<RetryAttempt> {
        self.core.last_retry()
    }

    fn decline_retry(&mut self, now: Instant) {
        let _ = now;
        Upload::decline_retry(self);
    }

    fn milestone(event: &Event) -> Milestone<Completion, UploadError> {
        match event {
            Event::SessionCreated { number, .. } => Milestone::SessionCreated { number: *number },
            Event::Acknowledged { confirmed, .. } => Milestone::Acknowledged {
                confirmed: *confirmed,
            },
            Event::RetryScheduled { .. } => Milestone::Retry,
            Event::Resynchronised { confirmed, .. } => Milestone::Resync {
                confirmed: *confirmed,
            },
            Event::SessionLost { starting_over, .. } => Milestone::SessionLost {
                starting_over: *starting_over,
            },
            Event::NameConflict => Milestone::AwaitsCaller,
            Event::Completed(done) => Milestone::Completed(done.clone()),
            Event::Failed(error) => Milestone::Failed(error.clone()),
            Event::Cancelled => Milestone::Cancelled,
            _ => Milestone::Other,
        }
    }

    /// A new session, confirmed bytes, the server's word on where it is, a lost session, the
    /// end.
    fn may_finish_next(&self) -> bool {
        // What the checkpoint records as `may_have_finished`.
        self.upload_url().is_some() && self.next_requests_may_finish()
    }

    /// A resume asks the session for `nextExpectedRanges`; what the upload ends with is checked
    /// against the source's size and hashes, whatever the checkpoint said.
    fn checkpoint_may_lag(&self) -> bool {
        true
    }

    fn saves_checkpoint(event: &Event) -> bool {
        matches!(
            event,
            Event::SessionCreated { .. }
                | Event::Acknowledged { .. }
                | Event::Resynchronised { .. }
                | Event::SessionLost { .. }
                | Event::CommitPending { .. }
                | Event::NameConflict
                | Event::Completed(_)
        )
    }
}
