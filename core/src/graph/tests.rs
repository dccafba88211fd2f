//! Unit tests of the machine, fed answers by hand.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::session::missing_from;
use super::*;
use crate::chunk::FragmentSizing;
use crate::http::{Auth, Body, Method, Request, RequestId, RequestKind, Response, TransportError};
use crate::range::ByteRange;
use crate::session::{Failure, StateMachine};
use crate::time::{Duration, Instant};
use crate::wire::graph_answer as answer;

const CREATE: &str = "https://graph.example/v1.0/me/drive/root:/a.bin:/createUploadSession";
const SESSION: &str =
    r#"{"uploadUrl":"https://up.example/s/1?tempauth=secret","nextExpectedRanges":["0-"]}"#;
const CHUNK: u64 = 327_680;

fn drive(total: u64) -> Upload {
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new().named("a.bin")), total);
    config.fragment_size = FragmentSizing::Fixed(CHUNK);
    Upload::create(CREATE, config, Instant::ZERO).unwrap()
}

fn created(total: u64) -> Upload {
    let mut up = drive(total);
    let create = up.poll_request(Instant::ZERO).unwrap();
    up.handle_response(
        Instant::ZERO,
        create.id,
        Response::new(200).with_body(SESSION),
    );
    up
}

fn events(up: &mut Upload) -> Vec<Event> {
    core::iter::from_fn(|| up.poll_event()).collect()
}

fn answer(up: &mut Upload, request: &Request, status: u16, body: &str) {
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(status).with_body(body.to_owned()),
    );
}

#[test]
fn creation_requests_carry_the_target_and_the_bearer_token() {
    let mut item = DriveItem::new()
        .named("a.bin")
        .on_conflict(ConflictBehavior::Replace);
    item.if_match = Some("\"etag\"".into());
    let config = UploadConfig::new(Target::DriveItem(item), 10);
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        (create.method, create.auth, create.kind),
        (Method::Post, Auth::Bearer, RequestKind::CreateSession)
    );
    assert_eq!(create.header("content-type"), Some("application/json"));
    assert_eq!(create.header("if-match"), Some("\"etag\""));
    assert_eq!(
        create.body,
        Body::Json(br#"{"deferCommit":false,"item":{"@microsoft.graph.conflictBehavior":"replace","fileSize":10,"name":"a.bin"}}"#[..].into())
    );
    assert!(
        up.poll_request(Instant::ZERO).is_none(),
        "one creation at a time"
    );
    let print = Target::PrintDocument(PrintDocument::new("t.pdf", "application/pdf"));
    assert_eq!(
        &print.create_body(4_533_322)[..],
        br#"{"properties":{"contentType":"application/pdf","documentName":"t.pdf","size":4533322}}"#
    );
}

#[test]
fn fragments_go_to_the_upload_url_without_authorization() {
    let mut up = created(3 * CHUNK);
    assert!(matches!(
        events(&mut up)[..],
        [Event::SessionCreated { number: 1, .. }]
    ));
    let put = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        (put.method, put.auth, put.kind),
        (Method::Put, Auth::None, RequestKind::Fragment)
    );
    assert_eq!(put.url.expose(), "https://up.example/s/1?tempauth=secret");
    assert_eq!(put.header("content-range"), Some("bytes 0-327679/983040"));
    assert_eq!(put.body, Body::Source(ByteRange::new(0, CHUNK).unwrap()));
    assert!(put.header("authorization").is_none());
    assert!(!format!("{put:?}").contains("secret"));
    assert!(
        !format!("{up:?}").contains("secret"),
        "the machine prints no session URL"
    );
    assert!(
        up.poll_request(Instant::ZERO).is_none(),
        "drives send one at a time"
    );
}

#[test]
fn refusals_fail_with_what_to_do() {
    let mut up = drive(10);
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &create,
        507,
        r#"{"error":{"code":"quotaLimitReached"}}"#,
    );
    let error = UploadError::Rejected {
        during: RequestKind::CreateSession,
        status: 507,
        code: Some("quotaLimitReached".into()),
        message: None,
    };
    assert_eq!(events(&mut up), [Event::Failed(error.clone())]);
    assert_eq!(
        error.to_string(),
        "the server refused creating the upload session with HTTP 507 (quotaLimitReached): the drive is full: free space or raise the quota, then start again"
    );
    assert!(up.is_finished());
    assert_eq!(up.state(), State::Failed);

    // The service's own words come with it, for the cases the status cannot tell apart.
    let mut up = drive(10);
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &create,
        400,
        r#"{"error":{"code":"invalidRequest","message":"Maximum file size exceeded. See https://aka.ms/x?sig=abc"}}"#,
    );
    let Some(Event::Failed(error)) = events(&mut up).pop() else {
        panic!("no failure");
    };
    assert_eq!(
        error.to_string(),
        "the server refused creating the upload session with HTTP 400 (invalidRequest: \"Maximum file size exceeded. See […]\"): the service found the request invalid (a file name it does not take, a size over its limits): check both; if they are fine, this is a bug, please report it"
    );

    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 409, "");
    assert!(
        matches!(
            events(&mut up).last(),
            Some(Event::Failed(UploadError::Rejected { status: 409, .. }))
        ),
        "409 is a name conflict only on the last fragment"
    );

    let mut up = drive(10);
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 401, "");
    let Some(Event::Failed(error)) = events(&mut up).pop() else {
        panic!()
    };
    assert!(error.to_string().contains("get a new token"), "{error}");
}

#[test]
fn a_401_on_the_upload_url_blames_the_urls_own_credential() {
    // No bearer token goes to the upload URL: a new one cannot help.
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 401, "");
    let error = UploadError::UploadUrlRefused {
        during: RequestKind::Fragment,
        status: 401,
    };
    assert_eq!(events(&mut up).pop(), Some(Event::Failed(error.clone())));
    assert_eq!(
        error.to_string(),
        "the upload URL's own credential was refused (HTTP 401) while uploading a fragment: it expired or was revoked, and no bearer token goes there, so a new token cannot help; start the upload again in a new session"
    );
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.handle_transport_error(Instant::ZERO, put.id, TransportError::Timeout);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    let status = up.poll_request(at).unwrap();
    answer(&mut up, &status, 401, "");
    assert_eq!(
        events(&mut up).pop(),
        Some(Event::Failed(UploadError::UploadUrlRefused {
            during: RequestKind::Status,
            status: 401
        }))
    );
}

#[test]
fn retry_after_dates_are_read_on_the_server_clock() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    let now = Instant::from_millis(5_000);
    let busy = Response::new(429)
        .with_header("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
        .with_header("Retry-After", "Thu, 01 Jan 2026 00:01:00 GMT");
    up.handle_response(now, put.id, busy);
    assert_eq!(up.state(), State::WaitingToRetry);
    let at = up.poll_timeout().unwrap();
    assert!(
        at >= Instant::from_millis(65_000) && at <= Instant::from_millis(66_000),
        "{at:?}"
    );
    assert!(
        up.poll_request(Instant::from_millis(64_999)).is_none(),
        "never earlier than asked"
    );
    up.handle_timeout(at);
    let again = up.poll_request(at).unwrap();
    assert_eq!(
        again.body, put.body,
        "a 429 stored nothing: the same bytes go again"
    );
}

#[test]
fn unreadable_and_ambiguous_answers_lead_to_a_status_request() {
    let mut up = created(3 * CHUNK);
    let _ = events(&mut up);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, "{not json");
    assert!(matches!(
        events(&mut up)[..],
        [Event::RetryScheduled {
            reason: Failure::Unreadable(answer::AnswerError::NotJson),
            ..
        }]
    ));
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    let status = up.poll_request(at).unwrap();
    assert_eq!(
        (status.method, status.kind, status.auth),
        (Method::Get, RequestKind::Status, Auth::None)
    );
    up.handle_transport_error(at, status.id, TransportError::Timeout);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    assert_eq!(up.poll_request(at).unwrap().kind, RequestKind::Status);
}

#[test]
fn answers_to_forgotten_requests_are_ignored() {
    let mut up = created(3 * CHUNK);
    let _ = events(&mut up);
    up.handle_response(Instant::ZERO, RequestId(999), Response::new(500));
    up.handle_transport_error(Instant::ZERO, RequestId(998), TransportError::Timeout);
    assert!(events(&mut up).is_empty());
    assert_eq!(up.state(), State::Uploading);
}

#[test]
fn a_source_read_error_ends_the_upload() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.handle_transport_error(Instant::ZERO, put.id, TransportError::SourceRead);
    assert_eq!(
        events(&mut up).pop(),
        Some(Event::Failed(UploadError::SourceRead))
    );
}

#[test]
fn cancelling_while_the_session_is_created_deletes_it_afterwards() {
    let mut up = drive(10);
    let create = up.poll_request(Instant::ZERO).unwrap();
    up.cancel(Instant::ZERO).unwrap();
    assert_eq!(up.state(), State::Cancelling);
    assert!(up.poll_request(Instant::ZERO).is_none());
    answer(&mut up, &create, 200, SESSION);
    let delete = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!((delete.method, delete.auth), (Method::Delete, Auth::None));
    answer(&mut up, &delete, 204, "");
    assert_eq!(events(&mut up), [Event::Cancelled]);
    assert!(up.is_finished());
}

#[test]
fn commands_in_the_wrong_state_say_so() {
    let mut up = created(10);
    let error = up.commit(Instant::ZERO).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot commit while the upload is uploading"
    );
    let commit = ExplicitCommit::new("https://g/x:", "x", ConflictBehavior::Fail);
    assert!(up.commit_with_source_url(commit, Instant::ZERO).is_err());
}

#[test]
fn all_bytes_without_an_item_ask_the_session_then_commit_it() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(
        up.state(),
        State::Resynchronising,
        "asks before anything else"
    );
    let status = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        (status.method, status.kind),
        (Method::Get, RequestKind::Status)
    );
    answer(&mut up, &status, 200, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(up.state(), State::Committing, "still no file: commit it");
    let commit = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        (commit.method, commit.auth, commit.kind),
        (Method::Post, Auth::None, RequestKind::Commit)
    );
    answer(&mut up, &commit, 201, r#"{"id":"1","size":10}"#);
    let Some(Event::Completed(done)) = events(&mut up).pop() else {
        panic!("not completed");
    };
    assert_eq!(
        done.verification.to_string(),
        "size checked, no hash returned"
    );
}

#[test]
fn all_bytes_then_a_gone_session_look_the_item_up_and_check_it() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":[]}"#);
    let status = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &status, 404, "");
    let mut now = Instant::ZERO;
    let check = loop {
        now = up.poll_timeout().unwrap_or(now);
        up.handle_timeout(now);
        let request = up.poll_request(now).unwrap();
        if request.kind == RequestKind::FetchResource {
            break request;
        }
        answer(&mut up, &request, 404, "");
    };
    assert_eq!((check.method, check.auth), (Method::Get, Auth::Bearer));
    assert_eq!(
        check.url.expose(),
        "https://graph.example/v1.0/me/drive/root:/a.bin:"
    );
    // No hash, and no modification time after the session was made: not proven this
    // upload's, so the upload starts over rather than claim someone else's file.
    answer(&mut up, &check, 200, r#"{"id":"1","size":10}"#);
    let seen = events(&mut up);
    assert!(
        seen.iter().any(|e| matches!(e, Event::NotThisUpload(_))),
        "{seen:?}"
    );
    assert_eq!(up.state(), State::CreatingSession);
}

#[test]
fn print_fragments_in_flight_are_not_resent_on_a_stale_answer() {
    let mut config = UploadConfig::new(
        Target::PrintDocument(PrintDocument::new("d", "application/pdf")),
        1_000_000,
    );
    config.fragment_size = FragmentSizing::Fixed(200_000);
    let mut up =
        Upload::create("https://g/print/createUploadSession", config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &create,
        200,
        r#"{"uploadUrl":"https://up/p","nextExpectedRanges":["0-999999"]}"#,
    );
    let sent: Vec<Request> = core::iter::from_fn(|| up.poll_request(Instant::ZERO)).collect();
    assert_eq!(sent.len(), 4);
    // The third fragment is answered first; the server still lacks the others.
    answer(
        &mut up,
        &sent[2],
        202,
        r#"{"nextExpectedRanges":["0-399999","600000-999999"]}"#,
    );
    let next = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        next.body,
        Body::Source(ByteRange::new(800_000, 1_000_000).unwrap())
    );
    // A stale answer to the first fragment (written before the third arrived) loses nothing.
    answer(
        &mut up,
        &sent[0],
        202,
        r#"{"nextExpectedRanges":["200000-999999"]}"#,
    );
    assert_eq!(up.confirmed(), 400_000);
    assert!(
        up.poll_request(Instant::ZERO).is_none(),
        "everything missing is in flight"
    );
}

#[test]
fn long_server_lists_fold_rather_than_lose_gaps() {
    let total = 10_000;
    let ranges: Vec<ByteRange> = (0..100)
        .map(|i| ByteRange::new(i * 100, i * 100 + 50).unwrap())
        .collect();
    fn folds<const N: usize>(ranges: &[ByteRange], total: u64) {
        let missing: crate::range_set::RangeSet<N> = missing_from(ranges, total);
        assert_eq!(missing.len(), N);
        let last = missing.iter().last().unwrap();
        assert_eq!(last.end(), total, "the tail counts as missing");
        for range in ranges {
            assert!(
                missing
                    .iter()
                    .any(|gap| gap.start() <= range.start() && range.end() <= gap.end()),
                "{range:?} lost with capacity {N}"
            );
        }
    }
    // The engine's own capacity, and smaller ones: the fold follows the set's capacity.
    folds::<{ upload::Missing::CAPACITY }>(&ranges, total);
    folds::<4>(&ranges, total);
    folds::<1>(&ranges, total);
}

#[test]
fn measured_fragments_feed_the_planner_and_the_limits() {
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new()), 100 * CHUNK);
    config.fragment_size = FragmentSizing::Adaptive {
        initial: 4 * CHUNK,
        target: Duration::from_secs(1),
        min: CHUNK,
        max: 32 * CHUNK,
    };
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    // Queued for 10 s before its bytes went out, then 250 ms on the wire.
    up.fragment_started(put.id, Instant::from_millis(10_000));
    up.handle_response(
        Instant::from_millis(10_250),
        put.id,
        Response::new(202).with_body(r#"{"nextExpectedRanges":["1310720-"]}"#),
    );
    assert_eq!(up.bytes_per_second(), Some(4 * CHUNK * 4));
    assert_eq!(
        up.fragment_size(),
        8 * CHUNK,
        "doubled toward one second's worth"
    );
}

#[test]
fn a_202_is_never_taken_for_the_finished_item() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, r#"{"id":"looks like an item"}"#);
    assert_eq!(up.state(), State::WaitingToRetry);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    assert_eq!(up.poll_request(at).unwrap().kind, RequestKind::Status);
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &put,
        202,
        r#"{"ExpirationDateTime":"2026-01-29T09:21:55Z"}"#,
    );
    assert!(!up.is_finished());
}

#[test]
fn the_machine_moves_between_threads() {
    fn sendable<T: Send + Sync + 'static>() {}
    sendable::<Upload>();
    sendable::<Event>();
    sendable::<Checkpoint>();
}

#[test]
fn an_http_date_retry_after_without_a_date_header_uses_the_callers_wall_clock() {
    let mut up = created(3 * CHUNK);
    let anchor = crate::time::UnixTime::parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT").unwrap();
    up.set_wall_clock(crate::time::WallClock::new(Instant::ZERO, anchor));
    let put = up.poll_request(Instant::ZERO).unwrap();
    let now = Instant::from_millis(5_000);
    let busy = Response::new(429).with_header("Retry-After", "Thu, 01 Jan 2026 00:02:05 GMT");
    up.handle_response(now, put.id, busy);
    // 00:02:05 is 125 s after the anchor: 120 s after the answer, plus at most 1 s of jitter.
    let at = up.poll_timeout().unwrap();
    assert!(
        at >= Instant::from_millis(125_000) && at <= Instant::from_millis(126_000),
        "{at:?}"
    );
}

#[test]
fn an_http_date_retry_after_without_any_clock_waits_the_longest_accepted_wait() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    let busy = Response::new(429).with_header("Retry-After", "Thu, 01 Jan 2026 00:02:05 GMT");
    up.handle_response(Instant::ZERO, put.id, busy);
    // Nothing places the date: wait as long as any Retry-After the policy accepts, so no
    // acceptable ask is undercut.
    let longest = up.config().retry.max_retry_after;
    let at = up.poll_timeout().unwrap();
    assert!(at >= Instant::ZERO + longest, "{at:?}");
}

mod checkpoints;
mod finishing;
mod retry_hook;
