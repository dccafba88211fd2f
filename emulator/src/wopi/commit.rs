//! `PUT_CHUNKED_FILE`: locks and sequence numbers first, then the framed body, then the file
//! assembled from the `MainContent` signature out of the session's chunks and the inline ones.
//! A commit of a session while one of its updates is still being received answers `503` with
//! `Retry-After: 1`: busy, try again (not `400`, which a client takes as final).
//!
//! The file is the `MainContent` chunks in signature order. When they are exactly the chunks of
//! one store in arrival order (the usual case: a `FullFile` chunk sent once), that store's part
//! file *is* the file and its running SHA-256 the hash; otherwise the chunks are copied into a
//! new file. With discarded content there is nothing to copy from, so such a reordering commit
//! answers `500` naming the limitation (benchmarks send chunks in order).

use std::path::PathBuf;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use resumable_core::wopi::{BodyKind, ChunkSignature, PutChunkedFileMessage};

use super::reader::{ChunkStore, FrameReader, StoredChunk};
use super::{
    COAUTH_LOCK, ITEM_VERSION, LOCK, SEQUENCE_NUMBER, WopiSession, bad, decoder_config, header,
    lock, lock_conflict, session_gone, stream_limit, too_large,
};
use crate::answer::wopi_failure;
use crate::app::AppState;
use crate::body::BodyReader;
use crate::exchange::content_length;
use crate::graph::commit::finish_file;
use crate::storage::{Finished, Protocol, assemble};

/// Room for the `MessageJSON` frame and `EndFrame` in a `PUT_CHUNKED_FILE` body, on top of the
/// longest chunk run.
const MESSAGE_ROOM: u64 = 1024 * 1024;

fn server_error(reason: &str) -> Response {
    wopi_failure(StatusCode::INTERNAL_SERVER_ERROR, reason)
}

/// `POST /wopi/files/{id}/contents` with `X-WOPI-Override: PUT_CHUNKED_FILE`.
pub(crate) async fn put_chunked_file(
    state: &AppState,
    request: Request,
    file_id: &str,
) -> Response {
    let headers = request.headers().clone();
    let mut body = BodyReader::new(request, &state.stats, true);
    let max_file_size = state.config.wopi.max_file_size;
    let longest = stream_limit(max_file_size).saturating_add(MESSAGE_ROOM);
    if content_length(&headers).is_some_and(|declared| declared > longest) {
        // Refused before a byte is read: the body is left unread and the connection closes.
        return too_large();
    }
    if let Err(answer) = check_coherency(state, &headers, file_id) {
        let _ = body.drain().await;
        return answer;
    }
    let sequence: u64 = header(&headers, &SEQUENCE_NUMBER)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);

    let mut reader = FrameReader::new(decoder_config(state, BodyKind::PutChunkedFile));
    let mut inline = ChunkStore::new(&state.storage);
    let mut failure = None;
    loop {
        match body.next().await {
            Ok(Some(data)) if failure.is_none() => {
                if let Err(error) = reader.feed(data, &mut inline).await {
                    failure = Some(error.to_string());
                }
                if inline.sink.len() > max_file_size {
                    // Inline chunks already make a file too large (a body of unknown length):
                    // stop reading; the connection closes after the answer.
                    discard(inline).await;
                    return too_large();
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                failure = Some("the body could not be read".to_owned());
                break;
            }
        }
    }
    let message = failure
        .map(Err)
        .unwrap_or_else(|| parse_message(&reader, &inline));
    let message = match message {
        Ok(message) => message,
        Err(reason) => {
            discard(inline).await;
            return bad(&reason);
        }
    };

    // The session, if the message names one: its stream must end between frames.
    let session = match &message.upload_session_token_to_commit {
        None => None,
        Some(token) => {
            let Some(session) = state.wopi.session(token.expose(), file_id) else {
                discard(inline).await;
                return session_gone();
            };
            let taken = lock(&session).stream.take();
            let Some((session_reader, store)) = taken else {
                // An update is still being received: busy, not malformed (a 400 is final).
                discard(inline).await;
                let mut answer = wopi_failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "an update of the upload session is in progress; retry",
                );
                answer
                    .headers_mut()
                    .insert(http_header::RETRY_AFTER, HeaderValue::from_static("1"));
                return answer;
            };
            if let Err(error) = session_reader.finish() {
                WopiSession::restore(&session, (session_reader, store));
                discard(inline).await;
                return bad(&format!("the upload session stream is incomplete: {error}"));
            }
            Some((token.expose().to_owned(), session, session_reader, store))
        }
    };

    let main = message
        .main_content()
        .map(|m| m.chunk_signatures.clone())
        .unwrap_or_default();
    let located = locate(
        &main,
        &inline,
        session.as_ref().map(|(_, _, _, store)| store),
    );
    let total: u64 = main.iter().map(|c| c.length).sum();
    let refusal = match located {
        Err(reason) => Some(bad(&reason)),
        Ok(_) if total > max_file_size => Some(too_large()),
        Ok(_) => None,
    };
    if let Some(answer) = refusal {
        if let Some((_, session, session_reader, store)) = session {
            WopiSession::restore(&session, (session_reader, store));
        }
        discard(inline).await;
        return answer;
    }

    let (token, session_store) = match session {
        Some((token, session, _, store)) => (Some((token, session)), Some(store)),
        None => (None, None),
    };
    if let Some((token, _)) = &token
        && !state.wopi.end(token)
    {
        // The session expired while the commit was being checked: its part file is gone.
        discard(inline).await;
        return session_gone();
    }
    let built = build(state, &main, inline, session_store).await;
    let (finished, part) = match built {
        Ok(built) => built,
        Err(reason) => return server_error(&reason),
    };
    let path = format!("wopi/files/{file_id}");
    let hashes = finished.hashes;
    if let Err(error) = finish_file(state, finished, part, path, Protocol::Wopi).await {
        return server_error(&error.to_string());
    }
    let (new_sequence, version) = {
        let mut files = state.wopi.files();
        let file = files.entry(file_id.to_owned()).or_default();
        file.sequence = file.sequence.max(sequence).saturating_add(1);
        file.version += 1;
        file.size = hashes.size;
        file.sha256 = hashes.sha256;
        (file.sequence, file.version_text())
    };
    let mut answer = StatusCode::OK.into_response();
    answer
        .headers_mut()
        .insert(SEQUENCE_NUMBER.clone(), HeaderValue::from(new_sequence));
    if let Ok(value) = HeaderValue::from_str(&version) {
        answer.headers_mut().insert(ITEM_VERSION.clone(), value);
    }
    answer
}

/// Sequence number, lock headers and the file's lock, checked before the body is read.
fn check_coherency(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    file_id: &str,
) -> Result<(), Response> {
    let sequence = match header(headers, &SEQUENCE_NUMBER).map(str::parse::<u64>) {
        Some(Ok(n)) if n > 0 => n,
        _ => return Err(bad("X-WOPI-SequenceNumber must be a number above 0")),
    };
    let wopi_lock = header(headers, &LOCK).filter(|l| !l.is_empty());
    let coauth = header(headers, &COAUTH_LOCK).filter(|l| !l.is_empty());
    if wopi_lock.is_some() && coauth.is_some() {
        return Err(bad("X-WOPI-Lock and X-WOPI-CoauthLockId are exclusive"));
    }
    let file = state.wopi.files().get(file_id).cloned().unwrap_or_default();
    if let Some(current) = &file.lock
        && wopi_lock != Some(current.as_str())
    {
        return Err(lock_conflict(Some(current)));
    }
    if file.sequence > 0 && sequence != file.sequence {
        let mut answer = wopi_failure(
            StatusCode::PRECONDITION_FAILED,
            "the sequence number is not the host's",
        );
        answer
            .headers_mut()
            .insert(SEQUENCE_NUMBER.clone(), HeaderValue::from(file.sequence));
        return Err(answer);
    }
    Ok(())
}

fn parse_message(
    reader: &FrameReader,
    inline: &ChunkStore,
) -> Result<PutChunkedFileMessage, String> {
    reader
        .finish()
        .map_err(|e| format!("malformed frames: {e}"))?;
    let payload = reader.message().ok_or("the body has no MessageJSON")?;
    let message: PutChunkedFileMessage =
        serde_json::from_slice(payload).map_err(|e| format!("malformed MessageJSON: {e}"))?;
    if message.main_content().is_none() {
        return Err("the message has no MainContent signature".to_owned());
    }
    let listed = |id| {
        message
            .signatures
            .iter()
            .flat_map(|s| &s.chunk_signatures)
            .any(|c| c.chunk_id == id)
    };
    if let Some(chunk) = inline.chunks().iter().find(|c| !listed(c.id)) {
        return Err(format!("chunk {} is in no stream's signature", chunk.id));
    }
    Ok(message)
}

/// Where each signature chunk is: inline or in the session; a missing or mis-sized one is refused.
fn locate(
    main: &[ChunkSignature],
    inline: &ChunkStore,
    session: Option<&ChunkStore>,
) -> Result<Vec<(bool, StoredChunk)>, String> {
    main.iter()
        .map(|signature| {
            let found = inline
                .find(signature.chunk_id)
                .map(|c| (true, c))
                .or_else(|| {
                    session
                        .and_then(|s| s.find(signature.chunk_id))
                        .map(|c| (false, c))
                });
            match found {
                None => Err(format!("chunk {} was not sent", signature.chunk_id)),
                Some((_, chunk)) if chunk.len != signature.length => Err(format!(
                    "chunk {} is {} bytes, its signature says {}",
                    signature.chunk_id, chunk.len, signature.length
                )),
                Some(found) => Ok(found),
            }
        })
        .collect()
}

/// Whether `store` holds exactly the signature's chunks, in order.
fn is_exactly(store: &ChunkStore, main: &[ChunkSignature]) -> bool {
    store.chunks().len() == main.len()
        && store
            .chunks()
            .iter()
            .zip(main)
            .all(|(c, s)| c.id == s.chunk_id && c.len == s.length)
}

/// The file's content: one store's part file as it is, or the chunks copied into a new one.
async fn build(
    state: &AppState,
    main: &[ChunkSignature],
    inline: ChunkStore,
    session: Option<ChunkStore>,
) -> Result<(Finished, Option<PathBuf>), String> {
    let io = |e: std::io::Error| e.to_string();
    let session = match session {
        Some(session) if inline.chunks().is_empty() && is_exactly(&session, main) => {
            discard(inline).await;
            return session.sink.finish().await.map_err(io);
        }
        Some(session) if session.chunks().is_empty() => {
            discard(session).await;
            None
        }
        session => session,
    };
    if session.is_none() && is_exactly(&inline, main) {
        return inline.sink.finish().await.map_err(io);
    }
    let pieces = locate(main, &inline, session.as_ref())?;
    let inline_part = finish_part(inline).await.map_err(io)?;
    let session_part = match session {
        Some(session) => finish_part(session).await.map_err(io)?,
        None => None,
    };
    let Some(dest) = state.storage.part_path() else {
        return Err(
            "the emulator discards content and cannot reorder chunks; send MainContent chunks in order"
                .to_owned(),
        );
    };
    let mut copies = Vec::with_capacity(pieces.len());
    for (is_inline, chunk) in pieces {
        let path = if is_inline {
            &inline_part
        } else {
            &session_part
        };
        let Some(path) = path else {
            return Err("a chunk's store has no file".to_owned());
        };
        copies.push((path.clone(), chunk.offset, chunk.len));
    }
    let hashes = assemble(copies, dest.clone()).await.map_err(io)?;
    for part in [inline_part, session_part].into_iter().flatten() {
        let _ = tokio::fs::remove_file(part).await;
    }
    Ok((
        Finished {
            hashes,
            disk_path: None,
        },
        Some(dest),
    ))
}

/// Flushes a store and returns its part file, if it has one.
async fn finish_part(store: ChunkStore) -> std::io::Result<Option<PathBuf>> {
    Ok(store.sink.finish().await?.1)
}

/// Drops a store and its part file.
async fn discard(store: ChunkStore) {
    if let Ok(Some(part)) = finish_part(store).await {
        let _ = tokio::fs::remove_file(part).await;
    }
}
