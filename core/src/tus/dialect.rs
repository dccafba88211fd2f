//! What the tus dialect decides ([`StateMachine`](crate::session::StateMachine) comes from it),
//! and what it answers a transport ([`Driven`], [`Transfer`]).

use alloc::vec::Vec;

use crate::digest::BodyDigest;
use crate::http::{Auth, Body, Method, Request, RequestId, RequestKind, Response, TransportError};
use crate::session::{Driven, Milestone, RetryAttempt, SessionCore, Transfer, UploadDialect};
use crate::time::{Duration, Instant, WallClock};
use crate::wire::tus_headers::CHECKSUM;

use super::event::{TusCompletion, TusError, TusEvent};
use super::upload::{Phase, Sent, TusUpload};

impl UploadDialect for TusUpload {
    type Event = TusEvent;
    type Sent = Sent;

    fn core(&self) -> &SessionCore<Sent, TusEvent> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut SessionCore<Sent, TusEvent> {
        &mut self.core
    }

    fn has_ended(&self) -> bool {
        self.is_over()
    }

    fn on_answer(&mut self, now: Instant, sent: Sent, response: Response) {
        TusUpload::on_answer(self, now, sent, &response);
    }

    fn on_no_answer(&mut self, now: Instant, sent: Sent, error: TransportError) {
        TusUpload::on_no_answer(self, now, sent, error);
    }

    fn on_expiry(&mut self, now: Instant) {
        self.check_expiry(now);
    }

    /// `Upload-Expires` (less the margin), while an upload exists and nothing is in flight.
    fn expiry_timer(&self) -> Option<Instant> {
        (self.url.is_some() && self.core.in_flight.is_empty() && self.phase != Phase::Ended)
            .then(|| self.core.expiry.deadline())
            .flatten()
    }

    fn next_request(&mut self, now: Instant) -> Option<Request> {
        TusUpload::next_request(self, now)
    }
}

impl Driven for TusUpload {
    /// Grows with the body and shrinks with the measured throughput.
    fn time_limit(&self, request: &Request) -> Duration {
        self.core.time_limit(request)
    }

    fn body_sent(&mut self, id: RequestId, source_crc: u32, started: Option<Instant>) {
        if let Some(sent) = self.core.in_flight.get_mut(id) {
            sent.crc = Some(source_crc);
            sent.started = started;
        }
    }

    /// `Upload-Checksum` on every request carrying bytes, when the server offers checksums.
    fn body_digest(&self, request: &Request) -> Option<BodyDigest> {
        self.checksum_for(request).map(|algorithm| BodyDigest {
            algorithm,
            header: CHECKSUM,
        })
    }

    /// Cancels: the upload is deleted where the server allows it.
    fn abandon(&mut self, now: Instant) -> bool {
        self.cancel(now).is_ok()
    }
}

impl Transfer for TusUpload {
    const CANCEL_DELETES_SESSION: bool = true;
    type Completion = TusCompletion;
    type Error = TusError;

    /// The source's size (what is available so far while it is not known).
    fn progress_total(&self) -> u64 {
        self.config.total.unwrap_or(self.available)
    }

    fn confirmed_source_bytes(&self) -> u64 {
        self.confirmed
    }

    fn sessions(&self) -> u32 {
        self.uploads
    }

    fn checkpoint_bytes(&self) -> Vec<u8> {
        self.checkpoint().to_bytes()
    }

    fn anchor(&mut self, wall: WallClock) {
        self.core.anchor(wall);
    }

    fn cancel_at(&mut self, now: Instant) {
        let _ = self.cancel(now);
    }

    fn last_retry(&self) -> Option<RetryAttempt> {
        self.core.last_retry()
    }

    fn decline_retry(&mut self, now: Instant) {
        let _ = now;
        TusUpload::decline_retry(self);
    }

    fn milestone(event: &TusEvent) -> Milestone<TusCompletion, TusError> {
        match event {
            TusEvent::UploadCreated { number, .. } => Milestone::SessionCreated { number: *number },
            TusEvent::Acknowledged { confirmed, .. } => Milestone::Acknowledged {
                confirmed: *confirmed,
            },
            TusEvent::RetryScheduled { .. } => Milestone::Retry,
            TusEvent::Resynchronised { confirmed } => Milestone::Resync {
                confirmed: *confirmed,
            },
            TusEvent::UploadLost { starting_over, .. } => Milestone::SessionLost {
                starting_over: *starting_over,
            },
            TusEvent::Completed(done) => Milestone::Completed(done.clone()),
            TusEvent::Failed(error) => Milestone::Failed(error.clone()),
            TusEvent::Cancelled => Milestone::Cancelled,
            _ => Milestone::Other,
        }
    }

    fn saves_checkpoint(event: &TusEvent) -> bool {
        matches!(
            event,
            TusEvent::UploadCreated { .. }
                | TusEvent::Acknowledged { .. }
                | TusEvent::Resynchronised { .. }
                | TusEvent::UploadLost { .. }
                | TusEvent::Completed(_)
        )
    }

    /// `DELETE` with the protocol's version header.
    fn deletion(&self, url: crate::secret::SecretUrl) -> Request {
        Request {
            id: RequestId(u64::MAX),
            kind: RequestKind::Cancel,
            method: Method::Delete,
            url,
            headers: self.version_headers(),
            auth: Auth::None,
            body: Body::Empty,
        }
    }

    /// An upload that failed with nothing to resume it is deleted where the server allows.
    fn session_left_behind(&self) -> Option<crate::secret::SecretUrl> {
        let deletable = self.offer.as_ref().is_some_and(|offer| offer.termination);
        if deletable { self.url.clone() } else { None }
    }
}
