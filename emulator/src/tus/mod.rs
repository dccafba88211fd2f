//! tus 1.0.0 (`/tus/files/`) and the IETF "Resumable Uploads for HTTP" draft, interop versions
//! 6 and 8 (`/ietf/files/`): the servers most uploads outside Microsoft's go to, strict, on
//! the same exchange, fault and storage machinery as the Graph and WOPI endpoints.
//!
//! tus (`SPEC-TUS.md` section 1):
//!
//! | request | answer |
//! |---|---|
//! | `OPTIONS /tus/files/` | `204`: `Tus-Version`, `Tus-Extension`, `Tus-Checksum-Algorithm`, `Tus-Max-Size` |
//! | `POST /tus/files/` with `Upload-Length` or `Upload-Defer-Length: 1` | `201`, a **relative** `Location`, `Upload-Expires`, `Upload-Offset` |
//! | `HEAD /tus/files/{id}` | `200`: `Upload-Offset`, `Upload-Length` (or `Upload-Defer-Length: 1`), `Upload-Metadata`, `Cache-Control: no-store` |
//! | `PATCH /tus/files/{id}` (`application/offset+octet-stream`) | `204`: `Upload-Offset`, `Upload-Expires` |
//! | `DELETE /tus/files/{id}` | `204`; afterwards `410` |
//!
//! Every tus request but `OPTIONS` must carry `Tus-Resumable: 1.0.0`, else `412` with
//! `Tus-Version` and nothing is done; every answer carries `Tus-Resumable: 1.0.0`. A `POST`
//! with `X-HTTP-Method-Override` is taken as the method it names. Refusals: `400` (malformed
//! or missing headers, `Upload-Defer-Length` other than `1`, a length that changes, bytes past
//! the length, an unknown checksum algorithm), `409` (an `Upload-Offset` that is not the
//! upload's; nothing changes), `413` (larger than `Tus-Max-Size`), `415` (a `PATCH` of another
//! `Content-Type`), `423` (another request is writing to the upload), `460` (checksum
//! mismatch: the request's bytes are discarded), `404` (never existed) and `410` (deleted or
//! expired).
//!
//! The draft (`SPEC-TUS.md` section 2), with `Upload-Draft-Interop-Version: 6` or `8` on every
//! request (else `400`), echoed on every answer:
//!
//! | request | answer |
//! |---|---|
//! | `POST /ietf/files/` with `Upload-Complete`, optionally `Upload-Length` and a body | `201`: an absolute `Location`, `Upload-Offset`, `Upload-Complete`, `Upload-Limit: max-size=N, max-age=S` |
//! | `HEAD /ietf/files/{id}` | `204`: `Upload-Offset`, `Upload-Complete`, `Upload-Length` if known, `Upload-Limit`, `Cache-Control: no-store` |
//! | `PATCH /ietf/files/{id}` (`application/partial-upload`, `Upload-Offset`, `Upload-Complete`) | `204`: `Upload-Offset`, `Upload-Complete` |
//! | `DELETE /ietf/files/{id}` | `204` |
//!
//! An offset mismatch answers `409` **with** the upload's `Upload-Offset`; an append to a
//! completed upload `400` (with bytes) or `404` (empty); `Upload-Complete: ?1` fixes the length
//! at the offset plus the body's length (another `Upload-Length` answers `400`). No `104
//! Upload Resumption Supported` is sent: hyper, under axum, cannot send an interim answer
//! other than `100 Continue`, and the draft lets a server leave it out; the `201` carries the
//! `Location`.
//!
//! Both: an upload lives [`TusHostConfig::upload_lifetime`](crate::TusHostConfig) (scaled)
//! after its creation and after each append that stored bytes; an incomplete upload holds a
//! session slot. A complete upload is listed by `/_emulator/files` as `tus/{id}` or
//! `ietf/{id}`, and answers `HEAD` until its lifetime ends. A body cut short keeps the prefix
//! that arrived (unless it carried a checksum); see [`intake`].
//!
//! Faults: `tus-options`, `tus-create`, `tus-head`, `tus-append` (`PATCH`, both dialects) and
//! `tus-delete` requests go through the fault plan like any other. Requests without the
//! dialect's version header, and requests on an unknown, deleted or expired upload, are
//! refused before it (they neither get faults nor move anyone's).

mod append;
mod create;
mod host;
mod intake;
mod wire;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

pub(crate) use self::host::{Dialect, TusHost};
use self::host::{HostedUpload, Lookup, lock};
use self::wire::{
    CHECKSUM_ALGORITHMS, COMPLETE, DEFER_LENGTH, EXPIRES, EXTENSION, EXTENSIONS, INTEROP_VERSION,
    INTEROP_VERSIONS, LENGTH, LIMIT, MAX_SIZE, METADATA, METHOD_OVERRIDE, OFFSET, RESUMABLE,
    VERSION, header,
};
use crate::answer::{Style, text_answer};
use crate::app::AppState;
use crate::body::discard_body;
use crate::exchange::{SessionRef, exchange, refuse_before_faults};
use crate::faults::RequestKind;
use resumable_core::wire::tus_headers::TUS_VERSION_1;

/// `OPTIONS`, `POST` on `/tus/files/`.
pub(crate) async fn tus_collection(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Response {
    endpoint(state, Dialect::Tus, None, request).await
}

/// `HEAD`, `PATCH`, `DELETE` on `/tus/files/{id}`.
pub(crate) async fn tus_upload(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    endpoint(state, Dialect::Tus, Some(id), request).await
}

/// `POST` on `/ietf/files/`.
pub(crate) async fn ietf_collection(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Response {
    endpoint(state, Dialect::Ietf, None, request).await
}

/// `HEAD`, `PATCH`, `DELETE` on `/ietf/files/{id}`.
pub(crate) async fn ietf_upload(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    endpoint(state, Dialect::Ietf, Some(id), request).await
}

/// The method a request stands for: a tus `POST` with `X-HTTP-Method-Override` is the method
/// it names.
fn effective_method(request: &Request, dialect: Dialect) -> Method {
    let method = request.method().clone();
    if dialect != Dialect::Tus || method != Method::POST {
        return method;
    }
    header(request.headers(), &METHOD_OVERRIDE)
        .and_then(|name| Method::from_bytes(name.to_ascii_uppercase().as_bytes()).ok())
        .unwrap_or(method)
}

/// What a request asks for, by method and whether it names an upload.
fn kind_of(method: &Method, dialect: Dialect, names_upload: bool) -> RequestKind {
    match (method, names_upload) {
        (&Method::OPTIONS, _) if dialect == Dialect::Tus => RequestKind::TusOptions,
        (&Method::POST, false) => RequestKind::TusCreate,
        (&Method::HEAD, true) => RequestKind::TusHead,
        (&Method::PATCH, true) => RequestKind::TusAppend,
        (&Method::DELETE, true) => RequestKind::TusDelete,
        _ => RequestKind::Other,
    }
}

/// The dialect's version check, before the fault plan: tus requests but `OPTIONS` carry
/// `Tus-Resumable: 1.0.0` (else `412` with `Tus-Version`); draft requests carry an
/// `Upload-Draft-Interop-Version` this server speaks (else `400`). Answers the draft's version.
fn check_version(
    dialect: Dialect,
    request: &Request,
    kind: RequestKind,
) -> Result<Option<u8>, Response> {
    let headers = request.headers();
    match dialect {
        Dialect::Tus if kind == RequestKind::TusOptions => Ok(None),
        Dialect::Tus => match header(headers, &RESUMABLE) {
            Some(TUS_VERSION_1) => Ok(None),
            given => {
                let reason = match given {
                    None => "Tus-Resumable is required: this server speaks tus 1.0.0".to_owned(),
                    Some(other) => {
                        format!("tus version `{other}` is not supported: this server speaks 1.0.0")
                    }
                };
                let mut answer = text_answer(StatusCode::PRECONDITION_FAILED, &reason);
                answer
                    .headers_mut()
                    .insert(VERSION.clone(), HeaderValue::from_static(TUS_VERSION_1));
                Err(answer)
            }
        },
        Dialect::Ietf => {
            let given = header(headers, &INTEROP_VERSION);
            match given.and_then(|v| v.parse::<u8>().ok()) {
                Some(version) if INTEROP_VERSIONS.contains(&version) => Ok(Some(version)),
                _ => {
                    let reason = match given {
                        None => "Upload-Draft-Interop-Version is required: this server speaks \
                                 interop versions 6 and 8"
                            .to_owned(),
                        Some(other) => format!(
                            "interop version `{other}` is not spoken here: this server speaks \
                             interop versions 6 and 8"
                        ),
                    };
                    Err(text_answer(StatusCode::BAD_REQUEST, &reason))
                }
            }
        }
    }
}

/// Adds the dialect's version header to an answer: `Tus-Resumable: 1.0.0` on every tus
/// answer, the request's interop version on every draft answer (when it had a good one).
fn with_version(mut answer: Response, dialect: Dialect, version: Option<u8>) -> Response {
    match (dialect, version) {
        (Dialect::Tus, _) => {
            answer
                .headers_mut()
                .insert(RESUMABLE.clone(), HeaderValue::from_static(TUS_VERSION_1));
        }
        (Dialect::Ietf, Some(version)) => {
            answer.headers_mut().insert(
                INTEROP_VERSION.clone(),
                HeaderValue::from(u16::from(version)),
            );
        }
        (Dialect::Ietf, None) => {}
    }
    answer
}

/// One request on either endpoint: version and upload checked before the fault plan, then
/// the exchange.
async fn endpoint(
    state: Arc<AppState>,
    dialect: Dialect,
    id: Option<String>,
    request: Request,
) -> Response {
    let method = effective_method(&request, dialect);
    let kind = kind_of(&method, dialect, id.is_some());
    let version = match check_version(dialect, &request, kind) {
        Ok(version) => version,
        Err(refusal) => {
            let answer = refuse_before_faults(&state, request, kind, refusal).await;
            return with_version(answer, dialect, None);
        }
    };
    let upload = match (&id, kind) {
        (Some(id), RequestKind::TusHead | RequestKind::TusAppend | RequestKind::TusDelete) => {
            match state.tus.lookup(id, dialect) {
                Lookup::Found(upload) => Some((id.clone(), upload)),
                // Unknown or gone is refused like wrong credentials: before faults.
                lookup => {
                    let answer =
                        refuse_before_faults(&state, request, kind, no_upload(&lookup)).await;
                    return with_version(answer, dialect, version);
                }
            }
        }
        _ => None,
    };
    let session = upload.as_ref().map(|(id, upload)| {
        let (state, id) = (state.clone(), id.clone());
        SessionRef {
            ordinal: lock(upload).ordinal,
            expire: Box::new(move || {
                state.tus.discard(&id);
            }),
        }
    });
    let answer = exchange(
        &state.clone(),
        request,
        kind,
        Style::Tus,
        session,
        |request, fault| async move {
            match (kind, upload) {
                (RequestKind::TusOptions, _) => {
                    discard_body(&state.stats, request, false).await;
                    options(&state)
                }
                (RequestKind::TusCreate, _) => match dialect {
                    Dialect::Tus => create::create_tus(&state, request, fault).await,
                    Dialect::Ietf => create::create_ietf(&state, request, fault).await,
                },
                (RequestKind::TusHead, Some((_, upload))) => {
                    discard_body(&state.stats, request, false).await;
                    head(&state, &lock(&upload))
                }
                (RequestKind::TusAppend, Some((id, upload))) => {
                    append::append(&state, request, &id, &upload, fault).await
                }
                (RequestKind::TusDelete, Some((id, _))) => {
                    discard_body(&state.stats, request, false).await;
                    state.tus.discard(&id);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => {
                    discard_body(&state.stats, request, false).await;
                    not_allowed(dialect, id.is_some())
                }
            }
        },
    )
    .await;
    with_version(answer, dialect, version)
}

/// `404` for an id this endpoint never had, `410` for an upload deleted or expired.
fn no_upload(lookup: &Lookup) -> Response {
    match lookup {
        Lookup::Gone => text_answer(StatusCode::GONE, "the upload was deleted or has expired"),
        _ => text_answer(StatusCode::NOT_FOUND, "no such upload"),
    }
}

/// `405` with the methods the resource takes.
fn not_allowed(dialect: Dialect, names_upload: bool) -> Response {
    let allow = match (dialect, names_upload) {
        (Dialect::Tus, false) => "OPTIONS, POST",
        (Dialect::Ietf, false) => "POST",
        (_, true) => "HEAD, PATCH, DELETE",
    };
    let mut answer = text_answer(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("this resource takes {allow}"),
    );
    answer
        .headers_mut()
        .insert(http_header::ALLOW, HeaderValue::from_static(allow));
    answer
}

/// tus `OPTIONS`: what this server offers.
fn options(state: &AppState) -> Response {
    let mut answer = StatusCode::NO_CONTENT.into_response();
    let headers = answer.headers_mut();
    headers.insert(VERSION.clone(), HeaderValue::from_static(TUS_VERSION_1));
    headers.insert(EXTENSION.clone(), HeaderValue::from_static(EXTENSIONS));
    headers.insert(
        wire::CHECKSUM_ALGORITHM.clone(),
        HeaderValue::from_static(CHECKSUM_ALGORITHMS),
    );
    headers.insert(
        MAX_SIZE.clone(),
        HeaderValue::from(state.config.tus.max_size),
    );
    answer
}

/// `HEAD`: where the upload stands, never cached.
fn head(state: &AppState, upload: &HostedUpload) -> Response {
    let status = match upload.dialect {
        Dialect::Tus => StatusCode::OK,
        Dialect::Ietf => StatusCode::NO_CONTENT,
    };
    let mut answer = status.into_response();
    let headers = answer.headers_mut();
    headers.insert(OFFSET.clone(), HeaderValue::from(upload.offset));
    headers.insert(
        http_header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    match upload.dialect {
        Dialect::Tus => {
            match upload.length {
                Some(length) => headers.insert(LENGTH.clone(), HeaderValue::from(length)),
                None => headers.insert(DEFER_LENGTH.clone(), HeaderValue::from_static("1")),
            };
            if let Some(metadata) = upload
                .metadata
                .as_deref()
                .and_then(|m| HeaderValue::from_str(m).ok())
            {
                headers.insert(METADATA.clone(), metadata);
            }
            insert_expires(headers, upload);
        }
        Dialect::Ietf => {
            if let Some(length) = upload.length {
                headers.insert(LENGTH.clone(), HeaderValue::from(length));
            }
            insert_complete(headers, upload.is_complete());
            insert_limit(headers, state, upload.max_age(Instant::now()));
        }
    }
    answer
}

/// `Upload-Expires`: the upload's end, as an HTTP date.
fn insert_expires(headers: &mut axum::http::HeaderMap, upload: &HostedUpload) {
    insert_expires_at(headers, upload.expires_wall);
}

/// `Upload-Expires: at`, as an HTTP date (whole seconds).
fn insert_expires_at(headers: &mut axum::http::HeaderMap, at: resumable_core::time::UnixTime) {
    if let Ok(value) = HeaderValue::from_str(&at.http_date().to_string()) {
        headers.insert(EXPIRES.clone(), value);
    }
}

/// The draft's `Upload-Complete`.
fn insert_complete(headers: &mut axum::http::HeaderMap, complete: bool) {
    let value = if complete { "?1" } else { "?0" };
    headers.insert(COMPLETE.clone(), HeaderValue::from_static(value));
}

/// The draft's `Upload-Limit`: the largest upload and the seconds this one has left.
fn insert_limit(headers: &mut axum::http::HeaderMap, state: &AppState, max_age: u64) {
    let text = format!("max-size={}, max-age={max_age}", state.config.tus.max_size);
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.insert(LIMIT.clone(), value);
    }
}

/// A `400` with its reason.
fn bad(reason: &str) -> Response {
    text_answer(StatusCode::BAD_REQUEST, reason)
}

/// The path `/_emulator/files` lists a completed upload under.
fn stored_path(dialect: Dialect, id: &str) -> String {
    match dialect {
        Dialect::Tus => format!("tus/{id}"),
        Dialect::Ietf => format!("ietf/{id}"),
    }
}
