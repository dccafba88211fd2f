//! A digest of one request's body that travels in a header of the same request (tus
//! `Upload-Checksum`): the machine names it, the transport computes it from the bytes it is
//! about to send and adds the header before the body goes out.

use alloc::format;

use sha1::Digest as _;

use crate::http::Header;

use super::base64_string;

/// The algorithms a body digest can use, by their tus names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum DigestAlgorithm {
    /// CRC-32 (IEEE), the 4-byte big-endian value: cheap, and enough to catch damage in transit.
    Crc32,
    /// SHA-1 (every tus server with the checksum extension must offer it).
    Sha1,
}

impl DigestAlgorithm {
    /// The lower-case name servers list in `Tus-Checksum-Algorithm`.
    pub const fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Crc32 => "crc32",
            DigestAlgorithm::Sha1 => "sha1",
        }
    }

    /// The algorithm called `name` (ASCII case-insensitive), if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        [DigestAlgorithm::Crc32, DigestAlgorithm::Sha1]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl core::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to compute over a request's body, and the header that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyDigest {
    /// The algorithm.
    pub algorithm: DigestAlgorithm,
    /// The header's name; its value is `{algorithm} {base64 of the digest}`.
    pub header: &'static str,
}

impl BodyDigest {
    /// A digester to feed the body's bytes, in order.
    ///
    /// ```
    /// use resumable_core::digest::{BodyDigest, DigestAlgorithm};
    /// let digest = BodyDigest { algorithm: DigestAlgorithm::Sha1, header: "Upload-Checksum" };
    /// let mut digester = digest.start();
    /// digester.update(b"hello ");
    /// digester.update(b"world");
    /// let header = digester.finish();
    /// assert_eq!(header.value, "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
    /// ```
    pub fn start(&self) -> BodyDigester {
        let state = match self.algorithm {
            DigestAlgorithm::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            DigestAlgorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
        };
        BodyDigester {
            digest: *self,
            state,
        }
    }
}

/// A body digest being computed.
#[derive(Clone, Debug)]
pub struct BodyDigester {
    digest: BodyDigest,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    Crc32(crc32fast::Hasher),
    Sha1(sha1::Sha1),
}

impl BodyDigester {
    /// Feeds the next bytes of the body.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Crc32(hasher) => hasher.update(bytes),
            State::Sha1(hasher) => hasher.update(bytes),
        }
    }

    /// The header to send with the body.
    ///
    /// ```
    /// use resumable_core::digest::{BodyDigest, DigestAlgorithm};
    /// let digest = BodyDigest { algorithm: DigestAlgorithm::Crc32, header: "Upload-Checksum" };
    /// let mut digester = digest.start();
    /// digester.update(b"hello world");
    /// // CRC-32 0x0d4a1185, big-endian, in base64.
    /// assert_eq!(digester.finish().value, "crc32 DUoRhQ==");
    /// ```
    pub fn finish(self) -> Header {
        let encoded = match self.state {
            State::Crc32(hasher) => base64_string(&hasher.finalize().to_be_bytes()),
            State::Sha1(hasher) => base64_string(&hasher.finalize()),
        };
        Header::new(
            self.digest.header,
            format!("{} {encoded}", self.digest.algorithm.name()),
        )
    }
}
