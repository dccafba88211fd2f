//! New sessions after expiries, and creations that start over: their budgets.

use super::*;

/// Answers every request at once, jumping to each deadline: each `createSession` gets a new
/// session `s1`, `s2`, ...; every other request gets what `other` gives. Returns the number of
/// sessions created when the machine finishes or `max_created` is reached.
fn drive(
    session: &mut WorkbookSession,
    max_created: usize,
    mut other: impl FnMut() -> Response,
) -> usize {
    let mut now = Instant::ZERO;
    let mut created = 0;
    while !session.is_finished() && created < max_created {
        let Some(request) = session.poll_request(now) else {
            now = session.poll_timeout().unwrap();
            continue;
        };
        let answer = if request.kind == RequestKind::CreateSession {
            created += 1;
            session_body(&format!("s{created}"), true)
        } else {
            other()
        };
        session.handle_response(now, request.id, answer);
    }
    created
}

#[test]
fn recreation_budget_stops_sessions_that_die_at_once() {
    let config = WorkbookConfig {
        max_recreations: 2,
        ..WorkbookConfig::new(true)
    };
    let mut session = machine(config);
    let created = drive(&mut session, 100, || Response::new(404));
    assert_eq!(created, 3, "the first session and two replacements");
    assert_eq!(
        events(&mut session).last(),
        Some(&WorkbookEvent::Failed(
            WorkbookError::RecreationBudgetExhausted { recreations: 2 }
        ))
    );
}

#[test]
fn a_healthy_refresh_refills_the_recreation_budget() {
    let config = WorkbookConfig {
        max_recreations: 1,
        ..WorkbookConfig::new(true)
    };
    let mut session = machine(config);
    let mut refreshes = 0;
    // Every other refresh finds the session gone; the ones between prove each new session.
    let created = drive(&mut session, 6, || {
        refreshes += 1;
        Response::new(if refreshes % 2 == 0 { 404 } else { 204 })
    });
    assert_eq!(created, 6);
    assert!(!session.is_finished(), "{:?}", events(&mut session));
}

#[test]
fn a_vanished_operation_starts_creation_over() {
    let mut session = accepted(WorkbookConfig::new(true), "/op", Instant::ZERO);
    let poll = session.poll_request(secs(30)).unwrap();
    session.handle_response(secs(30), poll.id, Response::new(404));
    let create = session.poll_request(secs(30)).unwrap();
    assert_eq!(create.kind, RequestKind::CreateSession);
    session.handle_response(secs(31), create.id, session_body("again", true));
    let created: Vec<_> = events(&mut session)
        .into_iter()
        .filter(|event| matches!(event, WorkbookEvent::Created { .. }))
        .collect();
    assert_eq!(
        created,
        [WorkbookEvent::Created {
            session_id: Secret::new("again"),
            persist_changes: true,
            how: Creation::Immediate
        }]
    );
}

/// Answers the machine's requests in order from `script` (`None`: the machine is finished or
/// waits with nothing due), jumping to each deadline; returns the kinds it sent.
fn answer_in_turn(session: &mut WorkbookSession, script: &[Response]) -> Vec<RequestKind> {
    let mut now = Instant::ZERO;
    let mut kinds = Vec::new();
    for answer in script {
        let request = loop {
            if let Some(request) = session.poll_request(now) {
                break request;
            }
            now = session.poll_timeout().expect("a request or a deadline");
        };
        kinds.push(request.kind);
        session.handle_response(now, request.id, answer.clone());
    }
    kinds
}

#[test]
fn a_first_creation_that_starts_over_spends_no_recreation() {
    // No recreation allowed after an expiry; the first creation may still start over when its
    // operation vanishes, and a later expiry finds the budget untouched.
    for max_recreations in [0, 1] {
        let config = WorkbookConfig {
            max_recreations,
            respond_async: true,
            ..WorkbookConfig::new(true)
        };
        let mut session = machine(config);
        let accepted = Response::new(202).with_header("Location", "/op");
        let script = [
            accepted.clone(),
            Response::new(404),
            accepted,
            Response::new(404),
            session_body("s1", true),
            Response::new(404),
        ];
        let kinds = answer_in_turn(&mut session, &script);
        use RequestKind::{CreateSession, PollOperation, Refresh};
        assert_eq!(
            kinds,
            [
                CreateSession,
                PollOperation,
                CreateSession,
                PollOperation,
                CreateSession,
                Refresh
            ]
        );
        let last = events(&mut session).pop();
        if max_recreations == 0 {
            assert_eq!(
                last,
                Some(WorkbookEvent::Failed(
                    WorkbookError::RecreationBudgetExhausted { recreations: 0 }
                ))
            );
        } else {
            assert!(
                matches!(last, Some(WorkbookEvent::Expired { .. })),
                "{last:?}"
            );
            assert_eq!(
                session.poll_request(secs(600)).map(|r| r.kind),
                Some(CreateSession),
                "the one recreation is still there"
            );
        }
    }
}

#[test]
fn a_creation_whose_operation_keeps_vanishing_gives_up_within_the_retry_budget() {
    let config = WorkbookConfig {
        respond_async: true,
        ..WorkbookConfig::new(true)
    };
    let attempts = config.retry.max_attempts;
    let mut session = machine(config);
    let accepted = Response::new(202).with_header("Location", "/op");
    let mut script = Vec::new();
    for _ in 0..=attempts {
        script.push(accepted.clone());
        script.push(Response::new(404));
    }
    answer_in_turn(&mut session, &script);
    assert_eq!(
        events(&mut session).pop(),
        Some(WorkbookEvent::Failed(WorkbookError::GaveUp {
            request: RequestKind::CreateSession,
            cause: RetryCause::Status(404),
            reason: GiveUp::BudgetExhausted { attempts },
        }))
    );
    assert!(session.is_finished());
}
