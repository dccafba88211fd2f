//! The Graph [`SimpleUpload`] fed hostile answers: any status, items of other sizes and
//! hashes, bodies that are not JSON, `Retry-After` in both forms, lost connections. It must
//! complete only on an item proven to be the source, never undercut a `Retry-After`, keep at
//! most one request in flight, and stop sending once it ends.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::digest::stored::{StoredItem, check_hash};
use crate::graph::{ConflictBehavior, Event, SimpleConfig, SimpleUpload};
use crate::http::{Auth, Body, Method, Request, RequestKind, Response, TransportError};
use crate::session::{Driven, StateMachine};
use crate::time::{Duration, Instant};

use super::Choices;
use super::graph::{item_body, source_hashes};

const URLS: [&str; 3] = [
    "https://graph.microsoft.com/v1.0/me/drive/root:/docs/a.bin:/content",
    "https://graph.microsoft.com/v1.0/drives/d/items/P:/a.bin:/content?x=1",
    "https://graph.microsoft.com/v1.0/drives/d/items/01ITEM/content",
];

/// An answer to `request`: a status, maybe a `Retry-After`, and a body. Returns it with the
/// wait its `Retry-After` asks for (delta-seconds only; a date is placed by the clock).
fn reply(choices: &mut Choices<'_>, request: &Request, total: u64) -> (Response, Duration) {
    let status = choices.pick(&[
        200, 201, 200, 201, 202, 204, 400, 401, 404, 409, 409, 412, 413, 416, 429, 500, 502, 503,
        504, 507,
    ]);
    let body: String = match choices.byte() % 6 {
        0..=2 => item_body(choices, total),
        3 => String::new(),
        4 => "<html>done</html>".into(),
        _ => r#"{"error":{"code":"nameAlreadyExists","message":"taken"}}"#.into(),
    };
    let mut response = Response::new(status).with_body(body);
    let mut asked = Duration::ZERO;
    match choices.byte() % 8 {
        0 => {
            let secs = u64::from(choices.byte() % 200);
            asked = Duration::from_secs(secs);
            response = response.with_header("Retry-After", format!("{secs}"));
        }
        1 => response = response.with_header("Retry-After", "Thu, 01 Jan 2026 00:00:30 GMT"),
        _ => {}
    }
    let _ = request;
    (response, asked)
}

/// `Completed` only for an item of the source's size whose every hash is the source's.
fn assert_proven(done: &crate::graph::Completion, total: u64) {
    let item = done.item.as_deref().expect("a completion names its item");
    let stored = StoredItem::parse_graph(item).expect("a completed item is readable");
    assert_eq!(stored.size, Some(total), "completed with another size");
    for (kind, value) in &stored.hashes {
        assert!(
            check_hash(*kind, value, &source_hashes(total)).is_ok(),
            "completed with another {kind}"
        );
    }
    assert!(done.verification.size);
    assert_eq!(done.verification.hashes.len(), stored.hashes.len());
}

/// Checks what the machine sends: the whole file in one bearer `PUT` with the conflict
/// behaviour, or a bearer `GET` of the item.
fn check_request(request: &Request, total: u64, conflict: ConflictBehavior) {
    assert_eq!(request.auth, Auth::Bearer);
    match request.kind {
        RequestKind::SimpleUpload => {
            assert_eq!(request.method, Method::Put);
            assert_eq!(request.body.len(), total);
            if total == 0 {
                assert_eq!(request.body, Body::Empty);
            }
            let query = format!("@microsoft.graph.conflictBehavior={conflict}");
            assert!(request.url.expose().ends_with(&query));
        }
        RequestKind::FetchResource => {
            assert_eq!((request.method, request.body.len()), (Method::Get, 0));
            assert!(!request.url.expose().contains("/content"));
        }
        other => panic!("unexpected request {other:?}"),
    }
}

/// The simple upload against a hostile service; returns whether it completed.
pub fn simple_upload_hostile_answers(data: &[u8]) -> bool {
    let mut choices = Choices(data);
    let total = choices.pick(&[0u64, 1, 5, 327_680, 4_000_000]);
    let conflict = choices.pick(&[
        ConflictBehavior::Fail,
        ConflictBehavior::Replace,
        ConflictBehavior::Rename,
    ]);
    let url = choices.pick(&URLS);
    let mut config = SimpleConfig::new(total).on_conflict(conflict);
    config.seed = u64::from(choices.byte());
    let mut upload = SimpleUpload::new(url, config, Instant::ZERO).expect("within the cutoff");
    let mut now = Instant::ZERO;
    let mut outstanding: Vec<Request> = Vec::new();
    let mut asked = Duration::ZERO;
    let mut not_before = Instant::ZERO;
    let mut completed = false;
    for _ in 0..500 {
        if upload.is_finished() || choices.is_empty() {
            break;
        }
        if choices.one_in(40) {
            let _ = upload.cancel(now);
        }
        while let Some(request) = upload.poll_request(now) {
            assert!(now >= not_before, "sent before the retry time");
            check_request(&request, total, conflict);
            outstanding.push(request);
            assert!(outstanding.len() <= 1, "more than one request in flight");
        }
        if let Some(request) = outstanding.pop() {
            now += Duration::from_millis(u64::from(choices.byte()) * 100);
            asked = Duration::ZERO;
            match choices.byte() % 10 {
                0 => upload.handle_transport_error(now, request.id, TransportError::Timeout),
                1 => upload.handle_transport_error(now, request.id, TransportError::ConnectionLost),
                2 => upload.handle_transport_error(now, request.id, TransportError::Connect),
                _ => {
                    let (answer, wait) = reply(&mut choices, &request, total);
                    asked = wait;
                    upload.handle_response(now, request.id, answer);
                }
            }
        } else if upload.awaits_source_hashes() {
            let hashes = (!choices.one_in(16)).then(|| source_hashes(total));
            upload.give_source_hashes(now, hashes);
        } else if let Some(deadline) = upload.poll_timeout() {
            now = now.max(deadline);
            upload.handle_timeout(now);
        } else if !upload.is_finished() {
            panic!("stalled in {}", upload.state());
        }
        while let Some(event) = upload.poll_event() {
            match event {
                Event::Completed(done) => {
                    assert_proven(&done, total);
                    completed = true;
                }
                Event::RetryScheduled { at, delay, .. } => {
                    assert!(delay >= asked, "waits {delay:?} where {asked:?} was asked");
                    not_before = not_before.max(at);
                }
                _ => {}
            }
        }
    }
    if upload.is_finished() {
        assert!(
            upload.poll_request(now).is_none(),
            "a request after the end"
        );
        assert!(upload.poll_timeout().is_none(), "a deadline after the end");
    }
    completed
}

#[cfg(test)]
mod tests {
    /// Thousands of pseudo-random services, deterministically: what the fuzzer explores, in
    /// every `cargo test`.
    #[test]
    fn random_services_never_make_a_false_completion() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut completions = 0;
        for _ in 0..3_000 {
            let len = 8 + (state >> 58) as usize;
            let data: alloc::vec::Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            completions += usize::from(super::simple_upload_hostile_answers(&data));
        }
        // The services are hostile, not hopeless: some uploads get through.
        assert!(completions > 100, "only {completions} completions");
    }
}
