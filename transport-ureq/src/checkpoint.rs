//! Checkpoint files, saved so that a crash at any instant leaves the old checkpoint or the new
//! one, never a torn mix: the bytes go to a temporary file beside it, which is flushed to disk,
//! renamed over the checkpoint, and the directory flushed. The checkpoint's own CRC (checked by
//! the core's decoder) catches what the file system does not.
//!
//! A checkpoint holds the session's URL, a credential: the file is created readable by its
//! owner only (on Unix).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A checkpoint file at a fixed path.
///
/// ```
/// use resumable_ureq::CheckpointStore;
/// # let dir = tempfile::tempdir().unwrap();
/// let store = CheckpointStore::new(dir.path().join("upload.checkpoint"));
/// assert_eq!(store.load().unwrap(), None);
/// store.save(b"first").unwrap();
/// store.save(b"second").unwrap();
/// assert_eq!(store.load().unwrap().as_deref(), Some(&b"second"[..]));
/// store.remove().unwrap();
/// assert_eq!(store.load().unwrap(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointStore {
    path: PathBuf,
}

impl CheckpointStore {
    /// A store writing to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointStore { path: path.into() }
    }

    /// The checkpoint's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved bytes, or `None` if there is no checkpoint.
    pub fn load(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.context(e, "read")),
        }
    }

    /// Replaces the checkpoint with `bytes`, atomically and durably.
    pub fn save(&self, bytes: &[u8]) -> io::Result<()> {
        let temp = self.temp_path();
        let written = (|| {
            let mut file = create_private(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, &self.path)?;
            sync_parent(&self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map_err(|e| self.context(e, "write"))
    }

    /// Deletes the checkpoint; a missing one is not an error.
    pub fn remove(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => sync_parent(&self.path).map_err(|e| self.context(e, "remove")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.context(e, "remove")),
        }
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp.{}", std::process::id()));
        self.path.with_file_name(name)
    }

    fn context(&self, e: io::Error, verb: &str) -> io::Error {
        io::Error::new(
            e.kind(),
            format!(
                "could not {verb} checkpoint {}: {e}; check that its directory exists and is writable",
                self.path.display()
            ),
        )
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
            Some(parent) if !parent.as_os_str().is_empty() => parent,
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
    fn saves_leave_only_the_checkpoint_readable_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path().join("c"));
        for i in 0..5u8 {
            store.save(&[i; 100]).unwrap();
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        }
    }

    #[test]
    fn an_unwritable_place_says_where_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(dir.path().join("missing").join("c"));
        let error = store.save(b"x").unwrap_err().to_string();
        assert!(error.contains("could not write checkpoint"), "{error}");
        assert!(error.contains("check that its directory exists"), "{error}");
    }
}
