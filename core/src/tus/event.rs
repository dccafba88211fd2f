//! What a [`TusUpload`](super::TusUpload) reports, and why one fails.

use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::digest::DigestAlgorithm;
use crate::range::ByteRange;
use crate::retry::GiveUp;
use crate::secret::SecretUrl;
use crate::session::failure::{loss_line, retry_line};
use crate::session::{Failure, Violation};
use crate::time::{Duration, Instant};

use super::config::{ConfigError, Variant};

/// What the server offers, from its `OPTIONS` answer (tus) or assumed (the draft has no
/// discovery).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerOffer {
    /// `creation`.
    pub creation: bool,
    /// `creation-with-upload`.
    pub creation_with_upload: bool,
    /// `creation-defer-length`.
    pub defer_length: bool,
    /// `termination` (`DELETE`).
    pub termination: bool,
    /// `expiration`.
    pub expiration: bool,
    /// The checksum algorithm chosen from `Tus-Checksum-Algorithm`, if any is used.
    pub checksum: Option<DigestAlgorithm>,
    /// `Tus-Max-Size`.
    pub max_size: Option<u64>,
}

/// The stored upload, as far as the protocol can tell.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TusCompletion {
    /// The upload's URL (it names the stored file on many servers; a credential on some).
    pub url: SecretUrl,
    /// Bytes stored: the server's offset, equal to the source's size, confirmed by a `HEAD`
    /// after the last request.
    pub length: u64,
    /// Uploads made (more than one: the server lost one and the bytes went again).
    pub uploads: u32,
    /// The checksum algorithm every request's bytes were checked with by the server, if one
    /// was used throughout.
    pub checksum: Option<DigestAlgorithm>,
}

impl fmt::Debug for TusCompletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TusCompletion")
            .field("url", &self.url)
            .field("length", &self.length)
            .field("uploads", &self.uploads)
            .field("checksum", &self.checksum)
            .finish()
    }
}

/// Why an upload was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LossCause {
    /// The server answered `404`, `410` or `403` for it.
    Gone(u16),
    /// Its `Upload-Expires` (or `Upload-Limit: max-age`) passed.
    Expired,
    /// The server holds bytes of it that cannot be checked against the source (the source's
    /// modification time changed since the checkpoint).
    Unverifiable {
        /// Bytes the server holds.
        held: u64,
    },
}

impl fmt::Display for LossCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossCause::Gone(status) => {
                write!(f, "the server no longer has the upload (HTTP {status})")
            }
            LossCause::Expired => f.write_str("the upload expired"),
            LossCause::Unverifiable { held } => write!(
                f,
                "the server holds {held} bytes that cannot be checked against the source (it was modified since the checkpoint)"
            ),
        }
    }
}

/// What a [`TusUpload`](super::TusUpload) reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TusEvent {
    /// The server said what it offers.
    Discovered(ServerOffer),
    /// An upload was created on the server (the `number`th: more than one after a loss).
    UploadCreated {
        /// Uploads so far, this one included.
        number: u32,
        /// Its URL; prints redacted.
        url: SecretUrl,
    },
    /// The server confirmed bytes.
    Acknowledged {
        /// Bytes the server holds.
        confirmed: u64,
        /// The source's size, if known.
        total: Option<u64>,
    },
    /// The server rejected a request's bytes as damaged (checksum mismatch): they go again.
    ChecksumMismatch {
        /// The bytes.
        range: ByteRange,
        /// The status it answered (`460`; `417` from some servers).
        status: u16,
    },
    /// A retry was scheduled.
    RetryScheduled {
        /// What failed.
        reason: Failure,
        /// When the retry goes.
        at: Instant,
        /// How long from now.
        delay: Duration,
    },
    /// The client asked the server where it is and goes on from there.
    Resynchronised {
        /// Bytes the server holds.
        confirmed: u64,
    },
    /// A request was refused as too large (`413`); requests are smaller from now on.
    ChunkShrunk {
        /// The new request size.
        chunk_size: u64,
    },
    /// The upload was lost on the server.
    UploadLost {
        /// Why.
        cause: LossCause,
        /// Whether a new upload follows (progress back to 0).
        starting_over: bool,
    },
    /// Every byte is on the server, confirmed by its offset after the last request.
    Completed(TusCompletion),
    /// The upload failed.
    Failed(TusError),
    /// The caller cancelled (the upload was deleted where the server allows it).
    Cancelled,
}

impl fmt::Display for TusEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TusEvent::Discovered(offer) => {
                write!(f, "server offers")?;
                let mut any = false;
                for (name, offered) in [
                    ("creation", offer.creation),
                    ("creation-with-upload", offer.creation_with_upload),
                    ("creation-defer-length", offer.defer_length),
                    ("termination", offer.termination),
                    ("expiration", offer.expiration),
                ] {
                    if offered {
                        write!(f, "{} {name}", if any { "," } else { "" })?;
                        any = true;
                    }
                }
                if !any {
                    f.write_str(" no extensions")?;
                }
                match offer.checksum {
                    Some(algorithm) => write!(f, "; checksums with {algorithm}"),
                    None => f.write_str("; no checksums"),
                }
            }
            TusEvent::UploadCreated { number, .. } => write!(f, "upload {number} created"),
            TusEvent::Acknowledged { confirmed, total } => match total {
                Some(total) => write!(f, "{confirmed} of {total} bytes confirmed"),
                None => write!(f, "{confirmed} bytes confirmed"),
            },
            TusEvent::ChecksumMismatch { range, status } => write!(
                f,
                "the server found bytes {range} damaged (HTTP {status}, checksum mismatch); sending them again"
            ),
            TusEvent::RetryScheduled { reason, delay, .. } => retry_line(f, reason, None, *delay),
            TusEvent::Resynchronised { confirmed } => {
                write!(f, "the server holds {confirmed} bytes; going on from there")
            }
            TusEvent::ChunkShrunk { chunk_size } => write!(
                f,
                "the server refused a request as too large; sending {chunk_size} bytes per request"
            ),
            TusEvent::UploadLost {
                cause,
                starting_over,
            } => {
                let cause = alloc::format!("{cause}");
                loss_line(f, &cause, *starting_over)
            }
            TusEvent::Completed(done) => write!(
                f,
                "completed: {} bytes on the server{}",
                done.length,
                match done.checksum {
                    Some(DigestAlgorithm::Crc32) => ", every request checked with crc32",
                    Some(DigestAlgorithm::Sha1) => ", every request checked with sha1",
                    None => "",
                }
            ),
            TusEvent::Failed(error) => write!(f, "failed: {error}"),
            TusEvent::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// Why a tus or IETF draft upload failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TusError {
    /// The configuration cannot make an upload.
    Config(ConfigError),
    /// The server does not speak this protocol version (`412`, or `Tus-Version` without
    /// 1.0.0).
    VersionUnsupported {
        /// What the client speaks.
        variant: Variant,
        /// The server's `Tus-Version`, if it gave one.
        server_versions: Option<String>,
    },
    /// The server does not offer what this upload needs.
    NotOffered {
        /// The extension ("creation", "creation-defer-length", "checksum with sha1").
        extension: String,
    },
    /// The upload is larger than the server accepts (`Tus-Max-Size`, `Upload-Limit`,
    /// `413` on creation).
    TooLarge {
        /// The source's size.
        total: u64,
        /// The server's limit, if it said.
        max: Option<u64>,
    },
    /// The server refused a request for good.
    Rejected {
        /// Its status.
        status: u16,
        /// What the request was ("creation", "append", "offset check").
        during: &'static str,
    },
    /// The creation answer had no usable `Location`.
    BadLocation,
    /// The server's answer contradicts what it must hold: an offset beyond the bytes sent, a
    /// length other than the source's, an offset that went back more than once.
    Violation(Violation),
    /// The server holds an upload of another length than the source's.
    LengthMismatch {
        /// The source's size.
        total: u64,
        /// The server's `Upload-Length`.
        server: u64,
    },
    /// Retries ran out.
    GaveUp {
        /// The last failure.
        last: Failure,
        /// Why no more retries.
        why: GiveUp,
    },
    /// The server lost the upload more often than the configuration allows.
    TooManyLosses {
        /// The last cause.
        cause: LossCause,
        /// Uploads made.
        uploads: u32,
    },
    /// The source could not be read.
    SourceUnreadable,
}

impl fmt::Display for TusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TusError::Config(error) => write!(f, "{error}"),
            TusError::VersionUnsupported {
                variant,
                server_versions,
            } => {
                write!(f, "the server does not speak {variant}")?;
                match server_versions {
                    Some(versions) => write!(f, " (it speaks {versions})"),
                    None => Ok(()),
                }
            }
            TusError::NotOffered { extension } => write!(
                f,
                "the server does not offer {extension}, which this upload needs"
            ),
            TusError::TooLarge { total, max } => {
                write!(f, "the file ({total} bytes) is larger than the server accepts")?;
                match max {
                    Some(max) => write!(f, " ({max} bytes at most)"),
                    None => Ok(()),
                }
            }
            TusError::Rejected { status, during } => {
                write!(f, "the server refused the {during} with HTTP {status}")
            }
            TusError::BadLocation => f.write_str(
                "the server created an upload without a usable Location (an http(s) URL without user information)",
            ),
            TusError::Violation(violation) => write!(f, "{violation}"),
            TusError::LengthMismatch { total, server } => write!(
                f,
                "the server's upload is {server} bytes long, the source {total}; delete the checkpoint to upload it again"
            ),
            TusError::GaveUp { last, why } => {
                write!(f, "{why}; the last failure: {last}{}", last.hint())
            }
            TusError::TooManyLosses { cause, uploads } => write!(
                f,
                "{cause}, and {uploads} uploads were made already; giving up"
            ),
            TusError::SourceUnreadable => f.write_str("the source could not be read"),
        }
    }
}

impl core::error::Error for TusError {}
