use super::*;

/// The header as the SPEC's table lays it out, written field by field.
fn naive_header(ty: u32, ext: u32, payload: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&ty.to_be_bytes());
    out[4..8].copy_from_slice(&ext.to_be_bytes());
    out[8..].copy_from_slice(&payload.to_be_bytes());
    out
}

#[test]
fn headers_match_the_wire_layout() {
    let cases = [
        (FramePrefix::end_frame(), naive_header(1, 0, 0)),
        (FramePrefix::message_json(300), naive_header(2, 0, 300)),
        (
            FramePrefix::chunk(ChunkId::from_bytes([9; 16]), 1 << 40),
            naive_header(3, 16, 1 << 40),
        ),
    ];
    for (prefix, header) in cases {
        assert_eq!(prefix.header().encode(), header);
        assert_eq!(&prefix.encode()[..16], &header);
        assert_eq!(FrameHeader::parse(&header), Ok(prefix.header()));
    }
}

#[test]
fn chunk_range_layout() {
    let range = ChunkRange {
        id: ChunkId::from_bytes([7; 16]),
        offset: 0x0102_0304_0506_0708,
        len: 5,
        end_of_chunk: true,
    };
    let bytes = FramePrefix::chunk_range(range).encode();
    assert_eq!(bytes.len(), 52);
    assert_eq!(&bytes[..16], &naive_header(4, 36, 5));
    assert_eq!(&bytes[16..32], &[7; 16]);
    assert_eq!(&bytes[32..40], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&bytes[40..48], &5u64.to_be_bytes());
    assert_eq!(&bytes[48..52], &[0, 0, 0, 1]);
    assert_eq!(
        FramePrefix::parse(&bytes),
        Ok(Some(FramePrefix::chunk_range(range)))
    );
    let inside = ChunkRange {
        end_of_chunk: false,
        ..range
    };
    assert_eq!(
        &FramePrefix::chunk_range(inside).encode()[48..],
        &[0, 0, 0, 0]
    );
}

#[test]
fn refuses_invalid_headers() {
    let cases: &[([u8; 16], FrameError)] = &[
        (naive_header(0, 0, 0), FrameError::UndefinedType),
        (naive_header(5, 0, 0), FrameError::UnknownType(5)),
        (
            naive_header(u32::MAX, 0, 0),
            FrameError::UnknownType(u32::MAX),
        ),
        (
            naive_header(1, 16, 0),
            FrameError::ExtendedLength {
                frame_type: FrameType::EndFrame,
                declared: 16,
            },
        ),
        (
            naive_header(2, 1, 0),
            FrameError::ExtendedLength {
                frame_type: FrameType::MessageJson,
                declared: 1,
            },
        ),
        (
            naive_header(3, 36, 0),
            FrameError::ExtendedLength {
                frame_type: FrameType::Chunk,
                declared: 36,
            },
        ),
        (
            naive_header(4, 16, 0),
            FrameError::ExtendedLength {
                frame_type: FrameType::ChunkRange,
                declared: 16,
            },
        ),
        (
            naive_header(3, u32::MAX, 0),
            FrameError::ExtendedLength {
                frame_type: FrameType::Chunk,
                declared: u32::MAX,
            },
        ),
        (naive_header(1, 0, 1), FrameError::EndFramePayload(1)),
    ];
    for (bytes, err) in cases {
        assert_eq!(FrameHeader::parse(bytes), Err(*err));
        assert_eq!(FramePrefix::parse(bytes), Err(*err));
        assert!(!std::string::ToString::to_string(err).is_empty());
    }
}

#[test]
fn refuses_invalid_chunk_ranges() {
    let mut bytes = [0u8; 52];
    bytes[..16].copy_from_slice(&naive_header(4, 36, 5));
    bytes[40..48].copy_from_slice(&5u64.to_be_bytes());
    bytes[48..52].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(
        FramePrefix::parse(&bytes),
        Err(FrameError::ChunkRangeFlags(2))
    );
    bytes[48..52].copy_from_slice(&0u32.to_be_bytes());
    bytes[40..48].copy_from_slice(&6u64.to_be_bytes());
    assert_eq!(
        FramePrefix::parse(&bytes),
        Err(FrameError::ChunkRangeLength {
            range_len: 6,
            payload_len: 5
        })
    );
    bytes[..16].copy_from_slice(&naive_header(4, 36, u64::MAX));
    bytes[32..40].copy_from_slice(&1u64.to_be_bytes());
    bytes[40..48].copy_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(
        FramePrefix::parse(&bytes),
        Err(FrameError::ChunkRangeOverflow)
    );
}

#[test]
fn short_input_is_not_an_error_until_the_header_says_so() {
    let prefix = FramePrefix::chunk(ChunkId::of(b"x"), 1).encode();
    for n in 0..prefix.len() {
        assert_eq!(FramePrefix::parse(&prefix[..n]), Ok(None), "{n} bytes");
    }
    assert_eq!(FramePrefix::needed(&prefix[..3]), 16);
    assert_eq!(FramePrefix::needed(&prefix[..20]), 32);
    // A bad header is refused with only its 16 bytes, not waiting for an extended header.
    assert_eq!(
        FramePrefix::parse(&naive_header(3, 36, 0)),
        Err(FrameError::ExtendedLength {
            frame_type: FrameType::Chunk,
            declared: 36
        })
    );
}

#[test]
fn write_to_reports_the_size_and_leaves_the_buffer_untouched() {
    for prefix in [
        FramePrefix::end_frame(),
        FramePrefix::message_json(1),
        FramePrefix::chunk(ChunkId::of(b"a"), 1),
        FramePrefix::chunk_range(ChunkRange {
            id: ChunkId::of(b"a"),
            offset: 0,
            len: 1,
            end_of_chunk: true,
        }),
    ] {
        for size in 0..prefix.len() {
            let mut buf = [0xAAu8; 64];
            assert_eq!(
                prefix.write_to(&mut buf[..size]),
                Err(BufferTooSmall {
                    needed: prefix.len()
                })
            );
            assert_eq!(buf, [0xAA; 64]);
        }
        let mut buf = [0xAAu8; 64];
        assert_eq!(prefix.write_to(&mut buf), Ok(prefix.len()));
        assert_eq!(&buf[..prefix.len()], &*prefix.encode());
        assert_eq!(&buf[prefix.len()..], &[0xAA; 64][prefix.len()..]);
        assert_eq!(
            prefix.frame_len(),
            Some(prefix.len() as u64 + prefix.payload_len)
        );
    }
    assert_eq!(
        FramePrefix::chunk(ChunkId::of(b""), u64::MAX).frame_len(),
        None
    );
}

#[test]
fn types_round_trip_their_wire_values() {
    for ty in [
        FrameType::EndFrame,
        FrameType::MessageJson,
        FrameType::Chunk,
        FrameType::ChunkRange,
    ] {
        assert_eq!(FrameType::from_u32(ty.to_u32()), Some(ty));
    }
    assert_eq!(FrameType::MessageJson.to_string(), "MessageJSON");
    assert_eq!(FrameKind::MessageJson.chunk_id(), None);
}

use std::string::ToString;
