//! The Graph upload-session answers and the Graph [`Upload`] machine fed hostile answers.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::chunk::FragmentSizing;
use crate::digest::SourceHashes;
use crate::digest::stored::{StoredItem, check_hash};
use crate::graph::{
    Checkpoint, ConflictBehavior, DriveItem, Event, ExplicitCommit, MailAttachment, PrintDocument,
    SessionLoss, State, Target, Upload, UploadConfig,
};
use crate::http::{Auth, Body, Method, Request, RequestKind, Response, TransportError};
use crate::range::{ByteRange, ContentRange};
use crate::retry::StatusClass;
use crate::secret::SecretUrl;
use crate::session::StateMachine;
use crate::time::{Duration, Instant, UnixTime, WallClock};
use crate::wire::graph_answer::{Answer, parse_answer, service_error_code};

use super::Choices;

/// The source's hashes as the harness's transport reports them: the items it answers carry
/// these, or other ones.
pub(super) fn source_hashes(total: u64) -> SourceHashes {
    SourceHashes {
        size: total,
        quick_xor: [7; 20],
        crc32: 0x1234_5678,
        sha1: None,
        sha256: None,
    }
}

/// A finished item: mostly of the right size, with the source's QuickXorHash, another one, or
/// none.
pub(super) fn item_body(choices: &mut Choices<'_>, total: u64) -> String {
    let size = match choices.byte() % 8 {
        0 => total + 1,
        1 => 0,
        _ => total,
    };
    let hash = match choices.byte() % 3 {
        0 => String::new(),
        1 => format!(
            r#","file":{{"hashes":{{"quickXorHash":"{}"}}}}"#,
            source_hashes(total).quick_xor_base64()
        ),
        _ => r#","file":{"hashes":{"quickXorHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}"#.into(),
    };
    format!(r#"{{"id":"item","size":{size}{hash}}}"#)
}

/// `Completed` only for a file proven to be the source: an item of the source's size whose
/// every hash is the source's, after every byte went out in a session this upload made (or one
/// it took over, whose earlier bytes it cannot know).
fn assert_proven(done: &crate::graph::Completion, total: u64, sent: &[ByteRange], took_over: bool) {
    if let Some(item) = done.item.as_deref() {
        let stored = StoredItem::parse_graph(item).expect("a completed item is readable");
        assert!(
            stored.size.is_none_or(|size| size == total),
            "completed with size {:?}",
            stored.size
        );
        for (kind, value) in &stored.hashes {
            assert!(
                check_hash(*kind, value, &source_hashes(total)).is_ok(),
                "completed with another {kind}"
            );
        }
        assert_eq!(done.verification.hashes.len(), stored.hashes.len());
    }
    if !took_over {
        let mut unsent = crate::range_set::RangeSet::<64>::new(total);
        for range in sent {
            let _ = unsent.mark_received(*range);
        }
        assert!(
            unsent.is_complete() || unsent.len() >= 60,
            "completed before every byte went out"
        );
    }
}

/// Where the harness's sessions live; every URL under it carries [`TOKEN`].
const UPLOAD_ORIGIN: &str = "https://up.example/";
/// The credential in every upload URL: it must never be printed.
const TOKEN: &str = "TA-fuzz";
/// 2026-01-01T00:00:00Z: the wall clock at `Instant::ZERO`.
const WALL_ZERO: i64 = 1_767_225_600_000;

/// `parse_answer` on an arbitrary status, `Location` and body (raw, or a session object built
/// from the input): never a panic; every `nextExpectedRanges` range it returns lies inside the
/// total, ascending; the answer's kind matches the body; a service error code is short and
/// printable.
pub fn graph_answer(data: &[u8]) {
    let mut choices = Choices(data);
    let status = choices.pick(&[200, 201, 202, 204, 400, 404, 416, 500]);
    let total = match choices.byte() % 4 {
        0 => u64::MAX,
        1 => 1,
        _ => u64::from(choices.u16()) * 1000 + u64::from(choices.byte()),
    };
    let structured = choices.byte() & 1 == 0;
    let location = choices.byte() & 1 == 0;
    let body: Vec<u8> = if structured {
        session_body(&mut choices, total, None).into_bytes()
    } else {
        choices.0.to_vec()
    };
    let mut response = Response::new(status).with_body(body.clone());
    if location {
        response = response.with_header("LOCATION", "https://outlook.example/att/1");
    }
    let blank = body.iter().all(u8::is_ascii_whitespace);
    match parse_answer(&response, total) {
        Ok(Answer::Session(status)) => {
            assert!(!blank);
            let ranges = status.next_expected.unwrap_or_default();
            for range in &ranges {
                assert!(
                    range.start() < range.end() && range.end() <= total,
                    "{range:?}"
                );
            }
            assert!(ranges.windows(2).all(|w| w[0] <= w[1]), "unsorted");
        }
        Ok(Answer::Item(item)) => assert_eq!(item, String::from_utf8_lossy(&body)),
        Ok(Answer::Location(url)) => assert!(blank && location && url.starts_with("https://")),
        Ok(Answer::Empty) => assert!(blank && !location),
        Err(_) => assert!(!blank),
    }
    if let Some(code) = service_error_code(&body) {
        assert!(code.len() <= 80 && code.bytes().all(|b| b.is_ascii_graphic()));
    }
}

/// One offset picked near the interesting places of a `total`-byte file.
fn offset(choices: &mut Choices<'_>, total: u64) -> u64 {
    match choices.byte() % 8 {
        0 => 0,
        1 => total.saturating_sub(1),
        2 => total,
        3 => total / 2,
        4 => total / 327_680 * 327_680,
        5 => u64::from(choices.u16()) * 64,
        6 => total.saturating_add(u64::from(choices.byte())),
        _ => u64::from(choices.u16()) << 16 | u64::from(choices.u16()),
    }
}

/// One `nextExpectedRanges` item in one of its forms, or a hostile one.
fn range_item(choices: &mut Choices<'_>, total: u64) -> String {
    let (a, b) = (offset(choices, total), offset(choices, total));
    match choices.byte() % 10 {
        0 | 1 => format!("\"{a}-\""),
        2 | 3 => format!("\"{}-{}\"", a.min(b), a.max(b)),
        4 => format!("\"{a}\""),
        5 => format!("{a}"),
        6 => format!("\" {a}-{b} \""),
        7 => "\"18446744073709551616-\"".into(),
        8 => format!("\"{a}-,{b}-\""),
        _ => choices
            .pick(&["\"-\"", "\"\"", "\"x-y\"", "-5", "null", "[]", "1.5"])
            .into(),
    }
}

/// A session object: `uploadUrl` when given, then an expiry and the ranges in various forms.
fn session_body(choices: &mut Choices<'_>, total: u64, upload_url: Option<&str>) -> String {
    let mut fields = Vec::new();
    if let Some(url) = upload_url {
        fields.push(format!("\"uploadUrl\":\"{url}\""));
    }
    let expiry_name = choices.pick(&["expirationDateTime", "ExpirationDateTime"]);
    match choices.byte() % 6 {
        0 => {}
        1 => fields.push(format!("\"{expiry_name}\":\"yesterday\"")),
        2 => fields.push(format!("\"{expiry_name}\":17")),
        _ => {
            let minutes = i64::from(choices.byte()) - 16;
            let at = UnixTime::from_millis(WALL_ZERO + minutes * 60_000);
            fields.push(format!("\"{expiry_name}\":\"{at}\""));
        }
    }
    let ranges_name = choices.pick(&["nextExpectedRanges", "NextExpectedRanges"]);
    match choices.byte() % 8 {
        0 => {}
        1 => fields.push(format!("\"{ranges_name}\":[]")),
        2 => fields.push(format!("\"{ranges_name}\":null")),
        3 => {
            let item = range_item(choices, total);
            let item = item.trim_matches('"');
            fields.push(format!("\"{ranges_name}\":\"{item}\""));
        }
        _ => {
            let count = choices.byte() % 4 + 1;
            let items: Vec<String> = (0..count).map(|_| range_item(choices, total)).collect();
            fields.push(format!("\"{ranges_name}\":[{}]", items.join(",")));
        }
    }
    format!("{{{}}}", fields.join(","))
}

/// The Graph upload machine (drive item, print document or mail attachment) fed hostile answers
/// in any order, transport errors, timeouts and the caller's commands. Per request it must:
/// send `Content-Range` inside the file, equal to the body's range and length; never attach
/// `Authorization` to the upload URL (or to anything but the Graph API); send only to upload
/// URLs the server gave; keep at most one request in flight per session for drives and mail, and
/// at most the configured fragments for print; wait at least what a `Retry-After` asked and send
/// nothing (but a cancel's `DELETE`) before a retry it announced; never stall; send nothing once
/// finished; never print the upload URL's token; and keep a checkpoint that decodes to itself.
pub fn graph_upload_hostile_answers(data: &[u8]) {
    let mut choices = Choices(data);
    let Some((mut upload, config)) = build_upload(&mut choices) else {
        return;
    };
    let total = config.total;
    let mut harness = Harness {
        given: Vec::new(),
        outstanding: Vec::new(),
        sessions: 0,
        asked: None,
        not_before: Instant::ZERO,
    };
    if upload.upload_url().is_some() {
        harness
            .given
            .push(format!("{UPLOAD_ORIGIN}s0?tempauth={TOKEN}"));
    }
    let took_over = upload.upload_url().is_some();
    let mut sent: Vec<ByteRange> = Vec::new();
    let mut now = Instant::ZERO;
    for _ in 0..3_000 {
        if upload.is_finished() || choices.is_empty() {
            break;
        }
        harness.asked = None;
        match choices.byte() % 24 {
            0 => _ = upload.cancel(now),
            1 => _ = upload.commit(now),
            2 => _ = upload.commit_with_source_url(explicit_commit(), now),
            3 => assert_checkpoint_round_trips(&upload),
            _ => {}
        }
        while let Some(request) = upload.poll_request(now) {
            harness.check_request(&request, &config, now);
            if let Body::Source(range) = request.body {
                sent.push(range);
            }
            harness.outstanding.push(request);
        }
        if !harness.outstanding.is_empty() {
            let index = usize::from(choices.byte()) % harness.outstanding.len();
            let request = harness.outstanding.swap_remove(index);
            now += Duration::from_millis(u64::from(choices.byte()) * 250);
            match choices.byte() % 12 {
                0 => upload.handle_transport_error(now, request.id, TransportError::Timeout),
                1 => upload.handle_transport_error(now, request.id, TransportError::ConnectionLost),
                2 => upload.handle_transport_error(now, request.id, TransportError::Connect),
                _ => {
                    let answer = harness.answer(&mut choices, &request, total, now);
                    upload.handle_response(now, request.id, answer);
                }
            }
        } else if upload.is_finished() {
        } else if let Some(deadline) = upload.poll_timeout() {
            now = now.max(deadline);
            upload.handle_timeout(now);
        } else {
            match upload.state() {
                State::Verifying => upload.set_source_hashes(now, source_hashes(total)),
                State::CommitPending if choices.byte() & 1 == 0 => {
                    upload.commit(now).expect("commit pending")
                }
                State::CommitPending | State::NameConflict
                    if matches!(config.target, Target::DriveItem(_)) =>
                {
                    upload
                        .commit_with_source_url(explicit_commit(), now)
                        .expect("waiting for a commit");
                }
                State::CommitPending | State::NameConflict => {
                    upload.cancel(now).expect("waiting for the caller")
                }
                state => panic!("stalled in {state}"),
            }
        }
        while let Some(event) = upload.poll_event() {
            let printed = format!("{event:?}");
            assert!(!printed.contains(TOKEN), "{printed}");
            if let Event::Completed(done) = &event {
                assert_proven(done, total, &sent, took_over);
            }
            if let Event::RetryScheduled { at, delay, .. } = event {
                let asked = harness.asked.unwrap_or(Duration::ZERO);
                assert!(delay >= asked, "waits {delay:?} where {asked:?} was asked");
                harness.not_before = harness.not_before.max(at);
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
    assert_checkpoint_round_trips(&upload);
    let printed = format!("{upload:?} {:?}", upload.checkpoint());
    assert!(!printed.contains(TOKEN));
}

fn explicit_commit() -> ExplicitCommit {
    ExplicitCommit::new(
        "https://graph.example/v1.0/me/drive/items/p:/f.bin:",
        "f.bin",
        ConflictBehavior::Fail,
    )
}

fn assert_checkpoint_round_trips(upload: &Upload) {
    let checkpoint = upload.checkpoint();
    assert_eq!(
        Checkpoint::from_bytes(&checkpoint.to_bytes()),
        Ok(checkpoint)
    );
}

/// A target, a size, a fragment sizing and policies from the input; a new session or one made
/// elsewhere; sometimes a wall clock.
fn build_upload(choices: &mut Choices<'_>) -> Option<(Upload, UploadConfig)> {
    let target = match choices.byte() % 4 {
        0 => Target::DriveItem(DriveItem::new().named("f.bin").deferred()),
        1 => Target::PrintDocument(PrintDocument::new("f.pdf", "application/pdf")),
        2 => Target::MailAttachment(MailAttachment::new("f.pdf")),
        _ => Target::DriveItem(DriveItem::new().named("f.bin")),
    };
    let total = match choices.byte() % 4 {
        0 => u64::from(choices.byte()) + 1,
        _ => u64::from(choices.u16()) * u64::from(choices.byte() % 128 + 1) + 1,
    };
    let mut config = UploadConfig::new(target, total);
    let rule = config.target.rule();
    let size = rule.fit(u64::from(choices.u16()) * 1024);
    config.fragment_size = if choices.one_in(4) {
        FragmentSizing::Adaptive {
            initial: size,
            target: Duration::from_secs(u64::from(choices.byte() % 30) + 1),
            min: rule.alignment(),
            max: rule.max_aligned_len(),
        }
    } else {
        FragmentSizing::Fixed(size)
    };
    config.parallel_fragments = choices.byte() % 5;
    config.retry.max_attempts = u32::from(choices.byte() % 4);
    config.session.max_sessions = u32::from(choices.byte() % 3) + 1;
    config.session.not_found_retries = u32::from(choices.byte() % 3);
    config.session.on_loss = choices.pick(&[SessionLoss::StartOver, SessionLoss::Fail]);
    config.seed = u64::from(choices.byte());
    let create_url = "https://graph.example/v1.0/me/drive/root:/f.bin:/createUploadSession";
    let mut upload = match choices.byte() % 4 {
        0 => {
            let url = SecretUrl::new(format!("{UPLOAD_ORIGIN}s0?tempauth={TOKEN}"));
            Upload::continue_session(url, config.clone(), Instant::ZERO).ok()?
        }
        1 => {
            let url = SecretUrl::new(format!("{UPLOAD_ORIGIN}s0?tempauth={TOKEN}"));
            Upload::continue_session(url, config.clone(), Instant::ZERO)
                .ok()?
                .with_create_url(create_url)
        }
        _ => Upload::create(create_url, config.clone(), Instant::ZERO).ok()?,
    };
    if choices.byte() & 1 == 0 {
        upload.set_wall_clock(WallClock::new(
            Instant::ZERO,
            UnixTime::from_millis(WALL_ZERO),
        ));
    }
    Some((upload, config))
}

/// What the harness knows: the upload URLs it gave, the requests it has not answered, the wait
/// its last answer asked for and the latest retry the machine announced.
struct Harness {
    given: Vec<String>,
    outstanding: Vec<Request>,
    sessions: u32,
    asked: Option<Duration>,
    not_before: Instant,
}

impl Harness {
    fn check_request(&self, request: &Request, config: &UploadConfig, now: Instant) {
        let url = request.url.expose();
        if request.kind != RequestKind::Cancel {
            assert!(
                now >= self.not_before,
                "a request before the announced retry"
            );
        }
        assert!(
            request.header("Authorization").is_none(),
            "an Authorization header among the headers"
        );
        let to_session = url.starts_with(UPLOAD_ORIGIN);
        if to_session {
            assert_eq!(request.auth, Auth::None, "a bearer token to the upload URL");
            assert!(
                self.given.iter().any(|given| given == url),
                "a request to an upload URL the server never gave"
            );
        } else {
            assert!(url.starts_with("https://graph.example/"), "sent to {url}");
        }
        if request.kind == RequestKind::Fragment {
            assert!(to_session && request.method == Method::Put);
            let Body::Source(range) = request.body else {
                panic!("a fragment body that is not the source");
            };
            assert!(range.end() <= config.total, "a fragment past the file");
            assert!(
                range.len() <= config.target.rule().max_len(),
                "a fragment over the limit"
            );
            let header: ContentRange = request
                .header("Content-Range")
                .expect("a Content-Range")
                .parse()
                .expect("a Content-Range that parses");
            assert_eq!(header, ContentRange::new(range, config.total).unwrap());
            assert_eq!(header.range().map(|r| r.len()), Some(request.body.len()));
        }
        // Requests the machine still waits for on the same session (a DELETE may overtake
        // requests abandoned by a cancel).
        if to_session && request.kind != RequestKind::Cancel {
            let same = |r: &&Request| r.url.expose() == url && r.kind != RequestKind::Cancel;
            let busy = self.outstanding.iter().filter(same).count();
            if config.target.is_sequential() {
                assert_eq!(
                    busy, 0,
                    "two requests in flight to one drive or mail session"
                );
            } else {
                let fragments = self
                    .outstanding
                    .iter()
                    .filter(same)
                    .filter(|r| r.kind == RequestKind::Fragment)
                    .count();
                let limit = config.max_in_flight();
                assert!(fragments < limit || request.kind != RequestKind::Fragment);
                assert!(busy <= limit, "more requests in flight than print allows");
            }
        }
    }

    /// An answer to `request`: mostly what a service would say, often hostile.
    fn answer(
        &mut self,
        choices: &mut Choices<'_>,
        request: &Request,
        total: u64,
        now: Instant,
    ) -> Response {
        let plausible = !choices.one_in(3);
        let status = if plausible {
            match request.kind {
                RequestKind::CreateSession => choices.pick(&[200, 201]),
                RequestKind::Fragment => choices.pick(&[200, 201, 202, 202]),
                RequestKind::Cancel => 204,
                _ => choices.pick(&[200, 201]),
            }
        } else {
            choices.pick(&[
                200, 201, 202, 204, 400, 401, 404, 404, 409, 410, 412, 416, 429, 500, 502, 503,
                504, 507,
            ])
        };
        let mut upload_url = None;
        if request.kind == RequestKind::CreateSession && !choices.one_in(8) {
            self.sessions += 1;
            let url = format!("{UPLOAD_ORIGIN}s{}?tempauth={TOKEN}", self.sessions);
            self.given.push(url.clone());
            upload_url = Some(url);
        }
        let body = match choices.byte() % 8 {
            _ if request.kind == RequestKind::Fragment && plausible => {
                fragment_reply(choices, request, total)
            }
            0 => item_body(choices, total),
            1 => String::new(),
            2 => "{\"error\":{\"code\":\"nameAlreadyExists\"}}".into(),
            3 => "\u{0}garbage".into(),
            _ => session_body(choices, total, upload_url.as_deref()),
        };
        let mut response = Response::new(status).with_body(body);
        match choices.byte() % 8 {
            0 => {
                let secs = choices.byte();
                response = response.with_header("Retry-After", secs.to_string());
                let honoured = matches!(
                    StatusClass::of(status),
                    StatusClass::Throttled | StatusClass::Transient
                );
                if honoured {
                    self.asked = Some(Duration::from_secs(u64::from(secs)));
                }
            }
            1 => {
                let at = UnixTime::from_millis(WALL_ZERO + now.as_millis() as i64)
                    .saturating_add(Duration::from_secs(u64::from(choices.byte())));
                response = response.with_header("Retry-After", at.http_date().to_string());
            }
            2 => response = response.with_header("Retry-After", "soon"),
            _ => {}
        }
        if choices.byte() & 1 == 0 {
            let skew = i64::from(choices.byte()) - 128;
            let date = UnixTime::from_millis(WALL_ZERO + now.as_millis() as i64 + skew * 1000);
            response = response.with_header("Date", date.http_date().to_string());
        }
        if choices.one_in(4) {
            response = response.with_header("Location", "https://outlook.example/att/1");
        }
        response
    }
}

/// A fragment's usual answers: the rest of the file expected, the item, an empty 201, or the
/// server holding more or less than was sent.
fn fragment_reply(choices: &mut Choices<'_>, request: &Request, total: u64) -> String {
    let end = match request.body {
        Body::Source(range) => range.end(),
        _ => total,
    };
    match choices.byte() % 6 {
        0 if end == total => item_body(choices, total),
        1 if end == total => String::new(),
        2 if end == total => "{\"nextExpectedRanges\":[]}".into(),
        3 => session_body(choices, total, None),
        _ if end < total => format!("{{\"nextExpectedRanges\":[\"{end}-\"]}}"),
        _ => item_body(choices, total),
    }
}
