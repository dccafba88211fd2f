//! Where upload bytes come from: files read by position, or bytes in memory.
//!
//! The core names a fragment as a byte range of the source; the transport reads exactly that
//! range when it sends it, and again for a retry. Reads are by position, never through a shared
//! cursor, so a retry or a resume reads the bytes at the server's offset; a source that comes up
//! short is an error, never zeros.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use resumable_core::range::ByteRange;

/// The size of one read from a source: large enough that per-read costs vanish, small enough
/// that memory stays flat whatever the fragment size.
pub(crate) const BLOCK_SIZE: usize = 1 << 20;

/// Bytes to upload, readable at any offset.
pub trait Source: Send + Sync {
    /// The size in bytes, as it was when the source was opened.
    fn len(&self) -> u64;

    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`; fails with
    /// [`io::ErrorKind::UnexpectedEof`] if the source has fewer bytes than that.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// A short description for messages (a file name), never a secret.
    fn describe(&self) -> String;

    /// When the source was last modified (nanoseconds since the Unix epoch), as it was when
    /// opened, if known: a checkpoint keeps it, so a resume can tell whether the source was
    /// touched since.
    fn last_modified(&self) -> Option<u64> {
        None
    }
}

/// A regular file, read with positional reads, never buffered whole.
///
/// ```
/// use resumable_ureq::source::{FileSource, Source};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("a.bin");
/// std::fs::write(&path, b"hello world").unwrap();
/// let source = FileSource::open(&path).unwrap();
/// let mut buf = [0u8; 5];
/// source.read_exact_at(6, &mut buf).unwrap();
/// assert_eq!(&buf, b"world");
/// assert!(source.read_exact_at(8, &mut buf).is_err()); // past the end: an error, not zeros
/// ```
pub struct FileSource {
    file: File,
    len: u64,
    path: PathBuf,
    modified: Option<u64>,
}

impl FileSource {
    /// Opens `path` and records its size and modification time. Only regular files: a pipe, a
    /// device or a directory cannot be read again for a retry, and is refused.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let described = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let not_regular = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file; copy it to a file and upload that",
                    path.display()
                ),
            )
        };
        // Checked before opening too: opening a FIFO blocks until something writes to it.
        if !std::fs::metadata(&path).map_err(described)?.is_file() {
            return Err(not_regular());
        }
        let file = File::open(&path).map_err(described)?;
        let metadata = file.metadata().map_err(described)?;
        if !metadata.is_file() {
            return Err(not_regular());
        }
        let modified = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_nanos()).ok());
        Ok(FileSource {
            file,
            len: metadata.len(),
            path,
            modified,
        })
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            let at = offset + filled as u64;
            match read_at(&self.file, &mut buf[filled..], at) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "{} ended at byte {at} but the upload needs bytes up to {}: the file changed since the upload started; start the upload again",
                            self.path.display(),
                            offset + buf.len() as u64
                        ),
                    ));
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn last_modified(&self) -> Option<u64> {
        self.modified
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Bytes in memory.
///
/// ```
/// use resumable_ureq::source::{BytesSource, Source};
/// let source = BytesSource::new("hello world");
/// let mut buf = [0u8; 5];
/// source.read_exact_at(6, &mut buf).unwrap();
/// assert_eq!(&buf, b"world");
/// ```
#[derive(Clone, Debug)]
pub struct BytesSource {
    bytes: Bytes,
}

impl BytesSource {
    /// A source over `bytes`.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        BytesSource {
            bytes: bytes.into(),
        }
    }
}

impl Source for BytesSource {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= self.len())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the source has {} bytes, fewer than the upload needs",
                        self.len()
                    ),
                )
            })?;
        // Both ends are at most the length of bytes in memory.
        buf.copy_from_slice(&self.bytes[offset as usize..end as usize]);
        Ok(())
    }

    fn describe(&self) -> String {
        "in-memory bytes".to_owned()
    }
}

/// Hands `range` of `source` to `each` in order, at most [`BLOCK_SIZE`] bytes at a time, read
/// into one reused buffer.
pub(crate) fn for_each_block(
    source: &dyn Source,
    range: ByteRange,
    each: &mut dyn FnMut(u64, &[u8]),
) -> io::Result<()> {
    let mut buf = vec![0u8; (range.len() as usize).min(BLOCK_SIZE)];
    let mut offset = range.start();
    while offset < range.end() {
        let n = ((range.end() - offset) as usize).min(buf.len());
        source.read_exact_at(offset, &mut buf[..n])?;
        each(offset, &buf[..n]);
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_by_position_and_a_shrunk_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let source = FileSource::open(&path).unwrap();
        let mut buf = vec![0u8; 1000];
        source.read_exact_at(9_000, &mut buf).unwrap();
        assert_eq!(buf, &data[9_000..]);
        std::fs::write(&path, &data[..100]).unwrap();
        let error = source.read_exact_at(0, &mut buf).unwrap_err();
        assert!(error.to_string().contains("changed since"), "{error}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = FileSource::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }

    #[test]
    fn blocks_cover_the_range_in_order() {
        let data: Vec<u8> = (0..(2 * BLOCK_SIZE + 5)).map(|i| (i % 7) as u8).collect();
        let source = BytesSource::new(data.clone());
        let mut seen = Vec::new();
        let range = ByteRange::new(3, data.len() as u64).unwrap();
        for_each_block(&source, range, &mut |offset, block| {
            assert_eq!(offset, 3 + seen.len() as u64);
            seen.extend_from_slice(block);
        })
        .unwrap();
        assert_eq!(seen, &data[3..]);
        let mut short = [0u8; 4];
        assert!(source.read_exact_at(u64::MAX - 1, &mut short).is_err());
    }
}
