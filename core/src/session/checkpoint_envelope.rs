//! The encoded form every checkpoint shares, whatever machine wrote it.
//!
//! A header line `resumable-checkpoint {version} {crc32 of the rest, hex}`, then the checkpoint
//! as JSON with a `protocol` field. The CRC-32 catches a truncated or damaged file before any of
//! it is trusted; the version refuses a format this build does not read; the protocol refuses a
//! checkpoint of another machine (a Graph checkpoint handed to the WOPI engine) with a typed
//! error instead of a confusing parse failure.

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::range::ByteRange;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The format version this build writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// The first bytes of an encoded checkpoint.
const MAGIC: &str = "resumable-checkpoint";

/// Encodes `checkpoint` (a struct with `version` and `protocol` fields) with the header line.
pub(crate) fn encode<T: Serialize>(version: u32, checkpoint: &T) -> Vec<u8> {
    // Serialising plain data with string keys cannot fail.
    let json = serde_json::to_vec(checkpoint).unwrap_or_default();
    let crc = crc32fast::hash(&json);
    let mut out = alloc::format!("{MAGIC} {version} {crc:08x}\n").into_bytes();
    out.extend_from_slice(&json);
    out
}

/// Decodes [`encode`] output of a `protocol` checkpoint, refusing damaged or foreign data.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    protocol: Protocol,
) -> Result<T, CheckpointError> {
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(CheckpointError::NotACheckpoint)?;
    let header =
        core::str::from_utf8(&bytes[..newline]).map_err(|_| CheckpointError::NotACheckpoint)?;
    let mut words = header.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(CheckpointError::NotACheckpoint);
    }
    let version: u32 = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or(CheckpointError::NotACheckpoint)?;
    if version != CHECKPOINT_VERSION {
        return Err(CheckpointError::UnsupportedVersion { found: version });
    }
    let expected = words
        .next()
        .filter(|w| w.len() == 8)
        .and_then(|w| u32::from_str_radix(w, 16).ok())
        .ok_or(CheckpointError::NotACheckpoint)?;
    let json = &bytes[newline + 1..];
    let found = crc32fast::hash(json);
    if found != expected {
        return Err(CheckpointError::Damaged { expected, found });
    }
    let value: Value = serde_json::from_slice(json).map_err(|_| CheckpointError::Malformed)?;
    let inner_version = value.get("version").and_then(Value::as_u64);
    if inner_version != Some(u64::from(version)) {
        return Err(CheckpointError::Malformed);
    }
    let found_protocol = value
        .get("protocol")
        .cloned()
        .and_then(|p| serde_json::from_value::<Protocol>(p).ok())
        .ok_or(CheckpointError::Malformed)?;
    if found_protocol != protocol {
        return Err(CheckpointError::WrongProtocol {
            expected: protocol,
            found: found_protocol,
        });
    }
    serde_json::from_value(value).map_err(|_| CheckpointError::Malformed)
}

/// Why encoded bytes are not a usable checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The bytes do not start with a checkpoint header.
    NotACheckpoint,
    /// Written by a build with another format version.
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// The CRC-32 does not match: the file was truncated or damaged.
    Damaged {
        /// The CRC-32 the header records.
        expected: u32,
        /// The CRC-32 of what was read.
        found: u32,
    },
    /// The CRC-32 matches but the content is not a checkpoint of this format.
    Malformed,
    /// A checkpoint of another protocol (a Graph upload given to the WOPI engine, or the
    /// reverse).
    WrongProtocol {
        /// The protocol the reader handles.
        expected: Protocol,
        /// The protocol the checkpoint belongs to.
        found: Protocol,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::NotACheckpoint => f.write_str("not a checkpoint file"),
            CheckpointError::UnsupportedVersion { found } => write!(
                f,
                "checkpoint format version {found} is not supported (this build reads {CHECKPOINT_VERSION}); start the upload again"
            ),
            CheckpointError::Damaged { .. } => {
                f.write_str("the checkpoint file is damaged (CRC mismatch); start the upload again")
            }
            CheckpointError::Malformed => {
                f.write_str("the checkpoint file is malformed; start the upload again")
            }
            CheckpointError::WrongProtocol { expected, found } => write!(
                f,
                "the checkpoint is of a {found} upload, not a {expected} upload; use the matching protocol"
            ),
        }
    }
}

impl core::error::Error for CheckpointError {}

impl CheckpointError {
    /// Why a planner refuses stored bytes that gave this error (completing "the checkpoint
    /// file ..."), when they must not be overwritten: they are not a checkpoint, or another
    /// protocol's (which holds a session of its own). `None` when the upload may start over
    /// instead (a damaged or outdated checkpoint). `ours` names the planner's kind of upload.
    pub(crate) fn refusal(&self, ours: &str) -> Option<alloc::string::String> {
        match self {
            CheckpointError::NotACheckpoint => {
                Some("is not a checkpoint file (refusing to overwrite it)".into())
            }
            CheckpointError::WrongProtocol { found, .. } => Some(alloc::format!(
                "is the checkpoint of a {found}, not of a {ours} (refusing to overwrite it)"
            )),
            _ => None,
        }
    }
}

/// Which protocol a checkpoint belongs to, so a checkpoint of another machine is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Protocol {
    /// A Microsoft Graph upload session (drive item, print document, mail attachment).
    GraphUploadSession,
    /// A WOPI upload session (`CreateUploadSession`, `UpdateUploadSession`, `PutChunkedFile`).
    WopiUploadSession,
    /// A tus 1.0 or IETF resumable-upload draft upload.
    TusUpload,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::GraphUploadSession => "Microsoft Graph upload session",
            Protocol::WopiUploadSession => "WOPI upload session",
            Protocol::TusUpload => "tus upload",
        })
    }
}

/// How the source differs from its fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceChange {
    /// Its length changed.
    Size {
        /// The recorded size.
        was: u64,
        /// The size now.
        now: u64,
    },
    /// The bytes of a fingerprinted range changed: a confirmed Graph fragment, or a WOPI chunk
    /// whose ChunkId no longer matches.
    Fragment {
        /// The fragment.
        range: ByteRange,
    },
}

/// Why a checkpoint's `verify` failed ([`graph::Checkpoint::verify`](crate::graph::Checkpoint::verify), [`wopi::WopiCheckpoint::verify`](crate::wopi::WopiCheckpoint::verify)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError<E> {
    /// The source changed since the checkpoint: restart the upload.
    Changed(SourceChange),
    /// The source could not be read.
    Read(E),
}

impl<E: fmt::Display> fmt::Display for VerifyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Changed(SourceChange::Size { was, now }) => write!(
                f,
                "the source changed size ({was} bytes, now {now}); the upload starts over"
            ),
            VerifyError::Changed(SourceChange::Fragment { range }) => write!(
                f,
                "the source changed in bytes {range}; the upload starts over"
            ),
            VerifyError::Read(error) => write!(f, "could not read the source: {error}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for VerifyError<E> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        version: u32,
        protocol: Protocol,
        note: String,
    }

    fn sample(protocol: Protocol) -> Sample {
        Sample {
            version: CHECKPOINT_VERSION,
            protocol,
            note: "x".into(),
        }
    }

    #[test]
    fn round_trip_keeps_the_value() {
        let bytes = encode(CHECKPOINT_VERSION, &sample(Protocol::WopiUploadSession));
        let back: Sample = decode(&bytes, Protocol::WopiUploadSession).unwrap();
        assert_eq!(back, sample(Protocol::WopiUploadSession));
    }

    #[test]
    fn another_protocol_is_refused_by_name() {
        let bytes = encode(CHECKPOINT_VERSION, &sample(Protocol::GraphUploadSession));
        assert_eq!(
            decode::<Sample>(&bytes, Protocol::WopiUploadSession).unwrap_err(),
            CheckpointError::WrongProtocol {
                expected: Protocol::WopiUploadSession,
                found: Protocol::GraphUploadSession,
            }
        );
    }

    #[test]
    fn a_version_inside_that_differs_from_the_header_is_malformed() {
        let mut inner = sample(Protocol::WopiUploadSession);
        inner.version = 2;
        let bytes = encode(CHECKPOINT_VERSION, &inner);
        assert_eq!(
            decode::<Sample>(&bytes, Protocol::WopiUploadSession).unwrap_err(),
            CheckpointError::Malformed
        );
    }

    #[test]
    fn every_flipped_bit_of_the_content_is_caught() {
        let bytes = encode(CHECKPOINT_VERSION, &sample(Protocol::WopiUploadSession));
        let content = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        for index in content..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[index] ^= 1 << bit;
                assert!(
                    decode::<Sample>(&damaged, Protocol::WopiUploadSession).is_err(),
                    "bit {bit} of byte {index}"
                );
            }
        }
    }
}
