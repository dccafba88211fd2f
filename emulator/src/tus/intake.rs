//! One request's bytes into an upload's stream, and what becomes of the upload afterwards.
//!
//! The body is written as it arrives (never gathered whole), hashed on the way when the
//! request carries an `Upload-Checksum`. What is kept depends on how the body ended:
//!
//! - whole, and the checksum (if any) matches: every byte is kept, or the first `keep` under
//!   a partial-store fault;
//! - whole, and the checksum does not match: nothing is kept (`460`);
//! - cut short (the client went away, or sent a malformed body): the prefix that arrived is
//!   kept, as tus asks a server to ("store as much of the received data as possible") and as
//!   tusd does, unless the request carried a checksum, which a prefix cannot be checked
//!   against: then nothing is kept;
//! - longer than the room left in the upload: nothing is kept (`400`).

use bytes::Bytes;
use resumable_core::digest::DigestAlgorithm;
use sha1::{Digest, Sha1};

use super::wire::Checksum;
use crate::body::BodyReader;
use crate::storage::SequentialSink;

/// How a body ended.
#[derive(Debug)]
pub(super) enum Ending {
    /// Read to its end, and its checksum (if any) matched.
    Whole,
    /// It ended early or broke; the prefix that arrived is kept unless a checksum was given.
    Interrupted,
    /// It went past the room left in the upload; nothing is kept.
    TooLong,
    /// Its checksum did not match; nothing is kept.
    ChecksumMismatch,
    /// The emulator could not store it; nothing is kept.
    StorageFailed(std::io::Error),
}

/// What a body did to the stream.
#[derive(Debug)]
pub(super) struct Intake {
    /// Body bytes read.
    pub(super) read: u64,
    /// Bytes kept in the stream.
    pub(super) stored: u64,
    pub(super) ending: Ending,
}

/// What a body may do.
pub(super) struct Rules {
    /// The most bytes the upload can still take (its length less its offset, or the largest
    /// upload less its offset while the length is unknown).
    pub(super) room: u64,
    /// The digest the whole body must have.
    pub(super) checksum: Option<Checksum>,
    /// Keep only this many bytes (a partial-store fault).
    pub(super) keep: Option<u64>,
}

/// A running body digest for `Upload-Checksum`.
enum Digester {
    Crc32(crc32fast::Hasher),
    Sha1(Box<Sha1>),
}

impl Digester {
    fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Crc32 => Digester::Crc32(crc32fast::Hasher::new()),
            DigestAlgorithm::Sha1 => Digester::Sha1(Box::default()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Digester::Crc32(hasher) => hasher.update(data),
            Digester::Sha1(hasher) => hasher.update(data),
        }
    }

    /// The digest as tus writes it: CRC-32 as 4 big-endian bytes, SHA-1 as 20 bytes.
    fn finish(self) -> Vec<u8> {
        match self {
            Digester::Crc32(hasher) => hasher.finalize().to_be_bytes().to_vec(),
            Digester::Sha1(hasher) => hasher.finalize().to_vec(),
        }
    }
}

/// Reads the rest of `body` into `sink` by `rules`; the stream is left holding exactly the
/// bytes the [`Intake`] says were stored (on disk, flushed).
pub(super) async fn receive(
    body: &mut BodyReader<'_>,
    sink: &mut SequentialSink,
    rules: Rules,
) -> Intake {
    let checkpoint = sink.checkpoint();
    let mut digester = rules.checksum.as_ref().map(|c| Digester::new(c.algorithm));
    let limit = rules.keep.unwrap_or(u64::MAX);
    let mut stored = 0u64;
    let mut ending = Ending::Whole;
    loop {
        let data: Bytes = match body.next().await {
            Ok(Some(data)) => data,
            Ok(None) => break,
            Err(_) => {
                ending = Ending::Interrupted;
                break;
            }
        };
        if body.read() > rules.room {
            // Refused without reading the rest: the connection closes after the answer.
            ending = Ending::TooLong;
            break;
        }
        if let Some(digester) = &mut digester {
            digester.update(&data);
        }
        let take = (limit - stored).min(data.len() as u64) as usize;
        if take == 0 {
            continue;
        }
        if let Err(error) = sink.write(&data.slice(..take)).await {
            ending = Ending::StorageFailed(error);
            break;
        }
        stored += take as u64;
    }
    if let (Ending::Whole, Some(digester), Some(checksum)) = (&ending, digester, &rules.checksum)
        && digester.finish() != checksum.digest
    {
        ending = Ending::ChecksumMismatch;
    }
    let keeps_nothing = match ending {
        Ending::Whole => false,
        Ending::Interrupted => rules.checksum.is_some(),
        Ending::TooLong | Ending::ChecksumMismatch | Ending::StorageFailed(_) => true,
    };
    if !keeps_nothing && let Err(error) = sink.flush().await {
        ending = Ending::StorageFailed(error);
    }
    if keeps_nothing || matches!(ending, Ending::StorageFailed(_)) {
        // A stream that cannot be cut back keeps bytes past its length on disk: its length
        // and hashes are rolled back all the same, and the next write overwrites them.
        let _ = sink.rollback(checkpoint).await;
        stored = 0;
    }
    Intake {
        read: body.read(),
        stored,
        ending,
    }
}
