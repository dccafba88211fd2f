//! Any-order streams (print documents): segments land at their offsets.
//!
//! On disk each segment is written where it belongs as it arrives, and the hashes are computed by
//! reading the file back once it is complete. As for in-order streams, the part file is opened
//! for each batch written and closed again, and created by the first write, so a session holds
//! no file descriptor between requests and a declared size allocates nothing. When content is discarded there is no file to read
//! back, so segments that arrive ahead of the hashed prefix are held in memory until the gap
//! before them fills; print documents are small and at most four segments (each under 10 MB)
//! are in flight, so this stays bounded by what the client chooses to send ahead.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};

use super::{ContentDigest, Finished, WRITE_BATCH, hash_file, open_part, write_at};

/// A stream whose segments arrive in any order.
pub(crate) enum PositionalSink {
    Disk {
        path: PathBuf,
    },
    Discard {
        /// The hashed prefix; its length is where the next segment to hash starts.
        digest: ContentDigest,
        ahead: BTreeMap<u64, Vec<Bytes>>,
    },
}

/// The bytes of one segment while its request is read.
pub(crate) enum SegmentWriter {
    Disk {
        path: PathBuf,
        pending: BytesMut,
        offset: u64,
        written: u64,
    },
    Discard {
        parts: Vec<Bytes>,
        len: u64,
    },
}

impl PositionalSink {
    /// A stream into the part file `path`, which is created by the first write.
    pub(crate) fn on_disk(path: PathBuf) -> Self {
        PositionalSink::Disk { path }
    }

    pub(crate) fn discarding() -> Self {
        PositionalSink::Discard {
            digest: ContentDigest::new(),
            ahead: BTreeMap::new(),
        }
    }

    /// The part file, if the stream is on disk.
    pub(crate) fn part_path(&self) -> Option<&std::path::Path> {
        match self {
            PositionalSink::Disk { path, .. } => Some(path),
            PositionalSink::Discard { .. } => None,
        }
    }

    /// A writer for a segment starting at `offset`.
    pub(crate) fn segment(&self, offset: u64) -> SegmentWriter {
        match self {
            PositionalSink::Disk { path } => SegmentWriter::Disk {
                path: path.clone(),
                pending: BytesMut::new(),
                offset,
                written: 0,
            },
            PositionalSink::Discard { .. } => SegmentWriter::Discard {
                parts: Vec::new(),
                len: 0,
            },
        }
    }

    /// Accepts the first `keep` bytes of a finished segment that starts at `offset`.
    pub(crate) fn accept(&mut self, offset: u64, segment: SegmentWriter, keep: u64) {
        let PositionalSink::Discard { digest, ahead } = self else {
            // On disk the bytes are already in place.
            return;
        };
        let SegmentWriter::Discard { parts, .. } = segment else {
            return;
        };
        let mut kept = Vec::new();
        let mut left = keep;
        for part in parts {
            if left == 0 {
                break;
            }
            let take = left.min(part.len() as u64) as usize;
            left -= take as u64;
            kept.push(part.slice(..take));
        }
        if kept.is_empty() {
            // Nothing kept: an empty entry could sit inside a range accepted later and never be
            // reached by the hashed prefix.
            return;
        }
        ahead.insert(offset, kept);
        while let Some(parts) = ahead.remove(&digest.len()) {
            for part in parts {
                digest.update(&part);
            }
        }
    }

    /// The size and hashes of the complete stream; the part file (if any) stays where it is.
    ///
    /// On disk the segments landed wherever they belong, so the hashes that need the bytes in
    /// order (SHA-1, SHA-256, CRC-32) come from reading the file once, now.
    pub(crate) async fn finish(self) -> io::Result<(Finished, Option<PathBuf>)> {
        match self {
            PositionalSink::Disk { path } => {
                let hashes = hash_file(path.clone()).await?;
                Ok((
                    Finished {
                        hashes,
                        disk_path: None,
                    },
                    Some(path),
                ))
            }
            PositionalSink::Discard { digest, ahead } => {
                if !ahead.is_empty() {
                    return Err(io::Error::other("segments left unhashed at completion"));
                }
                Ok((
                    Finished {
                        hashes: digest.hashes(),
                        disk_path: None,
                    },
                    None,
                ))
            }
        }
    }
}

impl SegmentWriter {
    /// Adds the next bytes of the segment.
    pub(crate) async fn write(&mut self, data: &Bytes) -> io::Result<()> {
        match self {
            SegmentWriter::Disk { pending, .. } => {
                pending.extend_from_slice(data);
                if pending.len() >= WRITE_BATCH {
                    self.flush().await?;
                }
            }
            SegmentWriter::Discard { parts, len } => {
                *len += data.len() as u64;
                parts.push(data.clone());
            }
        }
        Ok(())
    }

    /// Writes whatever is gathered (on disk).
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if let SegmentWriter::Disk {
            path,
            pending,
            offset,
            written,
        } = self
        {
            if pending.is_empty() {
                return Ok(());
            }
            let buf = pending.split().freeze();
            let path = path.clone();
            let at = *offset + *written;
            let len = buf.len() as u64;
            tokio::task::spawn_blocking(move || write_at(&open_part(&path)?, &buf, at))
                .await
                .map_err(io::Error::other)??;
            *written += len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::digest::SourceHashes;

    async fn send(sink: &mut PositionalSink, offset: u64, data: &[u8], keep: u64) {
        let mut segment = sink.segment(offset);
        for piece in data.chunks(3) {
            segment.write(&Bytes::copy_from_slice(piece)).await.unwrap();
        }
        segment.flush().await.unwrap();
        sink.accept(offset, segment, keep);
    }

    #[tokio::test]
    async fn out_of_order_segments_hash_like_the_whole_file() {
        let data: Vec<u8> = (0..100u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let on_disk = PositionalSink::on_disk(dir.path().join("p.part"));
        for mut sink in [on_disk, PositionalSink::discarding()] {
            send(&mut sink, 60, &data[60..], 40).await;
            send(&mut sink, 20, &data[20..60], 40).await;
            // A partial store: only 10 of the 20 bytes count; the rest comes again.
            send(&mut sink, 0, &data[0..20], 10).await;
            send(&mut sink, 10, &data[10..20], 10).await;
            let (finished, part) = sink.finish().await.unwrap();
            assert_eq!(finished.hashes, SourceHashes::of(&data));
            if let Some(part) = part {
                assert_eq!(std::fs::read(part).unwrap(), data);
            }
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use resumable_core::digest::SourceHashes;

    async fn send(
        data: &[u8],
        start: usize,
        len: usize,
        keep: usize,
        sink: &mut PositionalSink,
        received: &mut [bool],
    ) {
        let mut segment = sink.segment(start as u64);
        segment
            .write(&Bytes::copy_from_slice(&data[start..start + len]))
            .await
            .unwrap();
        let keep = keep.min(len);
        sink.accept(start as u64, segment, keep as u64);
        received[start..start + keep]
            .iter_mut()
            .for_each(|r| *r = true);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Model: a `Vec<bool>` of received bytes. Segments arrive in any order, each keeping
        /// only a prefix (a partial store); the gaps are then filled in order. The discarding
        /// sink must hash exactly the file once every byte is in.
        #[test]
        fn any_order_and_partial_stores_hash_the_file(
            total in 1usize..3000,
            segments in proptest::collection::vec((0usize..3000, 1usize..500, 0usize..600), 0..12),
        ) {
            let data: Vec<u8> = (0..total).map(|i| (i * 7 + 3) as u8).collect();
            let mut received = vec![false; total];
            let mut sink = PositionalSink::discarding();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                for (start, len, keep) in segments {
                    let start = start % total;
                    let len = len.min(total - start);
                    // Like the server: only segments that lie wholly in a gap are accepted.
                    if received[start..start + len].iter().any(|r| *r) {
                        continue;
                    }
                    send(&data, start, len, keep, &mut sink, &mut received).await;
                }
                let mut at = 0;
                while at < total {
                    if received[at] {
                        at += 1;
                        continue;
                    }
                    let end = (at..total).find(|&i| received[i]).unwrap_or(total);
                    send(&data, at, end - at, end - at, &mut sink, &mut received).await;
                    at = end;
                }
            });
            let (finished, _) = runtime.block_on(sink.finish()).unwrap();
            prop_assert_eq!(finished.hashes, SourceHashes::of(&data));
        }
    }
}
