//! The tus / IETF draft upload machine: one request at a time, the server's offset the only
//! truth, completion only when a `HEAD` after the last request shows every byte.

use alloc::format;
use alloc::string::String;

use crate::digest::DigestAlgorithm;
use crate::http::{Auth, Body, Header, Method, Request, RequestKind, Response, TransportError};
use crate::range::ByteRange;
use crate::secret::SecretUrl;
use crate::session::{Failure, SessionCore, Violation, retry_after};
use crate::time::{Duration, Instant, UnixTime};
use crate::wire::tus_headers::{self as wire, extension};

use super::config::{ChecksumPolicy, MIN_CHUNK_SIZE, TusConfig, Variant};
use super::event::{LossCause, ServerOffer, TusCompletion, TusError, TusEvent};

/// Offsets that go back (the server lost bytes it had confirmed) tolerated before the server is
/// called a liar.
const MAX_REGRESSIONS: u32 = 3;

/// What a request in flight was for.
#[derive(Clone, Debug)]
pub struct Sent {
    pub(crate) what: Purpose,
    /// CRC-32 of the source bytes the body carried, once the transport reported it whole.
    pub(crate) crc: Option<u32>,
    /// When its first body byte left.
    pub(crate) started: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    Discover,
    /// `declares`: it carried `Upload-Length`.
    Create {
        range: Span,
        declares: bool,
    },
    /// `declares`: it carried `Upload-Length` (a deferred length, now known); `completes`:
    /// it carried the draft's `Upload-Complete: ?1`.
    Append {
        range: Span,
        declares: bool,
        completes: bool,
    },
    Check,
    Delete,
}

/// Bytes a request carried: `start..end`, possibly none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl Span {
    const fn new(start: u64, end: u64) -> Self {
        Span {
            start,
            end: if end < start { start } else { end },
        }
    }

    const fn len(self) -> u64 {
        self.end - self.start
    }

    const fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The bytes as a range, if there are any.
    const fn bytes(self) -> Option<ByteRange> {
        ByteRange::new(self.start, self.end)
    }
}

/// A violation: the server claims bytes `from..to` that were never sent.
fn claimed_unsent(from: u64, to: u64) -> TusError {
    match ByteRange::new(from, to) {
        Some(range) => TusError::Violation(Violation::ClaimedUnsent { range }),
        None => TusError::Violation(Violation::Regressed { from, to }),
    }
}

/// What the machine does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// tus: `OPTIONS` first.
    Discover,
    /// `POST` a new upload.
    Create,
    /// `PATCH` the next bytes.
    Send,
    /// `HEAD`: where is the server?
    Check,
    /// `DELETE` (cancelling).
    Delete,
    /// Completed, failed or cancelled.
    Ended,
}

/// The CRC-32 of the source's first `len` bytes, all confirmed by the server: what a
/// checkpoint checks the source against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub(crate) len: u64,
    pub(crate) crc: u32,
}

impl Prefix {
    pub(crate) fn extend(&mut self, crc: u32, len: u64) {
        let mut hasher = crc32fast::Hasher::new_with_initial_len(self.crc, self.len);
        hasher.combine(&crc32fast::Hasher::new_with_initial_len(crc, len));
        self.crc = hasher.finalize();
        self.len += len;
    }
}

/// A resumable upload to a tus 1.0 server or an IETF draft server, sans-IO.
///
/// Built by [`TusUpload::create`] (or [`plan_start`](super::plan_start), which resumes from a
/// checkpoint); driven like every machine here (see
/// [`StateMachine`](crate::session::StateMachine)). One request is in flight at a time: the
/// protocols allow no more on one upload.
///
/// ```
/// use resumable_core::http::{Method, Response};
/// use resumable_core::session::StateMachine;
/// use resumable_core::time::Instant;
/// use resumable_core::tus::{TusConfig, TusEvent, TusUpload, Variant};
///
/// let config = TusConfig::new(Variant::Tus1, "http://127.0.0.1:1080/files/", Some(5));
/// let mut upload = TusUpload::create(config, Instant::ZERO).unwrap();
/// let now = Instant::ZERO;
/// let options = upload.poll_request(now).unwrap();
/// assert_eq!(options.method, Method::Options);
/// upload.handle_response(now, options.id, Response::new(204)
///     .with_header("Tus-Version", "1.0.0")
///     .with_header("Tus-Extension", "creation"));
/// let post = upload.poll_request(now).unwrap();
/// assert_eq!((post.method, post.header("Upload-Length")), (Method::Post, Some("5")));
/// upload.handle_response(now, post.id, Response::new(201).with_header("Location", "/files/1"));
/// let patch = upload.poll_request(now).unwrap();
/// assert_eq!(patch.url.expose(), "http://127.0.0.1:1080/files/1");
/// upload.handle_response(now, patch.id, Response::new(204).with_header("Upload-Offset", "5"));
/// let head = upload.poll_request(now).unwrap();
/// assert_eq!(head.method, Method::Head);
/// upload.handle_response(now, head.id, Response::new(200)
///     .with_header("Upload-Offset", "5").with_header("Upload-Length", "5"));
/// let events: Vec<TusEvent> = std::iter::from_fn(|| upload.poll_event()).collect();
/// assert!(matches!(events.last(), Some(TusEvent::Completed(done)) if done.length == 5));
/// ```
#[derive(Debug)]
pub struct TusUpload {
    pub(crate) core: SessionCore<Sent, TusEvent>,
    pub(crate) config: TusConfig,
    pub(crate) offer: Option<ServerOffer>,
    pub(crate) url: Option<SecretUrl>,
    pub(crate) phase: Phase,
    /// Bytes the server holds, by its last word.
    pub(crate) confirmed: u64,
    /// The end of the bytes ever sent into the current upload (after a resume, a bound from the
    /// checkpoint: what the earlier run had sent, and two requests more).
    pub(crate) sent_through: u64,
    /// Resumed, and the server has not said where it is yet.
    pub(crate) awaiting_first_word: bool,
    /// After a resume with a source modified since the checkpoint: the bytes the server may hold
    /// that the checkpoint's CRC vouches for.
    pub(crate) trusted_through: Option<u64>,
    pub(crate) uploads: u32,
    pub(crate) available: u64,
    /// Whether the server was told the length (always, unless it was deferred).
    pub(crate) length_declared: bool,
    pub(crate) chunk_size: u64,
    pub(crate) prefix: Prefix,
    pub(crate) regressions: u32,
    /// Whether a request carried bytes without a checksum.
    pub(crate) unchecked_request: bool,
    /// IETF: the server reported the upload complete.
    pub(crate) server_complete: bool,
    /// The `HEAD` in flight or next is the one that proves the end (not a resynchronisation).
    pub(crate) verifying: bool,
    pub(crate) modified: Option<u64>,
    pub(crate) completion: Option<TusCompletion>,
    pub(crate) failure: Option<TusError>,
}

impl TusUpload {
    /// A new upload: nothing on the server yet.
    pub fn create(config: TusConfig, now: Instant) -> Result<Self, TusError> {
        config.validate().map_err(TusError::Config)?;
        let phase = match config.variant {
            Variant::Tus1 => Phase::Discover,
            Variant::Ietf(_) => Phase::Create,
        };
        let offer = match config.variant {
            Variant::Tus1 => None,
            // The draft has no discovery: creation, deferred lengths and `DELETE` are part
            // of it; checksums are not.
            Variant::Ietf(_) => Some(ServerOffer {
                creation: true,
                creation_with_upload: false,
                defer_length: true,
                termination: true,
                expiration: true,
                checksum: None,
                max_size: None,
            }),
        };
        Ok(TusUpload {
            core: SessionCore::new(config.retry, config.seed, now, config.expiry_margin),
            available: config.total.unwrap_or(0),
            length_declared: false,
            chunk_size: config.chunk_size,
            config,
            offer,
            url: None,
            phase,
            confirmed: 0,
            sent_through: 0,
            awaiting_first_word: false,
            trusted_through: None,
            uploads: 0,
            prefix: Prefix::default(),
            regressions: 0,
            unchecked_request: false,
            server_complete: false,
            verifying: false,
            modified: None,
            completion: None,
            failure: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TusConfig {
        &self.config
    }

    /// The upload's URL, once the server created it.
    pub fn upload_url(&self) -> Option<&SecretUrl> {
        self.url.as_ref()
    }

    /// Bytes the server holds, by its last word.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    /// The source's size, if known.
    pub fn total(&self) -> Option<u64> {
        self.config.total
    }

    /// Uploads made or used.
    pub fn uploads(&self) -> u32 {
        self.uploads
    }

    /// What the server offers, once known.
    pub fn offer(&self) -> Option<&ServerOffer> {
        self.offer.as_ref()
    }

    /// When the upload expires on the caller's clock, if the server said.
    pub fn expires_at(&self) -> Option<Instant> {
        self.core.expiry.expires_at()
    }

    /// How it ended, if it did.
    pub fn completion(&self) -> Option<&TusCompletion> {
        self.completion.as_ref()
    }

    /// A source of unknown length now holds `available` bytes (it only grows).
    pub fn source_grew(&mut self, available: u64) {
        self.available = self.available.max(available);
    }

    /// A source of unknown length ended at `total` bytes: the next request tells the server.
    pub fn source_ended(&mut self, total: u64) {
        if self.config.total.is_none() {
            self.config.total = Some(total);
            self.available = total;
        }
    }

    /// Cancels: the upload is deleted where the server allows it (tus `termination`, always in
    /// the draft), else left to expire.
    pub fn cancel(&mut self, now: Instant) -> Result<(), TusError> {
        let _ = now;
        if self.phase == Phase::Ended {
            return Err(TusError::Rejected {
                status: 0,
                during: "cancel (the upload has ended)",
            });
        }
        self.core.in_flight.clear();
        self.core.schedule.open();
        let deletable = self.offer.as_ref().is_some_and(|offer| offer.termination);
        if self.url.is_some() && deletable {
            self.phase = Phase::Delete;
        } else {
            self.end_with(TusEvent::Cancelled);
        }
        Ok(())
    }

    pub(crate) fn is_over(&self) -> bool {
        self.phase == Phase::Ended
    }

    fn checksum(&self) -> Option<DigestAlgorithm> {
        match self.config.variant {
            Variant::Tus1 => self.offer.as_ref().and_then(|offer| offer.checksum),
            Variant::Ietf(_) => None,
        }
    }

    /// The request the protocol wants next.
    pub(crate) fn next_request(&mut self, now: Instant) -> Option<Request> {
        let _ = now;
        if !self.core.in_flight.is_empty() {
            return None;
        }
        match self.phase {
            Phase::Discover => Some(self.request(
                Purpose::Discover,
                RequestKind::Discover,
                Method::Options,
                self.config.endpoint.clone(),
                Body::Empty,
                alloc::vec::Vec::new(),
            )),
            Phase::Create => Some(self.creation()),
            Phase::Send => match self.append() {
                Some(request) => Some(request),
                // Nothing left to send: a `HEAD` proves (or disproves) the end.
                None if self.config.total == Some(self.confirmed) => {
                    self.phase = Phase::Check;
                    self.verifying = true;
                    self.next_request(now)
                }
                None => None,
            },
            Phase::Check => {
                let url = self.url.clone()?;
                let headers = self.version_headers();
                Some(self.request(
                    Purpose::Check,
                    RequestKind::Status,
                    Method::Head,
                    url,
                    Body::Empty,
                    headers,
                ))
            }
            Phase::Delete => {
                let url = self.url.clone()?;
                let headers = self.version_headers();
                Some(self.request(
                    Purpose::Delete,
                    RequestKind::Cancel,
                    Method::Delete,
                    url,
                    Body::Empty,
                    headers,
                ))
            }
            Phase::Ended => None,
        }
    }

    /// `Tus-Resumable` or `Upload-Draft-Interop-Version`: on every request but `OPTIONS`.
    pub(crate) fn version_headers(&self) -> alloc::vec::Vec<Header> {
        alloc::vec![match self.config.variant {
            Variant::Tus1 => Header::new(wire::RESUMABLE, wire::TUS_VERSION_1),
            Variant::Ietf(version) =>
                Header::new(wire::INTEROP_VERSION, format!("{}", version.number()),),
        }]
    }

    fn creation(&mut self) -> Request {
        let mut headers = self.version_headers();
        let offer = self.offer.clone().unwrap_or_default();
        let mut range = Span::new(0, 0);
        match self.config.variant {
            Variant::Tus1 => {
                match self.config.total {
                    Some(total) => headers.push(Header::new(wire::LENGTH, format!("{total}"))),
                    None => headers.push(Header::new(wire::DEFER_LENGTH, "1")),
                }
                if !self.config.metadata.is_empty() {
                    headers.push(Header::new(
                        wire::METADATA,
                        wire::metadata(&self.config.metadata),
                    ));
                }
                let first = self.chunk_size.min(self.available);
                if offer.creation_with_upload && self.config.creation_with_upload && first > 0 {
                    range = Span::new(0, first);
                    headers.push(Header::new("Content-Type", wire::OFFSET_OCTET_STREAM));
                }
            }
            Variant::Ietf(_) => {
                // The careful strategy: an empty creation request, so a lost answer costs no
                // bytes (the `Location` of a `104` is not seen by every HTTP client).
                headers.push(Header::new(wire::COMPLETE, "?0"));
                if let Some(total) = self.config.total {
                    headers.push(Header::new(wire::LENGTH, format!("{total}")));
                }
            }
        }
        let body = match range.bytes() {
            Some(bytes) => {
                self.note_bytes_sent(bytes);
                Body::Source(bytes)
            }
            None => Body::Empty,
        };
        let declares = self.config.total.is_some();
        self.request(
            Purpose::Create { range, declares },
            RequestKind::CreateSession,
            Method::Post,
            self.config.endpoint.clone(),
            body,
            headers,
        )
    }

    fn append(&mut self) -> Option<Request> {
        let url = self.url.clone()?;
        let start = self.confirmed;
        let end = start.saturating_add(self.chunk_size).min(self.available);
        let total = self.config.total;
        let last = total == Some(end);
        let declare = !self.length_declared && total.is_some();
        let finish_ietf =
            matches!(self.config.variant, Variant::Ietf(_)) && last && !self.server_complete;
        if end == start && !declare && !finish_ietf {
            // Waiting for a source of unknown length to grow.
            return None;
        }
        let range = Span::new(start, end);
        let mut headers = self.version_headers();
        headers.push(Header::new(wire::OFFSET, format!("{start}")));
        match self.config.variant {
            Variant::Tus1 => {
                headers.push(Header::new("Content-Type", wire::OFFSET_OCTET_STREAM));
                if let (true, Some(total)) = (declare, total) {
                    headers.push(Header::new(wire::LENGTH, format!("{total}")));
                }
            }
            Variant::Ietf(_) => {
                headers.push(Header::new("Content-Type", wire::PARTIAL_UPLOAD));
                headers.push(Header::new(wire::COMPLETE, if last { "?1" } else { "?0" }));
            }
        }
        let body = match range.bytes() {
            Some(bytes) => {
                self.note_bytes_sent(bytes);
                Body::Source(bytes)
            }
            None => Body::Empty,
        };
        Some(self.request(
            Purpose::Append {
                range,
                declares: declare && matches!(self.config.variant, Variant::Tus1),
                completes: last && matches!(self.config.variant, Variant::Ietf(_)),
            },
            RequestKind::Fragment,
            Method::Patch,
            url,
            body,
            headers,
        ))
    }

    fn note_bytes_sent(&mut self, range: ByteRange) {
        self.sent_through = self.sent_through.max(range.end());
        if self.checksum().is_none() {
            self.unchecked_request = true;
        }
    }

    fn request(
        &mut self,
        what: Purpose,
        kind: RequestKind,
        method: Method,
        url: SecretUrl,
        body: Body,
        headers: alloc::vec::Vec<Header>,
    ) -> Request {
        let id = self.core.in_flight.issue(Sent {
            what,
            crc: None,
            started: None,
        });
        Request {
            id,
            kind,
            method,
            url,
            headers,
            auth: Auth::None,
            body,
        }
    }

    /// Whether `request` carries bytes that need an `Upload-Checksum`, and with what.
    pub(crate) fn checksum_for(&self, request: &Request) -> Option<DigestAlgorithm> {
        let carries =
            matches!(request.method, Method::Patch | Method::Post) && !request.body.is_empty();
        carries.then(|| self.checksum()).flatten()
    }

    // ---- answers ----

    pub(crate) fn on_answer(&mut self, now: Instant, sent: Sent, response: &Response) {
        match sent.what {
            Purpose::Discover => self.on_discover(now, response),
            Purpose::Create { range, declares } => {
                if declares && (200..300).contains(&response.status) {
                    self.length_declared = true;
                }
                self.on_create(now, range, sent, response);
            }
            Purpose::Append {
                range,
                declares,
                completes,
            } => {
                if (declares || completes) && (200..300).contains(&response.status) {
                    // The length the request gave (the draft's `?1` gives it too) is the
                    // server's now.
                    self.length_declared = true;
                }
                self.on_append(now, range, completes, sent, response);
            }
            Purpose::Check => self.on_check(now, response),
            Purpose::Delete => self.end_with(TusEvent::Cancelled),
        }
    }

    pub(crate) fn on_no_answer(&mut self, now: Instant, sent: Sent, error: TransportError) {
        if error == TransportError::SourceRead {
            self.fail(TusError::SourceUnreadable);
            return;
        }
        let next = match sent.what {
            Purpose::Delete => {
                self.end_with(TusEvent::Cancelled);
                return;
            }
            // Bytes may have reached the server: ask where it is.
            Purpose::Append { .. } if error.is_ambiguous() => Phase::Check,
            Purpose::Create { range, .. } if !range.is_empty() && error.is_ambiguous() => {
                // The upload may exist, but without its URL it cannot be used: a new one.
                Phase::Create
            }
            _ => self.phase,
        };
        self.retry(now, Failure::Transport(error), None, next);
    }

    fn on_discover(&mut self, now: Instant, response: &Response) {
        let status = response.status;
        if status == 412 {
            return self.version_refused(response);
        }
        let offer = if (200..300).contains(&status) {
            if let Some(versions) = response.header(wire::VERSION)
                && !wire::list(versions).contains(&wire::TUS_VERSION_1)
            {
                return self.version_refused(response);
            }
            let extensions = response
                .header(wire::EXTENSION)
                .map(wire::list)
                .unwrap_or_default();
            let has = |name: &str| extensions.iter().any(|e| e.eq_ignore_ascii_case(name));
            let algorithms = response
                .header(wire::CHECKSUM_ALGORITHM)
                .map(wire::list)
                .unwrap_or_default();
            let offered = |a: DigestAlgorithm| {
                has(extension::CHECKSUM)
                    && algorithms
                        .iter()
                        .any(|n| DigestAlgorithm::from_name(n) == Some(a))
            };
            let checksum = match self.config.checksum {
                ChecksumPolicy::Off => None,
                ChecksumPolicy::Auto => [DigestAlgorithm::Crc32, DigestAlgorithm::Sha1]
                    .into_iter()
                    .find(|a| offered(*a)),
                ChecksumPolicy::Require(algorithm) => {
                    if !offered(algorithm) {
                        return self.fail(TusError::NotOffered {
                            extension: format!("checksums with {algorithm}"),
                        });
                    }
                    Some(algorithm)
                }
            };
            ServerOffer {
                creation: has(extension::CREATION),
                creation_with_upload: has(extension::CREATION_WITH_UPLOAD),
                defer_length: has(extension::CREATION_DEFER_LENGTH),
                termination: has(extension::TERMINATION),
                expiration: has(extension::EXPIRATION),
                checksum,
                max_size: response.header(wire::MAX_SIZE).and_then(wire::non_negative),
            }
        } else if matches!(status, 404 | 405 | 501) {
            // No discovery here: assume plain creation and nothing else.
            ServerOffer {
                creation: true,
                ..ServerOffer::default()
            }
        } else {
            return self.failed_status(now, response, "discovery", self.phase);
        };
        if let (Some(total), Some(max)) = (self.config.total, offer.max_size)
            && total > max
        {
            return self.fail(TusError::TooLarge {
                total,
                max: Some(max),
            });
        }
        if self.url.is_none() && !offer.creation {
            return self.fail(TusError::NotOffered {
                extension: "creation".into(),
            });
        }
        if self.config.total.is_none() && !offer.defer_length {
            return self.fail(TusError::NotOffered {
                extension: "creation-defer-length (the source's length is not known yet)".into(),
            });
        }
        self.core.events.push(TusEvent::Discovered(offer.clone()));
        self.offer = Some(offer);
        self.core.schedule.progress(now);
        self.phase = if self.url.is_some() {
            Phase::Check
        } else {
            Phase::Create
        };
    }

    fn on_create(&mut self, now: Instant, range: Span, sent: Sent, response: &Response) {
        let status = response.status;
        if !(200..300).contains(&status) {
            if status == 413 {
                return self.fail(TusError::TooLarge {
                    total: self.config.total.unwrap_or(self.available),
                    max: self.offer.as_ref().and_then(|o| o.max_size),
                });
            }
            return self.failed_status(now, response, "creation", Phase::Create);
        }
        let Some(url) = response.header("location").and_then(|location| {
            wire::resolve_location(self.config.endpoint.expose(), location).ok()
        }) else {
            return self.fail(TusError::BadLocation);
        };
        self.url = Some(SecretUrl::new(url));
        self.uploads += 1;
        self.confirmed = 0;
        self.prefix = Prefix::default();
        self.sent_through = range.end;
        self.awaiting_first_word = false;
        self.trusted_through = None;
        self.regressions = 0;
        self.server_complete = false;
        self.core.expiry.clear();
        if self.observe_expiry(now, response) {
            return;
        }
        self.core.events.push(TusEvent::UploadCreated {
            number: self.uploads,
            url: self
                .url
                .clone()
                .unwrap_or_else(|| SecretUrl::new(String::new())),
        });
        self.core.schedule.progress(now);
        if range.is_empty() {
            self.phase = Phase::Send;
            self.after_progress();
            return;
        }
        match response.header(wire::OFFSET).and_then(wire::non_negative) {
            Some(offset) => self.on_offset_after_bytes(now, range, sent, offset, status),
            None => self.phase = Phase::Check,
        }
    }

    fn on_append(
        &mut self,
        now: Instant,
        range: Span,
        completes: bool,
        sent: Sent,
        response: &Response,
    ) {
        let status = response.status;
        if self.observe_expiry(now, response) {
            return;
        }
        if (200..300).contains(&status) {
            // A draft append that carried `Upload-Complete: ?1` and succeeded completed the
            // upload, unless the answer says otherwise (a `HEAD` checks it all the same).
            let complete = response.header(wire::COMPLETE).and_then(wire::sf_boolean);
            self.server_complete = complete.unwrap_or(completes);
            return match response.header(wire::OFFSET).and_then(wire::non_negative) {
                Some(offset) => self.on_offset_after_bytes(now, range, sent, offset, status),
                // Ask, within the budget: a server that never says would loop otherwise.
                None => self.retry(
                    now,
                    Failure::MissingHeader(wire::OFFSET),
                    None,
                    Phase::Check,
                ),
            };
        }
        match status {
            // A conflict costs a retry: a server that answers 409 whatever the offset must
            // not keep the client asking forever.
            409 => {
                self.retry(now, Failure::Status(status), None, Phase::Check);
                if let (Some(offset), Variant::Ietf(_), false) = (
                    response.header(wire::OFFSET).and_then(wire::non_negative),
                    self.config.variant,
                    self.is_over(),
                ) {
                    self.on_server_offset(now, offset);
                }
            }
            460 | 417 if self.checksum().is_some() => {
                if let Some(range) = range.bytes() {
                    self.core
                        .events
                        .push(TusEvent::ChecksumMismatch { range, status });
                }
                self.retry(now, Failure::Status(status), None, Phase::Send);
            }
            413 => {
                let limit = response
                    .header(wire::LIMIT)
                    .and_then(wire::upload_limit)
                    .and_then(|limit| limit.max_append_size)
                    .filter(|&max| max > 0 && max < range.len());
                let smaller = limit.unwrap_or(range.len() / 2);
                if smaller < MIN_CHUNK_SIZE.min(range.len()) || range.len() <= 1 {
                    return self.fail(TusError::Rejected {
                        status,
                        during: "append (too large even when small)",
                    });
                }
                self.chunk_size = smaller.max(1);
                self.core.events.push(TusEvent::ChunkShrunk {
                    chunk_size: self.chunk_size,
                });
                self.phase = Phase::Check;
            }
            // @tus/server answers an append it aborted for a newer request on the same upload
            // (its lock) with 400: after a `HEAD`, within the retry budget, the next goes on.
            400 => self.retry(now, Failure::Status(status), None, Phase::Check),
            _ => self.failed_status(now, response, "append", Phase::Check),
        }
    }

    fn on_check(&mut self, now: Instant, response: &Response) {
        let status = response.status;
        if !(200..300).contains(&status) {
            return self.failed_status(now, response, "offset check", Phase::Check);
        }
        if self.observe_expiry(now, response) {
            return;
        }
        let Some(offset) = response.header(wire::OFFSET).and_then(wire::non_negative) else {
            return self.retry(
                now,
                Failure::MissingHeader(wire::OFFSET),
                None,
                Phase::Check,
            );
        };
        if let (Some(server), Some(total)) = (
            response.header(wire::LENGTH).and_then(wire::non_negative),
            self.config.total,
        ) && server != total
        {
            return self.fail(TusError::LengthMismatch { total, server });
        }
        if response
            .header(wire::LENGTH)
            .and_then(wire::non_negative)
            .is_some()
        {
            self.length_declared = true;
        }
        if response.header(wire::DEFER_LENGTH).is_some() {
            // The server still waits for the length: the next request gives it.
            self.length_declared = false;
        }
        let complete = response.header(wire::COMPLETE).and_then(wire::sf_boolean);
        if let Some(complete) = complete {
            self.server_complete = complete;
            if complete && self.config.total.is_some_and(|total| offset < total) {
                return self.fail(TusError::Violation(Violation::PrematureEnd {
                    confirmed: offset,
                    total: self.config.total.unwrap_or(offset),
                }));
            }
        }
        self.on_server_offset(now, offset);
        if self.phase != Phase::Send {
            return;
        }
        if self.is_everything_confirmed() {
            // This `HEAD` is the proof: every byte is there, by the server's own count.
            self.complete();
        } else if self.config.total == Some(offset) && self.length_declared {
            // Every byte is there but the server does not call the upload complete (the
            // draft's `?0`): the next request says so again, at the cost of a retry, so a
            // server that never agrees cannot keep the client asking.
            self.retry(now, Failure::NoProgress(status), None, Phase::Send);
        }
    }

    fn is_everything_confirmed(&self) -> bool {
        let Some(total) = self.config.total else {
            return false;
        };
        let ietf_done = match self.config.variant {
            Variant::Tus1 => true,
            Variant::Ietf(_) => self.server_complete,
        };
        self.confirmed == total && self.length_declared && ietf_done
    }

    /// The server's offset after a request that carried `range`.
    fn on_offset_after_bytes(
        &mut self,
        now: Instant,
        range: Span,
        sent: Sent,
        offset: u64,
        status: u16,
    ) {
        if offset > range.end {
            return self.fail(claimed_unsent(range.end, offset));
        }
        if offset < range.start {
            // It holds less than it confirmed before this request: a regression, counted.
            return self.on_server_offset(now, offset);
        }
        if offset == range.start && !range.is_empty() {
            return self.retry(now, Failure::NoProgress(status), None, Phase::Check);
        }
        if let (Some(started), true) = (sent.started, offset == range.end) {
            self.core
                .throughput
                .record(range.len(), now.saturating_duration_since(started));
        }
        if let Some(crc) = sent.crc
            && offset == range.end
            && self.prefix.len == range.start
        {
            self.prefix.extend(crc, range.len());
        }
        self.advance(now, offset);
        self.after_progress();
    }

    /// The server's offset from a `HEAD` (or a draft `409`): checked against what was sent.
    fn on_server_offset(&mut self, now: Instant, offset: u64) {
        if let Some(total) = self.config.total
            && offset > total
        {
            return self.fail(claimed_unsent(total, offset));
        }
        if offset > self.sent_through {
            return self.fail(claimed_unsent(self.sent_through, offset));
        }
        if self.awaiting_first_word {
            // First word after a resume: bytes beyond what the checkpoint vouches for were
            // sent by an earlier run, and are this source's only if it was not modified since.
            self.awaiting_first_word = false;
            if let Some(trusted) = self.trusted_through
                && offset > trusted
            {
                return self.lost(now, LossCause::Unverifiable { held: offset });
            }
        }
        if offset < self.confirmed {
            self.regressions += 1;
            if self.regressions > MAX_REGRESSIONS {
                return self.fail(TusError::Violation(Violation::Regressed {
                    from: self.confirmed,
                    to: offset,
                }));
            }
            if self.prefix.len > offset {
                // The CRC of a shorter prefix is not known: nothing vouched for until the
                // checkpoint can record one again.
                self.prefix = Prefix::default();
            }
        }
        let moved = offset != self.confirmed;
        self.advance(now, offset);
        if moved || (self.phase == Phase::Check && !self.verifying) {
            self.core
                .events
                .push(TusEvent::Resynchronised { confirmed: offset });
        }
        self.phase = Phase::Send;
    }

    fn advance(&mut self, now: Instant, offset: u64) {
        if offset > self.confirmed {
            self.core.schedule.progress(now);
            self.core.events.push(TusEvent::Acknowledged {
                confirmed: offset,
                total: self.config.total,
            });
        }
        self.confirmed = offset;
    }

    /// After confirmed bytes: the next request, or the `HEAD` that proves the end.
    fn after_progress(&mut self) {
        let done = self.config.total == Some(self.confirmed) && self.length_declared;
        let ietf_pending = matches!(self.config.variant, Variant::Ietf(_)) && !self.server_complete;
        self.verifying = done && !ietf_pending;
        self.phase = if self.verifying {
            Phase::Check
        } else {
            Phase::Send
        };
    }

    /// Reads `Upload-Expires` and `Upload-Limit`; answers whether they ended the upload (a
    /// limit below the source's size), in which case the caller does nothing more.
    fn observe_expiry(&mut self, now: Instant, response: &Response) -> bool {
        if let Some(expires) = response
            .header(wire::EXPIRES)
            .and_then(|text| UnixTime::parse_http_date(text).ok())
        {
            self.core
                .expiry
                .set_absolute(now, expires, &self.core.clock);
        }
        if let Some(limit) = response.header(wire::LIMIT).and_then(wire::upload_limit) {
            if let Some(age) = limit.max_age {
                self.core.expiry.set_sliding(now, Duration::from_secs(age));
            }
            if let Some(max) = limit.max_append_size.filter(|&max| max > 0) {
                self.chunk_size = self.chunk_size.min(max);
            }
            if let (Some(max), Some(total)) = (limit.max_size, self.config.total)
                && total > max
            {
                self.fail(TusError::TooLarge {
                    total,
                    max: Some(max),
                });
            }
        }
        self.is_over()
    }

    /// A non-2xx answer: the version refused, the upload gone, a retry, or the end.
    fn failed_status(
        &mut self,
        now: Instant,
        response: &Response,
        during: &'static str,
        then: Phase,
    ) {
        let status = response.status;
        match status {
            412 => self.version_refused(response),
            404 | 410 | 403 if self.url.is_some() => self.lost(now, LossCause::Gone(status)),
            408 | 423 | 425 | 429 | 500 | 502..=504 | 506..=599 => {
                let wait = retry_after(
                    response,
                    now,
                    &self.core.clock,
                    self.config.retry.max_retry_after,
                );
                self.retry(now, Failure::Status(status), wait, then);
            }
            _ => self.fail(TusError::Rejected { status, during }),
        }
    }

    fn version_refused(&mut self, response: &Response) {
        self.fail(TusError::VersionUnsupported {
            variant: self.config.variant,
            server_versions: response.header(wire::VERSION).map(String::from),
        });
    }

    fn retry(&mut self, now: Instant, reason: Failure, wait: Option<Duration>, then: Phase) {
        let scheduled = self
            .core
            .retry(now, reason, wait, |at, delay| TusEvent::RetryScheduled {
                reason,
                at,
                delay,
            });
        self.verifying = false;
        match scheduled {
            Ok(()) => self.phase = then,
            Err(why) => self.fail(TusError::GaveUp { last: reason, why }),
        }
    }

    /// The upload is gone: a new one within the budget, else the end.
    pub(crate) fn lost(&mut self, now: Instant, cause: LossCause) {
        let _ = now;
        let new_ones = self.uploads.saturating_sub(1);
        let can_restart = new_ones < self.config.max_new_uploads
            && self.offer.as_ref().is_none_or(|offer| offer.creation);
        if !can_restart {
            self.core.events.push(TusEvent::UploadLost {
                cause,
                starting_over: false,
            });
            return self.fail(TusError::TooManyLosses {
                cause,
                uploads: self.uploads,
            });
        }
        self.core.events.push(TusEvent::UploadLost {
            cause,
            starting_over: true,
        });
        self.url = None;
        self.confirmed = 0;
        self.prefix = Prefix::default();
        self.sent_through = 0;
        self.awaiting_first_word = false;
        self.trusted_through = None;
        self.server_complete = false;
        self.length_declared = false;
        self.core.expiry.clear();
        self.core.in_flight.clear();
        self.phase = Phase::Create;
    }

    /// Acts on the upload's expiry: once it passed (less the margin) it is lost.
    pub(crate) fn check_expiry(&mut self, now: Instant) {
        if self.url.is_some()
            && self.core.in_flight.is_empty()
            && !matches!(self.phase, Phase::Ended | Phase::Delete)
            && self.core.expiry.has_expired(now)
        {
            self.lost(now, LossCause::Expired);
        }
    }

    fn complete(&mut self) {
        let Some(url) = self.url.clone() else {
            return;
        };
        let completion = TusCompletion {
            url,
            length: self.confirmed,
            uploads: self.uploads,
            checksum: if self.unchecked_request {
                None
            } else {
                self.checksum()
            },
        };
        self.completion = Some(completion.clone());
        self.end_with(TusEvent::Completed(completion));
    }

    /// The caller declined the last retry: the upload fails, its upload URL kept.
    pub(crate) fn decline_retry(&mut self) {
        if let Some((last, why)) = self.core.decline_retry() {
            self.fail(TusError::GaveUp { last, why });
        }
    }

    pub(crate) fn fail(&mut self, error: TusError) {
        if self.phase == Phase::Ended {
            return;
        }
        self.failure = Some(error.clone());
        self.end_with(TusEvent::Failed(error));
    }

    pub(crate) fn end_with(&mut self, event: TusEvent) {
        self.phase = Phase::Ended;
        self.core.expiry.clear();
        self.core.end(event);
    }
}
