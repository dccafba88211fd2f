//! Fuzz target bodies, compiled with the crate so that ordinary builds and tests keep them
//! working; `fuzz/fuzz_targets/*.rs` only call them. Each panics when a property fails.
//!
//! Not part of the public API.

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
        let targets: [(&str, Target); 4] = [
            ("frame_decoder", frame_decoder_random_splits),
            ("put_chunked_file", put_chunked_file_body_decoder),
            ("segment_map", segment_map_matches_stream),
            ("chunk_id_base64", chunk_id_base64),
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
