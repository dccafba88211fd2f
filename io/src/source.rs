//! Where upload bytes come from: files read by position, or bytes already in memory.
//!
//! The core describes a fragment as a byte range of the source; the transport reads exactly that
//! range when it sends the fragment, and again if it must send it again. Sources are read by
//! position, never by a shared cursor, so a retry or a resume always reads the bytes at the
//! server's offset (a cursor that was not rewound is how other clients corrupted files), and a
//! source that comes up short is an error, never zeros.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use resumable_core::range::ByteRange;

/// Bytes to upload, readable at any offset from several tasks at once.
pub trait Source: Send + Sync + 'static {
    /// The size in bytes, as it was when the source was opened.
    fn len(&self) -> u64;

    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    ///
    /// Fails with [`io::ErrorKind::UnexpectedEof`] if the source has fewer bytes than that (a file
    /// that shrank since it was opened): a short read is never padded.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// The bytes of `range` without copying, for sources that already hold them in memory.
    fn slice(&self, range: ByteRange) -> Option<Bytes> {
        let _ = range;
        None
    }

    /// The bytes of `range` in a buffer of their own (or a slice of the source's, where
    /// [`slice`](Source::slice) has them), failing as [`read_exact_at`](Source::read_exact_at)
    /// does. The default zero-fills a new buffer and reads into it; [`FileSource`] reads
    /// straight into fresh memory, so each byte is written once, by the read.
    fn read_range(&self, range: ByteRange) -> io::Result<Bytes> {
        if let Some(bytes) = self.slice(range) {
            return Ok(bytes);
        }
        let mut buf = vec![0u8; buffer_len(range)?];
        self.read_exact_at(range.start(), &mut buf)?;
        Ok(Bytes::from(buf))
    }

    /// A short description for messages (a file name), never a secret.
    fn describe(&self) -> String;

    /// When the source was last modified (nanoseconds since the Unix epoch), as it was when
    /// opened, if known. A checkpoint keeps it, so a resume can tell whether the source was
    /// touched since.
    fn last_modified(&self) -> Option<u64> {
        None
    }
}

/// A file, read with positional reads (`pread`), never buffered whole.
///
/// ```
/// use resumable_io::source::{FileSource, Source};
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
    /// Opens `path` for reading and records its current size and modification time.
    ///
    /// Only regular files: a FIFO, a device or a directory is refused before it is opened
    /// (opening a FIFO would block until something writes to it, and its bytes cannot be read
    /// again for a retry).
    ///
    /// ```
    /// use resumable_io::source::FileSource;
    /// let dir = tempfile::tempdir().unwrap();
    /// let error = FileSource::open(dir.path()).unwrap_err();
    /// assert!(error.to_string().contains("is not a regular file"), "{error}");
    /// ```
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let described = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let not_regular = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file (a pipe, a device or a directory cannot be uploaded resumably: copy it to a file first)",
                    path.display()
                ),
            )
        };
        if !std::fs::metadata(&path).map_err(described)?.is_file() {
            return Err(not_regular());
        }
        let file = File::open(&path).map_err(described)?;
        let metadata = file.metadata()?;
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

    /// The file's modification time now, if the platform reports one (for change detection).
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        self.file.metadata().and_then(|m| m.modified()).ok()
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
                Ok(0) => return Err(self.ended(at, offset + buf.len() as u64)),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    #[cfg(unix)]
    fn read_range(&self, range: ByteRange) -> io::Result<Bytes> {
        let len = buffer_len(range)?;
        let mut buf = Vec::with_capacity(len);
        while buf.len() < len {
            let at = range.start() + buf.len() as u64;
            // `pread` into the vector's spare capacity (exactly `len` bytes of it): rustix sets
            // the length to what the kernel wrote, so no byte is zeroed first and none is ever
            // read uninitialised.
            match rustix::io::pread(&self.file, rustix::buffer::spare_capacity(&mut buf), at) {
                Ok(0) => return Err(self.ended(at, range.end())),
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Should an allocator have given more capacity than asked, what it read past the
        // range goes.
        buf.truncate(len);
        Ok(Bytes::from(buf))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn last_modified(&self) -> Option<u64> {
        self.modified
    }
}

impl FileSource {
    /// The error for a file that ended at `at` while the upload needs bytes up to `needed`.
    fn ended(&self, at: u64, needed: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "{} ended at byte {at} but the upload needs bytes up to {needed}: the file \
                 changed since the upload started; start the upload again",
                self.path.display(),
            ),
        )
    }
}

/// The length of `range` as a buffer length.
fn buffer_len(range: ByteRange) -> io::Result<usize> {
    usize::try_from(range.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a range larger than this platform's memory",
        )
    })
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Bytes in memory. Fragments are zero-copy slices of them.
///
/// ```
/// use resumable_core::range::ByteRange;
/// use resumable_io::source::{BytesSource, Source};
/// let source = BytesSource::new("hello world");
/// assert_eq!(source.slice(ByteRange::new(6, 11).unwrap()).unwrap(), "world");
/// ```
#[derive(Clone, Debug)]
pub struct BytesSource {
    bytes: Bytes,
    name: String,
}

impl BytesSource {
    /// A source over `bytes`.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        BytesSource {
            bytes: bytes.into(),
            name: "in-memory bytes".to_owned(),
        }
    }

    /// The same source with a name for messages.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl Source for BytesSource {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let src = self.slice_checked(offset, buf.len() as u64)?;
        buf.copy_from_slice(&src);
        Ok(())
    }

    fn slice(&self, range: ByteRange) -> Option<Bytes> {
        self.slice_checked(range.start(), range.len()).ok()
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

impl BytesSource {
    fn slice_checked(&self, offset: u64, len: u64) -> io::Result<Bytes> {
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len() as u64);
        match end {
            Some(end) => Ok(self.bytes.slice(offset as usize..end as usize)),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} has {} bytes, fewer than the upload needs",
                    self.name,
                    self.bytes.len()
                ),
            )),
        }
    }
}

/// CRC32 of a range of a source, read in blocks (for checkpoint fingerprints).
pub fn crc32_of(source: &dyn Source, range: ByteRange) -> io::Result<u32> {
    let mut hasher = crc32fast::Hasher::new();
    for_each_block(source, range, &mut |block| hasher.update(block))?;
    Ok(hasher.finalize())
}

/// Hands `range` of `source` to `each` in order, at most [`BLOCK_SIZE`] bytes at a time: the
/// bytes of a source that holds them are not copied; a file is read into one reused buffer.
pub fn for_each_block(
    source: &dyn Source,
    range: ByteRange,
    each: &mut dyn FnMut(&[u8]),
) -> io::Result<()> {
    if let Some(bytes) = source
        .slice(range)
        .filter(|b| b.len() as u64 == range.len())
    {
        bytes.chunks(BLOCK_SIZE).for_each(each);
        return Ok(());
    }
    let mut buf = vec![0u8; (range.len() as usize).min(BLOCK_SIZE)];
    let mut offset = range.start();
    while offset < range.end() {
        let n = ((range.end() - offset) as usize).min(buf.len());
        source.read_exact_at(offset, &mut buf[..n])?;
        each(&buf[..n]);
        offset += n as u64;
    }
    Ok(())
}

/// The block size for reads from a file: large enough that per-read costs vanish, small enough
/// that a few blocks in flight keep memory flat.
pub const BLOCK_SIZE: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn file_source_reads_by_position() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&data).unwrap();
        let source = FileSource::open(file.path()).unwrap();
        assert_eq!(source.len(), 10_000);
        let mut buf = vec![0u8; 1000];
        source.read_exact_at(9_000, &mut buf).unwrap();
        assert_eq!(buf, &data[9_000..]);
        // Reads do not move a cursor: the same read twice gives the same bytes.
        source.read_exact_at(9_000, &mut buf).unwrap();
        assert_eq!(buf, &data[9_000..]);
    }

    #[test]
    fn read_range_gives_the_files_bytes_and_refuses_past_its_end() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        file.write_all(&data).unwrap();
        let source = FileSource::open(file.path()).unwrap();
        for (start, end) in [
            (0, 1),
            (0, 3_000_000),
            (1_048_575, 2_097_153),
            (2_999_999, 3_000_000),
        ] {
            let range = ByteRange::new(start, end).unwrap();
            let bytes = source.read_range(range).unwrap();
            assert_eq!(&bytes[..], &data[start as usize..end as usize]);
        }
        file.as_file().set_len(100).unwrap();
        let err = source
            .read_range(ByteRange::new(50, 200).unwrap())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("ended at byte 100"), "{err}");
        // A source with only `read_exact_at` reads the same through the default.
        let memory = BytesSource::new(data.clone());
        struct Plain(BytesSource);
        impl Source for Plain {
            fn len(&self) -> u64 {
                self.0.len()
            }
            fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
                self.0.read_exact_at(offset, buf)
            }
            fn describe(&self) -> String {
                "plain".into()
            }
        }
        let range = ByteRange::new(10, 70_000).unwrap();
        assert_eq!(Plain(memory).read_range(range).unwrap(), &data[10..70_000]);
    }

    #[test]
    fn shrunk_file_is_an_error_not_zeros() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&[7u8; 4096]).unwrap();
        let source = FileSource::open(file.path()).unwrap();
        file.as_file().set_len(100).unwrap();
        let mut buf = vec![1u8; 200];
        let err = source.read_exact_at(0, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            err.to_string().contains("changed since the upload started"),
            "{err}"
        );
    }

    #[test]
    fn directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = FileSource::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn crc_matches_whole_buffer_crc() {
        let data: Vec<u8> = (0..3 * BLOCK_SIZE as u32 + 17)
            .map(|i| (i * 7) as u8)
            .collect();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&data).unwrap();
        let range = ByteRange::new(5, data.len() as u64 - 3).unwrap();
        let expected = crc32fast::hash(&data[5..data.len() - 3]);
        let from_file = FileSource::open(file.path()).unwrap();
        assert_eq!(crc32_of(&from_file, range).unwrap(), expected);
        assert_eq!(
            crc32_of(&BytesSource::new(data.clone()), range).unwrap(),
            expected
        );
    }

    #[test]
    fn bytes_source_bounds() {
        let source = BytesSource::new(vec![1u8; 10]);
        assert!(source.slice(ByteRange::new(5, 11).unwrap()).is_none());
        let mut buf = [0u8; 4];
        assert!(source.read_exact_at(u64::MAX - 1, &mut buf).is_err());
    }

    #[test]
    fn blocks_cover_the_range_in_order_from_a_file_and_from_memory() {
        let data: Vec<u8> = (0..(2 * BLOCK_SIZE + 5)).map(|i| (i % 7) as u8).collect();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &data).unwrap();
        let from_file = FileSource::open(file.path()).unwrap();
        let in_memory = BytesSource::new(data.clone());
        let range = ByteRange::new(3, data.len() as u64).unwrap();
        for source in [&from_file as &dyn Source, &in_memory] {
            let mut seen = Vec::new();
            let mut blocks = 0;
            for_each_block(source, range, &mut |block| {
                assert!(block.len() <= BLOCK_SIZE);
                blocks += 1;
                seen.extend_from_slice(block);
            })
            .unwrap();
            assert_eq!(seen, &data[3..]);
            assert_eq!(blocks, 3);
        }
        let mut short = [0u8; 4];
        assert!(in_memory.read_exact_at(u64::MAX - 1, &mut short).is_err());
    }
}
