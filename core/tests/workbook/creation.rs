//! Creation: at once, as a long-running operation in each status spelling, failed operations,
//! 504 and the other retryable answers, `Retry-After`.

use std::string::String;
use std::vec::Vec;

use resumable_core::http::RequestKind;
use resumable_core::retry::{GiveUp, RetryPolicy};
use resumable_core::session::StateMachine;
use resumable_core::time::{Duration, Instant};
use resumable_core::workbook::{
    Creation, OperationStatus, RetryCause, WorkbookConfig, WorkbookError, WorkbookEvent,
};

use crate::network::{Simulation, answer, minutes, secs, wall_start};
use crate::server::{self, Route, Scripted, ServerConfig, Spelling};

fn long_running(
    not_started: u32,
    running: u32,
    spelling: Spelling,
    retry_after: Option<u64>,
) -> ServerConfig {
    ServerConfig {
        creation: server::Creation::LongRunning {
            not_started,
            running,
            spelling,
            retry_after,
            failure: None,
        },
        ..ServerConfig::default()
    }
}

fn respond_async(persist: bool) -> WorkbookConfig {
    WorkbookConfig {
        respond_async: true,
        ..WorkbookConfig::new(persist)
    }
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn long_running_creation_in_each_spelling_stops_polling_at_success() {
    for spelling in Spelling::ALL {
        for absolute_locations in [false, true] {
            let server = ServerConfig {
                absolute_locations,
                ..long_running(1, 2, spelling, None)
            };
            let mut sim = Simulation::new(respond_async(false), server).with_latency(
                Duration::from_millis(30),
                Duration::from_millis(300),
                4,
            );
            sim.run_until(minutes(30));
            assert_eq!(sim.server.violations, Vec::<String>::new());
            assert_eq!(
                sim.server.polls_after_finish, 0,
                "{spelling:?}: polled past success"
            );
            assert_eq!(sim.server.count(Route::Poll), 4, "{spelling:?}");
            assert_eq!(sim.server.count(Route::Resource), 1);
            let statuses: Vec<_> = sim
                .event_list()
                .into_iter()
                .filter_map(|e| match e {
                    WorkbookEvent::Polling { status } => Some(status),
                    _ => None,
                })
                .collect();
            assert_eq!(
                statuses,
                [
                    OperationStatus::NotStarted,
                    OperationStatus::Running,
                    OperationStatus::Running,
                    OperationStatus::Succeeded
                ]
            );
            let created = sim
                .event_list()
                .into_iter()
                .find(|e| matches!(e, WorkbookEvent::Created { .. }))
                .unwrap();
            let WorkbookEvent::Created {
                session_id,
                persist_changes,
                how,
            } = created
            else {
                unreachable!()
            };
            assert_eq!((persist_changes, how), (false, Creation::LongRunning));
            assert!(session_id.expose().starts_with("cluster=T1"));
            // Polls about 30 s apart (plus the network's latency).
            let polls = sim.sent(RequestKind::PollOperation);
            for gap in gaps(&polls) {
                assert!(
                    gap >= Duration::from_secs(30) && gap < Duration::from_secs(31),
                    "{gap:?}"
                );
            }
            // Then the keep-alive, with no lapse.
            assert_eq!(sim.server.lapses, []);
            assert!(sim.server.count(Route::Refresh) >= 6);
        }
    }
}

#[test]
fn the_service_may_answer_201_despite_respond_async() {
    let mut sim = Simulation::new(respond_async(true), ServerConfig::default());
    sim.run_until(minutes(1));
    assert_eq!(
        sim.event_list()[0],
        WorkbookEvent::Created {
            session_id: resumable_core::secret::Secret::new("cluster=T1&session=1.secret"),
            persist_changes: true,
            how: Creation::Immediate,
        }
    );
    assert_eq!(sim.server.count(Route::Poll), 0);
}

#[test]
fn failed_operations_surface_code_message_and_inner_codes() {
    let body = r#"{"code":"internalServerError","message":"The workbook could not be opened.",
        "innerError":{"code":"unsupportedWorkbook","message":"Too large",
            "innerError":{"code":"workbookSizeLimitExceeded"}}}"#;
    for spelling in [Spelling::Guide, Spelling::Reference] {
        let server = ServerConfig {
            creation: server::Creation::LongRunning {
                not_started: 0,
                running: 1,
                spelling,
                retry_after: None,
                failure: Some(body.into()),
            },
            ..ServerConfig::default()
        };
        let mut sim = Simulation::new(respond_async(true), server);
        sim.run_until(minutes(30));
        assert!(sim.machine.is_finished());
        assert_eq!(sim.server.count(Route::Poll), 2);
        assert_eq!(sim.server.polls_after_finish, 0);
        let Some(WorkbookEvent::Failed(error)) = sim.events.last() else {
            panic!("{:?}", sim.events);
        };
        let WorkbookError::OperationFailed { error: Some(graph) } = error else {
            panic!("{error:?}");
        };
        assert_eq!(graph.code, "internalServerError");
        assert_eq!(graph.message, "The workbook could not be opened.");
        assert_eq!(
            graph.inner_codes,
            ["unsupportedWorkbook", "workbookSizeLimitExceeded"]
        );
        let shown = std::format!("{error}");
        assert!(shown.contains("unsupportedWorkbook"), "{shown}");
        // Nothing after the failure.
        assert_eq!(sim.server.count(Route::Resource), 0);
        assert_eq!(sim.server.count(Route::Refresh), 0);
    }
}

#[test]
fn gateway_timeouts_on_create_are_repeated() {
    let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default()).with_latency(
        Duration::from_millis(5),
        Duration::from_millis(50),
        8,
    );
    sim.server
        .script(Route::Create, Scripted::Answer(answer(504)));
    sim.server
        .script(Route::Create, Scripted::Answer(answer(504)));
    sim.run_until(minutes(10));
    assert_eq!(sim.server.count(Route::Create), 3);
    let retries: Vec<_> = sim
        .event_list()
        .into_iter()
        .filter_map(|e| match e {
            WorkbookEvent::Retrying { request, cause, .. } => Some((request, cause)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        [(RequestKind::CreateSession, RetryCause::Status(504)); 2]
    );
    assert!(
        sim.event_list()
            .iter()
            .any(|e| matches!(e, WorkbookEvent::Created { .. }))
    );
    assert_eq!(sim.server.lapses, []);
}

#[test]
fn gateway_timeouts_beyond_the_budget_stop() {
    let config = WorkbookConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        },
        ..WorkbookConfig::new(true)
    };
    let mut sim = Simulation::new(config, ServerConfig::default());
    for _ in 0..10 {
        sim.server
            .script(Route::Create, Scripted::Answer(answer(504)));
    }
    sim.run_until(minutes(10));
    assert_eq!(
        sim.server.count(Route::Create),
        4,
        "the first attempt and three retries"
    );
    assert_eq!(
        sim.events.last().cloned(),
        Some(WorkbookEvent::Failed(WorkbookError::GaveUp {
            request: RequestKind::CreateSession,
            cause: RetryCause::Status(504),
            reason: GiveUp::BudgetExhausted { attempts: 3 },
        }))
    );
}

#[test]
fn throttled_and_failing_creation_waits_as_told() {
    let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default());
    sim.server.script(
        Route::Create,
        Scripted::Answer(answer(429).with_header("Retry-After", "90")),
    );
    sim.server.script(
        Route::Create,
        Scripted::Answer(answer(503).with_header("Retry-After", "15")),
    );
    sim.run_until(minutes(10));
    let creates = sim.server.times(Route::Create);
    assert_eq!(creates.len(), 3);
    let waits = gaps(&creates);
    assert!(waits[0] >= Duration::from_secs(90) && waits[0] <= Duration::from_secs(91));
    assert!(waits[1] >= Duration::from_secs(15) && waits[1] <= Duration::from_secs(16));
}

#[test]
fn poll_retry_after_is_honoured_even_past_the_clients_own_caps() {
    // The 4-minute ceiling and the refresh interval bound the interval the client chooses,
    // never the server's Retry-After (SPEC 4: never earlier than asked).
    for (retry_after, expected) in [(50, 50), (400, 400)] {
        let config = WorkbookConfig {
            max_creation_wait: Duration::from_secs(60 * 60),
            ..respond_async(true)
        };
        let mut sim = Simulation::new(
            config,
            long_running(1, 3, Spelling::Guide, Some(retry_after)),
        );
        sim.run_until(minutes(60));
        assert_eq!(sim.server.polls_after_finish, 0);
        let mut contacts = sim.server.times(Route::Create);
        contacts.extend(sim.server.times(Route::Poll));
        contacts.sort();
        let waits = gaps(&contacts);
        assert!(
            waits[..5]
                .iter()
                .all(|&w| w == Duration::from_secs(expected)),
            "{retry_after}: {waits:?}"
        );
        if retry_after < 240 {
            // Creation took 5 waits; the session was created at the last poll and kept alive.
            assert_eq!(waits.len(), 5);
            assert_eq!(sim.server.lapses, []);
        } else {
            // Past the inactivity limit, the session (born right after a poll) lapsed before
            // the next poll found it, and the machine set about replacing it: the server asked
            // for that wait, so that is the server's call.
            assert_eq!(sim.server.lapses.len(), 1);
            assert!(
                sim.event_list()
                    .iter()
                    .any(|e| matches!(e, WorkbookEvent::Expired { .. }))
            );
        }
    }
}

#[test]
fn throttled_polls_wait_the_full_retry_after() {
    let mut sim = Simulation::new(
        respond_async(true),
        long_running(0, 2, Spelling::Reference, None),
    );
    sim.server.script(
        Route::Poll,
        Scripted::Answer(answer(429).with_header("Retry-After", "300")),
    );
    sim.run_until(minutes(30));
    let polls = sim.server.times(Route::Poll);
    assert_eq!(polls.len(), 4, "the throttled poll, then three");
    // A throttle is not an operation status: its Retry-After is never cut short.
    assert!(polls[1] - polls[0] >= Duration::from_secs(300));
    assert_eq!(polls[2] - polls[1], Duration::from_secs(30));
    assert_eq!(sim.server.polls_after_finish, 0);
    assert!(sim.event_list().iter().any(|e| matches!(
        e,
        WorkbookEvent::Created {
            how: Creation::LongRunning,
            ..
        }
    )));
}

#[test]
fn a_retry_after_date_without_a_date_header_is_waited_out_on_the_callers_clock() {
    let mut sim = Simulation::new(respond_async(true), ServerConfig::default());
    // Throttled until 00:03:20 by the wall clock, with no Date header to measure from.
    let until = wall_start().saturating_add(Duration::from_secs(200));
    sim.server.script(
        Route::Create,
        Scripted::Answer(answer(429).with_header("Retry-After", until.http_date().to_string())),
    );
    sim.run_until(minutes(10));
    let creates = sim.server.times(Route::Create);
    assert_eq!(creates.len(), 2);
    assert!(creates[1] >= secs(200), "{creates:?}");
    assert!(creates[1] <= secs(201), "{creates:?}");
}

#[test]
fn a_slow_operation_is_given_up_after_the_configured_wait() {
    let config = WorkbookConfig {
        max_creation_wait: Duration::from_secs(10 * 60),
        ..respond_async(true)
    };
    let mut sim = Simulation::new(config, long_running(0, 1000, Spelling::Guide, None));
    sim.run_until(minutes(60));
    assert!(sim.machine.is_finished());
    assert_eq!(
        sim.events.last().cloned(),
        Some(WorkbookEvent::Failed(WorkbookError::CreationTimedOut {
            waited: Duration::from_secs(600)
        }))
    );
    assert_eq!(
        sim.server.count(Route::Poll),
        19,
        "polls at 30 s .. 9.5 min"
    );
    assert!(sim.now <= secs(600));
}

#[test]
fn a_fast_inactivity_clock_with_long_running_creation_never_lapses() {
    // Sessions die after 10 s idle, and the operation's session is born right after the
    // previous poll: polls must come every 5 s, not 30.
    let server = ServerConfig {
        persistent_limit: Duration::from_secs(10),
        non_persistent_limit: Duration::from_secs(10),
        ..long_running(2, 3, Spelling::Reference, None)
    };
    let config = WorkbookConfig {
        inactivity: resumable_core::workbook::InactivityLimits::uniform(Duration::from_secs(10)),
        ..respond_async(true)
    };
    let mut sim = Simulation::new(config, server).with_latency(
        Duration::from_millis(5),
        Duration::from_millis(300),
        21,
    );
    sim.run_until(minutes(10));
    assert_eq!(sim.server.lapses, []);
    assert!(sim.server.idle_past_limit(sim.now).is_empty());
    assert_eq!(sim.server.polls_after_finish, 0);
    let polls = sim.sent(RequestKind::PollOperation);
    assert_eq!(polls.len(), 6);
    assert!(
        gaps(&polls)
            .iter()
            .all(|&gap| gap <= Duration::from_secs(6))
    );
    assert!(sim.server.count(Route::Refresh) > 100);
}
