//! Expiry and recreation, final `invalidSession…` codes, and close.

use std::format;
use std::string::String;
use std::vec::Vec;

use resumable_core::http::RequestKind;
use resumable_core::secret::Secret;
use resumable_core::session::StateMachine;
use resumable_core::time::Duration;
use resumable_core::workbook::{
    CallOutcome, Creation, ExpiryReason, InvalidSessionCode, WorkbookConfig, WorkbookError,
    WorkbookEvent,
};

use crate::network::{Simulation, answer, minutes, secs};
use crate::server::{self, ExpiryAnswer, Route, Scripted, ServerConfig, Spelling};

fn id(n: u32) -> Secret {
    Secret::new(format!("cluster=T1&session={n}.secret"))
}

/// The expiry-related events, in order.
fn lifecycle(sim: &Simulation) -> Vec<WorkbookEvent> {
    sim.event_list()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                WorkbookEvent::Created { .. }
                    | WorkbookEvent::Expired { .. }
                    | WorkbookEvent::Recreated { .. }
                    | WorkbookEvent::Failed(_)
                    | WorkbookEvent::Closed { .. }
            )
        })
        .collect()
}

#[test]
fn an_expired_session_is_recreated_from_the_refresh_answer() {
    let cases = [
        (ExpiryAnswer::NotFound, ExpiryReason::NotFound),
        (ExpiryAnswer::ReCreatable(400), ExpiryReason::ReCreatable),
        (ExpiryAnswer::ReCreatable(404), ExpiryReason::ReCreatable),
    ];
    for (expiry_answer, reason) in cases {
        let server = ServerConfig {
            expiry_answer,
            ..ServerConfig::default()
        };
        let mut sim = Simulation::new(WorkbookConfig::new(true), server).with_latency(
            Duration::from_millis(10),
            Duration::from_millis(100),
            6,
        );
        // The service restarts 10 minutes in and forgets every session.
        sim.server.expire_sessions_at(minutes(10));
        sim.run_until(minutes(60));
        assert_eq!(
            lifecycle(&sim),
            [
                WorkbookEvent::Created {
                    session_id: id(1),
                    persist_changes: true,
                    how: Creation::Immediate
                },
                WorkbookEvent::Expired {
                    session_id: id(1),
                    reason
                },
                WorkbookEvent::Recreated {
                    old_session_id: id(1),
                    new_session_id: id(2),
                    persist_changes: true,
                    how: Creation::Immediate
                },
            ],
            "{expiry_answer:?}"
        );
        assert_eq!(sim.machine.session_id(), Some(&id(2)));
        assert_eq!(sim.machine.header().unwrap().value, id(2).expose());
        assert_eq!(sim.server.lapses, []);
        assert_eq!(sim.server.violations, Vec::<String>::new());
        // Every refresh after the recreation names the new session.
        let late: Vec<_> = sim
            .server
            .received
            .iter()
            .filter(|r| r.route == Route::Refresh && r.at > minutes(13))
            .collect();
        assert!(!late.is_empty());
        assert!(
            late.iter()
                .all(|r| r.session.as_deref() == Some(id(2).expose()))
        );
    }
}

#[test]
fn a_long_running_replacement_is_reported_as_such() {
    let server = ServerConfig {
        creation: server::Creation::LongRunning {
            not_started: 0,
            running: 1,
            spelling: Spelling::Reference,
            retry_after: None,
            failure: None,
        },
        ..ServerConfig::default()
    };
    let config = WorkbookConfig {
        respond_async: true,
        ..WorkbookConfig::new(false)
    };
    let mut sim = Simulation::new(config, server);
    sim.server.expire_sessions_at(minutes(20));
    sim.run_until(minutes(60));
    let recreated = lifecycle(&sim)
        .into_iter()
        .find(|e| matches!(e, WorkbookEvent::Recreated { .. }))
        .unwrap();
    let WorkbookEvent::Recreated {
        old_session_id,
        new_session_id,
        persist_changes,
        how,
    } = recreated
    else {
        unreachable!()
    };
    assert_ne!(old_session_id, new_session_id);
    assert_eq!((persist_changes, how), (false, Creation::LongRunning));
    assert_eq!(sim.server.polls_after_finish, 0);
    assert_eq!(sim.server.lapses, []);
}

#[test]
fn the_callers_own_calls_report_expiry() {
    let server = ServerConfig {
        expiry_answer: ExpiryAnswer::ReCreatable(404),
        ..ServerConfig::default()
    };
    // A call every minute; the service restarts at 10.5 minutes.
    let times = (1..60).map(minutes).collect();
    let mut sim = Simulation::new(WorkbookConfig::new(true), server)
        .with_latency(Duration::from_millis(10), Duration::from_millis(200), 12)
        .with_calls(times);
    sim.server.expire_sessions_at(secs(630));
    sim.run_until(minutes(60));
    let outcomes: Vec<_> = sim
        .client
        .calls
        .iter()
        .filter_map(|c| c.outcome.clone())
        .collect();
    assert_eq!(outcomes.len(), 59);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == CallOutcome::SessionExpired)
            .count(),
        1
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, CallOutcome::Succeeded | CallOutcome::SessionExpired))
    );
    assert!(matches!(
        lifecycle(&sim)[..],
        [
            WorkbookEvent::Created { .. },
            WorkbookEvent::Expired {
                reason: ExpiryReason::ReCreatable,
                ..
            },
            WorkbookEvent::Recreated { .. }
        ]
    ));
    // The caller's calls from then on carry the new session; the machine never had to refresh.
    let calls_after: Vec<_> = sim
        .server
        .received
        .iter()
        .filter(|r| r.route == Route::Call && r.at >= minutes(12))
        .collect();
    assert!(
        calls_after
            .iter()
            .all(|r| r.session.as_deref() == Some(id(2).expose()))
    );
    assert_eq!(sim.server.count(Route::Refresh), 0);
    assert_eq!(sim.server.lapses, []);
}

#[test]
fn a_404_about_the_callers_resource_is_checked_not_recreated() {
    let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default())
        .with_calls(std::vec![minutes(2)]);
    sim.server.script(
        Route::Call,
        Scripted::Answer(
            answer(404).with_body(r#"{"error":{"code":"itemNotFound","message":"No sheet"}}"#),
        ),
    );
    sim.run_until(minutes(3));
    assert_eq!(sim.client.calls[0].outcome, Some(CallOutcome::Checking));
    // The check went out at once, found the session alive, and nothing was recreated.
    assert_eq!(sim.sent(RequestKind::Refresh), [minutes(2)]);
    assert_eq!(sim.server.count(Route::Create), 1);
    assert!(
        lifecycle(&sim)
            .iter()
            .all(|e| matches!(e, WorkbookEvent::Created { .. }))
    );
}

#[test]
fn final_invalid_session_codes_stop_and_name_the_code() {
    let codes = [
        ("invalidSessionNotFound", InvalidSessionCode::NotFound),
        (
            "invalidSessionAuthentication",
            InvalidSessionCode::Authentication,
        ),
        (
            "invalidSessionAccessConflict",
            InvalidSessionCode::AccessConflict,
        ),
        (
            "invalidSessionUnsupportedWorkbook",
            InvalidSessionCode::UnsupportedWorkbook,
        ),
        ("invalidSessionRestricted", InvalidSessionCode::Restricted),
        ("invalidSessionUnexpected", InvalidSessionCode::Unexpected),
    ];
    for (text, code) in codes {
        for on_call in [false, true] {
            let body = format!(
                r#"{{"error":{{"code":"badRequest","message":"Session invalid","innerError":{{"code":"{text}"}}}}}}"#
            );
            let calls = if on_call {
                std::vec![minutes(1)]
            } else {
                Vec::new()
            };
            let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default())
                .with_calls(calls);
            let route = if on_call { Route::Call } else { Route::Refresh };
            sim.server
                .script(route, Scripted::Answer(answer(400).with_body(body)));
            sim.run_until(minutes(60));
            assert!(sim.machine.is_finished(), "{text}");
            let Some(WorkbookEvent::Failed(error)) = sim.events.last() else {
                panic!("{text}: {:?}", sim.events);
            };
            let WorkbookError::SessionInvalid {
                code: named,
                error: graph,
            } = error
            else {
                panic!("{text}: {error:?}");
            };
            assert_eq!(*named, code.clone());
            assert_eq!(graph.message, "Session invalid");
            assert!(format!("{error}").contains(text));
            if on_call {
                assert_eq!(
                    sim.client.calls[0].outcome,
                    Some(CallOutcome::SessionInvalid(code.clone()))
                );
            }
            // Not recreated blindly.
            assert_eq!(sim.server.count(Route::Create), 1, "{text}");
            assert!(
                !sim.event_list()
                    .iter()
                    .any(|e| matches!(e, WorkbookEvent::Expired { .. }))
            );
        }
    }
}

#[test]
fn close_sends_close_session_and_finishes() {
    let mut sim = Simulation::new(WorkbookConfig::new(false), ServerConfig::default())
        .with_latency(Duration::from_millis(10), Duration::from_millis(80), 13);
    sim.run_until(minutes(9));
    sim.close();
    assert_eq!(sim.server.closed, [id(1).expose()]);
    let close = sim
        .server
        .received
        .iter()
        .find(|r| r.route == Route::Close)
        .unwrap();
    assert_eq!(
        (close.session.as_deref(), close.status),
        (Some(id(1).expose()), 204)
    );
    assert_eq!(
        sim.events.last().cloned(),
        Some(WorkbookEvent::Closed {
            session_id: Some(id(1))
        })
    );
    assert!(sim.machine.is_finished());
    assert_eq!(sim.machine.header(), None);
    assert_eq!(sim.machine.poll_timeout(), None);
    // Nothing after the close.
    let after_close = sim
        .requests
        .iter()
        .skip_while(|r| r.kind != RequestKind::Close)
        .count();
    assert_eq!(after_close, 1);
}

#[test]
fn close_retries_transient_failures() {
    let mut sim = Simulation::new(WorkbookConfig::new(true), ServerConfig::default());
    sim.server
        .script(Route::Close, Scripted::Answer(answer(503)));
    sim.run_until(minutes(1));
    sim.close();
    assert_eq!(sim.server.count(Route::Close), 2);
    assert_eq!(sim.server.closed.len(), 1);
}
