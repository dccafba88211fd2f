//! The Rust `tus-server` protocol core (`tus-protocol` behind `tus-axum`, crates.io, written by
//! others), run in this process on 127.0.0.1 with file storage and every extension: uploads
//! through both transports of boundary sizes, a byte corrupted in transit (its checksums refuse
//! it with `460`), and a connection cut mid-`PATCH` (it keeps nothing of an interrupted
//! request), each checked on its disk.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use resumable_conformance::fault_proxy::{BodyFault, FaultProxy};
use resumable_conformance::{random, sha256};
use resumable_core::digest::DigestAlgorithm;
use resumable_core::time::Duration;
use resumable_core::tus::{TusEvent, Variant};
use resumable_reqwest::source::BytesSource;
use tus_axum::{RouterOptions, TusState, create_router};
use tus_protocol::locking::memory::MemoryLocker;
use tus_protocol::state::memory::MemoryStateStore;
use tus_protocol::storage::file::FileStorage;
use tus_protocol::{Config, NoopHookExecutor, ProtocolHandle};

const MIB: usize = 1 << 20;

/// A running server and the folder it stores uploads in.
struct Server {
    addr: SocketAddr,
    root: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let root = tempfile::tempdir().unwrap();
        let storage = FileStorage::new_sync(root.path()).unwrap();
        let config = Config::all_extensions().with_base_path("/files");
        let state = TusState::new(ProtocolHandle::new(
            config,
            storage,
            MemoryStateStore::new(),
            MemoryLocker::new(),
            NoopHookExecutor::new(),
        ));
        let router = create_router(state, RouterOptions::default()).unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Server {
            addr,
            root,
            _runtime: runtime,
        }
    }

    /// The bytes of the one upload stored so far (each test uses a server of its own).
    fn stored(&self) -> Vec<u8> {
        let files: Vec<PathBuf> = std::fs::read_dir(self.root.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "upload"))
            .collect();
        assert_eq!(files.len(), 1, "one upload stored: {files:?}");
        std::fs::read(&files[0]).unwrap()
    }

    fn root(&self) -> &Path {
        self.root.path()
    }
}

fn async_upload(endpoint: String, bytes: &[u8]) -> (resumable_reqwest::TusSummary, Vec<TusEvent>) {
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let job =
        resumable_reqwest::TusJob::new(BytesSource::new(bytes.to_vec()), Variant::Tus1, endpoint)
            .configure(|config| {
                config.chunk_size = MIB as u64;
                config.retry.initial_backoff = Duration::from_millis(20);
            })
            .on_event(move |event| seen.lock().unwrap().push(event.clone()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let summary = runtime
        .block_on(async {
            resumable_reqwest::Uploader::new()
                .unwrap()
                .upload_tus(job)
                .await
        })
        .unwrap_or_else(|failure| panic!("{} bytes: {failure}", bytes.len()));
    let events = events.lock().unwrap().clone();
    (summary, events)
}

#[test]
fn files_of_boundary_sizes_are_stored_byte_identical_through_both_transports() {
    for (i, len) in [0, 1, 65_535, MIB, MIB + 1, 5 * MIB + 3]
        .into_iter()
        .enumerate()
    {
        let bytes = random(len, 77 + i as u64);
        let server = Server::start();
        let (summary, _) = async_upload(format!("http://{}/files", server.addr), &bytes);
        assert_eq!(server.stored(), bytes, "{len} bytes (async)");
        assert_eq!(summary.completion.length, len as u64);
        let server = Server::start();
        let job = resumable_ureq::TusJob::new(
            BytesSource::new(bytes.clone()),
            Variant::Tus1,
            format!("http://{}/files", server.addr),
        )
        .configure(|config| config.chunk_size = MIB as u64);
        let summary = resumable_ureq::Uploader::new()
            .upload_tus(job)
            .unwrap_or_else(|f| panic!("{len} bytes (blocking): {f}"));
        assert_eq!(
            sha256(&server.stored()),
            sha256(&bytes),
            "{len} bytes (blocking)"
        );
        assert_eq!(summary.completion.length, len as u64);
        assert!(server.root().exists());
    }
}

#[test]
fn a_byte_corrupted_in_transit_is_refused_with_460_and_sent_again() {
    let server = Server::start();
    let proxy = FaultProxy::start(server.addr).unwrap();
    proxy.on_body(2, BodyFault::Corrupt { at: 123_456 });
    let bytes = random(4 * MIB, 5);
    let (summary, events) = async_upload(format!("http://{}/files", proxy.addr()), &bytes);
    assert_eq!(proxy.applied(), 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TusEvent::ChecksumMismatch { status: 460, .. })),
        "{events:?}"
    );
    assert_eq!(summary.completion.checksum, Some(DigestAlgorithm::Crc32));
    assert_eq!(sha256(&server.stored()), sha256(&bytes));
}

#[test]
fn a_connection_cut_mid_patch_is_resumed_from_what_the_server_kept() {
    let server = Server::start();
    let proxy = FaultProxy::start(server.addr).unwrap();
    proxy.on_body(2, BodyFault::Cut { after: 400_000 });
    proxy.on_body(3, BodyFault::Cut { after: 1 });
    let bytes = random(4 * MIB + 9, 6);
    let (summary, events) = async_upload(format!("http://{}/files", proxy.addr()), &bytes);
    assert_eq!(proxy.applied(), 2);
    assert!(summary.stats.retries >= 2);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TusEvent::Resynchronised { .. }))
    );
    assert_eq!(sha256(&server.stored()), sha256(&bytes));
}
