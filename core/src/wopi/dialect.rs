//! What the WOPI dialect decides ([`StateMachine`](crate::session::StateMachine) comes from
//! it), and what it answers a transport ([`Driven`], [`Transfer`]).

use alloc::vec::Vec;

use crate::digest::{HashKinds, SourceHashes};
use crate::http::{Request, RequestId, RequestKind, Response, TransportError};
use crate::session::{
    Driven, Failure, Milestone, RetryAttempt, SessionCore, Transfer, UploadDialect,
};
use crate::time::{Duration, Instant, WallClock};
use crate::wire::wopi_headers::failure_reason;

use super::answers::update_kind;
use super::codec::CHUNK_PREFIX_LEN;
use super::error::WopiError;
use super::event::{WopiCompletion, WopiEvent};
use super::upload::{Phase, Sent, WopiUpload};

impl UploadDialect for WopiUpload {
    type Event = WopiEvent;
    type Sent = Sent;

    fn core(&self) -> &SessionCore<Sent, WopiEvent> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut SessionCore<Sent, WopiEvent> {
        &mut self.core
    }

    fn has_ended(&self) -> bool {
        self.is_over()
    }

    /// Each answer by what its request was for; the host's `X-WOPI-FailureReason` is kept for
    /// the messages that follow.
    fn on_answer(&mut self, now: Instant, sent: Sent, response: Response) {
        self.host_reason = failure_reason(&response);
        match sent {
            Sent::Create { issued } => self.on_create(now, issued, &response),
            Sent::Update(update) => self.on_update(now, update, &response),
            Sent::Commit => self.on_commit(now, &response),
            Sent::FileInfo => self.on_file_info(now, &response),
        }
    }

    /// After a timeout or a lost connection the next update probes where the host is;
    /// [`TransportError::SourceRead`] ends the upload.
    fn on_no_answer(&mut self, now: Instant, sent: Sent, error: TransportError) {
        self.host_reason = None;
        if error == TransportError::SourceRead {
            self.fail(WopiError::SourceRead);
            return;
        }
        let kind = match sent {
            // A session may have been made and its token lost: it expires unused.
            Sent::Create { .. } => RequestKind::CreateSession,
            Sent::Update(update) => {
                self.unsure |= error.is_ambiguous();
                update_kind(update)
            }
            Sent::Commit => {
                self.commit_unclear |= error.is_ambiguous();
                RequestKind::Commit
            }
            Sent::FileInfo => RequestKind::FetchResource,
        };
        self.retry_later(now, kind, Failure::Transport(error), None, None);
    }

    /// A lapsed session is lost; an idle one near its end is kept alive or warned about.
    fn on_expiry(&mut self, now: Instant) {
        self.check_expiry(now);
    }

    /// The moment an idle session needs its keep-alive (or its warning), and the session's
    /// lapse, while nothing in flight extends it.
    fn expiry_timer(&self) -> Option<Instant> {
        WopiUpload::expiry_timer(self)
    }

    /// One at a time, and only keep-alives while idle.
    fn next_request(&mut self, now: Instant) -> Option<Request> {
        WopiUpload::next_request(self, now)
    }
}

impl Driven for WopiUpload {
    /// Grows with the range and shrinks with the measured throughput.
    fn time_limit(&self, request: &Request) -> Duration {
        self.core.time_limit(request)
    }

    /// The ChunkIds in the frame prefixes already fingerprint the bytes; a CRC adds nothing.
    fn body_sent(&mut self, id: RequestId, _source_crc: u32, started: Option<Instant>) {
        if let Some(started) = started {
            self.fragment_started(id, started);
        }
    }

    /// The host's `CheckFileInfo` after the commit waits to be compared with the source.
    fn awaits_source_hashes(&self) -> bool {
        matches!(self.phase, Phase::VerifyingFile { .. })
    }

    /// SHA-256, what `CheckFileInfo` reports.
    fn wanted_hash_kinds(&self) -> HashKinds {
        Self::SOURCE_HASH_KINDS
    }

    fn give_source_hashes(&mut self, now: Instant, hashes: Option<SourceHashes>) {
        match hashes {
            Some(hashes) => self.set_source_hashes(now, hashes),
            None => self.source_unreadable(now),
        }
    }

    /// WOPI cannot delete a session: the machine stops at once and the host lets it expire.
    fn abandon(&mut self, now: Instant) -> bool {
        self.cancel(now).is_ok()
    }
}

impl Transfer for WopiUpload {
    const CANCEL_DELETES_SESSION: bool = false;
    type Completion = WopiCompletion;
    type Error = WopiError;

    fn progress_total(&self) -> u64 {
        self.stream_len()
    }

    /// The chunk bytes inside the part of the session stream the host confirmed (frame
    /// prefixes are not the source's).
    fn confirmed_source_bytes(&self) -> u64 {
        let offset = self.confirmed();
        self.upload_stream()
            .frames()
            .iter()
            .map(|frame| {
                let payload = frame.stream_offset + CHUNK_PREFIX_LEN as u64;
                offset.saturating_sub(payload).min(frame.chunk.len)
            })
            .sum()
    }

    fn sessions(&self) -> u32 {
        WopiUpload::sessions(self)
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

    fn last_retry(&self) -> Option<RetryAttempt> {
        self.core.last_retry()
    }

    fn decline_retry(&mut self, now: Instant) {
        let _ = now;
        WopiUpload::decline_retry(self);
    }

    fn milestone(event: &WopiEvent) -> Milestone<WopiCompletion, WopiError> {
        match event {
            WopiEvent::SessionCreated { number } => Milestone::SessionCreated { number: *number },
            WopiEvent::Acknowledged { confirmed, .. } => Milestone::Acknowledged {
                confirmed: *confirmed,
            },
            WopiEvent::RetryScheduled { .. } => Milestone::Retry,
            WopiEvent::Resynchronised { offset, .. } => Milestone::Resync { confirmed: *offset },
            WopiEvent::SessionLost { starting_over, .. } => Milestone::SessionLost {
                starting_over: *starting_over,
            },
            WopiEvent::Completed(done) => Milestone::Completed(done.clone()),
            WopiEvent::Failed(error) => Milestone::Failed(error.clone()),
            WopiEvent::Cancelled => Milestone::Cancelled,
            _ => Milestone::Other,
        }
    }

    /// A new session, confirmed ranges (keep-alives included), the host's word on where it
    /// is, a lost session, the fallback to one commit, a `412` waiting for the caller, the end.
    fn saves_checkpoint(event: &WopiEvent) -> bool {
        matches!(
            event,
            WopiEvent::SessionCreated { .. }
                | WopiEvent::Acknowledged { .. }
                | WopiEvent::Resynchronised { .. }
                | WopiEvent::SessionLost { .. }
                | WopiEvent::FallingBack
                | WopiEvent::SequenceConflict { .. }
                | WopiEvent::Completed(_)
        )
    }
}
