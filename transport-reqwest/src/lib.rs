//! # resumable-reqwest
//!
//! An async transport for [`resumable_core`]: it sends the requests the core's state machines
//! describe over [`reqwest`], reads fragment bytes from a [`Source`](source::Source) just in time,
//! sleeps until the machines' deadlines on [`tokio`]'s clock, and writes checkpoints atomically.

pub mod checkpoint_store;
#[cfg(feature = "tokio")]
pub mod clock;
#[cfg(all(feature = "tokio", feature = "reqwest"))]
pub mod exchange;
pub mod source;
pub mod timeouts;
pub mod token;
