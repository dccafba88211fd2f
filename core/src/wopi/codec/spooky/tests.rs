use super::*;
use proptest::prelude::*;

/// One line of `vectors.txt`: the input is regenerated from its seed, so the file stays small.
struct Vector {
    len: usize,
    data_seed: u64,
    seed1: u64,
    seed2: u64,
    expected: (u64, u64),
}

const VECTORS: &str = include_str!("vectors.txt");

fn vectors() -> std::vec::Vec<Vector> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: std::vec::Vec<&str> = line.split_whitespace().collect();
            let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
            Vector {
                len: f[0].parse().unwrap(),
                data_seed: hex(f[1]),
                seed1: hex(f[2]),
                seed2: hex(f[3]),
                expected: (hex(f[4]), hex(f[5])),
            }
        })
        .collect()
}

/// The vector inputs: little-endian bytes of SplitMix64 outputs, as the generator wrote them.
fn splitmix_bytes(seed: u64, len: usize) -> std::vec::Vec<u8> {
    let mut state = seed;
    let mut out = std::vec::Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn vectors_cover_the_lengths_at_the_path_boundaries() {
    let lens: std::vec::Vec<usize> = vectors().iter().map(|v| v.len).collect();
    for len in [0, 1, 15, 16, 31, 32, 95, 96, 191, 192, 193, 1000, 100_000] {
        assert!(lens.contains(&len), "no vector of length {len}");
    }
    assert!(vectors().iter().any(|v| v.seed1 != 0 && v.seed2 != 0));
    assert!(vectors().len() > 150);
}

#[test]
fn one_shot_matches_the_reference() {
    for v in vectors() {
        let data = splitmix_bytes(v.data_seed, v.len);
        assert_eq!(
            spooky_hash128(&data, v.seed1, v.seed2),
            v.expected,
            "len {} data_seed {:x}",
            v.len,
            v.data_seed
        );
    }
}

#[test]
fn streaming_matches_the_reference_at_every_split_of_short_inputs() {
    for v in vectors().into_iter().filter(|v| v.len <= 400) {
        let data = splitmix_bytes(v.data_seed, v.len);
        for split in 0..=data.len() {
            let mut hasher = SpookyHasher::new(v.seed1, v.seed2);
            hasher.update(&data[..split]);
            hasher.update(&data[split..]);
            assert_eq!(hasher.finish(), v.expected, "len {} split {split}", v.len);
        }
    }
}

#[test]
fn streaming_matches_the_reference_byte_by_byte_and_in_odd_pieces() {
    for v in vectors() {
        let data = splitmix_bytes(v.data_seed, v.len);
        let mut bytewise = SpookyHasher::new(v.seed1, v.seed2);
        for b in &data {
            bytewise.update(core::slice::from_ref(b));
        }
        assert_eq!(bytewise.finish(), v.expected, "bytewise len {}", v.len);
        for piece in [95, 96, 97, 191, 192, 193, 4096] {
            let mut hasher = SpookyHasher::new(v.seed1, v.seed2);
            for chunk in data.chunks(piece) {
                hasher.update(chunk);
            }
            assert_eq!(hasher.len(), v.len as u64);
            assert_eq!(
                hasher.finish(),
                v.expected,
                "pieces of {piece}, len {}",
                v.len
            );
        }
    }
}

#[test]
fn finish_does_not_consume_the_hasher() {
    let data = splitmix_bytes(7, 500);
    let mut hasher = SpookyHasher::default();
    hasher.update(&data[..100]);
    assert_eq!(hasher.finish(), spooky_hash128(&data[..100], 0, 0));
    hasher.update(&data[100..]);
    assert_eq!(hasher.finish(), spooky_hash128(&data, 0, 0));
    assert!(!hasher.is_empty());
    assert!(SpookyHasher::default().is_empty());
}

#[test]
fn some_random_text_has_the_documented_hash() {
    let (h1, h2) = spooky_hash128(b"SomeRandomText", 0, 0);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&h1.to_le_bytes());
    id[8..].copy_from_slice(&h2.to_le_bytes());
    // pBw0Ufss5SPFsfoEWGi2+w== decoded.
    assert_eq!(
        id,
        [
            0xa4, 0x1c, 0x34, 0x51, 0xfb, 0x2c, 0xe5, 0x23, 0xc5, 0xb1, 0xfa, 0x04, 0x58, 0x68,
            0xb6, 0xfb
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn streaming_equals_one_shot_for_random_splits(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        seed1 in any::<u64>(),
        seed2 in any::<u64>(),
    ) {
        let mut points: std::vec::Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        points.sort_unstable();
        let mut hasher = SpookyHasher::new(seed1, seed2);
        let mut from = 0;
        for p in points {
            hasher.update(&data[from..p]);
            from = p;
        }
        hasher.update(&data[from..]);
        prop_assert_eq!(hasher.finish(), spooky_hash128(&data, seed1, seed2));
    }
}
