//! The simple upload against a model of servers, honest and lying: it completes only on an
//! item proven to be the source, retries what may be retried, and reads the item back when an
//! answer leaves it unsure.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;
use crate::digest::stored::{HashKind, Mismatch};
use crate::graph::State;
use crate::http::{Auth, Body, Method, Request, RequestKind, Response, TransportError};
use crate::retry::GiveUp;
use crate::session::{Driven, StateMachine, Transfer};
use crate::time::{Duration, Instant};

const URL: &str = "https://graph.microsoft.com/v1.0/me/drive/root:/docs/a.bin:/content";

/// The source: `total` bytes of a simple pattern.
fn source(total: u64) -> Vec<u8> {
    (0..total).map(|i| (i % 251) as u8).collect()
}

fn item(size: u64, quick_xor: &str) -> String {
    format!(
        r#"{{"id":"01ITEM","name":"a.bin","size":{size},"file":{{"hashes":{{"quickXorHash":"{quick_xor}"}}}}}}"#
    )
}

/// The item an honest service answers for `bytes`.
fn honest(bytes: &[u8]) -> String {
    item(
        bytes.len() as u64,
        SourceHashes::of(bytes).quick_xor_base64().as_str(),
    )
}

fn upload(total: u64, conflict: ConflictBehavior) -> SimpleUpload {
    let config = SimpleConfig::new(total).on_conflict(conflict);
    SimpleUpload::new(URL, config, Instant::ZERO).unwrap()
}

fn events(up: &mut SimpleUpload) -> Vec<Event> {
    core::iter::from_fn(|| up.poll_event()).collect()
}

/// Hands in the source's hashes if the machine waits for them, as the driver loop does.
fn settle(up: &mut SimpleUpload, now: Instant, bytes: &[u8]) {
    if up.awaits_source_hashes() {
        up.give_source_hashes(now, Some(SourceHashes::of(bytes)));
    }
}

fn failed(up: &mut SimpleUpload) -> UploadError {
    match events(up).pop() {
        Some(Event::Failed(error)) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn completed(up: &mut SimpleUpload) -> Completion {
    match events(up).pop() {
        Some(Event::Completed(done)) => done,
        other => panic!("expected a completion, got {other:?}"),
    }
}

fn put(up: &mut SimpleUpload, now: Instant) -> Request {
    let request = up.poll_request(now).expect("a PUT is due");
    assert_eq!(request.kind, RequestKind::SimpleUpload);
    assert_eq!((request.method, request.auth), (Method::Put, Auth::Bearer));
    assert!(up.poll_request(now).is_none(), "one request at a time");
    request
}

/// Runs out the retry wait and returns the next request.
fn after_wait(up: &mut SimpleUpload, now: &mut Instant) -> Request {
    *now = up.poll_timeout().expect("a retry is scheduled");
    up.handle_timeout(*now);
    up.poll_request(*now).expect("the retry goes out")
}

#[test]
fn the_whole_file_goes_in_one_put_and_a_proven_item_completes() {
    for total in [0, 1, 327_680, 3_999_999, 4_000_000] {
        let bytes = source(total);
        let mut up = upload(total, ConflictBehavior::Replace);
        let request = put(&mut up, Instant::ZERO);
        match total {
            0 => assert_eq!(request.body, Body::Empty),
            _ => assert_eq!(request.body.len(), total),
        }
        assert_eq!(
            request.url.expose(),
            format!("{URL}?@microsoft.graph.conflictBehavior=replace")
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/octet-stream")
        );
        let answer = Response::new(201).with_body(honest(&bytes));
        up.handle_response(Instant::ZERO, request.id, answer);
        assert_eq!(up.state(), State::Verifying);
        settle(&mut up, Instant::ZERO, &bytes);
        assert!(up.is_finished());
        let done = completed(&mut up);
        assert_eq!(done.status, 201);
        assert_eq!(
            done.verification.to_string(),
            "size and quickXorHash checked"
        );
        assert_eq!(up.confirmed_source_bytes(), total);
        assert!(up.poll_request(Instant::ZERO).is_none());
        assert!(up.poll_timeout().is_none());
    }
}

#[test]
fn a_file_over_the_cutoff_is_refused() {
    let refused = SimpleUpload::new(URL, SimpleConfig::new(4_000_001), Instant::ZERO).unwrap_err();
    assert_eq!(
        refused,
        UploadError::Config(crate::graph::ConfigError::TooLargeForSimpleUpload {
            total: 4_000_001,
            max: 4_000_000
        })
    );
    assert!(refused.to_string().contains("upload session"));
    let mut config = SimpleConfig::new(10_000_000);
    config.cutoff = 10_000_000;
    assert!(SimpleUpload::new(URL, config, Instant::ZERO).is_ok());
}

#[test]
fn a_lying_service_never_completes() {
    let bytes = source(1000);
    let other = SourceHashes::of(&[0u8; 1000]);
    let lies = [
        (
            item(999, SourceHashes::of(&bytes).quick_xor_base64().as_str()),
            "size",
        ),
        (item(1000, other.quick_xor_base64().as_str()), "hash"),
    ];
    for (body, what) in lies {
        let mut up = upload(1000, ConflictBehavior::Replace);
        let request = put(&mut up, Instant::ZERO);
        up.handle_response(
            Instant::ZERO,
            request.id,
            Response::new(201).with_body(body),
        );
        settle(&mut up, Instant::ZERO, &bytes);
        let error = failed(&mut up);
        let UploadError::StoredFileDiffers { mismatch, .. } = &error else {
            panic!("{what}: {error:?}");
        };
        match what {
            "size" => assert_eq!(
                *mismatch,
                Mismatch::Size {
                    source: 1000,
                    stored: 999
                }
            ),
            _ => assert!(matches!(
                mismatch,
                Mismatch::Hash {
                    kind: HashKind::QuickXor,
                    ..
                }
            )),
        }
        assert!(error.to_string().contains("NOT complete"), "{error}");
    }
}

#[test]
fn a_2xx_without_an_item_reads_the_item_back_and_trusts_only_proof() {
    let bytes = source(10);
    // The item read back is this source: completed, on the lookup's word.
    let mut up = upload(10, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(Instant::ZERO, request.id, Response::new(200));
    let lookup = up.poll_request(Instant::ZERO).expect("a lookup");
    assert_eq!(
        (lookup.method, lookup.kind),
        (Method::Get, RequestKind::FetchResource)
    );
    assert_eq!(
        lookup.url.expose(),
        "https://graph.microsoft.com/v1.0/me/drive/root:/docs/a.bin:"
    );
    up.handle_response(
        Instant::ZERO,
        lookup.id,
        Response::new(200).with_body(honest(&bytes)),
    );
    settle(&mut up, Instant::ZERO, &bytes);
    assert_eq!(completed(&mut up).status, 200);

    // Not JSON, then nothing there: a clear failure.
    let mut up = upload(10, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(200).with_body("<html>ok</html>"),
    );
    let lookup = up.poll_request(Instant::ZERO).unwrap();
    up.handle_response(Instant::ZERO, lookup.id, Response::new(404));
    assert_eq!(
        failed(&mut up),
        UploadError::StoredFileDiffers {
            destination: crate::graph::TargetKind::DriveItem,
            mismatch: Mismatch::Unreadable
        }
    );

    // An item read back without any hash proves nothing.
    let mut up = upload(10, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(201).with_body("{}"),
    );
    let lookup = up.poll_request(Instant::ZERO).unwrap();
    up.handle_response(
        Instant::ZERO,
        lookup.id,
        Response::new(200).with_body(r#"{"size":10}"#),
    );
    assert!(matches!(
        failed(&mut up),
        UploadError::StoredFileDiffers {
            mismatch: Mismatch::NotProven,
            ..
        }
    ));

    // Under rename the file may have another name: no lookup, a failure.
    let mut up = upload(10, ConflictBehavior::Rename);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(Instant::ZERO, request.id, Response::new(201));
    assert!(up.poll_request(Instant::ZERO).is_none());
    assert!(matches!(
        failed(&mut up),
        UploadError::StoredFileDiffers { .. }
    ));
}

#[test]
fn an_item_without_hashes_completes_on_its_size_alone_when_it_answers_the_put() {
    let mut up = upload(10, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(201).with_body(r#"{"size":10}"#),
    );
    let done = completed(&mut up);
    assert_eq!(
        done.verification.to_string(),
        "size checked, no hash returned"
    );
}

#[test]
fn under_fail_a_409_after_a_lost_answer_is_maybe_ours() {
    let bytes = source(500);
    let lost_then_409 = |lookup_answer: Response| {
        let mut up = upload(500, ConflictBehavior::Fail);
        let mut now = Instant::ZERO;
        let first = put(&mut up, now);
        assert!(first.url.expose().ends_with("conflictBehavior=fail"));
        up.handle_transport_error(now, first.id, TransportError::ConnectionLost);
        assert!(up.may_have_stored());
        assert!(matches!(
            events(&mut up).pop(),
            Some(Event::RetryScheduled { .. })
        ));
        let again = after_wait(&mut up, &mut now);
        assert_eq!(again.kind, RequestKind::SimpleUpload);
        let conflict = Response::new(409)
            .with_body(r#"{"error":{"code":"nameAlreadyExists","message":"taken"}}"#);
        up.handle_response(now, again.id, conflict);
        let lookup = up.poll_request(now).expect("the item is read back");
        assert_eq!(lookup.method, Method::Get);
        up.handle_response(now, lookup.id, lookup_answer);
        settle(&mut up, now, &bytes);
        up
    };
    let mut ours = lost_then_409(Response::new(200).with_body(honest(&bytes)));
    assert_eq!(completed(&mut ours).status, 200);
    let theirs = item(
        500,
        SourceHashes::of(&[1u8; 500]).quick_xor_base64().as_str(),
    );
    let mut theirs = lost_then_409(Response::new(200).with_body(theirs));
    assert_eq!(
        failed(&mut theirs),
        UploadError::Rejected {
            during: RequestKind::SimpleUpload,
            status: 409,
            code: Some("nameAlreadyExists".into()),
            message: Some("taken".into()),
        }
    );

    // A 409 at the first request is read back too (an earlier run may have stored this very
    // file): ours completes, another file is the name taken, plainly.
    for (answer, ours) in [
        (Response::new(200).with_body(honest(&bytes)), true),
        (
            Response::new(200).with_body(item(
                500,
                SourceHashes::of(&[2u8; 500]).quick_xor_base64().as_str(),
            )),
            false,
        ),
    ] {
        let mut up = upload(500, ConflictBehavior::Fail);
        let request = put(&mut up, Instant::ZERO);
        up.handle_response(Instant::ZERO, request.id, Response::new(409));
        let lookup = up
            .poll_request(Instant::ZERO)
            .expect("the item is read back");
        assert_eq!(lookup.method, Method::Get);
        up.handle_response(Instant::ZERO, lookup.id, answer);
        settle(&mut up, Instant::ZERO, &bytes);
        if ours {
            assert_eq!(completed(&mut up).status, 200);
        } else {
            let error = failed(&mut up);
            assert!(matches!(error, UploadError::Rejected { status: 409, .. }));
            assert!(error.to_string().contains("name is taken"), "{error}");
        }
    }
}

#[test]
fn under_replace_the_retry_after_a_lost_answer_is_the_same_request() {
    let bytes = source(64);
    let mut up = upload(64, ConflictBehavior::Replace);
    let mut now = Instant::ZERO;
    let first = put(&mut up, now);
    up.handle_transport_error(now, first.id, TransportError::Timeout);
    let again = after_wait(&mut up, &mut now);
    assert_eq!(
        (again.url.expose(), again.body.len()),
        (first.url.expose(), 64)
    );
    up.handle_response(now, again.id, Response::new(200).with_body(honest(&bytes)));
    settle(&mut up, now, &bytes);
    assert_eq!(completed(&mut up).status, 200);
}

#[test]
fn server_error_storms_retry_within_the_budget_then_give_up() {
    let mut up = upload(100, ConflictBehavior::Replace);
    let mut now = Instant::ZERO;
    let mut request = put(&mut up, now);
    let mut retries = 0;
    loop {
        up.handle_response(now, request.id, Response::new(503));
        if up.is_finished() {
            break;
        }
        retries += 1;
        request = after_wait(&mut up, &mut now);
    }
    assert_eq!(retries, crate::retry::RetryPolicy::default().max_attempts);
    let error = failed(&mut up);
    assert!(
        matches!(
            error,
            UploadError::GaveUp {
                during: RequestKind::SimpleUpload,
                reason: GiveUp::BudgetExhausted { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(up.may_have_stored());
}

#[test]
fn retry_after_is_never_undercut() {
    let bytes = source(3);
    let mut up = upload(3, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    let throttled = Response::new(429).with_header("Retry-After", "120");
    up.handle_response(Instant::ZERO, request.id, throttled);
    assert!(
        !up.may_have_stored(),
        "a 429 is refused before anything is done"
    );
    let Some(Event::RetryScheduled { delay, .. }) = events(&mut up).pop() else {
        panic!("a retry");
    };
    assert!(delay >= Duration::from_secs(120));
    assert_eq!(up.state(), State::WaitingToRetry);
    assert!(up.poll_request(Instant::from_millis(119_999)).is_none());
    let mut now = Instant::ZERO;
    let again = after_wait(&mut up, &mut now);
    assert!(now >= Instant::from_millis(120_000));
    up.handle_response(now, again.id, Response::new(201).with_body(honest(&bytes)));
    settle(&mut up, now, &bytes);
    assert_eq!(completed(&mut up).status, 201);
}

#[test]
fn refusals_fail_at_once_with_what_to_do() {
    for (status, advice) in [
        (401, "access token"),
        (403, "permissions"),
        (404, "does not exist"),
        (413, "too large"),
        (507, "drive is full"),
    ] {
        let mut up = upload(3, ConflictBehavior::Replace);
        let request = put(&mut up, Instant::ZERO);
        up.handle_response(Instant::ZERO, request.id, Response::new(status));
        let error = failed(&mut up);
        assert!(error.to_string().contains(advice), "{status}: {error}");
        assert!(error.to_string().contains("in one request"), "{error}");
    }
}

#[test]
fn the_source_unreadable_ends_the_upload() {
    let mut up = upload(3, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_transport_error(Instant::ZERO, request.id, TransportError::SourceRead);
    assert_eq!(failed(&mut up), UploadError::SourceRead);

    let mut up = upload(3, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(201).with_body(honest(b"abc")),
    );
    up.give_source_hashes(Instant::ZERO, None);
    assert_eq!(failed(&mut up), UploadError::SourceRead);
}

#[test]
fn an_item_with_only_sha256_asks_for_the_sources_sha256() {
    let bytes = source(5);
    let sha = crate::digest::stored::hex(&SourceHashes::of(&bytes).sha256.unwrap());
    let body = format!(r#"{{"size":5,"file":{{"hashes":{{"sha256Hash":"{sha}"}}}}}}"#);
    let mut up = upload(5, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(201).with_body(body),
    );
    assert!(up.awaits_source_hashes());
    assert!(up.wanted_hash_kinds().sha256);
    settle(&mut up, Instant::ZERO, &bytes);
    assert_eq!(
        completed(&mut up).verification.to_string(),
        "size and sha256Hash checked"
    );
}

#[test]
fn cancelling_sends_nothing_more_and_ignores_late_answers() {
    let mut up = upload(3, ConflictBehavior::Replace);
    let request = put(&mut up, Instant::ZERO);
    up.cancel(Instant::ZERO).unwrap();
    up.handle_response(
        Instant::ZERO,
        request.id,
        Response::new(201).with_body(honest(b"abc")),
    );
    assert_eq!(events(&mut up), [Event::Cancelled]);
    assert!(up.poll_request(Instant::ZERO).is_none());
    assert!(up.cancel(Instant::ZERO).is_err());
    const { assert!(!SimpleUpload::CANCEL_DELETES_SESSION) };
}

#[test]
fn the_conflict_behaviour_joins_an_existing_query() {
    let up = SimpleUpload::new(
        "https://g/v1.0/drives/d/items/P:/x.txt:/content?a=1",
        SimpleConfig::new(1).on_conflict(ConflictBehavior::Rename),
        Instant::ZERO,
    );
    let mut up = up.unwrap();
    let request = up.poll_request(Instant::ZERO).unwrap();
    assert_eq!(
        request.url.expose(),
        "https://g/v1.0/drives/d/items/P:/x.txt:/content?a=1&@microsoft.graph.conflictBehavior=rename"
    );
}
