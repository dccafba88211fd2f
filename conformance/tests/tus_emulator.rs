//! The real tus client (`resumable-reqwest`'s `upload_tus`) against the emulator's tus 1.0 and
//! IETF draft (interop versions 6 and 8) endpoints, with the emulator's faults placed on exact
//! requests: a lost answer to the second `PATCH`, connections cut in the middle of a `PATCH`
//! (with and without the prefix kept), a storm of `503`s within the retry budget. Each upload
//! must end with the emulator's stored file byte-identical to the source, and the client's
//! events must show how it got there (retries, resynchronisations from a `HEAD`).
//!
//! The end-to-end tests live here rather than in the emulator's own tests because
//! `resumable-reqwest` already has the emulator as a dev-dependency: the emulator depending
//! back on it would make a cycle; this crate depends on both.

use std::sync::{Arc, Mutex};

use resumable_conformance::{random, sha256};
use resumable_core::digest::DigestAlgorithm;
use resumable_core::retry::RetryPolicy;
use resumable_core::time::Duration;
use resumable_core::tus::{InteropVersion, TusEvent, Variant};
use resumable_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultScript, Protocol, RequestKind,
};
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{TusJob, TusSummary, Uploader};

const MIB: usize = 1 << 20;

/// The three dialects the client speaks.
const VARIANTS: [Variant; 3] = [
    Variant::Tus1,
    Variant::Ietf(InteropVersion::V6),
    Variant::Ietf(InteropVersion::V8),
];

fn endpoint(emulator: &EmulatorHandle, variant: Variant) -> String {
    match variant {
        Variant::Tus1 => emulator.tus_endpoint(),
        Variant::Ietf(_) => emulator.ietf_endpoint(),
    }
}

async fn start(script: &str) -> EmulatorHandle {
    let script: FaultScript = script.parse().expect("a valid fault script");
    Emulator::start(EmulatorConfig::default().with_script(script))
        .await
        .expect("the emulator starts")
}

/// Uploads `bytes` to `emulator` in `variant` with 1 MiB requests and quick retries, and checks
/// that the one file the emulator stored is the source, byte for byte.
async fn upload(
    emulator: &EmulatorHandle,
    variant: Variant,
    bytes: Vec<u8>,
) -> (TusSummary, Vec<TusEvent>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let job = TusJob::new(
        BytesSource::new(bytes.clone()),
        variant,
        endpoint(emulator, variant),
    )
    .metadata("filename", "données.bin")
    .configure(|config| {
        config.chunk_size = MIB as u64;
        config.retry = RetryPolicy {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            ..RetryPolicy::default()
        };
    })
    .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    let summary = Uploader::new()
        .unwrap()
        .upload_tus(job)
        .await
        .unwrap_or_else(|failure| panic!("{variant}: {} bytes: {failure}", bytes.len()));
    let files = emulator.files();
    assert_eq!(files.len(), 1, "{variant}: one file stored");
    let file = &files[0];
    assert_eq!(
        file.sha256,
        sha256(&bytes),
        "{variant}: the stored file differs"
    );
    assert_eq!(file.size, bytes.len() as u64);
    let (protocol, prefix) = match variant {
        Variant::Tus1 => (Protocol::Tus, "tus/"),
        Variant::Ietf(_) => (Protocol::IetfDraft, "ietf/"),
    };
    assert_eq!(file.protocol, protocol);
    let id = file
        .path
        .strip_prefix(prefix)
        .expect("the path names the dialect");
    assert!(
        summary.completion.url.expose().ends_with(&format!("/{id}")),
        "{variant}: the completion names the stored upload"
    );
    assert_eq!(summary.completion.length, bytes.len() as u64);
    assert_eq!(
        emulator.stats().sessions_live,
        0,
        "{variant}: no upload left open"
    );
    let events = events.lock().unwrap().clone();
    (summary, events)
}

fn count(events: &[TusEvent], wanted: fn(&TusEvent) -> bool) -> usize {
    events.iter().filter(|event| wanted(event)).count()
}

fn retries(events: &[TusEvent]) -> usize {
    count(events, |e| matches!(e, TusEvent::RetryScheduled { .. }))
}

fn resyncs(events: &[TusEvent]) -> usize {
    count(events, |e| matches!(e, TusEvent::Resynchronised { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_stores_files_of_boundary_sizes_byte_identical() {
    for variant in VARIANTS {
        for (i, len) in [0, 1, MIB - 1, MIB, 3 * MIB + 7].into_iter().enumerate() {
            let emulator = start("").await;
            let (summary, events) = upload(&emulator, variant, random(len, 11 + i as u64)).await;
            assert_eq!(summary.stats.retries, 0, "{variant}, {len} bytes");
            let expected = match variant {
                // The emulator offers crc32 and sha1; the client picks the cheaper.
                Variant::Tus1 => Some(DigestAlgorithm::Crc32),
                Variant::Ietf(_) => None,
            };
            assert_eq!(
                summary.completion.checksum, expected,
                "{variant}, {len} bytes"
            );
            let discovered = count(&events, |e| matches!(e, TusEvent::Discovered(_)));
            assert_eq!(
                discovered,
                usize::from(variant == Variant::Tus1),
                "{variant}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_the_second_patch_is_resolved_by_a_head() {
    for variant in VARIANTS {
        let emulator = start("tus-append#2=lose-answer").await;
        let (summary, events) = upload(&emulator, variant, random(4 * MIB + 3, 21)).await;
        let stats = emulator.stats();
        assert_eq!(stats.faults.get("lose-answer"), Some(&1), "{variant}");
        assert_eq!(stats.recent_faults[0].kind, RequestKind::TusAppend);
        assert!(retries(&events) >= 1, "{variant}: {events:?}");
        assert!(resyncs(&events) >= 1, "{variant}: {events:?}");
        assert!(summary.stats.retries >= 1 && summary.stats.resyncs >= 1);
        assert_eq!(
            summary.completion.uploads, 1,
            "{variant}: the same upload went on"
        );
        // The lost request's bytes were stored: asking, not resending, found them.
        assert_eq!(stats.bytes_received_twice, 0, "{variant}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_patch_is_resumed_from_what_the_server_holds() {
    // drop-mid-body: nothing of the cut request is stored. partial-store-lost: its first
    // 100 000 bytes are, and the client must go on from there.
    for fault in ["drop-mid-body:300000", "partial-store-lost:100000"] {
        for variant in VARIANTS {
            let emulator = start(&format!("tus-append#2={fault}")).await;
            let (summary, events) = upload(&emulator, variant, random(4 * MIB + 3, 31)).await;
            let name = fault.split(':').next().unwrap();
            let stats = emulator.stats();
            assert_eq!(stats.faults.get(name), Some(&1), "{variant} {fault}");
            assert!(retries(&events) >= 1, "{variant} {fault}: {events:?}");
            assert!(resyncs(&events) >= 1, "{variant} {fault}: {events:?}");
            assert_eq!(summary.completion.uploads, 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_503s_within_the_retry_budget_is_waited_out() {
    // Five appends in a row and a HEAD answer 503, one of them with Retry-After: 1.
    let script = "tus-append#2=status:503, tus-append#3=status:503, \
                  tus-append#4=throttle:503:seconds:1, tus-append#5=status:503, \
                  tus-append#6=status:503, tus-head#2=status:503";
    for variant in VARIANTS {
        let emulator = start(script).await;
        let started = std::time::Instant::now();
        let (summary, events) = upload(&emulator, variant, random(3 * MIB + 5, 41)).await;
        let stats = emulator.stats();
        let injected = stats.faults.get("status-503").copied().unwrap_or(0)
            + stats
                .faults
                .get("throttle-503-seconds")
                .copied()
                .unwrap_or(0);
        assert!(injected >= 5, "{variant}: {:?}", stats.faults);
        assert!(retries(&events) >= 5, "{variant}: {events:?}");
        assert!(resyncs(&events) >= 1, "{variant}: {events:?}");
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "{variant}: Retry-After was honoured"
        );
        assert_eq!(summary.completion.uploads, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_the_server_lets_expire_is_replaced_by_a_new_one() {
    for variant in VARIANTS {
        let emulator = start("tus-append#2=expire-session").await;
        let (summary, events) = upload(&emulator, variant, random(3 * MIB + 1, 51)).await;
        assert_eq!(emulator.stats().faults.get("expire-session"), Some(&1));
        let lost = count(&events, |e| {
            matches!(
                e,
                TusEvent::UploadLost {
                    starting_over: true,
                    ..
                }
            )
        });
        assert_eq!(lost, 1, "{variant}: {events:?}");
        assert_eq!(summary.completion.uploads, 2, "{variant}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_claims_bytes_it_was_never_sent_is_not_believed() {
    for variant in VARIANTS {
        let emulator = start("tus-append#2=skip-ahead:10").await;
        let job = TusJob::new(
            BytesSource::new(random(4 * MIB, 61)),
            variant,
            endpoint(&emulator, variant),
        )
        .configure(|config| config.chunk_size = MIB as u64);
        let failure = Uploader::new()
            .unwrap()
            .upload_tus(job)
            .await
            .expect_err("a lie about the offset ends the upload");
        assert!(
            failure.to_string().contains("never sent"),
            "{variant}: {failure}"
        );
        assert!(emulator.files().is_empty(), "{variant}");
        assert_eq!(emulator.stats().faults.get("skip-ahead"), Some(&1));
    }
}
