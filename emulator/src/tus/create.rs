//! `POST` on the collection: a new upload, possibly with its first bytes.
//!
//! tus: `Upload-Length` or `Upload-Defer-Length: 1` (exactly one of them; `400` otherwise),
//! at most `Tus-Max-Size` (`413`), an optional `Upload-Metadata` of valid pairs (`400`). A
//! body sent as `application/offset+octet-stream` is stored like a `PATCH` at offset 0
//! (`creation-with-upload`, with `Upload-Checksum` if given); a body of any other type is read
//! and ignored, as tusd does. The answer's `Location` is relative (`/tus/files/{id}`): clients
//! must resolve it against the creation URL.
//!
//! The draft: `Upload-Complete` (`400` without), an optional `Upload-Length`, an optional body
//! of any type stored at offset 0; with `Upload-Complete: ?1` the body is the whole upload.
//! The answer's `Location` is absolute.
//!
//! A creation body that breaks off keeps what arrived, but its client never learns the
//! upload's URL: such an upload expires unused.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use resumable_core::time::UnixTime;
use resumable_core::wire::tus_headers::{OFFSET_OCTET_STREAM, non_negative, sf_boolean};

use super::append::{
    drop_stream, ietf_answer, refuse, settle, storage_failure, too_large, tus_answer,
};
use super::host::{Dialect, HostedUpload, lock};
use super::intake::{Ending, Intake, Rules, receive};
use super::wire::{
    self, COMPLETE, DEFER_LENGTH, LENGTH, METADATA, check_metadata, has_media_type, header,
};
use super::{bad, insert_expires_at, insert_limit};
use crate::answer::Style;
use crate::app::AppState;
use crate::body::BodyReader;
use crate::clock::wall_now;
use crate::exchange::{FaultApplied, HandlerFault, content_length};
use crate::faults::Fault;

/// The length a tus creation declares: `Some(n)` for `Upload-Length: n`, `None` for
/// `Upload-Defer-Length: 1`.
fn tus_length(headers: &HeaderMap) -> Result<Option<u64>, Response> {
    match (header(headers, &LENGTH), header(headers, &DEFER_LENGTH)) {
        (Some(_), Some(_)) => Err(bad(
            "Upload-Length and Upload-Defer-Length cannot both be given",
        )),
        (None, None) => Err(bad(
            "a creation needs Upload-Length, or Upload-Defer-Length: 1",
        )),
        (None, Some("1")) => Ok(None),
        (None, Some(_)) => Err(bad("Upload-Defer-Length must be 1")),
        (Some(text), None) => non_negative(text)
            .map(Some)
            .ok_or_else(|| bad("Upload-Length must be a non-negative integer")),
    }
}

/// The answer to a `malformed-create` fault: `201` with a `Location` no client can use, or
/// without one.
fn malformed_created(no_url: bool) -> Response {
    let mut answer = StatusCode::CREATED.into_response();
    if !no_url {
        answer.headers_mut().insert(
            http_header::LOCATION,
            HeaderValue::from_static("ftp://127.0.0.1/tus/files/malformed"),
        );
    }
    FaultApplied::mark(answer)
}

/// The refusal of a creation body that cannot be kept, or `None` when the upload is made.
fn refusal_of(
    state: &AppState,
    dialect: Dialect,
    intake: &Intake,
    length: Option<u64>,
) -> Option<Response> {
    match &intake.ending {
        Ending::Whole | Ending::Interrupted => None,
        Ending::TooLong => Some(match length {
            Some(_) => bad("the body goes past Upload-Length"),
            None => too_large(state, dialect),
        }),
        Ending::ChecksumMismatch => {
            let status = StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST);
            Some(crate::answer::text_answer(
                status,
                "Checksum Mismatch: the body's digest is not Upload-Checksum's; nothing was created",
            ))
        }
        Ending::StorageFailed(error) => Some(storage_failure(error)),
    }
}

/// What both dialects' creations share once the headers passed: the session slot, the
/// record, the body, the file if the body completed the upload. Answers the id and the upload,
/// or the refusal.
struct Creation {
    dialect: Dialect,
    length: Option<u64>,
    metadata: Option<String>,
    /// Whether the body is the upload's first bytes (else it is read and ignored).
    carries: bool,
    rules: Rules,
    /// The draft's `Upload-Complete: ?1`: the body ends the upload.
    ends: bool,
}

async fn make(
    state: &AppState,
    body: &mut BodyReader<'_>,
    creation: Creation,
) -> Result<(String, Arc<Mutex<HostedUpload>>, Intake), Response> {
    if !state.slots.acquire() {
        return Err(refuse(body, state.sessions_exhausted(Style::Tus)).await);
    }
    let mut sink = state.storage.sequential();
    let intake = if creation.carries {
        receive(body, &mut sink, creation.rules).await
    } else {
        let read = body.drain().await.unwrap_or(0);
        Intake {
            read,
            stored: 0,
            ending: Ending::Whole,
        }
    };
    let mut refusal = refusal_of(state, creation.dialect, &intake, creation.length);
    if refusal.is_none()
        && creation.ends
        && creation.length.is_some_and(|length| length != intake.read)
        && matches!(intake.ending, Ending::Whole)
    {
        refusal = Some(bad(
            "inconsistent-upload-length: Upload-Complete: ?1 ends the upload elsewhere than its Upload-Length",
        ));
    }
    if let Some(answer) = refusal {
        state.slots.release();
        drop_stream(sink);
        return Err(answer);
    }
    let whole = matches!(intake.ending, Ending::Whole) && intake.stored == intake.read;
    let completes = match creation.dialect {
        Dialect::Tus => creation.length == Some(intake.stored),
        Dialect::Ietf => creation.ends && whole,
    };
    let lifetime = state
        .config
        .time_scale
        .real(state.config.tus.upload_lifetime);
    let upload = HostedUpload::new(
        state.ids.ordinal(),
        creation.dialect,
        creation.length,
        creation.metadata,
        sink.part_path().map(std::path::PathBuf::from),
        lifetime,
    );
    let id = state.ids.token();
    let upload = Arc::new(Mutex::new(upload));
    state.tus.insert(id.clone(), upload.clone());
    state.stats.session_created();
    settle(
        state,
        &id,
        &upload,
        sink,
        intake.stored,
        intake.stored > 0,
        completes,
    )
    .await?;
    Ok((id, upload, intake))
}

/// tus `POST /tus/files/`.
pub(super) async fn create_tus(
    state: &AppState,
    request: Request,
    fault: HandlerFault,
) -> Response {
    let headers = request.headers().clone();
    let mut body = BodyReader::new(request, &state.stats, true);
    let max = state.config.tus.max_size;
    let length = match tus_length(&headers) {
        Ok(length) => length,
        Err(answer) => return refuse(&mut body, answer).await,
    };
    if length.is_some_and(|length| length > max) {
        return refuse(&mut body, too_large(state, Dialect::Tus)).await;
    }
    let metadata = header(&headers, &METADATA).map(str::to_owned);
    if let Some(Err(reason)) = metadata.as_deref().map(check_metadata) {
        return refuse(&mut body, bad(&reason)).await;
    }
    let carries = has_media_type(&headers, OFFSET_OCTET_STREAM);
    let checksum = match carries.then(|| wire::checksum(&headers)).transpose() {
        Ok(checksum) => checksum.flatten(),
        Err(reason) => return refuse(&mut body, bad(&reason)).await,
    };
    let room = length.unwrap_or(max);
    if carries && content_length(&headers).is_some_and(|declared| declared > room) {
        let answer = match length {
            Some(_) => bad("the body goes past Upload-Length"),
            None => too_large(state, Dialect::Tus),
        };
        return refuse(&mut body, answer).await;
    }
    if let Some(Fault::MalformedCreate { no_url }) = fault.misbehaviour() {
        return refuse(&mut body, malformed_created(no_url)).await;
    }
    let creation = Creation {
        dialect: Dialect::Tus,
        length,
        metadata,
        carries,
        rules: Rules {
            room,
            checksum,
            keep: None,
        },
        ends: false,
    };
    let (id, upload, intake) = match make(state, &mut body, creation).await {
        Ok(made) => made,
        Err(answer) => return answer,
    };
    if matches!(intake.ending, Ending::Interrupted) {
        return bad("the body ended before its end");
    }
    let guard = lock(&upload);
    let mut answer = tus_answer(StatusCode::CREATED, guard.offset, &guard);
    drop(guard);
    insert_location(&mut answer, &format!("/tus/files/{id}"));
    if let Some(Fault::ExpiredSession) = fault.misbehaviour() {
        // A server whose clock is off: the upload expired an hour ago, by its own word.
        let an_hour_ago = UnixTime::from_millis(wall_now().as_millis().saturating_sub(3_600_000));
        insert_expires_at(answer.headers_mut(), an_hour_ago);
        return FaultApplied::mark(answer);
    }
    answer
}

/// Draft `POST /ietf/files/`.
pub(super) async fn create_ietf(
    state: &AppState,
    request: Request,
    fault: HandlerFault,
) -> Response {
    let headers = request.headers().clone();
    let mut body = BodyReader::new(request, &state.stats, true);
    let max = state.config.tus.max_size;
    let Some(ends) = header(&headers, &COMPLETE).and_then(sf_boolean) else {
        return refuse(&mut body, bad("Upload-Complete is required: ?0 or ?1")).await;
    };
    let length = match header(&headers, &LENGTH).map(non_negative) {
        None => None,
        Some(Some(length)) => Some(length),
        Some(None) => {
            return refuse(
                &mut body,
                bad("Upload-Length must be a non-negative integer"),
            )
            .await;
        }
    };
    if length.is_some_and(|length| length > max) {
        return refuse(&mut body, too_large(state, Dialect::Ietf)).await;
    }
    let declared = content_length(&headers);
    if ends
        && let (Some(length), Some(declared)) = (length, declared)
        && length != declared
    {
        return refuse(
            &mut body,
            bad("inconsistent-upload-length: Upload-Complete: ?1 with a body of another length than Upload-Length"),
        )
        .await;
    }
    let room = length.unwrap_or(max);
    if declared.is_some_and(|declared| declared > room) {
        let answer = match length {
            Some(_) => bad("the body goes past Upload-Length"),
            None => too_large(state, Dialect::Ietf),
        };
        return refuse(&mut body, answer).await;
    }
    if let Some(Fault::MalformedCreate { no_url }) = fault.misbehaviour() {
        return refuse(&mut body, malformed_created(no_url)).await;
    }
    let creation = Creation {
        dialect: Dialect::Ietf,
        length,
        metadata: None,
        carries: true,
        rules: Rules {
            room,
            checksum: None,
            keep: None,
        },
        ends,
    };
    let (id, upload, intake) = match make(state, &mut body, creation).await {
        Ok(made) => made,
        Err(answer) => return answer,
    };
    if matches!(intake.ending, Ending::Interrupted) {
        return bad("the body ended before its end");
    }
    let guard = lock(&upload);
    let mut answer = ietf_answer(state, StatusCode::CREATED, guard.offset, &guard);
    drop(guard);
    insert_location(&mut answer, &format!("{}/ietf/files/{id}", state.base_url));
    if let Some(Fault::ExpiredSession) = fault.misbehaviour() {
        // A server whose clock is off: the upload has no time left, by its own word.
        insert_limit(answer.headers_mut(), state, 0);
        return FaultApplied::mark(answer);
    }
    answer
}

fn insert_location(answer: &mut Response, location: &str) {
    if let Ok(value) = HeaderValue::from_str(location) {
        answer.headers_mut().insert(http_header::LOCATION, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(length: Option<&str>, defer: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(length) = length {
            map.insert(LENGTH.clone(), length.parse().unwrap());
        }
        if let Some(defer) = defer {
            map.insert(DEFER_LENGTH.clone(), defer.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_creation_declares_its_length_one_way() {
        assert_eq!(tus_length(&headers(Some("10"), None)).unwrap(), Some(10));
        assert_eq!(tus_length(&headers(None, Some("1"))).unwrap(), None);
        for (length, defer) in [
            (None, None),
            (None, Some("0")),
            (None, Some("2")),
            (Some("-1"), None),
            (Some("1"), Some("1")),
        ] {
            let refusal = tus_length(&headers(length, defer)).unwrap_err();
            assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
        }
    }
}
