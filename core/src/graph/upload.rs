//! The [`Upload`] machine: its fields, constructors, getters, transport reports and commands.
//!
//! How it answers the server lives in `handling.rs`, how it tracks the session in `session.rs`,
//! the requests it builds in `requests.rs` and the driver-loop entry points in `driver.rs`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::chunk::ChunkPlanner;
use crate::digest::{HashKinds, SourceHashes};
use crate::http::{RequestId, RequestKind};
use crate::range::ByteRange;
use crate::range_set::RangeSet;
use crate::secret::SecretUrl;
use crate::time::{Instant, UnixTime, WallClock};

use super::checkpoint::{Checkpoint, FragmentCrc, Stage};
use super::config::{ExplicitCommit, Target, UploadConfig};
use super::error::UploadError;
use super::event::{Completion, Event};
use super::state::State;
use crate::session::{CHECKPOINT_VERSION, Protocol, SessionCore};

/// The ranges the server lacks. Sixty-four gaps are far more than a sequential upload ever has
/// and than four parallel print fragments make; a longer server list is folded (see
/// `session.rs`).
pub(crate) type Missing = RangeSet<64>;

/// Where the machine is, with what each phase needs.
#[derive(Clone, Debug)]
pub(crate) enum Phase {
    Creating,
    Uploading,
    Resync,
    CommitPending,
    NameConflict,
    Committing(CommitRoute),
    CheckingCompletion,
    /// The service says the file exists: checking it against the source's hashes, which the
    /// transport has yet to give ([`Upload::set_source_hashes`]).
    Verifying(Candidate),
    /// Deleting a session the upload gives up on, then failing with the error.
    Abandoning(UploadError),
    Cancelling,
    Completed(Completion),
    Failed,
    Cancelled,
}

/// A stored file the service named as this upload's, before it is checked against the source.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub(crate) completion: Completion,
    /// Found by reading the item after a lost answer (a mismatch then means "someone else's
    /// file": upload again), rather than named by the answer to this upload's own request (a
    /// mismatch then means the service stored other bytes: fail).
    pub(crate) looked_up: bool,
}

/// How a commit is made.
#[derive(Clone, Debug)]
pub(crate) enum CommitRoute {
    /// `POST uploadUrl` (deferred commit).
    Post,
    /// `PUT {item}` with `@microsoft.graph.sourceUrl` (deferred commit or a way out of a 409).
    SourceUrl(ExplicitCommit),
}

/// What a request in flight was for.
#[derive(Clone, Debug)]
pub enum Sent {
    Create,
    Fragment(FragmentInFlight),
    Status,
    Commit,
    CheckCompletion,
    Cancel,
    /// `DELETE` of a session the upload no longer uses; its answer changes nothing.
    Discard,
}

/// A fragment request in flight, with what the transport reported about it.
#[derive(Clone, Copy, Debug)]
pub struct FragmentInFlight {
    pub(crate) range: ByteRange,
    pub(crate) issued: Instant,
    pub(crate) started: Option<Instant>,
    pub(crate) crc32: Option<u32>,
    pub(crate) order: IssueOrder,
}

/// Where a request that reads the session's state stands among the fragments: whether its
/// answer can be stale against another fragment's.
///
/// A server never loses bytes it confirmed, but answers to concurrent requests are made at
/// moments the client cannot order: the answer to A may say what the session held before B
/// was stored and still arrive after B's answer. Only a request that no fragment overlapped
/// (none in flight when it went, none sent before its answer) gives the session's state as of
/// after every answer taken before it: only that answer may replace the account, and only a
/// loss in that answer is a loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IssueOrder {
    /// Fragments issued up to this request (itself included, if a fragment).
    pub(crate) fragments_before: u64,
    /// No fragment was in flight when it went.
    pub(crate) alone: bool,
}

/// A resumable upload into a Microsoft Graph upload session (drive item, print document or mail
/// attachment), as a sans-IO state machine.
///
/// Drive it with the [`StateMachine`](crate::session::StateMachine) methods (see the crate
/// documentation for the loop). Its methods fall in four groups:
///
/// - **constructors**: [`Upload::create`] (a new session), [`Upload::continue_session`] (a
///   session created elsewhere), [`Upload::resume`] (from a [`Checkpoint`]);
/// - **getters**: [`Upload::state`], [`Upload::confirmed`], [`Upload::total`],
///   [`Upload::expires_at`], [`Upload::checkpoint`], [`Driven::time_limit`](crate::session::Driven::time_limit), ...;
/// - **transport reports**: [`Upload::record_fragment_crc`] (required for the fingerprint) and
///   [`Upload::fragment_started`] (optional, sharpens measurements);
/// - **commands**: [`Upload::cancel`], [`Upload::commit`], [`Upload::commit_with_source_url`].
///
/// After any `handle_*` call or command, drain `poll_request`, then `poll_event`, then read
/// `poll_timeout`.
#[derive(Debug)]
pub struct Upload {
    pub(crate) config: UploadConfig,
    pub(crate) planner: ChunkPlanner,
    pub(crate) create_url: Option<SecretUrl>,
    pub(crate) upload_url: Option<SecretUrl>,
    pub(crate) sessions: u32,
    pub(crate) phase: Phase,
    /// Requests in flight, events, retry schedule, expiry, server clock, throughput.
    pub(crate) core: SessionCore<Sent, Event>,
    pub(crate) missing: Missing,
    pub(crate) fingerprints: Vec<FragmentCrc>,
    pub(crate) unsettled: Vec<FragmentCrc>,
    pub(crate) not_found: u32,
    /// A request that could have finished the upload (the last fragment, a commit) got no clear
    /// answer: a later 404 may mean "done", not "lost".
    pub(crate) maybe_completed: bool,
    /// Every byte is stored and the upload waits for the caller (a commit, or a decision on a
    /// name conflict), or did when a commit was sent: losing the session now must not start
    /// over, since the caller had yet to decide.
    pub(crate) awaiting_caller: bool,
    /// The explicit commit last sent, if any: where to look for the item if its answer is lost.
    pub(crate) explicit_commit: Option<ExplicitCommit>,
    /// `cancel` was called while the session was being created.
    pub(crate) cancel_requested: bool,
    /// The service refused the name (`409`): the bytes wait in the session, and a file already
    /// holds the name, so a check by path would find the wrong file.
    pub(crate) name_conflict: bool,
    /// A `409` came and the item holding the name is being read: if it has this file's size
    /// and hashes (an earlier run stored it and was killed before it could say so), the upload
    /// is done; otherwise it is a name conflict.
    pub(crate) checking_conflict: bool,
    /// The item holding the name was read once already (it was not this file).
    pub(crate) conflict_checked: bool,
    /// The source's hashes, once the transport gave them: what a stored file is checked against.
    pub(crate) source_hashes: Option<SourceHashes>,
    /// This session's account: the bytes it may hold only if this upload sent them (or found
    /// them there when it took the session over). A service claiming one of them holds bytes
    /// it never received.
    pub(crate) unsent: Missing,
    /// The next status answer sets the account: a session made elsewhere, or resumed with a
    /// source known unchanged, holds whatever it holds.
    pub(crate) baseline_pending: bool,
    /// Resumed without proof that the source is unchanged: bytes the session holds beyond the
    /// checkpoint's CRCs cannot be vouched for, so the session is given up if it has any.
    pub(crate) unverified_resume: bool,
    /// Source bytes sent into the current session (retries included), against the send budget.
    pub(crate) sent_in_session: u64,
    /// What the last retry (if any) was for.
    pub(crate) retrying: RequestKind,
    /// The most bytes the current session confirmed at once.
    pub(crate) high_water: u64,
    /// Times a session lost bytes it had confirmed.
    pub(crate) regressions: u32,
    /// Fragments issued so far, to tell which answers may be stale (see [`IssueOrder`]).
    pub(crate) fragments_issued: u64,
    /// Where the status request in flight, if any, went among the fragments.
    pub(crate) status_order: Option<IssueOrder>,
    /// Answers that broke the protocol (items before the last byte, bytes never sent).
    pub(crate) violations: u32,
    /// Session-creation answers that could not be used.
    pub(crate) malformed: u32,
    /// When the current session was created, on the server's clock: an item found by lookup
    /// that is older was not made by it.
    pub(crate) session_created: Option<UnixTime>,
    /// Sessions to delete: given up on while still alive.
    pub(crate) discard: Vec<SecretUrl>,
    /// Every byte is stored but no item came and no commit was asked for: the service has been
    /// asked once where it is; if it says so again, the session is committed.
    pub(crate) confirming_end: bool,
    /// The source's modification time, as the transport read it (see
    /// [`Upload::set_source_modified`]).
    pub(crate) source_modified: Option<u64>,
    /// The session answered in this process: its expiry is known first-hand.
    pub(crate) session_answered: bool,
    /// The service named the file while other fragments were in flight: judged once they are
    /// answered (no new fragment goes out meanwhile). The range is the answering fragment's.
    pub(crate) pending_candidate: Option<(Option<ByteRange>, Completion)>,
    /// The costly hashes the stored file's check needs of the source (beyond QuickXorHash and
    /// CRC-32): asked of the transport through [`Driven::wanted_hash_kinds`](crate::session::Driven::wanted_hash_kinds).
    pub(crate) wanted_kinds: HashKinds,
}

impl Upload {
    fn with_phase(config: UploadConfig, phase: Phase, now: Instant) -> Result<Upload, UploadError> {
        config.validate()?;
        Ok(Upload {
            planner: config.planner(),
            create_url: None,
            upload_url: None,
            sessions: 0,
            phase,
            missing: Missing::new(config.total),
            fingerprints: Vec::new(),
            unsettled: Vec::new(),
            not_found: 0,
            core: SessionCore::new(config.retry, config.seed, now, config.session.expiry_margin),
            maybe_completed: false,
            awaiting_caller: false,
            explicit_commit: None,
            cancel_requested: false,
            name_conflict: false,
            checking_conflict: false,
            conflict_checked: false,
            source_hashes: None,
            unsent: Missing::new(config.total),
            baseline_pending: false,
            unverified_resume: false,
            sent_in_session: 0,
            retrying: RequestKind::Fragment,
            high_water: 0,
            regressions: 0,
            fragments_issued: 0,
            status_order: None,
            violations: 0,
            malformed: 0,
            session_created: None,
            discard: Vec::new(),
            confirming_end: false,
            source_modified: None,
            session_answered: false,
            pending_candidate: None,
            wanted_kinds: HashKinds::CHEAP,
            config,
        })
    }

    /// An upload that starts by creating a session: `POST create_url` with the target's JSON
    /// body and the caller's bearer token. `create_url` is the `createUploadSession` URL, such
    /// as `https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession`.
    ///
    /// Refuses an empty file ([`ConfigError::EmptyFile`](super::ConfigError::EmptyFile): use a simple upload) and fragment
    /// sizes the target does not accept.
    ///
    /// ```
    /// use resumable_core::graph::{ConfigError, DriveItem, State, Target, Upload, UploadConfig, UploadError};
    /// use resumable_core::http::{Auth, Method};
    /// use resumable_core::session::StateMachine;
    /// use resumable_core::time::Instant;
    ///
    /// let url = "https://graph.microsoft.com/v1.0/me/drive/root:/big.bin:/createUploadSession";
    /// let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 4_533_322);
    /// let mut upload = Upload::create(url, config.clone(), Instant::ZERO).unwrap();
    /// assert_eq!(upload.state(), State::CreatingSession);
    /// let request = upload.poll_request(Instant::ZERO).unwrap();
    /// assert_eq!((request.method, request.auth), (Method::Post, Auth::Bearer));
    ///
    /// let empty = UploadConfig::new(Target::DriveItem(DriveItem::new()), 0);
    /// let refused = Upload::create(url, empty, Instant::ZERO).unwrap_err();
    /// assert_eq!(refused, UploadError::Config(ConfigError::EmptyFile));
    /// ```
    pub fn create(
        create_url: impl Into<String>,
        config: UploadConfig,
        now: Instant,
    ) -> Result<Upload, UploadError> {
        let mut upload = Upload::with_phase(config, Phase::Creating, now)?;
        upload.create_url = Some(SecretUrl::new(create_url));
        Ok(upload)
    }

    /// An upload into a session created elsewhere (another process, a server that hands out
    /// upload URLs). It first asks the session where it is. Without a creation URL
    /// ([`Upload::with_create_url`]) a lost session ends the upload.
    ///
    /// ```
    /// use resumable_core::graph::{DriveItem, State, Target, Upload, UploadConfig};
    /// use resumable_core::http::{Auth, Method};
    /// use resumable_core::session::StateMachine;
    /// use resumable_core::secret::SecretUrl;
    /// use resumable_core::time::Instant;
    ///
    /// let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 1_000);
    /// let url = SecretUrl::new("https://up.example/s/1?tempauth=t");
    /// let mut upload = Upload::continue_session(url, config, Instant::ZERO).unwrap();
    /// assert_eq!(upload.state(), State::Resynchronising);
    /// let status = upload.poll_request(Instant::ZERO).unwrap();
    /// assert_eq!((status.method, status.auth), (Method::Get, Auth::None));
    /// ```
    pub fn continue_session(
        upload_url: SecretUrl,
        config: UploadConfig,
        now: Instant,
    ) -> Result<Upload, UploadError> {
        let mut upload = Upload::with_phase(config, Phase::Resync, now)?;
        upload.upload_url = Some(upload_url);
        upload.sessions = 1;
        // Made elsewhere: whatever it holds was sent by whoever made it.
        upload.baseline_pending = true;
        Ok(upload)
    }

    /// Gives the creation URL, so a lost session can be replaced.
    pub fn with_create_url(mut self, create_url: impl Into<String>) -> Self {
        self.create_url = Some(SecretUrl::new(create_url));
        self
    }

    /// Continues from a checkpoint. With a session, the first request asks it where it is
    /// (`GET uploadUrl`): the server's answer, not the checkpoint, decides what is sent. Without
    /// one, a session is created. A completed checkpoint finishes at once with
    /// [`Event::Completed`], sending nothing (a finished session would answer `404`).
    ///
    /// When the checkpoint [may have finished](Checkpoint::may_have_finished) (the last
    /// fragments or a commit could have gone out before the crash), a session that answers
    /// `404` is not taken for lost: the engine reads the item where it can tell it is this
    /// upload's (a new drive item by path, or an explicit commit, under `fail`) and otherwise
    /// reports [`UploadError::CompletionUnconfirmed`], never uploading everything again into a
    /// new session on a guess.
    ///
    /// Verify the source first ([`Checkpoint::verify`]); a changed source must restart.
    ///
    /// ```
    /// use resumable_core::graph::{DriveItem, State, Target, Upload, UploadConfig};
    /// use resumable_core::time::Instant;
    /// let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 1_000);
    /// let upload = Upload::create("https://g/root:/a:/createUploadSession", config, Instant::ZERO).unwrap();
    /// let resumed = Upload::resume(upload.checkpoint(), Instant::from_millis(9)).unwrap();
    /// assert_eq!(resumed.state(), State::CreatingSession); // no session had been made yet
    /// ```
    pub fn resume(checkpoint: Checkpoint, now: Instant) -> Result<Upload, UploadError> {
        let Checkpoint {
            config,
            create_url,
            upload_url,
            stage,
            confirmed,
            expires,
            fingerprint,
            sessions,
            may_have_finished,
            commit,
            session_created,
            ..
        } = checkpoint;
        let phase = match (&stage, &upload_url, &create_url) {
            (Stage::Completed(completion), _, _) => Phase::Completed(completion.clone()),
            (Stage::NotStarted, _, Some(_)) | (_, None, Some(_)) => Phase::Creating,
            (Stage::NotStarted, _, None) | (_, None, None) => {
                return Err(UploadError::NothingToResume);
            }
            (Stage::Uploading | Stage::CommitPending | Stage::NameConflict, Some(_), _) => {
                Phase::Resync
            }
        };
        let mut upload = Upload::with_phase(config, phase, now)?;
        upload.name_conflict = stage == Stage::NameConflict;
        upload.awaiting_caller = matches!(stage, Stage::CommitPending | Stage::NameConflict);
        upload.create_url = create_url;
        upload.sessions = sessions;
        if let Phase::Completed(completion) = &upload.phase {
            upload
                .core
                .events
                .push(Event::Completed(completion.clone()));
            return Ok(upload);
        }
        if matches!(upload.phase, Phase::Resync) {
            upload.upload_url = upload_url;
            for range in confirmed {
                // A checkpoint's ranges lie inside its total; a foreign one only loses progress
                // here, and the server's answer corrects it anyway.
                let _ = upload.missing.mark_received(range);
            }
            if let Some(expires) = expires {
                upload
                    .core
                    .expiry
                    .set_absolute(now, expires, &upload.core.clock);
            }
            // The account: what the checkpoint confirmed and what its CRCs cover. Bytes beyond it
            // came from requests in flight at the interruption; unless the transport vouches
            // for the source (`accept_held_bytes`), they are not taken on trust.
            for range in upload
                .confirmed_ranges()
                .into_iter()
                .chain(fingerprint.fragments.iter().map(|f| f.range))
            {
                let _ = upload.unsent.mark_received(range);
            }
            upload.high_water = upload.missing.received();
            upload.unverified_resume = true;
            upload.fingerprints = fingerprint.fragments;
            upload.maybe_completed = may_have_finished;
            upload.explicit_commit = commit;
            upload.session_created = session_created;
        }
        upload.source_modified = fingerprint.modified;
        Ok(upload)
    }

    /// Gives the wall-clock time at an instant of the caller's monotonic clock. **A transport
    /// must call this** right after constructing the machine (and may again later), with its own
    /// clock: `WallClock::new(now, UnixTime::from_system_time(SystemTime::now()))`.
    ///
    /// Expiry times and `Retry-After` dates are written on the server's clock: they are measured
    /// from the answers' `Date` headers when there are any, and from this anchor otherwise.
    /// Without either, an expiry is unknown until an answer carries a `Date`, and a
    /// `Retry-After` date waits the longest the policy accepts
    /// ([`RetryPolicy::max_retry_after`](crate::retry::RetryPolicy::max_retry_after)) so as
    /// never to retry early.
    ///
    /// ```
    /// use resumable_core::graph::{DriveItem, Target, Upload, UploadConfig};
    /// use resumable_core::time::{Instant, UnixTime, WallClock};
    /// let config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 1_000);
    /// let now = Instant::ZERO;
    /// let mut upload = Upload::create("https://g/root:/a:/createUploadSession", config, now).unwrap();
    /// upload.set_wall_clock(WallClock::new(now, UnixTime::from_system_time(std::time::SystemTime::now())));
    /// ```
    pub fn set_wall_clock(&mut self, anchor: WallClock) {
        self.core.anchor(anchor);
    }

    /// Where the upload stands.
    pub fn state(&self) -> State {
        let waiting = self.core.schedule.deadline().is_some();
        match &self.phase {
            Phase::Completed(_) => State::Completed,
            Phase::Failed => State::Failed,
            Phase::Cancelled => State::Cancelled,
            Phase::CommitPending => State::CommitPending,
            Phase::NameConflict => State::NameConflict,
            Phase::Cancelling => State::Cancelling,
            _ if waiting => State::WaitingToRetry,
            Phase::Creating => State::CreatingSession,
            Phase::Uploading => State::Uploading,
            Phase::Resync => State::Resynchronising,
            Phase::Committing(_) => State::Committing,
            Phase::CheckingCompletion => State::CheckingCompletion,
            Phase::Verifying(_) => State::Verifying,
            Phase::Abandoning(_) => State::Cancelling,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    /// The file's size.
    pub fn total(&self) -> u64 {
        self.config.total
    }

    /// Bytes the server has confirmed (from its last answer).
    pub fn confirmed(&self) -> u64 {
        self.missing.received()
    }

    /// The ranges the server lacks, as far as its answers said.
    pub fn missing(&self) -> impl Iterator<Item = ByteRange> + '_ {
        self.missing.iter()
    }

    /// The session URL, once a session exists. A credential: it prints redacted.
    pub fn upload_url(&self) -> Option<&SecretUrl> {
        self.upload_url.as_ref()
    }

    /// When the session expires, on the caller's clock, if the server said (its
    /// `expirationDateTime`, placed with the server's clock).
    pub fn expires_at(&self) -> Option<Instant> {
        self.core.expiry.expires_at()
    }

    /// When the session expires on the server's clock, if the server said.
    pub fn expires_at_wall(&self) -> Option<UnixTime> {
        self.core.expiry.wall()
    }

    /// Sessions made or used so far.
    pub fn sessions(&self) -> u32 {
        self.sessions
    }

    /// The fragment size the planner prefers now (it moves with measurements when adaptive).
    pub fn fragment_size(&self) -> u64 {
        self.planner.preferred()
    }

    /// Measured throughput in bytes per second, once a fragment has been measured.
    pub fn bytes_per_second(&self) -> Option<u64> {
        self.core.throughput.bytes_per_second()
    }

    /// Reports the CRC-32 of the bytes the transport sent (or is sending) for fragment request
    /// `id`. Call it before handing in that request's answer. The checkpoint keeps the CRC of
    /// every fragment the server confirms.
    ///
    /// **A transport must call this for every fragment.** Without these reports the
    /// checkpoint's fingerprint holds only the source's size, so a file changed in place
    /// (same length, other bytes) passes [`Checkpoint::verify`] and the resumed upload mixes
    /// old and new bytes. `verify` says how many confirmed bytes it could check
    /// ([`Verified`](super::Verified)), so such a gap is visible.
    pub fn record_fragment_crc(&mut self, id: RequestId, crc32: u32) {
        if let Some(Sent::Fragment(fragment)) = self.core.in_flight.get_mut(id) {
            fragment.crc32 = Some(crc32);
        }
    }

    /// Reports that the first byte of fragment request `id` went out at `now` (after queueing or
    /// connecting). Optional: without it a fragment is measured from `poll_request` to its answer.
    pub fn fragment_started(&mut self, id: RequestId, now: Instant) {
        if let Some(Sent::Fragment(fragment)) = self.core.in_flight.get_mut(id) {
            fragment.started = Some(now);
        }
    }

    /// A snapshot to continue from later with [`Upload::resume`]. Holds the session URL (a
    /// credential): see [`Checkpoint`].
    pub fn checkpoint(&self) -> Checkpoint {
        let stage = match &self.phase {
            // The caller had the whole item from the event; a checkpoint needs no links.
            Phase::Completed(completion) => Stage::Completed(completion.without_links()),
            _ if self.upload_url.is_none() => Stage::NotStarted,
            Phase::NameConflict => Stage::NameConflict,
            Phase::Committing(_) if self.name_conflict => Stage::NameConflict,
            Phase::CommitPending | Phase::Committing(_) => Stage::CommitPending,
            _ => Stage::Uploading,
        };
        let confirmed = self.confirmed_ranges();
        Checkpoint {
            version: CHECKPOINT_VERSION,
            protocol: Protocol::GraphUploadSession,
            config: self.config.clone(),
            create_url: self.create_url.clone(),
            upload_url: self.upload_url.clone(),
            stage,
            confirmed,
            expires: self.core.expiry.wall(),
            fingerprint: super::checkpoint::Fingerprint {
                size: self.config.total,
                fragments: self.fingerprints.clone(),
                modified: self.source_modified,
            },
            sessions: self.sessions,
            may_have_finished: self.upload_url.is_some() && self.next_requests_may_finish(),
            commit: self.explicit_commit.clone(),
            session_created: self.session_created,
        }
    }

    /// The ranges the server confirmed, ascending.
    pub(crate) fn confirmed_ranges(&self) -> Vec<ByteRange> {
        let mut confirmed = Vec::new();
        let mut offset = 0;
        for gap in self.missing.iter() {
            confirmed.extend(ByteRange::new(offset, gap.start()));
            offset = gap.end();
        }
        confirmed.extend(ByteRange::new(offset, self.config.total));
        confirmed
    }

    /// Gives the source's hashes ([`SourceDigest`](crate::digest::SourceDigest), fed with the
    /// bytes read for sending). **A transport must give them** when the machine is in
    /// [`State::Verifying`] (and may give them earlier, as soon as they are complete): the
    /// service's word that the file exists ends the upload only once its size and every hash
    /// it reports match these. Hashes of another size are ignored.
    pub fn set_source_hashes(&mut self, now: Instant, hashes: SourceHashes) {
        if hashes.size != self.config.total {
            return;
        }
        // Keep the richer of what was given.
        if self
            .source_hashes
            .is_none_or(|known| hashes.kinds().covers(known.kinds()))
        {
            self.source_hashes = Some(hashes);
        }
        if let Phase::Verifying(candidate) = &self.phase {
            let candidate = candidate.clone();
            self.finish_candidate(now, candidate);
        }
    }

    /// Reports that the source could not be read to compute its hashes: the upload fails with
    /// [`UploadError::SourceRead`] (nothing can be called done unchecked).
    pub fn source_unreadable(&mut self, now: Instant) {
        let _ = now;
        if !self.is_over() {
            self.fail(UploadError::SourceRead);
        }
    }

    /// Records the source's modification time (nanoseconds since the Unix epoch, as the
    /// transport read it when the upload began), kept in the checkpoint's fingerprint so a
    /// later resume can tell whether the source was touched since.
    pub fn set_source_modified(&mut self, modified: Option<u64>) {
        self.source_modified = modified;
    }

    /// Vouches for the source on resume: it is unchanged since the checkpoint was taken (the
    /// transport compared its modification time with the fingerprint's). Bytes the session
    /// holds beyond what the checkpoint confirmed, sent by requests in flight when the upload
    /// was interrupted, are then taken as this source's. Without it a session holding such bytes
    /// is given up and the upload starts over in a new one, since they may be the source's old
    /// content.
    pub fn accept_held_bytes(&mut self) {
        if self.unverified_resume {
            self.unverified_resume = false;
            self.baseline_pending = true;
        }
    }

    /// Cancels the upload at `now`: `DELETE uploadUrl`, then [`Event::Cancelled`]. Answers to
    /// requests still in flight are ignored. Without a session, or with one known to have
    /// expired by `now`, it ends at once (a session being created is deleted when its answer
    /// arrives).
    pub fn cancel(&mut self, now: Instant) -> Result<(), UploadError> {
        if self.is_over() {
            return Err(self.wrong_state("cancel"));
        }
        self.core.schedule.open();
        self.core
            .in_flight
            .retain(|sent| matches!(sent, Sent::Create));
        if self.upload_url.is_some() && self.core.expiry.has_expired(now) {
            // Nothing to delete: the session is gone, or will be before a DELETE lands.
            self.finish_cancelled();
        } else if self.upload_url.is_some() {
            self.core.in_flight.clear();
            self.phase = Phase::Cancelling;
        } else if !self.core.in_flight.is_empty() {
            self.cancel_requested = true;
            self.phase = Phase::Cancelling;
        } else {
            self.finish_cancelled();
        }
        Ok(())
    }

    /// Commits a deferred upload at `now` (`POST uploadUrl`, `Content-Length: 0`). Only in
    /// [`State::CommitPending`]. If the session has expired by `now`, the loss is reported
    /// ([`Event::SessionLost`], then [`Event::Failed`] with
    /// [`UploadError::UncommittedSessionLost`]) and the command is refused.
    pub fn commit(&mut self, now: Instant) -> Result<(), UploadError> {
        self.check_expiry(now);
        if !matches!(self.phase, Phase::CommitPending) {
            return Err(self.wrong_state("commit"));
        }
        self.phase = Phase::Committing(CommitRoute::Post);
        Ok(())
    }

    /// Commits the session's bytes at `now` as the drive item `commit` names, with
    /// `@microsoft.graph.sourceUrl` (the caller's bearer token goes with it). The way out of a
    /// name conflict ([`State::NameConflict`]), and an alternative to [`Upload::commit`] in
    /// [`State::CommitPending`]. Drive items only. If the session has expired by `now`, the
    /// loss is reported and the command refused, as with [`Upload::commit`].
    pub fn commit_with_source_url(
        &mut self,
        commit: ExplicitCommit,
        now: Instant,
    ) -> Result<(), UploadError> {
        self.check_expiry(now);
        let allowed = matches!(self.config.target, Target::DriveItem(_))
            && matches!(self.phase, Phase::CommitPending | Phase::NameConflict);
        if !allowed {
            return Err(self.wrong_state("commit with a source URL"));
        }
        self.explicit_commit = Some(commit.clone());
        self.phase = Phase::Committing(CommitRoute::SourceUrl(commit));
        Ok(())
    }

    pub(crate) fn is_over(&self) -> bool {
        matches!(
            self.phase,
            Phase::Completed(_) | Phase::Failed | Phase::Cancelled
        )
    }

    fn wrong_state(&self, command: &'static str) -> UploadError {
        UploadError::WrongState {
            command,
            state: self.state(),
        }
    }
}
