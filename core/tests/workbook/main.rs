//! Simulation tests of `WorkbookSession` against a strict in-memory workbook service, with
//! virtual time: a day of keep-alive runs in milliseconds.
#![cfg(feature = "alloc")]

mod creation;
mod keep_alive;
mod network;
mod properties;
mod recreation;
mod server;
