//! Answers that break a protocol: a service claiming what cannot be true. Every dialect reports
//! them the same way and gives up on a service that insists.

use core::fmt;

use crate::range::ByteRange;

/// An answer that broke the protocol: the service claimed something that cannot be true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// It named the finished file while bytes of it were never confirmed.
    PrematureEnd {
        /// Bytes confirmed when the answer came.
        confirmed: u64,
        /// The file's size.
        total: u64,
    },
    /// It claimed to hold bytes this upload never sent into the session.
    ClaimedUnsent {
        /// The first such range.
        range: ByteRange,
    },
    /// It lost bytes it had confirmed: it holds fewer than it once said.
    Regressed {
        /// Bytes it had confirmed.
        from: u64,
        /// Bytes it holds now.
        to: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::PrematureEnd { confirmed, total } => write!(
                f,
                "the service announced the finished file when only {confirmed} of {total} bytes were confirmed"
            ),
            Violation::ClaimedUnsent { range } => write!(
                f,
                "the service claimed to hold bytes {range}, which this upload never sent to it"
            ),
            Violation::Regressed { from, to } => write!(
                f,
                "the service lost bytes it had confirmed (it held {from}, now {to})"
            ),
        }
    }
}
