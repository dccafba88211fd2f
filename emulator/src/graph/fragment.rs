//! `PUT {uploadUrl}`: one fragment, checked against every rule before a byte is stored.
//!
//! Rules (SPEC 1.1–1.3), in the order they are checked:
//!
//! 1. `Content-Length` is required (`411`) and non-zero (`400`); a `Content-Encoding` other than
//!    `identity` is refused (`400`): fragment bodies take no transform (SPEC 1.1, lesson 7), and
//!    a compressed body's length is not the length of the bytes it stands for.
//! 2. `Content-Range: bytes first-last/total` is required and well-formed (`400`; the
//!    `bytes=` typo of one documentation example is refused), its length equals the body length
//!    (`400`) and its total is the same on every request and equals any declared size (`400`).
//! 3. Size limits: drive requests under 60 MiB, print under 10 MB, mail at most 4 000 000 bytes
//!    (`413`; the services do not document the status, `413` is what an HTTP server answers to
//!    an oversized body).
//! 4. Drive alignment: a fragment that does not end the file is a multiple of 320 KiB long **or**
//!    ends on a 320 KiB boundary counted from the start of the file (`400`). The second form is
//!    what a client sends to realign after a partial receipt (SPEC 1.1).
//! 5. Order: drive and mail fragments start exactly where the received bytes end; overlap and
//!    skipping ahead both answer `416`, as does a second fragment while one is in flight. Print
//!    fragments may come in any order, but not overlap received or in-flight bytes (`416`); a
//!    fifth concurrent print fragment answers `429` with `Retry-After: 1` (the service documents
//!    the limit of four, not the answer; throttling is the answer clients already handle).
//!
//! Not checked, because the services are not known to refuse it: the `Content-Type` of mail
//! fragments (SPEC says `application/octet-stream`; clients should send it).
//!
//! Bodies of refused requests are read and discarded so the client gets the answer rather than
//! a reset; bytes the server already had count as received twice.
//!
//! A fragment that passes every rule may be answered with a lie (`premature-item`,
//! `skip-ahead`, `regress`, `empty-accept`, `wrong-size`, `wrong-hash`, `old-item`): the lies
//! are told in [`super::misbehave`].

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use resumable_core::range::{ByteRange, ContentRange};
use tokio::time::Instant;

use super::commit::{attachment_created, commit_drive, finish_file, print_document_json};
use super::misbehave;
use super::session::{Content, GraphSession, Variant, lock};
use crate::answer::{Style, graph_error, json_answer};
use crate::app::AppState;
use crate::body::BodyReader;
use crate::exchange::{FaultApplied, HandlerFault, content_length};
use crate::faults::Fault;
use crate::storage::{Checkpoint, PositionalSink, SegmentWriter, SequentialSink, remove_part};

/// Where the fragment's bytes go while its body is read.
enum Writer {
    Sequential(Box<(SequentialSink, Checkpoint)>),
    Positional(SegmentWriter),
}

/// A refusal, with the number of body bytes the server already had.
struct Refusal {
    answer: Response,
    twice: u64,
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Refusal {
    Refusal {
        answer: graph_error(status, code, message),
        twice: 0,
    }
}

fn bad(message: &str) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "invalidRequest", message)
}

fn range_refusal(message: &str, twice: u64) -> Refusal {
    Refusal {
        answer: graph_error(StatusCode::RANGE_NOT_SATISFIABLE, "invalidRange", message),
        twice,
    }
}

/// The range and total a request's headers declare, if they are a well-formed fragment's.
pub(super) fn declared_range(request: &Request) -> Option<(ByteRange, u64)> {
    fragment_range(request).ok()
}

/// The fragment's range and the file's total, from the headers.
fn fragment_range(request: &Request) -> Result<(ByteRange, u64), Refusal> {
    let headers = request.headers();
    let Some(len) = content_length(headers) else {
        return Err(refuse(
            StatusCode::LENGTH_REQUIRED,
            "lengthRequired",
            "A fragment must carry Content-Length.",
        ));
    };
    if len == 0 {
        return Err(bad("A fragment must not be empty."));
    }
    let encoded = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .any(|coding| !coding.trim().eq_ignore_ascii_case("identity"));
    if encoded {
        return Err(bad(
            "A fragment's body must be sent as it is: no Content-Encoding but identity.",
        ));
    }
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Err(bad("A fragment must carry Content-Range."));
    };
    let parsed = value
        .to_str()
        .ok()
        .and_then(|text| text.parse::<ContentRange>().ok());
    let Some(content_range) = parsed else {
        return Err(bad(
            "Content-Range must read `bytes first-last/total` within the total.",
        ));
    };
    let (Some(range), Some(total)) = (content_range.range(), content_range.total()) else {
        return Err(bad(
            "Content-Range must name a byte range and the total size.",
        ));
    };
    if range.len() != len {
        return Err(bad(
            "The Content-Range length does not match the Content-Length.",
        ));
    }
    Ok((range, total))
}

/// Checks the fragment against the session and reserves its place.
fn reserve(
    state: &AppState,
    session: &mut GraphSession,
    range: ByteRange,
    total: u64,
) -> Result<Writer, Refusal> {
    if session.total.is_some_and(|declared| declared != total) {
        return Err(bad(
            "The total size in Content-Range differs from the size of the upload.",
        ));
    }
    if session.total.is_none()
        && let Err(answer) = super::create::check_drive_size(state, total)
    {
        // The first fragment of an upload created without fileSize fixes its size.
        return Err(Refusal { answer, twice: 0 });
    }
    let limits = &state.config.limits;
    let len = range.len();
    let too_large = match session.variant {
        Variant::Drive { .. } => len >= limits.drive_request_limit,
        Variant::Print { .. } => len >= limits.print_request_limit,
        Variant::Mail { .. } => len > limits.mail_request_max,
    };
    if too_large {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requestEntityTooLarge",
            "The fragment is larger than this upload accepts in one request.",
        ));
    }
    if let Variant::Drive { .. } = session.variant {
        let align = limits.drive_alignment;
        let ends_file = range.end() == total;
        if !ends_file && !len.is_multiple_of(align) && !range.end().is_multiple_of(align) {
            return Err(bad(
                "Fragments other than the last must be a multiple of 320 KiB or end on a 320 KiB boundary.",
            ));
        }
    }
    let position = session.position;
    if session.finishing() {
        return Err(range_refusal(
            "Every byte of the upload has been received.",
            len,
        ));
    }
    match &mut session.content {
        Content::Complete(_) => Err(range_refusal(
            "Every byte of the upload has been received.",
            len,
        )),
        Content::Sequential(slot) => {
            if range.start() < position {
                let twice = range.end().min(position) - range.start();
                return Err(range_refusal(
                    "The fragment overlaps bytes already received.",
                    twice,
                ));
            }
            if range.start() > position {
                return Err(range_refusal(
                    "The fragment does not start at the next expected byte.",
                    0,
                ));
            }
            let Some(sink) = slot.take() else {
                return Err(range_refusal(
                    "Another fragment of this upload is in progress.",
                    0,
                ));
            };
            let checkpoint = sink.checkpoint();
            Ok(Writer::Sequential(Box::new((sink, checkpoint))))
        }
        Content::Positional {
            sink,
            missing,
            in_flight,
        } => {
            let lacking: u64 = missing
                .iter()
                .filter_map(|gap| gap.intersection(&range))
                .map(|part| part.len())
                .sum();
            if lacking < len {
                return Err(range_refusal(
                    "The fragment overlaps bytes already received.",
                    len - lacking,
                ));
            }
            if in_flight
                .iter()
                .any(|other| other.intersection(&range).is_some())
            {
                return Err(range_refusal(
                    "The fragment overlaps a fragment in progress.",
                    0,
                ));
            }
            if in_flight.len() >= limits.print_concurrency as usize {
                let mut answer = graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "activityLimitReached",
                    "At most four fragments of a print document may be in flight.",
                );
                answer
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return Err(Refusal { answer, twice: 0 });
            }
            let splits_gap = missing
                .iter()
                .any(|gap| gap.start() < range.start() && range.end() < gap.end());
            if splits_gap && missing.len() >= limits.print_max_gaps.min(missing_capacity()) {
                return Err(range_refusal(
                    "Too many separate ranges; send the gaps first.",
                    0,
                ));
            }
            let Some(sink) = sink.as_ref() else {
                return Err(range_refusal("The document is being completed.", 0));
            };
            in_flight.push(range);
            Ok(Writer::Positional(sink.segment(range.start())))
        }
    }
}

fn missing_capacity() -> usize {
    super::session::PRINT_GAP_CAPACITY
}

/// `PUT {uploadUrl}` on a live session.
pub(crate) async fn put(
    state: Arc<AppState>,
    session: Arc<Mutex<GraphSession>>,
    request: Request,
    fault: HandlerFault,
) -> Response {
    let reserved = fragment_range(&request).and_then(|(range, total)| {
        let mut guard = lock(&session);
        if guard.is_gone(Instant::now()) {
            return Err(Refusal {
                answer: Style::Graph.expired(),
                twice: 0,
            });
        }
        reserve(&state, &mut guard, range, total).map(|writer| (range, total, writer))
    });
    let mut body = BodyReader::new(request, &state.stats, true);
    let (range, total, mut writer) = match reserved {
        Ok(reserved) => reserved,
        Err(refusal) => {
            let _ = body.drain().await;
            state.stats.received_twice(refusal.twice);
            return refusal.answer;
        }
    };
    let lie = fault.misbehaviour();
    let is_drive = matches!(lock(&session).variant, Variant::Drive { .. });
    if lie == Some(Fault::OldItem) && is_drive && range.end() == total {
        // The last fragment is read whole and nothing is kept, as after `drop-after-body`.
        let _ = body.drain().await;
        release(&session, range, writer).await;
        return misbehave::old_item(&state, &session, total).await;
    }
    let keep = match fault {
        // A store of nothing is no partial store: the fragment goes through whole.
        HandlerFault::PartialStore { keep, .. } => {
            Some(keep.min(range.len() - 1)).filter(|k| *k > 0)
        }
        _ => None,
    };
    let store_len = keep.unwrap_or(range.len());
    let outcome = receive(&mut body, &mut writer, store_len).await;
    let outcome = match outcome {
        Ok(stored) if body.read() == range.len() => Ok(stored),
        Ok(_) => Err(bad("The body ended before Content-Length bytes.").answer),
        Err(answer) => Err(answer),
    };
    let stored = match outcome {
        Ok(stored) => stored,
        Err(answer) => {
            release(&session, range, writer).await;
            return answer;
        }
    };
    let writer = match (lie, writer) {
        (Some(Fault::Regress), Writer::Sequential(boxed)) => {
            return misbehave::regress(&state, &session, boxed.0, total).await;
        }
        (_, writer) => writer,
    };
    let mut answer = settle(&state, &session, range, total, writer, stored, lie).await;
    if keep.is_some() {
        answer.extensions_mut().insert(FaultApplied);
    }
    answer
}

/// Reads the body, storing its first `store_len` bytes; returns how many were stored.
async fn receive(
    body: &mut BodyReader<'_>,
    writer: &mut Writer,
    store_len: u64,
) -> Result<u64, Response> {
    let io_failure = |error: std::io::Error| super::create::storage_failure(&error);
    let mut stored = 0u64;
    loop {
        let data = match body.next().await {
            Ok(Some(data)) => data,
            Ok(None) => break,
            Err(_) => {
                return Err(bad("The fragment body could not be read.").answer);
            }
        };
        let take = (store_len - stored).min(data.len() as u64) as usize;
        if take == 0 {
            continue;
        }
        let part = data.slice(..take);
        match writer {
            Writer::Sequential(boxed) => boxed.0.write(&part).await.map_err(io_failure)?,
            Writer::Positional(segment) => segment.write(&part).await.map_err(io_failure)?,
        }
        stored += take as u64;
    }
    match writer {
        Writer::Sequential(boxed) => boxed.0.flush().await.map_err(io_failure)?,
        Writer::Positional(segment) => segment.flush().await.map_err(io_failure)?,
    }
    Ok(stored)
}

/// Undoes a reservation after a failed fragment. A session that ended meanwhile (cancelled,
/// expired) gets nothing back: its part file is removed instead.
async fn release(session: &Mutex<GraphSession>, range: ByteRange, writer: Writer) {
    let sink = match writer {
        Writer::Sequential(boxed) => {
            let (mut sink, checkpoint) = *boxed;
            // A sink that cannot even be truncated is dropped with the session's state intact;
            // the next fragment is refused and the client starts over.
            sink.rollback(checkpoint).await.ok().map(|()| sink)
        }
        Writer::Positional(_) => None,
    };
    let mut guard = lock(session);
    if guard.ended {
        let part = guard.part.clone();
        drop(guard);
        if let Some(part) = part {
            remove_part(&part);
        }
        return;
    }
    match &mut guard.content {
        Content::Sequential(slot) => *slot = sink,
        Content::Positional { in_flight, .. } => in_flight.retain(|r| *r != range),
        Content::Complete(_) => {}
    }
}

/// The answer to a request that finished its work on a session that ended meanwhile: its bytes
/// go with the session's part file.
pub(super) fn ended_meanwhile(session: &Mutex<GraphSession>) -> Response {
    let part = lock(session).part.clone();
    if let Some(part) = part {
        remove_part(&part);
    }
    Style::Graph.expired()
}

/// Records the stored bytes and answers: in progress, or complete (telling `lie`, if any).
async fn settle(
    state: &Arc<AppState>,
    session: &Arc<Mutex<GraphSession>>,
    range: ByteRange,
    total: u64,
    writer: Writer,
    stored: u64,
    lie: Option<Fault>,
) -> Response {
    let drive_form = state.config.graph.drive_range_form;
    let done = {
        let mut guard = lock(session);
        if guard.ended {
            drop(guard);
            return ended_meanwhile(session);
        }
        guard.total.get_or_insert(total);
        if stored > 0 {
            guard.extend();
        }
        let position = guard.position + stored;
        let completion = match (&mut guard.content, writer) {
            (Content::Sequential(slot), Writer::Sequential(boxed)) => {
                let (sink, _) = *boxed;
                if position == total {
                    Some(Completion::Sequential(sink))
                } else {
                    *slot = Some(sink);
                    None
                }
            }
            (
                Content::Positional {
                    sink,
                    missing,
                    in_flight,
                },
                Writer::Positional(segment),
            ) => {
                in_flight.retain(|r| *r != range);
                if let (Some(sink), Some(kept)) = (sink.as_mut(), range.truncated(stored)) {
                    // Capacity was checked when the fragment was reserved.
                    let _ = missing.mark_received(kept);
                    sink.accept(range.start(), segment, stored);
                }
                if missing.is_complete() && in_flight.is_empty() {
                    sink.take().map(Completion::Positional)
                } else {
                    None
                }
            }
            _ => None,
        };
        guard.position = if completion.is_some() {
            total
        } else {
            position
        };
        completion
    };
    let Some(completion) = done else {
        let guard = lock(session);
        if let Some(answer) = lie.and_then(|lie| misbehave::in_progress(state, &guard, lie)) {
            return answer;
        }
        return json_answer(
            in_progress_status(&guard.variant),
            guard.status_json(drive_form),
        );
    };
    complete(state, session, completion, lie).await
}

/// The status of an answer that more is needed: mail answers `200`, the others `202`.
pub(super) fn in_progress_status(variant: &Variant) -> StatusCode {
    match variant {
        Variant::Mail { .. } => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    }
}

enum Completion {
    Sequential(SequentialSink),
    Positional(PositionalSink),
}

/// The last byte arrived: finish the content and answer as the variant does (or as `lie` says:
/// `empty-accept`, `wrong-size`, `wrong-hash`).
async fn complete(
    state: &Arc<AppState>,
    session: &Arc<Mutex<GraphSession>>,
    completion: Completion,
    lie: Option<Fault>,
) -> Response {
    let finished = match completion {
        Completion::Sequential(sink) => sink.finish().await,
        Completion::Positional(sink) => sink.finish().await,
    };
    let (finished, part) = match finished {
        Ok(finished) => finished,
        Err(error) => return super::create::storage_failure(&error),
    };
    let variant = {
        let mut guard = lock(session);
        if guard.ended {
            // Cancelled or expired while the content was being finished.
            drop(guard);
            return ended_meanwhile(session);
        }
        match guard.variant {
            // A drive item waits for its commit (deferred, or below) with its bytes complete.
            Variant::Drive { .. } => guard.content = Content::Complete(finished.clone()),
            // Mail and print end here: nothing can cancel them from now on.
            _ => guard.ended = true,
        }
        guard.variant.clone()
    };
    let protocol = variant.protocol();
    match variant {
        Variant::Drive { defer_commit, .. } => {
            let empty_accept = lie == Some(Fault::EmptyAccept) && !defer_commit;
            if defer_commit || empty_accept {
                let guard = lock(session);
                let answer = json_answer(
                    StatusCode::ACCEPTED,
                    guard.status_json(state.config.graph.drive_range_form),
                );
                if empty_accept {
                    return FaultApplied::mark(answer);
                }
                answer
            } else {
                commit_drive(state, session, None, lie).await
            }
        }
        Variant::Mail { message, name } => {
            state.graph.complete(session, finished.size());
            let path = format!("{message}/attachments/{name}");
            if let Err(error) = finish_file(state, finished, part, path, protocol).await {
                return super::create::storage_failure(&error);
            }
            attachment_created(state, &message)
        }
        Variant::Print {
            document,
            name,
            content_type,
        } => {
            state.graph.complete(session, finished.size());
            let hashes = finished.hashes;
            if let Err(error) = finish_file(state, finished, part, document.clone(), protocol).await
            {
                return super::create::storage_failure(&error);
            }
            let mut json = print_document_json(&document, &name, &content_type, hashes.size);
            let reported = state.config.graph.drive_hashes;
            let lied = match lie {
                Some(lie) => misbehave::doctor_item(&mut json, lie, &hashes, reported).await,
                None => false,
            };
            let answer = json_answer(StatusCode::CREATED, json);
            if lied {
                FaultApplied::mark(answer)
            } else {
                answer
            }
        }
    }
}
