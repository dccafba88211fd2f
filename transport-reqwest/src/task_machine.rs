//! What a running upload task needs from its state machine: the Graph [`Upload`] and the
//! [`WopiUpload`] both run in one [`UploadTask`](crate::UploadTask), with one loop, one
//! checkpoint writer and one way of counting what happened.

use resumable_core::wopi::{WopiCompletion, WopiEvent, WopiUpload};
use resumable_core::graph::{Completion, Event, Upload};
use resumable_core::time::{Instant, WallClock};
use resumable_core::wopi::CHUNK_PREFIX_LEN;

use crate::driver::DrivenMachine;
use crate::outcome::FailureCause;

/// What an event means to the task: what it counts, and whether it ends the upload.
#[derive(Debug)]
#[non_exhaustive]
pub enum Milestone<C> {
    /// A retry was scheduled.
    Retry,
    /// The machine learnt where the server is and went on from there.
    Resync,
    /// A session was lost.
    SessionLost,
    /// The server stored the file.
    Completed(C),
    /// The machine gave up.
    Failed(FailureCause),
    /// The caller cancelled.
    Cancelled,
    /// Nothing the task counts.
    Other,
}

/// A state machine an [`UploadTask`](crate::UploadTask) can run. Implemented for the Graph
/// [`Upload`] and the [`WopiUpload`].
pub trait TaskMachine: DrivenMachine<Event: Clone + Send + 'static> + Send + 'static {
    /// What the service says of the stored file.
    type Completion: Clone + Send + 'static;

    /// The size the machine's progress events count toward (the file for Graph, the framed
    /// session stream for WOPI).
    fn progress_total(&self) -> u64;

    /// Bytes of the source the server has confirmed.
    fn confirmed_source_bytes(&self) -> u64;

    /// Sessions made or used so far.
    fn sessions(&self) -> u32;

    /// The machine's checkpoint, encoded (it holds credentials: see the engines' docs).
    fn checkpoint_bytes(&self) -> Vec<u8>;

    /// Gives the machine the wall-clock time, for the expiry its checkpoints record.
    fn anchor(&mut self, wall: WallClock);

    /// Cancels at `now`, if the upload has not ended.
    fn cancel_at(&mut self, now: Instant);

    /// What `event` means to the task.
    fn milestone(event: &Self::Event) -> Milestone<Self::Completion>;

    /// Whether the checkpoint changed in a way worth saving after `event`.
    fn saves_checkpoint(event: &Self::Event) -> bool;

    /// The session to delete when the upload failed and no checkpoint can resume it (nothing
    /// else will ever use it), if the protocol can delete one.
    fn session_left_behind(&self) -> Option<resumable_core::secret::SecretUrl> {
        None
    }
}

impl TaskMachine for Upload {
    type Completion = Completion;

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

    fn session_left_behind(&self) -> Option<resumable_core::secret::SecretUrl> {
        self.upload_url().cloned()
    }

    fn milestone(event: &Event) -> Milestone<Completion> {
        match event {
            Event::RetryScheduled { .. } => Milestone::Retry,
            Event::Resynchronised { .. } => Milestone::Resync,
            Event::SessionLost { .. } => Milestone::SessionLost,
            Event::Completed(done) => Milestone::Completed(done.clone()),
            Event::Failed(error) => Milestone::Failed(FailureCause::Upload(error.clone())),
            Event::Cancelled => Milestone::Cancelled,
            _ => Milestone::Other,
        }
    }

    /// A new session, confirmed bytes, the server's word on where it is, a lost session, the
    /// end.
    fn saves_checkpoint(event: &Event) -> bool {
        matches!(
            event,
            Event::SessionCreated { .. }
                | Event::FragmentAcknowledged { .. }
                | Event::Resynchronised { .. }
                | Event::SessionLost { .. }
                | Event::CommitPending { .. }
                | Event::NameConflict
                | Event::Completed(_)
        )
    }
}

impl TaskMachine for WopiUpload {
    type Completion = WopiCompletion;

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

    fn milestone(event: &WopiEvent) -> Milestone<WopiCompletion> {
        match event {
            WopiEvent::RetryScheduled { .. } => Milestone::Retry,
            WopiEvent::Resynchronised { .. } => Milestone::Resync,
            WopiEvent::SessionLost { .. } => Milestone::SessionLost,
            WopiEvent::Completed(done) => Milestone::Completed(done.clone()),
            WopiEvent::Failed(error) => Milestone::Failed(FailureCause::Wopi(error.clone())),
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
                | WopiEvent::RangeAcknowledged { .. }
                | WopiEvent::Resynchronised { .. }
                | WopiEvent::SessionLost { .. }
                | WopiEvent::FallingBack
                | WopiEvent::SequenceConflict { .. }
                | WopiEvent::Completed(_)
        )
    }
}
