//! [`ChunkId`]: the SpookyHash V2 of a chunk's bytes, as WOPI names chunks.
//!
//! Sixteen bytes: the first 64-bit SpookyHash result (seeds 0) in little-endian order, then the
//! second. In JSON and in logs it is standard base64 with padding, always 24 characters. The
//! base64 is written here rather than taken from a crate: it is 16 bytes of one fixed shape, and
//! the no-`alloc` build needs it too.

use core::fmt;
use core::str::FromStr;

use super::spooky::{SpookyHasher, spooky_hash128};

/// The 16-byte name of a chunk: its SpookyHash V2 128-bit hash with seeds 0.
///
/// ```
/// use resumable_core::wopi::ChunkId;
/// let id = ChunkId::of(b"SomeRandomText");
/// assert_eq!(id.to_string(), "pBw0Ufss5SPFsfoEWGi2+w==");
/// assert_eq!("pBw0Ufss5SPFsfoEWGi2+w==".parse::<ChunkId>(), Ok(id));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChunkId([u8; 16]);

/// Length of a ChunkId in bytes.
pub const CHUNK_ID_LEN: usize = 16;
/// Length of a ChunkId's base64 form (with its two `=` of padding).
pub const CHUNK_ID_BASE64_LEN: usize = 24;

impl ChunkId {
    /// The ChunkId of `chunk`.
    ///
    /// ```
    /// use resumable_core::wopi::ChunkId;
    /// assert_eq!(ChunkId::of(b"").to_string(), "GQn1a/wGJyPHUei0Ze5yiw==");
    /// ```
    pub fn of(chunk: &[u8]) -> Self {
        ChunkId::from_hash(spooky_hash128(chunk, 0, 0))
    }

    /// The ChunkId of everything fed to `hasher`, which must have been made with seeds 0 (as
    /// [`SpookyHasher::default`] is). For chunks read in pieces.
    ///
    /// ```
    /// use resumable_core::wopi::{spooky::SpookyHasher, ChunkId};
    /// let mut hasher = SpookyHasher::default();
    /// hasher.update(b"SomeRandom");
    /// hasher.update(b"Text");
    /// assert_eq!(ChunkId::of_hasher(&hasher), ChunkId::of(b"SomeRandomText"));
    /// ```
    pub fn of_hasher(hasher: &SpookyHasher) -> Self {
        ChunkId::from_hash(hasher.finish())
    }

    /// The ChunkId with these two SpookyHash results.
    pub const fn from_hash((hash1, hash2): (u64, u64)) -> Self {
        let a = hash1.to_le_bytes();
        let b = hash2.to_le_bytes();
        ChunkId([
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1], b[2], b[3], b[4], b[5],
            b[6], b[7],
        ])
    }

    /// The ChunkId with these 16 bytes (as carried in a frame's extended header).
    pub const fn from_bytes(bytes: [u8; CHUNK_ID_LEN]) -> Self {
        ChunkId(bytes)
    }

    /// The 16 bytes.
    pub const fn to_bytes(self) -> [u8; CHUNK_ID_LEN] {
        self.0
    }

    /// The 16 bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; CHUNK_ID_LEN] {
        &self.0
    }

    /// The base64 form as ASCII bytes (what `Display` writes).
    ///
    /// ```
    /// use resumable_core::wopi::ChunkId;
    /// assert_eq!(&ChunkId::of(b"SomeRandomText").to_base64(), b"pBw0Ufss5SPFsfoEWGi2+w==");
    /// ```
    pub fn to_base64(&self) -> [u8; CHUNK_ID_BASE64_LEN] {
        crate::digest::Base64::<CHUNK_ID_BASE64_LEN>::encode(&self.0).into_bytes()
    }

    /// Parses the base64 form from bytes: exactly 24 characters of the standard alphabet ending
    /// in `==`, in canonical form (the unused low bits of the last character zero).
    ///
    /// ```
    /// use resumable_core::wopi::{ChunkId, ChunkIdError};
    /// assert!(ChunkId::parse_base64(b"pBw0Ufss5SPFsfoEWGi2+w==").is_ok());
    /// assert_eq!(ChunkId::parse_base64(b"pBw0"), Err(ChunkIdError::Length(4)));
    /// assert_eq!(ChunkId::parse_base64(b"pBw0Ufss5SPFsfoEWGi2+x=="), Err(ChunkIdError::NonCanonical));
    /// ```
    pub fn parse_base64(text: &[u8]) -> Result<Self, ChunkIdError> {
        if text.len() != CHUNK_ID_BASE64_LEN {
            return Err(ChunkIdError::Length(text.len()));
        }
        if text[22] != b'=' || text[23] != b'=' {
            return Err(ChunkIdError::Padding);
        }
        let mut sextets = [0u8; 22];
        for (position, (s, &c)) in sextets.iter_mut().zip(text).enumerate() {
            *s = sextet(c).ok_or(ChunkIdError::Character { position })?;
        }
        if sextets[21] & 0x0f != 0 {
            return Err(ChunkIdError::NonCanonical);
        }
        let mut out = [0u8; CHUNK_ID_LEN];
        let (groups, _) = sextets.as_chunks::<4>();
        for (group, dst) in groups.iter().zip(out.chunks_exact_mut(3)) {
            let n = u32::from(group[0]) << 18
                | u32::from(group[1]) << 12
                | u32::from(group[2]) << 6
                | u32::from(group[3]);
            dst[0] = (n >> 16) as u8;
            dst[1] = (n >> 8) as u8;
            dst[2] = n as u8;
        }
        out[15] = sextets[20] << 2 | sextets[21] >> 4;
        Ok(ChunkId(out))
    }
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_base64();
        // The alphabet is ASCII, so this never fails.
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkId({self})")
    }
}

impl FromStr for ChunkId {
    type Err = ChunkIdError;
    fn from_str(s: &str) -> Result<Self, ChunkIdError> {
        ChunkId::parse_base64(s.as_bytes())
    }
}

impl From<[u8; CHUNK_ID_LEN]> for ChunkId {
    fn from(bytes: [u8; CHUNK_ID_LEN]) -> Self {
        ChunkId(bytes)
    }
}

/// Why a ChunkId's base64 form was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkIdError {
    /// Not 24 characters (this many instead).
    Length(usize),
    /// A character outside the standard base64 alphabet at this position.
    Character {
        /// Zero-based position in the text.
        position: usize,
    },
    /// The text does not end in `==`.
    Padding,
    /// The last character carries bits that 16 bytes cannot have (another text names the same
    /// bytes; only the canonical one is accepted so that equal ids have equal text).
    NonCanonical,
}

impl fmt::Display for ChunkIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkIdError::Length(n) => {
                write!(f, "a ChunkId is 24 base64 characters, not {n}")
            }
            ChunkIdError::Character { position } => {
                write!(f, "invalid base64 character at position {position}")
            }
            ChunkIdError::Padding => f.write_str("a ChunkId's base64 form ends in `==`"),
            ChunkIdError::NonCanonical => {
                f.write_str("non-canonical base64: the last character has stray bits")
            }
        }
    }
}

impl core::error::Error for ChunkIdError {}

// `alloc` brings serde along for the JSON bodies, so the impls exist whenever serde does.
#[cfg(any(feature = "serde", feature = "alloc"))]
impl serde::Serialize for ChunkId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_base64();
        let text = core::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

#[cfg(any(feature = "serde", feature = "alloc"))]
impl<'de> serde::Deserialize<'de> for ChunkId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64Visitor;
        impl serde::de::Visitor<'_> for Base64Visitor {
            type Value = ChunkId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ChunkId in padded base64")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ChunkId, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Base64Visitor)
    }
}

#[cfg(test)]
mod tests;
