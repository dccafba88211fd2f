//! `createUploadSession` for drive items, print documents and mail attachments.
//!
//! Every create needs `Authorization: Bearer …` (`401`). Bodies are JSON objects whose property
//! names match in any casing; a drive body may be empty. A declared size of 0 is refused (`400`:
//! empty files cannot use a session), and so are sizes above the largest file of each kind
//! (`400`; see [`Limits`](crate::Limits)); a drive `fileSize` above the quota answers `507`.
//! Mail attachments under 3 MB are accepted: the service
//! documents sessions "from 3 MB" as advice for when to use one, not as a refusal; above
//! [`Limits::mail_file_max`](crate::Limits::mail_file_max) they are refused.
//!
//! A create that passes every check may still be answered with a lie: `expired-session` (an
//! expiry in the past) or `malformed-create` (no session, a body that is not JSON or has no
//! `uploadUrl`); see [`Fault`].

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use resumable_core::time::UnixTime;
use serde_json::Value;

use super::drive::{ConflictBehavior, DriveItem};
use super::path::DriveTarget;
use super::session::{Content, GraphSession, Variant};
use super::{field, range_set_for, read_json};
use crate::answer::{Style, graph_error, json_answer};
use crate::app::AppState;
use crate::clock::{deadline_after, wall_after, wall_now};
use crate::exchange::{FaultApplied, HandlerFault};
use crate::faults::Fault;

/// Where a drive upload goes, before the request body is read.
pub(crate) enum DriveCreate {
    /// A new or existing item by path.
    Path(DriveTarget),
    /// An existing item by id (`items/{id}/createUploadSession`): its content is replaced.
    Replace(String),
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "invalidRequest", message)
}

/// `POST …:/createUploadSession` for a drive item.
pub(crate) async fn drive(
    state: Arc<AppState>,
    request: Request,
    place: DriveCreate,
    fault: HandlerFault,
) -> Response {
    let headers = request.headers().clone();
    let body = match read_json(&state, request, true).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let item = field(&body, "item");
    let declared_conflict = match item.and_then(|i| field(i, "@microsoft.graph.conflictBehavior")) {
        None => None,
        Some(Value::String(text)) => match text.parse::<ConflictBehavior>() {
            Ok(behavior) => Some(behavior),
            Err(()) => return bad_request("conflictBehavior must be fail, replace or rename"),
        },
        Some(_) => return bad_request("conflictBehavior must be a string"),
    };
    let file_size = match item.and_then(|i| field(i, "fileSize")) {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(size) => Some(size),
            None => return bad_request("fileSize must be a non-negative integer"),
        },
    };
    let defer_commit = match field(&body, "deferCommit") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(defer)) => *defer,
        Some(_) => return bad_request("deferCommit must be a boolean"),
    };
    if file_size == Some(0) {
        return bad_request("An empty file cannot be uploaded with an upload session.");
    }
    if let Some(size) = file_size
        && let Err(refusal) = check_drive_size(&state, size)
    {
        return refusal;
    }
    let (target, conflict) = match place {
        DriveCreate::Path(target) => (target, declared_conflict.unwrap_or_default()),
        DriveCreate::Replace(id) => match state.drive.by_id(&id) {
            Some(item) => (item.target, ConflictBehavior::Replace),
            None => {
                return graph_error(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    "The resource could not be found.",
                );
            }
        },
    };
    if let Err(refusal) = check_preconditions(&headers, state.drive.at(&target).as_ref()) {
        return refusal;
    }
    let variant = Variant::Drive {
        target,
        conflict,
        defer_commit,
    };
    let content = Content::Sequential(Some(state.storage.sequential()));
    open(&state, variant, file_size, content, StatusCode::OK, fault)
}

/// A drive file's size against the largest file (`400`) and the quota (`507`).
pub(crate) fn check_drive_size(state: &AppState, size: u64) -> Result<(), Response> {
    let limits = &state.config.limits;
    if size > limits.drive_file_max {
        return Err(bad_request(
            "The file is larger than the largest file the drive stores.",
        ));
    }
    if size > limits.drive_quota {
        return Err(graph_error(
            StatusCode::INSUFFICIENT_STORAGE,
            "quotaLimitReached",
            "Insufficient space available.",
        ));
    }
    Ok(())
}

/// `if-match` / `if-none-match` on the target item: a failed condition answers `412`.
pub(crate) fn check_preconditions(
    headers: &HeaderMap,
    existing: Option<&DriveItem>,
) -> Result<(), Response> {
    let failed = || {
        graph_error(
            StatusCode::PRECONDITION_FAILED,
            "preconditionFailed",
            "The precondition given in the request failed.",
        )
    };
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let value = value.to_str().unwrap_or("").trim();
        let matches = existing.is_some_and(|item| value == "*" || value == item.etag());
        if matches {
            return Err(failed());
        }
    }
    if let Some(value) = headers.get(header::IF_MATCH) {
        let value = value.to_str().unwrap_or("").trim();
        let matches = existing.is_some_and(|item| value == "*" || value == item.etag());
        if !matches {
            return Err(failed());
        }
    }
    Ok(())
}

/// `POST print/…/documents/{d}/createUploadSession`.
pub(crate) async fn print(
    state: Arc<AppState>,
    request: Request,
    document: String,
    fault: HandlerFault,
) -> Response {
    let body = match read_json(&state, request, false).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let properties = field(&body, "properties");
    let size = match properties.and_then(|p| field(p, "size")).map(Value::as_u64) {
        Some(Some(size)) if size > 0 => size,
        Some(Some(_)) => {
            return bad_request("An empty document cannot be uploaded with an upload session.");
        }
        _ => return bad_request("properties.size is required"),
    };
    if size > state.config.limits.print_file_max {
        return bad_request("properties.size is larger than the largest document accepted.");
    }
    let text = |name: &str| {
        properties
            .and_then(|p| field(p, name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (name, content_type) = (text("documentName"), text("contentType"));
    let content = Content::Positional {
        sink: Some(state.storage.positional()),
        missing: range_set_for(size),
        in_flight: Vec::new(),
    };
    open(
        &state,
        Variant::Print {
            document,
            name,
            content_type,
        },
        Some(size),
        content,
        StatusCode::OK,
        fault,
    )
}

/// `POST …/messages/{m}/attachments/createUploadSession`.
pub(crate) async fn mail(
    state: Arc<AppState>,
    request: Request,
    message: String,
    fault: HandlerFault,
) -> Response {
    let body = match read_json(&state, request, false).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let Some(attachment) = field(&body, "AttachmentItem") else {
        return bad_request("AttachmentItem is required");
    };
    match field(attachment, "attachmentType").and_then(Value::as_str) {
        Some(kind) if kind.eq_ignore_ascii_case("file") => {}
        _ => return bad_request("AttachmentItem.attachmentType must be file"),
    }
    let name = match field(attachment, "name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => return bad_request("AttachmentItem.name is required"),
    };
    let size = match field(attachment, "size").map(Value::as_u64) {
        Some(Some(size)) if size > 0 => size,
        Some(Some(_)) => {
            return bad_request("An empty attachment cannot be uploaded with an upload session.");
        }
        _ => return bad_request("AttachmentItem.size is required"),
    };
    if size > state.config.limits.mail_file_max {
        return bad_request(&format!(
            "The attachment is larger than the maximum of {} bytes.",
            state.config.limits.mail_file_max
        ));
    }
    let content = Content::Sequential(Some(state.storage.sequential()));
    open(
        &state,
        Variant::Mail { message, name },
        Some(size),
        content,
        StatusCode::CREATED,
        fault,
    )
}

/// Registers the session and answers its creation, or `503` when every session slot is taken.
fn open(
    state: &AppState,
    variant: Variant,
    total: Option<u64>,
    content: Content,
    status: StatusCode,
    fault: HandlerFault,
) -> Response {
    if !state.slots.acquire() {
        return state.sessions_exhausted(Style::Graph);
    }
    if let Some(Fault::MalformedCreate { no_url }) = fault.misbehaviour() {
        // Nothing is created: the slot goes back, and the sink, which has written nothing,
        // has no part file to remove.
        state.slots.release();
        let lifetime = state
            .config
            .time_scale
            .real(state.config.graph.session_lifetime);
        return FaultApplied::mark(malformed_created(status, no_url, wall_after(lifetime)));
    }
    let lifetime = state
        .config
        .time_scale
        .real(state.config.graph.session_lifetime);
    let part = match &content {
        Content::Sequential(Some(sink)) => sink.part_path().map(PathBuf::from),
        Content::Positional {
            sink: Some(sink), ..
        } => sink.part_path().map(PathBuf::from),
        _ => None,
    };
    let session = GraphSession {
        ordinal: state.ids.ordinal(),
        id: state.ids.token(),
        token: state.ids.token(),
        variant,
        total,
        position: 0,
        content,
        part,
        lifetime,
        created_wall: wall_now(),
        expires_at: deadline_after(lifetime),
        expires_wall: wall_after(lifetime),
        ended: false,
    };
    let url = state.upload_url(&session);
    let mut body = session.created_json(&url, state.config.graph.drive_range_form);
    state.graph.insert(session);
    state.stats.session_created();
    if fault.misbehaviour() == Some(Fault::ExpiredSession) {
        // A server whose clock is an hour behind: the session lives on regardless.
        let past = UnixTime::from_millis(wall_now().as_millis().saturating_sub(3_600_000));
        body["expirationDateTime"] = Value::from(past.to_string());
        return FaultApplied::mark(json_answer(status, body));
    }
    json_answer(status, body)
}

/// The answer to a create that `malformed-create` strikes: a body that claims to be JSON and
/// is not (an HTML page, as a proxy in the way might send), or a session without `uploadUrl`.
fn malformed_created(status: StatusCode, no_url: bool, expiry: UnixTime) -> Response {
    if no_url {
        return json_answer(
            status,
            serde_json::json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession",
                "expirationDateTime": expiry.to_string(),
                "nextExpectedRanges": ["0-"],
            }),
        );
    }
    let page = "<html><head><title>Upload session</title></head><body>created</body></html>";
    (status, [(header::CONTENT_TYPE, "application/json")], page).into_response()
}

pub(crate) fn storage_failure(error: &std::io::Error) -> Response {
    graph_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
        &format!("The emulator could not store the upload: {error}"),
    )
}
