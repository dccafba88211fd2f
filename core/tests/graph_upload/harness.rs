//! The deterministic simulation: a transport stand-in that drives an [`Upload`] against the
//! strict [`GraphServer`] on virtual time, with faults chosen by a script or a seed.
//!
//! The source is seeded pseudo-random bytes; the harness reads fragment bodies from it by range
//! (as a transport reads a file), reports their CRC-32, and jumps time straight to the next
//! answer or the machine's `poll_timeout`, so hours of retries take milliseconds.

use resumable_core::chunk::FragmentSizing;
use resumable_core::digest::SourceHashes;
use resumable_core::graph::{
    Checkpoint, Completion, DriveItem, Event, MailAttachment, PrintDocument, State, Target, Upload,
    UploadConfig, UploadError,
};
use resumable_core::http::{Auth, Body, Request, RequestKind, Response, TransportError};
use resumable_core::range::{ByteRange, ContentRange};
use resumable_core::retry::{JitterRng, StatusClass};
use resumable_core::session::StateMachine;
use resumable_core::time::{Duration, Instant, WallClock};

use super::server::{GRAPH_HOST, GraphServer, Service, UPLOAD_HOST};

/// What goes wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The connection could not be made: nothing reached the server.
    Connect,
    /// The server did everything, the answer never came (the transport times out).
    LostAnswer,
    /// The connection broke after this many body bytes; the server kept them.
    CutOff(usize),
    /// The server answers this status without doing anything, with this `Retry-After`.
    Status(u16, Option<&'static str>),
    /// The session dies just before the request arrives.
    KillSession,
    /// The server answers this status and body without doing anything (a misbehaving server).
    Answer(u16, &'static str),
}

/// A fault chooser: sees each request, its sequence number, the time it is sent and the seeded
/// generator.
pub type FaultPlan = Box<dyn FnMut(&Request, usize, Instant, &mut JitterRng) -> Fault>;

/// How an upload ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed(Completion),
    Failed(UploadError),
    Cancelled,
}

struct Pending {
    due: Instant,
    request: Request,
    body: Vec<u8>,
    fault: Fault,
}

/// The simulation.
pub struct Sim {
    pub server: GraphServer,
    pub source: Vec<u8>,
    pub now: Instant,
    /// Every request the machine handed out, in order.
    pub requests: Vec<Request>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Client mistakes the harness itself saw (besides the server's).
    pub violations: Vec<String>,
    /// An answer that completed the upload on the server never reached the machine (a lost
    /// answer, or a connection cut after the whole body).
    pub completion_unseen: bool,
    /// A request that could have finished the upload got an ambiguous outcome (no answer, or a
    /// 5xx) and no clear answer from the live, incomplete session has come since. Only then, or
    /// with `completion_unseen`, may an upload end with `CompletionUnconfirmed`.
    pub doubt_open: bool,
    /// A checkpoint taken after every step, when asked for.
    pub checkpoints: Vec<Checkpoint>,
    pub keep_checkpoints: bool,
    /// Commit as soon as a deferred commit is pending (as a caller that commits at once does).
    pub commit_when_pending: bool,
    /// Bytes per second of the simulated link.
    pub rate: u64,
    pending: Vec<Pending>,
    rng: JitterRng,
    plan: FaultPlan,
    steps: usize,
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

pub fn create_url(service: Service) -> String {
    match service {
        Service::Drive => format!("{GRAPH_HOST}/me/drive/root:/file.bin:/createUploadSession"),
        Service::Print => {
            format!("{GRAPH_HOST}/print/printers/p/jobs/j/documents/d/createUploadSession")
        }
        Service::Mail => format!("{GRAPH_HOST}/me/messages/m1/attachments/createUploadSession"),
    }
}

pub fn target(service: Service) -> Target {
    match service {
        Service::Drive => Target::DriveItem(DriveItem::new().named("file.bin")),
        Service::Print => Target::PrintDocument(PrintDocument::new("file.pdf", "application/pdf")),
        Service::Mail => Target::MailAttachment(MailAttachment::new("file.pdf")),
    }
}

/// A configuration for `service` with small fragments, so small files make many of them.
pub fn config(service: Service, total: u64, seed: u64) -> UploadConfig {
    let mut config = UploadConfig::new(target(service), total);
    config.fragment_size = resumable_core::chunk::FragmentSizing::Fixed(match service {
        Service::Drive => 327_680,
        Service::Print => 200_000,
        Service::Mail => 300_000,
    });
    config.seed = seed;
    config
}

/// A new upload of `total` bytes to `service`, given the wall clock as a transport does (this
/// one agrees with the server's).
pub fn upload(service: Service, total: u64, seed: u64) -> Upload {
    let mut upload = Upload::create(
        create_url(service),
        config(service, total, seed),
        Instant::ZERO,
    )
    .expect("valid configuration");
    upload.set_wall_clock(WallClock::new(
        Instant::ZERO,
        GraphServer::wall(Instant::ZERO),
    ));
    upload
}

/// Makes a drive session on the server through an upload that is then dropped, stores `held`
/// in it directly, and continues it with fragments of `fragment` bytes.
pub fn continue_with_held_ranges(
    sim: &mut Sim,
    total: u64,
    held: &[ByteRange],
    fragment: u64,
    seed: u64,
) -> Upload {
    let mut first = upload(Service::Drive, total, seed);
    while first.upload_url().is_none() {
        assert!(sim.step(&mut first).is_none());
    }
    let url = first.upload_url().unwrap().clone();
    drop(first);
    sim.abandon_in_flight();
    for range in held {
        let bytes = sim.source[range.start() as usize..range.end() as usize].to_vec();
        sim.server.store_directly(url.expose(), *range, &bytes);
    }
    let mut config = config(Service::Drive, total, seed);
    config.fragment_size = FragmentSizing::Fixed(fragment);
    Upload::continue_session(url, config, sim.now).unwrap()
}

/// Runs `up` to its end, which must be a completion that stored the source byte for byte, with
/// no client mistake on the way.
pub fn completes(sim: &mut Sim, up: &mut Upload) {
    let outcome = sim.run(up);
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    sim.assert_clean();
    sim.assert_stored_source();
}

/// No faults at all.
pub fn no_faults() -> FaultPlan {
    Box::new(|_, _, _, _| Fault::None)
}

/// Faults at random, each with probability `percent`/100 per request, from the seed.
pub fn random_faults(percent: u64) -> FaultPlan {
    Box::new(move |request, _, _, rng| {
        if rng.below_or_equal(99) >= percent {
            return Fault::None;
        }
        let to_session = request.url.expose().starts_with(UPLOAD_HOST);
        match rng.below_or_equal(8) {
            0 => Fault::Connect,
            1 | 2 => Fault::LostAnswer,
            3 if request.kind == RequestKind::Fragment => {
                Fault::CutOff(rng.below_or_equal(request.body.len()) as usize)
            }
            4 => Fault::Status(503, Some("3")),
            5 => Fault::Status(500, None),
            6 => Fault::Status(429, Some("2")),
            7 if to_session => Fault::Status(404, None),
            8 if to_session && rng.below_or_equal(3) == 0 => Fault::KillSession,
            _ => Fault::Status(502, None),
        }
    })
}

impl Sim {
    pub fn new(service: Service, total: u64, seed: u64) -> Sim {
        Sim {
            server: GraphServer::new(service),
            source: seeded_bytes(total, seed),
            now: Instant::ZERO,
            requests: Vec::new(),
            events: Vec::new(),
            violations: Vec::new(),
            completion_unseen: false,
            doubt_open: false,
            checkpoints: Vec::new(),
            keep_checkpoints: false,
            commit_when_pending: false,
            rate: 10_000_000,
            pending: Vec::new(),
            rng: JitterRng::new(seed),
            plan: no_faults(),
            steps: 0,
        }
    }

    pub fn with_faults(mut self, plan: FaultPlan) -> Sim {
        self.plan = plan;
        self
    }

    /// Faults only for requests whose sequence number is listed (a script).
    pub fn with_script(self, script: Vec<(usize, Fault)>) -> Sim {
        self.with_faults(Box::new(move |_, n, _, _| {
            script
                .iter()
                .find(|(at, _)| *at == n)
                .map_or(Fault::None, |(_, f)| *f)
        }))
    }

    /// Runs until the machine finishes; panics if it stalls or loops.
    pub fn run(&mut self, upload: &mut Upload) -> Outcome {
        loop {
            if let Some(outcome) = self.step(upload) {
                return outcome;
            }
        }
    }

    /// Hands out requests, collects events, then moves time to the next answer or deadline.
    /// Returns the outcome once the machine has finished.
    pub fn step(&mut self, upload: &mut Upload) -> Option<Outcome> {
        self.steps += 1;
        assert!(self.steps < 200_000, "the upload loops without end");
        self.send(upload);
        if self.keep_checkpoints {
            self.checkpoints.push(upload.checkpoint());
        }
        if upload.is_finished() {
            return Some(self.outcome());
        }
        let next_answer = self
            .pending
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| p.due)
            .map(|(i, p)| (i, p.due));
        match (next_answer, upload.poll_timeout()) {
            (None, None) => panic!(
                "stuck in {:?}: nothing in flight and no deadline",
                upload.state()
            ),
            (Some((_, due)), Some(deadline)) if deadline < due => self.timeout(upload, deadline),
            (None, Some(deadline)) => self.timeout(upload, deadline),
            (Some((i, _)), _) => self.deliver(upload, i),
        }
        None
    }

    fn timeout(&mut self, upload: &mut Upload, deadline: Instant) {
        self.now = self.now.max(deadline);
        upload.handle_timeout(self.now);
    }

    fn outcome(&self) -> Outcome {
        match self.events.last() {
            Some(Event::Completed(c)) => Outcome::Completed(c.clone()),
            Some(Event::Failed(e)) => Outcome::Failed(e.clone()),
            Some(Event::Cancelled) => Outcome::Cancelled,
            other => panic!("finished without a final event: {other:?}"),
        }
    }

    /// The first half of a step: the caller's command, if one is due, then every request the
    /// machine hands out goes on its way and every event is collected. A checkpoint taken right
    /// after this sees requests sent whose answers are not yet read.
    pub fn send(&mut self, upload: &mut Upload) {
        if self.commit_when_pending && upload.state() == State::CommitPending {
            upload.commit(self.now).expect("commit while pending");
        }
        if upload.awaits_source_hashes() {
            // What a transport does: the source's hashes, from the reads that sent it.
            upload.set_source_hashes(self.now, SourceHashes::of(&self.source));
        }
        self.pump(upload);
    }

    /// Drains `poll_request` and `poll_event`, checking every request on the way out.
    pub fn pump(&mut self, upload: &mut Upload) {
        while let Some(request) = upload.poll_request(self.now) {
            self.check(upload, &request);
            let body = match &request.body {
                Body::Empty => Vec::new(),
                Body::Json(json) => json.to_vec(),
                Body::Source(range) => {
                    self.source[range.start() as usize..range.end() as usize].to_vec()
                }
                Body::Segments(_) => panic!("Graph requests have no segmented bodies"),
            };
            if request.kind == RequestKind::Fragment {
                upload.record_fragment_crc(request.id, crc32fast::hash(&body));
                upload.fragment_started(request.id, self.now);
                self.server.fragment_sent(request.url.expose());
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

    fn check(&mut self, upload: &Upload, request: &Request) {
        let url = request.url.expose();
        if url.starts_with(UPLOAD_HOST) && request.auth != Auth::None {
            self.violations.push(format!(
                "Authorization on an upload-URL request: {request:?}"
            ));
        }
        if request.kind == RequestKind::Fragment {
            let Body::Source(range) = request.body else {
                self.violations
                    .push("fragment body is not a source range".into());
                return;
            };
            let header: ContentRange = request
                .header("content-range")
                .and_then(|h| h.parse().ok())
                .expect("fragment has a Content-Range");
            if header.range() != Some(range) || header.total() != Some(upload.total()) {
                self.violations.push(format!(
                    "Content-Range {header} does not match body {range:?}"
                ));
            }
            let total = upload.total();
            if matches!(upload.config().target, Target::DriveItem(_))
                && range.end() != total
                && range.end() % 327_680 != 0
                && !self.server.holds(url, range.end())
            {
                self.violations
                    .push(format!("unaligned non-final drive fragment {range:?}"));
            }
        }
    }

    fn deliver(&mut self, upload: &mut Upload, index: usize) {
        let Pending {
            due,
            request,
            body,
            fault,
        } = self.pending.remove(index);
        self.now = self.now.max(due);
        let now = self.now;
        if request.kind == RequestKind::Fragment {
            self.server.fragment_done(request.url.expose());
        }
        let id = request.id;
        self.note_doubt(&request, fault);
        match fault {
            Fault::None => {
                let answer = self.server.serve(now, &request, &body, None);
                self.note_clear_answer(&request, &answer);
                upload.handle_response(now, id, answer);
            }
            Fault::Connect => upload.handle_transport_error(now, id, TransportError::Connect),
            Fault::LostAnswer => {
                self.serve_unseen(now, &request, &body, None);
                upload.handle_transport_error(now, id, TransportError::Timeout);
            }
            Fault::CutOff(after) => {
                self.serve_unseen(now, &request, &body, Some(after));
                upload.handle_transport_error(now, id, TransportError::ConnectionLost);
            }
            Fault::Status(status, retry_after) => {
                let mut answer = Response::new(status)
                    .with_header("Date", GraphServer::wall(now).http_date().to_string());
                if let Some(value) = retry_after {
                    answer = answer.with_header("Retry-After", value);
                }
                upload.handle_response(now, id, answer);
            }
            Fault::Answer(status, body) => {
                let answer = Response::new(status)
                    .with_header("Date", GraphServer::wall(now).http_date().to_string())
                    .with_body(body);
                upload.handle_response(now, id, answer);
            }
            Fault::KillSession => {
                self.server.kill_session(request.url.expose());
                let answer = self.server.serve(now, &request, &body, None);
                upload.handle_response(now, id, answer);
            }
        }
    }

    /// Opens a doubt when `request`, which could finish the upload, meets an ambiguous fault.
    fn note_doubt(&mut self, request: &Request, fault: Fault) {
        let ambiguous = match fault {
            Fault::LostAnswer | Fault::CutOff(_) => true,
            Fault::Status(status, _) => StatusClass::of(status) == StatusClass::Transient,
            _ => false,
        };
        let url = request.url.expose();
        let could_finish = match (request.kind, &request.body) {
            (RequestKind::Fragment, Body::Source(range)) => {
                let mut ranges = vec![*range];
                ranges.extend(self.pending.iter().filter_map(|p| match p.request.body {
                    Body::Source(other) if p.request.url.expose() == url => Some(other),
                    _ => None,
                }));
                self.server.lacks_only(url, &ranges)
            }
            (RequestKind::Commit, _) => true,
            _ => false,
        };
        self.doubt_open |= ambiguous && could_finish;
    }

    /// Closes the doubt when the machine reads a 2xx answer of a live session that still lacks
    /// bytes, with no other fragment in flight to make that answer stale.
    fn note_clear_answer(&mut self, request: &Request, answer: &Response) {
        let url = request.url.expose();
        let concurrent = self
            .pending
            .iter()
            .any(|p| p.request.kind == RequestKind::Fragment && p.request.url.expose() == url);
        if (200..300).contains(&answer.status) && self.server.is_incomplete(url) && !concurrent {
            self.doubt_open = false;
        }
    }

    /// Serves a request whose answer nobody reads, noting whether it completed the upload.
    fn serve_unseen(&mut self, now: Instant, request: &Request, body: &[u8], cut: Option<usize>) {
        let completions = self.server.completions;
        self.server.serve(now, request, body, cut);
        self.completion_unseen |= self.server.completions > completions;
    }

    /// The process driving the upload died: requests already sent still reach the server, their
    /// answers reach no one.
    pub fn abandon_in_flight(&mut self) {
        self.pending.sort_by_key(|p| p.due);
        for pending in std::mem::take(&mut self.pending) {
            self.now = self.now.max(pending.due);
            if pending.request.kind == RequestKind::Fragment {
                self.server.fragment_done(pending.request.url.expose());
            }
            if matches!(pending.fault, Fault::None | Fault::LostAnswer) {
                self.server
                    .serve(self.now, &pending.request, &pending.body, None);
            }
        }
    }

    /// The one finished file, which must equal the source byte for byte.
    pub fn assert_stored_source(&self) {
        assert_eq!(self.server.files.len(), 1, "exactly one file stored");
        let stored = self.server.files.values().next().unwrap();
        assert_eq!(stored.len(), self.source.len(), "stored size");
        assert!(
            stored == &self.source,
            "stored bytes differ from the source"
        );
    }

    /// No client mistake seen by the harness or the server.
    pub fn assert_clean(&self) {
        assert!(
            self.violations.is_empty(),
            "harness saw: {:?}",
            self.violations
        );
        assert!(
            self.server.violations.is_empty(),
            "server saw: {:?}",
            self.server.violations
        );
    }

    /// The ranges of the fragments handed out from request number `first` on.
    pub fn fragment_ranges_from(&self, first: usize) -> Vec<ByteRange> {
        self.requests[first..]
            .iter()
            .filter_map(|r| match r.body {
                Body::Source(range) if r.kind == RequestKind::Fragment => Some(range),
                _ => None,
            })
            .collect()
    }

    /// Fragment requests handed out.
    pub fn fragments(&self) -> Vec<&Request> {
        self.requests
            .iter()
            .filter(|r| r.kind == RequestKind::Fragment)
            .collect()
    }
}
