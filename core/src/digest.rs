//! Hashes of the source, computed from the reads that send it, and the check of a stored copy
//! against them.
//!
//! An upload is done when the service holds the source's bytes, not when it says "created". The
//! services report hashes of what they stored: Graph drive items give `quickXorHash` (the only
//! one guaranteed on both OneDrive for home and for work or school) and, on personal OneDrive,
//! `sha1Hash` and `crc32Hash`; WOPI hosts give `SHA256` in `CheckFileInfo`. [`SourceDigest`]
//! computes all of them in one pass over the bytes the transport reads anyway, and
//! [`stored`] compares a service's answer with them.

#[cfg(feature = "alloc")]
mod body;
mod quick_xor;
mod source;
#[cfg(feature = "alloc")]
pub mod stored;

#[cfg(feature = "alloc")]
pub use body::{BodyDigest, BodyDigester, DigestAlgorithm};
#[cfg(feature = "alloc")]
pub(crate) use quick_xor::base64_string;
pub use quick_xor::{Base64, QUICK_XOR_BASE64_LEN, QUICK_XOR_LEN, QuickXorHash};
pub use source::{HashKinds, SourceDigest, SourceHashes};
