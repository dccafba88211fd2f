//! What one seed of the soak does: the source's size, the protocol, the faults the emulator
//! injects and when the upload process is killed. A plan is a pure function of the seed and the
//! largest size, so `--seeds 1 --first-seed S` replays a run's plan exactly (the moments the
//! kills land in the upload's life still depend on the machine's speed).

use std::fmt;
use std::time::Duration;

use resumable_core::retry::JitterRng;
use resumable_emulator::{Fault, FaultProfile, FaultScript, RequestKind, RetryAfterForm};

/// The drive alignment unit: drive fragments are multiples of it.
const DRIVE_UNIT: u64 = 327_680;
/// Print fragments in the examples are multiples of this.
const PRINT_UNIT: u64 = 200_000;
/// The CLI's default upload cutoff: drive items up to it go as one simple upload.
const SIMPLE_CUTOFF: u64 = 4_000_000;

/// The plans' random numbers: the core's splitmix64 ([`JitterRng`]), drawn the soak's way.
#[derive(Clone, Debug)]
pub(crate) struct Rng(JitterRng);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(JitterRng::new(seed))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `low..=high`.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next() % (high - low + 1)
    }

    /// True with `percent` % chance.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// The upload variants the soak covers, each through the CLI's own flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Protocol {
    /// A drive item; under the upload cutoff a simple upload unless the plan sets it to 0.
    Drive,
    /// A drive item uploaded with `--defer-commit`, committed by a separate request.
    DriveDeferred,
    /// A Universal Print document.
    Print,
    /// An Outlook mail attachment.
    Mail,
    /// A WOPI host's upload session.
    Wopi,
    /// A tus 1.0 upload.
    Tus,
    /// An IETF resumable-upload draft upload.
    Ietf,
}

impl Protocol {
    pub(crate) const ALL: [Protocol; 7] = [
        Protocol::Drive,
        Protocol::DriveDeferred,
        Protocol::Print,
        Protocol::Mail,
        Protocol::Wopi,
        Protocol::Tus,
        Protocol::Ietf,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Drive => "graph-drive",
            Protocol::DriveDeferred => "graph-drive deferred",
            Protocol::Print => "graph-print",
            Protocol::Mail => "graph-attachment",
            Protocol::Wopi => "wopi",
            Protocol::Tus => "tus",
            Protocol::Ietf => "ietf",
        }
    }

    /// Whether an empty file can be uploaded this way (a Graph upload session cannot carry
    /// zero bytes; a drive item goes as a simple upload instead).
    fn carries_empty(self, simple: bool) -> bool {
        match self {
            Protocol::Drive => simple,
            Protocol::Tus | Protocol::Ietf => true,
            _ => false,
        }
    }

    /// The largest file the service takes.
    fn max_size(self) -> u64 {
        match self {
            Protocol::Mail => resumable_core::graph::MAIL_ATTACHMENT_MAX,
            _ => u64::MAX,
        }
    }

    /// The requests that create, send and finish, by the emulator's names for them.
    fn kinds(self, simple: bool) -> (&'static [RequestKind], RequestKind) {
        use RequestKind as K;
        match self {
            Protocol::Drive if simple => (&[K::SimpleUpload, K::GetItem], K::SimpleUpload),
            Protocol::Drive => (&[K::CreateDrive, K::Fragment, K::Status], K::Fragment),
            Protocol::DriveDeferred => (
                &[K::CreateDrive, K::Fragment, K::Status, K::ExplicitCommit],
                K::Fragment,
            ),
            Protocol::Print => (&[K::CreatePrint, K::Fragment, K::Status], K::Fragment),
            Protocol::Mail => (&[K::CreateMail, K::Fragment, K::Status], K::Fragment),
            Protocol::Wopi => (
                &[
                    K::WopiCheckFileInfo,
                    K::WopiCreate,
                    K::WopiUpdate,
                    K::WopiCommit,
                ],
                K::WopiUpdate,
            ),
            Protocol::Tus => (
                &[K::TusOptions, K::TusCreate, K::TusHead, K::TusAppend],
                K::TusAppend,
            ),
            Protocol::Ietf => (&[K::TusCreate, K::TusHead, K::TusAppend], K::TusAppend),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the schedule allows: success, or only a clean failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Only accidents (drops, lost answers, partial stores, short 5xx storms, throttling,
    /// slowness, a session that expires or a clock that is off): the upload must complete.
    Complete,
    /// The service lies (claims bytes it does not have, answers items of other bytes): a
    /// verified completion or a clean failure, never a false success.
    Lies,
    /// A permanent outage from some request on: a clean failure within the retry budget
    /// (or a completion, if the outage begins after the last request).
    Outage,
}

impl Expect {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Expect::Complete => "accidents",
            Expect::Lies => "lies",
            Expect::Outage => "outage",
        }
    }
}

/// One seed's run.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) seed: u64,
    pub(crate) protocol: Protocol,
    pub(crate) size: u64,
    /// `--chunk-size`, if the plan sets one.
    pub(crate) chunk: Option<u64>,
    /// A drive item sent as one simple upload (at most the cutoff, which stays the default).
    pub(crate) simple: bool,
    pub(crate) script: FaultScript,
    /// Random faults on top of the script (accidents only).
    pub(crate) profile: Option<FaultProfile>,
    pub(crate) expect: Expect,
    /// How long after its start each killed run is killed; the run after the last one goes on
    /// until it ends.
    pub(crate) kills: Vec<Duration>,
}

impl Plan {
    /// The plan for `seed`, with sources of at most `max_size` bytes.
    pub(crate) fn new(seed: u64, max_size: u64) -> Plan {
        let mut rng = Rng::new(seed);
        let protocol = rng.pick(&Protocol::ALL);
        let chunk = chunk_size(&mut rng, protocol);
        let max = max_size.min(protocol.max_size());
        let mut size = source_size(&mut rng, max, chunk);
        // Half of the drive items small enough go as a simple upload; the others in a
        // session (`--upload-cutoff 0`).
        let simple = protocol == Protocol::Drive && size <= SIMPLE_CUTOFF && rng.chance(50);
        if size == 0 && !protocol.carries_empty(simple) {
            size = 1;
        }
        let fragment = chunk.unwrap_or(match protocol {
            Protocol::Drive | Protocol::DriveDeferred | Protocol::Wopi => 10 << 20,
            Protocol::Print => 5_000_000,
            Protocol::Mail => 4_000_000,
            Protocol::Tus | Protocol::Ietf => 8 << 20,
        });
        let requests = if simple {
            1
        } else {
            size.div_ceil(fragment).max(1)
        };
        let roll = rng.next() % 100;
        let expect = match roll {
            0..70 => Expect::Complete,
            70..90 => Expect::Lies,
            _ => Expect::Outage,
        };
        let script = script(&mut rng, protocol, simple, requests, size, expect);
        let profile = (expect == Expect::Complete && rng.chance(20)).then_some(FaultProfile::Flaky);
        let kills = match rng.next() % 10 {
            0..3 => 0,
            3..7 => rng.between(1, 2),
            _ => rng.between(3, 6),
        };
        let kills = (0..kills)
            .map(|_| Duration::from_millis(rng.between(5, 700)))
            .collect();
        Plan {
            seed,
            protocol,
            size,
            chunk,
            simple,
            script,
            profile,
            expect,
            kills,
        }
    }
}

/// A fragment size the service takes, or none (the CLI's default). Small ones favoured: more
/// requests, more places for faults and kills.
fn chunk_size(rng: &mut Rng, protocol: Protocol) -> Option<u64> {
    if rng.chance(15) {
        return None;
    }
    Some(match protocol {
        Protocol::Drive | Protocol::DriveDeferred => DRIVE_UNIT * rng.pick(&[1, 1, 2, 3, 4, 8, 16]),
        Protocol::Print => PRINT_UNIT * rng.pick(&[1, 2, 5, 10, 25]),
        Protocol::Mail => rng.pick(&[DRIVE_UNIT, 1_000_000, 2 << 20, 4_000_000]),
        Protocol::Wopi | Protocol::Tus | Protocol::Ietf => {
            rng.pick(&[65_536, DRIVE_UNIT, 1 << 20, 1_000_001, 4 << 20])
        }
    })
}

/// A source size in `0..=max`, boundaries favoured: 0, 1 and 2; one byte either side of (and
/// on) a multiple of an alignment the engine or a service cares about; the maximum.
fn source_size(rng: &mut Rng, max: u64, chunk: Option<u64>) -> u64 {
    let roll = rng.next() % 100;
    let size = match roll {
        0..10 => rng.between(0, 2),
        10..60 => {
            let alignments = [
                DRIVE_UNIT,
                PRINT_UNIT,
                1 << 20,
                SIMPLE_CUTOFF,
                4 << 20,
                65_536,
                chunk.unwrap_or(DRIVE_UNIT),
                chunk.unwrap_or(1 << 20),
            ];
            let unit = rng.pick(&alignments);
            let multiples = (max / unit).max(1);
            // Few multiples are the likeliest: the edges of the first fragments.
            let k = if rng.chance(50) {
                rng.between(1, multiples.min(3))
            } else {
                rng.between(1, multiples)
            };
            (k * unit + rng.between(0, 2)).saturating_sub(1)
        }
        60..70 => max - rng.between(0, 1).min(max),
        _ => rng.between(1, max),
    };
    size.min(max)
}

/// The faults for a plan: accidents at random requests of the protocol's kinds, and per the
/// expectation, lies or a permanent outage.
fn script(
    rng: &mut Rng,
    protocol: Protocol,
    simple: bool,
    requests: u64,
    size: u64,
    expect: Expect,
) -> FaultScript {
    let (kinds, sending) = protocol.kinds(simple);
    let mut script = FaultScript::default();
    let graph = !matches!(protocol, Protocol::Wopi | Protocol::Tus | Protocol::Ietf);
    let accidents = rng.between(0, 6);
    let mut expiries = 0;
    for _ in 0..accidents {
        let kind = if rng.chance(60) {
            sending
        } else {
            rng.pick(kinds)
        };
        let nth = rng.between(1, requests + 1);
        let body = if kind == sending {
            (size / requests).max(2)
        } else {
            2
        };
        let fault = match rng.next() % 13 {
            0 => Fault::DropBeforeBody,
            1 => Fault::DropMidBody {
                after_bytes: rng.between(1, body - 1),
            },
            2 => Fault::DropAfterBody,
            3 | 4 => Fault::LoseAnswer,
            5 => Fault::PartialStore {
                keep: rng.between(1, body - 1),
            },
            6 => Fault::PartialStoreLost {
                keep: rng.between(1, body - 1),
            },
            7 => {
                // A storm of server errors: up to three in a row, within the retry budget.
                let storm = rng.between(1, 3);
                let status = rng.pick(&[500, 502, 503, 504]);
                for n in 1..storm {
                    script = script.on(kind, nth + n, Fault::Status(status));
                }
                Fault::Status(status)
            }
            8 => Fault::Throttle {
                status: rng.pick(&[429, 503]),
                retry_after: if rng.chance(50) {
                    RetryAfterForm::Seconds(1)
                } else {
                    RetryAfterForm::HttpDate(rng.between(1, 2))
                },
            },
            9 => Fault::Slow {
                delay_ms: rng.between(50, 800),
            },
            10 if graph => Fault::Transient404,
            11 if expiries == 0 && !simple => {
                expiries += 1;
                Fault::ExpireSession
            }
            // A server whose clock is an hour off: the session's expiry is already past.
            12 if !simple && protocol != Protocol::Wopi => {
                script = script.on(
                    if graph {
                        creation(protocol)
                    } else {
                        RequestKind::TusCreate
                    },
                    1,
                    Fault::ExpiredSession,
                );
                continue;
            }
            _ => Fault::LoseAnswer,
        };
        script = script.on(kind, nth, fault);
    }
    match expect {
        Expect::Complete => {}
        Expect::Lies => {
            let lies = rng.between(1, 2);
            for _ in 0..lies {
                let (kind, fault) = lie(rng, protocol, simple, sending);
                let nth = rng.between(1, requests);
                script = if rng.chance(25) {
                    // A service that keeps lying.
                    script.on_every(kind, nth, 1, fault)
                } else {
                    script.on(kind, nth, fault)
                };
            }
        }
        Expect::Outage => {
            let fault = if rng.chance(50) {
                Fault::Status(rng.pick(&[500, 503]))
            } else {
                Fault::Throttle {
                    status: 503,
                    retry_after: RetryAfterForm::Seconds(1),
                }
            };
            let kind = if rng.chance(70) {
                sending
            } else {
                rng.pick(kinds)
            };
            script = script.on_every(kind, rng.between(1, requests), 1, fault);
        }
    }
    script
}

/// The request that creates a Graph session of `protocol`.
fn creation(protocol: Protocol) -> RequestKind {
    match protocol {
        Protocol::Print => RequestKind::CreatePrint,
        Protocol::Mail => RequestKind::CreateMail,
        _ => RequestKind::CreateDrive,
    }
}

/// A lie the service may tell on this protocol, and the request it tells it on.
fn lie(
    rng: &mut Rng,
    protocol: Protocol,
    simple: bool,
    sending: RequestKind,
) -> (RequestKind, Fault) {
    use RequestKind as K;
    let malformed = Fault::MalformedCreate {
        no_url: rng.chance(50),
    };
    match protocol {
        Protocol::Drive if simple => (
            K::SimpleUpload,
            rng.pick(&[Fault::WrongHash, Fault::WrongSize { reported: None }]),
        ),
        Protocol::Drive | Protocol::DriveDeferred => {
            let bytes = DRIVE_UNIT * rng.between(1, 2);
            match rng.next() % 8 {
                0 => (K::CreateDrive, malformed),
                1 => (sending, Fault::PrematureItem),
                2 => (sending, Fault::SkipAhead { bytes }),
                3 => (sending, Fault::Regress),
                4 => (sending, Fault::OldItem),
                5 if protocol == Protocol::Drive => (sending, Fault::EmptyAccept),
                6 => (sending, Fault::WrongSize { reported: None }),
                _ if protocol == Protocol::DriveDeferred => (K::ExplicitCommit, Fault::WrongHash),
                _ => (sending, Fault::WrongHash),
            }
        }
        Protocol::Print => match rng.next() % 4 {
            0 => (K::CreatePrint, malformed),
            1 => (sending, Fault::PrematureItem),
            2 => (sending, Fault::WrongSize { reported: None }),
            _ => (sending, Fault::Regress),
        },
        Protocol::Mail => match rng.next() % 4 {
            0 => (K::CreateMail, malformed),
            1 => (sending, Fault::PrematureItem),
            2 => (
                sending,
                Fault::SkipAhead {
                    bytes: rng.between(1, DRIVE_UNIT),
                },
            ),
            _ => (sending, Fault::Regress),
        },
        Protocol::Wopi => match rng.next() % 2 {
            0 => (K::WopiCreate, malformed),
            _ => (
                K::WopiUpdate,
                Fault::WopiOffsetJump {
                    bytes: rng.between(1, 1 << 20),
                },
            ),
        },
        Protocol::Tus | Protocol::Ietf => match rng.next() % 4 {
            0 => (K::TusCreate, malformed),
            1 => (
                sending,
                Fault::SkipAhead {
                    bytes: rng.between(1, 1 << 20),
                },
            ),
            _ => (sending, Fault::Regress),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_makes_the_same_plan() {
        for seed in 0..200 {
            let (a, b) = (Plan::new(seed, 64 << 20), Plan::new(seed, 64 << 20));
            assert_eq!(
                (a.protocol, a.size, a.chunk, a.simple, a.expect, &a.kills),
                (b.protocol, b.size, b.chunk, b.simple, b.expect, &b.kills)
            );
            assert_eq!(a.script.to_string(), b.script.to_string());
        }
    }

    #[test]
    fn plans_cover_every_protocol_and_favour_boundaries() {
        let max = 64 << 20;
        let plans: Vec<Plan> = (0..2000).map(|seed| Plan::new(seed, max)).collect();
        for protocol in Protocol::ALL {
            assert!(plans.iter().any(|p| p.protocol == protocol), "{protocol}");
        }
        for expect in [Expect::Complete, Expect::Lies, Expect::Outage] {
            assert!(plans.iter().any(|p| p.expect == expect), "{expect:?}");
        }
        assert!(plans.iter().all(|p| p.size <= max));
        let count = |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(|p| f(p)).count();
        assert!(count(&|p| p.size == 0) > 10, "empty files");
        assert!(count(&|p| p.size == 1) > 10, "one byte");
        assert!(count(&|p| p.size == max) > 10, "the maximum");
        // One byte either side of a drive fragment boundary, and on it.
        for delta in [-1i64, 0, 1] {
            let near = count(&|p| {
                let edge = p.size as i64 - delta;
                edge > 0 && edge % DRIVE_UNIT as i64 == 0
            });
            assert!(near > 20, "{delta}: {near}");
        }
        assert!(count(&|p| p.simple) > 20, "simple uploads");
        assert!(count(&|p| !p.kills.is_empty()) > 1000, "crashes");
        // Empty files only where a protocol can carry them.
        assert!(
            plans
                .iter()
                .all(|p| p.size > 0 || p.protocol.carries_empty(p.simple))
        );
    }

    #[test]
    fn mail_attachments_stay_within_the_service_limit() {
        for seed in 0..500 {
            let plan = Plan::new(seed, 1 << 30);
            if plan.protocol == Protocol::Mail {
                assert!(plan.size <= resumable_core::graph::MAIL_ATTACHMENT_MAX);
            }
        }
    }
}
