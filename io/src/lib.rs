//! # resumable-io
//!
//! The local side of a transport for [`resumable_core`], shared by `resumable-reqwest` (async)
//! and `resumable-ureq` (blocking): what has to do with files and memory, not with HTTP.
//!
//! - [`source`]: the bytes to upload, read by position ([`source::FileSource`],
//!   [`source::BytesSource`]), never through a shared cursor, so a retry or a resume reads the
//!   bytes at the server's offset, and a source that comes up short is an error, never zeros;
//! - [`CheckpointStore`]: where a checkpoint is kept, a trait so that an embedder can keep
//!   checkpoints in its own database; [`FileCheckpointStore`], the default, is a file saved so
//!   that a crash at any instant leaves the old checkpoint or the new one, readable by its owner
//!   only.

pub mod source;

mod checkpoint_store;

pub use checkpoint_store::{CheckpointStore, FileCheckpointStore};
