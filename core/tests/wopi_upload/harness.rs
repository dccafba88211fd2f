//! The deterministic simulation: a transport stand-in that drives a [`WopiUpload`] against the
//! strict [`WopiHost`] on virtual time, with faults chosen by a script or a seed.
//!
//! The source is seeded pseudo-random bytes, hashed with SpookyHash per stream as a transport
//! would; request bodies are read from it segment by segment. Time jumps straight to the next
//! answer or the machine's `poll_timeout`, so an hour of retries and expiries takes
//! milliseconds.

use std::collections::BTreeMap;

use resumable_core::chunk::FragmentSizing;
use resumable_core::http::{Body, Request, RequestKind, Response, Segment, TransportError};
use resumable_core::retry::{JitterRng, RetryPolicy};
use resumable_core::session::StateMachine;
use resumable_core::time::{Duration, Instant};
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{
    SequenceConflictPolicy, WopiCheckpoint, WopiCompletion, WopiConfig, WopiError, WopiEvent,
    WopiStream, WopiUpload,
};

use super::host::{FILE_URL, WopiHost};

/// What goes wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The connection could not be made: nothing reached the host.
    Connect,
    /// The host did everything; the answer never came (the transport times out).
    LostAnswer,
    /// The host kept only this many bytes of an update and answered its offset.
    PartialStore(usize),
    /// The host kept this many bytes of an update, then the connection broke.
    PartialThenLost(usize),
    /// The host answers this status (with this `Retry-After`) without doing anything.
    Status(u16, Option<&'static str>),
    /// The host did everything, then answered this status.
    StoredThen(u16),
    /// Every session dies just before the request arrives.
    Expire,
    /// The host is still busy with an earlier update of the session: it refuses this one with
    /// `400` and its current offset, doing nothing.
    Busy,
}

/// A fault chooser: sees each request, its sequence number, the time it is sent and the seeded
/// generator.
pub type FaultPlan = Box<dyn FnMut(&Request, usize, Instant, &mut JitterRng) -> Fault>;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed(WopiCompletion),
    Failed(WopiError),
    Cancelled,
}

struct Pending {
    due: Instant,
    request: Request,
    body: Vec<u8>,
    fault: Fault,
}

/// One request as the host saw it: its kind, offset and length (for updates), and the host's
/// offset when it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub kind: RequestKind,
    pub offset: Option<u64>,
    pub len: u64,
    pub host_offset: Option<u64>,
}

/// Seeded pseudo-random bytes.
pub fn seeded_bytes(len: u64, seed: u64) -> Vec<u8> {
    let mut rng = JitterRng::new(seed ^ 0x5EED);
    let mut bytes = Vec::with_capacity(len as usize);
    while (bytes.len() as u64) < len {
        let word = rng.next_u64().to_le_bytes();
        let take = (len as usize - bytes.len()).min(8);
        bytes.extend_from_slice(&word[..take]);
    }
    bytes
}

/// `FullFile` streams over `source`, cut at `cuts` (the first is `MainContent`, the others
/// `Alt1`, `Alt2`, ...), hashed as a transport hashes them.
pub fn streams(source: &[u8], cuts: &[u64]) -> Vec<WopiStream> {
    let mut bounds = vec![0];
    bounds.extend(
        cuts.iter()
            .copied()
            .filter(|&c| c > 0 && c < source.len() as u64),
    );
    bounds.push(source.len() as u64);
    bounds.dedup();
    bounds
        .windows(2)
        .enumerate()
        .map(|(index, pair)| {
            let bytes = &source[pair[0] as usize..pair[1] as usize];
            let name = if index == 0 {
                "MainContent".to_string()
            } else {
                format!("Alt{index}")
            };
            WopiStream::full_file(name, ChunkId::of(bytes), bytes.len() as u64)
                .at_source_offset(pair[0])
        })
        .collect()
}

/// A configuration with small ranges, so small files make many updates, a generous retry
/// budget, and sessions that live `lifetime`.
pub fn config(streams: Vec<WopiStream>, range: u64, seed: u64) -> WopiConfig {
    let mut config = WopiConfig::new(streams);
    config.range_size = FragmentSizing::Fixed(range);
    config.seed = seed;
    config.retry = RetryPolicy {
        max_attempts: 40,
        ..RetryPolicy::default()
    };
    config.max_sessions = 8;
    config.on_sequence_conflict = SequenceConflictPolicy::Fail;
    config
}

/// The simulation.
pub struct Sim {
    pub host: WopiHost,
    pub source: Vec<u8>,
    /// The streams as the source holds them, by name.
    pub expected: BTreeMap<String, Vec<u8>>,
    pub now: Instant,
    /// Every request the machine handed out, in order.
    pub requests: Vec<Request>,
    /// Every request as the host saw it, in arrival order (faults that keep it from the host
    /// leave it out).
    pub seen: Vec<Seen>,
    /// Every event, in order.
    pub events: Vec<WopiEvent>,
    /// A checkpoint taken after every step, when asked for.
    pub checkpoints: Vec<WopiCheckpoint>,
    pub keep_checkpoints: bool,
    /// Bytes per second of the simulated link.
    pub rate: u64,
    pending: Vec<Pending>,
    rng: JitterRng,
    plan: FaultPlan,
    steps: usize,
}

impl Sim {
    /// A simulation of a `len`-byte source cut into streams at `cuts`.
    pub fn new(len: u64, cuts: &[u64], seed: u64) -> Sim {
        let source = seeded_bytes(len, seed);
        let expected = streams(&source, cuts)
            .iter()
            .map(|stream| {
                let range =
                    stream.source_offset as usize..(stream.source_offset + stream.len()) as usize;
                (stream.stream_id.clone(), source[range].to_vec())
            })
            .collect();
        Sim {
            host: WopiHost::new(),
            source,
            expected,
            now: Instant::ZERO,
            requests: Vec::new(),
            seen: Vec::new(),
            events: Vec::new(),
            checkpoints: Vec::new(),
            keep_checkpoints: false,
            rate: 10_000_000,
            pending: Vec::new(),
            rng: JitterRng::new(seed),
            plan: no_faults(),
            steps: 0,
        }
    }

    /// The upload of this simulation's streams with ranges of `range` bytes.
    pub fn upload(&self, cuts: &[u64], range: u64, seed: u64) -> WopiUpload {
        self.upload_with(config(streams(&self.source, cuts), range, seed))
    }

    pub fn upload_with(&self, config: WopiConfig) -> WopiUpload {
        WopiUpload::create(FILE_URL, config, self.now).expect("valid configuration")
    }

    pub fn with_faults(mut self, plan: FaultPlan) -> Sim {
        self.plan = plan;
        self
    }

    /// Faults only for the requests whose sequence number is listed.
    pub fn with_script(self, script: Vec<(usize, Fault)>) -> Sim {
        self.with_faults(Box::new(move |_, n, _, _| {
            script
                .iter()
                .find(|(at, _)| *at == n)
                .map_or(Fault::None, |(_, fault)| *fault)
        }))
    }

    /// Runs until the machine finishes; panics if it stalls or loops.
    pub fn run(&mut self, upload: &mut WopiUpload) -> Outcome {
        loop {
            if let Some(outcome) = self.step(upload) {
                return outcome;
            }
        }
    }

    /// Runs until `stop` says so (checked after each step) or the machine finishes.
    pub fn run_until(
        &mut self,
        upload: &mut WopiUpload,
        mut stop: impl FnMut(&Sim, &WopiUpload) -> bool,
    ) -> Option<Outcome> {
        loop {
            if let Some(outcome) = self.step(upload) {
                return Some(outcome);
            }
            if stop(self, upload) {
                return None;
            }
        }
    }

    /// Lets virtual time pass until `until` while the caller keeps the upload paused: answers
    /// arrive and deadlines fire, but nothing else is asked of the machine.
    pub fn idle_until(&mut self, upload: &mut WopiUpload, until: Instant) {
        loop {
            self.pump(upload);
            let next_answer = self.pending.iter().map(|p| p.due).min();
            let next = match (next_answer, upload.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(at) if at <= until => self.advance(upload, at),
                _ => {
                    self.now = self.now.max(until);
                    upload.handle_timeout(self.now);
                    self.pump(upload);
                    return;
                }
            }
        }
    }

    /// Hands out requests, collects events, then moves time to the next answer or deadline.
    /// Returns the outcome once the machine has finished.
    pub fn step(&mut self, upload: &mut WopiUpload) -> Option<Outcome> {
        self.steps += 1;
        assert!(self.steps < 100_000, "the upload loops without end");
        self.pump(upload);
        if self.keep_checkpoints {
            self.checkpoints.push(upload.checkpoint());
        }
        if upload.is_finished() {
            return Some(self.outcome());
        }
        let next_answer = self.pending.iter().map(|p| p.due).min();
        match (next_answer, upload.poll_timeout()) {
            (None, None) => panic!(
                "stuck in {:?}: nothing in flight and no deadline",
                upload.state()
            ),
            (Some(a), Some(b)) => self.advance(upload, a.min(b)),
            (Some(at), None) | (None, Some(at)) => self.advance(upload, at),
        }
        None
    }

    /// Delivers the next answer due at `at`, or fires the machine's deadline.
    fn advance(&mut self, upload: &mut WopiUpload, at: Instant) {
        let due = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.due <= at)
            .min_by_key(|(_, p)| p.due)
            .map(|(i, _)| i);
        match due {
            Some(index) => self.deliver(upload, index),
            None => {
                self.now = self.now.max(at);
                upload.handle_timeout(self.now);
            }
        }
    }

    fn outcome(&self) -> Outcome {
        match self.events.last() {
            Some(WopiEvent::Completed(done)) => Outcome::Completed(done.clone()),
            Some(WopiEvent::Failed(error)) => Outcome::Failed(error.clone()),
            Some(WopiEvent::Cancelled) => Outcome::Cancelled,
            other => panic!("finished without a final event: {other:?}"),
        }
    }

    /// Drains `poll_request` and `poll_event`.
    pub fn pump(&mut self, upload: &mut WopiUpload) {
        if upload.awaits_source_hashes() {
            // What a transport does: the hashes from the pass that read the source.
            upload.set_source_hashes(
                self.now,
                resumable_core::digest::SourceHashes::of(&self.source),
            );
        }
        while let Some(request) = upload.poll_request(self.now) {
            assert!(
                self.pending.is_empty(),
                "a second request while one is in flight: {request:?}"
            );
            let body = self.body_of(&request.body);
            if request.kind == RequestKind::Fragment {
                upload.fragment_started(request.id, self.now);
            }
            let n = self.requests.len();
            let fault = (self.plan)(&request, n, self.now, &mut self.rng);
            let jitter = Duration::from_millis(self.rng.below_or_equal(40));
            let transfer = Duration::from_millis(body.len() as u64 * 1000 / self.rate);
            let due = match fault {
                Fault::LostAnswer => self.now + upload.timeout_for(&request),
                _ => self.now + Duration::from_millis(2) + jitter + transfer,
            };
            self.requests.push(request.clone());
            self.pending.push(Pending {
                due,
                request,
                body,
                fault,
            });
        }
        while let Some(event) = upload.poll_event() {
            self.events.push(event);
        }
    }

    /// The bytes a transport sends for `body`: inline pieces as they are, source ranges read.
    pub fn body_of(&self, body: &Body) -> Vec<u8> {
        match body {
            Body::Empty => Vec::new(),
            Body::Segments(segments) => {
                let mut bytes = Vec::new();
                for segment in segments {
                    match segment {
                        Segment::Inline(inline) => bytes.extend_from_slice(inline),
                        Segment::Source(range) => bytes.extend_from_slice(
                            &self.source[range.start() as usize..range.end() as usize],
                        ),
                    }
                }
                bytes
            }
            other => panic!("WOPI bodies are segments, not {other:?}"),
        }
    }

    fn deliver(&mut self, upload: &mut WopiUpload, index: usize) {
        let Pending {
            due,
            request,
            body,
            fault,
        } = self.pending.remove(index);
        self.now = self.now.max(due);
        let now = self.now;
        let id = request.id;
        match fault {
            Fault::None => {
                let answer = self.serve(&request, &body, None);
                upload.handle_response(now, id, answer);
            }
            Fault::Connect => upload.handle_transport_error(now, id, TransportError::Connect),
            Fault::LostAnswer => {
                self.serve(&request, &body, None);
                upload.handle_transport_error(now, id, TransportError::Timeout);
            }
            Fault::PartialStore(keep) => {
                let answer = self.serve(&request, &body, Some(keep));
                upload.handle_response(now, id, answer);
            }
            Fault::PartialThenLost(keep) => {
                self.serve(&request, &body, Some(keep));
                upload.handle_transport_error(now, id, TransportError::ConnectionLost);
            }
            Fault::Status(status, retry_after) => {
                let mut answer = Response::new(status);
                if let Some(value) = retry_after {
                    answer = answer.with_header("Retry-After", value);
                }
                upload.handle_response(now, id, answer);
            }
            Fault::StoredThen(status) => {
                self.serve(&request, &body, None);
                upload.handle_response(now, id, Response::new(status));
            }
            Fault::Busy => {
                let mut answer = Response::new(400)
                    .with_header("X-WOPI-FailureReason", "another update is in progress");
                if let Some(offset) = self.host.offset_of(&request, now) {
                    answer =
                        answer.with_header("X-WOPI-UploadSessionCurrentOffset", offset.to_string());
                }
                upload.handle_response(now, id, answer);
            }
            Fault::Expire => {
                self.host.expire_sessions();
                let answer = self.serve(&request, &body, None);
                upload.handle_response(now, id, answer);
            }
        }
    }

    /// The host serves `request`, and the simulation notes how it arrived.
    fn serve(&mut self, request: &Request, body: &[u8], keep: Option<usize>) -> Response {
        let offset = request
            .header("X-WOPI-ContentRangeOffset")
            .and_then(|v| v.parse().ok());
        self.seen.push(Seen {
            kind: request.kind,
            offset,
            len: body.len() as u64,
            host_offset: self.host.offset_of(request, self.now),
        });
        self.host.serve(self.now, request, body, keep)
    }

    /// The process driving the upload died: requests already sent still reach the host, their
    /// answers reach no one.
    pub fn abandon_in_flight(&mut self) {
        for pending in std::mem::take(&mut self.pending) {
            self.now = self.now.max(pending.due);
            if matches!(pending.fault, Fault::None | Fault::LostAnswer) {
                self.serve(&pending.request, &pending.body, None);
            }
        }
    }

    /// The host stored every stream byte for byte.
    pub fn assert_stored_source(&self) {
        assert_eq!(
            self.host.streams.keys().collect::<Vec<_>>(),
            self.expected.keys().collect::<Vec<_>>(),
            "stored streams"
        );
        for (name, bytes) in &self.expected {
            let stored = &self.host.streams[name];
            assert_eq!(stored.len(), bytes.len(), "{name}: stored size");
            assert!(
                stored == bytes,
                "{name}: stored bytes differ from the source"
            );
        }
    }

    /// No client mistake seen by the host; every resend was a probe of at most `probe_len`
    /// bytes; every update started at or before the host's offset.
    pub fn assert_clean(&self, probe_len: u64) {
        assert!(
            self.host.violations.is_empty(),
            "host saw: {:?}",
            self.host.violations
        );
        for stale in &self.host.stale_updates {
            assert!(
                stale.len <= probe_len,
                "a range the host had was sent again: {stale:?}"
            );
        }
        for seen in &self.seen {
            if let (Some(offset), Some(host)) = (seen.offset, seen.host_offset) {
                assert!(offset <= host, "an update skipped ahead: {seen:?}");
            }
        }
    }

    /// Updates the host saw, in arrival order.
    pub fn updates(&self) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| matches!(s.kind, RequestKind::Fragment | RequestKind::Refresh))
            .collect()
    }
}

/// No faults at all.
pub fn no_faults() -> FaultPlan {
    Box::new(|_, _, _, _| Fault::None)
}

/// Faults at random, each with probability `percent`/100 per request, from the seed. Session
/// kills are capped at two per run: each one restarts the stream, and a run of them would only
/// test the session budget.
pub fn random_faults(percent: u64) -> FaultPlan {
    let mut kills = 0;
    Box::new(move |request, _, _, rng| {
        if rng.below_or_equal(99) >= percent {
            return Fault::None;
        }
        let update = matches!(request.kind, RequestKind::Fragment | RequestKind::Refresh);
        let len = request.body.len();
        match rng.below_or_equal(9) {
            0 => Fault::Connect,
            1 => Fault::LostAnswer,
            2 if update => Fault::PartialStore(rng.below_or_equal(len) as usize),
            3 if update => Fault::PartialThenLost(rng.below_or_equal(len) as usize),
            4 => Fault::Status(503, Some("2")),
            5 => Fault::Status(500, None),
            6 => Fault::Status(429, Some("1")),
            7 => Fault::StoredThen(500),
            8 if kills < 2 && rng.below_or_equal(3) == 0 => {
                kills += 1;
                Fault::Expire
            }
            _ => Fault::Status(502, None),
        }
    })
}
