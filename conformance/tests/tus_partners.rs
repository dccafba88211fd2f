//! Uploads to real tus servers nobody here wrote (tusd, @tus/server, asgi-tus), through both
//! transports, checked on each server's disk: files of boundary sizes, tens of MiB, checksums,
//! a byte corrupted in transit, connections cut mid-`PATCH`, the IETF draft, resume from a
//! checkpoint, cancel. Partners are started by the test itself when they are not running
//! (see `resumable_conformance::partners`); any that is missing is named on stderr and skipped.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use resumable_conformance::fault_proxy::{BodyFault, FaultProxy};
use resumable_conformance::partners::{Partner, partners};
use resumable_conformance::{random, sha256};
use resumable_core::digest::DigestAlgorithm;
use resumable_core::retry::RetryPolicy;
use resumable_core::session::Resumption;
use resumable_core::time::Duration;
use resumable_core::tus::{ChecksumPolicy, InteropVersion, TusEvent, Variant};
use resumable_reqwest::source::BytesSource;
use resumable_reqwest::{FailureCause, FileCheckpointStore, TusJob, Uploader};

const MIB: usize = 1 << 20;

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn quick(job: TusJob, chunk: usize) -> TusJob {
    job.configure(|config| {
        config.chunk_size = chunk as u64;
        config.retry = RetryPolicy {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            ..RetryPolicy::default()
        };
    })
}

/// Uploads `bytes` to `partner` (through `via` when given) and checks the server's copy.
fn upload_and_check(
    partner: &Partner,
    variant: Variant,
    bytes: Vec<u8>,
    chunk: usize,
    via: Option<&FaultProxy>,
) -> (resumable_reqwest::TusSummary, Vec<TusEvent>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let endpoint = partner.endpoint(via.map(FaultProxy::addr));
    let job = quick(
        TusJob::new(BytesSource::new(bytes.clone()), variant, endpoint),
        chunk,
    )
    .metadata("filename", "données.bin")
    .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    let summary = runtime()
        .block_on(async { Uploader::new().unwrap().upload_tus(job).await })
        .unwrap_or_else(|failure| {
            panic!(
                "{} ({variant}): {} bytes: {failure}",
                partner.name,
                bytes.len()
            )
        });
    let stored = partner.stored(summary.completion.url.expose()).unwrap();
    assert_eq!(
        sha256(&stored),
        sha256(&bytes),
        "{} ({variant}): {} bytes stored differ",
        partner.name,
        bytes.len()
    );
    assert_eq!(summary.completion.length, bytes.len() as u64);
    let events = events.lock().unwrap().clone();
    (summary, events)
}

#[test]
fn every_partner_stores_files_of_boundary_sizes_byte_identical() {
    let seed = seed();
    for partner in partners() {
        for (i, len) in [0, 1, 65_535, 65_536, 65_537, 3 * MIB + 7]
            .into_iter()
            .enumerate()
        {
            let (summary, _) = upload_and_check(
                partner,
                Variant::Tus1,
                random(len, seed + i as u64),
                MIB,
                None,
            );
            let expected = partner.checksums.then_some(DigestAlgorithm::Crc32);
            assert_eq!(
                summary.completion.checksum,
                if len == 0 {
                    None.or(expected)
                } else {
                    expected
                },
                "{}: {len} bytes",
                partner.name
            );
        }
    }
}

#[test]
fn tens_of_mib_go_in_several_requests_to_every_partner() {
    let seed = seed();
    for partner in partners() {
        let (summary, events) = upload_and_check(
            partner,
            Variant::Tus1,
            random(24 * MIB + 3, seed),
            4 * MIB,
            None,
        );
        let acks = events
            .iter()
            .filter(|e| matches!(e, TusEvent::Acknowledged { .. }))
            .count();
        assert!(acks >= 6, "{}: {acks} acknowledgements", partner.name);
        assert_eq!(summary.stats.retries, 0, "{}", partner.name);
    }
}

#[test]
fn the_ietf_draft_against_tusd() {
    let seed = seed();
    for partner in partners().iter().filter(|p| p.ietf_draft) {
        for (i, len) in [0, 1, 3 * MIB + 7].into_iter().enumerate() {
            let (summary, events) = upload_and_check(
                partner,
                Variant::Ietf(InteropVersion::V6),
                random(len, seed + i as u64),
                MIB,
                None,
            );
            assert_eq!(summary.completion.checksum, None);
            assert!(
                !events.iter().any(|e| matches!(e, TusEvent::Discovered(_))),
                "the draft has no OPTIONS"
            );
        }
    }
}

#[test]
fn a_corrupted_request_is_refused_by_the_checksum_server_and_resent() {
    for partner in partners().iter().filter(|p| p.checksums) {
        for algorithm in [DigestAlgorithm::Crc32, DigestAlgorithm::Sha1] {
            let proxy = FaultProxy::start(partner.addr).unwrap();
            // The second body (the first PATCH after the creation's) loses a byte in transit.
            proxy.on_body(2, BodyFault::Corrupt { at: 1000 });
            let bytes = random(3 * MIB, seed());
            let events = Arc::new(Mutex::new(Vec::new()));
            let seen = events.clone();
            let job = quick(
                TusJob::new(
                    BytesSource::new(bytes.clone()),
                    Variant::Tus1,
                    partner.endpoint(Some(proxy.addr())),
                ),
                MIB,
            )
            .configure(|config| config.checksum = ChecksumPolicy::Require(algorithm))
            .on_event(move |event| seen.lock().unwrap().push(event.clone()));
            let summary = runtime()
                .block_on(async { Uploader::new().unwrap().upload_tus(job).await })
                .unwrap();
            assert_eq!(proxy.applied(), 1);
            assert!(
                events
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|e| matches!(e, TusEvent::ChecksumMismatch { status: 460, .. })),
                "{}: the server must refuse the damaged request",
                partner.name
            );
            assert_eq!(summary.completion.checksum, Some(algorithm));
            let stored = partner.stored(summary.completion.url.expose()).unwrap();
            assert_eq!(sha256(&stored), sha256(&bytes));
        }
    }
}

#[test]
fn connections_cut_mid_patch_resume_from_each_servers_offset() {
    let seed = seed();
    for partner in partners() {
        let proxy = FaultProxy::start(partner.addr).unwrap();
        proxy.on_body(2, BodyFault::Cut { after: 300_000 });
        proxy.on_body(4, BodyFault::Cut { after: 10 });
        let (summary, events) = upload_and_check(
            partner,
            Variant::Tus1,
            random(5 * MIB + 11, seed),
            MIB,
            Some(&proxy),
        );
        assert_eq!(proxy.applied(), 2, "{}", partner.name);
        assert!(summary.stats.retries >= 2, "{}", partner.name);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, TusEvent::Resynchronised { .. })),
            "{}: a HEAD follows each cut",
            partner.name
        );
    }
    for partner in partners().iter().filter(|p| p.ietf_draft) {
        let proxy = FaultProxy::start(partner.addr).unwrap();
        proxy.on_body(1, BodyFault::Cut { after: 500_000 });
        upload_and_check(
            partner,
            Variant::Ietf(InteropVersion::V6),
            random(3 * MIB, seed + 1),
            MIB,
            Some(&proxy),
        );
        assert_eq!(proxy.applied(), 1);
    }
}

#[test]
fn a_stopped_upload_resumes_from_its_checkpoint_on_every_partner() {
    let seed = seed();
    for partner in partners() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("upload.checkpoint"));
        let bytes = random(6 * MIB, seed);
        let endpoint = partner.endpoint(None);
        let job = || {
            quick(
                TusJob::new(
                    BytesSource::new(bytes.clone()),
                    Variant::Tus1,
                    endpoint.clone(),
                ),
                MIB,
            )
            .checkpoint(store.clone())
        };
        let rt = runtime();
        let stopped = rt.block_on(async {
            let mut task = Uploader::new().unwrap().start_tus(job()).await.unwrap();
            while let Some(event) = task.next().await {
                if matches!(event, TusEvent::Acknowledged { confirmed, .. } if confirmed >= 2 * MIB as u64)
                {
                    task.stop();
                }
            }
            task.finish().await
        });
        assert!(matches!(
            stopped.map_err(|f| f.cause),
            Err(FailureCause::Stopped)
        ));
        let summary = rt
            .block_on(async { Uploader::new().unwrap().upload_tus(job()).await })
            .unwrap();
        assert!(
            matches!(summary.resumption, Resumption::Resumed { confirmed, .. } if confirmed >= 2 * MIB as u64),
            "{}: {:?}",
            partner.name,
            summary.resumption
        );
        assert!(
            summary.stats.bytes_sent <= 5 * MIB as u64,
            "{}: resumed, so not everything again ({} sent)",
            partner.name,
            summary.stats.bytes_sent
        );
        let stored = partner.stored(summary.completion.url.expose()).unwrap();
        assert_eq!(sha256(&stored), sha256(&bytes), "{}", partner.name);
        assert!(!store.path().exists(), "removed on success");
    }
}

#[test]
fn a_cancelled_upload_is_deleted_where_the_server_offers_termination() {
    for partner in partners() {
        let rt = runtime();
        let url = rt.block_on(async {
            let job = quick(
                TusJob::new(
                    BytesSource::new(random(4 * MIB, 3)),
                    Variant::Tus1,
                    partner.endpoint(None),
                ),
                MIB,
            );
            let mut task = Uploader::new().unwrap().start_tus(job).await.unwrap();
            let mut url = None;
            while let Some(event) = task.next().await {
                match event {
                    TusEvent::UploadCreated { url: created, .. } => url = Some(created),
                    TusEvent::Acknowledged { .. } => task.cancel(),
                    _ => {}
                }
            }
            let outcome = task.finish().await;
            assert!(matches!(
                outcome.map_err(|f| f.cause),
                Err(FailureCause::Cancelled)
            ));
            url.unwrap()
        });
        let status = rt.block_on(async {
            reqwest::Client::new()
                .head(url.expose())
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert!(
            matches!(status, 404 | 410),
            "{}: HEAD after the cancel answered {status}",
            partner.name
        );
    }
}

/// The same uploads through the blocking transport: boundary sizes, a cut mid-`PATCH`, a byte
/// corrupted in transit where the server checks checksums, and the draft against tusd.
#[test]
fn the_blocking_transport_uploads_to_every_partner_through_faults() {
    let seed = seed();
    for partner in partners() {
        let variants: &[Variant] = if partner.ietf_draft {
            &[Variant::Tus1, Variant::Ietf(InteropVersion::V6)]
        } else {
            &[Variant::Tus1]
        };
        for &variant in variants {
            for (i, len) in [0, 1, 65_537, 3 * MIB + 7].into_iter().enumerate() {
                let proxy = FaultProxy::start(partner.addr).unwrap();
                if len > MIB {
                    proxy.on_body(2, BodyFault::Cut { after: 200_000 });
                    if partner.checksums && variant == Variant::Tus1 {
                        proxy.on_body(4, BodyFault::Corrupt { at: 7 });
                    }
                }
                let bytes = random(len, seed + i as u64);
                let mismatches = Arc::new(Mutex::new(0));
                let counted = mismatches.clone();
                let job = resumable_ureq::TusJob::new(
                    BytesSource::new(bytes.clone()),
                    variant,
                    partner.endpoint(Some(proxy.addr())),
                )
                .configure(|config| {
                    config.chunk_size = MIB as u64;
                    config.retry.initial_backoff = Duration::from_millis(20);
                })
                .on_event(move |event| {
                    if matches!(event, TusEvent::ChecksumMismatch { .. }) {
                        *counted.lock().unwrap() += 1;
                    }
                });
                let summary = resumable_ureq::Uploader::new()
                    .upload_tus(job)
                    .unwrap_or_else(|f| panic!("{} ({variant}) {len} bytes: {f}", partner.name));
                let stored = partner.stored(summary.completion.url.expose()).unwrap();
                assert_eq!(
                    sha256(&stored),
                    sha256(&bytes),
                    "{} ({variant}) {len} bytes",
                    partner.name
                );
                if len > MIB && partner.checksums && variant == Variant::Tus1 {
                    assert_eq!(proxy.applied(), 2);
                    assert_eq!(*mismatches.lock().unwrap(), 1, "{}", partner.name);
                }
            }
        }
    }
}
