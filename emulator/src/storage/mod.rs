//! Where received bytes go: files in a directory, or nowhere but their running hashes.
//!
//! Bytes are written as they arrive, never gathered into a whole file in memory: drive fragments
//! are up to 60 MiB and files may be many GiB. In-order streams (drive items, mail attachments,
//! WOPI session streams) go through a [`SequentialSink`], which hashes as it writes; print
//! documents, whose fragments come in any order, go through a [`PositionalSink`]. Either way a
//! finished stream is described by its [`SourceHashes`] (size, QuickXorHash, CRC-32, SHA-1,
//! SHA-256), taken in the one pass that writes or reads the bytes.

mod digest;
mod positional;
mod sequential;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use resumable_core::digest::SourceHashes;
use resumable_core::time::UnixTime;
use serde::{Deserialize, Serialize};

pub(crate) use digest::ContentDigest;
pub(crate) use positional::{PositionalSink, SegmentWriter};
pub(crate) use sequential::{Checkpoint, SequentialSink};

use crate::config::StorageMode;

/// How many bytes are gathered before one write to disk.
const WRITE_BATCH: usize = 1024 * 1024;

/// The protocol a file arrived by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// A Graph drive item upload session.
    GraphDrive,
    /// A Graph print document upload session.
    GraphPrint,
    /// A Graph mail attachment upload session.
    GraphMail,
    /// A WOPI `PUT_CHUNKED_FILE` (with or without an upload session).
    Wopi,
    /// A tus 1.0 upload (`/tus/files/`), complete when its offset reached its length.
    Tus,
    /// An IETF draft upload (`/ietf/files/`), complete after an append with
    /// `Upload-Complete: ?1`.
    IetfDraft,
}

/// One completed upload, as `GET /_emulator/files` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Where the client put it: `me/drive/root:/docs/a.bin`, `drives/d1/items/p1:/a.bin`,
    /// `print/printers/p/jobs/j/documents/d`, `me/messages/m/attachments/a.pdf`, `wopi/files/f`,
    /// `tus/{id}`, `ietf/{id}`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// QuickXorHash of the content, base64 (what a drive item reports as `quickXorHash`).
    pub quick_xor_hash: String,
    /// The protocol it arrived by.
    pub protocol: Protocol,
    /// When the last byte was accepted (RFC 3339).
    pub completed_at: String,
    /// The file on disk, unless the emulator discards content.
    pub disk_path: Option<PathBuf>,
}

/// The content of a finished stream: its size and hashes, and where it lies if it was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finished {
    pub(crate) hashes: SourceHashes,
    pub(crate) disk_path: Option<PathBuf>,
}

impl Finished {
    /// The content's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.hashes.size
    }
}

impl StoredFile {
    /// The listing of content with these `hashes`, stored at `path`.
    pub(crate) fn new(
        path: String,
        hashes: &SourceHashes,
        protocol: Protocol,
        disk_path: Option<PathBuf>,
    ) -> Self {
        StoredFile {
            path,
            size: hashes.size,
            sha256: hex(&hashes.sha256.unwrap_or_default()),
            quick_xor_hash: hashes.quick_xor_base64().as_str().to_owned(),
            protocol,
            completed_at: completed_at(crate::clock::wall_now()),
            disk_path,
        }
    }
}

enum Place {
    Disk {
        root: PathBuf,
        // Held so the directory lives as long as the storage.
        _temp: Option<tempfile::TempDir>,
    },
    Discard,
}

/// The emulator's storage and the list of completed files.
pub(crate) struct Storage {
    place: Place,
    next_id: AtomicU64,
    files: Mutex<Vec<StoredFile>>,
}

impl Storage {
    pub(crate) fn new(mode: &StorageMode) -> io::Result<Self> {
        let place = match mode {
            StorageMode::TempDir => {
                let temp = tempfile::Builder::new()
                    .prefix("resumable-emulator-")
                    .tempdir()?;
                Place::Disk {
                    root: temp.path().to_owned(),
                    _temp: Some(temp),
                }
            }
            StorageMode::Directory(root) => {
                std::fs::create_dir_all(root)?;
                Place::Disk {
                    root: root.clone(),
                    _temp: None,
                }
            }
            StorageMode::Discard => Place::Discard,
        };
        if let Place::Disk { root, .. } = &place {
            std::fs::create_dir_all(root.join(".partial"))?;
        }
        Ok(Storage {
            place,
            next_id: AtomicU64::new(1),
            files: Mutex::new(Vec::new()),
        })
    }

    /// The directory files are written to, unless content is discarded.
    pub(crate) fn root(&self) -> Option<&Path> {
        match &self.place {
            Place::Disk { root, .. } => Some(root),
            Place::Discard => None,
        }
    }

    /// A fresh part-file name, unless content is discarded.
    pub(crate) fn part_path(&self) -> Option<PathBuf> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.root()
            .map(|root| root.join(".partial").join(format!("{id:08}.part")))
    }

    /// A new in-order stream (its part file is created by the first write).
    pub(crate) fn sequential(&self) -> SequentialSink {
        match self.part_path() {
            Some(path) => SequentialSink::on_disk(path),
            None => SequentialSink::discarding(),
        }
    }

    /// A new any-order stream (its part file is created by the first write).
    pub(crate) fn positional(&self) -> PositionalSink {
        match self.part_path() {
            Some(path) => PositionalSink::on_disk(path),
            None => PositionalSink::discarding(),
        }
    }

    /// Moves a finished part file to its final name, derived from the logical `path`.
    pub(crate) async fn keep(&self, part: &Path, path: &str) -> io::Result<PathBuf> {
        let root = self
            .root()
            .ok_or_else(|| io::Error::other("storage discards content"))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let dest = root.join(format!("{id:08}-{}", file_name_of(path)));
        tokio::fs::rename(part, &dest).await?;
        Ok(dest)
    }

    /// Lists a completed upload.
    pub(crate) fn record(&self, file: StoredFile) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(file);
    }

    pub(crate) fn files(&self) -> Vec<StoredFile> {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A safe file name from the last component of a logical path (no separators, no dots-only
/// names), so a client-chosen path can never write outside the storage directory.
fn file_name_of(path: &str) -> String {
    let last = path
        .rsplit(['/', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or("file");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.chars().all(|c| c == '.') {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// Lowercase hex of a digest, as `/_emulator/files` writes the SHA-256.
pub(crate) fn hex(bytes: &[u8]) -> String {
    resumable_core::digest::stored::hex(bytes).to_ascii_lowercase()
}

/// Opens a part file for writing, creating it if it does not exist yet (never truncating).
fn open_part(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Removes a part file that is no longer wanted. A file that is already gone is not an error;
/// one that cannot be removed stays until the storage directory goes (best effort).
pub(crate) fn remove_part(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Writes all of `buf` at `offset` without moving a shared cursor.
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_write(
                file,
                &buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Fills `buf` from `offset` without moving a shared cursor.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Copies `pieces` (file, offset, length) one after another into a new file at `dest`, hashing
/// as it goes; returns the hashes of what it wrote.
pub(crate) async fn assemble(
    pieces: Vec<(PathBuf, u64, u64)>,
    dest: PathBuf,
) -> io::Result<SourceHashes> {
    tokio::task::spawn_blocking(move || {
        let out = File::create(&dest)?;
        let mut digest = ContentDigest::new();
        let mut buf = vec![0u8; WRITE_BATCH];
        let mut size = 0u64;
        let mut open: Option<(PathBuf, File)> = None;
        for (path, offset, len) in pieces {
            if open.as_ref().is_none_or(|(p, _)| *p != path) {
                open = Some((path.clone(), File::open(&path)?));
            }
            let Some((_, source)) = &open else {
                continue;
            };
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(WRITE_BATCH as u64) as usize;
                read_at(source, &mut buf[..n], offset + done)?;
                write_at(&out, &buf[..n], size)?;
                digest.update(&buf[..n]);
                done += n as u64;
                size += n as u64;
            }
        }
        Ok(digest.hashes())
    })
    .await
    .map_err(io::Error::other)?
}

/// The hashes of a whole file, read once in blocks on a blocking thread.
async fn hash_file(path: PathBuf) -> io::Result<SourceHashes> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = File::open(&path)?;
        let mut digest = ContentDigest::new();
        let mut buf = vec![0u8; WRITE_BATCH];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            digest.update(&buf[..n]);
        }
        Ok(digest.hashes())
    })
    .await
    .map_err(io::Error::other)?
}

/// The RFC 3339 form of a completion time.
pub(crate) fn completed_at(now: UnixTime) -> String {
    now.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_inside_the_directory() {
        assert_eq!(file_name_of("me/drive/root:/docs/a b.bin"), "a_b.bin");
        assert_eq!(file_name_of("drives/d/items/p:/../..:"), "file");
        assert_eq!(file_name_of("x/..\\..\\etc"), ".._.._etc");
        assert_eq!(file_name_of(""), "file");
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0, 10, 255]), "000aff");
    }
}
