#![cfg(feature = "alloc")]
//! A whole WOPI upload session through the public API: the client describes the framed stream
//! with the segment map and sends it in ranges of random sizes; the host decodes the requests
//! with a buffered decoder, then takes the commit body apart and rebuilds the file from its
//! signature.

use std::collections::HashMap;

use bytes::Bytes;
use proptest::prelude::*;
use resumable_core::http::{Body, Segment};
use resumable_core::range::ByteRange;
use resumable_core::secret::Secret;
use resumable_core::wopi::{
    BodyKind, BufferedDecoder, ChunkId, ChunkSignature, ChunkingScheme, DecoderConfig, FrameKind,
    MAIN_CONTENT, PutChunkedFileMessage, StreamChunk, StreamSignature, UploadStream,
    decode_put_chunked_file, put_chunked_file_body,
};

/// What a transport does with a body: reads each source range and sends the bytes.
fn send(source: &[u8], body: &Body) -> Vec<u8> {
    let Body::Segments(segments) = body else {
        panic!("WOPI bodies are segments")
    };
    let mut out = Vec::new();
    for segment in segments {
        match segment {
            Segment::Inline(bytes) => out.extend_from_slice(bytes),
            Segment::Source(r) => {
                out.extend_from_slice(&source[r.start() as usize..r.end() as usize])
            }
        }
    }
    out
}

/// The host's side: chunks stored by id, and the session's decoder.
struct Host {
    session: BufferedDecoder,
    received: u64,
    chunks: HashMap<ChunkId, Bytes>,
}

impl Host {
    fn new() -> Host {
        Host {
            session: BufferedDecoder::new(DecoderConfig::new(BodyKind::UploadSessionStream)),
            received: 0,
            chunks: HashMap::new(),
        }
    }

    /// `UpdateUploadSession`: the offset must be where the host is.
    fn update(&mut self, offset: u64, body: Vec<u8>) -> u64 {
        assert_eq!(offset, self.received, "ranges go in order");
        self.received += body.len() as u64;
        self.session.push(Bytes::from(body));
        while let Some(frame) = self.session.next_frame().unwrap() {
            let FrameKind::Chunk(id) = frame.kind else {
                panic!("only Chunk frames in a session")
            };
            self.chunks.insert(id, frame.payload);
        }
        self.received
    }

    /// `PutChunkedFile`: the file, rebuilt from the MainContent signature.
    fn commit(&mut self, body: Vec<u8>) -> Vec<u8> {
        self.session.finish().unwrap();
        let decoded = decode_put_chunked_file(
            &Bytes::from(body),
            DecoderConfig::new(BodyKind::PutChunkedFile),
        )
        .unwrap();
        assert!(decoded.message.upload_session_token_to_commit.is_some());
        for (id, payload) in decoded.chunks {
            self.chunks.insert(id, payload);
        }
        let main = decoded.message.main_content().unwrap();
        let mut file = Vec::new();
        for chunk in &main.chunk_signatures {
            let bytes = &self.chunks[&chunk.chunk_id];
            assert_eq!(bytes.len() as u64, chunk.length);
            file.extend_from_slice(bytes);
        }
        file
    }
}

fn upload(file: &[u8], cuts: &[usize], request_sizes: &[u64], inline_last: bool) -> Vec<u8> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(file.len())).collect();
    points.extend([0, file.len()]);
    points.sort_unstable();
    points.dedup();
    let chunks: Vec<StreamChunk> = points
        .windows(2)
        .map(|w| StreamChunk {
            id: ChunkId::of(&file[w[0]..w[1]]),
            source_offset: w[0] as u64,
            len: (w[1] - w[0]) as u64,
        })
        .collect();
    // The last chunk may be left out of the session and sent inline with the commit.
    let (in_session, inline) = match (inline_last, chunks.split_last()) {
        (true, Some((last, rest))) => (rest.to_vec(), vec![*last]),
        _ => (chunks.clone(), Vec::new()),
    };
    let stream = UploadStream::from_chunks(in_session).unwrap();
    let mut host = Host::new();
    let mut offset = 0;
    for size in request_sizes.iter().cycle() {
        let Some(range) = ByteRange::with_len(offset, (*size).min(stream.len() - offset)) else {
            break;
        };
        let body = Body::Segments(stream.segments(range).unwrap());
        assert_eq!(body.len(), range.len());
        offset = host.update(offset, send(file, &body));
    }
    let message = PutChunkedFileMessage::new(vec![StreamSignature {
        stream_id: MAIN_CONTENT.into(),
        chunking_scheme: if chunks.len() == 1 {
            ChunkingScheme::FullFile
        } else {
            ChunkingScheme::Zip
        },
        chunk_signatures: chunks
            .iter()
            .map(|c| ChunkSignature {
                chunk_id: c.id,
                length: c.len,
            })
            .collect(),
    }])
    .with_session_token(Secret::new("session"));
    let commit = Body::Segments(put_chunked_file_body(&message, &inline).unwrap());
    host.commit(send(file, &commit))
}

#[test]
fn a_full_file_upload_in_10_byte_requests() {
    let file: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(upload(&file, &[], &[10], false), file);
    assert_eq!(upload(&file, &[], &[10], true), file);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_host_rebuilds_the_file(
        file in proptest::collection::vec(any::<u8>(), 1..2000),
        cuts in proptest::collection::vec(0usize..2000, 0..6),
        request_sizes in proptest::collection::vec(1u64..300, 1..8),
        inline_last in any::<bool>(),
    ) {
        prop_assert_eq!(upload(&file, &cuts, &request_sizes, inline_last), file);
    }
}
