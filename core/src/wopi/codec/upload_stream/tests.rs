use super::*;
use crate::fuzz_targets::concat_segments;
use crate::http::Segment;
use proptest::prelude::*;
use std::vec::Vec;

/// The model: the whole stream, built by hand from the SPEC's layout.
fn naive_stream(source: &[u8], chunks: &[StreamChunk]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(&3u32.to_be_bytes());
        out.extend_from_slice(&16u32.to_be_bytes());
        out.extend_from_slice(&c.len.to_be_bytes());
        out.extend_from_slice(c.id.as_bytes());
        let start = c.source_offset as usize;
        out.extend_from_slice(&source[start..start + c.len as usize]);
    }
    out
}

fn range(start: u64, end: u64) -> ByteRange {
    ByteRange::new(start, end).unwrap()
}

/// Cuts `source` at `cuts` into consecutive chunks covering all of it.
fn chunks_of(source: &[u8], cuts: &[usize]) -> Vec<StreamChunk> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(source.len())).collect();
    points.push(0);
    points.push(source.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| StreamChunk {
            id: ChunkId::of(&source[w[0]..w[1]]),
            source_offset: w[0] as u64,
            len: (w[1] - w[0]) as u64,
        })
        .collect()
}

#[test]
fn a_range_inside_one_payload_is_one_source_piece() {
    let source = [7u8; 100];
    let stream = UploadStream::from_chunks(chunks_of(&source, &[60])).unwrap();
    assert_eq!(stream.len(), 164);
    assert_eq!(
        stream.segments(range(40, 80)).unwrap(),
        [Segment::Source(range(8, 48))]
    );
    assert_eq!(
        stream.segments(range(124, 164)).unwrap(),
        [Segment::Source(range(60, 100))]
    );
    // From the second frame's prefix into its payload.
    let segments = stream.segments(range(92, 132)).unwrap();
    assert!(matches!(&segments[0], Segment::Inline(b) if b.len() == 32));
    assert_eq!(segments[1], Segment::Source(range(60, 68)));
}

#[test]
fn ranges_past_the_end_are_refused() {
    let source = [1u8; 10];
    let stream = UploadStream::from_chunks(chunks_of(&source, &[])).unwrap();
    assert_eq!(
        stream.segments(range(0, 43)),
        Err(StreamError::OutOfRange {
            range: range(0, 43),
            stream_len: 42
        })
    );
    assert!(stream.segments(range(41, 42)).is_ok());
}

#[test]
fn empty_stream_and_empty_chunks() {
    let stream = UploadStream::from_chunks([]).unwrap();
    assert!(stream.is_empty());
    assert_eq!(stream.frame_at(0), None);
    let empty = StreamChunk {
        id: ChunkId::of(b""),
        source_offset: 0,
        len: 0,
    };
    let stream = UploadStream::from_chunks([empty, empty]).unwrap();
    // Two bare prefixes side by side come out as one inline segment.
    let segments = stream.segments(range(10, 60)).unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(
        concat_segments(&[], &segments),
        naive_stream(&[], &[empty, empty])[10..60]
    );
}

#[test]
fn overflow_is_refused_at_layout() {
    let huge = StreamChunk {
        id: ChunkId::of(b""),
        source_offset: 0,
        len: u64::MAX - 20,
    };
    assert_eq!(
        UploadStream::from_chunks([huge]).unwrap_err(),
        StreamError::TooLong
    );
    let past = StreamChunk {
        source_offset: 100,
        ..huge
    };
    assert_eq!(
        UploadStream::from_chunks([past]).unwrap_err(),
        StreamError::SourceOverflow { index: 0 }
    );
}

#[test]
fn frame_at_finds_the_frame_holding_a_byte() {
    let source = [0u8; 30];
    let stream = UploadStream::from_chunks(chunks_of(&source, &[10, 20])).unwrap();
    // Frames are 42 bytes each.
    assert_eq!(stream.frame_at(0), Some(0));
    assert_eq!(stream.frame_at(41), Some(0));
    assert_eq!(stream.frame_at(42), Some(1));
    assert_eq!(stream.frame_at(125), Some(2));
    assert_eq!(stream.frame_at(126), None);
    assert_eq!(stream.frames()[2].stream_offset, 84);
}

#[test]
fn a_large_table_is_searched_not_walked() {
    // 100 000 chunks; a lookup near the end touches only the frames in the range.
    let chunks: Vec<StreamChunk> = (0..100_000u64)
        .map(|i| StreamChunk {
            id: ChunkId::from_hash((i, i)),
            source_offset: i * 10,
            len: 10,
        })
        .collect();
    let stream = UploadStream::from_chunks(chunks).unwrap();
    let start = 99_998 * 42 + 5;
    let pieces: Vec<StreamPiece> = stream.pieces(range(start, start + 50)).unwrap().collect();
    // 27 prefix bytes, the 10 payload bytes, 13 bytes of the next prefix.
    assert_eq!(pieces.len(), 3);
    assert_eq!(pieces[1], StreamPiece::Source(range(999_980, 999_990)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any range, as segments, is exactly those bytes of the materialised stream; and the
    /// pieces never hold an empty segment.
    #[test]
    fn segments_equal_the_materialised_stream(
        source in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0usize..600, 0..8),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let chunks = chunks_of(&source, &cuts);
        let stream = UploadStream::from_chunks(chunks.clone()).unwrap();
        let whole = naive_stream(&source, &chunks);
        prop_assert_eq!(stream.len(), whole.len() as u64);
        prop_assert_eq!(stream.materialise(&source).unwrap(), whole.clone());
        let (x, y) = (a.index(whole.len() + 1), b.index(whole.len() + 1));
        let (start, end) = (x.min(y), x.max(y));
        if let Some(r) = ByteRange::new(start as u64, end as u64) {
            let segments = stream.segments(r).unwrap();
            prop_assert!(segments.iter().all(|s| !s.is_empty()));
            prop_assert_eq!(concat_segments(&source, &segments), whole[start..end].to_vec());
            // The no-alloc pieces say the same.
            let mut joined = Vec::new();
            for piece in stream.pieces(r).unwrap() {
                prop_assert!(!piece.is_empty());
                match piece {
                    StreamPiece::Prefix(p) => joined.extend_from_slice(&p),
                    StreamPiece::Source(s) => joined.extend_from_slice(&source[s.start() as usize..s.end() as usize]),
                }
            }
            prop_assert_eq!(joined, whole[start..end].to_vec());
        }
    }

    /// Sending the stream in consecutive ranges of random sizes reproduces it (the engine's use).
    #[test]
    fn consecutive_ranges_reassemble_the_stream(
        source in proptest::collection::vec(any::<u8>(), 1..400),
        cuts in proptest::collection::vec(0usize..400, 0..5),
        sizes in proptest::collection::vec(1u64..100, 1..20),
    ) {
        let chunks = chunks_of(&source, &cuts);
        let stream = UploadStream::from_chunks(chunks.clone()).unwrap();
        let mut sent = Vec::new();
        let mut at = 0u64;
        for size in sizes.iter().cycle() {
            if at == stream.len() { break; }
            let r = ByteRange::with_len(at, (*size).min(stream.len() - at)).unwrap();
            sent.extend(concat_segments(&source, &stream.segments(r).unwrap()));
            at = r.end();
        }
        prop_assert_eq!(sent, naive_stream(&source, &chunks));
    }
}
