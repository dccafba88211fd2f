//! Graph workbook sessions (SPEC 3): creation (immediate, slow, or long-running with an
//! operation to poll), keep-alive, close, inactivity expiry, and one sample workbook call that
//! checks `workbook-session-id`.
//!
//! The emulator holds no workbooks: every item is taken to be one. A session belongs to the item
//! it was created on; naming it on another item answers `404`, as for an unknown session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::answer::{Style, graph_error, graph_error_body, json_answer, workbook_session_gone};
use crate::app::AppState;
use crate::body::BodyReader;
use crate::clock::deadline_after;
use crate::exchange::{FaultApplied, HandlerFault, SessionRef, exchange, refuse_before_faults};
use crate::faults::RequestKind;
use crate::graph::path::WorkbookOp;
use crate::graph::{field, read_json, require_bearer};
use crate::slots::SessionSlots;

/// The header that names the session on workbook requests.
static SESSION_HEADER: std::sync::LazyLock<HeaderName> = std::sync::LazyLock::new(|| {
    HeaderName::from_bytes(resumable_core::wire::workbook_headers::SESSION_HEADER.as_bytes())
        .unwrap_or_else(|_| HeaderName::from_static("x-invalid"))
});

struct WorkbookSession {
    ordinal: u64,
    item: String,
    persist: bool,
    idle: Duration,
    expires_at: Instant,
}

struct Operation {
    item: String,
    persist: bool,
    ready_at: Instant,
    polled: bool,
    fails: bool,
    /// The session, once the operation has been seen to succeed.
    session: Option<String>,
}

/// How long (service time) an operation can still be polled after it finished; afterwards the
/// sweep forgets it and a poll answers `404`. Generous next to the documented polling interval
/// (never more than 4 minutes apart).
const OPERATION_RETENTION: Duration = Duration::from_secs(60 * 60);

/// The workbook sessions and creation operations; each session holds one of the emulator's
/// session slots.
pub(crate) struct WorkbookRegistry {
    sessions: Mutex<HashMap<String, WorkbookSession>>,
    operations: Mutex<HashMap<String, Operation>>,
    slots: Arc<SessionSlots>,
}

impl WorkbookRegistry {
    pub(crate) fn new(slots: Arc<SessionSlots>) -> Self {
        WorkbookRegistry {
            sessions: Mutex::new(HashMap::new()),
            operations: Mutex::new(HashMap::new()),
            slots,
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, WorkbookSession>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn operations(&self) -> MutexGuard<'_, HashMap<String, Operation>> {
        self.operations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live session `id` on `item`, forgetting it if it expired.
    fn live(&self, id: &str, item: &str) -> Option<(u64, bool)> {
        let mut sessions = self.sessions();
        let session = sessions.get(id)?;
        if Instant::now() >= session.expires_at {
            sessions.remove(id);
            self.slots.release();
            return None;
        }
        (session.item == item).then_some((session.ordinal, session.persist))
    }

    /// Pushes the inactivity expiry of `id` forward; `false` if it is gone.
    fn touch(&self, id: &str) -> bool {
        match self.sessions().get_mut(id) {
            Some(session) if Instant::now() < session.expires_at => {
                session.expires_at = deadline_after(session.idle);
                true
            }
            _ => false,
        }
    }

    fn remove(&self, id: &str) {
        if self.sessions().remove(id).is_some() {
            self.slots.release();
        }
    }

    /// Forgets every session that expired by `now`, and operations finished more than
    /// `retention` (real time) ago; answers how many sessions.
    pub(crate) fn sweep(&self, now: Instant, retention: Duration) -> usize {
        let swept = {
            let mut sessions = self.sessions();
            let before = sessions.len();
            sessions.retain(|_, session| now < session.expires_at);
            before - sessions.len()
        };
        for _ in 0..swept {
            self.slots.release();
        }
        self.operations().retain(|_, operation| {
            operation
                .ready_at
                .checked_add(retention)
                .is_none_or(|forget_at| now < forget_at)
        });
        swept
    }

    /// When the first live session expires.
    pub(crate) fn earliest_expiry(&self) -> Option<Instant> {
        self.sessions().values().map(|s| s.expires_at).min()
    }

    /// How long finished operations are kept, in real time.
    pub(crate) fn retention(scale: crate::TimeScale) -> Duration {
        scale.real(OPERATION_RETENTION)
    }
}

/// Opens a session on `item`; `None` when every session slot is taken.
fn open_session(state: &AppState, item: &str, persist: bool) -> Option<String> {
    if !state.slots.acquire() {
        return None;
    }
    let workbook = &state.config.workbook;
    let idle = state.config.time_scale.real(if persist {
        workbook.persistent_idle
    } else {
        workbook.non_persistent_idle
    });
    let id = state.ids.token();
    state.workbook.sessions().insert(
        id.clone(),
        WorkbookSession {
            ordinal: state.ids.ordinal(),
            item: item.to_owned(),
            persist,
            idle,
            expires_at: deadline_after(idle),
        },
    );
    state.stats.session_created();
    Some(id)
}

/// Routes a `…/workbook/…` request.
pub(crate) async fn dispatch(
    state: Arc<AppState>,
    request: Request,
    method: Method,
    item: String,
    op: WorkbookOp,
) -> Response {
    let kind = match (&method, &op) {
        (&Method::POST, WorkbookOp::CreateSession) => RequestKind::WorkbookCreate,
        (&Method::GET, WorkbookOp::Operation { .. }) => RequestKind::WorkbookOperation,
        (&Method::GET, WorkbookOp::SessionInfo { .. }) => RequestKind::WorkbookSessionInfo,
        (&Method::POST, WorkbookOp::RefreshSession) => RequestKind::WorkbookRefresh,
        (&Method::POST, WorkbookOp::CloseSession) => RequestKind::WorkbookClose,
        (&Method::GET, WorkbookOp::Worksheets) => RequestKind::WorkbookCall,
        _ => RequestKind::Other,
    };
    let session_id = request
        .headers()
        .get(&*SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Err(refusal) = require_bearer(&state, request.headers()) {
        return refuse_before_faults(&state, request, kind, refusal).await;
    }
    let session_ref = match &session_id {
        Some(id) if kind != RequestKind::Other => match state.workbook.live(id, &item) {
            Some((ordinal, _)) => {
                let (state, id) = (state.clone(), id.clone());
                Some(SessionRef {
                    ordinal,
                    expire: Box::new(move || state.workbook.remove(&id)),
                })
            }
            // A session that is gone (or never was) is refused like wrong credentials.
            None => {
                return refuse_before_faults(&state, request, kind, workbook_session_gone()).await;
            }
        },
        _ => None,
    };
    exchange(
        &state.clone(),
        request,
        kind,
        Style::Workbook,
        session_ref,
        |request, fault| async move {
            match op {
                _ if kind == RequestKind::Other => graph_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "invalidRequest",
                    "The emulator does not serve this workbook request.",
                ),
                WorkbookOp::CreateSession => create(state, request, item, fault).await,
                WorkbookOp::Operation { id } => poll(&state, &item, &id),
                WorkbookOp::SessionInfo { key } => match state.workbook.live(&key, &item) {
                    Some((_, persist)) => json_answer(
                        StatusCode::OK,
                        json!({ "id": key, "persistChanges": persist }),
                    ),
                    None => workbook_session_gone(),
                },
                WorkbookOp::RefreshSession | WorkbookOp::CloseSession => {
                    let _ = BodyReader::new(request, &state.stats, false).drain().await;
                    let Some(id) = session_id else {
                        return graph_error(
                            StatusCode::BAD_REQUEST,
                            "invalidRequest",
                            "workbook-session-id is required.",
                        );
                    };
                    if state.workbook.live(&id, &item).is_none() || !state.workbook.touch(&id) {
                        return workbook_session_gone();
                    }
                    if kind == RequestKind::WorkbookClose {
                        state.workbook.remove(&id);
                    }
                    StatusCode::NO_CONTENT.into_response()
                }
                WorkbookOp::Worksheets => {
                    if let Some(id) = session_id
                        && (state.workbook.live(&id, &item).is_none() || !state.workbook.touch(&id))
                    {
                        return workbook_session_gone();
                    }
                    json_answer(
                        StatusCode::OK,
                        json!({ "value": [{
                            "id": "{00000000-0001-0000-0000-000000000000}",
                            "name": "Sheet1",
                            "position": 0,
                            "visibility": "Visible",
                        }]}),
                    )
                }
            }
        },
    )
    .await
}

/// `POST …/workbook/createSession`: `201` now, `201` after the creation delay, or `202` with an
/// operation when asked to respond asynchronously and creation is slow (or always, if configured).
async fn create(
    state: Arc<AppState>,
    request: Request,
    item: String,
    fault: HandlerFault,
) -> Response {
    let respond_async = request
        .headers()
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"));
    let body = match read_json(&state, request, false).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let Some(persist) = field(&body, "persistChanges").and_then(Value::as_bool) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "persistChanges (a boolean) is required.",
        );
    };
    let config = &state.config.workbook;
    let delay = state.config.time_scale.real(config.creation_delay);
    let long = config.creation_delay >= config.async_threshold;
    if config.always_async || (respond_async && long) {
        let id = state.ids.token();
        let fails = fault == HandlerFault::FailOperation;
        state.workbook.operations().insert(
            id.clone(),
            Operation {
                item: item.clone(),
                persist,
                ready_at: deadline_after(delay),
                polled: false,
                fails,
                session: None,
            },
        );
        let location = format!("{}/v1.0/{item}/workbook/operations/{id}", state.base_url);
        let mut answer = StatusCode::ACCEPTED.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            answer.headers_mut().insert(header::LOCATION, value);
        }
        if fails {
            answer.extensions_mut().insert(FaultApplied);
        }
        return answer;
    }
    tokio::time::sleep(delay).await;
    let Some(id) = open_session(&state, &item, persist) else {
        return state.sessions_exhausted(Style::Workbook);
    };
    json_answer(
        StatusCode::CREATED,
        json!({ "id": id, "persistChanges": persist }),
    )
}

/// `GET …/workbook/operations/{id}`: always `200`, the outcome is in the body (SPEC 3).
fn poll(state: &AppState, item: &str, id: &str) -> Response {
    let mut operations = state.workbook.operations();
    let Some(operation) = operations.get_mut(id).filter(|op| op.item == item) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The operation was not found.",
        );
    };
    let now = Instant::now();
    let body = if now >= operation.ready_at {
        if operation.fails {
            let error = graph_error_body(
                "internalServerError",
                "The workbook session could not be created.",
                Some("internalServerError"),
            );
            json!({ "id": id, "status": "failed", "error": error["error"] })
        } else {
            let session = match &operation.session {
                Some(session) => session.clone(),
                None => {
                    let Some(session) = open_session(state, item, operation.persist) else {
                        // The operation stays pending; the client polls again later.
                        drop(operations);
                        return state.sessions_exhausted(Style::Workbook);
                    };
                    operation.session = Some(session.clone());
                    session
                }
            };
            json!({
                "id": id,
                "status": "succeeded",
                "resourceLocation": format!(
                    "{}/v1.0/{item}/workbook/sessionInfoResource(key='{session}')",
                    state.base_url
                ),
            })
        }
    } else if !operation.polled {
        json!({ "id": id, "status": "notStarted" })
    } else {
        json!({ "id": id, "status": "running" })
    };
    operation.polled = true;
    json_answer(StatusCode::OK, body)
}
