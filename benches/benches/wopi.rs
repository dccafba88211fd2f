//! WOPI framing hot paths against a `memcpy` of the same bytes, in one run.
//!
//! `cargo bench -p resumable-benches --bench wopi`
//!
//! Every input is built before the timed closure. `memcpy` (a `copy_from_slice` into a buffer
//! allocated outside the loop) is the ceiling each throughput is compared with in
//! `BENCHMARKS.md`; CRC32 (crc32fast) is the baseline hash.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use resumable_benches::{framed_stream, pseudo_random_bytes, random_ranges, stream_map};
use resumable_core::wopi::{
    BodyKind, ChunkId, Decoded, DecoderConfig, FrameDecoder, FramePrefix, spooky::spooky_hash128,
};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const HASH_SIZES: [(&str, usize); 3] = [("4KiB", 4 * KIB), ("1MiB", MIB), ("64MiB", 64 * MIB)];

fn memcpy_and_hashes(c: &mut Criterion) {
    let mut group = c.benchmark_group("bytes");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (label, size) in HASH_SIZES {
        let src = pseudo_random_bytes(size, 1);
        let mut dst = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("memcpy", label), |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&src));
                black_box(&dst);
            })
        });
        group.bench_function(BenchmarkId::new("spooky128", label), |b| {
            b.iter(|| spooky_hash128(black_box(&src), 0, 0))
        });
        group.bench_function(BenchmarkId::new("crc32fast", label), |b| {
            b.iter(|| crc32fast::hash(black_box(&src)))
        });
    }
    group.finish();
}

/// Decodes a 128 MiB stream eight times per iteration: 1 GiB of stream per iteration.
fn decode(c: &mut Criterion) {
    const STREAM: usize = 128 * MIB;
    const PASSES: u64 = 8;
    let mut group = c.benchmark_group("decode_1GiB");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(STREAM as u64 * PASSES));
    for (label, frame) in [("64KiB_frames", 64 * KIB), ("8MiB_frames", 8 * MIB)] {
        let stream = Bytes::from(framed_stream(STREAM, frame));
        let config = DecoderConfig::new(BodyKind::UploadSessionStream)
            .with_max_payload_len(16 << 20)
            .with_chunk_id_verification(false);
        group.bench_function(BenchmarkId::new("zero_copy", label), |b| {
            b.iter(|| {
                let mut payload_bytes = 0usize;
                for _ in 0..PASSES {
                    let mut decoder = FrameDecoder::new(config);
                    let mut rest = stream.clone();
                    while let Ok(Decoded::Frame(frame)) = decoder.decode_bytes(&rest) {
                        payload_bytes += frame.payload.len();
                        rest = rest.slice(frame.encoded_len()..);
                    }
                }
                black_box(payload_bytes)
            })
        });
    }
    // The same bytes copied, as the ceiling for this group.
    let src = pseudo_random_bytes(STREAM, 2);
    let mut dst = vec![0u8; STREAM];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            for _ in 0..PASSES {
                dst.copy_from_slice(black_box(&src));
            }
            black_box(&dst);
        })
    });
    group.finish();

    // With ChunkId verification the decoder hashes every payload byte once.
    let mut group = c.benchmark_group("decode_verified_128MiB");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(STREAM as u64));
    let stream = Bytes::from(framed_stream(STREAM, 64 * KIB));
    let config = DecoderConfig::new(BodyKind::UploadSessionStream);
    group.bench_function("64KiB_frames", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new(config);
            let mut rest = stream.clone();
            while let Ok(Decoded::Frame(frame)) = decoder.decode_bytes(&rest) {
                rest = rest.slice(frame.encoded_len()..);
            }
            assert_eq!(decoder.offset(), stream.len() as u64);
        })
    });
    group.finish();
}

/// Writes the prefixes of 1024 chunks back to back (as a stream's prefixes are written);
/// the time per frame is the time per iteration / 1024.
fn header_encode(c: &mut Criterion) {
    const FRAMES: usize = 1024;
    let mut group = c.benchmark_group("header_encode");
    group.measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Bytes((FRAMES * 32) as u64));
    let prefixes: Vec<FramePrefix> = (0..FRAMES as u64)
        .map(|i| FramePrefix::chunk(ChunkId::from_hash((i, !i)), 65_536 + i))
        .collect();
    let mut out = vec![0u8; FRAMES * 32];
    group.bench_function("1024_chunk_prefixes", |b| {
        b.iter(|| {
            let mut at = 0;
            for prefix in black_box(&prefixes) {
                at += prefix.write_to(&mut out[at..]).unwrap_or(0);
            }
            black_box(&out);
            at
        })
    });
    // The floor: copying the same 32 KiB of ready-made prefix bytes.
    let ready = out.clone();
    group.bench_function("memcpy_32KiB", |b| {
        b.iter(|| {
            out.copy_from_slice(black_box(&ready));
            black_box(&out);
        })
    });
    group.finish();
}

fn segment_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("segment_lookup");
    group.measurement_time(Duration::from_secs(2));
    // 100 000 chunks of 64 KiB (a 6.1 GiB stream); ranges of 10 MiB at random offsets.
    let stream = stream_map(100_000, 64 * KIB as u64);
    // A 4 KiB range touches one or two frames: this is the lookup itself.
    let small = random_ranges(&stream, 1024, 4 * KIB as u64);
    group.throughput(Throughput::Bytes(4 * KIB as u64));
    let mut next = small.iter().cycle();
    group.bench_function("segments_4KiB", |b| {
        b.iter(|| black_box(stream.segments(*next.next().unwrap()).unwrap()))
    });
    group.bench_function("pieces_4KiB", |b| {
        b.iter(|| black_box(stream.pieces(*next.next().unwrap()).unwrap().count()))
    });
    // A 10 MiB range (an UpdateUploadSession body) spans about 160 frames.
    let ranges = random_ranges(&stream, 1024, 10 * MIB as u64);
    group.throughput(Throughput::Bytes(10 * MIB as u64));
    let mut next = ranges.iter().cycle();
    group.bench_function("segments_10MiB", |b| {
        b.iter(|| black_box(stream.segments(*next.next().unwrap()).unwrap()))
    });
    group.bench_function("pieces_10MiB", |b| {
        b.iter(|| black_box(stream.pieces(*next.next().unwrap()).unwrap().count()))
    });
    group.finish();
}

criterion_group!(
    benches,
    header_encode,
    segment_lookup,
    memcpy_and_hashes,
    decode
);
criterion_main!(benches);
