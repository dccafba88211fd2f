//! Simulation tests of `WorkbookSession` against a strict in-memory workbook service, with
//! virtual time: a day of keep-alive runs in milliseconds.
//!
//! `server.rs` is the service, `network.rs` plugs it and the caller's own calls into the shared
//! simulator (`sim/`); the other modules are the tests.
#![cfg(feature = "alloc")]

mod creation;
mod keep_alive;
mod network;
mod properties;
mod recreation;
mod server;
#[path = "../sim/mod.rs"]
mod sim;
