//! [`SourceDigest`]: the hashes of a source, taken from the reads done to send it.

use sha1::Digest as _;

use super::quick_xor::{Base64, QUICK_XOR_BASE64_LEN, QUICK_XOR_LEN, QuickXorHash};

/// Which of the costly hashes a [`SourceDigest`] computes besides QuickXorHash and CRC-32
/// (which cost little: a tenth of a second per GiB together, where SHA-1 and SHA-256 cost over
/// half a second each even with the CPU's SHA instructions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashKinds {
    /// SHA-1 (personal OneDrive's `sha1Hash`).
    pub sha1: bool,
    /// SHA-256 (WOPI `CheckFileInfo`'s `SHA256`, a `sha256Hash` where a service gives one).
    pub sha256: bool,
}

impl HashKinds {
    /// QuickXorHash and CRC-32 only.
    pub const CHEAP: HashKinds = HashKinds {
        sha1: false,
        sha256: false,
    };
    /// Every hash a service may report.
    pub const ALL: HashKinds = HashKinds {
        sha1: true,
        sha256: true,
    };

    /// Whether `self` computes every kind `other` asks for.
    pub const fn covers(self, other: HashKinds) -> bool {
        (self.sha1 || !other.sha1) && (self.sha256 || !other.sha256)
    }

    /// Both sets at once.
    pub const fn union(self, other: HashKinds) -> HashKinds {
        HashKinds {
            sha1: self.sha1 || other.sha1,
            sha256: self.sha256 || other.sha256,
        }
    }
}

/// The hashes of a source of known size, fed with the bytes a transport reads to send it.
///
/// Fragments are read in order, but retries read bytes again and a resumed upload skips what
/// the service already holds, so the digest keeps a cursor: [`SourceDigest::update`] takes
/// whatever part of a read continues from it and ignores the rest. What the sending never read
/// (the bytes a resumed upload skipped) the transport reads for the digest alone, from
/// [`SourceDigest::next_offset`], before the service's copy is checked. In the common case every
/// byte is read once, for sending and hashing together.
///
/// ```
/// use resumable_core::digest::SourceDigest;
/// let mut digest = SourceDigest::new(11); // QuickXorHash and CRC-32
/// digest.update(0, b"hello ");
/// digest.update(3, b"lo wor"); // a retry: only "wor" is new
/// assert_eq!(digest.next_offset(), 9);
/// digest.update(9, b"ld");
/// let hashes = digest.hashes().unwrap();
/// assert_eq!(hashes.quick_xor_base64().as_str(), "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
/// assert_eq!(hashes.crc32, resumable_core::crc32fast::hash(b"hello world"));
/// ```
#[derive(Clone, Debug)]
pub struct SourceDigest {
    total: u64,
    quick_xor: QuickXorHash,
    crc32: crc32fast::Hasher,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
}

impl SourceDigest {
    /// A digest of a source of `total` bytes computing QuickXorHash and CRC-32, nothing read
    /// yet.
    pub fn new(total: u64) -> Self {
        SourceDigest::with_kinds(total, HashKinds::CHEAP)
    }

    /// A digest that also computes the costly hashes `kinds` names.
    pub fn with_kinds(total: u64, kinds: HashKinds) -> Self {
        SourceDigest {
            total,
            quick_xor: QuickXorHash::new(),
            crc32: crc32fast::Hasher::new(),
            sha1: kinds.sha1.then(sha1::Sha1::new),
            sha256: kinds.sha256.then(sha2::Sha256::new),
        }
    }

    /// The costly hashes it computes.
    pub fn kinds(&self) -> HashKinds {
        HashKinds {
            sha1: self.sha1.is_some(),
            sha256: self.sha256.is_some(),
        }
    }

    /// The source's size.
    pub const fn total(&self) -> u64 {
        self.total
    }

    /// The first byte not hashed yet (the total once all are).
    pub const fn next_offset(&self) -> u64 {
        self.quick_xor.len()
    }

    /// Whether every byte was hashed.
    pub const fn is_complete(&self) -> bool {
        self.next_offset() >= self.total
    }

    /// Takes the bytes read at `offset`: the part that continues from
    /// [`SourceDigest::next_offset`], inside the source's size. Returns how many bytes were
    /// taken.
    pub fn update(&mut self, offset: u64, bytes: &[u8]) -> usize {
        let next = self.next_offset();
        let end = offset.saturating_add(bytes.len() as u64).min(self.total);
        if offset > next || end <= next {
            return 0;
        }
        // Both differences are below `bytes.len()`, so they fit a usize.
        let skip = (next - offset) as usize;
        let take = (end - next) as usize;
        let new = &bytes[skip..skip + take];
        self.quick_xor.update(new);
        self.crc32.update(new);
        if let Some(sha1) = &mut self.sha1 {
            sha1.update(new);
        }
        if let Some(sha256) = &mut self.sha256 {
            sha256.update(new);
        }
        take
    }

    /// The finished hashes, once every byte was hashed.
    pub fn hashes(&self) -> Option<SourceHashes> {
        if !self.is_complete() {
            return None;
        }
        Some(SourceHashes {
            size: self.total,
            quick_xor: self.quick_xor.finish(),
            crc32: self.crc32.clone().finalize(),
            sha1: self.sha1.clone().map(|h| h.finalize().into()),
            sha256: self.sha256.clone().map(|h| h.finalize().into()),
        })
    }
}

/// The hashes of a whole source, to check a stored copy against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceHashes {
    /// The source's size.
    pub size: u64,
    /// QuickXorHash (OneDrive, SharePoint).
    pub quick_xor: [u8; QUICK_XOR_LEN],
    /// CRC-32 (IEEE).
    pub crc32: u32,
    /// SHA-1, if computed.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256, if computed.
    pub sha256: Option<[u8; 32]>,
}

impl SourceHashes {
    /// The hashes of `bytes`, every kind, all at once.
    ///
    /// ```
    /// use resumable_core::digest::SourceHashes;
    /// let hashes = SourceHashes::of(b"hello world");
    /// assert_eq!(hashes.quick_xor_base64().as_str(), "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
    /// assert_eq!(hashes.size, 11);
    /// ```
    pub fn of(bytes: &[u8]) -> Self {
        let mut digest = SourceDigest::with_kinds(bytes.len() as u64, HashKinds::ALL);
        digest.update(0, bytes);
        // Every byte was just given.
        digest.hashes().unwrap_or(SourceHashes {
            size: 0,
            quick_xor: [0; QUICK_XOR_LEN],
            crc32: 0,
            sha1: None,
            sha256: None,
        })
    }

    /// The costly hashes it holds.
    pub fn kinds(&self) -> HashKinds {
        HashKinds {
            sha1: self.sha1.is_some(),
            sha256: self.sha256.is_some(),
        }
    }

    /// The QuickXorHash in base64, as Graph writes it.
    pub fn quick_xor_base64(&self) -> Base64<QUICK_XOR_BASE64_LEN> {
        Base64::encode(&self.quick_xor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Reads in any order, overlapping, repeated, past the end: the digest equals the
        /// digest of the source read once, provided what follows the cursor is read at last.
        #[test]
        fn any_reads_give_the_hashes_of_the_whole(
            data in proptest::collection::vec(any::<u8>(), 1..3000),
            reads in proptest::collection::vec((0usize..3000, 0usize..700), 0..20),
        ) {
            let mut digest = SourceDigest::with_kinds(data.len() as u64, HashKinds::ALL);
            for (start, len) in reads {
                let start = start.min(data.len());
                let end = (start + len).min(data.len());
                digest.update(start as u64, &data[start..end]);
            }
            let next = digest.next_offset() as usize;
            digest.update(next as u64, &data[next..]);
            prop_assert_eq!(digest.hashes(), Some(SourceHashes::of(&data)));
        }
    }

    #[test]
    fn incomplete_digests_have_no_hashes() {
        let mut digest = SourceDigest::with_kinds(4, HashKinds::ALL);
        digest.update(0, b"abc");
        assert_eq!(digest.hashes(), None);
        assert_eq!(digest.update(4, b"d"), 0);
        assert_eq!(digest.update(3, b"defg"), 1);
        assert_eq!(
            digest.hashes().unwrap().sha256,
            SourceHashes::of(b"abcd").sha256
        );
    }
}
