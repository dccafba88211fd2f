use super::*;
use crate::wopi::{
    BodyKind, ChunkId, DecodeErrorKind, FrameKind, FramePrefix, StreamChunk, UploadStream,
};
use proptest::prelude::*;
use std::vec::Vec;

fn stream_of(payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        out.extend_from_slice(&FramePrefix::chunk(ChunkId::of(p), p.len() as u64).encode());
        out.extend_from_slice(p);
    }
    out
}

fn session() -> BufferedDecoder {
    BufferedDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream))
}

fn drain(decoder: &mut BufferedDecoder) -> Result<Vec<Frame<Bytes>>, DecodeError> {
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame()? {
        frames.push(frame);
    }
    Ok(frames)
}

#[test]
fn frames_inside_one_piece_are_not_copied() {
    let body = Bytes::from(stream_of(&[b"abc", b"defg"]));
    let mut decoder = session();
    decoder.push(body.clone());
    let frames = drain(&mut decoder).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].payload.as_ptr(), body[67..].as_ptr());
    assert_eq!(frames[1].offset, 35);
    assert_eq!(decoder.buffered_len(), 0);
    decoder.finish().unwrap();
}

#[test]
fn a_frame_split_across_requests_comes_out_whole() {
    let body = stream_of(&[b"hello world"]);
    let mut decoder = session();
    for byte in &body[..body.len() - 1] {
        decoder.push(Bytes::copy_from_slice(core::slice::from_ref(byte)));
        assert_eq!(decoder.next_frame().unwrap(), None);
    }
    assert_eq!(decoder.buffered_len(), body.len() - 1);
    assert_eq!(
        decoder.finish().unwrap_err().kind,
        DecodeErrorKind::Truncated {
            available: body.len() as u64 - 1
        }
    );
    decoder.push(Bytes::copy_from_slice(&body[body.len() - 1..]));
    let frame = decoder.next_frame().unwrap().unwrap();
    assert_eq!(frame.kind, FrameKind::Chunk(ChunkId::of(b"hello world")));
    assert_eq!(frame.payload, Bytes::from_static(b"hello world"));
    assert_eq!(decoder.offset(), body.len() as u64);
    decoder.finish().unwrap();
}

#[test]
fn a_hostile_header_is_refused_before_its_payload_arrives() {
    let mut header = FramePrefix::chunk(ChunkId::of(b""), 0).encode().to_vec();
    header[8..16].copy_from_slice(&(1u64 << 63).to_be_bytes());
    let mut decoder = session();
    decoder.push(Bytes::copy_from_slice(&header[..10]));
    assert_eq!(decoder.next_frame().unwrap(), None);
    decoder.push(Bytes::copy_from_slice(&header[10..16]));
    let err = decoder.next_frame().unwrap_err();
    assert!(matches!(err.kind, DecodeErrorKind::PayloadTooLarge { len, .. } if len == 1 << 63));
    // Later calls repeat the error.
    assert_eq!(decoder.next_frame().unwrap_err(), err);
}

#[test]
fn put_chunked_file_ends_at_end_frame() {
    let mut body = FramePrefix::message_json(2).encode().to_vec();
    body.extend_from_slice(b"{}");
    body.extend_from_slice(&FramePrefix::end_frame().encode());
    body.extend_from_slice(b"ignored");
    let mut decoder = BufferedDecoder::new(DecoderConfig::new(BodyKind::PutChunkedFile));
    decoder.push(Bytes::from(body));
    assert_eq!(drain(&mut decoder).unwrap().len(), 2);
    assert!(decoder.is_done());
    decoder.finish().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The host's view: a stream built by the segment map, cut into random request bodies,
    /// decodes to the chunks that went in.
    #[test]
    fn requests_cut_anywhere_decode_to_the_chunks(
        source in proptest::collection::vec(any::<u8>(), 0..500),
        chunk_cuts in proptest::collection::vec(0usize..500, 0..5),
        request_cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut points: Vec<usize> = chunk_cuts.iter().map(|&c| c.min(source.len())).collect();
        points.extend([0, source.len()]);
        points.sort_unstable();
        let chunks: Vec<StreamChunk> = points.windows(2).map(|w| StreamChunk {
            id: ChunkId::of(&source[w[0]..w[1]]), source_offset: w[0] as u64, len: (w[1] - w[0]) as u64,
        }).collect();
        let stream = UploadStream::from_chunks(chunks.clone()).unwrap().materialise(&source).unwrap();
        let mut cuts: Vec<usize> = request_cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cuts.extend([0, stream.len()]);
        cuts.sort_unstable();
        let mut decoder = session();
        let mut got = Vec::new();
        for w in cuts.windows(2) {
            decoder.push(Bytes::copy_from_slice(&stream[w[0]..w[1]]));
            got.extend(drain(&mut decoder).unwrap());
        }
        decoder.finish().unwrap();
        prop_assert_eq!(got.len(), chunks.len());
        for (frame, chunk) in got.iter().zip(&chunks) {
            prop_assert_eq!(frame.kind, FrameKind::Chunk(chunk.id));
            let start = chunk.source_offset as usize;
            prop_assert_eq!(&frame.payload[..], &source[start..start + chunk.len as usize]);
        }
    }
}
