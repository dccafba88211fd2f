//! Fault injection: what can go wrong ([`Fault`]), on which requests ([`RequestKind`]), how often
//! ([`FaultProfile`]) or exactly where ([`FaultScript`]).

mod fault;
mod kind;
pub(crate) mod plan;
mod profile;
mod script;

pub use fault::{Fault, RetryAfterForm};
pub use kind::RequestKind;
pub use profile::FaultProfile;
pub use script::{FaultScript, ScriptRule, ScriptTarget};
