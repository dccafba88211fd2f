//! The WOPI upload machine's own cost: a whole upload driven through it with instant answers
//! and no bytes read, so what is timed is the driver loop (requests, segment maps, headers,
//! answers, events) per update.
//!
//! `cargo bench -p resumable-benches --bench wopi_engine`
//!
//! Throughput is stream bytes per second: the rate at which the machine alone could describe an
//! upload. Dividing the stream length by the range size gives the updates per iteration.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use resumable_core::chunk::FragmentSizing;
use resumable_core::http::{RequestKind, Response};
use resumable_core::session::StateMachine;
use resumable_core::time::Instant;
use resumable_core::wopi::ChunkId;
use resumable_core::wopi::{WopiConfig, WopiStream, WopiUpload};

const GIB: u64 = 1024 * 1024 * 1024;

/// Drives a `total`-byte FullFile upload in `range`-byte updates; returns the updates sent.
fn upload(total: u64, range: u64) -> u64 {
    // The machine never reads the source, so any ChunkId describes it.
    let mut config = WopiConfig::new(vec![WopiStream::main_content(ChunkId::of(b"x"), total)]);
    config.range_size = FragmentSizing::Fixed(range);
    let url = "https://host.example/wopi/files/1?access_token=t";
    let mut machine = WopiUpload::create(url, config, Instant::ZERO).expect("valid configuration");
    let now = Instant::ZERO;
    let mut updates = 0;
    while let Some(request) = machine.poll_request(now) {
        let answer = match request.kind {
            RequestKind::CreateSession => {
                Response::new(200).with_body(r#"{"UploadSessionToken":"session"}"#)
            }
            RequestKind::Fragment => {
                updates += 1;
                let offset: u64 = request
                    .header("X-WOPI-ContentRangeOffset")
                    .unwrap()
                    .parse()
                    .unwrap();
                let end = offset + request.body.len();
                Response::new(200).with_header("X-WOPI-UploadSessionCurrentOffset", end.to_string())
            }
            _ => Response::new(200).with_header("X-WOPI-SequenceNumber", "2"),
        };
        machine.handle_response(now, request.id, answer);
        while let Some(event) = machine.poll_event() {
            black_box(event);
        }
    }
    assert!(machine.is_finished());
    updates
}

fn driver_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("wopi_engine_1GiB");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes(GIB + 32));
    for (label, range) in [("8MiB_ranges", 8 << 20), ("64KiB_ranges", 64 << 10)] {
        group.bench_function(BenchmarkId::new("upload", label), |b| {
            b.iter(|| upload(black_box(GIB), range))
        });
    }
    group.finish();
}

criterion_group!(benches, driver_loop);
criterion_main!(benches);
