//! What the WOPI dialect decides ([`StateMachine`](crate::session::StateMachine) comes from
//! it), and what it answers a transport ([`Driven`], [`Transfer`]).

use alloc::vec::Vec;

use crate::digest::{HashKinds, SourceHashes};
use crate::http::{Request, RequestId, Response, TransportError};
use crate::session::{Dialect, Driven, EventQueue, InFlight, Milestone, Transfer, earliest};
use crate::time::{Duration, Instant, WallClock};

use super::codec::CHUNK_PREFIX_LEN;
use super::error::WopiError;
use super::event::{WopiCompletion, WopiEvent};
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

impl Driven for WopiUpload {
    fn time_limit(&self, request: &Request) -> Duration {
        self.timeout_for(request)
    }

    /// The ChunkIds in the frame prefixes already fingerprint the bytes; a CRC adds nothing.
    fn body_sent(&mut self, id: RequestId, _source_crc: u32, started: Option<Instant>) {
        if let Some(started) = started {
            self.fragment_started(id, started);
        }
    }

    fn awaits_source_hashes(&self) -> bool {
        WopiUpload::awaits_source_hashes(self)
    }

    fn wanted_hash_kinds(&self) -> HashKinds {
        WopiUpload::wanted_hash_kinds(self)
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

    fn milestone(event: &WopiEvent) -> Milestone<WopiCompletion, WopiError> {
        match event {
            WopiEvent::RetryScheduled { .. } => Milestone::Retry,
            WopiEvent::Resynchronised { .. } => Milestone::Resync,
            WopiEvent::SessionLost { .. } => Milestone::SessionLost,
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
