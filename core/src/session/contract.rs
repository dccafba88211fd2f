//! What a transport asks of a machine beyond the driver loop: time limits, reports on bodies
//! sent, the source's hashes, winding down, and (for uploads) progress, checkpoints and what
//! each event means. With these, a transport holds no protocol policy of its own: the Graph,
//! WOPI and workbook machines answer every question it has.

use alloc::vec::Vec;
use core::fmt;

use crate::digest::{BodyDigest, HashKinds, SourceHashes};
use crate::http::{Auth, Body, Method, Request, RequestId, RequestKind};
use crate::secret::SecretUrl;

use super::retry_attempt::RetryAttempt;
use crate::time::{Duration, Instant, WallClock};

use super::machine::StateMachine;

/// What the driver loop needs from a machine besides [`StateMachine`].
pub trait Driven: StateMachine {
    /// The time limit for `request`: when it passes without an answer, the transport reports
    /// [`TransportError::Timeout`](crate::http::TransportError::Timeout). For uploads it grows
    /// with the body and shrinks with the measured throughput.
    fn time_limit(&self, request: &Request) -> Duration;

    /// Reports that the body of request `id` went out whole, with the CRC-32 of its source
    /// bytes, its first byte having left at `started`. Call it before handing in the request's
    /// answer.
    fn body_sent(&mut self, id: RequestId, source_crc: u32, started: Option<Instant>) {
        let _ = (id, source_crc, started);
    }

    /// A digest the transport must compute over the body of `request` (from the source bytes
    /// it is about to send) and add as a header to the same request: tus `Upload-Checksum`.
    /// `None` for requests that need none.
    fn body_digest(&self, request: &Request) -> Option<BodyDigest> {
        let _ = request;
        None
    }

    /// Whether the machine waits for the source's hashes before it can end (the service named
    /// the stored file, whose hashes must match the source's).
    fn awaits_source_hashes(&self) -> bool {
        false
    }

    /// The hashes the machine needs (QuickXorHash and CRC-32 always; SHA-1 or SHA-256 when it
    /// says so).
    fn wanted_hash_kinds(&self) -> HashKinds {
        HashKinds::CHEAP
    }

    /// Gives the source's hashes, or `None` when the source could not be read to the end.
    fn give_source_hashes(&mut self, now: Instant, hashes: Option<SourceHashes>) {
        let _ = (now, hashes);
    }

    /// The caller went away (dropped its handle without waiting for the end): wind down, for
    /// instance by deleting the session. Returns `false` if the machine cannot, and the loop
    /// then stops at once.
    fn abandon(&mut self, now: Instant) -> bool {
        let _ = now;
        false
    }
}

/// What an event means to whoever runs an upload: what it counts, and whether it ends it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Milestone<C, E> {
    /// A session exists: the upload's `number`th (more than one: it was replaced).
    SessionCreated {
        /// Sessions so far, this one included.
        number: u32,
    },
    /// The server confirmed bytes: `confirmed` of [`Transfer::progress_total`].
    Acknowledged {
        /// Bytes the server holds now.
        confirmed: u64,
    },
    /// A retry was scheduled.
    Retry,
    /// The machine learnt where the server is and went on from there.
    Resync {
        /// Bytes the server holds, in [`Transfer::progress_total`]'s units.
        confirmed: u64,
    },
    /// A session was lost.
    SessionLost {
        /// Whether the upload starts over in a new session (progress goes back to 0).
        starting_over: bool,
    },
    /// The machine waits for the caller to decide (a name conflict): until then nothing is
    /// sent.
    AwaitsCaller,
    /// The server stored the file (and it was checked).
    Completed(C),
    /// The machine gave up.
    Failed(E),
    /// The caller cancelled.
    Cancelled,
    /// Nothing to count.
    Other,
}

/// An upload machine, as a transport runs it: progress, checkpoints, and what each event
/// means. Implemented by the Graph [`Upload`](crate::graph::Upload) and the
/// [`WopiUpload`](crate::wopi::WopiUpload).
pub trait Transfer: Driven<Event: fmt::Display> {
    /// Whether cancelling deletes the session (Graph); otherwise the server lets it expire
    /// (WOPI has no way to delete one).
    const CANCEL_DELETES_SESSION: bool;

    /// What the service says of the stored file.
    type Completion: Clone;
    /// Why the upload failed.
    type Error: Clone;

    /// The size the machine's progress events count toward (the file for Graph, the framed
    /// session stream for WOPI).
    fn progress_total(&self) -> u64;

    /// Bytes of the source the server has confirmed.
    fn confirmed_source_bytes(&self) -> u64;

    /// Sessions made or used so far.
    fn sessions(&self) -> u32;

    /// The machine's checkpoint, encoded. It holds credentials (the session URL): store it like
    /// a password.
    fn checkpoint_bytes(&self) -> Vec<u8>;

    /// Gives the machine the wall-clock time once, right after construction: expiry times and
    /// `Retry-After` dates are wall-clock times.
    fn anchor(&mut self, wall: WallClock);

    /// Cancels at `now`, if the upload has not ended.
    fn cancel_at(&mut self, now: Instant);

    /// The retry the machine scheduled last (until it ends): what a caller's retry policy is
    /// shown right after a [`Milestone::Retry`].
    fn last_retry(&self) -> Option<RetryAttempt>;

    /// The caller's retry policy declines the [last retry](Self::last_retry) (call it right
    /// after its [`Milestone::Retry`]): the upload fails at `now` with
    /// [`GiveUp::Declined`](crate::retry::GiveUp::Declined) as its reason. Not a cancel: the
    /// session is not deleted, and a checkpoint resumes it later. Nothing happens once the
    /// machine has ended.
    fn decline_retry(&mut self, now: Instant);

    /// What `event` means.
    fn milestone(event: &Self::Event) -> Milestone<Self::Completion, Self::Error>;

    /// Whether the checkpoint changed in a way worth saving after `event`.
    fn saves_checkpoint(event: &Self::Event) -> bool;

    /// Whether the requests the machine has ready may finish the upload (its last bytes, a
    /// commit), so that a process that crashes once they went out must find a checkpoint that
    /// knows it: resuming from an older one would upload everything again into a new session
    /// and meet its own file. A transport that saves checkpoints in the background saves one
    /// and lets it land before sending such requests. `false` by default, for protocols whose
    /// resume asks the server where it is and learns the end from it.
    fn may_finish_next(&self) -> bool {
        false
    }

    /// Whether a checkpoint may lag the confirmed bytes by more than one request without
    /// harm: true where a resume asks the server what it holds and trusts nothing the
    /// checkpoint says about bytes beyond its own session (Graph). A transport that saves in
    /// the background then lets saves fall behind by a bounded amount of bytes instead of
    /// holding every request back for the one before it (an `fsync` per small fragment). `false`
    /// by default: protocols whose resume bounds what the server may claim by what the
    /// checkpoint knows (tus) need it within one request.
    fn checkpoint_may_lag(&self) -> bool {
        false
    }

    /// The session to delete when the upload failed and no checkpoint can resume it (nothing
    /// else will ever use it), if the protocol can delete one.
    fn session_left_behind(&self) -> Option<SecretUrl> {
        None
    }

    /// The request that deletes the session at `url` (one nothing will use again: left behind,
    /// or of an older version of the source). A plain `DELETE` unless the protocol needs more
    /// (tus: `Tus-Resumable`).
    fn deletion(&self, url: SecretUrl) -> Request {
        Request {
            id: RequestId(u64::MAX),
            kind: RequestKind::Cancel,
            method: Method::Delete,
            url,
            headers: Vec::new(),
            auth: Auth::None,
            body: Body::Empty,
        }
    }
}
