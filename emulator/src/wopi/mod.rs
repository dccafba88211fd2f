//! The WOPI host (SPEC 2): upload sessions (`CREATE_UPLOAD_SESSION`, `UPDATE_UPLOAD_SESSION`),
//! `PUT_CHUNKED_FILE` commits, the `LOCK`/`UNLOCK` operations commits are checked against, and
//! `CheckFileInfo` (`GET /wopi/files/{id}`), which tells a client the committed size, version
//! and sequence number.
//!
//! Choices where SPEC leaves room, written down here:
//!
//! - Every file id exists unless [`WopiConfig::known_files`](crate::WopiConfig::known_files)
//!   lists the ones that do; others answer `404`.
//! - Sequence numbers: a file never committed has sequence number 0 and accepts any
//!   `X-WOPI-SequenceNumber` above 0; afterwards the request must carry the host's number
//!   (else `412` with the host's number), and a commit answers `max(host, request) + 1`.
//! - A missing `Content-Length` on an update answers `411`; a length that differs from
//!   `X-WOPI-ContentRangeLength` answers `400`.

mod commit;
mod host;
mod reader;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use resumable_core::wopi::{BodyKind, DecoderConfig};
use serde_json::json;
use tokio::time::Instant;

pub(crate) use self::host::{WopiHost, WopiSession, lock};
use self::reader::{ChunkStore, FrameReader};
use crate::answer::{Style, json_answer, wopi_failure};
use crate::app::AppState;
use crate::body::{BodyReader, discard_body};
use crate::clock::deadline_after;
use crate::exchange::{
    FaultApplied, HandlerFault, SessionRef, content_length, exchange, refuse_before_faults,
};
use crate::faults::{Fault, RequestKind};
use crate::graph::query_value;
use resumable_core::wire::wopi_headers as names;
use std::sync::LazyLock;

/// A header name as the core's wire layer spells it (the one place WOPI names are written).
fn wopi_name(name: &'static str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|_| HeaderName::from_static("x-invalid"))
}

static OVERRIDE: LazyLock<HeaderName> = LazyLock::new(|| wopi_name(names::OVERRIDE));
static SESSION_TOKEN: LazyLock<HeaderName> = LazyLock::new(|| wopi_name(names::SESSION_TOKEN));
static RANGE_OFFSET: LazyLock<HeaderName> = LazyLock::new(|| wopi_name(names::RANGE_OFFSET));
static RANGE_LENGTH: LazyLock<HeaderName> = LazyLock::new(|| wopi_name(names::RANGE_LENGTH));
static CURRENT_OFFSET: LazyLock<HeaderName> = LazyLock::new(|| wopi_name(names::CURRENT_OFFSET));
pub(crate) static SEQUENCE_NUMBER: LazyLock<HeaderName> =
    LazyLock::new(|| wopi_name(names::SEQUENCE_NUMBER));
pub(crate) static ITEM_VERSION: LazyLock<HeaderName> =
    LazyLock::new(|| wopi_name(names::ITEM_VERSION));
pub(crate) static LOCK: LazyLock<HeaderName> = LazyLock::new(|| wopi_name(names::LOCK));
pub(crate) static COAUTH_LOCK: LazyLock<HeaderName> =
    LazyLock::new(|| wopi_name(names::COAUTH_LOCK_ID));
pub(crate) static CONFLICTING_MECHANISM: LazyLock<HeaderName> =
    LazyLock::new(|| wopi_name(names::CONFLICTING_MECHANISM));
pub(crate) static FAILURE_REASON: LazyLock<HeaderName> =
    LazyLock::new(|| wopi_name(names::FAILURE_REASON));

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Room for frame headers in a stream of at most `max_file_size` payload bytes: a 1024th of it
/// and 1 MiB more (each chunk frame costs 32 bytes, so that is a frame per 32 KiB and 32 768
/// more).
const FRAME_ROOM: u64 = 1024 * 1024;

/// The longest upload session stream (or inline chunk run) a host with `max_file_size` takes.
pub(crate) fn stream_limit(max_file_size: u64) -> u64 {
    max_file_size
        .saturating_add(max_file_size / 1024)
        .saturating_add(FRAME_ROOM)
}

/// `413`: the upload would make a file larger than the host takes.
pub(crate) fn too_large() -> Response {
    wopi_failure(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the file is larger than this host accepts",
    )
}

/// `410 Gone`: the upload session token is unknown or expired.
pub(crate) fn session_gone() -> Response {
    wopi_failure(
        StatusCode::GONE,
        "the upload session is unknown or has expired",
    )
}

fn bad(reason: &str) -> Response {
    wopi_failure(StatusCode::BAD_REQUEST, reason)
}

/// `access_token` must be present (and be the configured one), and the file must exist: checked
/// before the fault plan sees the request.
fn check_access(state: &AppState, request: &Request, file_id: &str) -> Result<(), Response> {
    let token = query_value(request.uri().query().unwrap_or(""), "access_token");
    let accepted = match (&state.config.wopi.access_token, token.as_deref()) {
        (_, None | Some("")) => false,
        (None, Some(_)) => true,
        (Some(expected), Some(given)) => expected.expose() == given,
    };
    if !accepted {
        return Err(wopi_failure(
            StatusCode::UNAUTHORIZED,
            "access_token is missing or invalid",
        ));
    }
    let known = match &state.config.wopi.known_files {
        Some(files) => files.iter().any(|f| f == file_id),
        None => true,
    };
    if !known {
        return Err(wopi_failure(StatusCode::NOT_FOUND, "unknown file"));
    }
    Ok(())
}

async fn drain(state: &AppState, request: Request, upload: bool) {
    discard_body(&state.stats, request, upload).await;
}

/// `POST /wopi/files/{id}`: the `X-WOPI-Override` chooses the operation.
pub(crate) async fn files(
    State(state): State<Arc<AppState>>,
    Path(file_id): Path<String>,
    request: Request,
) -> Response {
    let operation = header(request.headers(), &OVERRIDE).map(str::to_owned);
    let kind = match (request.method(), operation.as_deref()) {
        (&Method::POST, Some(names::CREATE_UPLOAD_SESSION)) => RequestKind::WopiCreate,
        (&Method::POST, Some(names::UPDATE_UPLOAD_SESSION)) => RequestKind::WopiUpdate,
        (&Method::GET, None) => RequestKind::WopiCheckFileInfo,
        _ => RequestKind::Other,
    };
    if let Err(refusal) = check_access(&state, &request, &file_id) {
        return refuse_before_faults(&state, request, kind, refusal).await;
    }
    let named = match kind {
        RequestKind::WopiUpdate => header(request.headers(), &SESSION_TOKEN)
            .filter(|token| !token.is_empty())
            .map(str::to_owned),
        _ => None,
    };
    let session = match named {
        Some(token) => match state.wopi.session(&token, &file_id) {
            Some(session) => Some((token, session)),
            // An unknown or expired session is refused like wrong credentials: before faults.
            None => return refuse_before_faults(&state, request, kind, session_gone()).await,
        },
        None => None,
    };
    let session_ref = session.as_ref().map(|(token, session)| {
        let (state, token) = (state.clone(), token.clone());
        SessionRef {
            ordinal: lock(session).ordinal,
            expire: Box::new(move || state.wopi.discard(&token)),
        }
    });
    let style = Style::Wopi;
    exchange(
        &state.clone(),
        request,
        kind,
        style,
        session_ref,
        |request, fault| async move {
            match (kind, operation.as_deref()) {
                (RequestKind::WopiCreate, _) => {
                    drain(&state, request, false).await;
                    create_session(&state, &file_id, fault).await
                }
                (RequestKind::WopiUpdate, _) => {
                    update_session(&state, request, &file_id, session.map(|(_, s)| s), fault).await
                }
                (RequestKind::WopiCheckFileInfo, _) => {
                    drain(&state, request, false).await;
                    check_file_info(&state, &file_id)
                }
                (_, Some("LOCK" | "UNLOCK" | "REFRESH_LOCK"))
                    if request.method() == Method::POST =>
                {
                    let answer =
                        change_lock(&state, request.headers(), &file_id, operation.as_deref());
                    drain(&state, request, false).await;
                    answer
                }
                (_, None) => {
                    drain(&state, request, false).await;
                    bad("X-WOPI-Override is required")
                }
                _ => {
                    drain(&state, request, false).await;
                    wopi_failure(StatusCode::NOT_IMPLEMENTED, "operation not emulated")
                }
            }
        },
    )
    .await
}

/// `POST /wopi/files/{id}/contents` with `PUT_CHUNKED_FILE`.
pub(crate) async fn contents(
    State(state): State<Arc<AppState>>,
    Path(file_id): Path<String>,
    request: Request,
) -> Response {
    let operation = header(request.headers(), &OVERRIDE).map(str::to_owned);
    let kind = match (request.method(), operation.as_deref()) {
        (&Method::POST, Some(names::PUT_CHUNKED_FILE)) => RequestKind::WopiCommit,
        _ => RequestKind::Other,
    };
    if let Err(refusal) = check_access(&state, &request, &file_id) {
        return refuse_before_faults(&state, request, kind, refusal).await;
    }
    exchange(
        &state.clone(),
        request,
        kind,
        Style::Wopi,
        None,
        |request, _| async move {
            if kind == RequestKind::WopiCommit {
                return commit::put_chunked_file(&state, request, &file_id).await;
            }
            drain(&state, request, false).await;
            match operation {
                None => bad("X-WOPI-Override is required"),
                Some(_) => wopi_failure(StatusCode::NOT_IMPLEMENTED, "operation not emulated"),
            }
        },
    )
    .await
}

fn decoder_config(state: &AppState, body: BodyKind) -> DecoderConfig {
    DecoderConfig::new(body).with_max_payload_len(state.config.wopi.max_file_size)
}

/// `CheckFileInfo`: the file's name, the size, hash and version of its last committed content,
/// and what the host supports. The required properties (`BaseFileName`, `OwnerId`, `Size`,
/// `UserId`, `Version`), `SHA256` (the content's SHA-256 in base64, as WOPI hosts write it: what
/// a client checks a commit against), the capabilities a client of upload sessions looks at,
/// and `SequenceNumber`, the emulator's addition: the number the next `PUT_CHUNKED_FILE` must
/// carry (0 before the first commit: any number above 0 is accepted then).
fn check_file_info(state: &AppState, file_id: &str) -> Response {
    let file = state.wopi.files().get(file_id).cloned().unwrap_or_default();
    let mut answer = json_answer(
        StatusCode::OK,
        json!({
            "BaseFileName": file_id,
            "OwnerId": "emulator-owner",
            "UserId": "emulator-user",
            "Size": file.size,
            "SHA256": file.sha256_text(),
            "Version": file.version_text(),
            "SequenceNumber": file.sequence,
            "SupportsUpdate": true,
            "UserCanWrite": true,
            "SupportsLocks": true,
            "SupportsGetLock": false,
            "SupportsExtendedLockLength": true,
        }),
    );
    if let Ok(version) = HeaderValue::from_str(&file.version_text()) {
        answer.headers_mut().insert(ITEM_VERSION.clone(), version);
    }
    answer
}

/// `CREATE_UPLOAD_SESSION`: `200 {"UploadSessionToken": …}`, or `501` without upload sessions.
/// Under `malformed-create` nothing is created and the `200` carries a body that is not JSON,
/// or (`malformed-create:no-url`) JSON without `UploadSessionToken`.
async fn create_session(state: &AppState, file_id: &str, fault: HandlerFault) -> Response {
    if !state.config.wopi.upload_sessions {
        return wopi_failure(
            StatusCode::NOT_IMPLEMENTED,
            "this host does not support upload sessions",
        );
    }
    if !state.slots.acquire() {
        return state.sessions_exhausted(Style::Wopi);
    }
    if let Some(Fault::MalformedCreate { no_url }) = fault.misbehaviour() {
        state.slots.release();
        let answer = if no_url {
            json_answer(StatusCode::OK, json!({}))
        } else {
            (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                "<html><body>upload session created</body></html>",
            )
                .into_response()
        };
        return FaultApplied::mark(answer);
    }
    let store = ChunkStore::new(&state.storage);
    let part = store.sink.part_path().map(PathBuf::from);
    let idle = state.config.time_scale.real(state.config.wopi.session_idle);
    let token = state.ids.token();
    let session = WopiSession {
        ordinal: state.ids.ordinal(),
        file_id: file_id.to_owned(),
        offset: 0,
        confirmed: 0,
        stream: Some((
            FrameReader::new(decoder_config(state, BodyKind::UploadSessionStream)),
            store,
        )),
        part,
        idle,
        expires_at: deadline_after(idle),
        ended: false,
    };
    state
        .wopi
        .sessions()
        .insert(token.clone(), Arc::new(Mutex::new(session)));
    state.stats.session_created();
    json_answer(StatusCode::OK, json!({ "UploadSessionToken": token }))
}

async fn refuse(body: &mut BodyReader<'_>, answer: Response) -> Response {
    let _ = body.drain().await;
    answer
}

fn with_offset(mut answer: Response, offset: u64) -> Response {
    answer
        .headers_mut()
        .insert(CURRENT_OFFSET.clone(), HeaderValue::from(offset));
    answer
}

/// `UPDATE_UPLOAD_SESSION`: the next byte range of the session stream, in order.
async fn update_session(
    state: &AppState,
    request: Request,
    file_id: &str,
    session: Option<Arc<Mutex<WopiSession>>>,
    fault: HandlerFault,
) -> Response {
    let headers = request.headers().clone();
    let mut body = BodyReader::new(request, &state.stats, true);
    if !state.config.wopi.upload_sessions {
        return refuse(
            &mut body,
            wopi_failure(StatusCode::NOT_IMPLEMENTED, "no upload sessions"),
        )
        .await;
    }
    if header(&headers, &SESSION_TOKEN).is_none_or(str::is_empty) {
        return refuse(&mut body, bad("X-WOPI-UploadSessionToken is required")).await;
    }
    let Some(session) = session.filter(|s| !lock(s).is_gone(Instant::now())) else {
        return refuse(&mut body, session_gone()).await;
    };
    let number = |name: &HeaderName| header(&headers, name).and_then(|v| v.parse::<i64>().ok());
    let (Some(offset), Some(length)) = (number(&RANGE_OFFSET), number(&RANGE_LENGTH)) else {
        return refuse(
            &mut body,
            bad("X-WOPI-ContentRangeOffset and X-WOPI-ContentRangeLength are required integers"),
        )
        .await;
    };
    let (Ok(offset), Ok(length)) = (u64::try_from(offset), u64::try_from(length)) else {
        return refuse(&mut body, bad("offsets and lengths are not negative")).await;
    };
    if offset.saturating_add(length) > stream_limit(state.config.wopi.max_file_size) {
        return refuse(&mut body, too_large()).await;
    }
    let Some(declared) = content_length(&headers) else {
        return refuse(
            &mut body,
            wopi_failure(StatusCode::LENGTH_REQUIRED, "Content-Length is required"),
        )
        .await;
    };
    if declared != length {
        return refuse(
            &mut body,
            bad("the body length differs from X-WOPI-ContentRangeLength"),
        )
        .await;
    }
    let answer_lost = matches!(
        fault,
        HandlerFault::AnswerLost | HandlerFault::PartialStore { lost: true, .. }
    );
    let taken = {
        let mut guard = lock(&session);
        let resent = guard.confirmed.saturating_sub(offset).min(length);
        if resent > 0 {
            state.stats.wopi_confirmed_resent(resent);
        }
        if offset > guard.offset {
            state.stats.wopi_update_out_of_order();
        }
        if offset != guard.offset {
            // The refusal carries the host's offset: the client learns it.
            if !answer_lost {
                guard.confirmed = guard.offset;
            }
            Err((
                guard.offset,
                "the offset is not the session's current offset",
            ))
        } else {
            guard.stream.take().ok_or((
                guard.offset,
                "another update of this session is in progress",
            ))
        }
    };
    let (mut reader, mut store) = match taken {
        Ok(stream) => stream,
        Err((current, reason)) => {
            let overlap = current.saturating_sub(offset).min(length);
            state.stats.received_twice(overlap);
            return with_offset(refuse(&mut body, bad(reason)).await, current);
        }
    };
    let checkpoint = (reader.clone(), store.checkpoint());
    let keep = match fault {
        HandlerFault::PartialStore { keep, .. } if length > 1 => Some(keep.clamp(1, length - 1)),
        _ => None,
    };
    let mut stored = 0u64;
    let mut failure = None;
    loop {
        let data = match body.next().await {
            Ok(Some(data)) => data,
            Ok(None) => break,
            Err(_) => {
                failure = Some(bad("the body could not be read"));
                break;
            }
        };
        if failure.is_some() {
            continue;
        }
        let take = (keep.unwrap_or(length) - stored).min(data.len() as u64) as usize;
        if take == 0 {
            continue;
        }
        if let Err(error) = reader.feed(data.slice(..take), &mut store).await {
            failure = Some(bad(&error.to_string()));
            continue;
        }
        stored += take as u64;
    }
    if failure.is_none() && body.read() != length {
        failure = Some(bad("the body ended early"));
    }
    if failure.is_none()
        && let Err(error) = store.sink.flush().await
    {
        failure = Some(wopi_failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            &error.to_string(),
        ));
    }
    if let Some(answer) = failure {
        let (old_reader, store_checkpoint) = checkpoint;
        // A store that cannot be rolled back keeps its extra bytes unindexed; harmless.
        let _ = store.rollback(store_checkpoint).await;
        WopiSession::restore(&session, (old_reader, store));
        let offset = lock(&session).offset;
        return with_offset(answer, offset);
    }
    let mut guard = lock(&session);
    if guard.ended || guard.file_id != file_id {
        drop(guard);
        WopiSession::restore(&session, (reader, store));
        return wopi_failure(StatusCode::GONE, "the upload session has expired");
    }
    guard.offset += stored;
    if !answer_lost {
        guard.confirmed = guard.offset;
    }
    guard.expires_at = deadline_after(guard.idle);
    guard.stream = Some((reader, store));
    if let Some(Fault::WopiOffsetJump { bytes }) = fault.misbehaviour() {
        // The host's offset stays true; only the answer claims bytes it never received.
        let claimed = guard.offset.saturating_add(bytes);
        return FaultApplied::mark(with_offset(StatusCode::OK.into_response(), claimed));
    }
    let answer = with_offset(StatusCode::OK.into_response(), guard.offset);
    if keep.is_some() {
        return FaultApplied::mark(answer);
    }
    answer
}

/// `LOCK`, `UNLOCK`, `REFRESH_LOCK` with `X-WOPI-Lock`: enough locking to check commits against.
fn change_lock(
    state: &AppState,
    headers: &HeaderMap,
    file_id: &str,
    operation: Option<&str>,
) -> Response {
    let Some(requested) = header(headers, &LOCK).filter(|l| !l.is_empty()) else {
        return bad("X-WOPI-Lock is required");
    };
    let mut files = state.wopi.files();
    let file = files.entry(file_id.to_owned()).or_default();
    let matches = file.lock.as_deref() == Some(requested);
    match (operation, &file.lock) {
        (Some("LOCK"), None) => {
            file.lock = Some(requested.to_owned());
            StatusCode::OK.into_response()
        }
        (Some("LOCK" | "REFRESH_LOCK" | "UNLOCK"), Some(_)) if matches => {
            if operation == Some("UNLOCK") {
                file.lock = None;
            }
            StatusCode::OK.into_response()
        }
        (_, current) => lock_conflict(current.as_deref()),
    }
}

/// `409` with the current lock and the mechanism holding it.
pub(crate) fn lock_conflict(current: Option<&str>) -> Response {
    let mut answer = wopi_failure(StatusCode::CONFLICT, "lock mismatch");
    answer.headers_mut().insert(
        LOCK.clone(),
        HeaderValue::from_str(current.unwrap_or("")).unwrap_or(HeaderValue::from_static("")),
    );
    answer.headers_mut().insert(
        CONFLICTING_MECHANISM.clone(),
        HeaderValue::from_static("WOPI-Lock"),
    );
    answer
}
