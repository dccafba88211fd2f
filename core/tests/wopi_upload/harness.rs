//! The WOPI side of the deterministic simulation (`crate::sim`): a [`WopiUpload`] against the
//! strict [`WopiHost`], with the faults a WOPI transport meets and a record of how each request
//! arrived.
//!
//! The source is seeded pseudo-random bytes, hashed with SpookyHash per stream as a transport
//! would; request bodies are read from it segment by segment. Time jumps straight to the next
//! answer or the machine's `poll_timeout`, so an hour of retries and expiries takes
//! milliseconds.

use std::collections::BTreeMap;

use resumable_core::chunk::FragmentSizing;
use resumable_core::http::{Body, Request, RequestKind, Response, TransportError};
use resumable_core::retry::RetryPolicy;
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{
    SequenceConflictPolicy, WopiCheckpoint, WopiCompletion, WopiConfig, WopiError, WopiStream,
    WopiUpload,
};

use super::host::{FILE_URL, WopiHost};
use crate::sim::{self, Client, Link, Reply, Server, seeded_bytes};

/// What goes wrong with one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
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
pub type FaultPlan = sim::FaultPlan<Fault>;

/// How a run ended.
pub type Outcome = sim::Outcome<WopiCompletion, WopiError>;

/// The simulation.
pub type Sim = sim::Sim<WopiUpload, WopiHost>;

/// One request as the host saw it: its kind, offset and length (for updates), and the host's
/// offset when it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub kind: RequestKind,
    pub offset: Option<u64>,
    pub len: u64,
    pub host_offset: Option<u64>,
}

/// The caller and the transport around a WOPI upload.
#[derive(Debug, Default)]
pub struct WopiClient {
    /// The streams as the source holds them, by name.
    pub expected: BTreeMap<String, Vec<u8>>,
    /// Every request as the host saw it, in arrival order (faults that keep it from the host
    /// leave it out).
    pub seen: Vec<Seen>,
    /// A checkpoint taken after every step, when asked for.
    pub checkpoints: Vec<WopiCheckpoint>,
    pub keep_checkpoints: bool,
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
        let mut sim = Sim::with_server(WopiHost::new(), source, Link::UPLOAD, seed);
        sim.client.expected = expected;
        sim.step_limit = 100_000;
        sim
    }

    /// The upload of this simulation's streams with ranges of `range` bytes.
    pub fn upload(&self, cuts: &[u64], range: u64, seed: u64) -> WopiUpload {
        self.upload_with(config(streams(&self.source, cuts), range, seed))
    }

    pub fn upload_with(&self, config: WopiConfig) -> WopiUpload {
        WopiUpload::create(FILE_URL, config, self.now).expect("valid configuration")
    }

    /// The host serves `request`, and the simulation notes how it arrived.
    fn serve(&mut self, request: &Request, body: &[u8], keep: Option<usize>) -> Response {
        let offset = request
            .header("X-WOPI-ContentRangeOffset")
            .and_then(|v| v.parse().ok());
        self.client.seen.push(Seen {
            kind: request.kind,
            offset,
            len: body.len() as u64,
            host_offset: self.server.offset_of(request, self.now),
        });
        self.server.serve(self.now, request, body, keep)
    }

    /// The host stored every stream byte for byte.
    pub fn assert_stored_source(&self) {
        assert_eq!(
            self.server.streams.keys().collect::<Vec<_>>(),
            self.client.expected.keys().collect::<Vec<_>>(),
            "stored streams"
        );
        for (name, bytes) in &self.client.expected {
            let stored = &self.server.streams[name];
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
            self.server.violations.is_empty(),
            "host saw: {:?}",
            self.server.violations
        );
        for stale in &self.server.stale_updates {
            assert!(
                stale.len <= probe_len,
                "a range the host had was sent again: {stale:?}"
            );
        }
        for seen in &self.client.seen {
            if let (Some(offset), Some(host)) = (seen.offset, seen.host_offset) {
                assert!(offset <= host, "an update skipped ahead: {seen:?}");
            }
        }
    }

    /// Updates the host saw, in arrival order.
    pub fn updates(&self) -> Vec<&Seen> {
        self.client
            .seen
            .iter()
            .filter(|s| matches!(s.kind, RequestKind::Fragment | RequestKind::Refresh))
            .collect()
    }
}

impl Server<WopiUpload> for WopiHost {
    type Fault = Fault;
    type Client = WopiClient;

    fn waits_out(fault: &Fault) -> bool {
        *fault == Fault::LostAnswer
    }

    fn answer(sim: &mut Sim, request: &Request, body: &[u8], fault: Fault) -> Reply {
        match fault {
            Fault::None => Reply::Answer(sim.serve(request, body, None)),
            Fault::Connect => Reply::Lost(TransportError::Connect),
            Fault::LostAnswer => {
                sim.serve(request, body, None);
                Reply::Lost(TransportError::Timeout)
            }
            Fault::PartialStore(keep) => Reply::Answer(sim.serve(request, body, Some(keep))),
            Fault::PartialThenLost(keep) => {
                sim.serve(request, body, Some(keep));
                Reply::Lost(TransportError::ConnectionLost)
            }
            Fault::Status(status, retry_after) => {
                let mut answer = Response::new(status);
                if let Some(value) = retry_after {
                    answer = answer.with_header("Retry-After", value);
                }
                Reply::Answer(answer)
            }
            Fault::StoredThen(status) => {
                sim.serve(request, body, None);
                Reply::Answer(Response::new(status))
            }
            Fault::Busy => {
                let mut answer = Response::new(400)
                    .with_header("X-WOPI-FailureReason", "another update is in progress");
                if let Some(offset) = sim.server.offset_of(request, sim.now) {
                    answer =
                        answer.with_header("X-WOPI-UploadSessionCurrentOffset", offset.to_string());
                }
                Reply::Answer(answer)
            }
            Fault::Expire => {
                sim.server.expire_sessions();
                Reply::Answer(sim.serve(request, body, None))
            }
        }
    }

    /// Requests the host got whole are served.
    fn abandoned(sim: &mut Sim, request: &Request, body: &[u8], fault: Fault) {
        if matches!(fault, Fault::None | Fault::LostAnswer) {
            sim.serve(request, body, None);
        }
    }
}

impl Client<WopiUpload, WopiHost> for WopiClient {
    type Call = ();

    /// One request at a time, with a body of segments.
    fn sending(sim: &mut Sim, _: &WopiUpload, request: &Request) {
        assert!(
            sim.in_flight().next().is_none(),
            "a second request while one is in flight: {request:?}"
        );
        assert!(
            matches!(request.body, Body::Empty | Body::Segments(_)),
            "WOPI bodies are segments, not {:?}",
            request.body
        );
    }

    fn stepped(sim: &mut Sim, upload: &WopiUpload) {
        if sim.client.keep_checkpoints {
            sim.client.checkpoints.push(upload.checkpoint());
        }
    }
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
