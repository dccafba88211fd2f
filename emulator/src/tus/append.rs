//! `PATCH` on an upload (both dialects): the next bytes, at the offset the server holds.
//!
//! Checked in this order, each refusal leaving the upload as it was: the `Content-Type`
//! (`415`), `Upload-Offset` (and the draft's `Upload-Complete`) present and well-formed
//! (`400`), the upload not complete (tus: `409` or `400`; the draft: `400` with bytes, `404`
//! without), the offset the upload's (`409`; the draft's carries `Upload-Offset`), the length
//! unchanged and not below the offset (`400`), the declared body within the room left
//! (`400`, `413` past the largest upload), no other request writing (`423`). Then the body is
//! taken in by [`receive`](super::intake::receive).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use resumable_core::wire::tus_headers::{
    OFFSET_OCTET_STREAM, PARTIAL_UPLOAD, non_negative, sf_boolean,
};

use super::host::{Content, Dialect, HostedUpload, lock};
use super::intake::{Ending, Rules, receive};
use super::wire::{self, COMPLETE, Checksum, LENGTH, OFFSET, has_media_type, header};
use super::{bad, insert_complete, insert_expires, insert_limit, stored_path};
use crate::answer::text_answer;
use crate::app::AppState;
use crate::body::BodyReader;
use crate::exchange::{FaultApplied, HandlerFault, content_length};
use crate::faults::Fault;
use crate::graph::commit::finish_file;
use crate::storage::{Protocol, SequentialSink, remove_part};

/// What an append's headers say.
struct AppendHeaders {
    offset: u64,
    length: Option<u64>,
    /// The draft's `Upload-Complete`.
    complete: bool,
    checksum: Option<Checksum>,
}

/// Reads and checks an append's headers.
fn read_headers(
    state: &AppState,
    headers: &HeaderMap,
    dialect: Dialect,
) -> Result<AppendHeaders, Response> {
    let media_type = match dialect {
        Dialect::Tus => OFFSET_OCTET_STREAM,
        Dialect::Ietf => PARTIAL_UPLOAD,
    };
    if !has_media_type(headers, media_type) {
        return Err(text_answer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("an append must be sent as Content-Type: {media_type}"),
        ));
    }
    let Some(offset) = header(headers, &OFFSET).and_then(non_negative) else {
        return Err(bad("Upload-Offset is required: a non-negative integer"));
    };
    let length = match header(headers, &LENGTH) {
        None => None,
        Some(text) => match non_negative(text) {
            Some(length) => Some(length),
            None => return Err(bad("Upload-Length must be a non-negative integer")),
        },
    };
    if let Some(length) = length
        && length > state.config.tus.max_size
    {
        return Err(too_large(state, dialect));
    }
    let (complete, checksum) = match dialect {
        Dialect::Tus => (
            false,
            wire::checksum(headers).map_err(|reason| bad(&reason))?,
        ),
        Dialect::Ietf => match header(headers, &COMPLETE).and_then(sf_boolean) {
            Some(complete) => (complete, None),
            None => return Err(bad("Upload-Complete is required: ?0 or ?1")),
        },
    };
    Ok(AppendHeaders {
        offset,
        length,
        complete,
        checksum,
    })
}

/// `413`: the upload would be larger than this server takes (the draft's carries
/// `Upload-Limit`, as it must).
pub(super) fn too_large(state: &AppState, dialect: Dialect) -> Response {
    let max = state.config.tus.max_size;
    let mut answer = text_answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the upload would be larger than this server takes ({max} bytes)"),
    );
    if dialect == Dialect::Ietf {
        let lifetime = state
            .config
            .time_scale
            .real(state.config.tus.upload_lifetime);
        insert_limit(answer.headers_mut(), state, lifetime.as_secs());
    }
    answer
}

/// Reads and discards the rest of a refused request's body; answers `answer`.
pub(super) async fn refuse(body: &mut BodyReader<'_>, answer: Response) -> Response {
    let _ = body.drain().await;
    answer
}

/// What the checks decided.
enum Plan {
    /// Refuse; `twice` body bytes were ones the upload already had.
    Refuse { answer: Response, twice: u64 },
    /// The upload is complete: the answer depends on whether the body is empty.
    Complete { offset: u64 },
    /// Take the body into the stream.
    Write {
        sink: SequentialSink,
        length: Option<u64>,
        room: u64,
    },
}

/// `PATCH` on upload `id`.
pub(super) async fn append(
    state: &AppState,
    request: Request,
    id: &str,
    upload: &Arc<Mutex<HostedUpload>>,
    fault: HandlerFault,
) -> Response {
    let headers = request.headers().clone();
    let mut body = BodyReader::new(request, &state.stats, true);
    let dialect = lock(upload).dialect;
    let declared = content_length(&headers);
    let sent = match read_headers(state, &headers, dialect) {
        Ok(sent) => sent,
        Err(answer) => return refuse(&mut body, answer).await,
    };
    let plan = check(state, upload, dialect, &sent, declared);
    let (mut sink, length, room) = match plan {
        Plan::Refuse { answer, twice } => {
            state.stats.received_twice(twice);
            return refuse(&mut body, answer).await;
        }
        Plan::Complete { offset } => {
            let read = body.drain().await.unwrap_or(1);
            return match (dialect, read) {
                (Dialect::Tus, 0) => tus_answer(StatusCode::NO_CONTENT, offset, &lock(upload)),
                (Dialect::Tus, _) => {
                    bad("the upload is complete: these bytes are past Upload-Length")
                }
                (Dialect::Ietf, 0) => text_answer(
                    StatusCode::NOT_FOUND,
                    "the upload is complete: nothing to append to",
                ),
                (Dialect::Ietf, _) => {
                    bad("completed-upload: the upload is complete, its length cannot grow")
                }
            };
        }
        Plan::Write { sink, length, room } => (sink, length, room),
    };
    let offset = sent.offset;
    let keep = match (fault, declared) {
        (HandlerFault::PartialStore { keep, .. }, Some(len)) if len > 1 => {
            Some(keep.clamp(1, len - 1))
        }
        _ => None,
    };
    let before = sink.checkpoint();
    let intake = receive(
        &mut body,
        &mut sink,
        Rules {
            room,
            checksum: sent.checksum,
            keep,
        },
    )
    .await;
    let mut new_offset = offset + intake.stored;
    let refusal = match intake.ending {
        Ending::Whole => None,
        Ending::Interrupted => Some(bad("the body ended before its end")),
        Ending::TooLong => Some(past_length(state, dialect, length)),
        Ending::ChecksumMismatch => Some(checksum_mismatch()),
        Ending::StorageFailed(error) => Some(storage_failure(&error)),
    };
    if let Some(answer) = refusal {
        // The kept prefix of an interrupted tus body may be every byte the upload lacked.
        let completes = dialect == Dialect::Tus && length == Some(new_offset);
        return match settle(
            state,
            id,
            upload,
            sink,
            new_offset,
            intake.stored > 0,
            completes,
        )
        .await
        {
            Ok(()) => answer,
            Err(answer) => answer,
        };
    }
    let mut completes = match dialect {
        Dialect::Tus => length == Some(new_offset),
        Dialect::Ietf => sent.complete && intake.stored == intake.read,
    };
    if dialect == Dialect::Ietf
        && sent.complete
        && length.is_some_and(|length| length != offset + intake.read)
    {
        // A body without Content-Length ended somewhere other than the length given.
        let _ = sink.rollback(before).await;
        let _ = settle(state, id, upload, sink, offset, false, false).await;
        return bad(
            "inconsistent-upload-length: Upload-Complete: ?1 ends the upload elsewhere than its Upload-Length",
        );
    }
    let mut applied = keep.is_some() && intake.stored < intake.read;
    let mut claimed = None;
    match fault.misbehaviour() {
        Some(Fault::Regress) if new_offset > 0 => {
            if let Err(error) = sink.reset().await {
                let _ = settle(state, id, upload, sink, new_offset, true, false).await;
                return storage_failure(&error);
            }
            new_offset = 0;
            completes = false;
            applied = true;
        }
        Some(Fault::SkipAhead { bytes }) if !completes => {
            let lie = new_offset
                .saturating_add(bytes)
                .min(length.unwrap_or(u64::MAX));
            if lie > new_offset {
                claimed = Some(lie);
                applied = true;
            }
        }
        _ => {}
    }
    if let Err(answer) = settle(
        state,
        id,
        upload,
        sink,
        new_offset,
        intake.stored > 0,
        completes,
    )
    .await
    {
        return answer;
    }
    let answered = claimed.unwrap_or(new_offset);
    let guard = lock(upload);
    let answer = match dialect {
        Dialect::Tus => tus_answer(StatusCode::NO_CONTENT, answered, &guard),
        Dialect::Ietf => ietf_answer(state, StatusCode::NO_CONTENT, answered, &guard),
    };
    drop(guard);
    if applied {
        FaultApplied::mark(answer)
    } else {
        answer
    }
}

/// The checks made under the upload's lock; a write takes the upload's stream (and fixes a
/// length given now).
fn check(
    state: &AppState,
    upload: &Arc<Mutex<HostedUpload>>,
    dialect: Dialect,
    sent: &AppendHeaders,
    declared: Option<u64>,
) -> Plan {
    let refusal = |answer: Response| Plan::Refuse { answer, twice: 0 };
    let mut guard = lock(upload);
    if guard.ended {
        return refusal(text_answer(
            StatusCode::GONE,
            "the upload was deleted or has expired",
        ));
    }
    let current = guard.offset;
    let complete = guard.is_complete();
    if complete && (dialect == Dialect::Ietf || sent.offset == current) {
        return Plan::Complete { offset: current };
    }
    if sent.offset != current {
        let twice = current
            .saturating_sub(sent.offset)
            .min(declared.unwrap_or(0));
        let mut answer = text_answer(
            StatusCode::CONFLICT,
            &format!(
                "mismatching-upload-offset: Upload-Offset {} is not the upload's offset",
                sent.offset
            ),
        );
        if dialect == Dialect::Ietf {
            // The draft: the answer must tell the client where the upload is.
            answer
                .headers_mut()
                .insert(OFFSET.clone(), HeaderValue::from(current));
        }
        return Plan::Refuse { answer, twice };
    }
    if let Some(given) = sent.length {
        match guard.length {
            Some(length) if length != given => {
                return refusal(bad(&format!(
                    "Upload-Length {given} differs from the upload's length {length}: it cannot change"
                )));
            }
            None if given < current => {
                return refusal(bad(&format!(
                    "Upload-Length {given} is below the {current} bytes already stored"
                )));
            }
            _ => {}
        }
    }
    let length = guard.length.or(sent.length);
    if dialect == Dialect::Ietf
        && sent.complete
        && let (Some(length), Some(declared)) = (length, declared)
        && length != current + declared
    {
        return refusal(bad(
            "inconsistent-upload-length: Upload-Complete: ?1 ends the upload elsewhere than its Upload-Length",
        ));
    }
    let room = length
        .unwrap_or(state.config.tus.max_size)
        .saturating_sub(current);
    if declared.is_some_and(|declared| declared > room) {
        return refusal(past_length(state, dialect, length));
    }
    match std::mem::replace(&mut guard.content, Content::Busy) {
        Content::Open(sink) => {
            guard.length = length;
            Plan::Write { sink, length, room }
        }
        other => {
            guard.content = other;
            refusal(text_answer(
                StatusCode::LOCKED,
                "another request is writing to this upload; retry",
            ))
        }
    }
}

/// The refusal of bytes past the upload's length (`400`), or past the largest upload while the
/// length is unknown (`413`).
fn past_length(state: &AppState, dialect: Dialect, length: Option<u64>) -> Response {
    match length {
        Some(_) => bad("the body goes past Upload-Length"),
        None => too_large(state, dialect),
    }
}

/// `460 Checksum Mismatch`: the request's bytes were discarded.
fn checksum_mismatch() -> Response {
    let status = StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST);
    text_answer(
        status,
        "Checksum Mismatch: the body's digest is not Upload-Checksum's; its bytes were discarded",
    )
}

/// `500`: the emulator could not store what it received.
pub(super) fn storage_failure(error: &std::io::Error) -> Response {
    text_answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("the emulator could not store the upload: {error}"),
    )
}

/// A tus answer with the upload's offset (as `offset` says) and expiry.
pub(super) fn tus_answer(status: StatusCode, offset: u64, upload: &HostedUpload) -> Response {
    let mut answer = status.into_response();
    answer
        .headers_mut()
        .insert(OFFSET.clone(), HeaderValue::from(offset));
    insert_expires(answer.headers_mut(), upload);
    answer
}

/// A draft answer with the upload's offset (as `offset` says), completeness and limits.
pub(super) fn ietf_answer(
    state: &AppState,
    status: StatusCode,
    offset: u64,
    upload: &HostedUpload,
) -> Response {
    let mut answer = status.into_response();
    let headers = answer.headers_mut();
    headers.insert(OFFSET.clone(), HeaderValue::from(offset));
    insert_complete(headers, upload.is_complete());
    insert_limit(headers, state, upload.max_age(tokio::time::Instant::now()));
    answer
}

/// Removes the part file of a stream nobody will use.
pub(super) fn drop_stream(sink: SequentialSink) {
    let part = sink.part_path().map(PathBuf::from);
    drop(sink);
    if let Some(part) = part {
        remove_part(&part);
    }
}

/// After a request's bytes: the upload's offset is `offset`, its stream goes back to it, and
/// when `completes` the stream becomes the finished file, listed in `/_emulator/files`, and
/// the upload gives its session slot back. An upload deleted or expired meanwhile loses the
/// stream and its part file (`410`), unless it was already finishing.
pub(super) async fn settle(
    state: &AppState,
    id: &str,
    upload: &Arc<Mutex<HostedUpload>>,
    sink: SequentialSink,
    offset: u64,
    stored_any: bool,
    completes: bool,
) -> Result<(), Response> {
    let dialect = {
        let mut guard = lock(upload);
        if guard.ended {
            drop(guard);
            drop_stream(sink);
            return Err(text_answer(
                StatusCode::GONE,
                "the upload was deleted or expired while its bytes were stored",
            ));
        }
        guard.offset = offset;
        if stored_any {
            guard.renew();
        }
        if !completes {
            guard.content = Content::Open(sink);
            return Ok(());
        }
        // The stream stays taken (`Busy`) while the file is finished.
        guard.length = Some(offset);
        guard.dialect
    };
    let protocol = match dialect {
        Dialect::Tus => Protocol::Tus,
        Dialect::Ietf => Protocol::IetfDraft,
    };
    let finished = match sink.finish().await {
        Ok((finished, part)) => {
            finish_file(state, finished, part, stored_path(dialect, id), protocol).await
        }
        Err(error) => Err(error),
    };
    let mut guard = lock(upload);
    match finished {
        Ok(()) => {
            guard.content = Content::Complete;
            state.tus.release(&mut guard);
            Ok(())
        }
        Err(error) => {
            guard.content = Content::Discarded;
            let part = guard.part.clone();
            drop(guard);
            state.tus.discard(id);
            if let Some(part) = part {
                remove_part(&part);
            }
            Err(storage_failure(&error))
        }
    }
}
