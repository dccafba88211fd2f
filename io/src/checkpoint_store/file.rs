//! [`FileCheckpointStore`]: checkpoint files, written so that a crash at any instant leaves either the old checkpoint or
//! the new one, never a torn mix.
//!
//! A save writes a temporary file beside the checkpoint, flushes it to disk, renames it over the
//! checkpoint and flushes the directory. The checkpoint's own CRC (checked by
//! `resumable_core`'s decoder) catches what the file system does not.
//!
//! A checkpoint holds the upload session's URL, which lets anyone who reads it write to the
//! session until it expires: the file is created readable by its owner only (on Unix).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::CheckpointStore;

/// A checkpoint file at a fixed path: the default [`CheckpointStore`].
///
/// ```
/// use resumable_io::{CheckpointStore, FileCheckpointStore};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileCheckpointStore::new(dir.path().join("upload.checkpoint"));
/// assert_eq!(store.load().unwrap(), None);
/// store.save(b"first").unwrap();
/// store.save(b"second").unwrap();
/// assert_eq!(store.load().unwrap().as_deref(), Some(&b"second"[..]));
/// store.remove().unwrap();
/// assert_eq!(store.load().unwrap(), None);
/// assert!(store.describe().ends_with("upload.checkpoint"));
/// ```
#[derive(Clone, Debug)]
pub struct FileCheckpointStore {
    path: PathBuf,
}

impl FileCheckpointStore {
    /// A store writing to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheckpointStore { path: path.into() }
    }

    /// The checkpoint's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp.{}", std::process::id()));
        self.path.with_file_name(name)
    }

    fn context(&self, e: io::Error, verb: &str) -> io::Error {
        let advice = match verb {
            "read" => "check that it is readable, or delete it to start over",
            _ => "check that its directory exists and is writable",
        };
        io::Error::new(
            e.kind(),
            format!(
                "could not {verb} checkpoint {}: {e}; {advice}",
                self.path.display()
            ),
        )
    }
}

impl CheckpointStore for FileCheckpointStore {
    /// The file's bytes, or `None` if there is no file.
    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.context(e, "read")),
        }
    }

    /// Replaces the checkpoint with `bytes`, atomically and durably: a temporary file beside
    /// it, flushed, renamed over it, and the directory flushed.
    fn save(&self, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.temp_path();
        let result = (|| {
            let mut file = create_private(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, &self.path)?;
            sync_parent(&self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.context(e, "write"))
    }

    /// Deletes the checkpoint (after the upload completed); a missing file is not an error.
    fn remove(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => sync_parent(&self.path).map_err(|e| self.context(e, "remove")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.context(e, "remove")),
        }
    }

    /// "checkpoint file PATH".
    fn describe(&self) -> String {
        format!("checkpoint file {}", self.path.display())
    }
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("c"));
        for i in 0..10u8 {
            store.save(&[i; 100]).unwrap();
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c"]);
        assert_eq!(store.load().unwrap().unwrap(), vec![9u8; 100]);
    }

    #[cfg(unix)]
    #[test]
    fn checkpoint_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("c"));
        store.save(b"x").unwrap();
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn unwritable_location_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("missing-dir").join("c"));
        let err = store.save(b"x").unwrap_err();
        assert!(
            err.to_string().contains("could not write checkpoint")
                && err
                    .to_string()
                    .contains("check that its directory exists and is writable"),
            "{err}"
        );
    }
}
