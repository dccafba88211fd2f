//! Unit tests of the WOPI machine: one exchange at a time, exact requests and exact reactions.
//! The whole-upload simulations live in `core/tests/wopi_upload`.

use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use crate::chunk::FragmentSizing;
use crate::http::{Auth, Body, Method, Request, RequestKind, Response, Segment, TransportError};
use crate::secret::Secret;
use crate::session::Failure;
use crate::session::{Driven, StateMachine};
use crate::time::{Duration, Instant};
use crate::wopi::{
    BodyKind, ChunkId, DecoderConfig, FrameKind, FramePrefix, decode_put_chunked_file,
};

use super::*;

mod commit;
mod expiry;
mod lying_host;

pub(super) const URL: &str = "https://wopi.example/wopi/files/F1?access_token=AT-secret";
pub(super) const TOKEN: &str = "ST-secret";
/// Source length: 1000 bytes, one FullFile chunk, so the stream is 1032 bytes.
pub(super) const LEN: u64 = 1_000;
pub(super) const STREAM: u64 = LEN + 32;

pub(super) fn source() -> Vec<u8> {
    (0..LEN).map(|i| (i * 7 % 251) as u8).collect()
}

pub(super) fn config() -> WopiConfig {
    let mut config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(&source()), LEN)]);
    config.range_size = FragmentSizing::Fixed(400);
    config.session_lifetime = Duration::from_secs(60);
    config.expiry_margin = Duration::from_secs(10);
    config
}

/// A machine and a clock, with helpers to answer its requests one by one.
pub(super) struct Drive {
    pub(super) up: WopiUpload,
    pub(super) now: Instant,
}

impl Drive {
    pub(super) fn new(config: WopiConfig) -> Drive {
        Drive {
            up: WopiUpload::create(URL, config, Instant::ZERO).unwrap(),
            now: Instant::ZERO,
        }
    }

    pub(super) fn request(&mut self) -> Request {
        self.up
            .poll_request(self.now)
            .unwrap_or_else(|| panic!("no request in {:?}", self.up.state()))
    }

    pub(super) fn no_request(&mut self) {
        if let Some(request) = self.up.poll_request(self.now) {
            panic!("unexpected {request:?}");
        }
    }

    pub(super) fn answer(&mut self, request: &Request, response: Response) {
        self.now += Duration::from_millis(10);
        self.up.handle_response(self.now, request.id, response);
    }

    pub(super) fn events(&mut self) -> Vec<WopiEvent> {
        core::iter::from_fn(|| self.up.poll_event()).collect()
    }

    /// Creates the session and answers updates with the offsets the host would give.
    pub(super) fn start(&mut self) {
        let create = self.request();
        self.answer(&create, created());
    }

    pub(super) fn upload_all(&mut self) {
        while self.up.state() == WopiState::Uploading {
            let update = self.request();
            let end = offset_of(&update) + update.body.len();
            self.answer(&update, at(200, end));
        }
    }

    pub(super) fn jump(&mut self, to: Instant) {
        self.now = to;
        self.up.handle_timeout(to);
    }
}

pub(super) fn created() -> Response {
    Response::new(200).with_body(format!(r#"{{"UploadSessionToken":"{TOKEN}"}}"#))
}

pub(super) fn at(status: u16, offset: u64) -> Response {
    Response::new(status).with_header("X-WOPI-UploadSessionCurrentOffset", offset.to_string())
}

pub(super) fn offset_of(request: &Request) -> u64 {
    request
        .header("X-WOPI-ContentRangeOffset")
        .unwrap()
        .parse()
        .unwrap()
}

pub(super) fn bytes_of(body: &Body) -> Vec<u8> {
    let source = source();
    match body {
        Body::Empty => Vec::new(),
        Body::Segments(segments) => segments
            .iter()
            .flat_map(|segment| match segment {
                Segment::Inline(bytes) => bytes.to_vec(),
                Segment::Source(range) => {
                    source[range.start() as usize..range.end() as usize].to_vec()
                }
            })
            .collect(),
        other => panic!("unexpected body {other:?}"),
    }
}

#[test]
fn requests_carry_the_wopi_headers_and_no_authorization() {
    let mut drive = Drive::new(config());
    let create = drive.request();
    assert_eq!(create.method, Method::Post);
    assert_eq!(create.url.expose(), URL);
    assert_eq!(
        create.header("X-WOPI-Override"),
        Some("CREATE_UPLOAD_SESSION")
    );
    assert_eq!(create.body, Body::Empty);
    drive.answer(&create, created());

    let update = drive.request();
    assert_eq!(update.kind, RequestKind::Fragment);
    assert_eq!(update.auth, Auth::None);
    assert_eq!(update.url.expose(), URL);
    assert_eq!(
        update.header("X-WOPI-Override"),
        Some("UPDATE_UPLOAD_SESSION")
    );
    assert_eq!(update.header("X-WOPI-UploadSessionToken"), Some(TOKEN));
    assert_eq!(update.header("X-WOPI-ContentRangeOffset"), Some("0"));
    assert_eq!(update.header("X-WOPI-ContentRangeLength"), Some("400"));
    // The first range: the Chunk frame's 32-byte prefix, then 368 bytes of the file.
    let bytes = bytes_of(&update.body);
    let prefix = FramePrefix::chunk(ChunkId::of(&source()), LEN).encode();
    assert_eq!(&bytes[..32], &prefix[..]);
    assert_eq!(&bytes[32..], &source()[..368]);
    let printed = format!("{update:?}");
    assert!(
        !printed.contains(TOKEN) && !printed.contains("AT-secret"),
        "{printed}"
    );
}

#[test]
fn ranges_follow_the_hosts_offset_and_the_commit_carries_no_chunk() {
    let mut config = config();
    config.sequence_number = 5;
    config.coauth_lock_id = Some(Secret::new("coauth-secret"));
    let mut drive = Drive::new(config);
    drive.start();
    let first = drive.request();
    // The host stored only 100 of the 400 bytes: the next range starts at 100.
    drive.answer(&first, at(200, 100));
    let second = drive.request();
    assert_eq!(offset_of(&second), 100);
    assert_eq!(second.body.len(), 400);
    let events = drive.events();
    assert!(events.contains(&WopiEvent::Resynchronised {
        believed: 400,
        offset: 100
    }));
    drive.answer(&second, at(200, 500));
    drive.upload_all();
    assert_eq!(drive.up.confirmed(), STREAM);

    let commit = drive.request();
    assert_eq!(commit.kind, RequestKind::Commit);
    assert_eq!(
        commit.url.expose(),
        "https://wopi.example/wopi/files/F1/contents?access_token=AT-secret"
    );
    assert_eq!(commit.header("X-WOPI-Override"), Some("PUT_CHUNKED_FILE"));
    assert_eq!(commit.header("X-WOPI-SequenceNumber"), Some("5"));
    assert_eq!(commit.header("X-WOPI-CoauthLockId"), Some("coauth-secret"));
    assert_eq!(commit.header("X-WOPI-Lock"), None);
    assert!(!format!("{commit:?}").contains("coauth-secret"));
    let body = bytes::Bytes::from(bytes_of(&commit.body));
    let decoded =
        decode_put_chunked_file(&body, DecoderConfig::new(BodyKind::PutChunkedFile)).unwrap();
    assert!(decoded.chunks.is_empty(), "the session holds the chunk");
    assert_eq!(
        decoded
            .message
            .upload_session_token_to_commit
            .as_ref()
            .map(Secret::expose),
        Some(TOKEN)
    );
    let main = decoded.message.main_content().unwrap();
    assert_eq!(main.chunk_signatures[0].chunk_id, ChunkId::of(&source()));

    drive.answer(
        &commit,
        Response::new(200)
            .with_header("X-WOPI-SequenceNumber", "6")
            .with_header("X-WOPI-ItemVersion", "v6"),
    );
    // Then the host's word on what it stored: CheckFileInfo.
    assert_eq!(drive.up.state(), WopiState::CheckingFile);
    let info = drive.request();
    assert_eq!(
        (info.method, info.auth, info.url.expose()),
        (Method::Get, Auth::None, URL)
    );
    drive.answer(&info, file_info(LEN, &source()));
    assert!(
        drive.up.awaits_source_hashes(),
        "its SHA256 waits for the source's"
    );
    drive
        .up
        .set_source_hashes(drive.now, crate::digest::SourceHashes::of(&source()));
    let verification = crate::digest::stored::Verification {
        size: true,
        hashes: vec![crate::digest::stored::HashKind::Sha256],
        location: false,
        unchecked: vec![],
    };
    assert_eq!(
        drive.events().last(),
        Some(&WopiEvent::Completed(WopiCompletion {
            sequence_number: Some(6),
            item_version: Some("v6".into()),
            sessions: 1,
            inline: false,
            verification,
        }))
    );
    assert!(drive.up.is_finished());
}

/// A `CheckFileInfo` answer for a file of `size` bytes whose content is `content`.
pub(super) fn file_info(size: u64, content: &[u8]) -> Response {
    let sha = crate::digest::SourceHashes::of(content).sha256.unwrap();
    let sha = crate::digest::Base64::<44>::encode(&sha);
    Response::new(200).with_body(format!(
        r#"{{"BaseFileName":"a.docx","Size":{size},"SHA256":"{sha}","Version":"v"}}"#
    ))
}

#[test]
fn a_timeout_makes_the_next_update_a_one_byte_probe_at_the_confirmed_offset() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    let second = drive.request();
    drive
        .up
        .handle_transport_error(drive.now, second.id, TransportError::Timeout);
    assert_eq!(drive.up.state(), WopiState::WaitingToRetry);
    let retry_at = drive.up.poll_timeout().unwrap();
    drive.jump(retry_at);
    assert_eq!(drive.up.state(), WopiState::Resynchronising);
    let probe = drive.request();
    assert_eq!(offset_of(&probe), 400);
    assert_eq!(probe.header("X-WOPI-ContentRangeLength"), Some("1"));
    // The lost update had been stored: the host refuses the probe and says where it is.
    drive.answer(&probe, at(400, 800));
    let next = drive.request();
    assert_eq!(offset_of(&next), 800);
    assert_eq!(next.body.len(), STREAM - 800);
}

#[test]
fn a_probe_refused_without_an_offset_starts_a_new_session() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive
        .up
        .handle_transport_error(drive.now, first.id, TransportError::ConnectionLost);
    let retry_at = drive.up.poll_timeout().unwrap();
    drive.jump(retry_at);
    let probe = drive.request();
    drive.answer(&probe, Response::new(400));
    let events = drive.events();
    assert!(events.contains(&WopiEvent::SessionLost {
        cause: WopiSessionLoss::PositionUnknown,
        starting_over: true
    }));
    let create = drive.request();
    assert_eq!(create.kind, RequestKind::CreateSession);
}

#[test]
fn a_400_outside_a_probe_without_another_offset_is_fatal_with_the_hosts_reason() {
    for answer in [Response::new(400), at(400, 0)] {
        let mut drive = Drive::new(config());
        drive.start();
        let first = drive.request();
        drive.answer(
            &first,
            answer.with_header("X-WOPI-FailureReason", "bad\nframe"),
        );
        let Some(WopiEvent::Failed(error)) = drive.events().pop() else {
            panic!("not failed")
        };
        assert_eq!(
            error,
            WopiError::Rejected {
                during: RequestKind::Fragment,
                status: 400,
                host_reason: Some("bad frame".into()),
            }
        );
        assert!(error.to_string().contains("(host: bad frame)"));
    }
}

#[test]
fn a_5xx_with_an_offset_is_trusted_and_one_without_makes_a_probe() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(503, 250).with_header("Retry-After", "7"));
    assert_eq!(drive.up.confirmed(), 250);
    let wait = drive.up.poll_timeout().unwrap();
    assert!(wait >= drive.now + Duration::from_secs(7));
    drive.jump(wait);
    let next = drive.request();
    assert_eq!((offset_of(&next), next.body.len()), (250, 400));
    drive.answer(&next, Response::new(502));
    let wait = drive.up.poll_timeout().unwrap();
    drive.jump(wait);
    let probe = drive.request();
    assert_eq!((offset_of(&probe), probe.body.len()), (250, 1));
}

#[test]
fn commands_are_refused_in_states_that_do_not_take_them() {
    let mut drive = Drive::new(config());
    assert_eq!(
        drive.up.commit_with_sequence_number(3, drive.now),
        Err(WopiError::WrongState {
            command: "commit with a sequence number",
            state: WopiState::CreatingSession
        })
    );
    assert!(drive.up.unpause(drive.now).is_err());
    drive.up.cancel(drive.now).unwrap();
    assert_eq!(drive.events(), vec![WopiEvent::Cancelled]);
    assert!(drive.up.pause(drive.now).is_err());
    assert!(drive.up.cancel(drive.now).is_err());
    drive.no_request();
}

#[test]
fn an_offset_past_the_stream_is_a_typed_error() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, STREAM + 1));
    assert_eq!(
        drive.events().last(),
        Some(&WopiEvent::Failed(WopiError::HostOffsetOutOfRange {
            offset: STREAM + 1,
            stream_len: STREAM,
            host_reason: None
        }))
    );
}

#[test]
fn a_malformed_offset_on_a_200_makes_the_next_update_a_probe() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(
        &first,
        Response::new(200).with_header("X-WOPI-UploadSessionCurrentOffset", "-5"),
    );
    let events = drive.events();
    assert!(matches!(
        events.last(),
        Some(WopiEvent::RetryScheduled {
            reason: Failure::Unreadable(_),
            ..
        })
    ));
    let wait = drive.up.poll_timeout().unwrap();
    drive.jump(wait);
    let probe = drive.request();
    assert_eq!((offset_of(&probe), probe.body.len()), (0, 1));
}

#[test]
fn checkpoints_resume_with_a_probe_at_the_confirmed_offset() {
    let mut drive = Drive::new(config());
    drive.start();
    let first = drive.request();
    drive.answer(&first, at(200, 400));
    let checkpoint = drive.up.checkpoint();
    assert_eq!(checkpoint.stage(), &WopiStage::Uploading);
    let printed = format!("{checkpoint:?}");
    assert!(
        !printed.contains(TOKEN) && !printed.contains("AT-secret"),
        "{printed}"
    );
    let bytes = checkpoint.to_bytes();
    let back = WopiCheckpoint::from_bytes(&bytes).unwrap();
    let mut resumed = WopiUpload::resume(back, Instant::ZERO).unwrap();
    assert_eq!(resumed.state(), WopiState::Resynchronising);
    let probe = resumed.poll_request(Instant::ZERO).unwrap();
    assert_eq!(offset_of(&probe), 400);
    assert_eq!(probe.body.len(), 1);
    assert_eq!(probe.header("X-WOPI-UploadSessionToken"), Some(TOKEN));
}

#[test]
fn a_graph_checkpoint_is_refused_by_name() {
    use crate::graph::{DriveItem, Target, Upload, UploadConfig};
    use crate::session::{CheckpointError, Protocol};
    let graph = Upload::create(
        "https://g/root:/a:/createUploadSession",
        UploadConfig::new(Target::DriveItem(DriveItem::new()), 5),
        Instant::ZERO,
    )
    .unwrap()
    .checkpoint()
    .to_bytes();
    assert_eq!(
        WopiCheckpoint::from_bytes(&graph),
        Err(CheckpointError::WrongProtocol {
            expected: Protocol::WopiUploadSession,
            found: Protocol::GraphUploadSession
        })
    );
}

#[test]
fn frames_in_the_stream_decode_with_the_projects_decoder() {
    let mut drive = Drive::new(config());
    drive.start();
    let mut stream = Vec::new();
    while drive.up.state() == WopiState::Uploading {
        let update = drive.request();
        stream.extend(bytes_of(&update.body));
        let end = offset_of(&update) + update.body.len();
        drive.answer(&update, at(200, end));
    }
    let mut decoder =
        crate::wopi::BufferedDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream));
    decoder.push(bytes::Bytes::from(stream));
    let frame = decoder.next_frame().unwrap().unwrap();
    assert_eq!(frame.kind, FrameKind::Chunk(ChunkId::of(&source())));
    assert_eq!(&frame.payload[..], &source()[..]);
    decoder.finish().unwrap();
}

#[test]
fn adaptive_range_sizes_grow_on_a_fast_link() {
    let mut config = config();
    config.range_size = FragmentSizing::Adaptive {
        initial: 100,
        target: Duration::from_secs(1),
        min: 50,
        max: 10_000,
    };
    let mut drive = Drive::new(config);
    drive.start();
    let mut lens = Vec::new();
    while drive.up.state() == WopiState::Uploading {
        let update = drive.request();
        lens.push(update.body.len());
        let end = offset_of(&update) + update.body.len();
        // Each answer comes 10 ms later: far faster than the one-second target.
        drive.answer(&update, at(200, end));
    }
    assert_eq!(lens, [100, 200, 400, 332]);
    assert!(drive.up.range_size() >= 800);
}

#[test]
fn the_machine_and_its_outputs_can_cross_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<WopiUpload>();
    send_and_sync::<WopiEvent>();
    send_and_sync::<WopiError>();
    send_and_sync::<WopiCheckpoint>();
}

mod hostile {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the host answers, the machine neither panics, stalls, leaks a secret nor
        /// asks for a range outside the stream (the checks live in the fuzz target's body).
        #[test]
        fn hostile_answers_never_break_the_machine(data in prop::collection::vec(any::<u8>(), 0..600)) {
            crate::fuzz_targets::wopi_upload_hostile_answers(&data);
        }
    }
}
