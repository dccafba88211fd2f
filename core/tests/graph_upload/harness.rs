//! The Graph side of the deterministic simulation (`crate::sim`): an [`Upload`] against the
//! strict [`GraphServer`], with the faults a Graph transport meets and the checks it makes on
//! every request, and helpers to start uploads.
//!
//! The source is seeded pseudo-random bytes; the simulation reads fragment bodies from it by
//! range (as a transport reads a file), reports their CRC-32, and jumps time straight to the
//! next answer or the machine's `poll_timeout`, so hours of retries take milliseconds.

use resumable_core::chunk::FragmentSizing;
use resumable_core::graph::{
    Checkpoint, Completion, DriveItem, MailAttachment, PrintDocument, State, Target, Upload,
    UploadConfig, UploadError,
};
use resumable_core::http::{Auth, Body, Request, RequestKind, Response, TransportError};
use resumable_core::range::{ByteRange, ContentRange};
use resumable_core::retry::StatusClass;
use resumable_core::time::{Instant, WallClock};

use super::server::{GRAPH_HOST, GraphServer, Service, UPLOAD_HOST};
use crate::sim::{self, Client, Link, Reply, Server, seeded_bytes};

/// What goes wrong with one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
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
    /// The server does everything, but the answer that arrives is this status and body: one
    /// it made before other requests were stored (overtaken on the way by their answers).
    Late(u16, &'static str),
}

/// A fault chooser: sees each request, its sequence number, the time it is sent and the seeded
/// generator.
pub type FaultPlan = sim::FaultPlan<Fault>;

/// How an upload ended.
pub type Outcome = sim::Outcome<Completion, UploadError>;

/// The simulation.
pub type Sim = sim::Sim<Upload, GraphServer>;

/// The caller and the transport around a Graph upload.
#[derive(Debug, Default)]
pub struct GraphClient {
    /// Commit as soon as a deferred commit is pending (as a caller that commits at once does).
    pub commit_when_pending: bool,
    /// A checkpoint taken after every step, when asked for.
    pub checkpoints: Vec<Checkpoint>,
    pub keep_checkpoints: bool,
    /// An answer that completed the upload on the server never reached the machine (a lost
    /// answer, or a connection cut after the whole body).
    pub completion_unseen: bool,
    /// A request that could have finished the upload got an ambiguous outcome (no answer, or a
    /// 5xx) and no clear answer from the live, incomplete session has come since. Only then, or
    /// with `completion_unseen`, may an upload end with `CompletionUnconfirmed`.
    pub doubt_open: bool,
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
        Sim::with_server(
            GraphServer::new(service),
            seeded_bytes(total, seed),
            Link::UPLOAD,
            seed,
        )
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
                ranges.extend(self.in_flight().filter_map(|p| match p.request.body {
                    Body::Source(other) if p.request.url.expose() == url => Some(other),
                    _ => None,
                }));
                self.server.lacks_only(url, &ranges)
            }
            (RequestKind::Commit, _) => true,
            _ => false,
        };
        self.client.doubt_open |= ambiguous && could_finish;
    }

    /// Closes the doubt when the machine reads a 2xx answer of a live session that still lacks
    /// bytes, with no other fragment in flight to make that answer stale.
    fn note_clear_answer(&mut self, request: &Request, answer: &Response) {
        let url = request.url.expose();
        let concurrent = self
            .in_flight()
            .any(|p| p.request.kind == RequestKind::Fragment && p.request.url.expose() == url);
        if (200..300).contains(&answer.status) && self.server.is_incomplete(url) && !concurrent {
            self.client.doubt_open = false;
        }
    }

    /// Serves a request whose answer nobody reads, noting whether it completed the upload.
    fn serve_unseen(&mut self, request: &Request, body: &[u8], cut: Option<usize>) {
        let completions = self.server.completions;
        self.server.serve(self.now, request, body, cut);
        self.client.completion_unseen |= self.server.completions > completions;
    }
}

impl Server<Upload> for GraphServer {
    type Fault = Fault;
    type Client = GraphClient;

    fn waits_out(fault: &Fault) -> bool {
        *fault == Fault::LostAnswer
    }

    fn answer(sim: &mut Sim, request: &Request, body: &[u8], fault: Fault) -> Reply {
        let now = sim.now;
        if request.kind == RequestKind::Fragment {
            sim.server.fragment_done(request.url.expose());
        }
        sim.note_doubt(request, fault);
        match fault {
            Fault::None => {
                let answer = sim.server.serve(now, request, body, None);
                sim.note_clear_answer(request, &answer);
                Reply::Answer(answer)
            }
            Fault::Connect => Reply::Lost(TransportError::Connect),
            Fault::LostAnswer => {
                sim.serve_unseen(request, body, None);
                Reply::Lost(TransportError::Timeout)
            }
            Fault::CutOff(after) => {
                sim.serve_unseen(request, body, Some(after));
                Reply::Lost(TransportError::ConnectionLost)
            }
            Fault::Status(status, retry_after) => {
                let mut answer = Response::new(status)
                    .with_header("Date", GraphServer::wall(now).http_date().to_string());
                if let Some(value) = retry_after {
                    answer = answer.with_header("Retry-After", value);
                }
                Reply::Answer(answer)
            }
            Fault::Answer(status, body) => Reply::Answer(
                Response::new(status)
                    .with_header("Date", GraphServer::wall(now).http_date().to_string())
                    .with_body(body),
            ),
            Fault::Late(status, late) => {
                sim.server.serve(now, request, body, None);
                Reply::Answer(
                    Response::new(status)
                        .with_header("Date", GraphServer::wall(now).http_date().to_string())
                        .with_body(late),
                )
            }
            Fault::KillSession => {
                sim.server.kill_session(request.url.expose());
                Reply::Answer(sim.server.serve(now, request, body, None))
            }
        }
    }

    /// Fragments stop occupying their session; requests the server got whole are served.
    fn abandoned(sim: &mut Sim, request: &Request, body: &[u8], fault: Fault) {
        if request.kind == RequestKind::Fragment {
            sim.server.fragment_done(request.url.expose());
        }
        if matches!(fault, Fault::None | Fault::LostAnswer | Fault::Late(..)) {
            sim.server.serve(sim.now, request, body, None);
        }
    }
}

impl Client<Upload, GraphServer> for GraphClient {
    type Call = ();

    fn prepare(sim: &mut Sim, up: &mut Upload) {
        if sim.client.commit_when_pending && up.state() == State::CommitPending {
            up.commit(sim.now).expect("commit while pending");
        }
    }

    /// Checks every request on its way out, and counts fragments in flight per session.
    fn sending(sim: &mut Sim, up: &Upload, request: &Request) {
        let url = request.url.expose();
        assert!(
            !matches!(request.body, Body::Segments(_)),
            "Graph requests have no segmented bodies"
        );
        if url.starts_with(UPLOAD_HOST) && request.auth != Auth::None {
            sim.violations.push(format!(
                "Authorization on an upload-URL request: {request:?}"
            ));
        }
        if request.kind != RequestKind::Fragment {
            return;
        }
        sim.server.fragment_sent(url);
        let Body::Source(range) = request.body else {
            sim.violations
                .push("fragment body is not a source range".into());
            return;
        };
        let header: ContentRange = request
            .header("content-range")
            .and_then(|h| h.parse().ok())
            .expect("fragment has a Content-Range");
        if header.range() != Some(range) || header.total() != Some(up.total()) {
            sim.violations.push(format!(
                "Content-Range {header} does not match body {range:?}"
            ));
        }
        let total = up.total();
        if matches!(up.config().target, Target::DriveItem(_))
            && range.end() != total
            && range.end() % 327_680 != 0
            && !sim.server.holds(url, range.end())
        {
            sim.violations
                .push(format!("unaligned non-final drive fragment {range:?}"));
        }
    }

    fn stepped(sim: &mut Sim, up: &Upload) {
        if sim.client.keep_checkpoints {
            sim.client.checkpoints.push(up.checkpoint());
        }
    }
}
