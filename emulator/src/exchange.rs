//! One request's way through the fault plan: decide, inject, count.
//!
//! Faults that need no knowledge of the protocol (dropped connections, server errors,
//! throttling, lost answers, slow answers, early expiry, transient 404s) are injected here, so
//! every endpoint gets them alike. Faults that change what a handler stores (partial stores, a
//! failed workbook operation) or what it answers (the lies of a hostile server, see
//! [`Fault::breaks_protocol`]) are handed to the handler, which marks its answer with
//! [`FaultApplied`] when it applied one; only then is the fault counted.
//!
//! A fault is counted only when it did what its name says: a lost answer on a request the
//! handler refused is no lost answer (nothing was done; the refusal is answered and counted as
//! a refusal), and a cut "mid-body" past the end of a shorter body is counted as the drop after
//! the body it was.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::Response;

use crate::answer::Style;
use crate::app::AppState;
use crate::body::{BodyReader, discard_body};
use crate::connection::ConnectionControl;
use crate::faults::{Fault, MAX_SLOW_MS, RequestKind};

/// The live session a request addresses: its ordinal (the fault plan's scope) and how to expire
/// it early.
pub(crate) struct SessionRef {
    pub(crate) ordinal: u64,
    pub(crate) expire: Box<dyn FnOnce() + Send>,
}

/// A fault the handler itself must apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandlerFault {
    None,
    /// Store only the first `keep` bytes of the upload; `lost` drops the answer afterwards.
    PartialStore {
        keep: u64,
        lost: bool,
    },
    /// The asynchronous operation this request starts fails.
    FailOperation,
    /// The answer will be lost (the connection dropped after the handler ran): the client
    /// will not learn what the handler did.
    AnswerLost,
    /// Lie as this fault says (one for which [`Fault::breaks_protocol`] holds). After an
    /// applied `old-item` the connection is dropped.
    Misbehave(Fault),
}

impl HandlerFault {
    /// The lie the handler is asked to tell, if any.
    pub(crate) fn misbehaviour(self) -> Option<Fault> {
        match self {
            HandlerFault::Misbehave(fault) => Some(fault),
            _ => None,
        }
    }
}

/// Response extension: the handler applied the [`HandlerFault`] it was given.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FaultApplied;

impl FaultApplied {
    /// Marks `answer` as carrying the fault its handler was given.
    pub(crate) fn mark(mut answer: Response) -> Response {
        answer.extensions_mut().insert(FaultApplied);
        answer
    }
}

/// The declared body length, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Runs `handler` for a request of `kind`, injecting whatever fault the plan has for it.
pub(crate) async fn exchange<F, Fut>(
    state: &Arc<AppState>,
    request: Request,
    kind: RequestKind,
    style: Style,
    session: Option<SessionRef>,
    handler: F,
) -> Response
where
    F: FnOnce(Request, HandlerFault) -> Fut,
    Fut: Future<Output = Response>,
{
    state.stats.request(kind);
    let connection = request
        .extensions()
        .get::<ConnectionControl>()
        .cloned()
        .unwrap_or_default();
    let body_len = content_length(request.headers()).unwrap_or(0);
    let ordinal = session.as_ref().map(|s| s.ordinal);
    let Some(fault) = state.faults.decide(kind, ordinal, body_len) else {
        return refusal_counted(state, handler(request, HandlerFault::None).await);
    };
    let upload = kind.carries_upload();
    let count = || state.stats.fault(kind, &fault);
    match fault {
        Fault::DropBeforeBody => {
            count();
            connection.drop_connection().await
        }
        Fault::DropMidBody { after_bytes } => {
            let mut body = BodyReader::new(request, &state.stats, upload);
            let mut ended = false;
            while body.read() < after_bytes {
                if !matches!(body.next().await, Ok(Some(_))) {
                    ended = true;
                    break;
                }
            }
            // A cut past the end of a shorter body is a drop after it: count what happened.
            let done = if ended { Fault::DropAfterBody } else { fault };
            state.stats.fault(kind, &done);
            connection.drop_connection().await
        }
        Fault::DropAfterBody => {
            count();
            drain(state, request, upload).await;
            connection.drop_connection().await
        }
        Fault::Status(status) => {
            count();
            drain(state, request, upload).await;
            style.server_error(status)
        }
        Fault::Throttle {
            status,
            retry_after,
        } => {
            count();
            drain(state, request, upload).await;
            style.throttled(status, retry_after, state.config.time_scale)
        }
        Fault::Transient404 => {
            count();
            drain(state, request, upload).await;
            style.expired()
        }
        Fault::ExpireSession => {
            count();
            if let Some(session) = session {
                (session.expire)();
            }
            drain(state, request, upload).await;
            style.expired()
        }
        Fault::LoseAnswer => {
            let answer = handler(request, HandlerFault::AnswerLost).await;
            if is_refusal(&answer) {
                // Nothing was done, so there is nothing to be unsure about: the refusal is
                // answered and counted as a refusal, not as a lost answer.
                return refusal_counted(state, answer);
            }
            count();
            connection.drop_connection().await
        }
        Fault::Slow { delay_ms } => {
            count();
            let answer = handler(request, HandlerFault::None).await;
            tokio::time::sleep(Duration::from_millis(delay_ms.min(MAX_SLOW_MS))).await;
            refusal_counted(state, answer)
        }
        Fault::PartialStore { keep } | Fault::PartialStoreLost { keep } => {
            let lost = matches!(fault, Fault::PartialStoreLost { .. });
            let answer = handler(request, HandlerFault::PartialStore { keep, lost }).await;
            if answer.extensions().get::<FaultApplied>().is_none() {
                return refusal_counted(state, answer);
            }
            count();
            if lost {
                connection.drop_connection().await
            } else {
                answer
            }
        }
        Fault::FailOperation => {
            let answer = handler(request, HandlerFault::FailOperation).await;
            if answer.extensions().get::<FaultApplied>().is_some() {
                count();
            }
            refusal_counted(state, answer)
        }
        Fault::PrematureItem
        | Fault::WrongSize { .. }
        | Fault::WrongHash
        | Fault::OldItem
        | Fault::SkipAhead { .. }
        | Fault::Regress
        | Fault::EmptyAccept
        | Fault::ExpiredSession
        | Fault::MalformedCreate { .. }
        | Fault::WopiOffsetJump { .. } => {
            let answer = handler(request, HandlerFault::Misbehave(fault)).await;
            if answer.extensions().get::<FaultApplied>().is_none() {
                // Refused, or nothing to lie about (a premature item on the last fragment).
                return refusal_counted(state, answer);
            }
            count();
            if fault == Fault::OldItem {
                connection.drop_connection().await
            } else {
                answer
            }
        }
    }
}

/// Answers a request the access checks refused (missing or wrong credentials, an unknown or
/// expired session) without consulting the fault plan: such a request gets no fault, is not
/// counted by fault scripts and does not move any session's fault sequence, so what a client
/// with the wrong credentials sends cannot change what happens to the rightful client. It is
/// counted as a request and as a refusal.
pub(crate) async fn refuse_before_faults(
    state: &AppState,
    request: Request,
    kind: RequestKind,
    answer: Response,
) -> Response {
    state.stats.request(kind);
    drain(state, request, kind.carries_upload()).await;
    refusal_counted(state, answer)
}

async fn drain(state: &AppState, request: Request, upload: bool) {
    discard_body(&state.stats, request, upload).await;
}

fn is_refusal(answer: &Response) -> bool {
    answer.status().is_client_error() || answer.status().is_server_error()
}

fn refusal_counted(state: &AppState, answer: Response) -> Response {
    if is_refusal(&answer) {
        state.stats.refusal(answer.status().as_u16());
    }
    answer
}
