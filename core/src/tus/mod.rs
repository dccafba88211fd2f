//! tus 1.0 and the IETF "Resumable Uploads for HTTP" draft: one dialect of the shared session
//! machinery, for the servers most uploads outside Microsoft's go to.
//!
//! | item | what it is |
//! |---|---|
//! | [`TusUpload`] | the machine: discovery, creation, appends, offset checks, deletion |
//! | [`TusConfig`], [`Variant`], [`InteropVersion`], [`ChecksumPolicy`] | what makes an upload |
//! | [`TusEvent`], [`TusCompletion`], [`TusError`], [`ServerOffer`], [`LossCause`] | what it reports |
//! | [`TusCheckpoint`], [`plan_start`], [`TusStartPlan`] | resuming in another process |
//!
//! The rules, as the machine applies them:
//!
//! - **The server's offset is the only truth.** After every answer that carries one the next
//!   request starts there; a server may store fewer bytes than were sent. An offset beyond the
//!   bytes sent into the upload, or beyond the source, is a protocol violation and ends the
//!   upload; one that goes back (a server that lost bytes) is followed, a few times.
//! - **Ambiguity is resolved by asking.** A lost answer, a `5xx`, a `423`, a `409` or an answer
//!   without `Upload-Offset` is followed by a `HEAD` before any byte goes again.
//! - **Completion is proven.** Only a `HEAD` after the last request that shows offset ==
//!   length (and, for the draft, `Upload-Complete: ?1`) completes the upload; an answer with
//!   `Upload-Length` other than the source's fails it.
//! - **Checksums when offered** (tus): `Upload-Checksum` with CRC-32 (else SHA-1) on every
//!   request carrying bytes; a `460` (or `417`) sends the same bytes again.
//! - **Expiry is acted on**: `Upload-Expires` (or the draft's `Upload-Limit: max-age`) less a
//!   margin; an expired or vanished upload (`404`, `410`, `403`) is replaced by a new one
//!   within [`TusConfig::max_new_uploads`].
//! - `Tus-Resumable: 1.0.0` on every tus request but `OPTIONS`; a `412` ends the upload with
//!   the server's `Tus-Version`. The draft's requests carry `Upload-Draft-Interop-Version`.
//! - The draft's creation request is empty (`Upload-Complete: ?0`): a client that cannot see
//!   `104` interim answers learns the upload's URL from the `201` without risking bytes.

mod checkpoint;
mod config;
mod dialect;
mod event;
mod upload;

#[cfg(test)]
mod tests;

pub use checkpoint::{TusCheckpoint, TusStartPlan, plan_start};
pub use config::{
    ChecksumPolicy, ConfigError, DEFAULT_CHUNK_SIZE, InteropVersion, MIN_CHUNK_SIZE, TusConfig,
    Variant,
};
pub use event::{LossCause, ServerOffer, TusCompletion, TusError, TusEvent};
pub use upload::TusUpload;
