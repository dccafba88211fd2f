//! The demo's sample file: pseudo-random bytes (so no layer can compress or deduplicate them),
//! written in blocks and hashed as they are written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use resumable_core::range::ByteRange;
use resumable_reqwest::source::Source;
use sha2::{Digest, Sha256};

use crate::file_hash::hex;

/// A generated file and the SHA-256 of two of its prefixes.
pub(crate) struct Sample {
    /// SHA-256 of the whole file.
    pub(crate) sha256: String,
    /// SHA-256 of its first `short_len` bytes.
    pub(crate) short_sha256: String,
}

/// Writes `len` pseudo-random bytes from `seed` to `path`, hashing the whole file and its first
/// `short_len` bytes on the way.
pub(crate) fn write_sample(path: &Path, len: u64, short_len: u64, seed: u64) -> io::Result<Sample> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut whole = Sha256::new();
    let mut short = Sha256::new();
    let mut state = seed | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut written = 0u64;
    while written < len {
        for word in block.chunks_exact_mut(8) {
            // xorshift64*: fast, and its output does not compress.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = (len - written).min(block.len() as u64) as usize;
        let piece = &block[..n];
        out.write_all(piece)?;
        whole.update(piece);
        if written < short_len {
            let keep = (short_len - written).min(n as u64) as usize;
            short.update(&piece[..keep]);
        }
        written += n as u64;
    }
    out.flush()?;
    Ok(Sample {
        sha256: hex(&whole.finalize()),
        short_sha256: hex(&short.finalize()),
    })
}

/// The first `len` bytes of another source (the mail attachment upload takes a prefix of the
/// sample, to stay within the service's limit).
pub(crate) struct Prefix {
    inner: Arc<dyn Source>,
    len: u64,
}

impl Prefix {
    /// The first `len` bytes of `inner` (all of it if it is shorter).
    pub(crate) fn new(inner: Arc<dyn Source>, len: u64) -> Prefix {
        let len = len.min(inner.len());
        Prefix { inner, len }
    }
}

impl Source for Prefix {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.len) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read past the first {} bytes", self.len),
            ));
        }
        self.inner.read_exact_at(offset, buf)
    }

    fn slice(&self, range: ByteRange) -> Option<Bytes> {
        (range.end() <= self.len)
            .then(|| self.inner.slice(range))
            .flatten()
    }

    fn describe(&self) -> String {
        format!("the first {} bytes of {}", self.len, self.inner.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_hash::sha256_of_file;
    use resumable_reqwest::source::FileSource;

    #[test]
    fn sample_hashes_match_the_file_and_its_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample");
        let sample = write_sample(&path, 3_000_000, 1_234_567, 9).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3_000_000);
        assert_eq!(sample.sha256, sha256_of_file(&path).unwrap());
        let bytes = std::fs::read(&path).unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, &bytes[..1_234_567]).unwrap();
        assert_eq!(sample.short_sha256, sha256_of_file(&short).unwrap());
        // Not a run of equal bytes: nothing could compress it away.
        assert!(bytes.windows(2).filter(|w| w[0] == w[1]).count() < 30_000);
    }

    #[test]
    fn prefix_refuses_reads_past_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample");
        write_sample(&path, 100_000, 0, 1).unwrap();
        let prefix = Prefix::new(Arc::new(FileSource::open(&path).unwrap()), 50_000);
        assert_eq!(prefix.len(), 50_000);
        let mut buf = vec![0u8; 10];
        prefix.read_exact_at(49_990, &mut buf).unwrap();
        assert!(prefix.read_exact_at(49_991, &mut buf).is_err());
    }
}
