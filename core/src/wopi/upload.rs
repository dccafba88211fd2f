//! The [`WopiUpload`] machine: its fields, constructors, getters, transport reports and
//! commands.
//!
//! How it reads answers lives in `answers.rs`, how it keeps its session (expiry, keep-alive,
//! loss, retries, the ends of the upload) in `session.rs`, the requests it builds in
//! `requests.rs`, checkpoints in `checkpoint.rs` and the driver-loop entry points in `driver.rs`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::chunk::ChunkPlanner;
use crate::http::{RequestId, RequestKind};
use crate::secret::{Secret, SecretUrl};
use crate::session::SessionCore;
use crate::time::{Instant, WallClock};
use crate::wopi::{FramedChunk, UploadStream};

use super::config::WopiConfig;
use super::error::WopiError;
use super::event::{WopiCompletion, WopiEvent};
use super::file_streams::session_stream;
use super::state::WopiState;
use crate::wire::wopi_headers::contents_url;

/// Where the machine is.
#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// A session is needed (first, or after one was lost).
    Creating,
    /// Ranges of the stream are being sent.
    Uploading,
    /// The host has the whole stream (or the chunks go inline): `PutChunkedFile`.
    Committing,
    /// A `412` waits for the caller's decision.
    SequenceConflict {
        host: Option<u64>,
    },
    /// The commit succeeded: `CheckFileInfo` says what the host stored.
    CheckingFile(WopiCompletion),
    /// The host reported a `SHA256`; the source's hashes have yet to come.
    VerifyingFile {
        completion: WopiCompletion,
        sha256: String,
    },
    Completed(WopiCompletion),
    Failed,
    Cancelled,
}

/// What a request in flight was for.
#[derive(Clone, Copy, Debug)]
pub enum Sent {
    Create {
        issued: Instant,
    },
    Update(UpdateInFlight),
    Commit,
    /// `CheckFileInfo` after the commit.
    FileInfo,
}

/// An `UpdateUploadSession` in flight.
#[derive(Clone, Copy, Debug)]
pub struct UpdateInFlight {
    /// Where its range starts in the stream.
    pub(crate) offset: u64,
    /// Its length (0 only for a keep-alive with nothing left to send).
    pub(crate) len: u64,
    pub(crate) issued: Instant,
    pub(crate) started: Option<Instant>,
    /// Sent to keep an idle session alive.
    pub(crate) keep_alive: bool,
    /// Sent while the host's offset was unknown: a refusal without an offset cannot be read.
    pub(crate) probe: bool,
}

/// A resumable upload to a WOPI host through an upload session, as a sans-IO state machine.
///
/// Drive it with the [`StateMachine`](crate::session::StateMachine) methods (see the
/// [module documentation](super) for the loop and the protocol choices). Its methods fall in
/// four groups:
///
/// - **constructors**: [`WopiUpload::create`], [`WopiUpload::resume`] (from a
///   [`WopiCheckpoint`](super::WopiCheckpoint));
/// - **getters**: [`WopiUpload::state`], [`WopiUpload::confirmed`], [`WopiUpload::stream_len`],
///   [`WopiUpload::expires_at`], [`WopiUpload::checkpoint`], [`Driven::time_limit`](crate::session::Driven::time_limit), ...;
/// - **transport reports**: [`WopiUpload::fragment_started`] (optional, sharpens measurements);
/// - **commands**: [`WopiUpload::pause`], [`WopiUpload::unpause`],
///   [`WopiUpload::set_keep_alive`], [`WopiUpload::commit_with_sequence_number`],
///   [`WopiUpload::cancel`], [`WopiUpload::set_wall_clock`].
///
/// After any `handle_*` call or command, drain `poll_request`, then `poll_event`, then read
/// `poll_timeout`. The machine hands out one request at a time: ranges go strictly in order.
#[derive(Debug)]
pub struct WopiUpload {
    pub(crate) config: WopiConfig,
    pub(crate) file_url: SecretUrl,
    pub(crate) contents_url: SecretUrl,
    pub(crate) stream: UploadStream<Vec<FramedChunk>>,
    pub(crate) planner: ChunkPlanner,
    pub(crate) token: Option<Secret>,
    pub(crate) sessions: u32,
    /// The host's offset in the session stream, as it last said.
    pub(crate) offset: u64,
    /// An update's outcome is unknown: the next update is a probe.
    pub(crate) unsure: bool,
    pub(crate) phase: Phase,
    /// Requests in flight, events, retry schedule, expiry, server clock, throughput.
    pub(crate) core: SessionCore<Sent, WopiEvent>,
    /// The chunks go inline in one `PutChunkedFile`, without a session.
    pub(crate) inline: bool,
    pub(crate) paused: bool,
    pub(crate) keep_alive: bool,
    /// The host refused a keep-alive in this session: warn instead.
    pub(crate) keep_alive_refused: bool,
    /// The expiry warning for the current expiry was given.
    pub(crate) warned: bool,
    pub(crate) sequence_number: u64,
    pub(crate) adoptions: u32,
    /// A commit got no clear answer: a later 410 or 412 may be its doing.
    pub(crate) commit_unclear: bool,
    /// The last answer's `X-WOPI-FailureReason`, for the errors it leads to.
    pub(crate) host_reason: Option<String>,
    /// What the last retry (if any) was for.
    pub(crate) retrying: RequestKind,
    /// The end of the furthest update sent into this session: a host offset past it claims
    /// bytes never sent. `None` on a resumed session until its first answer (updates in flight
    /// at the interruption may have landed).
    pub(crate) sent_end: Option<u64>,
    /// Stream bytes sent into this session, retries included, against the send budget.
    pub(crate) sent_in_session: u64,
    /// Answers that broke the protocol, and times confirmed bytes were lost, in this upload.
    pub(crate) violations: u32,
    /// Checking whether the host's version after a `412` is this upload's own lost commit:
    /// the error to report if it cannot be shown to be.
    pub(crate) own_commit_check: Option<super::WopiError>,
    /// The source's hashes, once the transport gave them.
    pub(crate) source_hashes: Option<crate::digest::SourceHashes>,
}

impl WopiUpload {
    /// Builds the machine at the start of an upload, after checking the configuration.
    pub(crate) fn build(
        file_url: SecretUrl,
        config: WopiConfig,
        now: Instant,
    ) -> Result<WopiUpload, WopiError> {
        config.validate()?;
        let stream = session_stream(&config.streams, &config.host_chunks)?;
        let inline = stream.is_empty();
        Ok(WopiUpload {
            retrying: RequestKind::Fragment,
            planner: config.planner(),
            contents_url: contents_url(&file_url),
            file_url,
            token: None,
            sessions: 0,
            offset: 0,
            unsure: false,
            phase: if inline {
                Phase::Committing
            } else {
                Phase::Creating
            },
            inline,
            paused: false,
            keep_alive: config.keep_alive,
            keep_alive_refused: false,
            warned: false,
            sequence_number: config.sequence_number,
            adoptions: 0,
            commit_unclear: false,
            host_reason: None,
            // The quarter-of-the-lifetime cap is applied here once, so an expiry restored from a
            // checkpoint (whose granted lifetime is unknown) uses the same margin.
            core: SessionCore::new(
                config.retry,
                config.seed,
                now,
                config.expiry_margin.min(config.session_lifetime / 4),
            ),
            sent_end: Some(0),
            sent_in_session: 0,
            violations: 0,
            source_hashes: None,
            own_commit_check: None,
            stream,
            config,
        })
    }

    /// An upload of the streams `config` lists to the file at `file_url`, such as
    /// `https://host/wopi/files/ID?access_token=…` (a credential: it prints redacted). The
    /// commit goes to the same URL with `/contents` added to the path.
    ///
    /// The caller supplies every chunk's ChunkId and length in `config.streams` (see
    /// [`WopiStream`](super::WopiStream)); the machine lays out the framed session stream from
    /// them and never reads the source. If the host holds every chunk already (or the file is
    /// empty) there is nothing to upload and the machine commits at once, without a session.
    ///
    /// ```
    /// use resumable_core::wopi::{WopiConfig, WopiState, WopiStream, WopiUpload};
    /// use resumable_core::http::{Auth, Method};
    /// use resumable_core::session::StateMachine;
    /// use resumable_core::time::Instant;
    /// use resumable_core::wopi::ChunkId;
    ///
    /// let file = vec![7u8; 100_000];
    /// let config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(&file), 100_000)]);
    /// let url = "https://host.example/wopi/files/42?access_token=secret";
    /// let mut upload = WopiUpload::create(url, config, Instant::ZERO).unwrap();
    /// assert_eq!(upload.state(), WopiState::CreatingSession);
    /// assert_eq!(upload.stream_len(), 32 + 100_000); // one Chunk frame
    /// let create = upload.poll_request(Instant::ZERO).unwrap();
    /// assert_eq!((create.method, create.auth), (Method::Post, Auth::None));
    /// assert_eq!(create.header("X-WOPI-Override"), Some("CREATE_UPLOAD_SESSION"));
    /// assert!(!format!("{create:?}").contains("secret"));
    /// ```
    pub fn create(
        file_url: impl Into<String>,
        config: WopiConfig,
        now: Instant,
    ) -> Result<WopiUpload, WopiError> {
        WopiUpload::build(SecretUrl::new(file_url), config, now)
    }

    /// Gives the wall-clock time at `now` on the caller's monotonic clock, so checkpoints can
    /// record when the session expires. Answers' `Date` headers take over when they come.
    pub fn set_wall_clock(&mut self, anchor: WallClock) {
        self.core.anchor(anchor);
    }

    /// Where the upload stands.
    pub fn state(&self) -> WopiState {
        match &self.phase {
            Phase::Completed(_) => WopiState::Completed,
            Phase::Failed => WopiState::Failed,
            Phase::Cancelled => WopiState::Cancelled,
            Phase::SequenceConflict { .. } => WopiState::SequenceConflict,
            _ if self.paused => WopiState::Paused,
            _ if self.core.schedule.deadline().is_some() => WopiState::WaitingToRetry,
            Phase::Creating => WopiState::CreatingSession,
            Phase::Uploading if self.unsure => WopiState::Resynchronising,
            Phase::Uploading => WopiState::Uploading,
            Phase::Committing => WopiState::Committing,
            Phase::CheckingFile(_) | Phase::VerifyingFile { .. } => WopiState::CheckingFile,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WopiConfig {
        &self.config
    }

    /// The framed session stream: its frames name each chunk's place in the source.
    pub fn upload_stream(&self) -> &UploadStream<Vec<FramedChunk>> {
        &self.stream
    }

    /// The session stream's length in bytes (0 when nothing needs uploading).
    pub fn stream_len(&self) -> u64 {
        self.stream.len()
    }

    /// Stream bytes the host has confirmed in the current session.
    pub fn confirmed(&self) -> u64 {
        self.offset
    }

    /// Sessions made so far.
    pub fn sessions(&self) -> u32 {
        self.sessions
    }

    /// The sequence number the next commit carries (the configured one, or the host's once
    /// adopted).
    pub fn sequence_number(&self) -> u64 {
        self.sequence_number
    }

    /// When the current session expires if nothing extends it (30 minutes, or the configured
    /// lifetime, after the last successful update), on the caller's clock.
    pub fn expires_at(&self) -> Option<Instant> {
        self.core.expiry.expires_at()
    }

    /// Whether the caller paused the upload.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The range size the planner prefers now (it moves with measurements when adaptive).
    pub fn range_size(&self) -> u64 {
        self.planner.preferred()
    }

    /// Measured throughput in bytes per second, once an update has been measured.
    pub fn bytes_per_second(&self) -> Option<u64> {
        self.core.throughput.bytes_per_second()
    }

    /// Reports that the first byte of update request `id` went out at `now` (after queueing or
    /// connecting). Optional: without it an update is measured from `poll_request` to its
    /// answer.
    pub fn fragment_started(&mut self, id: RequestId, now: Instant) {
        if let Some(Sent::Update(update)) = self.core.in_flight.get_mut(id) {
            update.started = Some(now);
        }
    }

    /// Pauses the upload at `now`: no range, session creation or commit starts until
    /// [`WopiUpload::unpause`] (a request in flight still gets its answer). The session's
    /// sliding expiry keeps running: with keep-alive on (the default) a minimal update extends
    /// it shortly before it lapses; off, [`WopiEvent::ExpiryWarning`] comes instead. A session
    /// that lapsed by `now` is reported lost at once, so the pause never hides a loss.
    pub fn pause(&mut self, now: Instant) -> Result<(), WopiError> {
        if self.is_over() {
            return Err(self.wrong_state("pause"));
        }
        self.check_expiry(now);
        if self.is_over() {
            return Err(self.wrong_state("pause"));
        }
        self.paused = true;
        Ok(())
    }

    /// Ends a pause at `now`. If the session expired meanwhile (by `now`, even if no timeout
    /// was handed in since), it is reported lost, a new one is created and the stream starts
    /// again.
    pub fn unpause(&mut self, now: Instant) -> Result<(), WopiError> {
        if self.is_over() || !self.paused {
            return Err(self.wrong_state("unpause"));
        }
        self.paused = false;
        self.check_expiry(now);
        Ok(())
    }

    /// Turns keeping an idle session alive on or off at `now` (see [`WopiConfig::keep_alive`]).
    /// Turned off inside the expiry margin of an idle session, the warning comes at once;
    /// turned on there, the keep-alive goes with the next `poll_request`.
    pub fn set_keep_alive(&mut self, keep_alive: bool, now: Instant) {
        self.keep_alive = keep_alive;
        if keep_alive {
            // A warning given while keep-alive was off must not stop the keep-alive now.
            self.warned = false;
        }
        if !self.is_over() {
            self.check_expiry(now);
        }
    }

    /// After a `412` ([`WopiState::SequenceConflict`]): commits again at `now` with
    /// `sequence_number`, typically the host's (which overwrites the version the host holds).
    /// If the session lapsed while waiting (by `now`), the loss is reported and the stream is
    /// uploaded again in a new session first.
    pub fn commit_with_sequence_number(
        &mut self,
        sequence_number: u64,
        now: Instant,
    ) -> Result<(), WopiError> {
        if !matches!(self.phase, Phase::SequenceConflict { .. }) {
            return Err(self.wrong_state("commit with a sequence number"));
        }
        if sequence_number == 0 {
            return Err(super::error::ConfigError::ZeroSequenceNumber.into());
        }
        self.check_expiry(now);
        if self.is_over() {
            return Err(self.wrong_state("commit with a sequence number"));
        }
        self.sequence_number = sequence_number;
        self.phase = self.working_phase();
        Ok(())
    }

    /// Cancels the upload at `now` with [`WopiEvent::Cancelled`]. Answers to requests in
    /// flight are ignored and every timer stops. WOPI has no way to delete an upload session:
    /// the host drops it when it expires. (`now` is taken, as by every command, so a caller
    /// drives all of them alike; a cancel has nothing to time.)
    pub fn cancel(&mut self, now: Instant) -> Result<(), WopiError> {
        let _ = now;
        if self.is_over() {
            return Err(self.wrong_state("cancel"));
        }
        self.core.expiry.clear();
        self.core.end(WopiEvent::Cancelled);
        self.phase = Phase::Cancelled;
        Ok(())
    }

    /// The phase the upload continues in, from what it holds.
    pub(crate) fn working_phase(&self) -> Phase {
        if self.inline {
            Phase::Committing
        } else if self.token.is_none() {
            Phase::Creating
        } else if self.offset >= self.stream.len() {
            Phase::Committing
        } else {
            Phase::Uploading
        }
    }

    pub(crate) fn is_over(&self) -> bool {
        matches!(
            self.phase,
            Phase::Completed(_) | Phase::Failed | Phase::Cancelled
        )
    }

    pub(crate) fn wrong_state(&self, command: &'static str) -> WopiError {
        WopiError::WrongState {
            command,
            state: self.state(),
        }
    }
}
