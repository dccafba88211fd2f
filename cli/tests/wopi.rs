//! Runs the `resumable wopi` tools on real files.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use resumable_core::wopi::{ChunkId, StreamChunk, UploadStream};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "resumable-cli-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn resumable(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resumable"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Deterministic bytes that are not all alike.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed)) as u8
        })
        .collect()
}

#[test]
fn chunk_id_prints_id_and_length_per_file() {
    let dir = Scratch::new();
    let a = dir.file("a.txt", b"SomeRandomText");
    let big = bytes(3 << 20, 1);
    let b = dir.file("b.bin", &big);
    let out = resumable(&[
        "wopi".as_ref(),
        "chunk-id".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(&fields[..2], ["pBw0Ufss5SPFsfoEWGi2+w==", "14"]);
    let fields: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(fields[0], ChunkId::of(&big).to_string());
    assert_eq!(fields[1], (3 << 20).to_string());
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = resumable(&[
        "wopi".as_ref(),
        "chunk-id".as_ref(),
        "/nonexistent/file".as_ref(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/nonexistent/file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn session_stream_round_trip() {
    let dir = Scratch::new();
    let one = bytes(100_000, 2);
    let two = bytes(5, 3);
    let a = dir.file("one", &one);
    let empty = dir.file("empty", b"");
    let b = dir.file("two", &two);
    let out = resumable(&[
        "wopi".as_ref(),
        "encode".as_ref(),
        "--session-stream".as_ref(),
        a.as_os_str(),
        empty.as_os_str(),
        b.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The same bytes the library's segment map describes.
    let source = [one.clone(), two.clone()].concat();
    let expected = UploadStream::from_chunks([
        StreamChunk {
            id: ChunkId::of(&one),
            source_offset: 0,
            len: 100_000,
        },
        StreamChunk {
            id: ChunkId::of(&two),
            source_offset: 100_000,
            len: 5,
        },
    ])
    .unwrap()
    .materialise(&source)
    .unwrap();
    assert_eq!(out.stdout, expected);

    let stream = dir.file("stream.bin", &out.stdout);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), stream.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains(&format!(
        "Chunk        payload 100000  ChunkId {}  matches",
        ChunkId::of(&one)
    )));
    assert!(lines[1].trim_start().starts_with("100032  Chunk"), "{text}");
    assert!(lines[1].ends_with("matches"));
    assert_eq!(lines[2], "2 frames, 100069 bytes (upload-session stream)");
}

#[test]
fn put_chunked_file_round_trip() {
    let dir = Scratch::new();
    let main = bytes(70_000, 4);
    let a = dir.file("doc.docx", &main);
    let thumb = dir.file("thumbnail.png", &bytes(300, 5));
    let out = resumable(&[
        "wopi".as_ref(),
        "encode".as_ref(),
        "--put-chunked-file".as_ref(),
        a.as_os_str(),
        thumb.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = dir.file("body.bin", &out.stdout);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), body.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].contains("MessageJSON"));
    assert!(lines[0].contains(r#""StreamId":"MainContent""#));
    assert!(lines[0].contains(r#""StreamId":"thumbnail.png""#));
    assert!(lines[1].contains(&format!("ChunkId {}  matches", ChunkId::of(&main))));
    assert!(lines[2].ends_with("matches"));
    assert!(lines[3].ends_with("EndFrame"));
    assert!(lines[4].starts_with("4 frames"));
    assert!(lines[4].ends_with("(PutChunkedFile body)"));

    // With a session token the chunks stay in the session: message and EndFrame only.
    let out = resumable(&[
        "wopi".as_ref(),
        "encode".as_ref(),
        "--put-chunked-file".as_ref(),
        a.as_os_str(),
        "--session-token".as_ref(),
        "tok-9".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body = dir.file("commit.bin", &out.stdout);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), body.as_os_str()]);
    let text = stdout(&out);
    // The body carries the token; the listing shows it redacted (it is a credential).
    assert!(
        std::fs::read(&body)
            .unwrap()
            .windows(5)
            .any(|w| w == b"tok-9")
    );
    assert!(
        text.contains(r#""UploadSessionTokenToCommit":"[redacted]""#),
        "{text}"
    );
    assert!(!text.contains("tok-9"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("2 frames"));
}

#[test]
fn corrupted_payload_is_reported_and_fails() {
    let dir = Scratch::new();
    let a = dir.file("a", &bytes(1000, 6));
    let out = resumable(&[
        "wopi".as_ref(),
        "encode".as_ref(),
        "--session-stream".as_ref(),
        a.as_os_str(),
    ]);
    let mut stream = out.stdout;
    stream[500] ^= 0x40;
    let bad = dir.file("bad.bin", &stream);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), bad.as_os_str()]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("MISMATCH (payload hashes to"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("1 Chunk payload(s) do not match their ChunkId"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn truncated_stream_names_the_offset() {
    let dir = Scratch::new();
    let a = dir.file("a", &bytes(1000, 7));
    let b = dir.file("b", &bytes(10, 8));
    let out = resumable(&[
        "wopi".as_ref(),
        "encode".as_ref(),
        "--session-stream".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
    ]);
    let stream = out.stdout;
    let cut = dir.file("cut.bin", &stream[..stream.len() - 3]);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), cut.as_os_str()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "at byte offset 1032: input ends inside a Chunk frame (7 of 10 payload bytes)"
        ),
        "{err}"
    );
    // Cut inside the second header.
    let cut = dir.file("cut2.bin", &stream[..1040]);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), cut.as_os_str()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("at byte offset 1032: input ends inside a frame (8 bytes of it present)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_and_misordered_frames_are_refused_with_offsets() {
    let dir = Scratch::new();
    // A Chunk header claiming 2^63 payload bytes, with a PutChunkedFile kind forced.
    let mut hostile = Vec::new();
    hostile.extend_from_slice(&3u32.to_be_bytes());
    hostile.extend_from_slice(&16u32.to_be_bytes());
    hostile.extend_from_slice(&(1u64 << 63).to_be_bytes());
    hostile.extend_from_slice(&[0; 16]);
    let path = dir.file("hostile.bin", &hostile);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), path.as_os_str()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("at byte offset 0: input ends inside a Chunk frame (0 of 9223372036854775808 payload bytes)"), "{}", stderr(&out));
    let out = resumable(&[
        "wopi".as_ref(),
        "decode".as_ref(),
        "--kind".as_ref(),
        "put-chunked-file".as_ref(),
        path.as_os_str(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "at byte offset 0: a PutChunkedFile body must begin with a MessageJSON frame"
        ),
        "{}",
        stderr(&out)
    );
    // Type 0.
    let path = dir.file("zero.bin", &[0u8; 16]);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), path.as_os_str()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at byte offset 0: frame type 0 is undefined"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn message_json_that_is_not_a_put_chunked_file_message_is_refused() {
    let dir = Scratch::new();
    let mut body = Vec::new();
    body.extend_from_slice(&2u32.to_be_bytes());
    body.extend_from_slice(&0u32.to_be_bytes());
    body.extend_from_slice(&3u64.to_be_bytes());
    body.extend_from_slice(b"{x}");
    let path = dir.file("junk.bin", &body);
    let out = resumable(&["wopi".as_ref(), "decode".as_ref(), path.as_os_str()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at byte offset 0: MessageJSON is not a PutChunkedFile message"),
        "{}",
        stderr(&out)
    );
    // Inspecting any frames: listed, content withheld.
    let out = resumable(&[
        "wopi".as_ref(),
        "decode".as_ref(),
        "--kind".as_ref(),
        "any".as_ref(),
        path.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("MessageJSON  payload 3  (not a PutChunkedFile message; not shown)")
    );
}

#[test]
fn encode_requires_exactly_one_format() {
    let out = resumable(&["wopi".as_ref(), "encode".as_ref()]);
    assert!(!out.status.success());
    assert!(!stderr(&out).is_empty());
}
