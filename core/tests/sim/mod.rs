//! One deterministic simulator for every machine of the core: it drives a machine against a
//! simulated server over a simulated network, on virtual time.
//!
//! The loop is the crate's driver loop (see `resumable_core::session::StateMachine`), played by
//! a transport stand-in:
//!
//! 1. the caller acts (gives the source's hashes when asked, commits, makes calls of its own);
//! 2. every request the machine hands out leaves with a body read from the source, a fault
//!    chosen for it (by a script or a seed) and a time to cross the [`Link`];
//! 3. time jumps to the first of: a message arriving (a request at the server, an answer at the
//!    machine), the caller's next call, the machine's deadline; then back to 1.
//!
//! Nothing is random but the seeded [`JitterRng`], so a run is the same every time: hours of
//! retries take milliseconds, and a failing seed can be replayed.
//!
//! A protocol plugs in with two small traits: its [`Server`] (what a request that arrives
//! does, fault included) and its [`Client`] (what the caller and the transport do around the
//! machine, and what they write down). Each test binary includes this module and uses part of
//! it.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use resumable_core::digest::SourceHashes;
use resumable_core::http::{
    Body, Request, RequestId, RequestKind, Response, Segment, TransportError,
};
use resumable_core::retry::JitterRng;
use resumable_core::session::{Driven, Milestone, Transfer};
use resumable_core::time::{Duration, Instant};

/// What comes back for a request (or a call of the caller's own).
#[derive(Clone, Debug)]
pub enum Reply {
    /// An answer.
    Answer(Response),
    /// No answer: the transport reports this error.
    Lost(TransportError),
}

/// How a transfer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<C, E> {
    Completed(C),
    Failed(E),
    Cancelled,
}

/// A fault chooser: sees each request, its sequence number, the time it is sent and the seeded
/// generator.
pub type FaultPlan<F> = Box<dyn FnMut(&Request, usize, Instant, &mut JitterRng) -> F>;

/// No faults at all.
pub fn no_faults<F: Default>() -> FaultPlan<F> {
    Box::new(|_, _, _, _| F::default())
}

/// Seeded pseudo-random bytes: a source to upload.
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

/// The network between the machine and the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// How long a message takes to cross, in milliseconds: uniform in this range, drawn from
    /// the simulation's seed.
    pub latency: (u64, u64),
    /// The bytes per second at which request bodies cross, if they take time at all.
    pub rate: Option<u64>,
    /// Whether answers cross the link too. If not, an answer reaches the machine the moment the
    /// server gives it: the request's crossing stands for the round trip.
    pub answers_travel: bool,
}

impl Link {
    /// A fast link for uploads: 2 to 42 ms for the round trip, plus the body at 10 MB/s.
    pub const UPLOAD: Link = Link {
        latency: (2, 42),
        rate: Some(10_000_000),
        answers_travel: false,
    };

    /// Messages cross both ways in no time.
    pub const INSTANT: Link = Link {
        latency: (0, 0),
        rate: None,
        answers_travel: true,
    };
}

/// A request on its way to the server: what the machine asked for, the bytes a transport reads
/// for its body, and what goes wrong with it.
#[derive(Clone, Debug)]
pub struct Exchange<F> {
    pub request: Request,
    /// The bytes sent (the whole body, even where the fault cuts it short).
    pub body: Vec<u8>,
    pub fault: F,
}

/// The simulated server of a protocol: its rules, and what each fault does to a request.
pub trait Server<M: Driven>: Sized {
    /// What can go wrong with one request, chosen as it leaves (`Default`: nothing).
    type Fault: Copy + Debug + Default + 'static;
    /// The caller and the transport around the machine (see [`Client`]).
    type Client: Client<M, Self>;

    /// `request`, with `body`, arrives at `sim.now` and `fault` strikes: what comes back.
    /// `sim.in_flight()` holds the requests still on their way.
    fn answer(sim: &mut Sim<M, Self>, request: &Request, body: &[u8], fault: Self::Fault) -> Reply;

    /// Whether the answer never comes back with this fault, so the transport waits out the
    /// request's time limit (`Driven::time_limit`) before it says so.
    fn waits_out(fault: &Self::Fault) -> bool {
        let _ = fault;
        false
    }

    /// The process that drove the machine died: `request` still arrives at `sim.now`, and
    /// nobody reads what comes back.
    fn abandoned(sim: &mut Sim<M, Self>, request: &Request, body: &[u8], fault: Self::Fault) {
        let _ = Self::answer(sim, request, body, fault);
    }
}

/// What the caller and the transport do around the machine, and what they write down (its
/// value is [`Sim::client`]).
pub trait Client<M: Driven, S: Server<M>>: Default {
    /// A request of the caller's own, made with the machine's help (a workbook call).
    type Call: Debug;

    /// The caller's turn, before the machine is asked for requests (a commit when one is due).
    fn prepare(sim: &mut Sim<M, S>, machine: &mut M) {
        let _ = (sim, machine);
    }

    /// `request` is about to leave: the transport checks it and notes it.
    fn sending(sim: &mut Sim<M, S>, machine: &M, request: &Request) {
        let _ = (sim, machine, request);
    }

    /// A step ended (its requests sent, its events collected), as a transport that persists a
    /// checkpoint after each.
    fn stepped(sim: &mut Sim<M, S>, machine: &M) {
        let _ = (sim, machine);
    }

    /// When the caller makes its next call, if ever.
    fn next_call(&self) -> Option<Instant> {
        None
    }

    /// The time of the next call has come (`sim.now`): the call to send, if the caller makes
    /// it.
    fn begin_call(sim: &mut Sim<M, S>, machine: &mut M) -> Option<Self::Call> {
        let _ = (sim, machine);
        None
    }

    /// `call` arrives at the server at `sim.now`: what comes back.
    fn answer_call(sim: &mut Sim<M, S>, call: &Self::Call) -> Reply {
        unreachable!("{call:?}: this caller makes no calls, {:?}", sim.now)
    }

    /// What came back for `call` reaches the caller at `sim.now`.
    fn call_answered(sim: &mut Sim<M, S>, machine: &mut M, call: Self::Call, reply: Reply) {
        let _ = (sim, machine, call, reply);
    }
}

type CallOf<M, S> = <<S as Server<M>>::Client as Client<M, S>>::Call;
type MessageOf<M, S> = Message<<S as Server<M>>::Fault, CallOf<M, S>>;

/// Something on its way across the link.
#[derive(Debug)]
enum Message<F, C> {
    /// A request of the machine's, to the server.
    Request(Exchange<F>),
    /// What came back for request `RequestId`, to the machine.
    Answer(RequestId, Reply),
    /// A call of the caller's own, to the server.
    Call(C),
    /// What came back for a call, to the caller.
    CallAnswer(C, Reply),
}

/// What happens next.
enum Next {
    Arrival,
    Call,
    Deadline,
}

/// The simulation: a server, a link, a caller and virtual time, for machines of type `M` (the
/// machine itself is the caller's, handed to each call).
pub struct Sim<M: Driven, S: Server<M>> {
    /// The simulated server, with its own record of what it saw.
    pub server: S,
    /// The caller and the transport around the machine: their settings and notes.
    pub client: S::Client,
    /// The source the machine uploads; bodies are read from it.
    pub source: Vec<u8>,
    /// Virtual time.
    pub now: Instant,
    /// Every request the machine handed out, in order.
    pub requests: Vec<Request>,
    /// When each of `requests` left.
    pub sent_at: Vec<Instant>,
    /// Every event, in order.
    pub events: Vec<M::Event>,
    /// Client mistakes the transport stand-in saw (besides the server's).
    pub violations: Vec<String>,
    /// The network.
    pub link: Link,
    /// A run that takes more steps than this loops without end.
    pub step_limit: usize,
    rng: JitterRng,
    plan: FaultPlan<S::Fault>,
    in_transit: BTreeMap<(Instant, u64), MessageOf<M, S>>,
    sequence: u64,
    steps: usize,
}

impl<M: Driven, S: Server<M>> Sim<M, S> {
    /// A simulation of `server` over `link`, with `source` to upload, starting at time zero with
    /// no faults.
    pub fn with_server(server: S, source: Vec<u8>, link: Link, seed: u64) -> Self {
        Sim {
            server,
            client: S::Client::default(),
            source,
            now: Instant::ZERO,
            requests: Vec::new(),
            sent_at: Vec::new(),
            events: Vec::new(),
            violations: Vec::new(),
            link,
            step_limit: 200_000,
            rng: JitterRng::new(seed),
            plan: no_faults(),
            in_transit: BTreeMap::new(),
            sequence: 0,
            steps: 0,
        }
    }

    /// Faults chosen by `plan`.
    pub fn with_faults(mut self, plan: FaultPlan<S::Fault>) -> Self {
        self.plan = plan;
        self
    }

    /// Faults only for the requests whose sequence number is listed (a script).
    pub fn with_script(self, script: Vec<(usize, S::Fault)>) -> Self {
        self.with_faults(Box::new(move |_, n, _, _| {
            script
                .iter()
                .find(|(at, _)| *at == n)
                .map_or_else(S::Fault::default, |(_, fault)| *fault)
        }))
    }

    /// Each message takes between `min` and `max` to cross, drawn from `seed`.
    pub fn with_latency(mut self, min: Duration, max: Duration, seed: u64) -> Self {
        let (min, max) = (millis(min), millis(max));
        self.link.latency = (min, max.max(min));
        self.rng = JitterRng::new(seed);
        self
    }

    /// The caller's turn, then [`Sim::pump`]: what a transport does before it waits.
    pub fn send(&mut self, machine: &mut M) {
        S::Client::prepare(self, machine);
        if machine.awaits_source_hashes() {
            // What a transport does: the source's hashes, from the reads that sent it.
            let hashes = SourceHashes::of(&self.source);
            machine.give_source_hashes(self.now, Some(hashes));
        }
        self.pump(machine);
    }

    /// Drains `poll_request` (each request leaves, with its body and fault) and `poll_event`.
    pub fn pump(&mut self, machine: &mut M) {
        while let Some(request) = machine.poll_request(self.now) {
            S::Client::sending(self, machine, &request);
            let body = self.body_of(&request.body);
            if request.kind == RequestKind::Fragment {
                machine.body_sent(request.id, crc32fast::hash(&body), Some(self.now));
            }
            let n = self.requests.len();
            let fault = (self.plan)(&request, n, self.now, &mut self.rng);
            let crossing = self.crossing(body.len());
            let delay = if S::waits_out(&fault) {
                machine.time_limit(&request)
            } else {
                crossing
            };
            self.requests.push(request.clone());
            self.sent_at.push(self.now);
            let exchange = Exchange {
                request,
                body,
                fault,
            };
            self.post(delay, Message::Request(exchange));
        }
        while let Some(event) = machine.poll_event() {
            self.events.push(event);
        }
    }

    /// Lets virtual time run to `end`: messages arrive, the caller's calls go out, deadlines
    /// fire. Returns early once the machine has finished and nothing is on its way.
    pub fn run_to(&mut self, machine: &mut M, end: Instant) {
        let mut steps_at_same_time = 0u32;
        loop {
            self.send(machine);
            if machine.is_finished() && self.in_transit.is_empty() {
                return;
            }
            let Some((at, next)) = self.next(machine).filter(|&(at, _)| at <= end) else {
                self.now = self.now.max(end);
                return;
            };
            if at <= self.now {
                steps_at_same_time += 1;
                assert!(
                    steps_at_same_time < 10_000,
                    "the simulation spins at {at:?}"
                );
            } else {
                steps_at_same_time = 0;
            }
            self.advance(machine, at, next);
        }
    }

    /// Lets virtual time pass until `until` while the caller keeps the machine paused: answers
    /// arrive and deadlines fire, and at `until` the machine is told the time.
    pub fn idle_until(&mut self, machine: &mut M, until: Instant) {
        self.run_to(machine, until);
        self.now = self.now.max(until);
        machine.handle_timeout(self.now);
        self.send(machine);
    }

    /// The process driving the machine died: requests already sent still reach the server,
    /// what comes back reaches no one.
    pub fn abandon_in_flight(&mut self) {
        for ((at, _), message) in std::mem::take(&mut self.in_transit) {
            if let Message::Request(exchange) = message {
                self.now = self.now.max(at);
                S::abandoned(self, &exchange.request, &exchange.body, exchange.fault);
            }
        }
    }

    /// The requests on their way to the server, earliest arrival first.
    pub fn in_flight(&self) -> impl Iterator<Item = &Exchange<S::Fault>> {
        self.in_transit
            .values()
            .filter_map(|message| match message {
                Message::Request(exchange) => Some(exchange),
                _ => None,
            })
    }

    /// When the machine's requests of `kind` left.
    pub fn sent(&self, kind: RequestKind) -> Vec<Instant> {
        self.requests
            .iter()
            .zip(&self.sent_at)
            .filter(|(request, _)| request.kind == kind)
            .map(|(_, at)| *at)
            .collect()
    }

    /// The bytes a transport sends for `body`: JSON and inline pieces as they are, source ranges
    /// read from the source.
    pub fn body_of(&self, body: &Body) -> Vec<u8> {
        let read = |start: u64, end: u64| &self.source[start as usize..end as usize];
        match body {
            Body::Empty => Vec::new(),
            Body::Json(json) => json.to_vec(),
            Body::Source(range) => read(range.start(), range.end()).to_vec(),
            Body::Segments(segments) => {
                let mut bytes = Vec::new();
                for segment in segments {
                    match segment {
                        Segment::Inline(inline) => bytes.extend_from_slice(inline),
                        Segment::Source(range) => {
                            bytes.extend_from_slice(read(range.start(), range.end()));
                        }
                    }
                }
                bytes
            }
        }
    }

    /// The first thing to happen: an arrival, then the caller's call, then the machine's
    /// deadline (in that order when they fall at the same instant).
    fn next(&self, machine: &M) -> Option<(Instant, Next)> {
        let arrival = self
            .in_transit
            .keys()
            .next()
            .map(|&(at, _)| (at, Next::Arrival));
        let call = self.client.next_call().map(|at| (at, Next::Call));
        let deadline = machine.poll_timeout().map(|at| (at, Next::Deadline));
        [arrival, call, deadline]
            .into_iter()
            .flatten()
            .reduce(|first, other| if other.0 < first.0 { other } else { first })
    }

    /// Moves time to `at` and lets `next` happen.
    fn advance(&mut self, machine: &mut M, at: Instant, next: Next) {
        self.now = self.now.max(at);
        match next {
            Next::Arrival => {
                let (_, message) = self.in_transit.pop_first().expect("a message on its way");
                self.arrive(machine, message);
            }
            Next::Call => {
                if let Some(call) = S::Client::begin_call(self, machine) {
                    let crossing = self.crossing(0);
                    self.post(crossing, Message::Call(call));
                }
            }
            Next::Deadline => machine.handle_timeout(self.now),
        }
    }

    fn arrive(&mut self, machine: &mut M, message: MessageOf<M, S>) {
        let now = self.now;
        match message {
            Message::Request(exchange) => {
                let reply = S::answer(self, &exchange.request, &exchange.body, exchange.fault);
                let id = exchange.request.id;
                if self.link.answers_travel {
                    let crossing = self.crossing(0);
                    self.post(crossing, Message::Answer(id, reply));
                } else {
                    deliver(machine, now, id, reply);
                }
            }
            Message::Answer(id, reply) => deliver(machine, now, id, reply),
            Message::Call(call) => {
                let reply = S::Client::answer_call(self, &call);
                let crossing = self.crossing(0);
                self.post(crossing, Message::CallAnswer(call, reply));
            }
            Message::CallAnswer(call, reply) => {
                S::Client::call_answered(self, machine, call, reply);
            }
        }
    }

    /// How long a message with a body of `len` bytes takes to cross the link.
    fn crossing(&mut self, len: usize) -> Duration {
        let (min, max) = self.link.latency;
        let latency = min + self.rng.below_or_equal(max - min);
        let transfer = self.link.rate.map_or(0, |rate| len as u64 * 1000 / rate);
        Duration::from_millis(latency + transfer)
    }

    fn post(&mut self, delay: Duration, message: MessageOf<M, S>) {
        self.sequence += 1;
        self.in_transit
            .insert((self.now + delay, self.sequence), message);
    }
}

/// Runs of transfers (uploads), which end in an [`Outcome`].
impl<M: Transfer, S: Server<M>> Sim<M, S>
where
    M::Event: Debug,
{
    /// Runs until the machine finishes; panics if it stalls or loops.
    pub fn run(&mut self, machine: &mut M) -> Outcome<M::Completion, M::Error> {
        loop {
            if let Some(outcome) = self.step(machine) {
                return outcome;
            }
        }
    }

    /// Runs until `stop` says so (asked after each step) or the machine finishes.
    pub fn run_until(
        &mut self,
        machine: &mut M,
        mut stop: impl FnMut(&Self, &M) -> bool,
    ) -> Option<Outcome<M::Completion, M::Error>> {
        loop {
            if let Some(outcome) = self.step(machine) {
                return Some(outcome);
            }
            if stop(self, machine) {
                return None;
            }
        }
    }

    /// The caller's turn and the machine's requests and events ([`Sim::send`]), then time moves
    /// to the next arrival or deadline. Returns the outcome once the machine has finished.
    pub fn step(&mut self, machine: &mut M) -> Option<Outcome<M::Completion, M::Error>> {
        self.steps += 1;
        assert!(
            self.steps < self.step_limit,
            "the machine loops without end"
        );
        self.send(machine);
        S::Client::stepped(self, machine);
        if machine.is_finished() {
            return Some(self.outcome());
        }
        let Some((at, next)) = self.next(machine) else {
            panic!(
                "stuck: nothing in flight and no deadline, after {:?}",
                self.events.last()
            );
        };
        self.advance(machine, at, next);
        None
    }

    fn outcome(&self) -> Outcome<M::Completion, M::Error> {
        let last = self.events.last();
        match last.map(M::milestone) {
            Some(Milestone::Completed(done)) => Outcome::Completed(done),
            Some(Milestone::Failed(error)) => Outcome::Failed(error),
            Some(Milestone::Cancelled) => Outcome::Cancelled,
            _ => panic!("finished without a final event: {last:?}"),
        }
    }
}

/// `reply` reaches the machine.
fn deliver<M: Driven>(machine: &mut M, now: Instant, id: RequestId, reply: Reply) {
    match reply {
        Reply::Answer(response) => machine.handle_response(now, id, response),
        Reply::Lost(error) => machine.handle_transport_error(now, id, error),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
