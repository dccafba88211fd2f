//! # resumable-conformance
//!
//! One conformance suite for every transport of `resumable-core`, run against the emulator:
//! the same scenarios, the same assertions, whichever transport drives the machines.
//!
//! A transport takes part by implementing [`Transport`]: upload a file to an emulator URL
//! (Graph or WOPI) with the suite's options, stop partway when asked (as a crash would, leaving
//! the session and the checkpoint), resume from a checkpoint, and hold a workbook session. It
//! returns what happened as an [`Outcome`] (or a [`WorkbookOutcome`]), in terms every
//! transport can give. The scenarios in [`scenarios`] then check the emulator's own records:
//! the stored bytes' SHA-256, the faults it injected, what it refused, what it received twice.
//!
//! `tests/conformance.rs` runs every scenario for [`ReqwestTransport`] (`resumable-reqwest`,
//! async, on a tokio runtime) and [`UreqTransport`] (`resumable-ureq`, blocking).

pub mod fault_proxy;
mod harness;
pub mod partners;
mod reqwest_transport;
pub mod scenarios;
mod transport;
mod ureq_transport;

pub use harness::{Env, KIB320, data, quick_graph, quick_wopi, random, sha256};
pub use reqwest_transport::ReqwestTransport;
pub use transport::{
    Ending, GraphRun, Interrupt, Outcome, Start, Transport, WopiRun, WorkbookOutcome, WorkbookRun,
};
pub use ureq_transport::UreqTransport;
