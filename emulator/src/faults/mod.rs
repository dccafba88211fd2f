//! Fault injection: what can go wrong ([`Fault`]), on which requests ([`RequestKind`]), how often
//! ([`FaultProfile`]) or exactly where ([`FaultScript`]).

mod fault;
mod kind;
pub(crate) mod plan;
mod profile;
mod script;

pub use fault::{Fault, MAX_RETRY_AFTER_SECS, MAX_SLOW_MS, RetryAfterForm};
pub use kind::RequestKind;
pub use profile::FaultProfile;
pub use script::{FaultScript, ScriptRule, ScriptTarget};
