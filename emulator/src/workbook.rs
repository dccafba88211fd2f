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
use crate::exchange::{FaultApplied, HandlerFault, SessionRef, exchange};
use crate::faults::RequestKind;
use crate::graph::path::WorkbookOp;
use crate::graph::{field, read_json, require_bearer};

/// The header that names the session on workbook requests.
const SESSION_HEADER: HeaderName = HeaderName::from_static("workbook-session-id");

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

/// The workbook sessions and creation operations.
#[derive(Default)]
pub(crate) struct WorkbookRegistry {
    sessions: Mutex<HashMap<String, WorkbookSession>>,
    operations: Mutex<HashMap<String, Operation>>,
}

impl WorkbookRegistry {
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
            return None;
        }
        (session.item == item).then_some((session.ordinal, session.persist))
    }

    /// Pushes the inactivity expiry of `id` forward; `false` if it is gone.
    fn touch(&self, id: &str) -> bool {
        match self.sessions().get_mut(id) {
            Some(session) if Instant::now() < session.expires_at => {
                session.expires_at = Instant::now() + session.idle;
                true
            }
            _ => false,
        }
    }

    fn remove(&self, id: &str) {
        self.sessions().remove(id);
    }
}

fn open_session(state: &AppState, item: &str, persist: bool) -> String {
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
            expires_at: Instant::now() + idle,
        },
    );
    state.stats.session_created();
    id
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
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let session_ref = session_id.as_ref().and_then(|id| {
        let (ordinal, _) = state.workbook.live(id, &item)?;
        let (state, id) = (state.clone(), id.clone());
        Some(SessionRef {
            ordinal,
            expire: Box::new(move || state.workbook.remove(&id)),
        })
    });
    exchange(
        &state.clone(),
        request,
        kind,
        Style::Workbook,
        session_ref,
        |request, fault| async move {
            if let Err(refusal) = require_bearer(&state, request.headers()) {
                return refusal;
            }
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
                    let _ = BodyReader::new(request.into_body(), &state.stats, false)
                        .drain()
                        .await;
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
                ready_at: Instant::now() + delay,
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
    let id = open_session(&state, &item, persist);
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
                    let session = open_session(state, item, operation.persist);
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
