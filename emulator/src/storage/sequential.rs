//! In-order streams: append, hash as the bytes arrive, roll back a fragment that failed.
//!
//! The part file is opened for each batch written and closed again, and created by the first
//! write: a session holds no file descriptor between requests, so thousands of idle or
//! abandoned sessions cost no descriptors, and a session that never received a byte leaves no
//! file behind.

use std::io;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};

use super::{ContentDigest, Finished, WRITE_BATCH, open_part, write_at};

/// Where a stream stood before a fragment, so a fragment that fails can be undone.
#[derive(Clone)]
pub(crate) struct Checkpoint {
    len: u64,
    digest: ContentDigest,
}

struct DiskFile {
    path: PathBuf,
    /// Bytes gathered for the next write; written at offset `flushed`.
    pending: BytesMut,
    flushed: u64,
}

/// An append-only stream with its running hashes, on disk or discarded.
pub(crate) struct SequentialSink {
    disk: Option<DiskFile>,
    len: u64,
    digest: ContentDigest,
}

impl SequentialSink {
    /// A stream into the part file `path`, which is created by the first write.
    pub(crate) fn on_disk(path: PathBuf) -> Self {
        SequentialSink {
            disk: Some(DiskFile {
                path,
                pending: BytesMut::new(),
                flushed: 0,
            }),
            len: 0,
            digest: ContentDigest::new(),
        }
    }

    pub(crate) fn discarding() -> Self {
        SequentialSink {
            disk: None,
            len: 0,
            digest: ContentDigest::new(),
        }
    }

    /// Bytes appended so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `data`; it reaches the disk at the latest on the next [`flush`](Self::flush).
    pub(crate) async fn write(&mut self, data: &Bytes) -> io::Result<()> {
        self.digest.update(data);
        self.len += data.len() as u64;
        if let Some(disk) = &mut self.disk {
            disk.pending.extend_from_slice(data);
            if disk.pending.len() >= WRITE_BATCH {
                disk.flush().await?;
            }
        }
        Ok(())
    }

    /// Writes whatever is gathered.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match &mut self.disk {
            Some(disk) => disk.flush().await,
            None => Ok(()),
        }
    }

    /// Where the stream stands; take it between fragments.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            len: self.len,
            digest: self.digest.clone(),
        }
    }

    /// The hashes of the bytes appended so far.
    pub(crate) fn hashes(&self) -> resumable_core::digest::SourceHashes {
        self.digest.hashes()
    }

    /// Forgets every byte appended: the stream is empty again (and so is its part file).
    pub(crate) async fn reset(&mut self) -> io::Result<()> {
        self.rollback(Checkpoint {
            len: 0,
            digest: ContentDigest::new(),
        })
        .await
    }

    /// Forgets everything appended since `checkpoint`.
    pub(crate) async fn rollback(&mut self, checkpoint: Checkpoint) -> io::Result<()> {
        self.len = checkpoint.len;
        self.digest = checkpoint.digest;
        if let Some(disk) = &mut self.disk {
            disk.pending.clear();
            if disk.flushed > checkpoint.len {
                disk.flushed = checkpoint.len;
                let path = disk.path.clone();
                let len = checkpoint.len;
                tokio::task::spawn_blocking(move || open_part(&path)?.set_len(len))
                    .await
                    .map_err(io::Error::other)??;
            }
        }
        Ok(())
    }

    /// Flushes and returns the size and hashes; the part file (if any) stays where it is, created
    /// empty if nothing was ever written to it.
    pub(crate) async fn finish(mut self) -> io::Result<(Finished, Option<PathBuf>)> {
        self.flush().await?;
        if let Some(disk) = &self.disk
            && disk.flushed == 0
        {
            let path = disk.path.clone();
            tokio::task::spawn_blocking(move || open_part(&path).map(drop))
                .await
                .map_err(io::Error::other)??;
        }
        let finished = Finished {
            hashes: self.digest.hashes(),
            disk_path: None,
        };
        Ok((finished, self.disk.map(|d| d.path)))
    }

    /// The part file, if the stream is on disk (for readers that decode it afterwards).
    pub(crate) fn part_path(&self) -> Option<&std::path::Path> {
        self.disk.as_ref().map(|d| d.path.as_path())
    }
}

impl DiskFile {
    async fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let buf = self.pending.split().freeze();
        let path = self.path.clone();
        let offset = self.flushed;
        let len = buf.len() as u64;
        tokio::task::spawn_blocking(move || write_at(&open_part(&path)?, &buf, offset))
            .await
            .map_err(io::Error::other)??;
        self.flushed += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resumable_core::digest::SourceHashes;

    #[tokio::test]
    async fn rollback_undoes_a_fragment_on_disk_and_in_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.part");
        let mut sink = SequentialSink::on_disk(path.clone());
        assert!(
            !path.exists(),
            "the part file is created by the first write"
        );
        let first = Bytes::from(vec![1u8; 3 * WRITE_BATCH / 2]);
        sink.write(&first).await.unwrap();
        sink.flush().await.unwrap();
        let checkpoint = sink.checkpoint();
        sink.write(&Bytes::from(vec![2u8; 2 * WRITE_BATCH]))
            .await
            .unwrap();
        sink.rollback(checkpoint).await.unwrap();
        let last = Bytes::from_static(b"tail");
        sink.write(&last).await.unwrap();
        let (finished, part) = sink.finish().await.unwrap();
        let mut expected = first.to_vec();
        expected.extend_from_slice(&last);
        assert_eq!(finished.hashes, SourceHashes::of(&expected));
        assert_eq!(std::fs::read(part.unwrap()).unwrap(), expected);
    }

    #[tokio::test]
    async fn a_reset_stream_is_empty_on_disk_and_in_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.part");
        let mut sink = SequentialSink::on_disk(path.clone());
        sink.write(&Bytes::from(vec![3u8; 2 * WRITE_BATCH]))
            .await
            .unwrap();
        sink.reset().await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        sink.write(&Bytes::from_static(b"again")).await.unwrap();
        assert_eq!(sink.hashes(), SourceHashes::of(b"again"));
        let (finished, part) = sink.finish().await.unwrap();
        assert_eq!(finished.hashes, SourceHashes::of(b"again"));
        assert_eq!(std::fs::read(part.unwrap()).unwrap(), b"again");
    }

    #[tokio::test]
    async fn discarding_keeps_size_and_hash() {
        let mut sink = SequentialSink::discarding();
        sink.write(&Bytes::from_static(b"hello ")).await.unwrap();
        let checkpoint = sink.checkpoint();
        sink.write(&Bytes::from_static(b"junk")).await.unwrap();
        sink.rollback(checkpoint).await.unwrap();
        sink.write(&Bytes::from_static(b"world")).await.unwrap();
        let (finished, part) = sink.finish().await.unwrap();
        assert_eq!(finished.hashes, SourceHashes::of(b"hello world"));
        assert!(part.is_none());
    }
}
