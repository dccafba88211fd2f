//! The hashes the upload path computes from the bytes it sends, against a `memcpy` of the same
//! bytes, in one run.
//!
//! `cargo bench -p resumable-benches --bench verify`
//!
//! A Graph upload is called complete only once the service's size and hashes match the
//! source's; the transport computes them from the reads that send the bytes: QuickXorHash (what
//! drive items report) and CRC-32 (checkpoint fingerprints), together the `SourceDigest` with
//! `HashKinds::CHEAP`. SHA-1 and SHA-256 are what a service that reports nothing cheaper costs.
//! Every input is built before the timed closure; `memcpy` copies into a buffer allocated
//! outside the loop.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use resumable_benches::pseudo_random_bytes;
use resumable_core::digest::{HashKinds, QuickXorHash, SourceDigest};

const MIB: usize = 1024 * 1024;
const SIZES: [(&str, usize); 2] = [("1MiB", MIB), ("64MiB", 64 * MIB)];

fn verification_hashes(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (label, size) in SIZES {
        let data = pseudo_random_bytes(size, 7);
        let mut out = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("memcpy", label), |b| {
            b.iter(|| {
                out.copy_from_slice(black_box(&data));
                black_box(&out);
            });
        });
        group.bench_function(BenchmarkId::new("quickxor", label), |b| {
            b.iter(|| {
                let mut hash = QuickXorHash::new();
                hash.update(black_box(&data));
                black_box(hash.finish())
            });
        });
        group.bench_function(BenchmarkId::new("crc32fast", label), |b| {
            b.iter(|| crc32fast::hash(black_box(&data)));
        });
        // What the upload path does per byte sent: the digest (QuickXorHash and CRC-32) fed
        // in the 1 MiB blocks the transport reads, and the CRC-32 of each request's body.
        group.bench_function(BenchmarkId::new("upload_path", label), |b| {
            b.iter(|| {
                let mut digest = SourceDigest::with_kinds(size as u64, HashKinds::CHEAP);
                let mut body = crc32fast::Hasher::new();
                for (i, block) in black_box(&data).chunks(MIB).enumerate() {
                    digest.update((i * MIB) as u64, block);
                    body.update(block);
                }
                black_box((digest.hashes(), body.finalize()))
            });
        });
        group.bench_function(BenchmarkId::new("all_four", label), |b| {
            b.iter(|| {
                let mut digest = SourceDigest::with_kinds(size as u64, HashKinds::ALL);
                digest.update(0, black_box(&data));
                black_box(digest.hashes())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, verification_hashes);
criterion_main!(benches);
