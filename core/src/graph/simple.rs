//! The simple upload: a drive item small enough for one request goes as one
//! `PUT …:/content` carrying the whole file, with no upload session (as rclone does below its
//! upload cutoff). Fewer round trips for small files, and the only way to store an empty one.
//!
//! The same promise as the session upload: [`Event::Completed`] means the service holds this
//! source's bytes. So an answer is believed only when it names a drive item whose `size` is the
//! source's and whose every reported hash is the source's; a `2xx` with anything else fails.
//!
//! One request has two ways of going wrong that a session does not:
//!
//! - **An answer lost after the bytes were stored.** Under `replace` the retry is the same
//!   request again (idempotent), and its answer names the item. Under `fail` the retry meets
//!   its own file and answers `409`: ambiguous. So is a `409` for a file an earlier run stored
//!   (a crash, a Ctrl-C, an answer that did not prove the item): running the same command
//!   again must not fail for good on what it did itself. Every `409` is read as "maybe ours":
//!   the item is read back (`GET …:`), and the upload completes only if its size and hashes
//!   (at least one hash) are the source's, the bytes this upload would have stored; otherwise
//!   it is someone else's file and the conflict is reported. Under
//!   `rename` nothing can tell the two apart: a retry after a lost answer may leave a second
//!   copy (`name 1.ext`); use `replace` or `fail` where that matters.
//! - **A `2xx` without a readable item.** The item is read back the same way (except under
//!   `rename`, where the file may have another name) and must prove itself; otherwise the
//!   upload fails, never "completed" on the service's word alone.
//!
//! Retries (5xx, 429, lost connections) follow the same [`SessionCore`] schedule as every
//! machine: exponential backoff with jitter inside the retry budget, `Retry-After` never
//! undercut. A simple upload has no session to expire and nothing to resume: it keeps no
//! checkpoint, and a cancelled one leaves whatever a request in flight stores.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::digest::stored::{HashKind, Mismatch, StoredItem, Verification};
use crate::digest::{HashKinds, SourceHashes};
use crate::http::{Auth, Body, Header, Method, Request, RequestKind, Response, TransportError};
use crate::range::ByteRange;
use crate::retry::{RetryPolicy, StatusClass};
use crate::secret::SecretUrl;
use crate::session::{Failure, SessionCore, retry_after};
use crate::time::{Duration, Instant, WallClock};
use crate::wire::graph_answer::service_error;

use super::config::ConflictBehavior;
use super::error::{ConfigError, TargetKind, UploadError};
use super::event::{Completion, Event};
use super::item_url::item_url_of_content;
use super::state::State;

/// The default cutoff: files up to this many bytes go as a simple upload. Microsoft's guidance
/// for `PUT …/content` is "up to 4 MB"; read as 4 000 000 bytes, the stricter reading, it is
/// accepted whichever the service uses (rclone's default cutoff is the same size).
pub const SIMPLE_UPLOAD_CUTOFF: u64 = 4_000_000;

/// How a simple upload is made: the file's size, the conflict behaviour, the cutoff, the retry
/// policy and the seed of its jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimpleConfig {
    /// The file's size.
    pub total: u64,
    /// `@microsoft.graph.conflictBehavior`, sent as a query parameter. `replace` (the default,
    /// and the service's for a `PUT`) makes retries idempotent.
    pub conflict: ConflictBehavior,
    /// The largest file sent this way ([`SIMPLE_UPLOAD_CUTOFF`] by default); larger ones are
    /// refused with [`ConfigError::TooLargeForSimpleUpload`].
    pub cutoff: u64,
    /// Backoff, retry budget and `Retry-After` bounds.
    pub retry: RetryPolicy,
    /// Seeds the jitter, so runs are reproducible.
    pub seed: u64,
}

impl SimpleConfig {
    /// A simple upload of `total` bytes under `replace`, with the default cutoff and retries.
    ///
    /// ```
    /// use resumable_core::graph::{ConflictBehavior, SimpleConfig, SIMPLE_UPLOAD_CUTOFF};
    /// let config = SimpleConfig::new(1_000).on_conflict(ConflictBehavior::Fail);
    /// assert_eq!((config.conflict, config.cutoff), (ConflictBehavior::Fail, SIMPLE_UPLOAD_CUTOFF));
    /// assert!(config.fits());
    /// assert!(!SimpleConfig::new(SIMPLE_UPLOAD_CUTOFF + 1).fits());
    /// ```
    pub fn new(total: u64) -> Self {
        SimpleConfig {
            total,
            conflict: ConflictBehavior::Replace,
            cutoff: SIMPLE_UPLOAD_CUTOFF,
            retry: RetryPolicy::default(),
            seed: 0,
        }
    }

    /// Sets the conflict behaviour.
    pub fn on_conflict(mut self, conflict: ConflictBehavior) -> Self {
        self.conflict = conflict;
        self
    }

    /// Whether the file is within the cutoff.
    pub const fn fits(&self) -> bool {
        self.total <= self.cutoff
    }
}

/// What a request in flight was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimpleSent {
    /// The `PUT` with the file.
    Put,
    /// The `GET` of the item, to see whether it is this upload's.
    Lookup,
}

/// Why the item is read back, and what to report if it is not this upload's.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LookupCause {
    /// A `409` under `fail` after a request that may have been stored.
    Conflict {
        code: Option<String>,
        message: Option<String>,
    },
    /// A `2xx` whose item could not be read.
    Unreadable,
}

/// A stored item named by the service, before it is checked against the source.
#[derive(Clone, Debug)]
struct Candidate {
    completion: Completion,
    /// Read back after an ambiguous answer, rather than named by the `PUT`'s own answer.
    looked_up: Option<LookupCause>,
}

#[derive(Clone, Debug)]
enum Phase {
    Sending,
    LookingUp(LookupCause),
    /// The item's hashes wait for the source's ([`Driven::give_source_hashes`](crate::session::Driven::give_source_hashes)).
    Verifying(Candidate),
    Completed,
    Failed,
    Cancelled,
}

/// A Graph simple upload (`PUT …:/content` with the whole file) as a sans-IO state machine.
///
/// Driven like every machine here (see [`StateMachine`](crate::session::StateMachine));
/// it reports the Graph [`Event`]s (`RetryScheduled`, `Acknowledged`, `Completed`, `Failed`,
/// `Cancelled`) and ends with the Graph [`Completion`] or [`UploadError`].
///
/// ```
/// use resumable_core::digest::SourceHashes;
/// use resumable_core::graph::{Event, SimpleConfig, SimpleUpload};
/// use resumable_core::http::{Auth, Body, Method, Response};
/// use resumable_core::session::{Driven, StateMachine};
/// use resumable_core::time::Instant;
///
/// let source = b"hello";
/// let url = "https://graph.microsoft.com/v1.0/me/drive/root:/a.txt:/content";
/// let mut upload = SimpleUpload::new(url, SimpleConfig::new(5), Instant::ZERO).unwrap();
/// let put = upload.poll_request(Instant::ZERO).unwrap();
/// assert_eq!((put.method, put.auth, put.body.len()), (Method::Put, Auth::Bearer, 5));
/// assert!(put.url.expose().ends_with(":/content?@microsoft.graph.conflictBehavior=replace"));
/// let hashes = SourceHashes::of(source);
/// let item = format!(
///     r#"{{"id":"01","name":"a.txt","size":5,"file":{{"hashes":{{"quickXorHash":"{}"}}}}}}"#,
///     hashes.quick_xor_base64()
/// );
/// upload.handle_response(Instant::ZERO, put.id, Response::new(201).with_body(item));
/// // The item names hashes: the machine waits for the source's before it believes it.
/// assert!(upload.awaits_source_hashes());
/// upload.give_source_hashes(Instant::ZERO, Some(hashes));
/// let events: Vec<Event> = std::iter::from_fn(|| upload.poll_event()).collect();
/// assert!(matches!(events.last(), Some(Event::Completed(done)) if done.status == 201));
/// ```
#[derive(Debug)]
pub struct SimpleUpload {
    pub(crate) config: SimpleConfig,
    /// The content URL with the conflict behaviour.
    pub(crate) url: SecretUrl,
    /// Where the item is read back, if the content URL names one.
    pub(crate) item_url: Option<SecretUrl>,
    pub(crate) core: SessionCore<SimpleSent, Event>,
    phase: Phase,
    /// A `PUT` went out whose outcome is unknown (no answer, or a 5xx): the file may be stored.
    maybe_stored: bool,
    source_hashes: Option<SourceHashes>,
    wanted_kinds: HashKinds,
    /// The request the scheduled retry is for (named if the caller declines it).
    retrying: RequestKind,
}

impl SimpleUpload {
    /// A simple upload of `config.total` bytes to `content_url` (`…/root:/{path}:/content` or
    /// `…/items/{parent}:/{name}:/content`; [`content_url`](super::content_url) builds one).
    /// The conflict behaviour is added as the query parameter
    /// `@microsoft.graph.conflictBehavior`. Refuses a file over the cutoff.
    pub fn new(
        content_url: impl Into<String>,
        config: SimpleConfig,
        now: Instant,
    ) -> Result<SimpleUpload, UploadError> {
        if !config.fits() {
            return Err(UploadError::Config(ConfigError::TooLargeForSimpleUpload {
                total: config.total,
                max: config.cutoff,
            }));
        }
        let content_url = content_url.into();
        let item_url = item_url_of_content(&content_url).map(SecretUrl::new);
        let joiner = if content_url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{content_url}{joiner}@microsoft.graph.conflictBehavior={}",
            config.conflict
        );
        Ok(SimpleUpload {
            core: SessionCore::new(config.retry, config.seed, now, Duration::ZERO),
            url: SecretUrl::new(url),
            item_url,
            config,
            phase: Phase::Sending,
            maybe_stored: false,
            source_hashes: None,
            wanted_kinds: HashKinds::CHEAP,
            retrying: RequestKind::SimpleUpload,
        })
    }

    /// Gives the wall-clock time (for `Retry-After` dates); a transport calls it once, right
    /// after construction.
    pub fn set_wall_clock(&mut self, anchor: WallClock) {
        self.core.anchor(anchor);
    }

    /// The configuration.
    pub fn config(&self) -> &SimpleConfig {
        &self.config
    }

    /// Where the upload stands.
    pub fn state(&self) -> State {
        match &self.phase {
            Phase::Completed => State::Completed,
            Phase::Failed => State::Failed,
            Phase::Cancelled => State::Cancelled,
            Phase::Verifying(_) => State::Verifying,
            _ if self.core.schedule.deadline().is_some() => State::WaitingToRetry,
            Phase::Sending => State::Uploading,
            Phase::LookingUp(_) => State::CheckingCompletion,
        }
    }

    /// Whether a request that may have stored the file went unanswered (or met a 5xx).
    pub fn may_have_stored(&self) -> bool {
        self.maybe_stored
    }

    /// Cancels at `now`: nothing more is sent. A `PUT` already on its way may still store the
    /// file.
    pub fn cancel(&mut self, now: Instant) -> Result<(), UploadError> {
        let _ = now;
        if self.is_over() {
            return Err(UploadError::WrongState {
                command: "cancel",
                state: self.state(),
            });
        }
        self.phase = Phase::Cancelled;
        self.core.end(Event::Cancelled);
        Ok(())
    }

    /// Gives the source's hashes (see
    /// [`Driven::give_source_hashes`](crate::session::Driven::give_source_hashes)); hashes of
    /// another size are ignored.
    pub fn set_source_hashes(&mut self, now: Instant, hashes: SourceHashes) {
        if hashes.size != self.config.total {
            return;
        }
        if self
            .source_hashes
            .is_none_or(|known| hashes.kinds().covers(known.kinds()))
        {
            self.source_hashes = Some(hashes);
        }
        if let Phase::Verifying(candidate) = &self.phase {
            let candidate = candidate.clone();
            self.judge(now, candidate);
        }
    }

    /// Reports that the source could not be read for its hashes: nothing can be proven.
    pub fn source_unreadable(&mut self) {
        if !self.is_over() {
            self.fail(UploadError::SourceRead);
        }
    }

    pub(crate) fn is_over(&self) -> bool {
        matches!(
            self.phase,
            Phase::Completed | Phase::Failed | Phase::Cancelled
        )
    }

    pub(crate) fn is_verifying(&self) -> bool {
        matches!(self.phase, Phase::Verifying(_))
    }

    pub(crate) fn wanted_kinds(&self) -> HashKinds {
        self.wanted_kinds
    }

    /// The `PUT` (or the lookup) once nothing is in flight.
    pub(crate) fn next_request(&mut self) -> Option<Request> {
        if !self.core.in_flight.is_empty() {
            return None;
        }
        match &self.phase {
            Phase::Sending => {
                let id = self.core.in_flight.issue(SimpleSent::Put);
                let body = match ByteRange::new(0, self.config.total) {
                    Some(range) => Body::Source(range),
                    None => Body::Empty,
                };
                Some(Request {
                    id,
                    kind: RequestKind::SimpleUpload,
                    method: Method::Put,
                    url: self.url.clone(),
                    headers: alloc::vec![Header {
                        name: "Content-Type",
                        value: "application/octet-stream".into(),
                        sensitive: false,
                    }],
                    auth: Auth::Bearer,
                    body,
                })
            }
            Phase::LookingUp(_) => {
                let url = self.item_url.clone()?;
                let id = self.core.in_flight.issue(SimpleSent::Lookup);
                Some(Request {
                    id,
                    kind: RequestKind::FetchResource,
                    method: Method::Get,
                    url,
                    headers: Vec::new(),
                    auth: Auth::Bearer,
                    body: Body::Empty,
                })
            }
            _ => None,
        }
    }

    /// What an answer means.
    pub(crate) fn on_answer(&mut self, now: Instant, sent: SimpleSent, response: &Response) {
        match sent {
            SimpleSent::Put => self.on_put(now, response),
            SimpleSent::Lookup => self.on_lookup(now, response),
        }
    }

    fn on_put(&mut self, now: Instant, response: &Response) {
        let status = response.status;
        match status {
            200 | 201 => {
                let completion = Completion::new(status, body_text(response), None);
                self.judge(
                    now,
                    Candidate {
                        completion,
                        looked_up: None,
                    },
                );
            }
            409 if self.config.conflict == ConflictBehavior::Fail && self.item_url.is_some() => {
                // Perhaps our own file: stored by a request whose answer was lost, in this
                // process or in one that ended before the answer came (a crash, a Ctrl-C, a
                // run that could not prove the item).
                let (code, message) = service_error(&response.body);
                self.look_up(LookupCause::Conflict { code, message });
            }
            _ => match StatusClass::of(status) {
                StatusClass::Throttled | StatusClass::Transient => {
                    // A 5xx may come after the service stored the file (a gateway timing out).
                    self.maybe_stored |= status != 429;
                    self.retry_status(now, RequestKind::SimpleUpload, response);
                }
                _ => self.reject(RequestKind::SimpleUpload, response),
            },
        }
    }

    fn on_lookup(&mut self, now: Instant, response: &Response) {
        let Phase::LookingUp(cause) = &self.phase else {
            return;
        };
        let cause = cause.clone();
        match StatusClass::of(response.status) {
            StatusClass::Success => {
                let completion = Completion::new(200, body_text(response), None);
                self.judge(
                    now,
                    Candidate {
                        completion,
                        looked_up: Some(cause),
                    },
                );
            }
            StatusClass::Throttled | StatusClass::Transient => {
                self.retry_status(now, RequestKind::FetchResource, response);
            }
            _ => self.not_ours(cause, Mismatch::Unreadable),
        }
    }

    /// What it means that a request got no answer.
    pub(crate) fn on_no_answer(&mut self, now: Instant, sent: SimpleSent, error: TransportError) {
        if error == TransportError::SourceRead {
            return self.fail(UploadError::SourceRead);
        }
        let kind = match sent {
            SimpleSent::Put => {
                self.maybe_stored |= error.is_ambiguous();
                RequestKind::SimpleUpload
            }
            SimpleSent::Lookup => RequestKind::FetchResource,
        };
        self.retry_later(now, kind, Failure::Transport(error), None);
    }

    /// Checks the item a candidate names against the source: size always, every hash reported;
    /// an item read back must carry at least one hash (a size alone does not tell this file
    /// from another of the same length).
    fn judge(&mut self, now: Instant, candidate: Candidate) {
        let _ = now;
        let stored = candidate
            .completion
            .item
            .as_deref()
            .ok_or(Mismatch::Unreadable)
            .and_then(StoredItem::parse_graph)
            .and_then(|stored| {
                stored.check_size(self.config.total, true)?;
                Ok(stored)
            });
        let stored = match stored {
            Ok(stored) => stored,
            Err(mismatch) => return self.reject_candidate(candidate, mismatch),
        };
        if stored.hashes.is_empty() {
            if candidate.looked_up.is_some() {
                return self.reject_candidate(candidate, Mismatch::NotProven);
            }
            let verification = Verification {
                size: true,
                ..Verification::default()
            };
            return self.complete(candidate.completion, verification);
        }
        // A cheap hash (QuickXorHash, CRC-32) proves the content; only SHA-1 or SHA-256 reported
        // means those must be computed over the source.
        let cheap = stored
            .hashes
            .iter()
            .any(|(kind, _)| matches!(kind, HashKind::QuickXor | HashKind::Crc32));
        let wanted = if cheap {
            HashKinds::CHEAP
        } else {
            stored.reported_kinds()
        };
        let Some(source) = self.source_hashes.filter(|h| h.kinds().covers(wanted)) else {
            if self.wanted_kinds.covers(wanted) && self.source_hashes.is_some() {
                // Asked for and still not given: nothing proves the file.
                return self.fail(UploadError::SourceRead);
            }
            self.wanted_kinds = self.wanted_kinds.union(wanted);
            self.core.schedule.open();
            self.phase = Phase::Verifying(candidate);
            return;
        };
        match stored.check(&source, true) {
            Ok(verification) => self.complete(candidate.completion, verification),
            Err(mismatch) => self.reject_candidate(candidate, mismatch),
        }
    }

    /// An item that is not the source: the service stored other bytes (its own answer), or
    /// the item read back is someone else's.
    fn reject_candidate(&mut self, candidate: Candidate, mismatch: Mismatch) {
        match candidate.looked_up {
            Some(cause) => self.not_ours(cause, mismatch),
            // A 2xx without a readable item: read it back where that can tell.
            None if (candidate.completion.item.is_none() || mismatch == Mismatch::Unreadable)
                && self.item_url.is_some()
                && self.config.conflict != ConflictBehavior::Rename =>
            {
                self.look_up(LookupCause::Unreadable);
            }
            None => self.fail(UploadError::StoredFileDiffers {
                destination: TargetKind::DriveItem,
                mismatch,
            }),
        }
    }

    /// The item read back is not this upload's: report what sent us looking.
    fn not_ours(&mut self, cause: LookupCause, mismatch: Mismatch) {
        let error = match cause {
            LookupCause::Conflict { code, message } => UploadError::Rejected {
                during: RequestKind::SimpleUpload,
                status: 409,
                code,
                message,
            },
            LookupCause::Unreadable => UploadError::StoredFileDiffers {
                destination: TargetKind::DriveItem,
                mismatch,
            },
        };
        self.fail(error);
    }

    fn look_up(&mut self, cause: LookupCause) {
        self.core.schedule.open();
        self.phase = Phase::LookingUp(cause);
    }

    fn retry_status(&mut self, now: Instant, kind: RequestKind, response: &Response) {
        let unplaced = self.config.retry.max_retry_after;
        let wait = retry_after(response, now, &self.core.clock, unplaced);
        self.retry_later(now, kind, Failure::Status(response.status), wait);
    }

    fn retry_later(
        &mut self,
        now: Instant,
        kind: RequestKind,
        failure: Failure,
        wait: Option<Duration>,
    ) {
        let retrying = |at, delay| Event::RetryScheduled {
            reason: failure,
            at,
            delay,
        };
        self.retrying = kind;
        if let Err(reason) = self.core.retry(now, failure, wait, retrying) {
            self.fail(UploadError::GaveUp {
                during: kind,
                last: failure,
                reason,
            });
        }
    }

    fn reject(&mut self, during: RequestKind, response: &Response) {
        let (code, message) = service_error(&response.body);
        self.fail(UploadError::Rejected {
            during,
            status: response.status,
            code,
            message,
        });
    }

    fn complete(&mut self, completion: Completion, verification: Verification) {
        if let Some(range) = ByteRange::new(0, self.config.total) {
            self.core.events.push(Event::Acknowledged {
                range,
                confirmed: self.config.total,
                total: self.config.total,
            });
        }
        self.phase = Phase::Completed;
        self.core.end(Event::Completed(Completion {
            verification,
            ..completion
        }));
    }

    fn fail(&mut self, error: UploadError) {
        self.phase = Phase::Failed;
        self.core.end(Event::Failed(error));
    }

    /// The caller's retry hook declined the scheduled retry: the upload fails with the last
    /// failure (nothing to keep: a simple upload has no session).
    pub(crate) fn decline_retry(&mut self) {
        if let Some((last, reason)) = self.core.decline_retry() {
            self.fail(UploadError::GaveUp {
                during: self.retrying,
                last,
                reason,
            });
        }
    }
}

/// The answer's body as text, if it has one.
fn body_text(response: &Response) -> Option<String> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(String::from_utf8_lossy(&response.body).into_owned())
}

#[cfg(test)]
#[path = "tests/simple.rs"]
mod tests;
