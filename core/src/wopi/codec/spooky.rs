//! SpookyHash V2, 128-bit (Bob Jenkins, public domain): the hash behind WOPI ChunkIds.
//!
//! Written from the public description of the algorithm. Two paths, as in the reference: inputs
//! under [`BUFFER_LEN`] (192) bytes take the short path (four 64-bit lanes, 32 bytes per round);
//! longer inputs take the block path (twelve lanes, 96-byte blocks). Words are read with
//! `u64::from_le_bytes`, so the result is the same on little- and big-endian targets, and no
//! `unsafe` is needed.
//!
//! [`SpookyHasher`] takes the input in any number of pieces split anywhere; [`spooky_hash128`]
//! hashes one slice. Both give the reference's result bit for bit (see the vectors in
//! `spooky/vectors.txt`).

/// Inputs shorter than this take the short path; the streaming hasher buffers this much.
pub const BUFFER_LEN: usize = 192;
/// The block path consumes the input in blocks of this many bytes (twelve words).
const BLOCK_LEN: usize = 96;
/// An arbitrary constant with irregular bits, from the reference.
const CONST: u64 = 0xdead_beef_dead_beef;

/// Hashes `data` in one call: `(hash1, hash2)`, the reference's two 64-bit results.
///
/// ```
/// use resumable_core::wopi::spooky::spooky_hash128;
/// let (h1, h2) = spooky_hash128(b"SomeRandomText", 0, 0);
/// assert_eq!(h1.to_le_bytes(), [0xa4, 0x1c, 0x34, 0x51, 0xfb, 0x2c, 0xe5, 0x23]);
/// assert_eq!(h2.to_le_bytes(), [0xc5, 0xb1, 0xfa, 0x04, 0x58, 0x68, 0xb6, 0xfb]);
/// ```
pub fn spooky_hash128(data: &[u8], seed1: u64, seed2: u64) -> (u64, u64) {
    if data.len() < BUFFER_LEN {
        return short_hash(data, data.len() as u64, seed1, seed2);
    }
    let mut state = initial_state(seed1, seed2);
    let (blocks, tail) = data.as_chunks::<BLOCK_LEN>();
    mix_blocks(&mut state, blocks);
    finish_blocks(&mut state, tail);
    (state[0], state[1])
}

/// A streaming SpookyHash V2 hasher: feed the input in any pieces, then [`finish`](Self::finish).
///
/// It holds at most [`BUFFER_LEN`] bytes of input between calls, and reads whole blocks straight
/// from the caller's slices without copying them.
///
/// ```
/// use resumable_core::wopi::spooky::{spooky_hash128, SpookyHasher};
/// let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
/// let mut hasher = SpookyHasher::new(0, 0);
/// hasher.update(&data[..7]);
/// hasher.update(&data[7..500]);
/// hasher.update(&data[500..]);
/// assert_eq!(hasher.finish(), spooky_hash128(&data, 0, 0));
/// ```
#[derive(Clone)]
pub struct SpookyHasher {
    /// The twelve block-path lanes; before the first block only `[0]` and `[1]` (the seeds) count.
    state: [u64; 12],
    /// Input not yet mixed.
    buffer: [u8; BUFFER_LEN],
    /// How many bytes of `buffer` hold input.
    buffered: usize,
    /// Total bytes fed so far.
    total: u64,
}

impl SpookyHasher {
    /// A hasher with the two seeds (WOPI ChunkIds use `0, 0`).
    pub const fn new(seed1: u64, seed2: u64) -> Self {
        let mut state = [0; 12];
        state[0] = seed1;
        state[1] = seed2;
        SpookyHasher {
            state,
            buffer: [0; BUFFER_LEN],
            buffered: 0,
            total: 0,
        }
    }

    /// Feeds more input.
    pub fn update(&mut self, mut data: &[u8]) {
        let seen_before = self.total;
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buffered + data.len() < BUFFER_LEN {
            self.buffer[self.buffered..self.buffered + data.len()].copy_from_slice(data);
            self.buffered += data.len();
            return;
        }
        // The first time the input reaches the block path, the lanes are laid out from the seeds.
        if seen_before < BUFFER_LEN as u64 {
            self.state = initial_state(self.state[0], self.state[1]);
        }
        if self.buffered > 0 {
            let (head, rest) = data.split_at(BUFFER_LEN - self.buffered);
            self.buffer[self.buffered..].copy_from_slice(head);
            let (blocks, _) = self.buffer.as_chunks::<BLOCK_LEN>();
            mix_blocks(&mut self.state, blocks);
            data = rest;
        }
        let (blocks, tail) = data.as_chunks::<BLOCK_LEN>();
        mix_blocks(&mut self.state, blocks);
        self.buffer[..tail.len()].copy_from_slice(tail);
        self.buffered = tail.len();
    }

    /// The hash of everything fed: `(hash1, hash2)`. The hasher is left as it was, so more input
    /// may follow and `finish` be called again.
    pub fn finish(&self) -> (u64, u64) {
        let buffered = &self.buffer[..self.buffered];
        if self.total < BUFFER_LEN as u64 {
            return short_hash(buffered, self.total, self.state[0], self.state[1]);
        }
        let mut state = self.state;
        // Up to two blocks may wait in the buffer; whole ones are mixed, the rest is the tail.
        let (blocks, tail) = buffered.as_chunks::<BLOCK_LEN>();
        mix_blocks(&mut state, blocks);
        finish_blocks(&mut state, tail);
        (state[0], state[1])
    }

    /// How many bytes have been fed.
    pub const fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing has been fed yet.
    pub const fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl Default for SpookyHasher {
    /// A hasher with both seeds 0, as for ChunkIds.
    fn default() -> Self {
        SpookyHasher::new(0, 0)
    }
}

impl core::fmt::Debug for SpookyHasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpookyHasher")
            .field("len", &self.total)
            .finish_non_exhaustive()
    }
}

fn initial_state(seed1: u64, seed2: u64) -> [u64; 12] {
    [
        seed1, seed2, CONST, seed1, seed2, CONST, seed1, seed2, CONST, seed1, seed2, CONST,
    ]
}

#[inline(always)]
fn word(bytes: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*bytes)
}

/// Mixes whole blocks into the lanes. The lanes live in locals for the whole loop so the compiler
/// keeps them in registers.
#[inline]
fn mix_blocks(state: &mut [u64; 12], blocks: &[[u8; BLOCK_LEN]]) {
    let [
        mut s0,
        mut s1,
        mut s2,
        mut s3,
        mut s4,
        mut s5,
        mut s6,
        mut s7,
        mut s8,
        mut s9,
        mut s10,
        mut s11,
    ] = *state;
    for block in blocks {
        let (words, _) = block.as_chunks::<8>();
        let d = |i: usize| word(&words[i]);
        s0 = s0.wrapping_add(d(0));
        s2 ^= s10;
        s11 ^= s0;
        s0 = s0.rotate_left(11);
        s11 = s11.wrapping_add(s1);
        s1 = s1.wrapping_add(d(1));
        s3 ^= s11;
        s0 ^= s1;
        s1 = s1.rotate_left(32);
        s0 = s0.wrapping_add(s2);
        s2 = s2.wrapping_add(d(2));
        s4 ^= s0;
        s1 ^= s2;
        s2 = s2.rotate_left(43);
        s1 = s1.wrapping_add(s3);
        s3 = s3.wrapping_add(d(3));
        s5 ^= s1;
        s2 ^= s3;
        s3 = s3.rotate_left(31);
        s2 = s2.wrapping_add(s4);
        s4 = s4.wrapping_add(d(4));
        s6 ^= s2;
        s3 ^= s4;
        s4 = s4.rotate_left(17);
        s3 = s3.wrapping_add(s5);
        s5 = s5.wrapping_add(d(5));
        s7 ^= s3;
        s4 ^= s5;
        s5 = s5.rotate_left(28);
        s4 = s4.wrapping_add(s6);
        s6 = s6.wrapping_add(d(6));
        s8 ^= s4;
        s5 ^= s6;
        s6 = s6.rotate_left(39);
        s5 = s5.wrapping_add(s7);
        s7 = s7.wrapping_add(d(7));
        s9 ^= s5;
        s6 ^= s7;
        s7 = s7.rotate_left(57);
        s6 = s6.wrapping_add(s8);
        s8 = s8.wrapping_add(d(8));
        s10 ^= s6;
        s7 ^= s8;
        s8 = s8.rotate_left(55);
        s7 = s7.wrapping_add(s9);
        s9 = s9.wrapping_add(d(9));
        s11 ^= s7;
        s8 ^= s9;
        s9 = s9.rotate_left(54);
        s8 = s8.wrapping_add(s10);
        s10 = s10.wrapping_add(d(10));
        s0 ^= s8;
        s9 ^= s10;
        s10 = s10.rotate_left(22);
        s9 = s9.wrapping_add(s11);
        s11 = s11.wrapping_add(d(11));
        s1 ^= s9;
        s10 ^= s11;
        s11 = s11.rotate_left(46);
        s10 = s10.wrapping_add(s0);
    }
    *state = [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11];
}

/// The block path's ending: the tail (under one block) is zero-padded to a block whose last byte
/// is the tail length, added into the lanes, and the lanes are stirred three times.
fn finish_blocks(state: &mut [u64; 12], tail: &[u8]) {
    let mut last = [0u8; BLOCK_LEN];
    last[..tail.len()].copy_from_slice(tail);
    // The tail is under 96 bytes, so its length fits the byte.
    last[BLOCK_LEN - 1] = tail.len() as u8;
    let (words, _) = last.as_chunks::<8>();
    for (lane, w) in state.iter_mut().zip(words) {
        *lane = lane.wrapping_add(word(w));
    }
    for _ in 0..3 {
        end_partial(state);
    }
}

fn end_partial(h: &mut [u64; 12]) {
    // (target, source, rotation) per step, in the reference's order: h[t+11] += h[t+1];
    // h[t+2] ^= h[t+11]; h[t+1] = rot(h[t+1], r), indices mod 12.
    const ROTATIONS: [u32; 12] = [44, 15, 34, 21, 38, 33, 10, 13, 38, 53, 42, 54];
    for (t, &r) in ROTATIONS.iter().enumerate() {
        let a = (t + 11) % 12;
        let b = (t + 1) % 12;
        let c = (t + 2) % 12;
        h[a] = h[a].wrapping_add(h[b]);
        h[c] ^= h[a];
        h[b] = h[b].rotate_left(r);
    }
}

/// The short path for inputs under 192 bytes. `total` is the input length (only its low byte
/// enters the hash, as in the reference).
fn short_hash(data: &[u8], total: u64, seed1: u64, seed2: u64) -> (u64, u64) {
    let mut a = seed1;
    let mut b = seed2;
    let mut c = CONST;
    let mut d = CONST;
    let mut rest = data;
    if data.len() > 15 {
        let (groups, after) = data.as_chunks::<32>();
        for group in groups {
            let (w, _) = group.as_chunks::<8>();
            c = c.wrapping_add(word(&w[0]));
            d = d.wrapping_add(word(&w[1]));
            short_mix(&mut a, &mut b, &mut c, &mut d);
            a = a.wrapping_add(word(&w[2]));
            b = b.wrapping_add(word(&w[3]));
        }
        rest = after;
        if let Some((half, after)) = rest.split_first_chunk::<16>() {
            let (w, _) = half.as_chunks::<8>();
            c = c.wrapping_add(word(&w[0]));
            d = d.wrapping_add(word(&w[1]));
            short_mix(&mut a, &mut b, &mut c, &mut d);
            rest = after;
        }
    }
    d = d.wrapping_add(total << 56);
    if rest.is_empty() {
        c = c.wrapping_add(CONST);
        d = d.wrapping_add(CONST);
    } else {
        // The reference's fall-through switch adds the first eight tail bytes to `c` and the rest
        // to `d`, each read little-endian and zero-padded.
        let split = rest.len().min(8);
        c = c.wrapping_add(padded_word(&rest[..split]));
        d = d.wrapping_add(padded_word(&rest[split..]));
    }
    short_end(&mut a, &mut b, &mut c, &mut d);
    (a, b)
}

fn padded_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

fn short_mix(h0: &mut u64, h1: &mut u64, h2: &mut u64, h3: &mut u64) {
    // Each row: rotate x, add y into x, xor x into z, with (x, y, z) cycling through the lanes.
    const ROTATIONS: [u32; 12] = [50, 52, 30, 41, 54, 48, 38, 37, 62, 34, 5, 36];
    let mut h = [*h0, *h1, *h2, *h3];
    for (i, &r) in ROTATIONS.iter().enumerate() {
        let x = (i + 2) % 4;
        let y = (i + 3) % 4;
        let z = i % 4;
        h[x] = h[x].rotate_left(r);
        h[x] = h[x].wrapping_add(h[y]);
        h[z] ^= h[x];
    }
    [*h0, *h1, *h2, *h3] = h;
}

fn short_end(h0: &mut u64, h1: &mut u64, h2: &mut u64, h3: &mut u64) {
    // Each row: x ^= y; y = rot(y, r); x += y, with (x, y) = (h3, h2), (h0, h3), (h1, h0), ...
    const ROTATIONS: [u32; 11] = [15, 52, 26, 51, 28, 9, 47, 54, 32, 25, 63];
    let mut h = [*h0, *h1, *h2, *h3];
    for (i, &r) in ROTATIONS.iter().enumerate() {
        let x = (i + 3) % 4;
        let y = (i + 2) % 4;
        h[x] ^= h[y];
        h[y] = h[y].rotate_left(r);
        h[x] = h[x].wrapping_add(h[y]);
    }
    [*h0, *h1, *h2, *h3] = h;
}

#[cfg(test)]
mod tests;
