//! Runs a `WorkbookSession` against the in-memory service on the shared simulator
//! (`crate::sim`): messages cross the network both ways with a seeded latency, the caller makes
//! workbook calls of its own at set times, and virtual time jumps from one deadline or delivery
//! to the next.

use std::ops::{Deref, DerefMut};
use std::vec::Vec;

use resumable_core::http::{Request, Response};
use resumable_core::session::StateMachine;
use resumable_core::time::{Duration, Instant, UnixTime, WallClock};
use resumable_core::workbook::{
    CallOutcome, WorkbookCall, WorkbookConfig, WorkbookEvent, WorkbookSession, WorkbookUrl,
};

use crate::server::{BASE, ServerConfig, WorkbookServer};
use crate::sim::{Client, Link, Reply, Server, Sim};

/// The shared simulator, for workbook sessions.
pub(crate) type Net = Sim<WorkbookSession, WorkbookServer>;

/// One of the caller's calls, from the client's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallRecord {
    pub(crate) sent_at: Instant,
    pub(crate) answered_at: Instant,
    pub(crate) outcome: Option<CallOutcome>,
}

/// The caller around the session: it makes workbook calls of its own (reading a range).
#[derive(Debug, Default)]
pub(crate) struct Caller {
    /// When the caller makes its calls (it skips those when no session is usable).
    times: Vec<Instant>,
    next: usize,
    pub(crate) calls: Vec<CallRecord>,
}

/// A session, its caller and the service, on the shared simulator (which it dereferences to:
/// `sim.server`, `sim.events`, `sim.now`, `sim.client.calls`).
pub(crate) struct Simulation {
    pub(crate) machine: WorkbookSession,
    net: Net,
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
        let server = WorkbookServer::new(server);
        Simulation {
            machine,
            net: Sim::with_server(server, Vec::new(), Link::INSTANT, 1),
        }
    }

    /// Each message takes between `min` and `max` to cross the network, chosen with `seed`.
    pub(crate) fn with_latency(self, min: Duration, max: Duration, seed: u64) -> Self {
        Simulation {
            net: self.net.with_latency(min, max, seed),
            ..self
        }
    }

    /// The caller makes a workbook call at each of `times` (sorted).
    pub(crate) fn with_calls(mut self, times: Vec<Instant>) -> Self {
        self.net.client.times = times;
        self
    }

    /// Runs until `end`, or until the machine finishes and the network is quiet.
    pub(crate) fn run_until(&mut self, end: Instant) {
        self.net.run_to(&mut self.machine, end);
    }

    /// Closes the session at the current time and runs until the machine finishes.
    pub(crate) fn close(&mut self) {
        self.machine.close(self.net.now);
        let caller = &mut self.net.client;
        caller.times.truncate(caller.next);
        self.run_until(Instant::MAX);
        assert!(self.machine.is_finished());
    }

    /// The events.
    pub(crate) fn event_list(&self) -> Vec<WorkbookEvent> {
        self.net.events.clone()
    }
}

impl Deref for Simulation {
    type Target = Net;

    fn deref(&self) -> &Net {
        &self.net
    }
}

impl DerefMut for Simulation {
    fn deref_mut(&mut self) -> &mut Net {
        &mut self.net
    }
}

impl Server<WorkbookSession> for WorkbookServer {
    type Fault = ();
    type Client = Caller;

    fn answer(net: &mut Net, request: &Request, _: &[u8], _: ()) -> Reply {
        let now = net.now;
        net.server.handle(now, request)
    }
}

impl Client<WorkbookSession, WorkbookServer> for Caller {
    type Call = WorkbookCall;

    fn next_call(&self) -> Option<Instant> {
        self.times.get(self.next).copied()
    }

    fn begin_call(net: &mut Net, machine: &mut WorkbookSession) -> Option<WorkbookCall> {
        net.client.next += 1;
        machine.begin_call(net.now)
    }

    fn answer_call(net: &mut Net, call: &WorkbookCall) -> Reply {
        let now = net.now;
        net.server.handle_call(now, Some(&call.header().value))
    }

    fn call_answered(
        net: &mut Net,
        machine: &mut WorkbookSession,
        call: WorkbookCall,
        reply: Reply,
    ) {
        let now = net.now;
        let outcome = match reply {
            Reply::Answer(response) => Some(machine.handle_workbook_answer(now, &call, &response)),
            Reply::Lost(_) => None,
        };
        net.client.calls.push(CallRecord {
            sent_at: call.sent_at(),
            answered_at: now,
            outcome,
        });
    }
}

/// `Response` for convenience in tests that script answers.
pub(crate) fn answer(status: u16) -> Response {
    Response::new(status)
}

pub(crate) fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

pub(crate) fn minutes(m: u64) -> Instant {
    secs(m * 60)
}
