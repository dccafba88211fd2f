//! The source's hashes, taken from the reads that send it.
//!
//! Every block the exchange reads to send (and every block read to check a checkpoint or to
//! compute a WOPI ChunkId) is fed to the core's [`SourceDigest`], which takes only what
//! continues from its cursor. When the machine waits for the hashes, [`Digest::hashes`] reads
//! what the sending never read (the part a resumed upload skipped), and only that.

use std::io;

use resumable_core::digest::{HashKinds, SourceDigest, SourceHashes};
use resumable_core::range::ByteRange;

use resumable_io::source::{Source, for_each_block};

/// The digest of one source, fed by the reads of one upload.
#[derive(Debug)]
pub(crate) struct Digest {
    digest: SourceDigest,
}

impl Digest {
    /// A digest of a source of `len` bytes, computing the costly hashes `kinds` names besides
    /// QuickXorHash and CRC-32.
    pub(crate) fn new(len: u64, kinds: HashKinds) -> Self {
        Digest {
            digest: SourceDigest::with_kinds(len, kinds),
        }
    }

    /// Takes the bytes read at `offset`.
    pub(crate) fn take(&mut self, offset: u64, bytes: &[u8]) {
        self.digest.update(offset, bytes);
    }

    /// The hashes, if the reads so far covered every byte.
    pub(crate) fn so_far(&self) -> Option<SourceHashes> {
        self.digest.hashes()
    }

    /// The hashes including `kinds`: what the reads hashed, completed by reading the rest of
    /// `source`; if a kind asked for was not computed by the reads, the source is read again
    /// whole for it.
    pub(crate) fn hashes(
        &mut self,
        source: &dyn Source,
        kinds: HashKinds,
    ) -> io::Result<SourceHashes> {
        let computed = self.digest.kinds();
        if !computed.covers(kinds) {
            self.digest = SourceDigest::with_kinds(source.len(), computed.union(kinds));
        }
        if let Some(rest) = ByteRange::new(self.digest.next_offset(), self.digest.total()) {
            let mut offset = rest.start();
            for_each_block(source, rest, &mut |block| {
                self.take(offset, block);
                offset += block.len() as u64;
            })?;
        }
        self.digest.hashes().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the source ended before its recorded size",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_io::source::BytesSource;

    #[test]
    fn reads_in_any_order_then_the_rest_give_the_whole_sources_hashes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let source = BytesSource::new(data.clone());
        let mut digest = Digest::new(data.len() as u64, HashKinds::CHEAP);
        digest.take(50_000, &data[50_000..60_000]); // ahead of the cursor: not taken
        digest.take(0, &data[..30_000]);
        digest.take(10_000, &data[10_000..40_000]); // overlaps: the new part is taken
        assert_eq!(digest.so_far(), None);
        let cheap = digest.hashes(&source, HashKinds::CHEAP).unwrap();
        assert_eq!(cheap.quick_xor, SourceHashes::of(&data).quick_xor);
        assert_eq!(cheap.sha256, None);
        let all = digest.hashes(&source, HashKinds::ALL).unwrap();
        assert_eq!(all, SourceHashes::of(&data));
    }
}
