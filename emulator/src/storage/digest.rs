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

/// Standard base64 with padding, as WOPI hosts write `SHA256` and Graph writes `quickXorHash`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        let hashes = SourceHashes::of(b"hello world");
        assert_eq!(
            base64(&hashes.quick_xor),
            hashes.quick_xor_base64().as_str()
        );
    }
}
