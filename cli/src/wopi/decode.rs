//! `resumable wopi decode FILE`: list a body's frames and check it.
//!
//! The file is read in pieces: prefixes through the core's [`FrameDecoder::decode_prefix`]
//! (which applies every ordering and size rule), payloads streamed through a SpookyHasher, so a
//! `FullFile` chunk of many gigabytes needs no more memory than a small one. Only `MessageJSON`
//! payloads are held (to print them), and the decoder caps those at 1 MiB.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use resumable_core::secret::Secret;
use resumable_core::wopi::{
    BodyKind, ChunkId, DecoderConfig, FrameDecoder, FrameKind, PrefixDecoded,
    PutChunkedFileMessage, spooky::SpookyHasher,
};

use super::{BodyArg, READ_BUFFER};
use crate::error::CliError;

/// Lists the frames of `path`; fails on the first malformed one, or at the end if any `Chunk`
/// payload differs from its ChunkId.
pub(super) fn run(path: &Path, kind: Option<BodyArg>) -> Result<(), CliError> {
    let file = File::open(path).map_err(CliError::file(path))?;
    let mut input = BufReader::with_capacity(READ_BUFFER, file);
    let mut out = io::stdout().lock();
    let mut head = Vec::with_capacity(64);
    let body = match kind {
        Some(BodyArg::PutChunkedFile) => BodyKind::PutChunkedFile,
        Some(BodyArg::SessionStream) => BodyKind::UploadSessionStream,
        Some(BodyArg::Any) => BodyKind::Unordered,
        None => {
            fill(&mut input, &mut head, 4, path)?;
            if head.get(..4) == Some(&2u32.to_be_bytes()[..]) {
                BodyKind::PutChunkedFile
            } else {
                BodyKind::UploadSessionStream
            }
        }
    };
    // Payloads are streamed, so only the JSON needs a limit.
    let config = DecoderConfig::new(body).with_max_payload_len(u64::MAX);
    let mut decoder = FrameDecoder::new(config);
    let mut mismatches = 0u64;
    let malformed = |e: &dyn std::fmt::Display| {
        CliError::Invalid(format!("{}: malformed {body} {e}", path.display()))
    };
    let print = |out: &mut io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").map_err(CliError::output)
    };
    loop {
        match decoder.decode_prefix(&head).map_err(|e| malformed(&e))? {
            PrefixDecoded::Partial { needed } => {
                if !fill(&mut input, &mut head, needed, path)? {
                    decoder
                        .finish(head.len() as u64)
                        .map_err(|e| malformed(&e))?;
                    break;
                }
            }
            PrefixDecoded::Done => {
                let mut ignored = head.len() as u64;
                ignored += io::copy(&mut input, &mut io::sink()).map_err(CliError::file(path))?;
                if ignored > 0 {
                    print(&mut out, format!("{ignored} bytes after EndFrame ignored"))?;
                }
                break;
            }
            PrefixDecoded::Prefix { offset, prefix } => {
                // `fill` never reads past what the decoder asked for, so `head` held exactly
                // the prefix and the payload is next in `input`.
                head.clear();
                let len = prefix.payload_len;
                let mut sink = match prefix.kind {
                    FrameKind::MessageJson => PayloadSink::Keep(Vec::new()),
                    FrameKind::Chunk(_) => PayloadSink::Hash(SpookyHasher::default()),
                    FrameKind::EndFrame | FrameKind::ChunkRange(_) => PayloadSink::Skip,
                };
                let got = read_payload(&mut input, len, &mut sink, path)?;
                if got < len {
                    return Err(malformed(&format_args!(
                        "at byte offset {offset}: input ends inside a {} frame ({got} of {len} payload bytes)",
                        prefix.kind.frame_type()
                    )));
                }
                let line = match (prefix.kind, sink) {
                    (FrameKind::MessageJson, PayloadSink::Keep(json)) => {
                        // Other messages may hold credentials in fields this tool does not
                        // know, so only PutChunkedFile messages are shown.
                        let shown = match redacted_message(&json) {
                            Ok(shown) => shown,
                            Err(_) if body == BodyKind::Unordered => {
                                "(not a PutChunkedFile message; not shown)".to_string()
                            }
                            Err(e) => {
                                return Err(malformed(&format_args!(
                                    "at byte offset {offset}: MessageJSON is not a PutChunkedFile message: {e}"
                                )));
                            }
                        };
                        format!("{offset:>12}  MessageJSON  payload {len}  {shown}")
                    }
                    (FrameKind::Chunk(id), PayloadSink::Hash(hasher)) => {
                        let actual = ChunkId::of_hasher(&hasher);
                        let verdict = if actual == id {
                            "matches".to_string()
                        } else {
                            mismatches += 1;
                            format!("MISMATCH (payload hashes to {actual})")
                        };
                        format!("{offset:>12}  Chunk        payload {len}  ChunkId {id}  {verdict}")
                    }
                    (FrameKind::ChunkRange(range), _) => format!(
                        "{offset:>12}  ChunkRange   payload {len}  ChunkId {}  offset {}  length {}  {}",
                        range.id,
                        range.offset,
                        range.len,
                        if range.end_of_chunk {
                            "EndOfChunk"
                        } else {
                            "inside the chunk"
                        }
                    ),
                    _ => format!("{offset:>12}  EndFrame"),
                };
                print(&mut out, line)?;
            }
        }
    }
    print(
        &mut out,
        format!(
            "{} frames, {} bytes ({body})",
            decoder.frames(),
            decoder.offset()
        ),
    )?;
    if mismatches > 0 {
        return Err(CliError::Invalid(format!(
            "{}: {mismatches} Chunk payload(s) do not match their ChunkId",
            path.display()
        )));
    }
    Ok(())
}

/// The message as JSON with its session token replaced by `[redacted]`: the token lets anyone
/// commit the session, so it is never printed.
fn redacted_message(json: &[u8]) -> Result<String, serde_json::Error> {
    let mut message: PutChunkedFileMessage = serde_json::from_slice(json)?;
    if message.upload_session_token_to_commit.is_some() {
        message.upload_session_token_to_commit = Some(Secret::new("[redacted]"));
    }
    serde_json::to_string(&message)
}

/// Reads until `head` holds `needed` bytes; `false` if the input ended first.
fn fill(
    input: &mut impl Read,
    head: &mut Vec<u8>,
    needed: usize,
    path: &Path,
) -> Result<bool, CliError> {
    let mut piece = [0u8; 64];
    while head.len() < needed {
        let want = (needed - head.len()).min(piece.len());
        match input.read(&mut piece[..want]) {
            Ok(0) => return Ok(false),
            Ok(n) => head.extend_from_slice(&piece[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CliError::file(path)(e)),
        }
    }
    Ok(true)
}

/// Where a payload goes as it streams past.
#[allow(clippy::large_enum_variant)] // one lives on the stack per frame; boxing buys nothing
enum PayloadSink {
    /// Kept whole (MessageJSON, capped by the decoder's limit).
    Keep(Vec<u8>),
    /// Hashed (Chunk payloads, checked against their ChunkId).
    Hash(SpookyHasher),
    /// Read and dropped.
    Skip,
}

/// Streams up to `len` payload bytes into `sink`; returns how many there were.
fn read_payload(
    input: &mut impl Read,
    len: u64,
    sink: &mut PayloadSink,
    path: &Path,
) -> Result<u64, CliError> {
    let mut seen = 0u64;
    let mut buffer = vec![0u8; len.clamp(1, READ_BUFFER as u64) as usize];
    while seen < len {
        let want = (len - seen).min(buffer.len() as u64) as usize;
        let n = match input.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CliError::file(path)(e)),
        };
        match sink {
            PayloadSink::Keep(kept) => kept.extend_from_slice(&buffer[..n]),
            PayloadSink::Hash(hasher) => hasher.update(&buffer[..n]),
            PayloadSink::Skip => {}
        }
        seen += n as u64;
    }
    Ok(seen)
}
