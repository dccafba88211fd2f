//! Fuzz target bodies, compiled with the crate so that ordinary builds and tests keep them
//! working; `fuzz/fuzz_targets/*.rs` only call them. Each panics when a property fails.
//!
//! Not part of the public API.

pub mod checkpoint;
pub mod graph;
mod pick;
#[cfg(test)]
mod seed_replay;
pub mod simple;
pub mod stored;
pub mod text;
pub mod tus;
pub mod workbook;

use alloc::vec::Vec;

use bytes::Bytes;

use crate::range::ByteRange;
use crate::wopi::{
    BodyKind, BufferedDecoder, ChunkId, Decoded, DecoderConfig, FrameDecoder, FrameKind,
    StreamChunk, UploadStream, decode_put_chunked_file, put_chunked_file_body,
};

/// Reads small numbers off the front of the fuzz input to pick configurations and split points.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

/// The frame decoder fed the input in random splits: the borrowed decoder over a growing buffer
/// and the buffered decoder over pushed pieces must agree frame for frame and on the error, and
/// no frame may exceed the limit.
pub fn frame_decoder_random_splits(data: &[u8]) {
    let mut choices = Choices(data);
    let kind = match choices.byte() % 3 {
        0 => BodyKind::PutChunkedFile,
        1 => BodyKind::UploadSessionStream,
        _ => BodyKind::Unordered,
    };
    let max = u64::from(choices.byte()) * 16;
    let config = DecoderConfig::new(kind)
        .with_max_payload_len(max)
        .with_max_message_len(max)
        .with_chunk_id_verification(choices.byte() & 1 == 1);
    let split_count = usize::from(choices.byte() % 8);
    let mut sizes = Vec::new();
    for _ in 0..split_count {
        sizes.push(usize::from(choices.byte()));
    }
    let input = choices.0;

    // Borrowed: the whole input at once.
    let mut whole = FrameDecoder::new(config);
    let mut expected = Vec::new();
    let mut rest = input;
    let whole_result = loop {
        match whole.decode(rest) {
            Ok(Decoded::Frame(frame)) => {
                assert!(frame.payload.len() as u64 <= max, "payload over the limit");
                if let (true, FrameKind::Chunk(id)) = (config.verify_chunk_ids, frame.kind) {
                    assert_eq!(ChunkId::of(frame.payload), id, "unverified chunk");
                }
                expected.push((frame.offset, frame.kind, frame.payload.to_vec()));
                rest = &rest[frame.encoded_len()..];
            }
            Ok(Decoded::Partial { needed }) => {
                assert!(needed > rest.len(), "Partial without asking for more");
                break whole.finish(rest.len() as u64);
            }
            Ok(Decoded::Done) => break whole.finish(rest.len() as u64),
            Err(e) => break Err(e),
        }
    };

    // Buffered: the same input in pieces.
    let mut buffered = BufferedDecoder::new(config);
    let mut got = Vec::new();
    let mut at = 0;
    let mut buffered_error = None;
    let mut piece_sizes = sizes.iter().copied().cycle();
    while at < input.len() && buffered_error.is_none() {
        let size = piece_sizes.next().unwrap_or(input.len()).max(1);
        let end = (at + size).min(input.len());
        buffered.push(Bytes::copy_from_slice(&input[at..end]));
        at = end;
        loop {
            match buffered.next_frame() {
                Ok(Some(frame)) => got.push((frame.offset, frame.kind, frame.payload.to_vec())),
                Ok(None) => break,
                Err(e) => {
                    buffered_error = Some(e);
                    break;
                }
            }
        }
    }
    let buffered_result = match buffered_error {
        Some(e) => Err(e),
        None => buffered.finish(),
    };
    assert_eq!(got, expected, "buffered and borrowed decoders disagree");
    assert_eq!(buffered_result, whole_result, "different verdicts");
}

/// A `PutChunkedFile` body decoded as a host does: never a panic; when accepted, every chunk
/// matches its id, and a body built again from what was decoded decodes to the same message and
/// chunks.
pub fn put_chunked_file_body_decoder(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    let config = DecoderConfig::new(BodyKind::PutChunkedFile).with_max_payload_len(1 << 20);
    let Ok(decoded) = decode_put_chunked_file(&body, config) else {
        return;
    };
    assert!(decoded.len <= data.len() as u64);
    assert!(decoded.message.main_content().is_some());
    let mut source = Vec::new();
    let mut chunks = Vec::new();
    for (id, payload) in &decoded.chunks {
        assert_eq!(ChunkId::of(payload), *id);
        chunks.push(StreamChunk {
            id: *id,
            source_offset: source.len() as u64,
            len: payload.len() as u64,
        });
        source.extend_from_slice(payload);
    }
    let segments =
        put_chunked_file_body(&decoded.message, &chunks).expect("a decoded body rebuilds");
    let rebuilt = concat_segments(&source, &segments);
    let again = decode_put_chunked_file(&Bytes::from(rebuilt), config).expect("rebuilt decodes");
    assert_eq!(again.message, decoded.message);
    assert_eq!(again.chunks, decoded.chunks);
}

/// The segment map against the materialised stream: chunk cuts and a range come from the input,
/// the rest of it is the source.
pub fn segment_map_matches_stream(data: &[u8]) {
    let mut choices = Choices(data);
    let cut_count = usize::from(choices.byte() % 16);
    let mut cuts = Vec::new();
    for _ in 0..cut_count {
        cuts.push(usize::from(choices.byte()) << 2 | usize::from(choices.byte() & 3));
    }
    let (a, b) = (
        u16::from_be_bytes([choices.byte(), choices.byte()]),
        u16::from_be_bytes([choices.byte(), choices.byte()]),
    );
    let source = choices.0;
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(source.len())).collect();
    points.extend([0, source.len()]);
    points.sort_unstable();
    let chunks: Vec<StreamChunk> = points
        .windows(2)
        .map(|w| StreamChunk {
            id: ChunkId::of(&source[w[0]..w[1]]),
            source_offset: w[0] as u64,
            len: (w[1] - w[0]) as u64,
        })
        .collect();
    let stream = UploadStream::from_chunks(chunks).expect("small streams lay out");
    let whole = stream
        .materialise(source)
        .expect("chunks lie in the source");
    assert_eq!(whole.len() as u64, stream.len());
    let len = whole.len() + 1;
    let (x, y) = (usize::from(a) % len, usize::from(b) % len);
    let (start, end) = (x.min(y), x.max(y));
    let Some(range) = ByteRange::new(start as u64, end as u64) else {
        return;
    };
    let segments = stream.segments(range).expect("range inside the stream");
    assert_eq!(concat_segments(source, &segments), whole[start..end]);
}

/// ChunkId base64 parsing: never a panic; whatever parses prints back to the same text.
pub fn chunk_id_base64(data: &[u8]) {
    if let Ok(id) = ChunkId::parse_base64(data) {
        assert_eq!(&id.to_base64()[..], data);
    }
    if let Some((bytes, _)) = data.split_first_chunk::<16>() {
        let id = ChunkId::from_bytes(*bytes);
        assert_eq!(ChunkId::parse_base64(&id.to_base64()), Ok(id));
    }
}

/// The WOPI upload machine fed hostile answers: statuses, offsets, bodies and sequence numbers
/// from the input, transport errors and commands in between. It must never panic, never ask for
/// a range outside the stream or with a body that is not its declared length, never hand out a
/// second request while one is in flight, never stall (no request, no deadline, nothing to wait
/// for), and never print a secret.
pub fn wopi_upload_hostile_answers(data: &[u8]) {
    use crate::chunk::FragmentSizing;
    use crate::http::{Body, Response, TransportError};
    use crate::session::StateMachine;
    use crate::time::{Duration, Instant};
    use crate::wopi::{
        SequenceConflictPolicy, WopiConfig, WopiEvent, WopiState, WopiStream, WopiUpload,
    };
    use alloc::format;
    use alloc::string::ToString;

    let mut choices = Choices(data);
    let len = u64::from(choices.byte()) * 40 + u64::from(choices.byte());
    let range = u64::from(choices.byte()).max(1) * 8;
    let source: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let main = WopiStream::main_content(ChunkId::of(&source), len);
    let mut config = WopiConfig::new(alloc::vec![main]);
    config.range_size = FragmentSizing::Fixed(range);
    config.session_lifetime = Duration::from_secs(u64::from(choices.byte()) + 1);
    config.keep_alive = choices.byte() & 1 == 1;
    config.on_sequence_conflict = match choices.byte() % 3 {
        0 => SequenceConflictPolicy::Fail,
        1 => SequenceConflictPolicy::Ask,
        _ => SequenceConflictPolicy::Adopt { max: 2 },
    };
    config.retry.max_attempts = 3;
    let url = "https://h.example/wopi/files/1?access_token=AT-fuzz";
    let Ok(mut upload) = WopiUpload::create(url, config, Instant::ZERO) else {
        return;
    };
    let stream_len = upload.stream_len();
    let mut now = Instant::ZERO;
    for _ in 0..2_000 {
        if upload.is_finished() {
            break;
        }
        match choices.byte() % 32 {
            0 => drop(upload.pause(now)),
            1 => drop(upload.unpause(now)),
            2 => drop(upload.commit_with_sequence_number(u64::from(choices.byte()), now)),
            _ => {}
        }
        if let Some(request) = upload.poll_request(now) {
            assert!(upload.poll_request(now).is_none(), "two requests in flight");
            if let Some(offset) = request.header("X-WOPI-ContentRangeOffset") {
                let offset: u64 = offset.parse().expect("a numeric offset");
                let declared: u64 = request
                    .header("X-WOPI-ContentRangeLength")
                    .and_then(|l| l.parse().ok())
                    .expect("a numeric length");
                assert_eq!(
                    declared,
                    request.body.len(),
                    "body length differs from its header"
                );
                assert!(offset + declared <= stream_len, "a range past the stream");
                assert!(declared <= range.max(1), "a range over the range size");
            }
            if let Body::Segments(segments) = &request.body {
                assert_eq!(
                    concat_segments(&source, segments).len() as u64,
                    request.body.len()
                );
            }
            now += Duration::from_millis(u64::from(choices.byte()) * 100);
            let status = [
                200, 200, 200, 400, 404, 409, 410, 412, 413, 429, 500, 501, 503,
            ][usize::from(choices.byte()) % 13];
            let offset = match choices.byte() % 6 {
                0 => None,
                1 => Some("garbage".to_string()),
                2 => Some("-1".to_string()),
                3 => Some(stream_len.to_string()),
                4 => Some((stream_len + 1).to_string()),
                _ => Some(u16::from_be_bytes([choices.byte(), choices.byte()]).to_string()),
            };
            let body = match choices.byte() % 4 {
                0 => r#"{"UploadSessionToken":"ST-fuzz"}"#,
                1 => "{}",
                2 => r#"{"uploadsessiontoken":7}"#,
                _ => "\u{0}not json",
            };
            let mut answer = Response::new(status)
                .with_body(body)
                .with_header("X-WOPI-SequenceNumber", format!("{}", choices.byte()))
                .with_header("Retry-After", format!("{}", choices.byte() % 4));
            if let Some(offset) = offset {
                answer = answer.with_header("X-WOPI-UploadSessionCurrentOffset", offset);
            }
            match choices.byte() % 8 {
                0 => upload.handle_transport_error(now, request.id, TransportError::Timeout),
                1 => upload.handle_transport_error(now, request.id, TransportError::Connect),
                _ => upload.handle_response(now, request.id, answer),
            }
        } else if upload.is_finished() {
            // Polling found the session expired beyond the budget: the failure is queued.
        } else if let Some(deadline) = upload.poll_timeout() {
            now = now.max(deadline);
            upload.handle_timeout(now);
        } else if upload.is_paused() {
            upload.unpause(now).expect("paused");
        } else if upload.state() == WopiState::SequenceConflict {
            upload
                .commit_with_sequence_number(1, now)
                .expect("waiting for a number");
        } else {
            panic!("stalled in {}", upload.state());
        }
        while let Some(event) = upload.poll_event() {
            let printed = match &event {
                WopiEvent::Failed(error) => format!("{error} {error:?}"),
                other => format!("{other:?}"),
            };
            assert!(!printed.contains("AT-fuzz") && !printed.contains("ST-fuzz"));
        }
    }
    let printed = format!("{:?} {:?}", upload.checkpoint(), upload);
    assert!(!printed.contains("AT-fuzz") && !printed.contains("ST-fuzz"));
}

/// Concatenates segments, reading sources from `source` (what a transport sends). Shared with
/// the unit tests.
pub(crate) fn concat_segments(source: &[u8], segments: &[crate::http::Segment]) -> Vec<u8> {
    let mut out = Vec::new();
    for segment in segments {
        match segment {
            crate::http::Segment::Inline(bytes) => out.extend_from_slice(bytes),
            crate::http::Segment::Source(range) => {
                out.extend_from_slice(&source[range.start() as usize..range.end() as usize])
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target runs over the committed seed corpus without a finding.
    #[test]
    fn seed_corpus_passes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 5] = [
            ("frame_decoder", frame_decoder_random_splits),
            ("put_chunked_file", put_chunked_file_body_decoder),
            ("segment_map", segment_map_matches_stream),
            ("chunk_id_base64", chunk_id_base64),
            ("wopi_upload", wopi_upload_hostile_answers),
        ];
        let mut files = 0;
        for (dir, target) in targets {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries {
                let data = std::fs::read(entry.unwrap().path()).unwrap();
                target(&data);
                files += 1;
            }
        }
        assert!(files > 0, "no seed corpus under {}", root.display());
        // The seeds reach past the first check: a valid body is in the corpus.
        let inline = std::fs::read(root.join("put_chunked_file/inline")).unwrap();
        let config = DecoderConfig::new(BodyKind::PutChunkedFile);
        assert_eq!(
            decode_put_chunked_file(&Bytes::from(inline), config)
                .unwrap()
                .chunks
                .len(),
            1
        );
    }
}
