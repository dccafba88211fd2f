//! A request body on its way: read from the source a few blocks ahead, handed to the
//! connection in small pieces, watched.
//!
//! The exchange builds a streamed body from a request's segments: [`read_ahead`] reads them on a
//! background task (taking blocks the prefetcher read for this body, and starting the prefetch
//! of what follows), [`observe`] hands them to hyper in pieces and records in a [`BodyProgress`]
//! what went out: the CRC-32 of the source bytes, when the first byte left, when bytes last
//! moved (for the idle watchdog), whether the body finished, and any read error (so a failed
//! request is told apart from a network failure).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use resumable_core::http::Segment;

use crate::prefetch::Prefetcher;
use crate::rate_limit::RateLimit;
use resumable_io::source::Source;

/// Blocks read ahead of the socket per request.
const READ_AHEAD_BLOCKS: usize = 2;

/// Bodies are handed to the connection in pieces of this size, so the idle watchdog sees
/// movement even on slow links.
const PIECE_SIZE: usize = 64 * 1024;

/// Reads the segments' bytes in order on a background task, staying a few blocks ahead of the
/// consumer, taking blocks the prefetcher read ahead where it has them, and starting the
/// prefetch of what follows once the last source block is read. Source blocks carry a flag so
/// the CRC covers source bytes only.
pub(crate) fn read_ahead(
    source: Arc<dyn Source>,
    segments: Vec<Segment>,
    prefetcher: Arc<Prefetcher>,
) -> tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD_BLOCKS);
    tokio::spawn(async move {
        let mut source_end = None;
        for segment in segments {
            let range = match segment {
                Segment::Inline(bytes) => {
                    if tx.send(Ok((bytes, false))).await.is_err() {
                        return;
                    }
                    continue;
                }
                Segment::Source(range) => range,
            };
            if let Some(bytes) = source.slice(range) {
                if tx.send(Ok((bytes, true))).await.is_err() {
                    return;
                }
                continue;
            }
            let mut offset = range.start();
            while offset < range.end() {
                let read = prefetcher.take_or_read(&source, offset, range.end()).await;
                let next = match &read {
                    Ok(bytes) => offset + bytes.len() as u64,
                    Err(_) => range.end(),
                };
                let failed = read.is_err();
                if tx.send(read.map(|b| (b, true))).await.is_err() || failed {
                    return;
                }
                offset = next;
            }
            source_end = Some(range.end());
        }
        if let Some(end) = source_end {
            prefetcher.start(&source, end);
        }
    });
    rx
}

/// Passes blocks on to the socket in pieces, keeping the CRC, the time of the last movement, and
/// any read error (so a failed request can be told apart from a network failure). The body counts
/// as finished when its last byte has been handed over: hyper stops polling once it has
/// `Content-Length` bytes, so the end of the stream may never be observed.
///
/// Under a `limit`, each piece waits for its bytes from the shared bucket before it is handed
/// over (pieces are smaller under slow limits), so the socket never sees more than the rate.
pub(crate) fn observe(
    rx: tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>>,
    len: u64,
    progress: Arc<BodyProgress>,
    limit: Option<RateLimit>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    progress.touch();
    let piece_size = limit
        .as_ref()
        .map_or(PIECE_SIZE, |limit| limit.piece_size(PIECE_SIZE));
    let state = ObservedBody {
        rx,
        progress,
        handed: 0,
        len,
        pending: Bytes::new(),
        pending_from_source: false,
        piece_size,
        limit,
    };
    futures::stream::unfold(state, |mut body| async move {
        if body.pending.is_empty() {
            match body.rx.recv().await {
                None => {
                    body.progress.finish();
                    return None;
                }
                Some(Ok((bytes, from_source))) => {
                    body.pending = bytes;
                    body.pending_from_source = from_source;
                }
                Some(Err(e)) => {
                    body.progress.fail(&e);
                    return Some((Err(e), body));
                }
            }
        }
        let piece = body
            .pending
            .split_to(body.pending.len().min(body.piece_size));
        if let Some(limit) = &body.limit {
            limit.acquire(piece.len()).await;
        }
        body.progress.hand_over(&piece, body.pending_from_source);
        body.handed += piece.len() as u64;
        if body.handed >= body.len {
            body.progress.finish();
        }
        Some((Ok(piece), body))
    })
}

/// The state of a body being handed to the connection.
struct ObservedBody {
    rx: tokio::sync::mpsc::Receiver<io::Result<(Bytes, bool)>>,
    progress: Arc<BodyProgress>,
    handed: u64,
    len: u64,
    pending: Bytes,
    pending_from_source: bool,
    piece_size: usize,
    limit: Option<RateLimit>,
}

/// Shared between the body stream and the request: how far the body got.
pub(crate) struct BodyProgress {
    base: tokio::time::Instant,
    last_movement_ms: AtomicU64,
    first_byte_ms: AtomicU64,
    finished: AtomicBool,
    crc: Mutex<crc32fast::Hasher>,
    source_error: Mutex<Option<String>>,
    sent: Arc<AtomicU64>,
}

impl BodyProgress {
    pub(crate) fn new(sent: Arc<AtomicU64>) -> Self {
        BodyProgress {
            base: tokio::time::Instant::now(),
            last_movement_ms: AtomicU64::new(0),
            first_byte_ms: AtomicU64::new(u64::MAX),
            finished: AtomicBool::new(false),
            crc: Mutex::new(crc32fast::Hasher::new()),
            source_error: Mutex::new(None),
            sent,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn touch(&self) {
        self.last_movement_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    /// A piece goes to the connection: it moved, and source bytes count toward the CRC.
    pub(crate) fn hand_over(&self, piece: &[u8], from_source: bool) {
        let now = self.elapsed_ms();
        self.last_movement_ms.store(now, Ordering::Relaxed);
        let _ = self.first_byte_ms.compare_exchange(
            u64::MAX,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if from_source {
            if let Ok(mut crc) = self.crc.lock() {
                crc.update(piece);
            }
            self.sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn first_byte(&self) -> Option<tokio::time::Instant> {
        match self.first_byte_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(self.base + Duration::from_millis(ms)),
        }
    }

    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Release);
    }

    pub(crate) fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    pub(crate) fn crc(&self) -> Option<u32> {
        self.crc.lock().ok().map(|crc| crc.clone().finalize())
    }

    pub(crate) fn fail(&self, error: &io::Error) {
        if let Ok(mut slot) = self.source_error.lock() {
            *slot = Some(error.to_string());
        }
    }

    pub(crate) fn source_error(&self) -> Option<String> {
        self.source_error.lock().ok().and_then(|e| e.clone())
    }

    /// Resolves when the body has not moved for `idle` while still being sent. Once the body is
    /// out, the wait for the answer is bounded by the request's own time limit.
    pub(crate) async fn stalled(&self, idle: Duration) {
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        loop {
            tokio::time::sleep(idle / 4).await;
            let quiet = self
                .elapsed_ms()
                .saturating_sub(self.last_movement_ms.load(Ordering::Relaxed));
            if !self.finished() && quiet >= idle_ms {
                return;
            }
        }
    }
}
