//! Unit tests of the machine, fed answers by hand.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::session::missing_from;
use super::*;
use crate::http::{Auth, Body, Method, Request, RequestId, RequestKind, Response, TransportError};
use crate::machine::StateMachine;
use crate::range::ByteRange;
use crate::time::{Duration, Instant};

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
    };
    assert_eq!(events(&mut up), [Event::Failed(error.clone())]);
    assert_eq!(
        error.to_string(),
        "the server refused creating the upload session with HTTP 507 (quotaLimitReached): the drive is full: free space or raise the quota, then start again"
    );
    assert!(up.is_finished());
    assert_eq!(up.state(), State::Failed);

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
fn all_bytes_without_deferred_commit_checks_the_item() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(up.state(), State::CheckingCompletion);
    let check = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        (check.method, check.auth, check.kind),
        (Method::Get, Auth::Bearer, RequestKind::FetchResource)
    );
    assert_eq!(
        check.url.expose(),
        "https://graph.example/v1.0/me/drive/root:/a.bin:"
    );
    answer(&mut up, &check, 200, r#"{"id":"1","size":10}"#);
    assert!(matches!(
        events(&mut up).pop(),
        Some(Event::Completed(Completion { status: 200, .. }))
    ));
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
fn checkpoints_keep_confirmed_fragments_and_hide_the_url_when_printed() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(put.id, 0xDEAD_BEEF);
    answer(
        &mut up,
        &put,
        202,
        r#"{"expirationDateTime":"2026-01-29T09:21:55Z","nextExpectedRanges":["327680-"]}"#,
    );
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.confirmed(), [ByteRange::new(0, CHUNK).unwrap()]);
    assert_eq!(
        checkpoint.fingerprint().fragments,
        [FragmentCrc {
            range: ByteRange::new(0, CHUNK).unwrap(),
            crc32: 0xDEAD_BEEF
        }]
    );
    assert_eq!(
        checkpoint.expires().unwrap().to_string(),
        "2026-01-29T09:21:55.000Z"
    );
    assert!(!format!("{checkpoint:?}").contains("tempauth"));
    let bytes = checkpoint.to_bytes();
    assert!(
        core::str::from_utf8(&bytes)
            .unwrap()
            .contains("tempauth=secret"),
        "resuming needs it"
    );
    let resumed = Upload::resume(
        Checkpoint::from_bytes(&bytes).unwrap(),
        Instant::from_millis(7),
    )
    .unwrap();
    assert_eq!(resumed.state(), State::Resynchronising);
    assert_eq!(resumed.checkpoint(), checkpoint);
}

#[test]
fn a_partly_stored_fragment_leaves_no_fingerprint() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(put.id, 1);
    up.handle_transport_error(Instant::ZERO, put.id, TransportError::ConnectionLost);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    let status = up.poll_request(at).unwrap();
    answer(&mut up, &status, 200, r#"{"nextExpectedRanges":["1000-"]}"#);
    assert!(up.checkpoint().fingerprint().fragments.is_empty());
    assert_eq!(up.confirmed(), 1_000);
    let next = up.poll_request(at).unwrap();
    assert_eq!(
        next.body,
        Body::Source(ByteRange::new(1_000, CHUNK).unwrap())
    );
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
fn a_lost_last_answer_under_replace_is_reported_unconfirmed() {
    let item = DriveItem::new()
        .named("a.bin")
        .on_conflict(ConflictBehavior::Replace);
    let mut config = UploadConfig::new(Target::DriveItem(item), 10);
    config.session.not_found_retries = 0;
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.handle_transport_error(Instant::ZERO, put.id, TransportError::Timeout);
    let at = up.poll_timeout().unwrap();
    up.handle_timeout(at);
    let status = up.poll_request(at).unwrap();
    answer(&mut up, &status, 404, "");
    // An older file may hold the name under `replace`: reading it would prove nothing.
    assert_eq!(
        events(&mut up).pop(),
        Some(Event::Failed(UploadError::CompletionUnconfirmed {
            destination: Destination::DriveItem,
            size: 10
        }))
    );
}

#[test]
fn a_name_conflict_survives_a_resume() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &put,
        409,
        r#"{"error":{"code":"nameAlreadyExists"}}"#,
    );
    assert_eq!(up.state(), State::NameConflict);
    let checkpoint = up.checkpoint();
    assert_eq!(checkpoint.stage(), &Stage::NameConflict);
    assert_eq!(checkpoint.protocol(), Protocol::GraphUploadSession);
    let mut resumed = Upload::resume(checkpoint, Instant::ZERO).unwrap();
    let status = resumed.poll_request(Instant::ZERO).unwrap();
    answer(&mut resumed, &status, 200, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(
        resumed.state(),
        State::NameConflict,
        "not mistaken for a finished upload"
    );
    assert_eq!(events(&mut resumed).pop(), Some(Event::NameConflict));
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

#[test]
fn a_409_on_the_last_print_or_mail_fragment_is_a_refusal_not_a_name_conflict() {
    let targets = [
        Target::PrintDocument(PrintDocument::new("d.pdf", "application/pdf")),
        Target::MailAttachment(MailAttachment::new("a.pdf")),
    ];
    for target in targets {
        let config = UploadConfig::new(target.clone(), 10);
        let mut up =
            Upload::create("https://g/x/createUploadSession", config, Instant::ZERO).unwrap();
        let create = up.poll_request(Instant::ZERO).unwrap();
        answer(&mut up, &create, 200, SESSION);
        let put = up.poll_request(Instant::ZERO).unwrap();
        answer(&mut up, &put, 409, r#"{"error":{"code":"conflict"}}"#);
        let error = UploadError::Rejected {
            during: RequestKind::Fragment,
            status: 409,
            code: Some("conflict".into()),
        };
        assert_eq!(
            events(&mut up).pop(),
            Some(Event::Failed(error.clone())),
            "{target:?}"
        );
        assert!(
            error.to_string().contains("print job or message"),
            "{error}"
        );
    }
}

#[test]
fn a_completion_never_prints_or_persists_the_download_link() {
    let mut up = created(10);
    let put = up.poll_request(Instant::ZERO).unwrap();
    let item = r#"{"id":"01ABC","name":"a.bin","size":10,"@microsoft.graph.downloadUrl":"https://dl.example/x?tempauth=SECRET","file":{"hashes":{}}}"#;
    answer(&mut up, &put, 201, item);
    let events = events(&mut up);
    let Some(Event::Completed(done)) = events.last() else {
        panic!("{events:?}")
    };
    // The caller gets the whole item...
    assert_eq!(done.item.as_deref(), Some(item));
    // ...but nothing prints the pre-authenticated link.
    let printed = format!("{events:?} {up:?} {:?} {done:?}", up.checkpoint());
    assert!(!printed.contains("SECRET"), "{printed}");
    assert!(printed.contains("01ABC"), "{printed}");
    // A checkpoint does not need it, so it does not keep it.
    let bytes = up.checkpoint().to_bytes();
    assert!(!alloc::string::String::from_utf8_lossy(&bytes).contains("SECRET"));
    let mut resumed =
        Upload::resume(Checkpoint::from_bytes(&bytes).unwrap(), Instant::ZERO).unwrap();
    let Some(Event::Completed(again)) = resumed.poll_event() else {
        panic!()
    };
    let kept = again.item.unwrap();
    assert!(kept.contains("01ABC") && kept.contains("hashes"), "{kept}");
    assert!(!kept.to_ascii_lowercase().contains("downloadurl"), "{kept}");
}

/// A deferred upload of 10 bytes whose session expires at `expires` (server clock = caller's),
/// all bytes stored, waiting for the commit.
fn pending_commit(expires: &str) -> Upload {
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new().deferred()), 10);
    config.fragment_size = FragmentSizing::Fixed(CHUNK);
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let anchor = crate::time::UnixTime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    up.set_wall_clock(crate::time::WallClock::new(Instant::ZERO, anchor));
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    let body = format!(r#"{{"expirationDateTime":"{expires}","nextExpectedRanges":[]}}"#);
    answer(&mut up, &put, 202, &body);
    assert_eq!(up.state(), State::CommitPending);
    let _ = events(&mut up);
    up
}

#[test]
fn commands_take_the_time_and_act_on_an_expired_session() {
    // Ten minutes of life, less the 10 s margin.
    let late = Instant::from_millis(600_000);
    let mut up = pending_commit("2026-01-01T00:10:00Z");
    let refused = up.commit(late).unwrap_err();
    assert_eq!(
        refused,
        UploadError::WrongState {
            command: "commit",
            state: State::Failed
        }
    );
    assert_eq!(
        events(&mut up),
        [
            Event::SessionLost {
                cause: SessionLossCause::Expired,
                starting_over: false
            },
            Event::Failed(UploadError::UncommittedSessionLost {
                cause: SessionLossCause::Expired,
                name_conflict: false
            })
        ]
    );
    // In time, the commit goes out.
    let mut up = pending_commit("2026-01-01T00:10:00Z");
    up.commit(Instant::from_millis(60_000)).unwrap();
    let commit = up.poll_request(Instant::from_millis(60_000)).unwrap();
    assert_eq!(
        (commit.method, commit.kind),
        (Method::Post, RequestKind::Commit)
    );
    // Cancelling an expired session sends nothing into it.
    let mut up = pending_commit("2026-01-01T00:10:00Z");
    up.cancel(late).unwrap();
    assert_eq!(events(&mut up), [Event::Cancelled]);
    assert!(up.poll_request(late).is_none());
}

#[test]
fn verification_says_how_many_bytes_it_could_check() {
    let mut up = created(3 * CHUNK);
    let first = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(first.id, crc32fast::hash(&[7; CHUNK as usize]));
    answer(
        &mut up,
        &first,
        202,
        r#"{"nextExpectedRanges":["327680-"]}"#,
    );
    // The transport forgets to report the second fragment's CRC.
    let second = up.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut up,
        &second,
        202,
        r#"{"nextExpectedRanges":["655360-"]}"#,
    );
    let crc_of = |r: ByteRange| Ok::<_, ()>(crc32fast::hash(&alloc::vec![7; r.len() as usize]));
    let verified = up.checkpoint().verify(3 * CHUNK, crc_of).unwrap();
    assert_eq!(
        verified,
        Verified {
            checked_bytes: CHUNK,
            confirmed_bytes: 2 * CHUNK
        }
    );
    assert!(!verified.is_complete());
    assert_eq!(verified.unchecked_bytes(), CHUNK);
}

/// Encodes `json` as a checkpoint file with a correct CRC, as a tampering tool would.
fn encode(json: &str) -> Vec<u8> {
    let mut out = format!(
        "resumable-checkpoint 1 {:08x}\n",
        crc32fast::hash(json.as_bytes())
    )
    .into_bytes();
    out.extend_from_slice(json.as_bytes());
    out
}

#[test]
fn an_inconsistent_checkpoint_is_malformed() {
    let mut up = created(3 * CHUNK);
    let put = up.poll_request(Instant::ZERO).unwrap();
    up.record_fragment_crc(put.id, 1);
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":["327680-"]}"#);
    let bytes = up.checkpoint().to_bytes();
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
    let json = core::str::from_utf8(&bytes[newline + 1..]).unwrap();
    assert!(
        Checkpoint::from_bytes(&encode(json)).is_ok(),
        "the encoding round-trips"
    );
    let total = 3 * CHUNK;
    let cases = [
        // The fingerprint's size is not the file's.
        json.replacen(&format!(r#""size":{total}"#), r#""size":5"#, 1),
        // A confirmed range past the end of the file.
        json.replacen(
            r#""confirmed":[[0,327680]]"#,
            r#""confirmed":[[0,9999999]]"#,
            1,
        ),
        // A fingerprinted fragment past the end of the file.
        json.replacen(r#""range":[0,327680]"#, r#""range":[0,9999999]"#, 1),
    ];
    for case in cases {
        assert_ne!(case, json, "the case edits the checkpoint");
        assert_eq!(
            Checkpoint::from_bytes(&encode(&case)),
            Err(CheckpointError::Malformed),
            "{case}"
        );
    }
}

#[test]
fn bytes_found_missing_after_a_commit_pending_resume_are_uploaded_like_any_others() {
    // Persisted while waiting for a commit; on resume the server says it lacks bytes after all.
    let mut config = UploadConfig::new(Target::DriveItem(DriveItem::new().deferred()), 10);
    config.session.not_found_retries = 0;
    let mut up = Upload::create(CREATE, config, Instant::ZERO).unwrap();
    let create = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &create, 200, SESSION);
    let put = up.poll_request(Instant::ZERO).unwrap();
    answer(&mut up, &put, 202, r#"{"nextExpectedRanges":[]}"#);
    assert_eq!(up.state(), State::CommitPending);
    let mut resumed = Upload::resume(up.checkpoint(), Instant::ZERO).unwrap();
    let status = resumed.poll_request(Instant::ZERO).unwrap();
    answer(
        &mut resumed,
        &status,
        200,
        r#"{"nextExpectedRanges":["5-"]}"#,
    );
    assert_eq!(resumed.state(), State::Uploading);
    // The session dies under the missing bytes: nothing waited for the caller, and nothing
    // could have finished the upload, so a new session starts.
    let put = resumed.poll_request(Instant::ZERO).unwrap();
    answer(&mut resumed, &put, 404, "");
    assert_eq!(resumed.state(), State::CreatingSession);
    assert!(events(&mut resumed).contains(&Event::SessionLost {
        cause: SessionLossCause::NotFound,
        starting_over: true
    }));
}
