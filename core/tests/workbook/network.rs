//! Runs a `WorkbookSession` against the in-memory service over a simulated network, jumping
//! virtual time from one deadline or delivery to the next.

use std::collections::BTreeMap;
use std::vec::Vec;

use resumable_core::http::{Request, RequestId, RequestKind, Response};
use resumable_core::retry::JitterRng;
use resumable_core::session::StateMachine;
use resumable_core::time::{Duration, Instant, UnixTime, WallClock};
use resumable_core::workbook::{
    CallOutcome, WorkbookCall, WorkbookConfig, WorkbookEvent, WorkbookSession, WorkbookUrl,
};

use crate::server::{BASE, Reply, ServerConfig, WorkbookServer};

/// Something that happens at an instant of the simulation.
enum Delivery {
    /// A request of the machine's reaches the service.
    Request(Request),
    /// The answer to a machine request reaches the client.
    Answer(RequestId, Reply),
    /// A caller's call reaches the service.
    Call(WorkbookCall),
    /// The answer to a caller's call reaches the client.
    CallAnswer(WorkbookCall, Reply),
}

/// One of the caller's calls, from the client's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallRecord {
    pub(crate) sent_at: Instant,
    pub(crate) answered_at: Instant,
    pub(crate) outcome: Option<CallOutcome>,
}

pub(crate) struct Simulation {
    pub(crate) now: Instant,
    pub(crate) machine: WorkbookSession,
    pub(crate) server: WorkbookServer,
    pub(crate) events: Vec<(Instant, WorkbookEvent)>,
    /// The machine's requests, with the time they left the client.
    pub(crate) sent: Vec<(Instant, RequestKind)>,
    pub(crate) calls: Vec<CallRecord>,
    /// When the caller makes its calls (it skips those when no session is usable).
    call_times: Vec<Instant>,
    next_call: usize,
    in_transit: BTreeMap<(Instant, u64), Delivery>,
    sequence: u64,
    /// Latency of each direction, uniform in `latency.0..=latency.1` milliseconds.
    latency: (u64, u64),
    rng: JitterRng,
}

/// What the client's wall clock reads when the simulation starts (it agrees with the service's).
pub(crate) fn wall_start() -> UnixTime {
    UnixTime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap()
}

impl Simulation {
    pub(crate) fn new(config: WorkbookConfig, server: ServerConfig) -> Self {
        let url = WorkbookUrl::new(BASE).unwrap();
        let mut machine = WorkbookSession::create(url, config, Instant::ZERO).unwrap();
        // As a transport does, from its own clock.
        machine.set_wall_clock(WallClock::new(Instant::ZERO, wall_start()));
        Simulation {
            now: Instant::ZERO,
            machine,
            server: WorkbookServer::new(server),
            events: Vec::new(),
            sent: Vec::new(),
            calls: Vec::new(),
            call_times: Vec::new(),
            next_call: 0,
            in_transit: BTreeMap::new(),
            sequence: 0,
            latency: (0, 0),
            rng: JitterRng::new(1),
        }
    }

    /// Each message takes between `min` and `max` to cross the network, chosen with `seed`.
    pub(crate) fn with_latency(mut self, min: Duration, max: Duration, seed: u64) -> Self {
        self.latency = (millis(min), millis(max).max(millis(min)));
        self.rng = JitterRng::new(seed);
        self
    }

    /// The caller makes a workbook call at each of `times` (sorted).
    pub(crate) fn with_calls(mut self, times: Vec<Instant>) -> Self {
        self.call_times = times;
        self
    }

    /// Runs until `end`, or until the machine finishes and the network is quiet.
    pub(crate) fn run_until(&mut self, end: Instant) {
        let mut steps_at_same_time = 0u32;
        loop {
            self.drain_machine();
            if self.machine.is_finished() && self.in_transit.is_empty() {
                return;
            }
            let next_transit = self.in_transit.keys().next().map(|&(at, _)| at);
            let next_call = self.call_times.get(self.next_call).copied();
            let next_timeout = self.machine.poll_timeout();
            let next = [next_transit, next_call, next_timeout]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|&next| next <= end) else {
                self.now = self.now.max(end);
                return;
            };
            let next = next.max(self.now);
            if next == self.now {
                steps_at_same_time += 1;
                assert!(
                    steps_at_same_time < 10_000,
                    "the simulation spins at {next:?}"
                );
            } else {
                steps_at_same_time = 0;
            }
            self.now = next;
            if next_transit == Some(next) {
                let (_, delivery) = self.in_transit.pop_first().unwrap();
                self.deliver(delivery);
            } else if next_call == Some(next) {
                self.next_call += 1;
                if let Some(call) = self.machine.begin_call(next) {
                    self.send(Delivery::Call(call));
                }
            } else {
                self.machine.handle_timeout(next);
            }
        }
    }

    /// Closes the session at the current time and runs until the machine finishes.
    pub(crate) fn close(&mut self) {
        self.machine.close(self.now);
        self.call_times.truncate(self.next_call);
        self.run_until(Instant::MAX);
        assert!(self.machine.is_finished());
    }

    /// The machine's requests of `kind`, by send time.
    pub(crate) fn sent(&self, kind: RequestKind) -> Vec<Instant> {
        self.sent
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(at, _)| *at)
            .collect()
    }

    fn drain_machine(&mut self) {
        while let Some(request) = self.machine.poll_request(self.now) {
            self.sent.push((self.now, request.kind));
            self.send(Delivery::Request(request));
        }
        while let Some(event) = self.machine.poll_event() {
            self.events.push((self.now, event));
        }
    }

    fn send(&mut self, delivery: Delivery) {
        let (min, max) = self.latency;
        let delay = min + self.rng.below_or_equal(max - min);
        self.sequence += 1;
        self.in_transit.insert(
            (self.now + Duration::from_millis(delay), self.sequence),
            delivery,
        );
    }

    fn deliver(&mut self, delivery: Delivery) {
        let now = self.now;
        match delivery {
            Delivery::Request(request) => {
                let reply = self.server.handle(now, &request);
                self.send(Delivery::Answer(request.id, reply));
            }
            Delivery::Answer(id, Reply::Answer(response)) => {
                self.machine.handle_response(now, id, response);
            }
            Delivery::Answer(id, Reply::Lost(error)) => {
                self.machine.handle_transport_error(now, id, error);
            }
            Delivery::Call(call) => {
                let reply = self.server.handle_call(now, Some(&call.header().value));
                self.send(Delivery::CallAnswer(call, reply));
            }
            Delivery::CallAnswer(call, reply) => {
                let outcome = match reply {
                    Reply::Answer(response) => {
                        Some(self.machine.handle_workbook_answer(now, &call, &response))
                    }
                    Reply::Lost(_) => None,
                };
                self.calls.push(CallRecord {
                    sent_at: call.sent_at(),
                    answered_at: now,
                    outcome,
                });
            }
        }
    }

    /// The events, without their times.
    pub(crate) fn event_list(&self) -> Vec<WorkbookEvent> {
        self.events.iter().map(|(_, e)| e.clone()).collect()
    }
}

/// `Response` for convenience in tests that script answers.
pub(crate) fn answer(status: u16) -> Response {
    Response::new(status)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

pub(crate) fn minutes(m: u64) -> Instant {
    secs(m * 60)
}
