//! `resumable wopi decode` on `ChunkRange` frames: each is listed with its ChunkId, offset,
//! length and EndOfChunk flag; an upload-session stream, which may hold only `Chunk` frames,
//! refuses them at their offset.

use std::process::{Command, Output};

use resumable_core::wopi::{ChunkId, ChunkRange, FramePrefix};

fn decode(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resumable"))
        .args(["wopi", "decode"])
        .args(args)
        .output()
        .unwrap()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(5) as u8 ^ seed)
        .collect()
}

/// A `Chunk` frame for `whole`, then `cuts` of `part` as `ChunkRange` frames; with the
/// offset at which each frame starts.
fn stream(whole: &[u8], part: &[u8], cuts: &[(usize, usize)]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut starts = Vec::new();
    starts.push(bytes.len());
    bytes.extend_from_slice(&FramePrefix::chunk(ChunkId::of(whole), whole.len() as u64).encode());
    bytes.extend_from_slice(whole);
    for &(from, to) in cuts {
        let range = ChunkRange {
            id: ChunkId::of(part),
            offset: from as u64,
            len: (to - from) as u64,
            end_of_chunk: to == part.len(),
        };
        starts.push(bytes.len());
        bytes.extend_from_slice(&FramePrefix::chunk_range(range).encode());
        bytes.extend_from_slice(&part[from..to]);
    }
    (bytes, starts)
}

#[test]
fn chunk_range_frames_are_listed_with_their_fields() {
    let dir = tempfile::tempdir().unwrap();
    let whole = pattern(300, 1);
    let part = pattern(1000, 2);
    let (bytes, starts) = stream(&whole, &part, &[(0, 600), (600, 1000)]);
    let path = dir.path().join("ranges.bin");
    std::fs::write(&path, &bytes).unwrap();
    let out = decode(&["--kind".as_ref(), "any".as_ref(), path.as_os_str()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let id = ChunkId::of(&part);
    assert_eq!(
        lines,
        [
            format!(
                "{:>12}  Chunk        payload 300  ChunkId {}  matches",
                starts[0],
                ChunkId::of(&whole)
            ),
            format!(
                "{:>12}  ChunkRange   payload 600  ChunkId {id}  offset 0  length 600  inside the chunk",
                starts[1]
            ),
            format!(
                "{:>12}  ChunkRange   payload 400  ChunkId {id}  offset 600  length 400  EndOfChunk",
                starts[2]
            ),
            format!("3 frames, {} bytes (frame sequence)", bytes.len()),
        ]
    );
    // The prefixes are 32 bytes for Chunk and 52 for ChunkRange.
    assert_eq!(starts, [0, 332, 984]);
}

#[test]
fn an_upload_session_stream_refuses_chunk_range_frames_where_they_start() {
    let dir = tempfile::tempdir().unwrap();
    let whole = pattern(50, 3);
    let part = pattern(80, 4);
    let (bytes, starts) = stream(&whole, &part, &[(0, 80)]);
    let path = dir.path().join("ranges.bin");
    std::fs::write(&path, &bytes).unwrap();
    // Without --kind a body not starting with MessageJSON is read as an upload-session stream.
    for args in [
        vec![path.as_os_str()],
        vec![
            "--kind".as_ref(),
            "session-stream".as_ref(),
            path.as_os_str(),
        ],
    ] {
        let out = decode(&args);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("at byte offset {}", starts[1]))
                && stderr.contains("ChunkRange"),
            "{stderr}"
        );
    }
}
