use super::*;
use crate::fuzz_targets::concat_segments;
use crate::secret::Secret;
use crate::wopi::{ChunkSignature, DecodeErrorKind};
use crate::wopi::{ChunkingScheme, MAIN_CONTENT, StreamSignature};
use alloc::vec;
use proptest::prelude::*;
use std::string::ToString;

fn config() -> DecoderConfig {
    DecoderConfig::new(BodyKind::PutChunkedFile)
}

#[test]
fn body_layout_is_message_chunks_end() {
    let source = b"mainthumb";
    let main = StreamChunk {
        id: ChunkId::of(b"main"),
        source_offset: 0,
        len: 4,
    };
    let thumb = StreamChunk {
        id: ChunkId::of(b"thumb"),
        source_offset: 4,
        len: 5,
    };
    let message = PutChunkedFileMessage::new(vec![
        StreamSignature::full_file(MAIN_CONTENT, main.id, 4),
        StreamSignature::full_file("Thumbnail", thumb.id, 5),
    ]);
    let segments = put_chunked_file_body(&message, &[main, thumb]).unwrap();
    // Inline(message + prefix), Source, Inline(prefix), Source, Inline(EndFrame).
    assert_eq!(segments.len(), 5);
    assert_eq!(segments[1], Segment::Source(ByteRange::new(0, 4).unwrap()));
    assert_eq!(segments[3], Segment::Source(ByteRange::new(4, 9).unwrap()));
    let json = serde_json::to_vec(&message).unwrap();
    let mut expected = FramePrefix::message_json(json.len() as u64)
        .encode()
        .to_vec();
    expected.extend_from_slice(&json);
    expected.extend_from_slice(&main.prefix().encode());
    expected.extend_from_slice(b"main");
    expected.extend_from_slice(&thumb.prefix().encode());
    expected.extend_from_slice(b"thumb");
    expected.extend_from_slice(&FramePrefix::end_frame().encode());
    let body = concat_segments(source, &segments);
    assert_eq!(body, expected);
    let decoded = decode_put_chunked_file(&Bytes::from(body), config()).unwrap();
    assert_eq!(decoded.message, message);
    assert_eq!(decoded.chunks.len(), 2);
    assert_eq!(decoded.len, expected.len() as u64);
}

#[test]
fn empty_full_file_stream_has_no_chunks() {
    let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file(
        MAIN_CONTENT,
        ChunkId::of(b""),
        0,
    )])
    .with_session_token(Secret::new("t"));
    let segments = put_chunked_file_body(&message, &[]).unwrap();
    let body = concat_segments(&[], &segments);
    let decoded = decode_put_chunked_file(&Bytes::from(body), config()).unwrap();
    assert!(decoded.chunks.is_empty());
    assert!(decoded.message.signatures[0].chunk_signatures.is_empty());
    assert_eq!(
        decoded.message.signatures[0].chunking_scheme,
        ChunkingScheme::FullFile
    );
}

#[test]
fn builder_refuses_bad_requests() {
    let no_main = PutChunkedFileMessage::new(vec![StreamSignature::full_file(
        "Other",
        ChunkId::of(b"a"),
        1,
    )]);
    assert!(matches!(
        put_chunked_file_body(&no_main, &[]),
        Err(PutChunkedFileError::MissingMainContent)
    ));
    let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file(
        MAIN_CONTENT,
        ChunkId::of(b"a"),
        1,
    )]);
    let stranger = StreamChunk {
        id: ChunkId::of(b"b"),
        source_offset: 0,
        len: 1,
    };
    assert!(matches!(
        put_chunked_file_body(&message, &[stranger]),
        Err(PutChunkedFileError::UnlistedChunk(id)) if id == stranger.id
    ));
}

#[test]
fn decoder_refuses_bad_bodies() {
    let message = PutChunkedFileMessage::new(vec![StreamSignature::full_file(
        MAIN_CONTENT,
        ChunkId::of(b"a"),
        1,
    )]);
    let json = serde_json::to_vec(&message).unwrap();
    let frame = |prefix: FramePrefix, payload: &[u8]| [&prefix.encode()[..], payload].concat();
    let msg = frame(FramePrefix::message_json(json.len() as u64), &json);
    let end = frame(FramePrefix::end_frame(), &[]);
    let decode = |parts: &[&[u8]]| decode_put_chunked_file(&Bytes::from(parts.concat()), config());

    // Unlisted chunk.
    let b = frame(FramePrefix::chunk(ChunkId::of(b"b"), 1), b"b");
    assert!(matches!(
        decode(&[&msg, &b, &end]),
        Err(PutChunkedFileError::UnlistedChunk(_))
    ));
    // No EndFrame.
    let a = frame(FramePrefix::chunk(ChunkId::of(b"a"), 1), b"a");
    assert!(matches!(
        decode(&[&msg, &a]),
        Err(PutChunkedFileError::Frame(DecodeError {
            kind: DecodeErrorKind::MissingEndFrame,
            ..
        }))
    ));
    assert!(decode(&[&msg, &a, &end]).is_ok());
    // Not JSON, or JSON without MainContent.
    let junk = frame(FramePrefix::message_json(3), b"{x}");
    assert!(matches!(
        decode(&[&junk, &end]),
        Err(PutChunkedFileError::Json(_))
    ));
    let other = frame(FramePrefix::message_json(16), br#"{"Signatures":[]}"#);
    let other = [&other[..16], br#"{"Signatures":[]"#].concat();
    assert!(matches!(
        decode(&[&other, &end]),
        Err(PutChunkedFileError::Json(_))
    ));
    let empty = br#"{"Signatures":[]}"#;
    let no_main = frame(FramePrefix::message_json(empty.len() as u64), empty);
    let err = decode(&[&no_main, &end]).unwrap_err();
    assert!(matches!(err, PutChunkedFileError::MissingMainContent));
    assert!(!err.to_string().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Build → send → decode returns the message and exactly the inline chunks' bytes.
    #[test]
    fn build_then_decode_round_trips(
        source in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(0usize..400, 0..5),
        inline_mask in any::<u8>(),
        token in proptest::option::of("[a-z0-9]{1,20}"),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(source.len())).collect();
        points.extend([0, source.len()]);
        points.sort_unstable();
        points.dedup();
        let chunks: Vec<StreamChunk> = points.windows(2).map(|w| StreamChunk {
            id: ChunkId::of(&source[w[0]..w[1]]), source_offset: w[0] as u64, len: (w[1] - w[0]) as u64,
        }).collect();
        let mut message = PutChunkedFileMessage::new(vec![StreamSignature {
            stream_id: MAIN_CONTENT.into(),
            chunking_scheme: ChunkingScheme::Zip,
            chunk_signatures: chunks.iter().map(|c| ChunkSignature { chunk_id: c.id, length: c.len }).collect(),
        }]);
        if let Some(t) = token { message = message.with_session_token(Secret::new(t)); }
        let inline: Vec<StreamChunk> = chunks.iter().enumerate()
            .filter(|(i, _)| inline_mask & (1 << (i % 8)) != 0).map(|(_, c)| *c).collect();
        let body = concat_segments(&source, &put_chunked_file_body(&message, &inline).unwrap());
        let decoded = decode_put_chunked_file(&Bytes::from(body), config()).unwrap();
        prop_assert_eq!(&decoded.message, &message);
        prop_assert_eq!(decoded.chunks.len(), inline.len());
        for ((id, payload), c) in decoded.chunks.iter().zip(&inline) {
            prop_assert_eq!(*id, c.id);
            let start = c.source_offset as usize;
            prop_assert_eq!(&payload[..], &source[start..start + c.len as usize]);
        }
    }
}
