//! # resumable-emulator
//!
//! A strict stand-in for the services `resumable` uploads to, on loopback: Microsoft Graph upload
//! sessions (drive items, print documents, mail attachments), WOPI upload sessions, Graph
//! workbook sessions, tus 1.0 servers and servers of the IETF resumable-upload draft. It
//! refuses what the real services refuse, with their status codes and body shapes (`SPEC.md`,
//! `SPEC-TUS.md`), so a client that passes it is right rather than lucky; and it injects
//! faults from a seeded plan (dropped connections, lost answers after the bytes were stored,
//! partial stores, 5xx, throttling with `Retry-After`, slow answers, early expiry, transient
//! 404s), counting every one. Fault scripts can also make it lie as hostile servers have lied
//! to real clients (an item before the last fragment, a wrong size or hash, someone else's
//! file at the path, ranges or offsets past what was received, a forgotten upload): see
//! [`Fault`].
//!
//! ## Use
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use resumable_emulator::{Emulator, EmulatorConfig, FaultProfile, TimeScale};
//!
//! let config = EmulatorConfig::default()
//!     .with_faults(FaultProfile::Flaky, 7)
//!     .with_time_scale(TimeScale::new(60.0).unwrap());
//! let emulator = Emulator::start(config).await.unwrap();
//! let create = emulator.drive_upload_session_url("docs/big.bin");
//! assert!(create.ends_with("/v1.0/me/drive/root:/docs/big.bin:/createUploadSession"));
//! // ... upload with any HTTP client, then:
//! assert!(emulator.files().is_empty());
//! # });
//! ```
//!
//! From a command line, `resumable emulator serve --addr 127.0.0.1:PORT --faults flaky --seed 7
//! --time-scale 60` builds the same [`EmulatorConfig`] and calls [`serve`]. Every setting has a
//! name in [`OPTIONS`] (the flag without its `--`), a value syntax that parses with `FromStr`,
//! and is applied by [`EmulatorConfig::set`].
//!
//! ## Endpoints
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1.0/{drive}/root:/{path}:/createUploadSession`, `POST /v1.0/{drive}/items/{parent}:/{name}:/createUploadSession` (`{drive}` is `me/drive`, `drives/{id}`, `sites/{id}/drive`, `users/{id}/drive` or `groups/{id}/drive`) | `200` + session |
//! | `POST /v1.0/{drive}/items/{id}/createUploadSession` | `200` + session replacing item `id` |
//! | `POST /v1.0/print/printers/{p}/jobs/{j}/documents/{d}/createUploadSession` | `200` + session (closed ranges) |
//! | `POST /v1.0/me/messages/{m}/attachments/createUploadSession` | `201` + session |
//! | `PUT/GET/DELETE/POST /_up/{id}?tempauth=…` (`tempauthtoken` for print, `authtoken` for mail) | fragment, status, cancel, deferred commit |
//! | `PUT /v1.0/{drive}/items/{parent}:/{name}:` with `@microsoft.graph.sourceUrl` | explicit commit |
//! | `PUT /v1.0/{drive}/root:/{path}:/content`, `PUT /v1.0/{drive}/items/{parent}:/{name}:/content` (optionally `?@microsoft.graph.conflictBehavior=fail\|replace\|rename`; bearer token, `Content-Length` at most [`Limits::simple_upload_max`]) | simple upload: `201` + item (created), `200` + item (replaced), `409` (`fail` and the name is taken), `413` (too large) |
//! | `PUT /v1.0/{drive}/items/{id}/content` | simple upload replacing item `id`: `200` + item, or `404` |
//! | `GET /v1.0/{drive}/items/{id}` | the drive item with that id, or `404` |
//! | `GET /v1.0/{drive}/items/{parent}:/{name}:`, `GET /v1.0/{drive}/root:/{path}` | the drive item at that path, or `404` |
//! | `POST …/workbook/createSession`, `GET …/workbook/operations/{id}`, `GET …/workbook/sessionInfoResource(key='…')`, `POST …/workbook/refreshSession`, `POST …/workbook/closeSession`, `GET …/workbook/worksheets` | workbook sessions |
//! | `POST /wopi/files/{id}?access_token=…` with `X-WOPI-Override: CREATE_UPLOAD_SESSION`, `UPDATE_UPLOAD_SESSION`, `LOCK`, `UNLOCK`, `REFRESH_LOCK` | WOPI upload sessions and locks |
//! | `POST /wopi/files/{id}/contents?access_token=…` with `X-WOPI-Override: PUT_CHUNKED_FILE` | WOPI commit |
//! | `GET /wopi/files/{id}?access_token=…` | WOPI `CheckFileInfo` (size, SHA-256, version, sequence number) |
//! | `OPTIONS/POST /tus/files/`, `HEAD/PATCH/DELETE /tus/files/{id}` with `Tus-Resumable: 1.0.0` | tus 1.0 uploads (creation, creation-with-upload, creation-defer-length, termination, expiration, checksum) |
//! | `POST /ietf/files/`, `HEAD/PATCH/DELETE /ietf/files/{id}` with `Upload-Draft-Interop-Version: 6` or `8` | IETF resumable-upload draft uploads |
//! | `GET /_emulator/files`, `GET /_emulator/stats` | inspection (JSON) |
//!
//! ## Time
//!
//! Expiries and creation delays are service time, divided by the [`TimeScale`]; the answers
//! carry real wall-clock times, so clients need not know the scale.
//!
//! ## Resources
//!
//! A session holds no file descriptor between requests: part files are opened for each write
//! and created by the first one. Expired sessions are swept away periodically (a quarter of the
//! shortest scaled session lifetime, between 10 ms and 5 s) with their part files, whether or
//! not anyone touches them again. At most [`Limits::max_live_sessions`] sessions of all kinds
//! live at once; a create beyond that answers `503 Service Unavailable` with `Retry-After` (real
//! seconds until the first live session expires, at least 1). Each request runs in a task of
//! its own, so a client that disconnects mid-request never leaves a session half-changed.
//!
//! ## Determinism
//!
//! The fault plan is a function of the seed and of each request's position (within its
//! session, or within its kind outside sessions): the same seed and the same requests give the
//! same faults. Requests refused for their credentials or for naming an unknown or expired
//! session are answered before the plan is consulted, so they neither get faults nor shift
//! anyone's. See [`FaultProfile`] for the mixes and [`FaultScript`] for exact placement.

// Refusals travel as `Err(Response)`: an HTTP answer is the natural error of a handler step, it
// is built once per refused request, and boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod answer;
mod app;
mod body;
mod clock;
mod config;
mod connection;
mod exchange;
mod faults;
mod graph;
mod ids;
mod inspect;
mod link;
mod options;
mod server;
mod slots;
mod stats;
mod storage;
mod tus;
mod wopi;
mod workbook;

pub use clock::{ServiceDuration, TimeScale};
pub use config::{
    ConfigError, DriveHashes, EmulatorConfig, FaultConfig, GraphConfig, Limits, LinkConfig,
    RangeForm, StorageMode, TusHostConfig, WopiConfig, WorkbookConfig,
};
pub use faults::{
    Fault, FaultProfile, FaultScript, MAX_RETRY_AFTER_SECS, MAX_SLOW_MS, RequestKind,
    RetryAfterForm, ScriptRule, ScriptTarget,
};
pub use options::{ConfigOption, OPTIONS};
pub use server::{Emulator, EmulatorHandle, StartError, serve};
pub use stats::{InjectedFault, StatsSnapshot};
pub use storage::{Protocol, StoredFile};
