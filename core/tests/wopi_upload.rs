//! The WOPI upload engine against a strict simulated WOPI host, on virtual time.
//!
//! `host.rs` is the host (SPEC 2: it decodes every frame with the project's decoder, verifies
//! ChunkIds, enforces offsets, lengths, expiry, sequence numbers and locks), `harness.rs` plugs
//! it into the shared simulator (`sim/`) with the faults of a WOPI transport; the other modules
//! are the tests: scenarios for each fault and status, pauses and expiry, checkpoints across a
//! process kill, and property tests over sizes, range sizes and fault seeds.
#![cfg(feature = "alloc")]
#![allow(clippy::print_stdout, clippy::print_stderr, unreachable_pub)]

mod sim;

mod wopi_upload {
    mod checkpoints;
    mod commit;
    mod expiry;
    mod faults;
    pub mod harness;
    pub mod host;
    mod properties;
}
