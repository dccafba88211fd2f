//! Where checkpoints are kept: the [`CheckpointStore`] trait, so an embedder can keep them in
//! its own database, and [`FileCheckpointStore`], the file every transport uses by default.

use std::fmt;
use std::io;
use std::sync::Arc;

mod file;

pub use file::FileCheckpointStore;

/// A place for one upload's checkpoint: the last bytes saved, until they are removed.
///
/// The transports save after each confirmed fragment (from a thread of their own, never the
/// upload's loop), load once when the upload starts, and remove the checkpoint when the
/// upload completes or is cancelled. A save must replace the previous bytes as a whole: after
/// a crash at any instant, [`load`](Self::load) returns the old bytes or the new ones, never a
/// mix (a database transaction or an atomic rename gives that; the checkpoint's own CRC
/// catches what slips through).
///
/// The bytes hold the upload session's URL (WOPI: the `access_token` and session token too),
/// which lets anyone who reads them write to the session until it expires: keep them where
/// only their owner can read them.
///
/// An in-memory store (a map standing in for a database table):
///
/// ```
/// use std::collections::HashMap;
/// use std::io;
/// use std::sync::Mutex;
///
/// use resumable_io::CheckpointStore;
///
/// #[derive(Debug, Default)]
/// struct Table {
///     rows: Mutex<HashMap<String, Vec<u8>>>,
///     key: String,
/// }
///
/// impl CheckpointStore for Table {
///     fn load(&self) -> io::Result<Option<Vec<u8>>> {
///         Ok(self.rows.lock().unwrap().get(&self.key).cloned())
///     }
///     fn save(&self, bytes: &[u8]) -> io::Result<()> {
///         self.rows.lock().unwrap().insert(self.key.clone(), bytes.to_vec());
///         Ok(())
///     }
///     fn remove(&self) -> io::Result<()> {
///         self.rows.lock().unwrap().remove(&self.key);
///         Ok(())
///     }
///     fn describe(&self) -> String {
///         format!("checkpoint row {:?}", self.key)
///     }
/// }
///
/// let table = Table { key: "report.docx".into(), ..Table::default() };
/// table.save(b"checkpoint").unwrap();
/// assert_eq!(table.load().unwrap().as_deref(), Some(&b"checkpoint"[..]));
/// ```
pub trait CheckpointStore: fmt::Debug + Send + Sync + 'static {
    /// The saved bytes, or `None` if nothing is saved. An error says what could not be read
    /// and what to do about it (it is shown to the user as it is).
    fn load(&self) -> io::Result<Option<Vec<u8>>>;

    /// Replaces the saved bytes with `bytes`, as a whole (see the trait's documentation).
    fn save(&self, bytes: &[u8]) -> io::Result<()>;

    /// Deletes the saved bytes; nothing saved is not an error.
    fn remove(&self) -> io::Result<()>;

    /// Names the store in messages, as a noun phrase: "checkpoint file /var/x.checkpoint",
    /// "checkpoint row 42 of uploads.db". Never a secret (no credentials of the database, no
    /// part of the checkpoint's bytes): it goes into errors and logs.
    fn describe(&self) -> String;
}

/// A store shared with the caller (who keeps a handle to look at it, or to hand it to the next
/// run) is a store.
impl<S: CheckpointStore + ?Sized> CheckpointStore for Arc<S> {
    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        (**self).load()
    }

    fn save(&self, bytes: &[u8]) -> io::Result<()> {
        (**self).save(bytes)
    }

    fn remove(&self) -> io::Result<()> {
        (**self).remove()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
