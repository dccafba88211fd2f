//! `GET`, `DELETE` and `POST` on an upload URL, and the requests on a drive item by path: the
//! explicit commit (`PUT`) and the lookup (`GET`) a client makes to learn what is stored under a
//! name, typically after the answer to its last fragment was lost.
//!
//! Requests that race on one session are settled by its lock, not by arrival order on the
//! wire: of a commit and a `DELETE`, or of two commits, exactly one succeeds and the other
//! answers `404` (the session is gone). A `DELETE` while a fragment is still being received
//! wins: the fragment answers `404` when it ends and nothing it wrote is kept, not even if it
//! was the last. A commit that arrives while the last fragment's bytes are still being stored
//! answers `503 Service Unavailable` with `Retry-After: 1` ("busy, retry"), never `409`, which
//! clients rightly read as a name conflict.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::commit::commit_drive;
use super::drive::ConflictBehavior;
use super::path::DriveTarget;
use super::session::{GraphSession, lock};
use super::{field, read_json};
use crate::answer::{Style, graph_error, json_answer};
use crate::app::AppState;
use crate::body::BodyReader;
use crate::exchange::{HandlerFault, content_length};

/// `GET {uploadUrl}`: where the server is.
pub(crate) fn status(state: &AppState, session: &Mutex<GraphSession>) -> Response {
    let guard = lock(session);
    json_answer(
        StatusCode::OK,
        guard.status_json(state.config.graph.drive_range_form),
    )
}

/// `DELETE {uploadUrl}`: `204`, and the session is gone with its part file. A fragment still
/// being written finds the session ended when it finishes and removes what it wrote.
pub(crate) fn cancel(state: &AppState, session: &Mutex<GraphSession>) -> Response {
    if state.graph.retire(session) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        // Completed or cancelled by a request that overtook this one.
        Style::Graph.expired()
    }
}

/// `POST {uploadUrl}` with `Content-Length: 0`: commits a deferred (or conflicted) upload.
pub(crate) async fn commit(
    state: Arc<AppState>,
    session: Arc<Mutex<GraphSession>>,
    request: Request,
    fault: HandlerFault,
) -> Response {
    let declared = content_length(request.headers());
    let mut body = BodyReader::new(request, &state.stats, false);
    let read = body.drain().await.unwrap_or(0);
    match declared {
        None => graph_error(
            StatusCode::LENGTH_REQUIRED,
            "lengthRequired",
            "A commit must carry Content-Length: 0.",
        ),
        Some(len) if len > 0 || read > 0 => graph_error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "A commit has an empty body.",
        ),
        Some(_) => commit_drive(&state, &session, None, fault.misbehaviour()).await,
    }
}

/// `GET …/{parent}:/{name}:` (or `…/root:/{path}`): the drive item stored under that path
/// (`200`, the same JSON a commit answers), or `404 itemNotFound`.
pub(crate) async fn get_item(
    state: Arc<AppState>,
    request: Request,
    target: DriveTarget,
) -> Response {
    let _ = BodyReader::new(request, &state.stats, false).drain().await;
    match state.drive.at(&target) {
        Some(item) => json_answer(StatusCode::OK, item.json(state.config.graph.drive_hashes)),
        None => graph_error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        ),
    }
}

/// `GET …/items/{id}`: the drive item with that id (`200`), or `404 itemNotFound`.
pub(crate) async fn get_item_by_id(state: Arc<AppState>, request: Request, id: String) -> Response {
    let _ = BodyReader::new(request, &state.stats, false).drain().await;
    match state.drive.by_id(&id) {
        Some(item) => json_answer(StatusCode::OK, item.json(state.config.graph.drive_hashes)),
        None => graph_error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        ),
    }
}

/// `PUT …/{parent}:/{name}:` with `@microsoft.graph.sourceUrl`: commits an upload session under
/// this path (the way out of a `409`, SPEC 1.1).
pub(crate) async fn explicit_commit(
    state: Arc<AppState>,
    request: Request,
    target: DriveTarget,
    fault: HandlerFault,
) -> Response {
    let body = match read_json(&state, request, false).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let bad = |message: &str| graph_error(StatusCode::BAD_REQUEST, "invalidRequest", message);
    let Some(source) = field(&body, "@microsoft.graph.sourceUrl").and_then(Value::as_str) else {
        return bad("Only commits of upload sessions (@microsoft.graph.sourceUrl) are emulated.");
    };
    let conflict = match field(&body, "@microsoft.graph.conflictBehavior") {
        None => ConflictBehavior::Fail,
        Some(value) => match value.as_str().map(str::parse::<ConflictBehavior>) {
            Some(Ok(behavior)) => behavior,
            _ => return bad("conflictBehavior must be fail, replace or rename"),
        },
    };
    let target = match field(&body, "name").and_then(Value::as_str) {
        Some(name) if name.is_empty() || name.contains(['/', ':']) => {
            return bad("name is not a valid item name");
        }
        Some(name) => target.renamed(name),
        None => target,
    };
    let Some(session) = state.session_of_url(source) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The upload session named by sourceUrl was not found or has expired.",
        );
    };
    commit_drive(
        &state,
        &session,
        Some((target, conflict)),
        fault.misbehaviour(),
    )
    .await
}
