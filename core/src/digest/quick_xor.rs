//! QuickXorHash: the hash OneDrive and SharePoint report for every file (`quickXorHash`), and
//! the only one Microsoft guarantees on both OneDrive for home and for work or school.
//!
//! The definition: a 160-bit register, initially zero. Byte `i` of the file (counting from 0)
//! is XORed into the register at bit `11 * i mod 160`, its bits running upwards and wrapping
//! from bit 159 to bit 0. The register is written as 20 bytes, bit `k` in byte `k / 8` at
//! position `k % 8`; the file's length as a 64-bit little-endian number is XORed into the last
//! eight of them; the hash is those 20 bytes in standard base64.
//!
//! Since `11` and `160` are coprime, bytes 160 apart land on the same bits: the bytes fold into
//! 160 byte-wide accumulators (XOR, a word at a time) and the register is built once, at the
//! end. XOR also makes the fold order-free, so [`QuickXorHash::update_at`] takes pieces at any
//! offset, in any order, as long as each byte comes once.

/// The register's width in bits (and the period of the byte fold).
const WIDTH: usize = 160;
/// How far each byte's position moves along the register.
const SHIFT: usize = 11;
/// The hash's length in bytes.
pub const QUICK_XOR_LEN: usize = 20;
/// The base64 form's length: `ceil(20 / 3) * 4`.
pub const QUICK_XOR_BASE64_LEN: usize = 28;

/// A QuickXorHash in progress.
///
/// ```
/// use resumable_core::digest::QuickXorHash;
/// let mut hash = QuickXorHash::new();
/// hash.update(b"hello ");
/// hash.update(b"world");
/// assert_eq!(hash.base64().as_str(), "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
/// ```
#[derive(Clone, Debug)]
pub struct QuickXorHash {
    /// Byte `p` of the file is folded into byte `p % 160` of these words (little-endian).
    fold: [u64; WIDTH / 8],
    /// Bytes taken so far (the next [`QuickXorHash::update`] continues from here).
    len: u64,
}

impl Default for QuickXorHash {
    fn default() -> Self {
        Self::new()
    }
}

impl QuickXorHash {
    /// An empty hash.
    pub const fn new() -> Self {
        QuickXorHash {
            fold: [0; WIDTH / 8],
            len: 0,
        }
    }

    /// Takes the next `bytes` of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.fold_at(self.len, bytes);
        self.len += bytes.len() as u64;
    }

    /// Takes `bytes` found at `offset` of the file, pieces in any order. Each byte of the file
    /// must be given exactly once (a byte given twice cancels out); the length counted is the
    /// sum of the pieces.
    ///
    /// ```
    /// use resumable_core::digest::QuickXorHash;
    /// let mut hash = QuickXorHash::new();
    /// hash.update_at(6, b"world");
    /// hash.update_at(0, b"hello ");
    /// assert_eq!(hash.base64().as_str(), "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
    /// ```
    pub fn update_at(&mut self, offset: u64, bytes: &[u8]) {
        self.fold_at(offset, bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes taken so far.
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// Whether no byte was taken.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn fold_at(&mut self, offset: u64, mut bytes: &[u8]) {
        // `offset % 160` fits a usize on every target.
        let mut phase = (offset % WIDTH as u64) as usize;
        // Bytes one at a time up to a 160-byte boundary, then 160 at a time, then the rest.
        while phase != 0 && !bytes.is_empty() {
            self.fold_byte(phase, bytes[0]);
            bytes = &bytes[1..];
            phase = (phase + 1) % WIDTH;
        }
        let (blocks, rest) = bytes.as_chunks::<WIDTH>();
        for block in blocks {
            let (words, _) = block.as_chunks::<8>();
            for (fold, word) in self.fold.iter_mut().zip(words) {
                *fold ^= u64::from_le_bytes(*word);
            }
        }
        for (i, &byte) in rest.iter().enumerate() {
            self.fold_byte(i, byte);
        }
    }

    fn fold_byte(&mut self, phase: usize, byte: u8) {
        self.fold[phase / 8] ^= u64::from(byte) << (8 * (phase % 8));
    }

    /// The hash's 20 bytes.
    pub fn finish(&self) -> [u8; QUICK_XOR_LEN] {
        let mut register = [0u8; QUICK_XOR_LEN];
        for phase in 0..WIDTH {
            let byte = (self.fold[phase / 8] >> (8 * (phase % 8))) as u8;
            let start = phase * SHIFT % WIDTH;
            for bit in 0..8 {
                if byte >> bit & 1 == 1 {
                    let at = (start + bit) % WIDTH;
                    register[at / 8] ^= 1 << (at % 8);
                }
            }
        }
        for (r, l) in register[QUICK_XOR_LEN - 8..]
            .iter_mut()
            .zip(self.len.to_le_bytes())
        {
            *r ^= l;
        }
        register
    }

    /// The hash in standard base64 with padding, as Graph writes `quickXorHash`.
    pub fn base64(&self) -> Base64<QUICK_XOR_BASE64_LEN> {
        Base64::encode(&self.finish())
    }
}

/// A short base64 text (standard alphabet, padded) held inline, for hashes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Base64<const N: usize>([u8; N]);

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl<const N: usize> Base64<N> {
    /// Encodes `bytes`, whose base64 form must be exactly `N` characters long
    /// (`bytes.len().div_ceil(3) * 4`).
    ///
    /// ```
    /// use resumable_core::digest::Base64;
    /// assert_eq!(Base64::<4>::encode(b"f").as_str(), "Zg==");
    /// assert_eq!(Base64::<8>::encode(b"foob").as_str(), "Zm9vYg==");
    /// ```
    pub fn encode(bytes: &[u8]) -> Self {
        debug_assert_eq!(bytes.len().div_ceil(3) * 4, N);
        let mut out = [b'='; N];
        encode_base64(bytes, &mut out);
        Base64(out)
    }

    /// The text as ASCII bytes.
    pub const fn into_bytes(self) -> [u8; N] {
        self.0
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII from the alphabet and `=` is ever written.
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// Writes the base64 form of `bytes` into `out` (`bytes.len().div_ceil(3) * 4` bytes, filled
/// with `=` beforehand so the padding is already there).
fn encode_base64(bytes: &[u8], out: &mut [u8]) {
    for (group, dst) in bytes.chunks(3).zip(out.chunks_exact_mut(4)) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, d) in dst.iter_mut().enumerate().take(group.len() + 1) {
            *d = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
        }
    }
}

/// The base64 form (standard alphabet, padded) of `bytes` of any length.
#[cfg(feature = "alloc")]
pub(crate) fn base64_string(bytes: &[u8]) -> alloc::string::String {
    let mut out = alloc::vec![b'='; bytes.len().div_ceil(3) * 4];
    encode_base64(bytes, &mut out);
    // Only ASCII from the alphabet and `=` is ever written.
    alloc::string::String::from_utf8(out).unwrap_or_default()
}

impl<const N: usize> core::fmt::Display for Base64<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> core::fmt::Debug for Base64<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, one bit at a time: the model the fold is checked against.
    fn model(data: &[u8]) -> [u8; QUICK_XOR_LEN] {
        let mut register = [0u8; QUICK_XOR_LEN];
        for (i, &byte) in data.iter().enumerate() {
            for bit in 0..8 {
                if byte >> bit & 1 == 1 {
                    let at = (i * SHIFT + bit) % WIDTH;
                    register[at / 8] ^= 1 << (at % 8);
                }
            }
        }
        for (r, l) in register[12..]
            .iter_mut()
            .zip((data.len() as u64).to_le_bytes())
        {
            *r ^= l;
        }
        register
    }

    #[test]
    fn known_values() {
        let hash = |data: &[u8]| {
            let mut h = QuickXorHash::new();
            h.update(data);
            h.base64()
        };
        // An independent implementation's value for "hello world" (11 bytes).
        assert_eq!(
            hash(b"hello world").as_str(),
            "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
        );
        assert_eq!(hash(b"").as_str(), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        // One byte: bit 0 of the register, and the length 1 in byte 12.
        let mut one = QuickXorHash::new();
        one.update(&[1]);
        assert_eq!(one.finish()[0], 1);
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(Base64::<0>::encode(b"").as_str(), "");
        assert_eq!(Base64::<4>::encode(b"f").as_str(), "Zg==");
        assert_eq!(Base64::<4>::encode(b"fo").as_str(), "Zm8=");
        assert_eq!(Base64::<4>::encode(b"foo").as_str(), "Zm9v");
        assert_eq!(Base64::<8>::encode(b"foob").as_str(), "Zm9vYg==");
    }

    #[test]
    fn base64_matches_the_chunk_id_encoder_on_shared_lengths() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i * 37 + 5) as u8);
        let ours = Base64::<24>::encode(&bytes);
        let theirs = crate::wopi::ChunkId::from_bytes(bytes).to_base64();
        assert_eq!(ours.as_str().as_bytes(), &theirs);
    }

    proptest! {
        #[test]
        fn the_fold_matches_the_definition(data in proptest::collection::vec(any::<u8>(), 0..1200), cut in 0usize..1200) {
            let cut = cut.min(data.len());
            let mut h = QuickXorHash::new();
            h.update(&data[..cut]);
            h.update(&data[cut..]);
            prop_assert_eq!(h.finish(), model(&data));
        }

        #[test]
        fn pieces_in_any_order_give_the_same_hash(data in proptest::collection::vec(any::<u8>(), 0..1200), a in 0usize..1200, b in 0usize..1200) {
            let (a, b) = (a.min(data.len()), b.min(data.len()));
            let (a, b) = (a.min(b), a.max(b));
            let mut h = QuickXorHash::new();
            h.update_at(b as u64, &data[b..]);
            h.update_at(0, &data[..a]);
            h.update_at(a as u64, &data[a..b]);
            prop_assert_eq!(h.finish(), model(&data));
        }
    }
}
