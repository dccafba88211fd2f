use super::*;
use crate::wopi::ChunkRange;
use proptest::prelude::*;
use std::vec::Vec;

/// A naive model encoder: the SPEC's table written out field by field.
fn naive_frame(ty: u32, ext: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(ext.len() as u32).to_be_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    out.extend_from_slice(ext);
    out.extend_from_slice(payload);
    out
}

fn chunk(payload: &[u8]) -> Vec<u8> {
    naive_frame(3, ChunkId::of(payload).as_bytes(), payload)
}

fn message(json: &[u8]) -> Vec<u8> {
    naive_frame(2, &[], json)
}

fn end() -> Vec<u8> {
    naive_frame(1, &[], &[])
}

fn session() -> FrameDecoder {
    FrameDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream))
}

fn put() -> FrameDecoder {
    FrameDecoder::new(DecoderConfig::new(BodyKind::PutChunkedFile))
}

/// Decodes all of `input`; returns (kind, payload, offset) per frame, or the first error.
fn decode_all(
    decoder: &mut FrameDecoder,
    input: &[u8],
) -> Result<Vec<(FrameKind, Vec<u8>, u64)>, DecodeError> {
    let mut rest = input;
    let mut frames = Vec::new();
    loop {
        match decoder.decode(rest)? {
            Decoded::Frame(frame) => {
                rest = &rest[frame.encoded_len()..];
                frames.push((frame.kind, frame.payload.to_vec(), frame.offset));
            }
            Decoded::Partial { needed } => {
                assert!(needed > rest.len(), "Partial must ask for more than it has");
                break;
            }
            Decoded::Done => break,
        }
    }
    decoder.finish(rest.len() as u64)?;
    Ok(frames)
}

#[test]
fn put_chunked_file_body_in_order() {
    let body = [
        message(b"{}"),
        chunk(b"abc"),
        chunk(b""),
        end(),
        b"trailing junk".to_vec(),
    ]
    .concat();
    let frames = decode_all(&mut put(), &body).unwrap();
    assert_eq!(
        frames,
        [
            (FrameKind::MessageJson, b"{}".to_vec(), 0),
            (FrameKind::Chunk(ChunkId::of(b"abc")), b"abc".to_vec(), 18),
            (FrameKind::Chunk(ChunkId::of(b"")), Vec::new(), 53),
            (FrameKind::EndFrame, Vec::new(), 85),
        ]
    );
}

#[test]
fn data_after_end_frame_is_ignored_even_if_malformed() {
    let body = [message(b"{}"), end(), naive_frame(0, &[], &[])].concat();
    let mut decoder = put();
    assert_eq!(decode_all(&mut decoder, &body).unwrap().len(), 2);
    assert!(decoder.is_done());
    assert_eq!(decoder.offset(), 34);
    assert_eq!(decoder.decode(&[0xff; 40]).unwrap(), Decoded::Done);
}

#[test]
fn ordering_rules() {
    let err = |config: BodyKind, body: Vec<u8>| {
        let mut decoder = FrameDecoder::new(DecoderConfig::new(config));
        decode_all(&mut decoder, &body).unwrap_err()
    };
    use BodyKind::*;
    use DecodeErrorKind::*;
    assert_eq!(err(PutChunkedFile, chunk(b"a")).kind, MissingMessageJson);
    assert_eq!(err(PutChunkedFile, end()).kind, MissingMessageJson);
    assert_eq!(
        err(PutChunkedFile, Vec::new()),
        DecodeError {
            offset: 0,
            kind: MissingMessageJson
        }
    );
    let twice = [message(b"{}"), chunk(b"a"), message(b"{}"), end()].concat();
    assert_eq!(
        err(PutChunkedFile, twice),
        DecodeError {
            offset: 51,
            kind: MessageJsonNotFirst
        }
    );
    let unended = [message(b"{}"), chunk(b"a")].concat();
    assert_eq!(
        err(PutChunkedFile, unended),
        DecodeError {
            offset: 51,
            kind: MissingEndFrame
        }
    );
    let range = ChunkRange {
        id: ChunkId::of(b"ab"),
        offset: 0,
        len: 1,
        end_of_chunk: false,
    };
    let range_frame = naive_frame(4, &range.encode(), b"a");
    let with_range = [message(b"{}"), range_frame.clone(), end()].concat();
    assert_eq!(
        err(PutChunkedFile, with_range).kind,
        FrameNotAllowed {
            frame_type: FrameType::ChunkRange,
            body: PutChunkedFile
        }
    );
    for (frame, frame_type) in [
        (message(b"{}"), FrameType::MessageJson),
        (end(), FrameType::EndFrame),
        (range_frame.clone(), FrameType::ChunkRange),
    ] {
        let body = [chunk(b"x"), frame].concat();
        assert_eq!(
            err(UploadSessionStream, body),
            DecodeError {
                offset: 33,
                kind: FrameNotAllowed {
                    frame_type,
                    body: UploadSessionStream
                }
            }
        );
    }
    // Unordered takes anything valid, and EndFrame still ends it.
    let anything = [chunk(b"x"), range_frame, message(b"{}"), end(), chunk(b"y")].concat();
    let mut decoder = FrameDecoder::new(DecoderConfig::new(Unordered));
    assert_eq!(decode_all(&mut decoder, &anything).unwrap().len(), 4);
}

#[test]
fn hostile_payload_claims_are_refused_from_the_header_alone() {
    for claim in [
        1u64 << 63,
        u64::MAX,
        DecoderConfig::DEFAULT_MAX_PAYLOAD_LEN + 1,
    ] {
        let mut header = Vec::new();
        header.extend_from_slice(&3u32.to_be_bytes());
        header.extend_from_slice(&16u32.to_be_bytes());
        header.extend_from_slice(&claim.to_be_bytes());
        let mut decoder = session();
        // Only the 16-byte header: no extended header, no payload, and already an error.
        assert_eq!(
            decoder.decode(&header).unwrap_err(),
            DecodeError {
                offset: 0,
                kind: DecodeErrorKind::PayloadTooLarge {
                    frame_type: FrameType::Chunk,
                    len: claim,
                    max: DecoderConfig::DEFAULT_MAX_PAYLOAD_LEN
                }
            }
        );
    }
    let mut big_json = message(b"");
    big_json[8..16].copy_from_slice(&(2u64 << 20).to_be_bytes());
    assert!(matches!(
        put().decode(&big_json[..16]).unwrap_err().kind,
        DecodeErrorKind::PayloadTooLarge {
            frame_type: FrameType::MessageJson,
            ..
        }
    ));
}

#[test]
fn limits_are_configurable() {
    let config = DecoderConfig::new(BodyKind::UploadSessionStream).with_max_payload_len(3);
    let mut decoder = FrameDecoder::new(config);
    assert_eq!(decode_all(&mut decoder, &chunk(b"abc")).unwrap().len(), 1);
    let mut decoder = FrameDecoder::new(config);
    assert!(matches!(
        decode_all(&mut decoder, &chunk(b"abcd")).unwrap_err().kind,
        DecodeErrorKind::PayloadTooLarge { len: 4, max: 3, .. }
    ));
    let config = DecoderConfig::new(BodyKind::PutChunkedFile).with_max_message_len(1);
    assert!(FrameDecoder::new(config).decode(&message(b"{}")).is_err());
}

#[test]
fn chunk_ids_are_verified_unless_switched_off() {
    let mut forged = chunk(b"abc");
    let last = forged.len() - 1;
    forged[last] = b'd';
    let err = decode_all(&mut session(), &[chunk(b"ok"), forged.clone()].concat()).unwrap_err();
    assert_eq!(
        err,
        DecodeError {
            offset: 34,
            kind: DecodeErrorKind::ChunkIdMismatch {
                declared: ChunkId::of(b"abc"),
                actual: ChunkId::of(b"abd")
            }
        }
    );
    assert!(err.to_string().starts_with("at byte offset 34: "));
    let unchecked =
        DecoderConfig::new(BodyKind::UploadSessionStream).with_chunk_id_verification(false);
    let frames = decode_all(&mut FrameDecoder::new(unchecked), &forged).unwrap();
    assert_eq!(frames[0].1, b"abd");
}

#[test]
fn errors_are_sticky() {
    let mut decoder = session();
    let bad = naive_frame(0, &[], &[]);
    let first = decoder.decode(&bad).unwrap_err();
    assert_eq!(decoder.decode(&chunk(b"a")).unwrap_err(), first);
    assert_eq!(decoder.finish(0).unwrap_err(), first);
}

#[test]
fn truncated_input_is_reported_where_the_frame_starts() {
    let body = [chunk(b"abc"), chunk(b"defg")].concat();
    let err = decode_all(&mut session(), &body[..body.len() - 1]).unwrap_err();
    assert_eq!(
        err,
        DecodeError {
            offset: 35,
            kind: DecodeErrorKind::Truncated { available: 35 }
        }
    );
}

#[test]
fn partial_asks_for_header_then_prefix_then_frame() {
    let frame = chunk(b"abcdef");
    let mut decoder = session();
    let needs: Vec<_> = (0..frame.len())
        .map(|n| match decoder.decode(&frame[..n]).unwrap() {
            Decoded::Partial { needed } => needed,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(needs[..16].iter().all(|&n| n == 16));
    assert!(needs[16..32].iter().all(|&n| n == 32));
    assert!(needs[32..].iter().all(|&n| n == 38));
    assert_eq!(decoder.offset(), 0);
}

#[test]
fn decode_prefix_streams_payloads() {
    let body = [chunk(b"abc"), chunk(b"de")].concat();
    let mut decoder = session();
    let mut at = 0usize;
    let mut seen = Vec::new();
    while let PrefixDecoded::Prefix { offset, prefix } = decoder.decode_prefix(&body[at..]).unwrap()
    {
        assert_eq!(offset, at as u64);
        at += prefix.len() + prefix.payload_len as usize;
        seen.push(prefix);
        if at == body.len() {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            FramePrefix::chunk(ChunkId::of(b"abc"), 3),
            FramePrefix::chunk(ChunkId::of(b"de"), 2)
        ]
    );
    assert_eq!(decoder.frames(), 2);
    assert!(decoder.finish(0).is_ok());
}

/// A random valid frame for `body`.
fn arb_frame() -> impl Strategy<Value = (u8, Vec<u8>, u64, bool)> {
    (
        0u8..2,
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<u64>(),
        any::<bool>(),
    )
}

/// Encodes `specs` as a body of `kind` with the naive encoder; returns bytes and expected frames.
fn build(
    kind: BodyKind,
    specs: &[(u8, Vec<u8>, u64, bool)],
) -> (Vec<u8>, Vec<(FrameKind, Vec<u8>)>) {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    let mut push = |kind: FrameKind, frame: Vec<u8>, payload: &[u8]| {
        bytes.extend_from_slice(&frame);
        expected.push((kind, payload.to_vec()));
    };
    if kind == BodyKind::PutChunkedFile {
        push(
            FrameKind::MessageJson,
            message(br#"{"Signatures":[]}"#),
            br#"{"Signatures":[]}"#,
        );
    }
    for (choice, payload, offset, eoc) in specs {
        if kind == BodyKind::Unordered && *choice == 1 {
            let range = ChunkRange {
                id: ChunkId::of(payload),
                offset: offset / 2,
                len: payload.len() as u64,
                end_of_chunk: *eoc,
            };
            push(
                FrameKind::ChunkRange(range),
                naive_frame(4, &range.encode(), payload),
                payload,
            );
        } else {
            push(
                FrameKind::Chunk(ChunkId::of(payload)),
                chunk(payload),
                payload,
            );
        }
    }
    if kind == BodyKind::PutChunkedFile {
        push(FrameKind::EndFrame, end(), &[]);
    }
    (bytes, expected)
}

fn arb_kind() -> impl Strategy<Value = BodyKind> {
    prop_oneof![
        Just(BodyKind::PutChunkedFile),
        Just(BodyKind::UploadSessionStream),
        Just(BodyKind::Unordered)
    ]
}

fn split_points(len: usize, cuts: &[prop::sample::Index]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(len + 1)).collect();
    points.push(len);
    points.sort_unstable();
    points
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The caller's buffer grows by random amounts (as from a socket); frames come out whole
    /// and equal to what the naive encoder wrote.
    #[test]
    fn encode_decode_round_trip_under_random_splits(
        kind in arb_kind(),
        specs in proptest::collection::vec(arb_frame(), 0..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let (bytes, expected) = build(kind, &specs);
        let mut decoder = FrameDecoder::new(DecoderConfig::new(kind));
        let mut buffer: Vec<u8> = Vec::new();
        let mut from = 0;
        let mut got = Vec::new();
        for point in split_points(bytes.len(), &cuts) {
            buffer.extend_from_slice(&bytes[from..point]);
            from = point;
            loop {
                match decoder.decode(&buffer).unwrap() {
                    Decoded::Frame(frame) => {
                        let n = frame.encoded_len();
                        got.push((frame.kind, frame.payload.to_vec()));
                        buffer.drain(..n);
                    }
                    Decoded::Partial { needed } => { prop_assert!(needed > buffer.len()); break; }
                    Decoded::Done => break,
                }
            }
        }
        decoder.finish(buffer.len() as u64).unwrap();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(decoder.offset(), bytes.len() as u64);
    }

    /// The same through the encoder under test: prefixes written by `FramePrefix::write_to`.
    #[test]
    fn encoder_output_equals_the_naive_encoding(
        payload in proptest::collection::vec(any::<u8>(), 0..100),
        offset in any::<u64>(),
        eoc in any::<bool>(),
    ) {
        let id = ChunkId::of(&payload);
        let mut buf = [0u8; 64];
        let n = FramePrefix::chunk(id, payload.len() as u64).write_to(&mut buf).unwrap();
        prop_assert_eq!(&[&buf[..n], &payload[..]].concat(), &chunk(&payload));
        let range = ChunkRange { id, offset: offset / 2, len: payload.len() as u64, end_of_chunk: eoc };
        let n = FramePrefix::chunk_range(range).write_to(&mut buf).unwrap();
        prop_assert_eq!(&[&buf[..n], &payload[..]].concat(), &naive_frame(4, &range.encode(), &payload));
    }

    /// Random bytes, fed in random pieces with any configuration: an error or frames, never a
    /// panic, and never a frame larger than the limit.
    #[test]
    fn never_panics_on_random_bytes(
        kind in arb_kind(),
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        verify in any::<bool>(),
        max in 0u64..512,
    ) {
        let config = DecoderConfig::new(kind)
            .with_max_payload_len(max)
            .with_max_message_len(max)
            .with_chunk_id_verification(verify);
        let mut decoder = FrameDecoder::new(config);
        let mut start = 0;
        'outer: for point in split_points(bytes.len(), &cuts) {
            loop {
                match decoder.decode(&bytes[start..point.max(start)]) {
                    Ok(Decoded::Frame(frame)) => {
                        prop_assert!(frame.payload.len() as u64 <= max);
                        start += frame.encoded_len();
                    }
                    Ok(Decoded::Partial { .. }) => break,
                    Ok(Decoded::Done) | Err(_) => break 'outer,
                }
            }
        }
        let _ = decoder.finish((bytes.len() - start.min(bytes.len())) as u64);
    }

    /// Random mutations of a valid body: one changed byte is either refused or still decodes.
    #[test]
    fn mutated_bodies_never_panic(
        specs in proptest::collection::vec(arb_frame(), 1..4),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let (mut bytes, _) = build(BodyKind::PutChunkedFile, &specs);
        let i = at.index(bytes.len());
        bytes[i] = value;
        let _ = decode_all(&mut put(), &bytes);
    }
}

use std::string::ToString;
