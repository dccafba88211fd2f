//! The tus dialect against scripted servers: honest ones, and ones that lie.

use alloc::string::String;
use alloc::vec::Vec;

use crate::digest::DigestAlgorithm;
use crate::graph::SourceNow;
use crate::http::{Method, Request, Response, TransportError};
use crate::range::ByteRange;
use crate::retry::RetryPolicy;
use crate::session::{Driven, Resumption, StateMachine, Transfer, Violation};
use crate::time::{Duration, Instant, UnixTime, WallClock};

use super::*;

const ENDPOINT: &str = "http://tus.test/files/";

struct Run {
    upload: TusUpload,
    now: Instant,
    events: Vec<TusEvent>,
}

impl Run {
    fn new(config: TusConfig) -> Self {
        Run::of(TusUpload::create(config, Instant::ZERO).unwrap())
    }

    fn of(mut upload: TusUpload) -> Self {
        upload.anchor(WallClock::new(
            Instant::ZERO,
            UnixTime::from_secs(1_800_000_000),
        ));
        Run {
            upload,
            now: Instant::ZERO,
            events: Vec::new(),
        }
    }

    /// The next request, letting time pass through retry waits.
    fn next(&mut self) -> Request {
        for _ in 0..100 {
            if let Some(request) = self.upload.poll_request(self.now) {
                self.drain();
                return request;
            }
            self.drain();
            let at = self.upload.poll_timeout().expect("a request or a timer");
            self.now = at.max(self.now);
            self.upload.handle_timeout(self.now);
        }
        panic!("no request came");
    }

    fn answer(&mut self, request: &Request, response: Response) {
        if let Some(range) = request_range(request) {
            self.upload
                .body_sent(request.id, crc_of_pattern(range), Some(self.now));
        }
        self.now = self.now.saturating_add(Duration::from_millis(10));
        self.upload.handle_response(self.now, request.id, response);
        self.drain();
    }

    fn lose(&mut self, request: &Request) {
        self.upload
            .handle_transport_error(self.now, request.id, TransportError::ConnectionLost);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(event) = self.upload.poll_event() {
            self.events.push(event);
        }
    }

    fn last(&self) -> Option<&TusEvent> {
        self.events.last()
    }

    /// OPTIONS answered with `extensions` and `algorithms`.
    fn discover(&mut self, extensions: &str, algorithms: Option<&str>) {
        let options = self.next();
        assert_eq!(options.method, Method::Options);
        assert_eq!(
            options.header("Tus-Resumable"),
            None,
            "no Tus-Resumable on OPTIONS"
        );
        let mut answer = Response::new(204)
            .with_header("Tus-Version", "1.0.0")
            .with_header("Tus-Extension", extensions);
        if let Some(algorithms) = algorithms {
            answer = answer.with_header("Tus-Checksum-Algorithm", algorithms);
        }
        self.answer(&options, answer);
    }
}

fn request_range(request: &Request) -> Option<ByteRange> {
    match request.body {
        crate::http::Body::Source(range) => Some(range),
        _ => None,
    }
}

/// The test source: byte i is `i % 251`.
fn crc_of_pattern(range: ByteRange) -> u32 {
    let bytes: Vec<u8> = (range.start()..range.end())
        .map(|i| (i % 251) as u8)
        .collect();
    crc32fast::hash(&bytes)
}

fn offset(response: Response, offset: u64) -> Response {
    response.with_header("Upload-Offset", alloc::format!("{offset}"))
}

fn config(total: u64, chunk: u64) -> TusConfig {
    let mut config = TusConfig::new(Variant::Tus1, ENDPOINT, Some(total));
    config.chunk_size = chunk;
    config.retry = RetryPolicy {
        max_attempts: 4,
        ..RetryPolicy::default()
    };
    config
}

fn completed(run: &Run) -> &TusCompletion {
    match run.last() {
        Some(TusEvent::Completed(done)) => done,
        other => panic!("not completed: {other:?}"),
    }
}

fn failed(run: &Run) -> &TusError {
    match run.last() {
        Some(TusEvent::Failed(error)) => error,
        other => panic!("not failed: {other:?}"),
    }
}

#[test]
fn an_honest_server_with_checksums_gets_every_byte_checked_and_a_verifying_head() {
    let mut run = Run::new(config(250, 100));
    run.discover(
        "creation,creation-with-upload,checksum,termination",
        Some("md5,sha1,crc32"),
    );
    let post = run.next();
    assert_eq!(post.method, Method::Post);
    assert_eq!(post.header("Tus-Resumable"), Some("1.0.0"));
    assert_eq!(post.header("Upload-Length"), Some("250"));
    assert_eq!(request_range(&post), ByteRange::new(0, 100));
    let digest = run.upload.body_digest(&post).unwrap();
    assert_eq!(digest.algorithm, DigestAlgorithm::Crc32);
    assert_eq!(digest.header, "Upload-Checksum");
    run.answer(
        &post,
        offset(
            Response::new(201).with_header("Location", "/files/abc"),
            100,
        ),
    );
    let patch = run.next();
    assert_eq!(patch.method, Method::Patch);
    assert_eq!(patch.url.expose(), "http://tus.test/files/abc");
    assert_eq!(patch.header("Upload-Offset"), Some("100"));
    assert_eq!(
        patch.header("Content-Type"),
        Some("application/offset+octet-stream")
    );
    assert!(run.upload.body_digest(&patch).is_some());
    run.answer(&patch, offset(Response::new(204), 200));
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(200, 250));
    run.answer(&patch, offset(Response::new(204), 250));
    // Offset == length is not yet the end: a HEAD proves it.
    assert!(!run.upload.is_finished());
    let head = run.next();
    assert_eq!(head.method, Method::Head);
    assert!(run.upload.body_digest(&head).is_none());
    run.answer(
        &head,
        offset(Response::new(200).with_header("Upload-Length", "250"), 250),
    );
    let done = completed(&run);
    assert_eq!(
        (done.length, done.uploads, done.checksum),
        (250, 1, Some(DigestAlgorithm::Crc32))
    );
    // The checkpoint vouches for every byte with one CRC.
    let checkpoint = run.upload.checkpoint();
    assert_eq!(checkpoint.checked_len, 250);
    assert_eq!(
        checkpoint.checked_crc,
        crc_of_pattern(ByteRange::new(0, 250).unwrap())
    );
}

#[test]
fn a_server_that_stores_fewer_bytes_than_sent_gets_the_rest_from_its_offset() {
    let mut run = Run::new(config(300, 300));
    run.discover("creation", None);
    let post = run.next();
    assert_eq!(
        request_range(&post),
        None,
        "no creation-with-upload offered"
    );
    run.answer(
        &post,
        Response::new(201).with_header("Location", "http://tus.test/files/x"),
    );
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 120));
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(120, 300));
    run.answer(&patch, offset(Response::new(204), 300));
    let head = run.next();
    run.answer(&head, offset(Response::new(200), 300));
    assert_eq!(completed(&run).checksum, None);
}

#[test]
fn an_answer_claiming_bytes_never_sent_is_a_violation_not_a_success() {
    let mut run = Run::new(config(300, 100));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 300));
    assert!(matches!(
        failed(&run),
        TusError::Violation(Violation::ClaimedUnsent { .. })
    ));
    assert!(run.upload.completion().is_none());
}

#[test]
fn a_head_claiming_bytes_never_sent_after_a_lost_answer_is_a_violation() {
    let mut run = Run::new(config(300, 100));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    run.lose(&patch);
    let head = run.next();
    assert_eq!(head.method, Method::Head, "ambiguity is resolved by asking");
    run.answer(&head, offset(Response::new(200), 300));
    assert!(matches!(
        failed(&run),
        TusError::Violation(Violation::ClaimedUnsent { .. })
    ));
}

#[test]
fn a_final_answer_at_full_length_is_checked_and_a_head_that_disagrees_sends_again() {
    let mut run = Run::new(config(100, 100));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 100));
    let head = run.next();
    // The server forgot what it confirmed.
    run.answer(&head, offset(Response::new(200), 40));
    assert!(!run.upload.is_finished());
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(40, 100));
    run.answer(&patch, offset(Response::new(204), 100));
    let head = run.next();
    run.answer(&head, offset(Response::new(200), 100));
    assert_eq!(completed(&run).length, 100);
}

#[test]
fn a_server_that_keeps_forgetting_is_given_up_on() {
    let mut run = Run::new(config(100, 100));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    for _ in 0..10 {
        let request = run.next();
        match request.method {
            Method::Patch => run.answer(&request, offset(Response::new(204), 100)),
            Method::Head => run.answer(&request, offset(Response::new(200), 0)),
            other => panic!("unexpected {other}"),
        }
        if run.upload.is_finished() {
            break;
        }
    }
    assert!(matches!(
        failed(&run),
        TusError::Violation(Violation::Regressed { .. })
    ));
}

#[test]
fn a_checksum_mismatch_sends_the_same_bytes_again() {
    let mut run = Run::new(config(200, 100));
    run.discover("creation,checksum", Some("sha1"));
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    assert_eq!(
        run.upload.body_digest(&patch).unwrap().algorithm,
        DigestAlgorithm::Sha1
    );
    run.answer(&patch, Response::new(460));
    assert!(
        run.events
            .iter()
            .any(|e| matches!(e, TusEvent::ChecksumMismatch { status: 460, .. }))
    );
    let again = run.next();
    assert_eq!(request_range(&again), request_range(&patch));
    run.answer(&again, offset(Response::new(204), 100));
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 200));
    let head = run.next();
    run.answer(&head, offset(Response::new(204), 200));
    assert_eq!(completed(&run).checksum, Some(DigestAlgorithm::Sha1));
}

#[test]
fn a_required_checksum_the_server_lacks_fails_before_any_byte() {
    let mut c = config(10, 10);
    c.checksum = ChecksumPolicy::Require(DigestAlgorithm::Sha1);
    let mut run = Run::new(c);
    run.discover("creation,checksum", Some("crc32"));
    assert!(matches!(failed(&run), TusError::NotOffered { .. }));
}

#[test]
fn a_lost_upload_starts_over_within_the_budget_then_gives_up() {
    let mut c = config(100, 50);
    c.max_new_uploads = 1;
    let mut run = Run::new(c);
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/1"),
    );
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 50));
    let patch = run.next();
    run.answer(&patch, Response::new(404));
    assert!(run.events.iter().any(|e| matches!(
        e,
        TusEvent::UploadLost {
            starting_over: true,
            ..
        }
    )));
    let post = run.next();
    assert_eq!(post.method, Method::Post);
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/2"),
    );
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(0, 50), "from 0 again");
    run.answer(&patch, Response::new(410));
    assert!(matches!(
        failed(&run),
        TusError::TooManyLosses { uploads: 2, .. }
    ));
}

#[test]
fn a_412_reports_the_servers_versions() {
    let mut run = Run::new(config(10, 10));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(412).with_header("Tus-Version", "0.2.2,0.2.1"),
    );
    assert_eq!(
        alloc::format!("{}", failed(&run)),
        "the server does not speak tus 1.0.0 (it speaks 0.2.2,0.2.1)"
    );
}

#[test]
fn a_server_error_storm_ends_within_the_budget() {
    let mut run = Run::new(config(10, 10));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    for _ in 0..50 {
        if run.upload.is_finished() {
            break;
        }
        let request = run.next();
        run.answer(&request, Response::new(503));
    }
    assert!(matches!(failed(&run), TusError::GaveUp { .. }));
}

#[test]
fn an_upload_of_another_length_is_refused() {
    let mut run = Run::new(config(100, 100));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    run.lose(&patch);
    let head = run.next();
    run.answer(
        &head,
        offset(Response::new(200).with_header("Upload-Length", "99"), 0),
    );
    assert_eq!(
        failed(&run),
        &TusError::LengthMismatch {
            total: 100,
            server: 99
        }
    );
}

#[test]
fn an_expiring_upload_is_replaced_before_it_expires() {
    let mut run = Run::new(config(100, 50));
    run.discover("creation,expiration", None);
    let post = run.next();
    // Expires 10 minutes after the anchor.
    let expires = UnixTime::from_secs(1_800_000_000 + 600).http_date();
    run.answer(
        &post,
        Response::new(201)
            .with_header("Location", "/files/1")
            .with_header("Upload-Expires", alloc::format!("{expires}")),
    );
    assert!(run.upload.expires_at().is_some());
    let patch = run.next();
    // Nothing answers until after the expiry: the answer comes late, then time passes.
    run.now = Instant::from_millis(599_000);
    run.answer(&patch, offset(Response::new(204), 50));
    let next = run.next();
    assert_eq!(
        next.method,
        Method::Post,
        "a new upload, not a PATCH into an expired one"
    );
    assert!(run.events.iter().any(|e| matches!(
        e,
        TusEvent::UploadLost {
            cause: LossCause::Expired,
            ..
        }
    )));
}

#[test]
fn the_ietf_draft_creates_empty_marks_the_last_append_and_needs_complete() {
    let mut c = TusConfig::new(Variant::Ietf(InteropVersion::V6), ENDPOINT, Some(150));
    c.chunk_size = 100;
    let mut run = Run::new(c);
    let post = run.next();
    assert_eq!(post.method, Method::Post);
    assert_eq!(post.header("Upload-Draft-Interop-Version"), Some("6"));
    assert_eq!(post.header("Upload-Complete"), Some("?0"));
    assert!(post.body.is_empty());
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/d"),
    );
    let patch = run.next();
    assert_eq!(
        patch.header("Content-Type"),
        Some("application/partial-upload")
    );
    assert_eq!(patch.header("Upload-Complete"), Some("?0"));
    run.answer(&patch, offset(Response::new(204), 100));
    let patch = run.next();
    assert_eq!(patch.header("Upload-Complete"), Some("?1"));
    run.answer(&patch, offset(Response::new(204), 150));
    let head = run.next();
    assert_eq!(head.method, Method::Head);
    // Complete claimed with fewer bytes: a violation.
    run.answer(
        &head,
        offset(Response::new(204).with_header("Upload-Complete", "?1"), 149),
    );
    assert!(matches!(
        failed(&run),
        TusError::Violation(Violation::PrematureEnd { .. })
    ));
}

#[test]
fn the_ietf_draft_completes_on_a_head_with_upload_complete() {
    let c = TusConfig::new(Variant::Ietf(InteropVersion::V8), ENDPOINT, Some(0));
    let mut run = Run::new(c);
    let post = run.next();
    assert_eq!(post.header("Upload-Draft-Interop-Version"), Some("8"));
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/d"),
    );
    let patch = run.next();
    assert_eq!(
        patch.header("Upload-Complete"),
        Some("?1"),
        "an empty last append"
    );
    run.answer(&patch, offset(Response::new(204), 0));
    let head = run.next();
    run.answer(
        &head,
        offset(Response::new(204).with_header("Upload-Complete", "?1"), 0),
    );
    assert_eq!(completed(&run).length, 0);
}

#[test]
fn the_ietf_409_carries_the_offset_to_go_on_from() {
    let mut c = TusConfig::new(Variant::Ietf(InteropVersion::V8), ENDPOINT, Some(200));
    c.chunk_size = 100;
    let mut run = Run::new(c);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/d"),
    );
    let patch = run.next();
    run.lose(&patch);
    let head = run.next();
    run.answer(&head, offset(Response::new(204), 60));
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(60, 160));
    run.answer(&patch, offset(Response::new(409), 100));
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(100, 200));
}

#[test]
fn a_deferred_length_is_declared_once_the_source_ends() {
    let mut c = TusConfig::new(Variant::Tus1, ENDPOINT, None);
    c.chunk_size = 100;
    let mut run = Run::new(c);
    run.discover("creation,creation-defer-length", None);
    let post = run.next();
    assert_eq!(post.header("Upload-Defer-Length"), Some("1"));
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    assert!(
        run.upload.poll_request(run.now).is_none(),
        "nothing to send yet"
    );
    run.upload.source_grew(150);
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(0, 100));
    assert_eq!(patch.header("Upload-Length"), None);
    run.answer(&patch, offset(Response::new(204), 100));
    run.upload.source_ended(150);
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(100, 150));
    assert_eq!(patch.header("Upload-Length"), Some("150"));
    run.answer(&patch, offset(Response::new(204), 150));
    let head = run.next();
    run.answer(
        &head,
        offset(Response::new(200).with_header("Upload-Length", "150"), 150),
    );
    assert_eq!(completed(&run).length, 150);
}

#[test]
fn a_deferred_length_needs_the_extension() {
    let mut run = Run::new(TusConfig::new(Variant::Tus1, ENDPOINT, None));
    run.discover("creation", None);
    assert!(matches!(failed(&run), TusError::NotOffered { .. }));
}

#[test]
fn cancel_deletes_where_termination_is_offered() {
    let mut run = Run::new(config(100, 50));
    run.discover("creation,termination", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let _patch = run.next();
    run.upload.cancel(run.now).unwrap();
    let delete = run.next();
    assert_eq!(delete.method, Method::Delete);
    assert_eq!(delete.header("Tus-Resumable"), Some("1.0.0"));
    run.answer(&delete, Response::new(204));
    assert_eq!(run.last(), Some(&TusEvent::Cancelled));
}

fn source(len: u64, modified: Option<u64>) -> SourceNow<impl FnMut(ByteRange) -> Result<u32, ()>> {
    SourceNow {
        len,
        modified,
        crc_of: |range| Ok(crc_of_pattern(range)),
    }
}

/// An upload stopped after 100 of 250 bytes, and its checkpoint.
fn stopped_at_100() -> Vec<u8> {
    stopped_at(250)
}

/// An upload of `total` bytes in 100-byte requests stopped after 100, and its checkpoint.
fn stopped_at(total: u64) -> Vec<u8> {
    let mut run = Run::of(
        plan_start(
            config(total, 100),
            None,
            source(total, Some(7)),
            Instant::ZERO,
        )
        .unwrap()
        .upload,
    );
    run.discover("creation,termination", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/k"),
    );
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 100));
    run.upload.checkpoint_bytes()
}

#[test]
fn a_checkpoint_resumes_with_discovery_then_a_head() {
    let stored = stopped_at_100();
    let plan = plan_start(
        config(250, 100),
        Some(&stored),
        source(250, Some(7)),
        Instant::ZERO,
    )
    .unwrap();
    assert_eq!(
        plan.resumption,
        Resumption::Resumed {
            confirmed: 100,
            unchecked: 0,
            sessions: 1
        }
    );
    let mut run = Run::of(plan.upload);
    run.discover("creation,termination", None);
    let head = run.next();
    assert_eq!(head.method, Method::Head);
    assert_eq!(head.url.expose(), "http://tus.test/files/k");
    // An earlier run's last request landed too: the server is ahead of the checkpoint.
    run.answer(&head, offset(Response::new(200), 200));
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(200, 250));
}

#[test]
fn bytes_of_the_two_requests_after_the_checkpoint_are_taken_on_resume() {
    // A transport saving in the background sends the next request while the newest
    // checkpoint is still landing: a crash then leaves the one before it on disk, with the
    // server two requests ahead. Those bytes are this source's (it was not modified).
    let stored = stopped_at(450);
    let plan = plan_start(
        config(450, 100),
        Some(&stored),
        source(450, Some(7)),
        Instant::ZERO,
    )
    .unwrap();
    let mut run = Run::of(plan.upload);
    run.discover("creation,termination", None);
    let head = run.next();
    run.answer(&head, offset(Response::new(200), 300));
    let patch = run.next();
    assert_eq!(request_range(&patch), ByteRange::new(300, 400));
}

#[test]
fn a_modified_source_does_not_trust_bytes_beyond_the_checked_prefix() {
    let stored = stopped_at_100();
    let plan = plan_start(
        config(250, 100),
        Some(&stored),
        source(250, Some(8)),
        Instant::ZERO,
    )
    .unwrap();
    let mut run = Run::of(plan.upload);
    run.discover("creation,termination", None);
    let head = run.next();
    run.answer(&head, offset(Response::new(200), 200));
    assert!(run.events.iter().any(|e| matches!(
        e,
        TusEvent::UploadLost {
            cause: LossCause::Unverifiable { held: 200 },
            starting_over: true
        }
    )));
    assert_eq!(run.next().method, Method::Post);
}

#[test]
fn a_changed_source_starts_over_and_names_the_old_upload() {
    let stored = stopped_at_100();
    let changed = SourceNow {
        len: 250,
        modified: Some(7),
        crc_of: |_| Ok::<u32, ()>(0),
    };
    let plan = plan_start(config(250, 100), Some(&stored), changed, Instant::ZERO).unwrap();
    assert!(matches!(plan.resumption, Resumption::Restarted { .. }));
    assert_eq!(
        plan.abandoned.map(|url| String::from(url.expose())),
        Some("http://tus.test/files/k".into())
    );
}

#[test]
fn a_checkpoint_of_another_endpoint_is_refused() {
    let stored = stopped_at_100();
    let mut other = config(250, 100);
    other.endpoint = crate::secret::SecretUrl::new("http://elsewhere.test/files/");
    assert!(matches!(
        plan_start(other, Some(&stored), source(250, Some(7)), Instant::ZERO),
        Err(crate::session::StartError::Refused { .. })
    ));
}

#[test]
fn the_url_never_prints_whole() {
    let mut run = Run::new(config(10, 10));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/secret-token-123"),
    );
    let text = alloc::format!("{:?} {:?}", run.upload, run.events);
    assert!(!text.contains("secret-token-123"), "{text}");
}

#[test]
fn after_a_resume_a_head_claiming_more_than_was_ever_sent_is_a_violation() {
    // The checkpoint: 100 of 450 confirmed with 100-byte requests; at most 300 were ever sent
    // (the request after the checkpoint, and the one after it while the checkpoint landed).
    let stored = stopped_at(450);
    let plan = plan_start(
        config(450, 100),
        Some(&stored),
        source(450, Some(7)),
        Instant::ZERO,
    )
    .unwrap();
    let mut run = Run::of(plan.upload);
    run.discover("creation,termination", None);
    let head = run.next();
    run.answer(&head, offset(Response::new(200), 301));
    assert!(matches!(
        failed(&run),
        TusError::Violation(Violation::ClaimedUnsent { .. })
    ));
}

#[test]
fn a_patch_answer_below_its_start_counts_as_a_regression_and_ends() {
    let mut run = Run::new(config(300, 100));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 100));
    for _ in 0..40 {
        if run.upload.is_finished() {
            break;
        }
        let request = run.next();
        match request.method {
            Method::Patch => run.answer(&request, offset(Response::new(204), 0)),
            Method::Head => run.answer(&request, offset(Response::new(200), 100)),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(matches!(
        failed(&run),
        TusError::Violation(Violation::Regressed { .. })
    ));
}

#[test]
fn an_ietf_server_that_never_calls_the_upload_complete_is_given_up_on() {
    let mut c = TusConfig::new(Variant::Ietf(InteropVersion::V8), ENDPOINT, Some(10));
    c.retry.max_attempts = 3;
    let mut run = Run::new(c);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/d"),
    );
    for _ in 0..40 {
        if run.upload.is_finished() {
            break;
        }
        let request = run.next();
        let answer = match request.method {
            Method::Patch => offset(Response::new(204), 10),
            _ => offset(Response::new(204).with_header("Upload-Complete", "?0"), 10),
        };
        run.answer(&request, answer);
    }
    assert!(matches!(failed(&run), TusError::GaveUp { .. }));
}

#[test]
fn a_limit_below_the_size_ends_the_upload_and_nothing_more_is_sent() {
    let mut run = Run::new(TusConfig::new(
        Variant::Ietf(InteropVersion::V8),
        ENDPOINT,
        Some(100),
    ));
    let post = run.next();
    run.answer(
        &post,
        Response::new(201)
            .with_header("Location", "/files/d")
            .with_header("Upload-Limit", "max-size=50"),
    );
    assert!(matches!(failed(&run), TusError::TooLarge { .. }));
    assert!(run.upload.poll_request(run.now).is_none());
    assert!(run.upload.is_finished());
}

#[test]
fn a_deferred_length_is_given_even_when_the_last_bytes_went_before_it_was_known() {
    let mut c = TusConfig::new(Variant::Tus1, ENDPOINT, None);
    c.chunk_size = 100;
    let mut run = Run::new(c);
    run.discover("creation,creation-defer-length", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    run.upload.source_grew(150);
    let first = run.next();
    run.answer(&first, offset(Response::new(204), 100));
    let second = run.next();
    assert_eq!(second.header("Upload-Length"), None, "not known yet");
    // The input ends while its last bytes are on their way.
    run.upload.source_ended(150);
    run.answer(&second, offset(Response::new(204), 150));
    let declare = run.next();
    assert_eq!(declare.method, Method::Patch, "the length is still owed");
    assert_eq!(declare.header("Upload-Length"), Some("150"));
    assert!(declare.body.is_empty());
    run.answer(&declare, offset(Response::new(204), 150));
    let head = run.next();
    run.answer(
        &head,
        offset(Response::new(200).with_header("Upload-Length", "150"), 150),
    );
    assert_eq!(completed(&run).length, 150);
}

#[test]
fn a_head_that_still_defers_the_length_does_not_complete() {
    let mut c = TusConfig::new(Variant::Tus1, ENDPOINT, None);
    c.chunk_size = 100;
    let mut run = Run::new(c);
    run.discover("creation,creation-defer-length", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    run.upload.source_ended(50);
    let patch = run.next();
    assert_eq!(patch.header("Upload-Length"), Some("50"));
    // The server ignores the length it was given.
    run.answer(&patch, offset(Response::new(204), 50));
    let head = run.next();
    run.answer(
        &head,
        offset(
            Response::new(200).with_header("Upload-Defer-Length", "1"),
            50,
        ),
    );
    assert!(!run.upload.is_finished());
    let again = run.next();
    assert_eq!(again.header("Upload-Length"), Some("50"));
}

#[test]
fn a_completed_checkpoint_with_unchecked_bytes_and_a_modified_source_uploads_again() {
    let mut run = Run::of(
        plan_start(config(250, 100), None, source(250, Some(7)), Instant::ZERO)
            .unwrap()
            .upload,
    );
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/k"),
    );
    let patch = run.next();
    // A partial store: bytes 0-49 confirmed without a CRC of their own.
    run.answer(&patch, offset(Response::new(204), 50));
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 150));
    let patch = run.next();
    run.answer(&patch, offset(Response::new(204), 250));
    let head = run.next();
    run.answer(&head, offset(Response::new(200), 250));
    completed(&run);
    let stored = run.upload.checkpoint_bytes();
    let plan = plan_start(
        config(250, 100),
        Some(&stored),
        source(250, Some(7)),
        Instant::ZERO,
    )
    .unwrap();
    assert_eq!(plan.resumption, Resumption::AlreadyCompleted);
    // The machine says so, as it would after a live completion: a transport learns the
    // outcome from that event (without it, the upload task ended with none).
    let mut done = plan.upload;
    assert!(done.is_finished());
    assert!(matches!(done.poll_event(), Some(TusEvent::Completed(_))));
    let plan = plan_start(
        config(250, 100),
        Some(&stored),
        source(250, Some(8)),
        Instant::ZERO,
    )
    .unwrap();
    assert!(matches!(plan.resumption, Resumption::Restarted { .. }));
}

#[test]
fn a_declined_retry_fails_and_keeps_the_upload_url() {
    use crate::retry::GiveUp;
    use crate::session::{Failure, RetryAttempt, Transfer};

    let mut run = Run::new(config(10, 10));
    run.discover("creation", None);
    let post = run.next();
    run.answer(
        &post,
        Response::new(201).with_header("Location", "/files/x"),
    );
    let patch = run.next();
    run.answer(&patch, Response::new(502));
    let Some(TusEvent::RetryScheduled { delay, .. }) = run.last().cloned() else {
        panic!("{:?}", run.events);
    };
    assert_eq!(
        run.upload.last_retry(),
        Some(RetryAttempt::new(1, Failure::Status(502), delay))
    );
    Transfer::decline_retry(&mut run.upload, run.now);
    run.drain();
    assert_eq!(
        failed(&run),
        &TusError::GaveUp {
            last: Failure::Status(502),
            why: GiveUp::Declined { attempt: 1 },
        }
    );
    assert!(run.upload.is_finished());
    assert!(
        run.upload.upload_url().is_some() && !run.upload.checkpoint_bytes().is_empty(),
        "the upload URL stays for a resume"
    );
}
