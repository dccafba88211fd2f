use super::*;
use crate::http::{RequestId, Response};
use crate::retry::GiveUp;
use crate::session::StateMachine;
use crate::time::Duration;
use crate::workbook::{
    AnswerProblem, CallOutcome, InvalidSessionCode, OperationStatus, RetryCause, WorkbookError,
};
use alloc::format;
use alloc::string::String;
use alloc::vec;

const BASE: &str = "https://graph.example/v1.0/me/drive/items/01AB/workbook";

fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

fn machine(config: WorkbookConfig) -> WorkbookSession {
    WorkbookSession::create(WorkbookUrl::new(BASE).unwrap(), config, Instant::ZERO).unwrap()
}

fn events(session: &mut WorkbookSession) -> Vec<WorkbookEvent> {
    core::iter::from_fn(|| session.poll_event()).collect()
}

fn session_body(id: &str, persist: bool) -> Response {
    Response::new(201).with_body(format!(r#"{{"id":"{id}","persistChanges":{persist}}}"#))
}

/// A machine whose first session `s1` was created at once at time zero.
fn live() -> WorkbookSession {
    let mut session = machine(WorkbookConfig::new(true));
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.handle_response(Instant::ZERO, create.id, session_body("s1", true));
    events(&mut session);
    session
}

/// A machine whose `createSession`, sent at time zero, was answered `202` at `at` with `Location`.
fn accepted(config: WorkbookConfig, location: &str, at: Instant) -> WorkbookSession {
    let mut session = machine(config);
    let create = session.poll_request(Instant::ZERO).unwrap();
    let answer = Response::new(202).with_header("Location", location);
    session.handle_response(at, create.id, answer);
    session
}

fn operation(status: &str) -> Response {
    Response::new(200).with_body(format!(
        r#"{{"id":"op","status":"{status}","resourceLocation":"https://graph.example/v1.0/sessions/1"}}"#
    ))
}

#[test]
fn create_requests_are_exact() {
    for (persist, respond_async) in [(true, false), (false, false), (true, true), (false, true)] {
        let config = WorkbookConfig {
            respond_async,
            ..WorkbookConfig::new(persist)
        };
        let mut session = machine(config);
        let request = session.poll_request(Instant::ZERO).unwrap();
        assert_eq!(request.kind, RequestKind::CreateSession);
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url.expose(), format!("{BASE}/createSession"));
        assert_eq!(request.auth, Auth::Bearer);
        let body = format!(r#"{{"persistChanges":{persist}}}"#);
        assert_eq!(request.body, Body::Json(Bytes::from(body)));
        let expected_headers = if respond_async {
            vec![Header::new("Prefer", "respond-async")]
        } else {
            Vec::new()
        };
        assert_eq!(request.headers, expected_headers);
        assert!(
            session.poll_request(Instant::ZERO).is_none(),
            "one request at a time"
        );
        assert_eq!(
            session.poll_timeout(),
            None,
            "nothing to time while waiting"
        );
    }
}

#[test]
fn immediate_creation_gives_the_header_and_the_refresh_schedule() {
    let mut session = machine(WorkbookConfig::new(false));
    let create = session.poll_request(secs(1)).unwrap();
    assert_eq!(session.header(), None);
    session.handle_response(secs(2), create.id, session_body("cluster=1&s=2", false));
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Created {
            session_id: Secret::new("cluster=1&s=2"),
            persist_changes: false,
            how: Creation::Immediate,
        }]
    );
    assert_eq!(session.session_id().unwrap().expose(), "cluster=1&s=2");
    assert_eq!(session.persist_changes(), Some(false));
    let header = session.header().unwrap();
    assert_eq!(
        (header.name, header.value.as_str()),
        (SESSION_HEADER, "cluster=1&s=2")
    );
    assert!(header.sensitive);
    // Counted from when createSession was sent (1 s), not answered (2 s).
    assert_eq!(session.next_refresh(), Some(secs(241)));
    assert_eq!(session.expires_at(), Some(secs(301)));
    assert_eq!(session.poll_timeout(), Some(secs(241)));
    assert!(session.poll_request(secs(240)).is_none());

    let refresh = session.poll_request(secs(241)).unwrap();
    assert_eq!(refresh.kind, RequestKind::Refresh);
    assert_eq!(refresh.method, Method::Post);
    assert_eq!(refresh.url.expose(), format!("{BASE}/refreshSession"));
    assert_eq!(refresh.auth, Auth::Bearer);
    assert_eq!(refresh.body, Body::Empty);
    assert_eq!(refresh.header(SESSION_HEADER), Some("cluster=1&s=2"));
    session.handle_response(secs(242), refresh.id, Response::new(204));
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Refreshed {
            next_refresh: secs(481)
        }]
    );
}

#[test]
fn debug_output_never_shows_the_session_id() {
    let mut session = live();
    let refresh = session.poll_request(secs(240)).unwrap();
    let call = session.begin_call(secs(1)).unwrap();
    let printed = format!(
        "{session:?} {refresh:?} {call:?} {:?} {:?}",
        session.header(),
        WorkbookEvent::Created {
            session_id: Secret::new("s1"),
            persist_changes: true,
            how: Creation::Immediate
        }
    );
    assert!(!printed.contains("\"s1\""), "{printed}");
    assert!(!printed.contains("(s1"), "{printed}");
    assert!(printed.contains("[redacted]"));
}

#[test]
fn long_running_creation_polls_until_success_then_fetches() {
    let config = WorkbookConfig {
        respond_async: true,
        ..WorkbookConfig::new(true)
    };
    let mut session = machine(config);
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.handle_response(
        secs(1),
        create.id,
        Response::new(202).with_header("location", "operations/op-7"),
    );
    assert_eq!(session.poll_timeout(), Some(secs(31)));
    assert!(session.poll_request(secs(30)).is_none());
    let poll = session.poll_request(secs(31)).unwrap();
    assert_eq!(poll.kind, RequestKind::PollOperation);
    assert_eq!(poll.method, Method::Get);
    assert_eq!(poll.url.expose(), format!("{BASE}/operations/op-7"));
    assert_eq!(poll.auth, Auth::Bearer);
    assert!(poll.headers.is_empty());
    session.handle_response(secs(32), poll.id, operation("running"));
    let poll = session.poll_request(secs(62)).unwrap();
    session.handle_response(secs(63), poll.id, operation("Completed"));
    assert_eq!(
        events(&mut session),
        [
            WorkbookEvent::Polling {
                status: OperationStatus::Running
            },
            WorkbookEvent::Polling {
                status: OperationStatus::Succeeded
            }
        ]
    );
    let fetch = session.poll_request(secs(63)).unwrap();
    assert_eq!(fetch.kind, RequestKind::FetchResource);
    assert_eq!(fetch.url.expose(), "https://graph.example/v1.0/sessions/1");
    session.handle_response(
        secs(64),
        fetch.id,
        Response::new(200).with_body(r#"{"id":"lr"}"#),
    );
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Created {
            session_id: Secret::new("lr"),
            persist_changes: true,
            how: Creation::LongRunning,
        }]
    );
    // The session may have been created right after the poll sent at 31 s said "running":
    // the keep-alive counts from there, not from the fetch.
    assert_eq!(session.next_refresh(), Some(secs(31 + 240)));
}

#[test]
fn a_location_on_another_origin_gets_no_bearer_token() {
    let mut session = accepted(
        WorkbookConfig::new(true),
        "https://elsewhere.example/op",
        Instant::ZERO,
    );
    let poll = session.poll_request(secs(30)).unwrap();
    assert_eq!(poll.url.expose(), "https://elsewhere.example/op");
    assert_eq!(poll.auth, Auth::None);
}

#[test]
fn the_bearer_token_goes_only_to_the_workbooks_origin() {
    // The operation lives on another host: polled without the token (as before). Its answer
    // names the session on that host, absolutely or relatively: fetched without the token too,
    // though the URL has the origin of the request it answered.
    for resource in ["https://evil.example/session/1", "/session/1", "session/1"] {
        let mut session = accepted(
            WorkbookConfig::new(true),
            "https://evil.example/op/1",
            Instant::ZERO,
        );
        let poll = session.poll_request(secs(30)).unwrap();
        assert_eq!(poll.auth, Auth::None);
        let done = format!(r#"{{"status":"succeeded","resourceLocation":"{resource}"}}"#);
        session.handle_response(secs(30), poll.id, Response::new(200).with_body(done));
        let fetch = session.poll_request(secs(30)).unwrap();
        assert_eq!(fetch.kind, RequestKind::FetchResource);
        assert!(
            fetch.url.expose().starts_with("https://evil.example/"),
            "{resource}"
        );
        assert_eq!(fetch.auth, Auth::None, "{resource}");
    }
    // A foreign operation that names a session back on the workbook's origin: the token goes.
    let mut session = accepted(
        WorkbookConfig::new(true),
        "https://evil.example/op/1",
        Instant::ZERO,
    );
    let poll = session.poll_request(secs(30)).unwrap();
    session.handle_response(secs(30), poll.id, operation("succeeded"));
    let fetch = session.poll_request(secs(30)).unwrap();
    assert_eq!(fetch.url.expose(), "https://graph.example/v1.0/sessions/1");
    assert_eq!(fetch.auth, Auth::Bearer);
}

#[test]
fn malformed_creation_answers_are_typed_errors() {
    let cases = [
        (Response::new(202), AnswerProblem::MissingLocation),
        (
            Response::new(202).with_header("Location", "ftp://x/op"),
            AnswerProblem::BadLocation,
        ),
        (Response::new(201), AnswerProblem::NotJson),
        (
            Response::new(201).with_body(r#"{"persistChanges":true}"#),
            AnswerProblem::MissingProperty("id"),
        ),
    ];
    for (answer, problem) in cases {
        let status = answer.status;
        let mut session = machine(WorkbookConfig::new(true));
        let create = session.poll_request(Instant::ZERO).unwrap();
        session.handle_response(Instant::ZERO, create.id, answer);
        assert_eq!(
            events(&mut session),
            [WorkbookEvent::Failed(WorkbookError::MalformedAnswer {
                request: RequestKind::CreateSession,
                status,
                problem,
            })]
        );
        assert!(session.is_finished());
        assert_eq!(session.poll_timeout(), None);
    }
}

#[test]
fn create_refusals_stop_and_gateway_timeouts_repeat() {
    let mut session = machine(WorkbookConfig::new(true));
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.handle_response(Instant::ZERO, create.id, Response::new(504));
    let [
        WorkbookEvent::Retrying {
            request,
            cause,
            wait,
        },
    ] = events(&mut session)[..]
    else {
        panic!("expected one retry");
    };
    assert_eq!(
        (request, cause),
        (RequestKind::CreateSession, RetryCause::Status(504))
    );
    let again = session.poll_request(Instant::ZERO + wait).unwrap();
    assert_eq!(again.kind, RequestKind::CreateSession);
    let body = r#"{"error":{"code":"itemNotFound","message":"no such workbook"}}"#;
    session.handle_response(secs(5), again.id, Response::new(404).with_body(body));
    let [
        WorkbookEvent::Failed(WorkbookError::Rejected {
            request,
            status,
            error,
        }),
    ] = &events(&mut session)[..]
    else {
        panic!("expected a rejection");
    };
    assert_eq!((*request, *status), (RequestKind::CreateSession, 404));
    assert_eq!(error.as_ref().unwrap().code, "itemNotFound");
}

#[test]
fn answers_to_abandoned_or_unknown_requests_are_ignored() {
    let mut session = live();
    let refresh = session.poll_request(secs(240)).unwrap();
    session.handle_response(secs(241), RequestId(999), Response::new(500));
    session.handle_transport_error(secs(241), RequestId(998), TransportError::Timeout);
    assert_eq!(events(&mut session), []);
    session.close(secs(241));
    let close = session.poll_request(secs(241)).unwrap();
    assert_eq!(close.kind, RequestKind::Close);
    // The refresh was abandoned by the close: its late answer changes nothing.
    session.handle_response(secs(242), refresh.id, Response::new(404));
    assert_eq!(events(&mut session), []);
    session.handle_response(secs(242), close.id, Response::new(204));
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Closed {
            session_id: Some(Secret::new("s1"))
        }]
    );
}

#[test]
fn close_request_is_exact_and_a_gone_session_counts_as_closed() {
    for answer in [Response::new(204), Response::new(404)] {
        let mut session = live();
        session.close(secs(10));
        assert_eq!(
            session.begin_call(secs(10)),
            None,
            "no new calls while closing"
        );
        let close = session.poll_request(secs(10)).unwrap();
        assert_eq!(close.method, Method::Post);
        assert_eq!(close.url.expose(), format!("{BASE}/closeSession"));
        assert_eq!(close.header(SESSION_HEADER), Some("s1"));
        assert_eq!(close.body, Body::Empty);
        session.close(secs(11));
        assert!(
            session.poll_request(secs(11)).is_none(),
            "close is sent once"
        );
        session.handle_response(secs(11), close.id, answer);
        assert!(session.is_finished());
        assert_eq!(session.session_id(), None);
        assert!(session.poll_request(secs(500)).is_none());
    }
}

#[test]
fn close_before_a_session_exists() {
    // Not yet sent: nothing to close.
    let mut session = machine(WorkbookConfig::new(true));
    session.close(Instant::ZERO);
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Closed { session_id: None }]
    );
    assert!(session.poll_request(Instant::ZERO).is_none());

    // createSession in flight: the session it yields is closed at once.
    let mut session = machine(WorkbookConfig::new(true));
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.close(Instant::ZERO);
    session.handle_response(secs(1), create.id, session_body("s9", true));
    let close = session.poll_request(secs(1)).unwrap();
    assert_eq!(
        (close.kind, close.header(SESSION_HEADER)),
        (RequestKind::Close, Some("s9"))
    );

    // A long-running creation being polled is abandoned.
    let mut session = accepted(WorkbookConfig::new(true), "/op", secs(1));
    session.close(secs(2));
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Closed { session_id: None }]
    );
    assert!(session.poll_request(secs(100)).is_none());
}

#[test]
fn caller_answers_classify_and_act() {
    let mut session = live();
    let call = session.begin_call(secs(100)).unwrap();
    assert_eq!(call.header().value, "s1");
    assert_eq!(call.sent_at(), secs(100));
    assert_eq!(
        session.handle_workbook_answer(secs(101), &call, &Response::new(200)),
        CallOutcome::Succeeded
    );
    assert_eq!(
        session.next_refresh(),
        Some(secs(340)),
        "counted from the send time"
    );

    let bad_range = Response::new(400)
        .with_body(r#"{"error":{"code":"invalidArgument","message":"bad address"}}"#);
    assert_eq!(
        session.handle_workbook_answer(secs(102), &call, &bad_range),
        CallOutcome::NotSessionRelated
    );
    assert_eq!(
        session.next_refresh(),
        Some(secs(340)),
        "failures are not activity"
    );

    // A bare 404 may be about the caller's resource: the machine checks with a refresh now.
    let missing = Response::new(404).with_body(r#"{"error":{"code":"itemNotFound"}}"#);
    assert_eq!(
        session.handle_workbook_answer(secs(103), &call, &missing),
        CallOutcome::Checking
    );
    assert_eq!(session.poll_timeout(), Some(Instant::ZERO));
    let check = session.poll_request(secs(103)).unwrap();
    assert_eq!(check.kind, RequestKind::Refresh);
    session.handle_response(secs(104), check.id, Response::new(204));
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Refreshed {
            next_refresh: secs(343)
        }]
    );

    let recreatable = Response::new(404).with_body(
        r#"{"error":{"code":"itemNotFound","innerError":{"code":"invalidSessionReCreatable"}}}"#,
    );
    assert_eq!(
        session.handle_workbook_answer(secs(110), &call, &recreatable),
        CallOutcome::SessionExpired
    );
    assert_eq!(session.header(), None);
    assert_eq!(session.begin_call(secs(110)), None);
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Expired {
            session_id: Secret::new("s1"),
            reason: ExpiryReason::ReCreatable
        }]
    );
    let create = session.poll_request(secs(110)).unwrap();
    assert_eq!(create.kind, RequestKind::CreateSession);
    // The old call's answers are now stale, even a second expiry report.
    assert_eq!(
        session.handle_workbook_answer(secs(111), &call, &recreatable),
        CallOutcome::Stale
    );
    session.handle_response(secs(111), create.id, session_body("s2", true));
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Recreated {
            old_session_id: Secret::new("s1"),
            new_session_id: Secret::new("s2"),
            persist_changes: true,
            how: Creation::Immediate,
        }]
    );
    assert_eq!(
        session.handle_workbook_answer(secs(112), &call, &Response::new(200)),
        CallOutcome::Succeeded,
        "a late success under the old session is still a success for the caller"
    );
    assert_eq!(
        session.next_refresh(),
        Some(secs(350)),
        "but not activity on the new one"
    );

    let call = session.begin_call(secs(120)).unwrap();
    let conflict = Response::new(409).with_body(
        r#"{"error":{"code":"conflict","innerError":{"code":"invalidSessionAccessConflict"}}}"#,
    );
    assert_eq!(
        session.handle_workbook_answer(secs(121), &call, &conflict),
        CallOutcome::SessionInvalid(InvalidSessionCode::AccessConflict)
    );
    let [WorkbookEvent::Failed(WorkbookError::SessionInvalid { code, error })] =
        &events(&mut session)[..]
    else {
        panic!("expected a stop");
    };
    assert_eq!(*code, InvalidSessionCode::AccessConflict);
    assert_eq!(error.inner_codes, ["invalidSessionAccessConflict"]);
    assert!(session.is_finished());
}

#[test]
fn refresh_answers_that_stop() {
    let cases = [
        (
            Response::new(401).with_body(
                r#"{"error":{"code":"unauthenticated","innerError":{"code":"invalidSessionAuthentication"}}}"#,
            ),
            "invalidSessionAuthentication",
        ),
        (Response::new(403), "HTTP 403"),
    ];
    for (answer, named) in cases {
        let mut session = live();
        let refresh = session.poll_request(secs(240)).unwrap();
        session.handle_response(secs(241), refresh.id, answer);
        let [WorkbookEvent::Failed(error)] = &events(&mut session)[..] else {
            panic!("expected a stop");
        };
        let message = format!("{error}");
        assert!(message.contains(named), "{message}");
        assert!(session.is_finished());
    }
}

#[test]
fn transport_failures() {
    let mut session = machine(WorkbookConfig::new(true));
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.handle_transport_error(Instant::ZERO, create.id, TransportError::Timeout);
    assert!(matches!(
        events(&mut session)[..],
        [WorkbookEvent::Retrying {
            request: RequestKind::CreateSession,
            cause: RetryCause::Transport(TransportError::Timeout),
            ..
        }]
    ));
    let create = session.poll_request(secs(2)).unwrap();
    session.handle_transport_error(secs(2), create.id, TransportError::SourceRead);
    assert_eq!(
        events(&mut session),
        [WorkbookEvent::Failed(WorkbookError::Transport {
            request: RequestKind::CreateSession,
            error: TransportError::SourceRead
        })]
    );
}

#[test]
fn failed_refreshes_retry_before_the_expiry_until_the_budget_runs_out() {
    let config = WorkbookConfig {
        retry: crate::retry::RetryPolicy {
            max_attempts: 4,
            ..crate::retry::RetryPolicy::default()
        },
        ..WorkbookConfig::new(true)
    };
    let mut session = machine(config);
    let create = session.poll_request(Instant::ZERO).unwrap();
    session.handle_response(Instant::ZERO, create.id, session_body("s1", true));
    events(&mut session);
    let expiry = session.expires_at().unwrap();
    let mut now = session.poll_timeout().unwrap();
    let mut attempts = 0;
    while let Some(refresh) = session.poll_request(now) {
        attempts += 1;
        assert!(
            now < expiry,
            "attempt {attempts} at {now:?} is after the expiry"
        );
        session.handle_response(now, refresh.id, Response::new(503));
        match session.poll_timeout() {
            Some(next) => now = next,
            None => break,
        }
    }
    assert_eq!(attempts, 5, "the first refresh and four retries");
    let last = events(&mut session).pop();
    assert!(matches!(
        last,
        Some(WorkbookEvent::Failed(WorkbookError::GaveUp {
            request: RequestKind::Refresh,
            cause: RetryCause::Status(503),
            reason: GiveUp::BudgetExhausted { attempts: 4 },
        }))
    ));
}

mod hostile_answers;
mod recreation;
mod timing;

/// The transport-facing answers: time limits and winding down.
mod driven {
    use super::super::*;
    use crate::http::{Auth, Body, Method, RequestId};
    use crate::secret::SecretUrl;
    use crate::session::StateMachine;
    use crate::workbook::{InactivityLimits, WorkbookConfig, WorkbookEvent, WorkbookUrl};
    use alloc::vec::Vec;

    type SessionMachine = WorkbookSession;

    fn request(kind: RequestKind) -> Request {
        Request {
            id: RequestId(0),
            kind,
            method: Method::Post,
            url: SecretUrl::new("https://example.com/workbook/refreshSession"),
            headers: Vec::new(),
            auth: Auth::Bearer,
            body: Body::Empty,
        }
    }

    fn machine(limit: Duration) -> SessionMachine {
        let url = WorkbookUrl::new("https://example.com/v1.0/me/drive/items/1/workbook").unwrap();
        let config = WorkbookConfig {
            inactivity: InactivityLimits::uniform(limit),
            ..WorkbookConfig::new(true)
        };
        SessionMachine::create(url, config, Instant::ZERO).unwrap()
    }

    #[test]
    fn a_refresh_waits_no_longer_than_its_margin() {
        // Five minutes: refreshed after four, so a refresh has one minute to answer.
        let real = machine(Duration::from_secs(300));
        assert_eq!(
            real.time_limit(&request(RequestKind::Refresh)),
            Duration::from_secs(60)
        );
        assert_eq!(
            real.time_limit(&request(RequestKind::CreateSession)),
            REQUEST_TIME_LIMIT
        );
        // Two seconds: refreshed after one, one second to answer.
        let fast = machine(Duration::from_secs(2));
        assert_eq!(
            fast.time_limit(&request(RequestKind::Refresh)),
            Duration::from_secs(1)
        );
        // Never below the floor, never above the general limit.
        let tiny = machine(Duration::from_millis(100));
        assert_eq!(
            tiny.time_limit(&request(RequestKind::Refresh)),
            MIN_REFRESH_TIME_LIMIT
        );
    }

    #[test]
    fn abandoning_closes() {
        let mut session = machine(Duration::from_secs(300));
        assert!(session.abandon(Instant::ZERO));
        // Nothing was created yet: closing ends the machine at once.
        assert!(session.is_finished());
        assert_eq!(
            session.poll_event(),
            Some(WorkbookEvent::Closed { session_id: None })
        );
    }
}
