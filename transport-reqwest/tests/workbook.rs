//! Workbook sessions end to end: the async handle against the emulator over real HTTP on
//! loopback, with the emulator's inactivity clock and creation delays scaled so minutes of
//! service time pass in a second.
//!
//! That second is virtual: the tests run on tokio's paused clock, shared by the session's
//! keep-alive and the emulator's inactivity clock, and [`Bench::run`] lets it move only while
//! no request is on its way. A `tokio::time::sleep` in a test is time passing for the session
//! and the emulator alike, exactly, however loaded the machine: a refresh is never late
//! because a thread was, and seconds of holding take milliseconds.

mod common;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use resumable_core::http::RequestKind;
use resumable_core::retry::RetryPolicy;
use resumable_core::secret::Secret;
use resumable_core::workbook::{
    CallOutcome, Creation, InactivityLimits, OperationStatus, RetryCause, WorkbookConfig,
    WorkbookError, WorkbookEvent, WorkbookUrl,
};
use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultScript, StatsSnapshot, TimeScale,
    WorkbookConfig as ServerWorkbook,
};
use resumable_reqwest::token::{TokenError, TokenProvider};
use resumable_reqwest::workbook::{
    CallError, SessionError, SessionState, WorkbookRequest, WorkbookSession,
};

use common::clock::FrozenClock;
use common::eventually;

/// Service time runs this many times faster than real time: the documented five-minute
/// inactivity limit of a persistent session is one second, seven minutes 1.4 s.
const SCALE: f64 = 300.0;
/// The persistent limit under [`SCALE`]: what the keep-alive is told.
const LIMIT: Duration = Duration::from_secs(1);

/// How far the clock moves at a time: a quarter of the shortest interval in these tests (the
/// 40 ms poll interval).
const STEP: Duration = Duration::from_millis(10);

/// The emulator, the sessions' token (which counts the requests sent with it) and the frozen
/// clock they share. Start it in a `#[tokio::test(start_paused = true)]`.
struct Bench {
    emulator: EmulatorHandle,
    tokens: Arc<CountingToken>,
    clock: FrozenClock,
}

impl Bench {
    async fn start(workbook: ServerWorkbook, script: &str) -> Bench {
        let clock = FrozenClock::hold();
        let script: FaultScript = script.parse().expect("fault script");
        let config = EmulatorConfig {
            workbook,
            ..EmulatorConfig::default()
        }
        .with_time_scale(TimeScale::new(SCALE).unwrap())
        .with_script(script);
        let emulator = Emulator::start(config).await.expect("emulator starts");
        Bench {
            emulator,
            tokens: Arc::default(),
            clock,
        }
    }

    /// Opens a session on item `item`, recording its events as they happen.
    fn open(&self, item: &str, config: WorkbookConfig) -> (WorkbookSession, Events) {
        let events: Events = Arc::default();
        let seen = events.clone();
        let url = WorkbookUrl::new(self.emulator.workbook_url(item)).unwrap();
        let session = WorkbookSession::builder(url)
            .config(config)
            .token_provider(self.tokens.clone())
            .on_event(move |event| seen.lock().unwrap().push(event.clone()))
            .open()
            .expect("opens");
        (session, events)
    }

    /// No request is on its way: every one sent (each asks for the token) has reached the
    /// emulator. Its answer is read within the turns the clock gives before moving on.
    fn quiet(&self) -> bool {
        self.tokens.0.load(Ordering::SeqCst) == self.emulator.stats().requests_total
    }

    /// Runs `work`, letting virtual time pass [`STEP`] by step whenever nothing is on its way.
    async fn run<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.clock.run(STEP, || self.quiet(), work).await
    }
}

/// The token the emulator takes, counting the requests it goes on.
#[derive(Default)]
struct CountingToken(AtomicU64);

impl TokenProvider for CountingToken {
    fn token(&self, _refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Secret::new("test-token")) })
    }
}

/// A session configuration for the scaled emulator: the scaled limit, quick retries and polls.
fn config(persist: bool) -> WorkbookConfig {
    WorkbookConfig {
        inactivity: InactivityLimits::uniform(LIMIT),
        poll_interval: Duration::from_millis(40),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        ..WorkbookConfig::new(persist)
    }
}

type Events = Arc<Mutex<Vec<WorkbookEvent>>>;

fn names(events: &Events) -> Vec<&'static str> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(WorkbookEvent::name)
        .collect()
}

fn count(events: &Events, name: &str) -> usize {
    names(events).iter().filter(|n| **n == name).count()
}

fn requests(stats: &StatsSnapshot, kind: &str) -> u64 {
    stats.requests.get(kind).copied().unwrap_or(0)
}

/// Answers the emulator gave saying a session was gone (expired, closed, unknown).
fn not_found(stats: &StatsSnapshot) -> u64 {
    stats.refusals.get("404").copied().unwrap_or(0)
}

async fn worksheets(session: &WorkbookSession) -> resumable_reqwest::workbook::WorkbookAnswer {
    session
        .send(WorkbookRequest::get("worksheets"))
        .await
        .expect("an answer")
}

#[tokio::test(start_paused = true)]
async fn long_running_creation_is_polled_until_success_and_not_after() {
    // Thirty seconds of service time: 100 ms, polled every 40 ms.
    let server = ServerWorkbook {
        creation_delay: Duration::from_secs(30),
        ..ServerWorkbook::default()
    };
    let bench = Bench::start(server, "").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let config = WorkbookConfig {
                respond_async: true,
                ..config(false)
            };
            let (mut session, events) = bench.open("01LONG", config);
            // A request sent before the session exists waits for it.
            let answer = worksheets(&session).await;
            assert_eq!(
                (answer.status, answer.outcome),
                (200, CallOutcome::Succeeded)
            );
            // Long enough for several refreshes: any poll after the success would be among them.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let stats = emulator.stats();
            let polls: Vec<OperationStatus> = events
                .lock()
                .unwrap()
                .iter()
                .filter_map(|event| match event {
                    WorkbookEvent::Polling { status } => Some(*status),
                    _ => None,
                })
                .collect();
            assert!(polls.len() >= 2, "{polls:?}");
            assert_eq!(polls.last(), Some(&OperationStatus::Succeeded), "{polls:?}");
            assert_eq!(
                polls
                    .iter()
                    .filter(|s| **s == OperationStatus::Succeeded)
                    .count(),
                1
            );
            assert_eq!(
                requests(&stats, "workbook-operation"),
                polls.len() as u64,
                "every poll the server answered is one the machine read, the success last"
            );
            assert_eq!(requests(&stats, "workbook-session-info"), 1);
            assert_eq!(requests(&stats, "workbook-create"), 1);
            assert!(matches!(
                events
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|e| e.name() == "created"),
                Some(WorkbookEvent::Created {
                    how: Creation::LongRunning,
                    persist_changes: false,
                    ..
                })
            ));
            assert!(count(&events, "refreshed") >= 2, "{:?}", names(&events));
            assert_eq!(not_found(&stats), 0);
            session.close().await.expect("closes");
            assert_eq!(
                requests(&emulator.stats(), "workbook-operation"),
                polls.len() as u64
            );
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_504_on_create_is_repeated() {
    let bench = Bench::start(ServerWorkbook::default(), "workbook-create#1=status:504").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (mut session, events) = bench.open("01GATEWAY", config(true));
            session.ready().await.expect("created on the second try");
            let retry = events
                .lock()
                .unwrap()
                .iter()
                .find(|e| e.name() == "retrying")
                .cloned();
            assert!(matches!(
                retry,
                Some(WorkbookEvent::Retrying {
                    request: RequestKind::CreateSession,
                    cause: RetryCause::Status(504),
                    ..
                })
            ));
            let stats = emulator.stats();
            assert_eq!(stats.faults.get("status-504"), Some(&1));
            assert_eq!(requests(&stats, "workbook-create"), 2);
            assert_eq!(stats.sessions_created, 1);
            session.close().await.expect("closes");
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn held_sessions_never_lapse() {
    let bench = Bench::start(ServerWorkbook::default(), "").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (mut persistent, kept) = bench.open("01HOLD", config(true));
            let (mut temporary, temp) = bench.open("01HOLD", config(false));
            let first = persistent.ready().await.unwrap();
            let second = temporary.ready().await.unwrap();
            // Four inactivity limits with nothing but the keep-alive.
            tokio::time::sleep(4 * LIMIT).await;
            assert_eq!(persistent.session_id(), Some(first));
            assert_eq!(temporary.session_id(), Some(second));
            assert_eq!(worksheets(&persistent).await.status, 200);
            assert_eq!(worksheets(&temporary).await.status, 200);
            persistent.close().await.expect("closes");
            temporary.close().await.expect("closes");
            let stats = emulator.stats();
            assert_eq!(
                not_found(&stats),
                0,
                "the emulator never saw a gone session"
            );
            assert_eq!(stats.sessions_created, 2, "no session was replaced");
            assert_eq!(requests(&stats, "workbook-close"), 2);
            for events in [&kept, &temp] {
                // Refreshed at half the limit: about eight times in four limits.
                assert!(count(events, "refreshed") >= 6, "{:?}", names(events));
                assert_eq!(count(events, "expired"), 0);
                assert_eq!(names(events).last(), Some(&"closed"));
            }
            assert_eq!(
                requests(&stats, "workbook-refresh") as usize,
                count(&kept, "refreshed") + count(&temp, "refreshed")
            );
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn the_callers_own_calls_keep_the_session_alive_without_refreshes() {
    let bench = Bench::start(ServerWorkbook::default(), "").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (mut session, events) = bench.open("01BUSY", config(true));
            let id = session.ready().await.unwrap();
            // A call every fifth of the limit for three limits: the refresh (due after half a limit of
            // idleness) never falls due.
            for _ in 0..15 {
                let answer = worksheets(&session).await;
                assert_eq!(
                    (answer.status, answer.outcome),
                    (200, CallOutcome::Succeeded)
                );
                tokio::time::sleep(LIMIT / 5).await;
            }
            let stats = emulator.stats();
            assert_eq!(requests(&stats, "workbook-call"), 15);
            assert_eq!(requests(&stats, "workbook-refresh"), 0);
            assert_eq!(count(&events, "refreshed"), 0);
            assert_eq!(not_found(&stats), 0);
            assert_eq!(session.session_id(), Some(id));
            // Quiet again: the keep-alive takes over.
            tokio::time::sleep(LIMIT * 2).await;
            assert!(count(&events, "refreshed") >= 2, "{:?}", names(&events));
            assert_eq!(not_found(&emulator.stats()), 0);
            session.close().await.expect("closes");
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn an_expiry_answer_to_a_call_brings_a_new_session_for_the_next_call() {
    let bench = Bench::start(ServerWorkbook::default(), "workbook-call#2=expire-session").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (mut session, events) = bench.open("01EXPIRE", config(false));
            let first = session.ready().await.unwrap();
            let mut state = session.watch_state();
            assert_eq!(worksheets(&session).await.outcome, CallOutcome::Succeeded);
            let expired = worksheets(&session).await;
            assert_eq!(expired.status, 404);
            assert_eq!(expired.outcome, CallOutcome::SessionExpired);
            assert!(expired.should_resend());
            let replacement = state
                .wait_for(|s| matches!(s, SessionState::Live(id) if *id != first))
                .await
                .unwrap()
                .session_id()
                .cloned()
                .unwrap();
            let resent = worksheets(&session).await;
            assert_eq!(
                (resent.status, resent.outcome),
                (200, CallOutcome::Succeeded)
            );
            assert_eq!(session.session_id(), Some(replacement.clone()));
            assert!(matches!(
                events.lock().unwrap().iter().find(|e| e.name() == "recreated"),
                Some(WorkbookEvent::Recreated { old_session_id, new_session_id, .. })
                    if *old_session_id == first && *new_session_id == replacement
            ));
            session.close().await.expect("closes");
            let stats = emulator.stats();
            assert_eq!(stats.sessions_created, 2);
            assert_eq!(stats.faults.get("expire-session"), Some(&1));
            // The forced expiry counts as a fault, not a refusal: no session lapsed on its own.
            assert_eq!(not_found(&stats), 0);
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn an_expiry_found_by_the_keep_alive_is_repaired_before_the_next_call() {
    let bench = Bench::start(
        ServerWorkbook::default(),
        "workbook-refresh#2=expire-session",
    )
    .await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (mut session, events) = bench.open("01REFRESH", config(true));
            let first = session.ready().await.unwrap();
            let mut state = session.watch_state();
            let replacement = state
                .wait_for(|s| matches!(s, SessionState::Live(id) if *id != first))
                .await
                .unwrap()
                .session_id()
                .cloned()
                .unwrap();
            let answer = worksheets(&session).await;
            assert_eq!(
                (answer.status, answer.outcome),
                (200, CallOutcome::Succeeded)
            );
            assert_eq!(session.session_id(), Some(replacement));
            let names = names(&events);
            let expired = names.iter().position(|n| *n == "expired").unwrap();
            assert_eq!(names[expired + 1], "recreated", "{names:?}");
            session.close().await.expect("closes");
            assert_eq!(emulator.stats().sessions_created, 2);
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_creation_operation_surfaces_its_codes() {
    let server = ServerWorkbook {
        always_async: true,
        ..ServerWorkbook::default()
    };
    let bench = Bench::start(server, "workbook-create#1=fail-operation").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (mut session, events) = bench.open("01FAIL", config(true));
            let Err(SessionError::Failed(WorkbookError::OperationFailed { error: Some(error) })) =
                session.ready().await
            else {
                panic!("expected a failed operation, got {:?}", session.state());
            };
            assert_eq!(error.code, "internalServerError");
            assert_eq!(error.inner_codes, ["internalServerError"]);
            assert!(matches!(
                session.send(WorkbookRequest::get("worksheets")).await,
                Err(CallError::Session(SessionError::Failed(_)))
            ));
            assert!(matches!(
                session.close().await,
                Err(SessionError::Failed(WorkbookError::OperationFailed { .. }))
            ));
            let names = names(&events);
            assert_eq!(names.last(), Some(&"failed"), "{names:?}");
            let line = events.lock().unwrap().last().unwrap().to_string();
            assert!(line.contains("internalServerError"), "{line}");
            let stats = emulator.stats();
            assert_eq!(stats.sessions_created, 0);
            assert_eq!(stats.faults.get("fail-operation"), Some(&1));
        })
        .await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_closes_the_session() {
    let bench = Bench::start(ServerWorkbook::default(), "").await;
    bench
        .run(async {
            let emulator = &bench.emulator;
            let (session, events) = bench.open("01DROP", config(true));
            session.ready().await.unwrap();
            drop(session);
            // The background task closes the session after the handle is gone.
            eventually("closeSession after the drop", || {
                requests(&emulator.stats(), "workbook-close") >= 1
            })
            .await;
            assert_eq!(requests(&emulator.stats(), "workbook-close"), 1);
            eventually("the closed event", || {
                names(&events).last() == Some(&"closed")
            })
            .await;
            assert_eq!(count(&events, "closed"), 1, "{:?}", names(&events));
        })
        .await;
}

/// Hands out a stale token unless asked to refresh, counting the refreshes.
struct StaleThenFresh(AtomicU32);

impl TokenProvider for StaleThenFresh {
    fn token(&self, refresh: bool) -> BoxFuture<'_, Result<Secret, TokenError>> {
        if refresh {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        let token = if refresh { "fresh" } else { "stale" };
        Box::pin(async move { Ok(Secret::new(token)) })
    }
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once_per_request() {
    let config = EmulatorConfig::default()
        .with_time_scale(TimeScale::new(SCALE).unwrap())
        .with_bearer_token("fresh");
    let emulator = Emulator::start(config).await.unwrap();
    let provider = Arc::new(StaleThenFresh(AtomicU32::new(0)));
    let url = WorkbookUrl::new(emulator.workbook_url("01TOKEN")).unwrap();
    let mut session = WorkbookSession::builder(url)
        // Five-minute limits: no refresh muddles the count of 401s.
        .config(WorkbookConfig::new(true))
        .token_provider(provider.clone())
        .open()
        .unwrap();
    session
        .ready()
        .await
        .expect("created with the renewed token");
    let answer = worksheets(&session).await;
    assert_eq!(answer.status, 200);
    session.close().await.expect("closes");
    let stats = emulator.stats();
    // createSession, the call and closeSession: each refused once, then accepted.
    assert_eq!(stats.refusals.get("401"), Some(&3));
    assert_eq!(provider.0.load(Ordering::Relaxed), 3);
}

#[tokio::test(start_paused = true)]
async fn events_stream_to_the_end() {
    let bench = Bench::start(ServerWorkbook::default(), "").await;
    bench
        .run(async {
            let (mut session, _) = bench.open("01STREAM", config(true));
            let first = session.next().await.expect("an event");
            assert!(matches!(
                first,
                WorkbookEvent::Created {
                    how: Creation::Immediate,
                    persist_changes: true,
                    ..
                }
            ));
            assert!(first.to_string().starts_with("created: session [redacted]"));
            let second = session.next().await.expect("an event");
            assert_eq!(second.name(), "refreshed");
            session.close().await.unwrap();
            let rest: Vec<WorkbookEvent> = session.collect().await;
            assert_eq!(rest.last().map(WorkbookEvent::name), Some("closed"));
        })
        .await;
}
