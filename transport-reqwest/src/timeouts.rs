//! The time limits the transport enforces itself: connecting, and connections that stop moving.
//!
//! The limit for a whole request is not decided here: the state machine computes it
//! ([`Driven::time_limit`](resumable_core::session::Driven::time_limit), for Graph uploads
//! `Driven::time_limit`) from the body size and the throughput it measured, because it is the
//! machine that sees every fragment's answer. A fixed limit would kill large fragments on slow
//! links (one SDK's 100 s limit did); one limit computed in two places would drift. What is left
//! for the transport is what only the socket can tell: that a connection could not be made, or
//! that bytes stopped moving although the request's time is not up.

use std::time::Duration;

/// How long the transport waits for a connection and for a stalled body.
///
/// ```
/// use std::time::Duration;
/// use resumable_reqwest::TimeoutPolicy;
/// let policy = TimeoutPolicy::default().with_idle(Duration::from_secs(20));
/// assert_eq!(policy.connect, Duration::from_secs(30));
/// assert_eq!(policy.idle, Duration::from_secs(20));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// With no body bytes taken by the connection for this long while a body is being sent, or
    /// no answer bytes arriving for this long while an answer is being read, the request is given
    /// up as stalled ([`TransportError::Timeout`](resumable_core::http::TransportError::Timeout)).
    /// Bodies are handed over in 64 KiB pieces, so a link must sink at least 64 KiB per `idle`
    /// (about 1 KiB/s with the default) not to count as stalled.
    pub idle: Duration,
}

impl Default for TimeoutPolicy {
    /// 30 s to connect, 60 s without movement.
    fn default() -> Self {
        TimeoutPolicy {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

impl TimeoutPolicy {
    /// The same policy with another idle limit.
    pub fn with_idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The same policy with another connect limit.
    pub fn with_connect(mut self, connect: Duration) -> Self {
        self.connect = connect;
        self
    }
}
