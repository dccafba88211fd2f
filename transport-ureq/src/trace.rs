//! What the transport tells [`tracing`]: one span per upload, one per request, and an event
//! for each answer and each turn an upload takes.
//!
//! The spans, events and their fields are listed in the crate documentation of `resumable-reqwest` ("Tracing"; the same here, on the upload's thread), for
//! the people who filter on them.
//!
//! Nothing secret is ever recorded: URLs appear only as their origin
//! ([`SecretUrl::origin`]), no header but `Content-Range` and `Upload-Offset` is read, and the
//! causes are the engine's own descriptions, which never hold a URL's path or query, a token
//! or a lock.

use std::time::Duration;

use resumable_core::http::{Request, Response, TransportError};
use resumable_core::secret::SecretUrl;
use resumable_core::session::{Milestone, Transfer};
use tracing::field::Empty;

use crate::outcome::FailureCause;

/// The span an upload runs in: its protocol, size, and where it goes (scheme and host).
pub(crate) fn upload_span(
    protocol: &'static str,
    total: u64,
    destination: &SecretUrl,
) -> tracing::Span {
    tracing::info_span!(
        "upload",
        protocol,
        total,
        destination = destination.origin()
    )
}

/// The span one request runs in; [`answered`] completes it.
pub(crate) fn request_span(request: &Request) -> tracing::Span {
    let span = tracing::debug_span!(
        "request",
        method = request.method.as_str(),
        kind = ?request.kind,
        content_range = Empty,
        offset = Empty,
        len = request.body.len(),
        status = Empty,
        elapsed_ms = Empty,
    );
    if let Some(range) = request.header("content-range") {
        span.record("content_range", range);
    }
    if let Some(offset) = request.header("upload-offset") {
        span.record("offset", offset);
    }
    span
}

/// Records the outcome of the request whose span is `span`, with an event.
pub(crate) fn answered(
    span: &tracing::Span,
    result: &Result<Response, TransportError>,
    detail: Option<&str>,
    elapsed: Duration,
) {
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    span.record("elapsed_ms", elapsed_ms);
    let _entered = span.enter();
    match result {
        Ok(response) => {
            span.record("status", response.status);
            tracing::debug!(status = response.status, elapsed_ms, "answer");
        }
        Err(error) => {
            tracing::debug!(error = %error, detail, elapsed_ms, "no answer");
        }
    }
}

/// Tells what `event` meant for the upload `machine` runs (called with every event, in the
/// upload's span). `declined` says the caller's hook declined the retry it announces; `total`
/// is the source's size.
pub(crate) fn milestone<M: Transfer>(
    machine: &M,
    milestone: &Milestone<M::Completion, M::Error>,
    declined: bool,
    total: u64,
) {
    match milestone {
        Milestone::Retry => {
            if let Some(retry) = machine.last_retry() {
                let delay_ms = u64::try_from(retry.delay.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(
                    attempt = retry.attempt,
                    cause = %format_args!("{}{}", retry.reason, retry.reason.hint()),
                    delay_ms,
                    declined,
                    "retry scheduled"
                );
            }
        }
        Milestone::Resync { confirmed } => {
            tracing::info!(confirmed, "resynchronised");
        }
        Milestone::SessionCreated { number } if *number > 1 => {
            tracing::info!(session = number, "session replaced");
        }
        Milestone::SessionLost { starting_over } => {
            tracing::info!(starting_over, "session lost");
        }
        Milestone::Completed(_) => {
            tracing::info!(total, "upload completed");
        }
        Milestone::Cancelled => tracing::info!("upload cancelled"),
        _ => {}
    }
}

/// The upload ended without completing.
pub(crate) fn failed(cause: &FailureCause) {
    tracing::warn!(cause = %cause, "upload failed");
}
