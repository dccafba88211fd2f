//! The cap on live sessions, and the refusal a create gets when every slot is taken.
//!
//! Sessions of every kind (Graph upload, WOPI upload, workbook) share one budget of
//! [`Limits::max_live_sessions`](crate::Limits::max_live_sessions). A slot is taken when a
//! session is registered and given back when it leaves its registry (completed, cancelled,
//! expired and swept), so abandoned sessions free their slots once they expire.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::answer::Style;

/// How many sessions are live, out of how many allowed.
#[derive(Debug)]
pub(crate) struct SessionSlots {
    live: AtomicUsize,
    max: usize,
}

impl SessionSlots {
    pub(crate) fn new(max: usize) -> Self {
        SessionSlots {
            live: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes a slot for a new session; `false` when all are taken.
    pub(crate) fn acquire(&self) -> bool {
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live < self.max).then_some(live + 1)
            })
            .is_ok()
    }

    /// Gives back the slot of a session that left its registry.
    pub(crate) fn release(&self) {
        let _ = self
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                live.checked_sub(1)
            });
    }

    /// Sessions live now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

/// `503 Service Unavailable` with `Retry-After` (whole real seconds, at least 1, until the first
/// live session expires): the answer to a create when every session slot is taken. Clients
/// treat it as the throttling answer it is and retry later.
pub(crate) fn sessions_exhausted(style: Style, retry_after: Duration) -> Response {
    let mut answer = style.error(
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
        "Too many live upload sessions; retry after the time given.",
    );
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_up_to_the_cap_and_given_back() {
        let slots = SessionSlots::new(2);
        assert!(slots.acquire());
        assert!(slots.acquire());
        assert!(!slots.acquire());
        assert_eq!(slots.live(), 2);
        slots.release();
        assert!(slots.acquire());
        slots.release();
        slots.release();
        slots.release();
        assert_eq!(slots.live(), 0, "releasing more than was taken never wraps");
    }

    #[test]
    fn the_refusal_says_when_to_retry() {
        let answer = sessions_exhausted(Style::Graph, Duration::from_millis(1500));
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "2");
        let soon = sessions_exhausted(Style::Wopi, Duration::ZERO);
        assert_eq!(soon.headers()[header::RETRY_AFTER], "1");
    }
}
