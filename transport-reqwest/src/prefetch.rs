//! Reading the next fragment's first blocks while the current fragment is on its way.
//!
//! Within one request the body is read a couple of blocks ahead of the socket. Between two
//! fragments there would still be a pause: the last bytes of fragment N drain, the server
//! answers, the engine plans fragment N+1, and only then would its first block be read. So when
//! a body's last block has been read, the blocks that follow it in the source are read in the
//! background; the next body takes them if it starts inside them (it usually does: drive and
//! mail fragments follow each other), and reads for itself otherwise (after a resync, or when
//! print fragments go out of order). At most [`PREFETCH_BLOCKS`] blocks are read ahead; a
//! checksummed request (tus) holds its own blocks from its checksum to its body.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use resumable_core::range::ByteRange;
use tokio::sync::oneshot;

use resumable_io::source::{BLOCK_SIZE, Source};

/// Blocks read ahead of the next fragment.
pub(crate) const PREFETCH_BLOCKS: usize = 2;

/// A block being read (or read); the error is a message, so the result can be shared.
type PendingBlock = Shared<BoxFuture<'static, Result<Bytes, String>>>;

/// The blocks read ahead for the next body, if any.
#[derive(Default)]
pub(crate) struct Prefetcher {
    blocks: Mutex<Vec<(ByteRange, PendingBlock)>>,
}

impl Prefetcher {
    /// Starts reading the blocks from `start` on, unless they are being read already. One
    /// blocking task reads them in order, so whatever digests the reads sees them in order.
    pub(crate) fn start(&self, source: &Arc<dyn Source>, start: u64) {
        let Ok(mut blocks) = self.blocks.lock() else {
            return;
        };
        if blocks.iter().any(|(range, _)| range.contains(start)) {
            return;
        }
        blocks.clear();
        let mut offset = start;
        let mut reads = Vec::new();
        while blocks.len() < PREFETCH_BLOCKS && offset < source.len() {
            let len = (source.len() - offset).min(BLOCK_SIZE as u64);
            let Some(block) = ByteRange::with_len(offset, len) else {
                break;
            };
            let (done, read) = oneshot::channel();
            reads.push((block, done));
            let pending = async move {
                read.await
                    .unwrap_or_else(|_| Err("the read ahead stopped".to_owned()))
            };
            blocks.push((block, pending.boxed().shared()));
            offset += len;
        }
        if reads.is_empty() {
            return;
        }
        // Started now, not when first awaited: the point is to read while nobody waits.
        let source = source.clone();
        tokio::task::spawn_blocking(move || {
            // Every block is read (or given the first error) even when nobody waits for an
            // earlier one any more: another body's `start` drops the list, but a body may
            // already hold a later block and wait for it.
            let mut failed: Option<String> = None;
            for (block, done) in reads {
                let read = match &failed {
                    Some(error) => Err(error.clone()),
                    None => source.read_range(block).map_err(|e| e.to_string()),
                };
                if let Err(error) = &read {
                    failed = Some(error.clone());
                }
                let _ = done.send(read);
            }
        });
    }

    /// Holds `blocks`, read already, for the next body to take, in place of any read ahead
    /// (which a body that already holds a block of keeps reading).
    pub(crate) fn hold(&self, blocks: Vec<(ByteRange, Bytes)>) {
        let Ok(mut held) = self.blocks.lock() else {
            return;
        };
        held.clear();
        for (range, bytes) in blocks {
            let ready = futures::future::ready(Ok(bytes));
            held.push((range, ready.boxed().shared()));
        }
    }

    /// The bytes from `offset` up to `end` or the end of the block read ahead that holds
    /// `offset`, whichever comes first; `None` if no block holds it.
    pub(crate) async fn take(&self, offset: u64, end: u64) -> Option<io::Result<Bytes>> {
        let (block, pending) = {
            let blocks = self.blocks.lock().ok()?;
            blocks
                .iter()
                .find(|(range, _)| range.contains(offset))
                .map(|(range, pending)| (*range, pending.clone()))?
        };
        let from = usize::try_from(offset - block.start()).ok()?;
        let to = usize::try_from(end.min(block.end()) - block.start()).ok()?;
        Some(
            pending
                .await
                .map(|bytes| bytes.slice(from..to))
                .map_err(io::Error::other),
        )
    }

    /// The bytes from `offset` up to `end` or the end of a block: what the read ahead holds, or
    /// one block of `source` read now, off the executor.
    pub(crate) async fn take_or_read(
        &self,
        source: &Arc<dyn Source>,
        offset: u64,
        end: u64,
    ) -> io::Result<Bytes> {
        if let Some(read) = self.take(offset, end).await {
            return read;
        }
        let len = end.saturating_sub(offset).min(BLOCK_SIZE as u64);
        let block = ByteRange::with_len(offset, len)
            .ok_or_else(|| io::Error::other("an empty read past the range's end"))?;
        spawn_read(source.clone(), block)
            .await
            .map_err(io::Error::other)
    }
}

/// Starts reading `block` of `source` on the blocking pool at once; the future yields the bytes.
pub(crate) fn spawn_read(
    source: Arc<dyn Source>,
    block: ByteRange,
) -> impl std::future::Future<Output = Result<Bytes, String>> + Send + 'static {
    let reading = tokio::task::spawn_blocking(move || source.read_range(block));
    async move {
        reading
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts reads, to see which bytes came from the prefetch.
    struct Counted {
        bytes: Vec<u8>,
        reads: AtomicUsize,
        order: std::sync::Mutex<Vec<u64>>,
        delay: std::time::Duration,
    }

    impl Counted {
        fn new(bytes: Vec<u8>) -> Self {
            Counted {
                bytes,
                reads: AtomicUsize::new(0),
                order: std::sync::Mutex::new(Vec::new()),
                delay: std::time::Duration::ZERO,
            }
        }
    }

    impl Source for Counted {
        fn len(&self) -> u64 {
            self.bytes.len() as u64
        }

        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            std::thread::sleep(self.delay);
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.order.lock().unwrap().push(offset);
            let start = offset as usize;
            buf.copy_from_slice(&self.bytes[start..start + buf.len()]);
            Ok(())
        }

        fn describe(&self) -> String {
            "counted".into()
        }
    }

    #[tokio::test]
    async fn the_next_body_takes_what_was_read_ahead() {
        let bytes: Vec<u8> = (0..5 * BLOCK_SIZE).map(|i| (i % 251) as u8).collect();
        let counted = Arc::new(Counted::new(bytes.clone()));
        let source: Arc<dyn Source> = counted.clone();
        let prefetcher = Prefetcher::default();
        let at = BLOCK_SIZE as u64 + 100;
        prefetcher.start(&source, at);
        // Inside the first prefetched block, and a piece of the second.
        let first = prefetcher.take(at, at + 1000).await.unwrap().unwrap();
        assert_eq!(first, bytes[at as usize..at as usize + 1000]);
        let second_start = at + BLOCK_SIZE as u64;
        let second = prefetcher
            .take(second_start, second_start + 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            second,
            bytes[second_start as usize..second_start as usize + 10]
        );
        assert_eq!(counted.reads.load(Ordering::SeqCst), PREFETCH_BLOCKS);
        // In order, so a digest of the reads needs no second pass.
        let order = counted.order.lock().unwrap().clone();
        assert_eq!(order, [at, at + BLOCK_SIZE as u64]);
        // A range across the two blocks comes in two pieces, the first up to the block's end.
        let across = prefetcher
            .take(second_start - 10, second_start + 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            across,
            bytes[second_start as usize - 10..second_start as usize]
        );
        // Starting again inside what is held reads nothing new.
        prefetcher.start(&source, at + 5000);
        assert_eq!(counted.reads.load(Ordering::SeqCst), PREFETCH_BLOCKS);
        // Outside: nothing to take; a new start replaces the blocks.
        assert!(prefetcher.take(0, 10).await.is_none());
        prefetcher.start(&source, 0);
        assert!(prefetcher.take(0, 10).await.is_some());
    }

    /// Print fragments go several at once: one body may wait for a read-ahead block while
    /// another body starts a read-ahead of its own, dropping the list.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_block_a_body_waits_for_is_read_even_after_a_restart() {
        let bytes: Vec<u8> = (0..5 * BLOCK_SIZE).map(|i| (i % 241) as u8).collect();
        let mut slow = Counted::new(bytes.clone());
        slow.delay = std::time::Duration::from_millis(100);
        let source: Arc<dyn Source> = Arc::new(slow);
        let prefetcher = Arc::new(Prefetcher::default());
        prefetcher.start(&source, 0);
        let second = BLOCK_SIZE as u64;
        let waiting = {
            let prefetcher = prefetcher.clone();
            tokio::spawn(async move { prefetcher.take(second, second + 10).await })
        };
        // The body holds the second block's read; another starts elsewhere.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        prefetcher.start(&source, 3 * BLOCK_SIZE as u64);
        let taken = waiting
            .await
            .unwrap()
            .expect("held")
            .expect("read, not abandoned");
        assert_eq!(taken, bytes[BLOCK_SIZE..BLOCK_SIZE + 10]);
    }

    #[tokio::test]
    async fn nothing_is_read_past_the_end() {
        let source: Arc<dyn Source> = Arc::new(Counted::new(vec![1; 100]));
        let prefetcher = Prefetcher::default();
        prefetcher.start(&source, 100);
        assert!(prefetcher.blocks.lock().unwrap().is_empty());
        prefetcher.start(&source, 40);
        let tail = prefetcher.take(40, 100).await.unwrap().unwrap();
        assert_eq!(tail.len(), 60);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever is started and asked for, an answer is the source's bytes (the model: a
        /// slice of the vector), and there is an answer exactly when a prefetched block covers
        /// the range.
        #[test]
        fn answers_are_the_sources_bytes(
            len in 1usize..(2 * BLOCK_SIZE + 100),
            start_at in 0.0f64..1.0,
            asks in proptest::collection::vec((0.0f64..1.0, 1usize..(BLOCK_SIZE + 10)), 1..6),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let _inside = runtime.enter();
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
            let source: Arc<dyn Source> = Arc::new(Counted::new(bytes.clone()));
            let start = (start_at * len as f64) as u64;
            let prefetcher = Prefetcher::default();
            prefetcher.start(&source, start);
            let held: Vec<ByteRange> = prefetcher
                .blocks
                .lock()
                .unwrap()
                .iter()
                .map(|(range, _)| *range)
                .collect();
            for (at, want) in asks {
                let from = (at * len as f64) as u64;
                let to = (from + want as u64).min(len as u64);
                if from >= to {
                    continue;
                }
                let holder = held.iter().find(|b| b.contains(from));
                let answer = runtime.block_on(prefetcher.take(from, to));
                proptest::prop_assert_eq!(answer.is_some(), holder.is_some());
                if let (Some(answer), Some(holder)) = (answer, holder) {
                    let answer = answer.unwrap();
                    let end = to.min(holder.end());
                    proptest::prop_assert_eq!(&answer[..], &bytes[from as usize..end as usize]);
                }
            }
        }
    }
}
