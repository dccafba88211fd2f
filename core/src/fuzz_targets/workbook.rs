//! The [`WorkbookSession`] machine fed hostile answers.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::http::{Auth, Request, RequestKind, Response, TransportError};
use crate::retry::{StatusClass, requested_wait};
use crate::session::StateMachine;
use crate::time::{Duration, Instant, UnixTime, WallClock};
use crate::wire::workbook_headers::SESSION_HEADER;
use crate::workbook::{
    InactivityLimits, MAX_POLL_INTERVAL, WorkbookConfig, WorkbookEvent, WorkbookSession,
    WorkbookUrl,
};

use super::Choices;

/// Every session id the harness hands out starts with this; it must never be printed.
const ID_PREFIX: &str = "wb-secret-";
/// The workbook's origin: the only place the bearer token may go.
const GRAPH: &str = "https://graph.example/";
/// 2026-01-01T00:00:00Z: the wall clock at `Instant::ZERO`.
const WALL_ZERO: i64 = 1_767_225_600_000;

/// The workbook-session machine answered with hostile creations (`201`, `202` with good, relative,
/// foreign or broken `Location`s, `504`, other statuses), operation bodies with statuses in any
/// spelling and case, failure bodies, `Retry-After`s, `invalidSession…` codes on refreshes and on
/// the caller's calls, dropped connections, and `close` at random. It must never panic or stall;
/// the `workbook-session-id` header (on its requests and on the caller's calls) carries only the
/// latest id the server gave; the bearer token goes only to the workbook's origin; a retry waits
/// at least what a `Retry-After` asked; the wait before a poll is never over 4 minutes unless a
/// `Retry-After` asked for longer; no poll follows the operation's success; nothing is sent once
/// finished; no id is printed.
pub fn workbook_hostile_answers(data: &[u8]) {
    let mut choices = Choices(data);
    let mut config = WorkbookConfig::new(choices.byte() & 1 == 0);
    config.respond_async = choices.byte() & 1 == 0;
    config.poll_interval = Duration::from_secs(u64::from(choices.byte()) * 3 + 1);
    config.max_recreations = u32::from(choices.byte() % 4);
    config.retry.max_attempts = u32::from(choices.byte() % 4);
    config.seed = u64::from(choices.byte());
    if choices.byte() & 1 == 0 {
        config.inactivity =
            InactivityLimits::uniform(Duration::from_secs(u64::from(choices.byte()) * 4 + 1));
    }
    let url = WorkbookUrl::new(format!("{GRAPH}v1.0/me/drive/items/01AB/workbook"))
        .expect("a workbook URL");
    let Ok(mut session) = WorkbookSession::create(url, config.clone(), Instant::ZERO) else {
        return;
    };
    let mut harness = Harness {
        latest_id: None,
        ids: 0,
        clock_known: choices.byte() & 1 == 0,
        poll_limit: None,
        succeeded: false,
        outstanding: Vec::new(),
        max_retry_after: config.retry.max_retry_after,
    };
    if harness.clock_known {
        session.set_wall_clock(WallClock::new(
            Instant::ZERO,
            UnixTime::from_millis(WALL_ZERO),
        ));
    }
    let mut now = Instant::ZERO;
    for _ in 0..3_000 {
        if session.is_finished() || choices.is_empty() {
            break;
        }
        // The delta-seconds `Retry-After` of this round's answer, if its status asks for a retry.
        let mut asked = None;
        match choices.byte() % 16 {
            0 => session.close(now),
            1 | 2 => harness.caller_call(&mut choices, &mut session, now),
            _ => {}
        }
        if let Some(header) = session.header() {
            harness.check_id(&header.value);
        }
        if let Some(request) = session.poll_request(now) {
            harness.check_request(&request, now);
            harness.outstanding.push(request);
            assert!(
                session.poll_request(now).is_none(),
                "two requests of its own in flight"
            );
        }
        if !harness.outstanding.is_empty() {
            let index = usize::from(choices.byte()) % harness.outstanding.len();
            let request = harness.outstanding.swap_remove(index);
            now += Duration::from_millis(u64::from(choices.byte()) * 100);
            if choices.one_in(10) {
                let error = choices.pick(&[TransportError::Timeout, TransportError::Connect]);
                session.handle_transport_error(now, request.id, error);
                harness.after_answer(&request, &session, now, None);
            } else {
                let answer = harness.answer(&mut choices, &request, now);
                let placed = harness.asked_wait(&answer, now);
                let retried = matches!(
                    StatusClass::of(answer.status),
                    StatusClass::Throttled | StatusClass::Transient
                );
                let delta = answer
                    .header("Retry-After")
                    .and_then(|v| v.parse::<u64>().ok());
                asked = delta.filter(|_| retried).map(Duration::from_secs);
                session.handle_response(now, request.id, answer);
                harness.after_answer(&request, &session, now, placed);
            }
        } else if let Some(deadline) = session.poll_timeout() {
            now = now.max(deadline);
            session.handle_timeout(now);
        } else if !session.is_finished() {
            panic!("stalled: {session:?}");
        }
        while let Some(event) = session.poll_event() {
            let printed = format!("{event} {event:?}");
            assert!(!printed.contains(ID_PREFIX), "{printed}");
            if let (WorkbookEvent::Retrying { wait, .. }, Some(asked)) = (&event, asked) {
                assert!(*wait >= asked, "waits {wait:?} where {asked:?} was asked");
            }
        }
    }
    if session.is_finished() {
        assert!(
            session.poll_request(now).is_none(),
            "a request after the end"
        );
        assert!(session.poll_timeout().is_none(), "a deadline after the end");
    }
    assert!(!format!("{session:?}").contains(ID_PREFIX));
}

/// What the harness told the machine, and what it therefore allows.
struct Harness {
    /// The id of the last session the server gave.
    latest_id: Option<String>,
    ids: u32,
    /// Whether the machine can place an HTTP-date (a wall clock, or a `Date` seen).
    clock_known: bool,
    /// After an answer that leaves the machine polling: when it was handled, the latest the next
    /// poll may be scheduled and what the machine scheduled.
    poll_limit: Option<(Instant, Instant)>,
    /// The operation was reported succeeded; no poll may follow before a new creation.
    succeeded: bool,
    outstanding: Vec<Request>,
    max_retry_after: Duration,
}

impl Harness {
    fn check_id(&self, id: &str) {
        assert!(
            self.latest_id.as_deref() == Some(id),
            "a session id the server did not give last"
        );
    }

    fn check_request(&mut self, request: &Request, now: Instant) {
        let url = request.url.expose();
        if request.auth == Auth::Bearer {
            assert!(url.starts_with(GRAPH), "the bearer token sent to {url}");
        }
        if let Some(id) = request.header(SESSION_HEADER) {
            self.check_id(id);
        }
        match request.kind {
            RequestKind::CreateSession => self.succeeded = false,
            RequestKind::PollOperation => {
                assert!(!self.succeeded, "a poll after the operation succeeded");
                if let Some((limit, scheduled)) = self.poll_limit {
                    assert!(scheduled <= limit, "a poll scheduled too late");
                    // The harness steps to the deadline it was given, so the poll went then.
                    assert!(now >= scheduled, "a poll before its time");
                }
            }
            _ => {}
        }
    }

    /// The `Retry-After` wait an answer asks for, placed as the machine can place it.
    fn asked_wait(&mut self, answer: &Response, now: Instant) -> Option<Duration> {
        let wall = UnixTime::from_millis(WALL_ZERO + now.as_millis() as i64);
        let date = answer.header("Date");
        let asked = requested_wait(
            answer.header("Retry-After"),
            date,
            self.clock_known.then_some(wall),
            self.max_retry_after,
        );
        self.clock_known |= date.is_some_and(|d| UnixTime::parse_http_date(d).is_ok());
        asked
    }

    /// Records the limit on the next poll after an answer to a creation or a poll.
    fn after_answer(
        &mut self,
        request: &Request,
        session: &WorkbookSession,
        now: Instant,
        asked: Option<Duration>,
    ) {
        if !matches!(
            request.kind,
            RequestKind::CreateSession | RequestKind::PollOperation
        ) {
            return;
        }
        self.poll_limit = None;
        if let Some(scheduled) = session.poll_timeout() {
            // A date measured from a `Date` header in whole seconds can come out a second long.
            let asked = asked.map_or(Duration::ZERO, |a| a + Duration::from_secs(2));
            self.poll_limit = Some((now + MAX_POLL_INTERVAL.max(asked), scheduled));
        }
    }

    /// One of the caller's own workbook calls, answered.
    fn caller_call(
        &mut self,
        choices: &mut Choices<'_>,
        session: &mut WorkbookSession,
        now: Instant,
    ) {
        let Some(call) = session.begin_call(now) else {
            return;
        };
        self.check_id(&call.header().value);
        let status = choices.pick(&[200, 200, 400, 404, 410, 500]);
        let body = error_body(choices);
        session.handle_workbook_answer(now, &call, &Response::new(status).with_body(body));
    }

    /// An answer to `request`: plausible or hostile.
    fn answer(&mut self, choices: &mut Choices<'_>, request: &Request, now: Instant) -> Response {
        let status = match (request.kind, choices.byte() % 3) {
            (RequestKind::CreateSession, 0) => choices.pick(&[201, 202, 202]),
            (RequestKind::Refresh | RequestKind::Close, 0) => 204,
            (_, 0) => 200,
            _ => choices.pick(&[
                200, 201, 202, 204, 400, 401, 403, 404, 409, 410, 429, 500, 503, 504,
            ]),
        };
        let mut response = Response::new(status);
        let body = match (request.kind, choices.byte() % 4) {
            (RequestKind::CreateSession | RequestKind::FetchResource, 0 | 1) => {
                self.ids += 1;
                let id = format!("{ID_PREFIX}{}", self.ids);
                let adopted = (200..300).contains(&status)
                    && !(request.kind == RequestKind::CreateSession && status == 202);
                if adopted {
                    self.latest_id = Some(id.clone());
                }
                format!(
                    "{{\"id\":\"{id}\",\"persistChanges\":{}}}",
                    choices.byte() & 1 == 0
                )
            }
            (RequestKind::PollOperation, 0 | 1) => {
                let spelled = choices.pick(&[
                    "running",
                    "Running",
                    "NOTSTARTED",
                    "notStarted",
                    "succeeded",
                    "Succeeded",
                    "COMPLETED",
                    "completed",
                    "failed",
                    "Failed",
                    "paused",
                    "",
                ]);
                let location = choices.pick(&[
                    "sessions/1",
                    "https://graph.example/v1.0/sessions/2",
                    "https://evil.example/sessions/3",
                    "",
                    "::",
                ]);
                let finished = spelled.eq_ignore_ascii_case("succeeded")
                    || spelled.eq_ignore_ascii_case("completed");
                if (200..300).contains(&status) && finished && !location.trim().is_empty() {
                    self.succeeded = true;
                }
                format!(
                    "{{\"id\":\"op\",\"status\":\"{spelled}\",\"resourceLocation\":\"{location}\",\
                     \"error\":{{\"code\":\"x\",\"innerError\":{{\"code\":\"y\"}}}}}}"
                )
            }
            _ => error_body(choices),
        };
        response = response.with_body(body);
        if choices.byte() & 1 == 0 {
            let location = choices.pick(&[
                "operations/op-1",
                "/v1.0/me/drive/items/01AB/workbook/operations/op-2",
                "https://graph.example/v1.0/operations/op-3",
                "https://evil.example/operations/op-4",
                "//evil.example/operations/op-5",
                "http://graph.example/operations/op-6",
                "",
                "::not a url",
            ]);
            response = response.with_header("Location", location);
        }
        match choices.byte() % 6 {
            0 => response = response.with_header("Retry-After", choices.byte().to_string()),
            1 => {
                let at = UnixTime::from_millis(WALL_ZERO + now.as_millis() as i64)
                    .saturating_add(Duration::from_secs(u64::from(choices.u16())));
                response = response.with_header("Retry-After", at.http_date().to_string());
            }
            2 => response = response.with_header("Retry-After", "-1"),
            _ => {}
        }
        if choices.byte() & 1 == 0 {
            let date = UnixTime::from_millis(WALL_ZERO + now.as_millis() as i64);
            response = response.with_header("Date", date.http_date().to_string());
        }
        response
    }
}

/// A Graph error body: an `invalidSession…` code (top level or inner), another code, or no JSON.
fn error_body(choices: &mut Choices<'_>) -> String {
    let code = choices.pick(&[
        "invalidSessionReCreatable",
        "INVALIDSESSIONRECREATABLE",
        "invalidSessionNotFound",
        "invalidSessionAuthentication",
        "invalidSessionAccessConflict",
        "invalidSessionUnsupportedWorkbook",
        "invalidSessionRestricted",
        "invalidSessionUnexpected",
        "invalidSessionSomethingNew",
        "itemNotFound",
        "generalException",
    ]);
    match choices.byte() % 4 {
        0 => format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"m\"}}}}"),
        1 => format!(
            "{{\"error\":{{\"code\":\"badRequest\",\"innerError\":{{\"code\":\"{code}\"}}}}}}"
        ),
        2 => String::new(),
        _ => "<html>".into(),
    }
}
