//! The hashes a stored file is described by, taken in the pass that writes its bytes.
//!
//! Graph drive items report `quickXorHash` (every OneDrive) and, on personal OneDrive,
//! `sha1Hash` and `crc32Hash`; WOPI hosts report `SHA256` in `CheckFileInfo`, and
//! `/_emulator/files` lists the SHA-256 and the QuickXorHash. All four come from one pass over
//! the bytes as they are written, never from reading a file back twice.
//!
//! The core's [`SourceDigest`](resumable_core::digest::SourceDigest) needs the size up front.
//! A stream here learns its size only when it ends (a drive upload created without `fileSize`,
//! a WOPI session stream, whose frames are counted before anyone knows the file they make), so
//! [`ContentDigest`] counts as it goes and ends in the same [`SourceHashes`].

use resumable_core::digest::{QuickXorHash, SourceHashes};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The running hashes of an in-order stream of bytes.
///
/// The hash states take a few hundred bytes; they are boxed so that the sinks and session
/// states holding one stay small.
#[derive(Clone)]
pub(crate) struct ContentDigest(Box<Hashers>);

#[derive(Clone)]
struct Hashers {
    quick_xor: QuickXorHash,
    crc32: crc32fast::Hasher,
    sha1: Sha1,
    sha256: Sha256,
}

impl ContentDigest {
    /// The digest of nothing.
    pub(crate) fn new() -> Self {
        ContentDigest(Box::new(Hashers {
            quick_xor: QuickXorHash::new(),
            crc32: crc32fast::Hasher::new(),
            sha1: Sha1::new(),
            sha256: Sha256::new(),
        }))
    }

    /// Takes the next bytes of the stream.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        let hashers = &mut *self.0;
        hashers.quick_xor.update(bytes);
        hashers.crc32.update(bytes);
        hashers.sha1.update(bytes);
        hashers.sha256.update(bytes);
    }

    /// Bytes taken so far.
    pub(crate) fn len(&self) -> u64 {
        self.0.quick_xor.len()
    }

    /// The hashes of the bytes taken so far (the digest can go on taking more).
    pub(crate) fn hashes(&self) -> SourceHashes {
        let hashers = &*self.0;
        SourceHashes {
            size: self.len(),
            quick_xor: hashers.quick_xor.finish(),
            crc32: hashers.crc32.clone().finalize(),
            sha1: Some(hashers.sha1.clone().finalize().into()),
            sha256: Some(hashers.sha256.clone().finalize().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hash_like_the_whole() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut digest = ContentDigest::new();
        for piece in data.chunks(777) {
            digest.update(piece);
        }
        assert_eq!(digest.hashes(), SourceHashes::of(&data));
        assert_eq!(ContentDigest::new().hashes().size, 0);
    }
}
