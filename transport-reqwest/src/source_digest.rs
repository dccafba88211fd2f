//! The source's hashes, taken from the reads that send it: a [`Source`] wrapper that feeds
//! every block it reads to a [`SourceDigest`].
//!
//! Each block a body reads (and each block read to check a checkpoint on resume) passes
//! through [`DigestingSource`] once, on the blocking thread that read it, so the hashes cost no
//! read of their own. The digest takes only what continues from its cursor (retries read bytes
//! again; print fragments go out of order); when the machine asks for the hashes
//! ([`Upload::awaits_source_hashes`](resumable_core::graph::Upload::awaits_source_hashes)),
//! [`DigestingSource::hashes`] reads whatever the sending never did (the part a resumed upload
//! skipped), and only that.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use resumable_core::digest::{HashKinds, SourceDigest, SourceHashes};
use resumable_core::range::ByteRange;

use resumable_io::source::{Source, for_each_block};

/// A source whose reads feed a digest of it.
pub(crate) struct DigestingSource {
    inner: Arc<dyn Source>,
    digest: Mutex<SourceDigest>,
}

impl DigestingSource {
    /// Wraps `inner`, computing QuickXorHash and CRC-32 (the cheap ones) as it is read;
    /// nothing is hashed yet.
    pub(crate) fn new(inner: Arc<dyn Source>) -> Self {
        DigestingSource::with_kinds(inner, HashKinds::CHEAP)
    }

    /// Wraps `inner`, computing also the costly hashes `kinds` names as it is read.
    pub(crate) fn with_kinds(inner: Arc<dyn Source>, kinds: HashKinds) -> Self {
        let digest = SourceDigest::with_kinds(inner.len(), kinds);
        DigestingSource {
            inner,
            digest: Mutex::new(digest),
        }
    }

    /// The source it reads.
    pub(crate) fn inner(&self) -> Arc<dyn Source> {
        self.inner.clone()
    }

    /// The first byte not hashed yet.
    pub(crate) fn hashed(&self) -> u64 {
        self.lock().next_offset()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SourceDigest> {
        self.digest.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, offset: u64, bytes: &[u8]) {
        let mut digest = self.lock();
        if digest.next_offset() >= offset && digest.next_offset() < offset + bytes.len() as u64 {
            digest.update(offset, bytes);
        }
    }

    /// The source's hashes, if the reads so far covered every byte.
    pub(crate) fn hashes_so_far(&self) -> Option<SourceHashes> {
        self.lock().hashes()
    }

    /// The source's hashes including `kinds`: what the reads so far hashed, completed by
    /// reading the rest; if the reads did not compute a kind asked for, the whole source is
    /// read again for it. Blocks (call it off the executor).
    pub(crate) fn hashes_with(&self, kinds: HashKinds) -> io::Result<SourceHashes> {
        let computed = self.lock().kinds();
        if computed.covers(kinds) {
            return self.hashes();
        }
        let again = DigestingSource::with_kinds(self.inner.clone(), computed.union(kinds));
        again.hashes()
    }

    /// The source's hashes: what the reads so far hashed, completed by reading the rest.
    /// Blocks (call it off the executor).
    pub(crate) fn hashes(&self) -> io::Result<SourceHashes> {
        loop {
            let (next, total) = {
                let digest = self.lock();
                if let Some(hashes) = digest.hashes() {
                    return Ok(hashes);
                }
                (digest.next_offset(), digest.total())
            };
            let Some(rest) = ByteRange::new(next, total) else {
                continue;
            };
            let mut offset = rest.start();
            for_each_block(&*self.inner, rest, &mut |block| {
                self.take(offset, block);
                offset += block.len() as u64;
            })?;
        }
    }
}

impl fmt::Debug for DigestingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestingSource")
            .field("source", &self.inner.describe())
            .field("hashed", &self.hashed())
            .finish()
    }
}

impl Source for DigestingSource {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact_at(offset, buf)?;
        self.take(offset, buf);
        Ok(())
    }

    fn slice(&self, range: ByteRange) -> Option<Bytes> {
        let bytes = self.inner.slice(range)?;
        self.take(range.start(), &bytes);
        Some(bytes)
    }

    fn read_range(&self, range: ByteRange) -> io::Result<Bytes> {
        let bytes = self.inner.read_range(range)?;
        self.take(range.start(), &bytes);
        Ok(bytes)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn last_modified(&self) -> Option<u64> {
        self.inner.last_modified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_io::source::BytesSource;

    #[test]
    fn reads_in_any_order_then_the_rest_give_the_whole_sources_hashes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let source =
            DigestingSource::with_kinds(Arc::new(BytesSource::new(data.clone())), HashKinds::ALL);
        let mut buf = vec![0u8; 30_000];
        source.read_exact_at(50_000, &mut buf).unwrap(); // ahead of the cursor: not taken
        source.read_exact_at(0, &mut buf).unwrap();
        source.read_exact_at(10_000, &mut buf).unwrap(); // overlaps: the new part is taken
        assert_eq!(source.hashed(), 40_000);
        assert_eq!(source.hashes().unwrap(), SourceHashes::of(&data));
    }

    #[test]
    fn kinds_the_reads_did_not_compute_are_read_for_again() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
        let source = DigestingSource::new(Arc::new(BytesSource::new(data.clone())));
        let mut buf = vec![0u8; 70_000];
        source.read_exact_at(0, &mut buf).unwrap();
        let cheap = source.hashes().unwrap();
        assert_eq!((cheap.sha1, cheap.sha256), (None, None));
        assert_eq!(cheap.quick_xor, SourceHashes::of(&data).quick_xor);
        let all = source.hashes_with(HashKinds::ALL).unwrap();
        assert_eq!(all, SourceHashes::of(&data));
    }
}
